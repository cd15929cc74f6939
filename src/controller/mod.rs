//! The Kubernetes controller: watches `LogPipeline`s and keeps AWS converged to them. A thin
//! shell around the engine: gather, then decide. [`decide::decide`] (pure) says which I/O it
//! needs next — resolve, or check and converge AWS (validate → resolve → read, plan → apply
//! unless report-only), then a canary step and the loss signals — and, once gathered, the
//! status, events and requeue; the shell does the I/O (`converge`) and executes the decision.
//! A finalizer removes the AWS resources on delete.

pub mod changes;
mod converge;
pub mod cutover_io;
pub mod cutover_status;
pub mod decide;
mod decision;
pub mod delivery_status;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod reasons;
mod run;
pub mod schedule;
pub mod shard_leases;
pub mod shards;
pub mod status;
pub mod sweep;

pub use run::{RunError, run};
pub use schedule::RECONCILE_REQUESTED_AT;

use crate::aws::AwsError;
use crate::engine::{Engine, EngineError};
use crate::spec::LogPipeline;
use decide::Severity;
use decide::{Cleaned, Decision, EventMemory, Found, Gathered, Io, Next, Note, Requeue};
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
    Fluentd(#[from] cutover_io::FluentdError),
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
    /// Hear of changes as CloudTrail events (see [`changes`]).
    pub events: bool,
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
    /// How long a full sweep takes under the quota budget.
    sweeps: sweep::Sweeps,
    /// The pipelines watched, once the watch runs (their number sizes the sweep).
    store: std::sync::OnceLock<kube::runtime::reflector::Store<LogPipeline>>,
    /// With `--events`: the changes waiting for their pipelines' checks.
    changes: Option<Arc<changes::Hub>>,
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

    fn event_memory(&self) -> std::sync::MutexGuard<'_, EventMemory> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failure_counts(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        self.failures.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Executes a decision: drift figures, status, events; then the failure or the requeue.
    async fn execute(&self, lp: &LogPipeline, decision: Decision) -> Result<Action, Error> {
        let id = lp.id("default");
        let figures = &decision.figures;
        if let Some(drifted) = figures.drifted {
            self.metrics
                .drift_checked(&id, lp.spec.drift.policy, drifted);
        }
        if let Some(route) = &figures.deadlines {
            self.metrics.canary_deadlines(&id, route.as_ref());
        }
        if let Some(signals) = &figures.loss_signals {
            self.metrics.loss_signals(&id.namespace, &id.name, signals);
        }
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
        Ok(pipeline) => converge::converge(engine, &pipeline, &converge::hints(lp), false).await,
        Err(found) => found,
    }
}

/// A reconcile of a live pipeline: gathers what [`decide::decide`] asks for until it decides.
async fn apply(lp: Arc<LogPipeline>, ctx: Arc<Context>) -> Result<Action, Error> {
    ctx.sweeps.tell_if_shorter(&lp);
    let waiting = ctx
        .changes
        .as_ref()
        .and_then(|h| h.pending(&lp.id("default")));
    let mut gathered = Gathered::new(ctx.started, ctx.canary_margin)
        .with_sweep(ctx.sweeps.time())
        .with_event(waiting);
    // A routine check holds its routine worker until it is done.
    let mut routine = None;
    loop {
        let next = {
            let memory = ctx.event_memory();
            decide::decide(&lp, gathered, &memory, Timestamp::now(), entropy())
        };
        gathered = match next {
            Next::Done(decision) => return ctx.execute(&lp, *decision).await,
            Next::Gather(g, io) => ctx.gather(&lp, *g, *io, &mut routine).await,
        };
    }
}

impl Context {
    /// Does `io` and adds its result to `g`.
    async fn gather<'a>(
        &'a self,
        lp: &LogPipeline,
        mut g: Gathered,
        io: Io,
        routine: &mut Option<tokio::sync::SemaphorePermit<'a>>,
    ) -> Gathered {
        match io {
            Io::Resolve => {
                let resolved = match self.engine.validate(&lp.id("default"), &lp.spec) {
                    Ok(valid) => self.engine.resolve(valid).await.ok(),
                    Err(_) => None,
                };
                g.resolved = Some(resolved.map(Box::new));
            }
            Io::Check { routine: wanted } => {
                if wanted {
                    match self.routine.try_acquire() {
                        Ok(permit) => *routine = Some(permit),
                        Err(_) => g.busy = true,
                    }
                }
                if !g.busy {
                    // This check sees every change that arrived so far: it takes them.
                    if let Some(hub) = &self.changes {
                        g.event = hub.start(&lp.id("default")).or(g.event);
                    }
                    let told = g.event.is_some();
                    let (found, cutover) = converge::find_staged(lp, self, wanted, told).await;
                    (g.found, g.cutover) = (Some(found), cutover);
                    if wanted {
                        self.routine_checked();
                    }
                }
            }
            Io::Deliver {
                region,
                route,
                look,
            } => {
                g.delivery = Some(Some(
                    converge::deliver(&self.engine, lp, &region, &route, look).await,
                ))
            }
            Io::Signals {
                desired,
                groups,
                since_ms,
            } => {
                let now = Timestamp::now().as_millisecond();
                let read = self
                    .engine
                    .loss_signals(&desired, &groups, since_ms, now)
                    .await;
                for e in &read.errors {
                    tracing::warn!(error = %e, "reading the loss signals failed");
                }
                g.signals = Some(Some(read));
            }
        }
        g
    }
}

impl Context {
    /// Counts a routine check done and publishes the sweep time it leads to.
    fn routine_checked(&self) {
        let pipelines = self.store.get().map(|s| s.state().len());
        let sweep = self
            .sweeps
            .routine_checked(self.engine.aws().calls(), pipelines);
        self.publish_sweep(&sweep);
    }

    /// Publishes a sweep estimate: its metrics, and the lifetime of routine checks' batches
    /// that follows from it.
    fn publish_sweep(&self, sweep: &crate::aws::budget::Sweep) {
        self.metrics.set_sweep(sweep, self.sweeps.budget().get());
        self.engine
            .set_routine_batch_age(sweep::routine_batch_age(sweep));
    }
}

async fn cleanup(lp: Arc<LogPipeline>, ctx: Arc<Context>) -> Result<Action, Error> {
    let cleaned = converge::clean(&lp, &ctx.engine).await;
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
