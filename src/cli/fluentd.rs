//! `drift` beside fluentd: the controller's gate decides which cutover stages are in effect, so
//! the CI path compares AWS and the fluentd key at those stages, read from each deployed
//! LogPipeline's status, not at the stages the spec requests (a held move is not drift). The
//! key is added to the pipeline's plan as one more action. Read-only; the controller writes.

use crate::cutover::{Stages, gate};
use crate::desired::{self, Pipeline};
use crate::load::Loaded;
use crate::plan::fluentd_key as key;
use crate::plan::{Check, ignore};
use crate::spec::{CutoverStatus, LogPipeline};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use std::io::Write;

/// A deployed pipeline's cutover as its status says.
#[derive(Clone, Debug)]
pub(super) struct Live {
    /// The stages in effect.
    pub stages: Stages,
    /// `status.cutover`.
    cutover: Option<CutoverStatus>,
}

/// The cluster's view of the pipelines beside fluentd: a client, and per pipeline (in order)
/// its live cutover (`None`: not beside fluentd, or not deployed).
pub(super) struct Cluster {
    client: Option<kube::Client>,
    /// Per pipeline, in order.
    pub live: Vec<Option<Live>>,
}

/// Reads the status of every pipeline that declares `legacy.fluentd`. Without a cluster (no
/// kubeconfig, not in a pod) or for a pipeline not deployed there, stderr says its fluentd side
/// is not checked; a cluster that cannot be read is an error of that pipeline.
pub(super) async fn read_cluster(
    pipelines: &[Loaded],
    err: &mut dyn Write,
) -> std::io::Result<(Cluster, Vec<Option<String>>)> {
    let mut cluster = Cluster {
        client: None,
        live: vec![None; pipelines.len()],
    };
    let mut errors = vec![None; pipelines.len()];
    for (i, p) in pipelines.iter().enumerate() {
        if p.valid.spec().legacy.is_none() {
            continue;
        }
        let client = match &cluster.client {
            Some(c) => c.clone(),
            None => match kube::Client::try_default().await {
                Ok(c) => cluster.client.insert(c).clone(),
                Err(e) => {
                    writeln!(
                        err,
                        "note: the fluentd side is not checked: no Kubernetes cluster is configured ({e}); AWS is compared at the requested stages"
                    )?;
                    return Ok((cluster, errors));
                }
            },
        };
        let id = p.id();
        match Api::<LogPipeline>::namespaced(client, &id.namespace)
            .get_opt(&id.name)
            .await
        {
            Ok(Some(lp)) => {
                let status = lp.status.as_ref();
                let cutover = status.and_then(|s| s.cutover.clone());
                let stages = gate::in_effect(
                    p.valid.spec(),
                    cutover.as_ref(),
                    status.and_then(|s| s.stage.as_deref()),
                );
                cluster.live[i] = Some(Live { stages, cutover });
            }
            Ok(None) => writeln!(
                err,
                "note: {id}: not deployed in the cluster, so its fluentd routes are not checked and AWS is compared at the requested stages"
            )?,
            Err(e) => errors[i] = Some(format!("reading LogPipeline {id} from the cluster: {e}")),
        }
    }
    Ok((cluster, errors))
}

/// Compares a deployed pipeline's fluentd key with the configuration of its stages in effect;
/// a key that cannot be read makes the check an error.
pub(super) async fn check_one(
    cluster: &Cluster,
    p: &Loaded,
    live: Option<&Live>,
    check: &mut Result<Check, String>,
) {
    let (Some(client), Some(live), Ok(c)) = (&cluster.client, live, check.as_mut()) else {
        return;
    };
    if let Err(e) = check_key(client, p, live, c).await {
        *check = Err(format!("reading the fluentd side from the cluster: {e}"));
    }
}

/// Compares one pipeline's key at its stages in effect.
async fn check_key(
    client: &kube::Client,
    p: &Loaded,
    live: &Live,
    check: &mut Check,
) -> Result<(), kube::Error> {
    let Ok(pipeline) = Pipeline::resolve(p.valid.clone(), &check.desired.target.account_id) else {
        return Ok(());
    };
    let Some(f) = desired::build(&pipeline.at(live.stages.clone())).fluentd else {
        return Ok(());
    };
    let Some(config) = &f.config else {
        return Ok(());
    };
    let map = Api::<ConfigMap>::namespaced(client.clone(), &config.namespace)
        .get_opt(&config.name)
        .await?;
    let observed = key::observed(map.as_ref(), &config.key, &f.field_manager);
    let last = live.cutover.as_ref().and_then(|c| c.config_hash.as_deref());
    let Some(action) = key::action(config, &key::plan(&f.text, &observed, last)) else {
        return Ok(());
    };
    match key::ignoring_rule(&p.valid.spec().drift.ignore, config) {
        Some(rule) => check.plan.ignored.push(ignore::Ignored {
            kind: action.kind,
            name: action.name.clone(),
            op: action.op,
            change: action.changes.first().cloned(),
            rule: ignore::describe(rule),
        }),
        None => check.plan.actions.push(action),
    }
    Ok(())
}
