//! The cutover in the controller, the I/O half: the gate's evidence gathered (the status, the
//! force annotation, incoming events in the routes' log groups), the pipeline's fluentd key read
//! and written by server-side apply, and fluentd's reload requested. What to do is decided in
//! [`crate::cutover::gate`] and [`crate::plan::fluentd_key`]; what it means for status and events
//! in [`super::cutover_status`].

use super::reasons::condition;
use crate::cutover::gate::{self, Evidence, FORCE_ANNOTATION, Gated};
use crate::desired::FluentdSpec;
use crate::engine::Engine;
use crate::plan::fluentd_key::{self as key, Difference, KeyPlan};
use crate::spec::{FluentdConfig, FluentdReload, LogPipeline, ReloadKind};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};

/// Why the fluentd side could not be written. Variant names are stable labels.
#[derive(Debug, thiserror::Error)]
pub enum FluentdError {
    /// Reading or writing the ConfigMap failed.
    #[error("fluentd ConfigMap {namespace}/{name}: {source}")]
    ConfigMap {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    /// The workload to roll is missing.
    #[error(
        "fluentd's {kind:?} {namespace}/{name} does not exist, so fluentd cannot be told to reload (spec.legacy.fluentd.reload.name)"
    )]
    ReloadTargetMissing {
        kind: ReloadKind,
        namespace: String,
        name: String,
    },
    /// Rolling the workload failed.
    #[error("requesting fluentd's reload ({kind:?} {namespace}/{name}): {source}")]
    Reload {
        kind: ReloadKind,
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

impl FluentdError {
    /// Stable label for metrics and events.
    pub fn label(&self) -> &'static str {
        match self {
            FluentdError::ConfigMap { .. } => "FluentdConfigMap",
            FluentdError::ReloadTargetMissing { .. } => "FluentdReloadTargetMissing",
            FluentdError::Reload { .. } => "FluentdReload",
        }
    }
}

/// What became of the fluentd key in this reconcile.
#[derive(Debug)]
pub enum KeyOutcome {
    /// `legacy.fluentd.config` is unset: pitagora manages no fluentd configuration.
    Unmanaged,
    /// The key holds the rendered text; `reloaded` when a reload was requested now (an earlier
    /// one had failed).
    InSync { reloaded: bool },
    /// The key was written now and the reload requested.
    Written(Difference),
    /// The key differs and `drift.policy: Report` leaves it.
    Reported(Difference),
    /// Another manager applied the key: left alone.
    Conflict { manager: String },
    /// A route shares tags with another pipeline's route in the ConfigMap: left alone.
    Overlap(key::Overlap),
    /// The key holds configuration pitagora never wrote for this pipeline: left alone.
    Foreign { pipeline: Option<String> },
    /// The AWS side did not converge: the key keeps its stages until it does.
    Deferred,
    /// Reading, writing or reloading failed.
    Failed(FluentdError),
}

impl KeyOutcome {
    /// Whether the rendered text is what fluentd has been told to load.
    pub fn in_effect(&self) -> bool {
        matches!(self, KeyOutcome::InSync { .. } | KeyOutcome::Written(_))
    }
}

/// The cutover's part of a reconcile.
#[derive(Debug)]
pub struct CutoverRun {
    /// The gate's decision.
    pub gated: Gated,
    /// The fluentd key.
    pub key: KeyOutcome,
    /// The rendered text's hash.
    pub hash: Option<String>,
    /// The ConfigMap and key, for messages.
    pub config: Option<FluentdConfig>,
    /// The ignore rule that keeps the key's live value, when one does.
    pub ignored_by: Option<String>,
}

/// The `Delivering` condition's value in `lp`'s status.
fn delivering(lp: &LogPipeline) -> Option<bool> {
    let c = lp
        .status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == condition::DELIVERING)?;
    match c.status.as_str() {
        "True" => Some(true),
        "False" => Some(false),
        _ => None,
    }
}

/// The gate's decision for `lp` at `now_ms`: its evidence from the status and the annotation,
/// and the routes' incoming events from CloudWatch (a failed read is no evidence).
pub async fn gate(lp: &LogPipeline, engine: &Engine, region: &str, now_ms: i64) -> Gated {
    let status = lp.status.as_ref();
    let previous = status.and_then(|s| s.cutover.as_ref());
    let delivery = status.and_then(|s| s.delivery.as_ref());
    let waiting: Vec<(String, i64)> = previous
        .iter()
        .flat_map(|p| &p.routes)
        .filter(|r| r.receiving_since.is_none())
        .filter_map(|r| {
            Some((
                r.log_group.clone(),
                r.sending_since.as_ref()?.0.as_millisecond(),
            ))
        })
        .collect();
    let receiving = if waiting.is_empty() {
        Default::default()
    } else {
        engine
            .incoming(&lp.id("default").namespace, region, &waiting, now_ms)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "reading the routes' incoming events failed");
                Default::default()
            })
    };
    let evidence = Evidence {
        now_ms,
        delivering: delivering(lp),
        failing_stage: delivery.and_then(|d| d.failing_stage.clone()),
        canary: delivery.and_then(gate::settled_canary),
        loss_signals: false,
        receiving,
        force: lp.annotations().get(FORCE_ANNOTATION).cloned(),
    };
    let fallback = status.and_then(|s| s.stage.as_deref());
    gate::gate(&lp.spec, previous, fallback, &evidence)
}

/// Brings the pipeline's fluentd key to `f` (unless `report_only`) and requests the reload when
/// the text changed or its last reload was not requested. `last_hash` is the hash recorded for
/// the last write.
pub async fn write_key(
    client: &kube::Client,
    f: &FluentdSpec,
    report_only: bool,
    last_hash: Option<&str>,
) -> KeyOutcome {
    let Some(config) = &f.config else {
        return KeyOutcome::Unmanaged;
    };
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &config.namespace);
    let failed = |source| {
        KeyOutcome::Failed(FluentdError::ConfigMap {
            namespace: config.namespace.clone(),
            name: config.name.clone(),
            source,
        })
    };
    let observed = match api.get_opt(&config.name).await {
        Ok(cm) => key::observed(cm.as_ref(), &config.key, &f.field_manager),
        Err(e) => return failed(e),
    };
    let difference = match key::plan(&f.text, &observed, last_hash) {
        KeyPlan::Conflict { manager } => return KeyOutcome::Conflict { manager },
        KeyPlan::Overlap(overlap) => return KeyOutcome::Overlap(overlap),
        KeyPlan::Foreign { pipeline } => return KeyOutcome::Foreign { pipeline },
        KeyPlan::InSync if last_hash == Some(f.hash.as_str()) => {
            return KeyOutcome::InSync { reloaded: false };
        }
        KeyPlan::InSync => None,
        KeyPlan::Write(d) if report_only => return KeyOutcome::Reported(d),
        KeyPlan::Write(d) => Some(d),
    };
    if report_only {
        // In sync, but its reload was never requested: Report writes nothing.
        return KeyOutcome::InSync { reloaded: false };
    }
    if difference.is_some() {
        // Only this key, under this pipeline's manager: other keys and their owners stay. The
        // plan found no other applier, so forcing takes the key back from a hand edit only.
        let patch = serde_json::json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": { "name": config.name, "namespace": config.namespace },
            "data": { config.key.clone(): f.text },
        });
        let params = PatchParams::apply(&f.field_manager).force();
        if let Err(e) = api.patch(&config.name, &params, &Patch::Apply(patch)).await {
            return failed(e);
        }
    }
    if let Some(reload) = &f.reload
        && let Err(e) = request_reload(client, reload, config, &f.hash).await
    {
        return KeyOutcome::Failed(e);
    }
    match difference {
        Some(d) => KeyOutcome::Written(d),
        None => KeyOutcome::InSync { reloaded: true },
    }
}

/// Rolls fluentd's workload by setting the key's reload annotation on its pod template to
/// `hash`; nothing for `kind: None`.
async fn request_reload(
    client: &kube::Client,
    reload: &FluentdReload,
    config: &FluentdConfig,
    hash: &str,
) -> Result<(), FluentdError> {
    let (kind, Some(name)) = (reload.kind, reload.name.as_deref()) else {
        return Ok(());
    };
    let namespace = reload.namespace.as_deref().unwrap_or(&config.namespace);
    let annotation = crate::fluentd::reload_annotation(&config.key);
    let patch = serde_json::json!({
        "spec": { "template": { "metadata": { "annotations": { annotation: hash } } } }
    });
    // A merge patch: a missing workload is a 404, never created half-way as an apply would.
    let params = PatchParams::default();
    let result = match kind {
        ReloadKind::None => return Ok(()),
        ReloadKind::DaemonSet => Api::<DaemonSet>::namespaced(client.clone(), namespace)
            .patch(name, &params, &Patch::Merge(&patch))
            .await
            .map(drop),
        ReloadKind::Deployment => Api::<Deployment>::namespaced(client.clone(), namespace)
            .patch(name, &params, &Patch::Merge(&patch))
            .await
            .map(drop),
    };
    result.map_err(|source| match source {
        kube::Error::Api(s) if s.code == 404 => FluentdError::ReloadTargetMissing {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        },
        source => FluentdError::Reload {
            kind,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            source,
        },
    })
}
