//! The Kubernetes controller: watches `LogPipeline`s and keeps AWS converged to them. A thin
//! shell around the engine, in stages: validate → check (observe, plan) → apply unless
//! report-only → status, events, metrics. A finalizer removes the AWS resources on delete.

pub mod http;
pub mod leader;
pub mod metrics;
pub mod status;

use crate::engine::{Engine, EngineError};
use crate::observe::Hints;
use crate::plan::Op;
use crate::report;
use crate::spec::{LogPipeline, LogPipelineStatus};
use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::runtime::watcher;
use kube::{Api, Resource, ResourceExt};
use leader::{Elector, LeaseConfig};
use metrics::Metrics;
use status::Outcome;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The finalizer that guards AWS cleanup.
pub const FINALIZER: &str = "pitagora.dev/cleanup";
/// Setting this annotation (to any new value, e.g. a timestamp) triggers an immediate check.
pub const RECONCILE_REQUESTED_AT: &str = "pitagora.dev/reconcile-requested-at";
/// Field manager of the status writes and the name events are reported under.
pub const MANAGER: &str = "pitagora";

/// Why a reconcile failed. Variant names are stable labels (metrics, events).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The engine failed (AWS unreachable, access denied, …).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Applying the plan failed.
    #[error("applying the plan failed: {0}")]
    ApplyFailed(String),
    /// The AWS cleanup of a deleted pipeline failed; the finalizer stays.
    #[error("cleanup blocked: {0}")]
    DeleteBlocked(String),
    /// The finalizer helper failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// Stable label for metrics and events.
    pub fn label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubeError",
            Error::Engine(e) => e.label(),
            Error::ApplyFailed(_) => "ApplyFailed",
            Error::DeleteBlocked(_) => "DeleteBlocked",
            Error::Finalizer(e) => match e.as_ref() {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.label(),
                _ => "FinalizerError",
            },
        }
    }
}

/// How the controller runs.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Watch only this namespace (all when `None`).
    pub namespace: Option<String>,
    /// Pipelines reconciled at once.
    pub concurrency: u16,
    /// Address of `/healthz`, `/readyz` and `/metrics`.
    pub http_addr: SocketAddr,
    /// Leader election (`None`: this replica always acts).
    pub lease: Option<LeaseConfig>,
    /// Longest wait before retrying a failed reconcile.
    pub max_error_backoff: Duration,
    /// Name of the reporting controller in events.
    pub reporter: String,
    /// Instance in events (the pod name).
    pub instance: String,
}

/// Shared state of the reconciles.
pub struct Context {
    client: kube::Client,
    engine: Engine,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    /// The last event per object, to publish only what changed.
    last_events: Mutex<HashMap<String, (String, String, Instant)>>,
    /// Consecutive failures per object, for the error backoff.
    failures: Mutex<HashMap<String, u32>>,
    max_error_backoff: Duration,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// An identical event is published again only after this long.
const EVENT_REPEAT: Duration = Duration::from_secs(3600);

/// The object's identity across its life: its uid (a pipeline deleted and created again under
/// the same name is another object, with its own events and failures).
fn key(lp: &LogPipeline) -> String {
    lp.uid()
        .unwrap_or_else(|| format!("{}/{}", lp.namespace().unwrap_or_default(), lp.name_any()))
}

impl Context {
    /// Publishes an event unless the same one was published for this object recently.
    async fn event(&self, lp: &LogPipeline, type_: EventType, reason: &str, note: String) {
        let note: String = note.chars().take(1000).collect();
        {
            let mut last = self.last_events.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((r, n, at)) = last.get(&key(lp))
                && r == reason
                && *n == note
                && at.elapsed() < EVENT_REPEAT
            {
                return;
            }
            last.insert(key(lp), (reason.to_owned(), note.clone(), Instant::now()));
        }
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note),
            action: reason.to_owned(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &lp.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "publishing an event failed");
        }
    }

    async fn patch_status(&self, lp: &LogPipeline, status: LogPipelineStatus) -> Result<(), Error> {
        let api: Api<LogPipeline> =
            Api::namespaced(self.client.clone(), &lp.namespace().unwrap_or_default());
        let patch = serde_json::json!({
            "apiVersion": "pitagora.dev/v1alpha1",
            "kind": "LogPipeline",
            "status": status,
        });
        match api
            .patch_status(
                &lp.name_any(),
                &PatchParams::apply(MANAGER).force(),
                &Patch::Apply(patch),
            )
            .await
        {
            Ok(_) => Ok(()),
            // Deleted meanwhile: nothing to report on.
            Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn write_status(&self, lp: &LogPipeline, outcome: &Outcome) -> Result<(), Error> {
        let status = status::build(
            lp.status.as_ref(),
            lp.metadata.generation,
            lp.spec.cutover_stage().as_str(),
            outcome,
            lp.annotations()
                .get(RECONCILE_REQUESTED_AT)
                .map(String::as_str),
            Time(Timestamp::now()),
        );
        self.patch_status(lp, status).await
    }
}

/// Log groups that carried this pipeline's filter at the last check: read again, so filters on
/// groups that stopped being sources are found and removed.
fn hints(lp: &LogPipeline) -> Hints {
    Hints {
        previous_log_groups: lp
            .status
            .iter()
            .flat_map(|s| &s.resources)
            .filter(|r| r.kind == "SubscriptionFilter")
            .map(|r| r.name.clone())
            .collect(),
    }
}

/// The check interval with ±10 % jitter, so many pipelines do not poll AWS in lockstep.
fn jittered(seconds: i32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.9 + 0.2 * (f64::from(nanos % 1000) / 1000.0);
    Duration::from_secs_f64(f64::from(seconds.max(1)) * factor)
}

/// What an applied plan did, for an event: `Created` / `Updated` when the spec changed,
/// `DriftCorrected` when AWS changed out of band.
fn change_event(lp: &LogPipeline, initial: &crate::plan::Plan) -> (&'static str, String) {
    let items = report::plan_items(initial);
    let spec_changed =
        lp.status.as_ref().and_then(|s| s.observed_generation) != lp.metadata.generation;
    let created = initial
        .writes()
        .any(|a| a.kind == crate::resources::ResourceKind::Stack && a.op == Op::Create);
    let reason = match (spec_changed, created) {
        (_, true)
            if lp
                .status
                .as_ref()
                .and_then(|s| s.observed_generation)
                .is_none() =>
        {
            "Created"
        }
        (true, _) => "Updated",
        (false, _) => "DriftCorrected",
    };
    (reason, status::summary(&items))
}

/// How long the last check stays current: `None` when this reconcile must check AWS now (the
/// spec changed, a check was requested, the last one failed or is due).
///
/// Every successful check writes status, and that write comes back as a watch event; without
/// this, each check would trigger the next at once.
fn current_for(lp: &LogPipeline, now: Timestamp) -> Option<Duration> {
    let status = lp.status.as_ref()?;
    let condition = |t: &str| status.conditions.iter().find(|c| c.type_ == t);
    let requested = lp.annotations().get(RECONCILE_REQUESTED_AT);
    if status.observed_generation != lp.metadata.generation
        || requested != status.last_handled_reconcile_at.as_ref()
        || condition("Synced").is_none_or(|c| c.status != "True")
    {
        return None;
    }
    let interval = if condition("Ready").is_some_and(|c| c.reason == "Pending") {
        Duration::from_secs(15)
    } else {
        Duration::from_secs(lp.spec.drift.check_interval_seconds.max(1) as u64)
    };
    let elapsed = now.duration_since(status.last_check_time.as_ref()?.0);
    let elapsed = Duration::try_from(elapsed).ok()?;
    interval.checked_sub(elapsed).filter(|left| !left.is_zero())
}

async fn apply(lp: Arc<LogPipeline>, ctx: Arc<Context>) -> Result<Action, Error> {
    if let Some(left) = current_for(&lp, Timestamp::now()) {
        return Ok(Action::requeue(left));
    }
    let id = lp.id("default");
    let spec = &lp.spec;
    // Validation first: an invalid spec costs no AWS call and changes nothing.
    let region = spec
        .region
        .clone()
        .or_else(|| ctx.engine.aws().default_region());
    let errors = crate::spec::validate_in(&id, spec, region.as_deref());
    if !errors.is_empty() {
        let outcome = Outcome::Invalid(errors.clone());
        ctx.write_status(&lp, &outcome).await?;
        let note: Vec<String> = errors.iter().map(ToString::to_string).collect();
        ctx.event(&lp, EventType::Warning, "InvalidSpec", note.join("; "))
            .await;
        // Nothing was compared: no drift figures stand for this pipeline.
        ctx.metrics.drift(&id.namespace, &id.name, &[]);
        return Ok(Action::await_change());
    }
    let hints = hints(&lp);
    let check = match ctx.engine.check(&id, spec, &hints).await {
        Ok(check) => check,
        Err(e) => {
            ctx.write_status(&lp, &Outcome::AwsError(e.to_string()))
                .await?;
            ctx.event(&lp, EventType::Warning, "AwsError", e.to_string())
                .await;
            return Err(e.into());
        }
    };
    let converged = ctx
        .engine
        .execute(check, &hints, &mut |o: &crate::apply::ActionOutcome| match &o.result {
            Ok(detail) => tracing::info!(op = %o.action.op, kind = %o.action.kind, resource = %o.action.name, detail, "applied"),
            Err(e) => tracing::warn!(op = %o.action.op, kind = %o.action.kind, resource = %o.action.name, error = %e, "action failed"),
        })
        .await;
    let converged = match converged {
        Ok(c) => c,
        Err(e) => {
            // Writes may have happened before the check that failed: say so in status.
            ctx.write_status(&lp, &Outcome::AwsError(e.to_string()))
                .await?;
            ctx.event(&lp, EventType::Warning, "AwsError", e.to_string())
                .await;
            return Err(e.into());
        }
    };
    let apply_error = converged
        .applied
        .iter()
        .flat_map(|r| r.errors())
        .map(ToString::to_string)
        .next();
    let items = report::plan_items(&converged.remaining);
    let kinds: Vec<String> = items.iter().map(|i| i.kind.clone()).collect();
    ctx.metrics.drift(&id.namespace, &id.name, &kinds);
    let resources = report::resources(&converged.check());
    let outcome = Outcome::Checked(Box::new(status::Checked {
        initial: converged.initial.clone(),
        remaining: converged.remaining.clone(),
        resources,
        items: items.clone(),
        apply_error: apply_error.clone(),
    }));
    ctx.write_status(&lp, &outcome).await?;

    // Events: what changed, what is wrong.
    if !converged.applied.is_empty() && apply_error.is_none() {
        let (reason, note) = change_event(&lp, &converged.initial);
        ctx.event(&lp, EventType::Normal, reason, note).await;
    }
    let ownership: Vec<String> = converged
        .remaining
        .conflicts()
        .filter(|a| a.reason.contains(crate::names::OWNER_TAG))
        .map(|a| format!("{} {}: {}", a.kind, a.name, a.reason))
        .collect();
    if !ownership.is_empty() {
        ctx.event(
            &lp,
            EventType::Warning,
            "OwnershipConflict",
            ownership.join("; "),
        )
        .await;
    } else if !converged.remaining.in_sync() && apply_error.is_none() {
        ctx.event(
            &lp,
            EventType::Warning,
            "DriftDetected",
            status::summary(&items),
        )
        .await;
    }
    if let Some(e) = apply_error {
        ctx.event(&lp, EventType::Warning, "AwsError", e.clone())
            .await;
        return Err(Error::ApplyFailed(e));
    }
    ctx.failures
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .remove(&key(&lp));
    // Mid-operation resources are checked again soon; otherwise at the pipeline's interval.
    let interval = if converged.remaining.pending.is_empty() {
        jittered(spec.drift.check_interval_seconds)
    } else {
        jittered(15)
    };
    Ok(Action::requeue(interval))
}

async fn cleanup(lp: Arc<LogPipeline>, ctx: Arc<Context>) -> Result<Action, Error> {
    let id = lp.id("default");
    // No resources in status does not mean none in AWS: a crash (or a failed observation) after
    // the first writes and before the first status write leaves them unrecorded. Only a spec
    // pitagora could never have acted on — invalid, or without a region — is skipped.
    let recorded = lp.status.as_ref().is_some_and(|s| !s.resources.is_empty());
    let region = lp
        .spec
        .region
        .clone()
        .or_else(|| ctx.engine.aws().default_region());
    let actionable =
        region.is_some() && crate::spec::validate_in(&id, &lp.spec, region.as_deref()).is_empty();
    if !recorded && !actionable {
        return Ok(Action::await_change());
    }
    let blocked = |message: String| async {
        ctx.write_status(&lp, &Outcome::DeleteBlocked(message.clone()))
            .await?;
        ctx.event(&lp, EventType::Warning, "DeleteBlocked", message.clone())
            .await;
        Err::<Action, Error>(Error::DeleteBlocked(message))
    };
    let deleted = ctx
        .engine
        .delete(&id, &lp.spec, &hints(&lp), &mut |o: &crate::apply::ActionOutcome| {
            tracing::info!(op = %o.action.op, kind = %o.action.kind, resource = %o.action.name, ok = o.result.is_ok(), "cleanup")
        })
        .await;
    match deleted {
        Err(EngineError::InvalidSpec(e)) => {
            blocked(format!(
                "the spec is invalid, so pitagora cannot tell which AWS resources are this pipeline's ({e}); fix the spec, or remove the finalizer {FINALIZER} to leave them in AWS"
            ))
            .await
        }
        Err(e) => blocked(e.to_string()).await,
        Ok((plan, applied)) => {
            let errors: Vec<String> = applied.errors().map(ToString::to_string).collect();
            let conflicts: Vec<String> = plan.conflicts().map(|a| format!("{} {}: {}", a.kind, a.name, a.reason)).collect();
            if !errors.is_empty() {
                return blocked(errors.join("; ")).await;
            }
            if !conflicts.is_empty() {
                // Someone else's resources stay; this pipeline's are gone, so deletion proceeds.
                tracing::warn!(conflicts = %conflicts.join("; "), "left resources owned by others in place");
            }
            ctx.metrics.drift(&id.namespace, &id.name, &[]);
            Ok(Action::await_change())
        }
    }
}

async fn reconcile(lp: Arc<LogPipeline>, ctx: Arc<Context>) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = lp.namespace().unwrap_or_default();
    let api: Api<LogPipeline> = Api::namespaced(ctx.client.clone(), &namespace);
    let span = tracing::info_span!("reconcile", namespace = %namespace, pipeline = %lp.name_any());
    let result = tracing::Instrument::instrument(
        finalizer(&api, FINALIZER, lp, |event| async {
            match event {
                Finalizer::Apply(lp) => apply(lp, ctx.clone()).await,
                Finalizer::Cleanup(lp) => cleanup(lp, ctx.clone()).await,
            }
        }),
        span,
    )
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    ctx.metrics
        .reconciled(started.elapsed(), result.as_ref().err().map(Error::label));
    result
}

/// Failed reconciles are retried with exponential backoff: 5 s, 10 s, … up to the cap.
fn error_policy(lp: Arc<LogPipeline>, error: &Error, ctx: Arc<Context>) -> Action {
    let mut failures = ctx.failures.lock().unwrap_or_else(|p| p.into_inner());
    let n = failures.entry(key(&lp)).or_insert(0);
    *n = n.saturating_add(1);
    let delay = Duration::from_secs(5)
        .saturating_mul(1u32 << (*n - 1).min(10))
        .min(ctx.max_error_backoff);
    tracing::warn!(namespace = %lp.namespace().unwrap_or_default(), pipeline = %lp.name_any(), error = %error, label = error.label(), retry_in_s = delay.as_secs(), "reconcile failed");
    Action::requeue(delay)
}

/// Errors that stop the controller.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The HTTP endpoint could not be bound.
    #[error("cannot serve on {0}: {1}")]
    Http(SocketAddr, std::io::Error),
    /// The LogPipeline CRD is not installed.
    #[error("the LogPipeline CRD is not installed (kubectl apply -f crds/logpipeline.yaml): {0}")]
    NoCrd(kube::Error),
    /// Leadership was lost; the process must stop so only one replica acts.
    #[error("leadership lost")]
    LeadershipLost,
}

/// Runs the controller until `shutdown` resolves (or leadership is lost). With leader election,
/// a standby replica waits, ready, until it holds the lease.
pub async fn run(
    client: kube::Client,
    engine: Engine,
    settings: Settings,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let metrics = Arc::new(Metrics::new(engine.aws().calls().clone()));
    let health = Arc::new(http::Health {
        ready: Default::default(),
        metrics: metrics.clone(),
    });
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let (addr, server) = http::serve(settings.http_addr, health.clone(), stopped)
        .await
        .map_err(|e| RunError::Http(settings.http_addr, e))?;
    tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
    let shutdown = {
        let stop_tx = stop_tx.clone();
        async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        }
    };
    tokio::spawn(shutdown);

    let pipelines: Api<LogPipeline> = match &settings.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    pipelines
        .list(&kube::api::ListParams::default().limit(1))
        .await
        .map_err(RunError::NoCrd)?;

    let elector = settings
        .lease
        .clone()
        .map(|config| Elector::new(client.clone(), config));
    if let Some(elector) = &elector {
        // A standby knows its role: it is ready, it just does not act.
        health.ready.store(true, Ordering::Relaxed);
        tracing::info!(identity = %elector.config().identity, "waiting for the leader lease");
        let mut stop = stop_rx.clone();
        let stopped = async move {
            // The guard `wait_for` returns is not Send: drop it here.
            let _ = stop.wait_for(|s| *s).await.map(|_| ());
        };
        tokio::select! {
            r = elector.acquire() => { let _ = r; }
            _ = stopped => {
                let _ = server.await;
                return Ok(());
            }
        }
        health.ready.store(false, Ordering::Relaxed);
        metrics.set_leader(true);
        tracing::info!(identity = %elector.config().identity, "leading");
    }

    let ctx = Arc::new(Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: settings.reporter.clone(),
                instance: Some(settings.instance.clone()),
            },
        ),
        client,
        engine,
        metrics: metrics.clone(),
        last_events: Mutex::new(HashMap::new()),
        failures: Mutex::new(HashMap::new()),
        max_error_backoff: settings.max_error_backoff,
    });
    let lost = {
        let elector = elector.clone();
        async move {
            match elector {
                Some(e) => e.hold().await,
                None => std::future::pending().await,
            }
        }
    };
    let controller = Controller::new(pipelines, watcher::Config::default())
        .with_config(ControllerConfig::default().concurrency(settings.concurrency));
    let store = controller.store();
    let graceful = {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let ready = {
        let health = health.clone();
        async move {
            // The controller waits on the same readiness signal, and only the most recent
            // waiter is woken: poll again every so often instead of waiting once.
            loop {
                match tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready())
                    .await
                {
                    Ok(Ok(())) => {
                        tracing::info!("caches synced; ready");
                        health.ready.store(true, Ordering::Relaxed);
                        return;
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, "the cache never synced");
                        return;
                    }
                    Err(_) => {}
                }
            }
        }
    };
    tokio::spawn(ready);
    let run = controller
        .graceful_shutdown_on(graceful)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "controller event");
            }
        });
    let outcome = tokio::select! {
        _ = run => Ok(()),
        _ = lost => Err(RunError::LeadershipLost),
    };
    let _ = stop_tx.send(true);
    if let Some(elector) = &elector
        && outcome.is_ok()
        && let Err(e) = elector.release().await
    {
        tracing::warn!(error = %e, "releasing the lease failed");
    }
    metrics.set_leader(false);
    let _ = server.await;
    outcome
}
