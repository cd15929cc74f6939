//! Running the controller: the HTTP endpoints, leader election, the watch and the shutdown.

use super::leader::Elector;
use super::metrics::Metrics;
use super::shard_leases::{Held, Keeper};
use super::{Context, Settings, error_policy, http, reconcile};
use crate::engine::Engine;
use crate::spec::LogPipeline;
use futures::{FutureExt, StreamExt};
use kube::Api;
use kube::runtime::controller::{Config as ControllerConfig, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

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

/// Resolves once `stop` says so.
pub(super) fn stopped(
    stop: &watch::Receiver<bool>,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut rx = stop.clone();
    async move {
        // The guard `wait_for` returns is not Send: drop it here.
        let _ = rx.wait_for(|s| *s).await.map(|_| ());
    }
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
    let (stop_tx, stop_rx) = watch::channel(false);
    let (addr, server) = http::serve(settings.http_addr, health.clone(), stopped(&stop_rx))
        .await
        .map_err(|e| RunError::Http(settings.http_addr, e))?;
    tracing::info!(%addr, "serving /healthz, /readyz and /metrics");
    let stop = stop_tx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let pipelines: Api<LogPipeline> = match &settings.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let listed = count(&pipelines).await?;
    // With shards every replica acts on its own; without, one leader acts on all.
    let sharded = settings.lease.clone().filter(|_| settings.shards > 1);
    let elector = match sharded {
        Some(_) => None,
        None => settings
            .lease
            .clone()
            .map(|config| Elector::new(client.clone(), config)),
    };
    if let Some(elector) = &elector
        && !lead(elector, &health, &metrics, &stop_rx).await
    {
        // Stopped while waiting: an acquisition may have landed just as the stop came.
        if let Err(e) = elector.release().await {
            tracing::warn!(error = %e, "releasing the lease failed");
        }
        let _ = server.await;
        return Ok(());
    }
    let mut ctx = context(client.clone(), engine, &settings, metrics.clone());
    ctx.publish_sweep(&ctx.sweeps.start(listed));
    let mut keeper = None;
    if let Some(config) = sharded {
        let (k, held) = Keeper::new(client, config, settings.shards);
        tokio::spawn(follow_shares(
            held.clone(),
            ctx.engine.clone(),
            settings.shards,
            metrics.clone(),
        ));
        let stop = stopped(&stop_rx);
        keeper = Some(tokio::spawn(async move { k.keep(stop).await }));
        ctx.shards = Some((settings.shards, held));
    }
    let ctx = Arc::new(ctx);
    let outcome = watch_pipelines(pipelines, &settings, ctx, &health, &elector, &stop_rx).await;
    let _ = stop_tx.send(true);
    if let Some(keeper) = keeper {
        // It releases its shards on the stop, so the others take them at once.
        let _ = keeper.await;
    }
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

/// Waits for the lease, ready as a standby; `false` when stopped before leading.
async fn lead(
    elector: &Elector,
    health: &http::Health,
    metrics: &Metrics,
    stop: &watch::Receiver<bool>,
) -> bool {
    // A standby knows its role: it is ready, it just does not act.
    health.ready.store(true, Ordering::Relaxed);
    tracing::info!(identity = %elector.config().identity, "waiting for the leader lease");
    tokio::select! {
        r = elector.acquire() => { let _ = r; }
        _ = stopped(stop) => return false,
    }
    health.ready.store(false, Ordering::Relaxed);
    metrics.set_leader(true);
    tracing::info!(identity = %elector.config().identity, "leading");
    true
}

/// How many pipelines there are, from a list of one (which fails without the CRD): the API
/// server counts the rest, else a list of their metadata does.
async fn count(pipelines: &Api<LogPipeline>) -> Result<usize, RunError> {
    let first = pipelines
        .list(&kube::api::ListParams::default().limit(1))
        .await
        .map_err(RunError::NoCrd)?;
    let listed = first.items.len();
    let meta = &first.metadata;
    Ok(match (meta.remaining_item_count, &meta.continue_) {
        (Some(rest), _) => listed + usize::try_from(rest).unwrap_or(0),
        (None, Some(next)) if !next.is_empty() => pipelines
            .list_metadata(&kube::api::ListParams::default())
            .await
            .map(|l| l.items.len())
            .unwrap_or(listed),
        (None, _) => listed,
    })
}

fn context(
    client: kube::Client,
    engine: Engine,
    settings: &Settings,
    metrics: Arc<Metrics>,
) -> Context {
    let engine_limits = engine.aws().limiter().limits().clone();
    Context {
        recorder: Recorder::new(
            client.clone(),
            Reporter {
                controller: settings.reporter.clone(),
                instance: Some(settings.instance.clone()),
            },
        ),
        client,
        engine,
        metrics,
        events: Mutex::default(),
        failures: Mutex::default(),
        max_error_backoff: settings.max_error_backoff,
        canary_margin: settings.canary_margin,
        started: k8s_openapi::jiff::Timestamp::now(),
        routine: tokio::sync::Semaphore::new(usize::from(settings.concurrency.max(2)) - 1),
        shards: None,
        sweeps: super::sweep::Sweeps::new(engine_limits),
        store: std::sync::OnceLock::new(),
        changes: settings.events.then(Default::default),
    }
}

/// Keeps the rate limits and the gauge at this replica's share of the shards: replicas of one
/// account together stay within its quotas.
async fn follow_shares(
    mut held: watch::Receiver<Held>,
    engine: Engine,
    shards: u32,
    metrics: Arc<Metrics>,
) {
    loop {
        let n = held.borrow_and_update().len();
        metrics.set_shards_held(n);
        // Holding none, it makes no calls; a share of one shard is ready for the first taken.
        let share = n.max(1) as f64 / f64::from(shards.max(1));
        engine.aws().set_share(share);
        if held.changed().await.is_err() {
            return;
        }
    }
}

/// Every change of the shards held, as a stream (the controller checks every pipeline again).
fn changes(held: watch::Receiver<Held>) -> impl futures::Stream<Item = ()> + Send + 'static {
    futures::stream::unfold(held, |mut held| async move {
        held.changed().await.ok()?;
        Some(((), held))
    })
}

/// What the controller keeps of a LogPipeline: all but its `managedFields` and kubectl's
/// last-applied copy of the object, which together are most of its size and which nothing
/// here reads (status is written by server-side apply under pitagora's own field manager).
fn compact(lp: &mut LogPipeline) {
    lp.metadata.managed_fields = None;
    if let Some(annotations) = lp.metadata.annotations.as_mut() {
        annotations.remove(LAST_APPLIED);
    }
}

/// The annotation `kubectl apply` (client side) keeps a copy of the object in.
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// Marks the replica ready once the controller's cache has synced.
async fn ready_when_synced(
    store: kube::runtime::reflector::Store<LogPipeline>,
    health: Arc<http::Health>,
    stop: watch::Receiver<bool>,
) {
    // The controller waits on the same readiness signal, and only the most recent waiter is
    // woken: poll again every so often instead of waiting once. Stopped, the cache may never
    // sync: give up then.
    while !*stop.borrow() {
        match tokio::time::timeout(Duration::from_millis(200), store.wait_until_ready()).await {
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

/// Reconciles pipelines until stopped (`Ok`) or until leadership is lost.
async fn watch_pipelines(
    pipelines: Api<LogPipeline>,
    settings: &Settings,
    ctx: Arc<Context>,
    health: &Arc<http::Health>,
    elector: &Option<Elector>,
    stop: &watch::Receiver<bool>,
) -> Result<(), RunError> {
    let lost = {
        let elector = elector.clone();
        async move {
            match elector {
                Some(e) => e.hold().await,
                None => std::future::pending().await,
            }
        }
    };
    let (reader, writer) = reflector::store();
    let stream = watcher(pipelines, watcher::Config::default())
        .modify(compact)
        .reflect(writer)
        .applied_objects();
    let mut controller = Controller::for_stream(stream, reader)
        .with_config(ControllerConfig::default().concurrency(settings.concurrency));
    if let Some((_, held)) = &ctx.shards {
        controller = controller.reconcile_all_on(changes(held.clone()));
    }
    if let Some(hub) = ctx.changes.clone() {
        // Changes that arrive as events wake their pipelines' reconciles at once.
        let (wake, woken) = tokio::sync::mpsc::unbounded_channel();
        let loop_ = super::changes::run(ctx.clone(), hub, controller.store(), wake, stop.clone());
        tokio::spawn(loop_);
        controller = controller.reconcile_on(futures::stream::unfold(woken, |mut rx| async move {
            rx.recv().await.map(|object| (object, rx))
        }));
    }
    tokio::spawn(ready_when_synced(
        controller.store(),
        health.clone(),
        stop.clone(),
    ));
    let _ = ctx.store.set(controller.store());
    let store = controller.store();
    let run = controller
        .graceful_shutdown_on(stopped(stop))
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %e, "controller event");
            }
        });
    drive(run, store, stop, lost).await
}

/// Drives the controller's `run` until it ends (`Ok`) or `lost` resolves (leadership lost).
/// Stopped before its cache synced, it ends at once: kube's controller starts no reconcile
/// until the cache syncs, and its graceful shutdown stops the watch that would sync it, so it
/// would wait for ever (a leader renewing its lease all along, never releasing it). Nothing has
/// been reconciled then, so there is nothing to finish.
async fn drive<K>(
    run: impl std::future::Future<Output = ()>,
    store: reflector::Store<K>,
    stop: &watch::Receiver<bool>,
    lost: impl std::future::Future<Output = ()>,
) -> Result<(), RunError>
where
    K: kube::runtime::reflector::Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    let unsynced = async {
        stopped(stop).await;
        // Once the stop is seen, the controller polls its watch no more: the cache cannot
        // sync after this check.
        if store.wait_until_ready().now_or_never().is_some() {
            std::future::pending::<()>().await;
        }
        tracing::info!("stopped before the cache synced; nothing to finish");
    };
    tokio::select! {
        _ = run => Ok(()),
        _ = unsynced => Ok(()),
        _ = lost => Err(RunError::LeadershipLost),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::controller::Action;
    use std::convert::Infallible;

    /// A controller whose watch never syncs its cache (a slow first list), the stop it shuts
    /// down gracefully on, and its cache.
    fn unsynced() -> (
        impl std::future::Future<Output = ()>,
        reflector::Store<LogPipeline>,
        watch::Sender<bool>,
    ) {
        let (reader, writer) = reflector::store::<LogPipeline>();
        let (stop_tx, stop_rx) = watch::channel(false);
        // As in `watch_pipelines`, the watch stream writes the cache: it lives as long as the
        // controller does.
        let never =
            futures::stream::pending::<Result<watcher::Event<LogPipeline>, watcher::Error>>()
                .reflect(writer)
                .applied_objects();
        let run = Controller::for_stream(never, reader.clone())
            .graceful_shutdown_on(stopped(&stop_rx))
            .run(
                |_, _: Arc<()>| async { Ok::<_, Infallible>(Action::await_change()) },
                |_, _: &Infallible, _| Action::await_change(),
                Arc::new(()),
            )
            .for_each(|_| async {});
        (run, reader, stop_tx)
    }

    /// Why [`drive`] exists: kube's graceful shutdown before the first sync never ends.
    #[tokio::test]
    async fn kubes_controller_stopped_before_its_cache_synced_never_ends_by_itself() {
        let (run, _store, stop) = unsynced();
        stop.send(true).unwrap();
        let ended = tokio::time::timeout(Duration::from_secs(1), run).await;
        assert!(
            ended.is_err(),
            "kube's controller ended: drive's shortcut may go"
        );
    }

    #[tokio::test]
    async fn a_controller_stopped_before_its_cache_synced_ends_at_once() {
        let (run, store, stop) = unsynced();
        let stop_rx = stop.subscribe();
        stop.send(true).unwrap();
        let lost = std::future::pending();
        let ended =
            tokio::time::timeout(Duration::from_secs(20), drive(run, store, &stop_rx, lost)).await;
        assert!(matches!(ended, Ok(Ok(()))), "{ended:?}");
    }

    #[tokio::test]
    async fn a_controller_whose_leadership_is_lost_ends_with_that_error() {
        let (run, store, stop) = unsynced();
        let stop_rx = stop.subscribe();
        let ended = drive(run, store, &stop_rx, async {}).await;
        assert!(matches!(ended, Err(RunError::LeadershipLost)), "{ended:?}");
    }
}
