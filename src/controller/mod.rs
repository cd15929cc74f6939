//! The Kubernetes controller: watches `LogPipeline`s and keeps AWS converged to them. A thin
//! shell around the engine, in stages: validate → resolve → check (observe, plan) → apply unless
//! report-only → decide (status, events, requeue: [`decide`], pure) → execute the decision. A
//! finalizer removes the AWS resources on delete.

mod converge;
pub mod cutover;
pub mod decide;
pub mod delivery;
pub mod fluentd;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod reasons;
mod run;
pub mod schedule;
pub mod shard_leases;
pub mod shards;
pub mod status;

pub use decide::RECONCILE_REQUESTED_AT;
pub use run::{RunError, run};

use crate::apply::ActionOutcome;
use crate::aws::AwsError;
use crate::delivery::canary::Canary;
use crate::delivery::progress::{CanaryRoute, Due};
use crate::engine::{Engine, EngineError};
use crate::spec::LogPipeline;
use decide::{Cleaned, Decision, EventMemory, Found, Note, Requeue, Severity};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::finalizer::{Event as Finalizer, finalizer};
use kube::{Api, Resource, ResourceExt};
use metrics::Metrics;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The finalizer that guards AWS cleanup.
pub const FINALIZER: &str = "pitagora.dev/cleanup";
/// Field manager of the status writes and the name events are reported under.
pub const MANAGER: &str = "pitagora";

/// Why a reconcile failed. Variant names are stable labels (metrics, events); errors that come
/// from AWS carry the AWS cause, whose label is the label.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// The engine failed (invalid spec, no region, AWS unreachable, access denied, …).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Executing the plan failed.
    #[error("applying the plan failed: {0}")]
    Apply(AwsError),

    /// The fluentd key or its reload could not be written.
    #[error(transparent)]
    Fluentd(#[from] fluentd::FluentdError),
    /// The finalizer helper failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// Stable label for metrics and events: the cause's.
    pub fn label(&self) -> &'static str {
        match self {
            Error::Kube(_) => "KubeError",
            Error::Engine(e) => e.label(),
            Error::Apply(e) => e.label(),
            Error::Fluentd(e) => e.label(),
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
    /// Leader election (`None`: this replica always acts); with `shards` above 1, the Leases of
    /// the shards are named after it and every replica acts on the shards it holds.
    pub lease: Option<leader::LeaseConfig>,
    /// Shards the pipelines are divided into among replicas (1: one leader acts on all).
    pub shards: u32,
    /// Longest wait before retrying a failed reconcile.
    pub max_error_backoff: Duration,
    /// Name of the reporting controller in events.
    pub reporter: String,
    /// Instance in events (the pod name).
    pub instance: String,
    /// How long after the buffering interval a canary may take to reach `raw/`.
    pub canary_margin: Duration,
}

/// Shared state of the reconciles.
pub struct Context {
    client: kube::Client,
    engine: Engine,
    recorder: Recorder,
    metrics: Arc<Metrics>,
    /// Events published recently, to publish only what changed.
    events: Mutex<EventMemory>,
    /// Consecutive failures per object, for the error backoff.
    failures: Mutex<HashMap<String, u32>>,
    max_error_backoff: Duration,
    canary_margin: Duration,
    /// When this replica started acting: overdue checks spread over an interval from here.
    started: Timestamp,
    /// Permits for routine checks: one worker fewer than the concurrency.
    routine: tokio::sync::Semaphore,
    /// With shards: how many, and those this replica holds (it acts on their pipelines only).
    shards: Option<(u32, tokio::sync::watch::Receiver<shard_leases::Held>)>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// The clock's nanoseconds: the entropy of the check interval's jitter.
fn entropy() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
}

impl Context {
    /// Whether this replica acts on `lp`: always without shards, else when it holds its shard.
    fn acts_on(&self, lp: &LogPipeline) -> bool {
        self.shards.as_ref().is_none_or(|(n, held)| {
            let shard = shards::shard_of(&lp.namespace().unwrap_or_default(), &lp.name_any(), *n);
            held.borrow().contains(&shard)
        })
    }

    /// The route with the operator's margin.
    fn route(&self, route: Option<CanaryRoute>) -> Option<CanaryRoute> {
        route.map(|r| CanaryRoute {
            margin_ms: self.canary_margin.as_millis() as i64,
            ..r
        })
    }

    fn event_memory(&self) -> std::sync::MutexGuard<'_, EventMemory> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failure_counts(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Executes a decision: drift figures, status, events; then the failure or the requeue.
    async fn execute(&self, lp: &LogPipeline, decision: Decision) -> Result<Action, Error> {
        let id = lp.id("default");
        if let Some(kinds) = &decision.drift {
            self.metrics.drift(&id.namespace, &id.name, kinds);
        }
        for s in &decision.settled {
            self.metrics.canary(&id.namespace, &id.name, s);
        }
        let status = decision.status.as_ref().or(lp.status.as_ref());
        self.metrics.conditions(&id, status);
        if let Some(status) = decision.status {
            self.patch_status(lp, status).await?;
        }
        for note in &decision.events {
            self.publish(lp, note).await;
        }
        if let Some(failure) = decision.failure {
            return Err(failure);
        }
        self.failure_counts().remove(&decide::object_key(lp));
        Ok(match decision.requeue {
            Requeue::After(delay) => Action::requeue(delay),
            Requeue::AwaitChange => Action::await_change(),
        })
    }

    async fn publish(&self, lp: &LogPipeline, note: &Note) {
        let event = Event {
            type_: match note.severity {
                Severity::Normal => EventType::Normal,
                Severity::Warning => EventType::Warning,
            },
            reason: note.reason.to_owned(),
            note: Some(note.text.clone()),
            action: note
                .action
                .clone()
                .unwrap_or_else(|| note.reason.to_owned()),
            secondary: None,
        };
        match self.recorder.publish(&event, &lp.object_ref(&())).await {
            Ok(()) => self
                .event_memory()
                .record(&decide::object_key(lp), note, Timestamp::now()),
            Err(e) => {
                tracing::warn!(error = %e, reason = note.reason, "publishing an event failed")
            }
        }
    }

    async fn patch_status(
        &self,
        lp: &LogPipeline,
        status: crate::spec::LogPipelineStatus,
    ) -> Result<(), Error> {
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
}

/// Validates once, then resolves, checks and converges: what the engine found. An invalid spec
/// stops here, before any AWS call.
pub async fn find(lp: &LogPipeline, engine: &Engine) -> Found {
    match converge::resolved(lp, engine).await {
        Ok(pipeline) => converge::converge(engine, &pipeline, &converge::hints(lp)).await,
        Err(found) => found,
    }
}

async fn apply(lp: Arc<LogPipeline>, ctx: Arc<Context>) -> Result<Action, Error> {
    let due = schedule::due(&lp, Timestamp::now(), ctx.started);
    if let schedule::Due::Current(left) = due {
        let decision = delivery_only(&lp, &ctx, left).await;
        return ctx.execute(&lp, decision).await;
    }
    // A routine check leaves the last worker to checks someone waits for; rather than hold a
    // worker while waiting, it comes back shortly.
    let _routine = match due {
        schedule::Due::Routine => match ctx.routine.try_acquire() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let retry = decide::jittered(schedule::ROUTINE_RETRY, entropy());
                return Ok(Action::requeue(retry));
            }
        },
        _ => None,
    };
    let (found, cutover) = converge::find_staged(&lp, &ctx).await;
    let route = match &found {
        Found::Converged(c) => Some((
            c.desired.target.region.clone(),
            ctx.route(c.desired.canary_route.clone()),
        )),
        _ => None,
    };
    let deadlines = route.as_ref().and_then(|(_, r)| r.as_ref());
    ctx.metrics.checked(&lp, &found, deadlines);
    let sources = match &found {
        Found::Converged(c) => Some((
            c.desired.clone(),
            c.observed
                .groups_with_filter(&c.desired.filters.filter.name),
        )),
        _ => None,
    };
    let decision = {
        let memory = ctx.event_memory();
        let d = decide::reconciled(&lp, found, &memory, Timestamp::now(), entropy());
        match cutover {
            Some(run) => cutover::with_cutover(d, &lp, run, &memory, Timestamp::now()),
            None => d,
        }
    };
    let decision = match route {
        Some((region, Some(route))) => {
            let resources = decision
                .status
                .as_ref()
                .map(|s| s.resources.clone())
                .unwrap_or_default();
            let requested = decide::requested(&lp);
            match deliver(&lp, &ctx.engine, &region, &route, &resources, requested).await {
                Some(update) => {
                    let memory = ctx.event_memory();
                    decide::with_delivery(decision, &lp, update, &memory, Timestamp::now())
                }
                None => decision,
            }
        }
        Some((_, None)) => decide::without_delivery(decision, &lp, Timestamp::now()),
        None => decision,
    };
    let decision = match sources {
        Some((desired, groups)) => signals(&lp, &ctx, &desired, &groups, decision).await,
        None => decision,
    };
    ctx.execute(&lp, decision).await
}

/// Reads the loss signals once per full check, since the previous check (or over the metric
/// window the first time). A read that found nothing and failed leaves the signals of the last
/// check in place; one half failing (metrics unreadable) still reports the other.
async fn signals(
    lp: &LogPipeline,
    ctx: &Context,
    desired: &crate::desired::Desired,
    groups: &[String],
    decision: Decision,
) -> Decision {
    let now = Timestamp::now();
    let since = lp
        .status
        .as_ref()
        .and_then(|s| s.last_check_time.as_ref())
        .map_or(
            now.as_millisecond() - crate::delivery::signals::WINDOW_MS,
            |t| t.0.as_millisecond(),
        );
    let read = ctx
        .engine
        .loss_signals(desired, groups, since, now.as_millisecond())
        .await;
    if let Some(e) = &read.error {
        tracing::warn!(error = %e, "reading the loss signals failed");
        if read.signals.is_empty() {
            return decision;
        }
    }
    let id = lp.id("default");
    ctx.metrics
        .loss_signals(&id.namespace, &id.name, &read.signals);
    let memory = ctx.event_memory();
    decide::with_signals(decision, lp, &read.signals, &memory, now)
}

/// A reconcile while the last check is current: a delivery step if one is due, else a wait until
/// the next check or step.
async fn delivery_only(lp: &LogPipeline, ctx: &Context, left: Duration) -> Decision {
    let Ok(valid) = ctx.engine.validate(&lp.id("default"), &lp.spec) else {
        return Decision::wait(left);
    };
    let Ok(pipeline) = ctx.engine.resolve(valid).await else {
        return Decision::wait(left);
    };
    let desired = crate::desired::build(&pipeline);
    let route = ctx.route(desired.canary_route.clone());
    ctx.metrics
        .canary_deadlines(&lp.id("default"), route.as_ref());
    let Some(route) = &route else {
        return Decision::wait(left);
    };
    let resources = lp
        .status
        .as_ref()
        .map(|s| s.resources.clone())
        .unwrap_or_default();
    match deliver(
        lp,
        &ctx.engine,
        &desired.target.region,
        route,
        &resources,
        false,
    )
    .await
    {
        Some(update) => {
            let memory = ctx.event_memory();
            decide::delivered(lp, update, left, &memory, Timestamp::now())
        }
        None => {
            let status = lp.status.as_ref().and_then(|s| s.delivery.as_ref());
            match delivery::due(route, status, Timestamp::now().as_millisecond()) {
                Due::Wait(ms) => {
                    Decision::wait(left.min(Duration::from_millis(ms.max(1_000) as u64)))
                }
                Due::Send | Due::Look => Decision::wait(left),
            }
        }
    }
}

/// The delivery step due now, if any: send a canary and look for it, or look for the one in
/// flight. `None` when nothing is due. A `requested` check (the annotation) sends a new canary
/// unless one is in flight.
async fn deliver(
    lp: &LogPipeline,
    engine: &Engine,
    region: &str,
    route: &CanaryRoute,
    resources: &[crate::spec::ResourceStatus],
    requested: bool,
) -> Option<delivery::Update> {
    let previous = lp.status.as_ref();
    let now_ms = Timestamp::now().as_millisecond();
    let delivery_status = previous.and_then(|s| s.delivery.as_ref());
    let due = match delivery::due(route, delivery_status, now_ms) {
        Due::Wait(_) if requested => match delivery::tracked(route, delivery_status) {
            Some(t) if t.outcome() == crate::delivery::progress::Outcome::Pending => Due::Look,
            _ => Due::Send,
        },
        due => due,
    };
    let step = match due {
        Due::Wait(_) => return None,
        Due::Send => {
            let pipeline = lp.id("default").to_string();
            let nonce = u64::from(entropy()) << 32 | u64::from(std::process::id());
            let canary = Canary::new(&pipeline, now_ms, nonce);
            match engine.send_canary(region, route, canary, now_ms).await {
                Ok(tracked) => delivery::Step::Looked {
                    tracked,
                    sent: true,
                },
                Err(e) => delivery::Step::Failed(e.to_string()),
            }
        }
        Due::Look => {
            let mut tracked = delivery::tracked(route, delivery_status)?;
            match engine
                .look_for_canary(region, route, &mut tracked, now_ms)
                .await
            {
                Ok(()) => delivery::Step::Looked {
                    tracked,
                    sent: false,
                },
                Err(e) => delivery::Step::Failed(e.to_string()),
            }
        }
    };
    if let delivery::Step::Failed(e) = &step {
        tracing::warn!(error = %e, "delivery verification failed");
    }
    let evidence = delivery::evidence(route, resources);
    Some(delivery::update(
        route,
        previous,
        step,
        &evidence,
        lp.metadata.generation,
        now_ms,
    ))
}

/// Deletes the pipeline's AWS resources: what the engine found.
async fn clean(lp: &LogPipeline, engine: &Engine) -> Cleaned {
    let valid = engine.validate(&lp.id("default"), &lp.spec);
    // No resources in status does not mean none in AWS: a crash (or a failed observation) after
    // the first writes and before the first status write leaves them unrecorded. Only a spec
    // pitagora could never have acted on — invalid, or without a region — is skipped.
    let recorded = lp.status.as_ref().is_some_and(|s| !s.resources.is_empty());
    let actionable = valid.as_ref().is_ok_and(|v| v.region().is_some());
    if !recorded && !actionable {
        return Cleaned::Skipped;
    }
    let valid = match valid {
        Ok(valid) => valid,
        Err(invalid) => return Cleaned::Invalid(invalid),
    };
    let deleted = async {
        let pipeline = engine.resolve(valid).await?;
        engine
            .delete(&pipeline, &converge::hints(lp), &mut |o: &ActionOutcome| {
                tracing::info!(op = %o.action.op, kind = %o.action.kind, resource = %o.action.name, ok = o.result.is_ok(), "cleanup")
            })
            .await
    };
    match deleted.await {
        Ok(crate::engine::Deleted {
            readback: Err(e), ..
        }) => Cleaned::Failed(e.into()),
        Ok(crate::engine::Deleted {
            plan,
            applied,
            readback: Ok(readback),
        }) => {
            let conflicts: Vec<String> = plan
                .conflicts()
                .map(|a| format!("{} {}: {}", a.kind, a.name, a.reason))
                .collect();
            if !conflicts.is_empty() {
                tracing::warn!(conflicts = %conflicts.join("; "), "left resources owned by others in place");
            }
            Cleaned::Done {
                plan,
                applied,
                readback,
            }
        }
        Err(e) => Cleaned::Failed(e),
    }
}

async fn cleanup(lp: Arc<LogPipeline>, ctx: Arc<Context>) -> Result<Action, Error> {
    let cleaned = clean(&lp, &ctx.engine).await;
    let gone =
        matches!(&cleaned, Cleaned::Done { applied, .. } if applied.errors().next().is_none());
    let decision = {
        let memory = ctx.event_memory();
        decide::cleaned(&lp, cleaned, &memory, Timestamp::now())
    };
    let action = ctx.execute(&lp, decision).await;
    if gone {
        // The object goes with its finalizer: so does what was remembered about it.
        ctx.event_memory().forget(&decide::object_key(&lp));
    }
    if action.is_ok() {
        ctx.metrics.forget(&lp.id("default")); // the finalizer goes, and the object
    }
    action
}

async fn reconcile(lp: Arc<LogPipeline>, ctx: Arc<Context>) -> Result<Action, Error> {
    // Another replica's shard: it acts on it. Should this one take the shard over, every
    // pipeline is checked again then.
    if !ctx.acts_on(&lp) {
        ctx.metrics.forget(&lp.id("default")); // its figures are that replica's
        return Ok(Action::await_change());
    }
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
    let failures = {
        let mut counts = ctx.failure_counts();
        let n = counts.entry(decide::object_key(&lp)).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    let delay = decide::backoff(failures, ctx.max_error_backoff);
    tracing::warn!(namespace = %lp.namespace().unwrap_or_default(), pipeline = %lp.name_any(), error = %error, label = error.label(), retry_in_s = delay.as_secs(), "reconcile failed");
    Action::requeue(delay)
}
