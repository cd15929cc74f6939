//! `drift`'s look at the fluentd side: for each pipeline whose routes are rendered into a
//! ConfigMap key, the key as the cluster holds it against the routes at the stages in effect
//! (read from the LogPipeline's status, as the controller's gate left them), added to the
//! pipeline's plan as one more action. Read-only; the controller writes the key.

use crate::cutover::gate;
use crate::desired::{self, Pipeline};
use crate::engine::Check;
use crate::fluentd::key;
use crate::load::Loaded;
use crate::plan::ignore;
use crate::resources::ResourceKind;
use crate::spec::LogPipeline;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use std::io::Write;

/// Adds each checked pipeline's fluentd key to its plan. Without a cluster (no kubeconfig, not
/// in a pod) or for a pipeline not deployed there, the keys are not checked and stderr says so;
/// a cluster that cannot be read turns the pipeline's check into an error.
pub(super) async fn check_keys(
    pipelines: &[Loaded],
    checks: &mut [Result<Check, String>],
    err: &mut dyn Write,
) -> std::io::Result<()> {
    let mut client: Option<kube::Client> = None;
    for (p, check) in pipelines.iter().zip(checks.iter_mut()) {
        let Ok(c) = check else { continue };
        if c.desired
            .fluentd
            .as_ref()
            .and_then(|f| f.config.as_ref())
            .is_none()
        {
            continue;
        }
        let client = match &client {
            Some(client) => client.clone(),
            None => match kube::Client::try_default().await {
                Ok(new) => client.insert(new).clone(),
                Err(e) => {
                    writeln!(
                        err,
                        "note: fluentd routes not checked: no Kubernetes cluster is configured ({e})"
                    )?;
                    return Ok(());
                }
            },
        };
        match check_key(&client, p, c).await {
            Ok(None) => writeln!(
                err,
                "note: {}: not deployed in the cluster, so its fluentd routes are not checked",
                p.id()
            )?,
            Ok(Some(())) => {}
            Err(e) => *check = Err(format!("reading the fluentd side from the cluster: {e}")),
        }
    }
    Ok(())
}

/// Compares one pipeline's key; `None` when the LogPipeline is not in the cluster.
async fn check_key(
    client: &kube::Client,
    p: &Loaded,
    check: &mut Check,
) -> Result<Option<()>, kube::Error> {
    let id = p.id();
    let live = Api::<LogPipeline>::namespaced(client.clone(), &id.namespace)
        .get_opt(&id.name)
        .await?;
    let Some(live) = live else {
        return Ok(None);
    };
    let status = live.status.as_ref();
    let cutover = status.and_then(|s| s.cutover.as_ref());
    let stages = gate::in_effect(
        p.valid.spec(),
        cutover,
        status.and_then(|s| s.stage.as_deref()),
    );
    let Ok(pipeline) = Pipeline::resolve(p.valid.clone(), &check.desired.target.account_id) else {
        return Ok(Some(()));
    };
    let Some(f) = desired::build(&pipeline.at(stages)).fluentd else {
        return Ok(Some(()));
    };
    let Some(config) = &f.config else {
        return Ok(Some(()));
    };
    let map = Api::<ConfigMap>::namespaced(client.clone(), &config.namespace)
        .get_opt(&config.name)
        .await?;
    let observed = key::observed(map.as_ref(), &config.key, &f.field_manager);
    let last = cutover.and_then(|c| c.config_hash.as_deref());
    let plan = key::plan(&f.text, &observed, last);
    let Some(action) = key::action(config, &plan) else {
        return Ok(Some(()));
    };
    let rules = &p.valid.spec().drift.ignore;
    let field = format!("data[{}]", config.key);
    match rules.iter().find(|r| {
        ignore::ignores(
            std::slice::from_ref(r),
            ResourceKind::FluentdRoutes,
            &action.name,
            &field,
            Some("spec.legacy.fluentd"),
        )
    }) {
        Some(rule) => check.plan.ignored.push(ignore::Ignored {
            kind: action.kind,
            name: action.name.clone(),
            op: action.op,
            change: action.changes.first().cloned(),
            rule: ignore::describe(rule),
        }),
        None => check.plan.actions.push(action),
    }
    Ok(Some(()))
}
