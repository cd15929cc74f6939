//! Changes as events, the controller's shell (`--events`): keeps the index of the pipelines'
//! resources as the specs change, sets up each account and region's rule and queue (and keeps
//! them as declared), drains the queues, and routes each message ([`crate::events::route`]):
//! a pipeline whose check becomes pending is reconciled at once, as a check someone waits for.
//! The reconcile takes the pending check when it starts its check ([`Hub::start`]), so however
//! many changes arrived, one check sees them all.

use super::Context;
use crate::arn::AwsTarget;
use crate::desired::Desired;
use crate::engine::events::EventsQueue;
use crate::events::{Inbox, Index, Own, rule};
use crate::names::PipelineId;
use crate::spec::LogPipeline;
use kube::runtime::reflector::{ObjectRef, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// How often the index follows the specs and new places are set up.
pub const REFRESH: Duration = Duration::from_secs(15);
/// How often every place's rule and queue are checked and corrected.
pub const RECHECK: Duration = Duration::from_secs(600);
/// The long poll of a queue (SQS's longest).
pub const WAIT_S: i32 = 20;
/// Messages taken per drain, at most.
pub const DRAIN: usize = 1_000;
/// How long a queue that failed to answer rests before it is asked again.
const QUEUE_BACKOFF: Duration = Duration::from_secs(5);

/// What the reconciles and the loop share.
#[derive(Default)]
pub struct Hub {
    inbox: Mutex<Inbox>,
    index: Mutex<Index>,
    own: Mutex<Own>,
}

impl Hub {
    fn inbox(&self) -> std::sync::MutexGuard<'_, Inbox> {
        self.inbox.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Why a check of `id` is pending, when one is: the reconcile checks at once.
    pub fn pending(&self, id: &PipelineId) -> Option<String> {
        self.inbox().pending_cause(id).map(str::to_owned)
    }

    /// A check of `id` starts now: the change that made it pending, if one did.
    pub fn start(&self, id: &PipelineId) -> Option<String> {
        let now = k8s_openapi::jiff::Timestamp::now().as_millisecond();
        self.inbox().start(id, now).map(|w| {
            if w.changes > 1 {
                format!("{} (and {} more)", w.cause, w.changes - 1)
            } else {
                w.cause
            }
        })
    }
}

/// The loop's own state.
struct Places {
    /// Each pipeline's desired state, at the generation it was built from.
    desired: BTreeMap<PipelineId, (Option<i64>, Desired)>,
    /// Each place set up, with when it was last checked.
    queues: BTreeMap<(String, String), Instant>,
    /// Accounts whose principals are known.
    accounts: BTreeSet<String>,
}

/// Runs until `stop`: follows the specs in `store`, sets up places, drains their queues and
/// sends the pipelines whose check became pending to `wake`.
pub async fn run(
    ctx: Arc<Context>,
    hub: Arc<Hub>,
    store: Store<LogPipeline>,
    wake: mpsc::UnboundedSender<ObjectRef<LogPipeline>>,
    stop: watch::Receiver<bool>,
) {
    let (tx, mut rx) = mpsc::channel::<(EventsQueue, Vec<crate::engine::events::Received>)>(16);
    let mut places = Places {
        desired: BTreeMap::new(),
        queues: BTreeMap::new(),
        accounts: BTreeSet::new(),
    };
    let mut tick = tokio::time::interval(REFRESH);
    let stopped = super::run::stopped(&stop);
    tokio::pin!(stopped);
    loop {
        tokio::select! {
            _ = &mut stopped => return,
            _ = tick.tick() => {
                follow(&ctx, &hub, &store, &mut places).await;
                set_up(&ctx, &hub, &mut places, &tx, &stop).await;
            }
            Some((queue, messages)) = rx.recv() => {
                // A pipeline applied since the last refresh is indexed before its changes are
                // routed, instead of their events going to nobody (cheap: only new generations
                // are resolved).
                follow(&ctx, &hub, &store, &mut places).await;
                deliver(&ctx, &hub, &store, &wake, &queue, messages).await;
            }
        }
    }
}

/// Brings the index up to the specs: a new or changed pipeline is validated and resolved (no
/// AWS call but the account, asked once) and indexed; a deleted one leaves it.
async fn follow(ctx: &Context, hub: &Hub, store: &Store<LogPipeline>, places: &mut Places) {
    let live: Vec<Arc<LogPipeline>> = store
        .state()
        .into_iter()
        .filter(|lp| ctx.acts_on(lp))
        .collect();
    let ids: BTreeSet<PipelineId> = live.iter().map(|lp| lp.id("default")).collect();
    let gone: Vec<PipelineId> = places
        .desired
        .keys()
        .filter(|id| !ids.contains(*id))
        .cloned()
        .collect();
    for id in gone {
        places.desired.remove(&id);
        hub.index
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }
    for lp in live {
        let id = lp.id("default");
        let generation = lp.metadata.generation;
        if places
            .desired
            .get(&id)
            .is_some_and(|(g, _)| *g == generation)
        {
            continue;
        }
        let Ok(valid) = ctx.engine.validate(&id, &lp.spec) else {
            continue;
        };
        let Ok(pipeline) = ctx.engine.resolve(valid).await else {
            continue;
        };
        let desired = crate::desired::build(&pipeline);
        hub.index
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(&desired);
        places.desired.insert(id, (generation, desired));
    }
}

/// Sets up every place the pipelines use that is not yet (or not checked for [`RECHECK`]),
/// learns pitagora's principals in new accounts, and starts draining new queues.
async fn set_up(
    ctx: &Context,
    hub: &Hub,
    places: &mut Places,
    tx: &mpsc::Sender<(EventsQueue, Vec<crate::engine::events::Received>)>,
    stop: &watch::Receiver<bool>,
) {
    let wanted = rule::places(places.desired.values().map(|(_, d)| d));
    let accounts: BTreeSet<String> = wanted.iter().map(|(a, _)| a.clone()).collect();
    let new: Vec<String> = accounts.difference(&places.accounts).cloned().collect();
    if !new.is_empty() {
        let region = wanted
            .iter()
            .next()
            .map(|(_, r)| r.clone())
            .unwrap_or_default();
        match ctx
            .engine
            .own_principals(new.iter().map(String::as_str), &region)
            .await
        {
            Ok(found) => {
                let mut own = hub.own.lock().unwrap_or_else(|p| p.into_inner());
                *own = std::mem::take(&mut *own).merged(found);
                places.accounts.extend(new);
            }
            Err(e) => {
                tracing::warn!(error = %e, "events: pitagora's own principals not read; its own writes may start a check")
            }
        }
    }
    for (account, region) in wanted {
        let key = (account.clone(), region.clone());
        let first = !places.queues.contains_key(&key);
        if places
            .queues
            .get(&key)
            .is_some_and(|at| at.elapsed() < RECHECK)
        {
            continue;
        }
        let place = AwsTarget::new(account, region);
        match ctx.engine.set_up_events(&place, false).await {
            Ok((done, queue)) => {
                for d in &done.drift {
                    tracing::info!(%place, resource = d.resource, field = %d.field, desired = ?d.desired, actual = ?d.actual, "events: corrected");
                }
                ctx.metrics.events_set_up(&place.to_string(), None);
                places.queues.insert(key, Instant::now());
                if let (true, Some(queue)) = (first, queue) {
                    tokio::spawn(drain(queue, tx.clone(), stop.clone()));
                }
            }
            Err(e) => {
                ctx.metrics
                    .events_set_up(&place.to_string(), Some(e.label()));
                tracing::warn!(%place, error = %e, "events: rule and queue not set up; the sweep still finds this place's changes");
            }
        }
    }
}

/// Drains `queue` until `stop`, handing every batch to the loop.
async fn drain(
    queue: EventsQueue,
    tx: mpsc::Sender<(EventsQueue, Vec<crate::engine::events::Received>)>,
    stop: watch::Receiver<bool>,
) {
    let stopped = super::run::stopped(&stop);
    tokio::pin!(stopped);
    loop {
        let got = tokio::select! {
            _ = &mut stopped => return,
            got = queue.drain(WAIT_S, DRAIN) => got,
        };
        match got {
            Ok(messages) if messages.is_empty() => {}
            Ok(messages) => {
                if tx.send((queue.clone(), messages)).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(place = %queue.place, error = %e, "events: the queue did not answer");
                tokio::time::sleep(QUEUE_BACKOFF).await;
            }
        }
    }
}

/// Routes one batch, wakes the pipelines whose check became pending, and deletes the messages.
async fn deliver(
    ctx: &Context,
    hub: &Hub,
    store: &Store<LogPipeline>,
    wake: &mpsc::UnboundedSender<ObjectRef<LogPipeline>>,
    queue: &EventsQueue,
    messages: Vec<crate::engine::events::Received>,
) {
    let mut woken = Vec::new();
    {
        let index = hub.index.lock().unwrap_or_else(|p| p.into_inner());
        let own = hub.own.lock().unwrap_or_else(|p| p.into_inner());
        let mut inbox = hub.inbox();
        for m in &messages {
            let routed = crate::events::route(&m.body, &index, &own, &mut inbox);
            ctx.metrics.change_event(routed.label());
            woken.extend(routed.woken().cloned());
        }
    }
    for id in woken {
        let object = ObjectRef::new(&id.name).within(&id.namespace);
        if store.get(&object).is_some() {
            let _ = wake.send(object);
        }
    }
    let receipts: Vec<String> = messages.into_iter().map(|m| m.receipt).collect();
    if let Err(e) = queue.delete(&receipts).await {
        // Not deleted, they come again after the visibility timeout: counted once by their id.
        tracing::warn!(place = %queue.place, error = %e, "events: messages not deleted");
    }
}
