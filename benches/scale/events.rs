//! Changes as events at scale: N converged pipelines under a routine sweep at AWS's default
//! limits within the quota budget (25 %), as the controller runs it. Someone removes pipelines'
//! filters meanwhile: with events, CloudTrail's record (put on the bus by the benchmark, as moto
//! emits none) is drained, routed and that pipeline corrected at once; without, the change waits
//! for the sweep to reach its pipeline. Measured: change → correction both ways, the share of
//! each operation's quota the steady state used, and the calls per hour.

use super::measure::Meter;
use super::report::Row;
use super::world::{REGION, World};
use super::{BATCH, CONCURRENCY, converge};
use futures::StreamExt;
use pitagora::arn::AwsTarget;
use pitagora::aws::Limits;
use pitagora::aws::budget::{self, Budget};
use pitagora::controller::sweep::{Sweeps, routine_batch_age};
use pitagora::desired::Pipeline;
use pitagora::engine::Engine;
use pitagora::engine::events::EventsQueue;
use pitagora::events::{Inbox, Index, Own, route};
use pitagora::read::Hints;
use serde_json::json;
use std::time::{Duration, Instant};

/// Changes made with an event during the sweep.
const TOLD: usize = 5;

/// The rows of `n` pipelines.
pub async fn rows(n: usize) -> Vec<Row> {
    let w = World::new(n, 1);
    w.create_groups().await;
    let setup = w.aws(Limits::unlimited()).await;
    let engine = Engine::new(setup.clone());
    let pipelines = w.pipelines(&engine).await;
    let batched = Engine::new(setup.clone()).with_batched_reads(BATCH);
    converge(&batched, &pipelines, Row::new(n, 1, "lifted")).await;
    let place = AwsTarget::new(w.account.clone(), REGION);
    let (_, queue) = engine
        .set_up_events(&place, false)
        .await
        .expect("events set up");
    let queue = queue.expect("a queue");
    let own = engine
        .own_principals([w.account.as_str()], REGION)
        .await
        .expect("own");
    let index = Index::of(
        pipelines
            .iter()
            .map(pitagora::desired::build)
            .collect::<Vec<_>>()
            .iter(),
    );

    let budget = Budget::new(budget::DEFAULT_BUDGET).expect("a budget");
    let aws = w.aws(Limits::aws().with_budget(budget)).await;
    let engine = Engine::new(aws.clone()).with_batched_reads(BATCH);
    // As the controller: routine checks share their reads for a fifth of the estimated sweep.
    let sweeps = Sweeps::new(Limits::aws().with_budget(budget));
    let estimate = sweeps.start(n);
    engine.set_routine_batch_age(routine_batch_age(&estimate));
    w.departures.clear();
    let before = aws.calls().snapshot();
    let meter = Meter::start();
    // Without an event: a pipeline halfway through the sweep's order.
    let untold = n / 2;
    let untold_at = Instant::now();
    remove_filter(&w, untold, &pipelines[untold]).await;
    let sweep = sweep(&engine, &pipelines, untold, untold_at);
    let told = told(&w, &engine, &pipelines, &queue, &index, &own);
    let ((swept, untold_s), told_s) = tokio::join!(sweep, told);
    let cost = meter.stop();
    let calls = aws.calls().snapshot().since(&before);
    let limits = Limits::aws();
    let mut rates = super::rates(&w, &limits);
    for r in rates.values_mut() {
        // The share of the quota over the whole steady window, not from first to last call.
        r.achieved = Some(r.calls as f64 / swept.as_secs_f64());
    }
    let mut row = Row::new(n, 1, "aws, budget 25 %")
        .named("changes as events")
        .measured(cost, &calls)
        .with_rates(rates);
    let mut sorted = told_s.clone();
    sorted.sort_by(f64::total_cmp);
    row.extra = [
        ("sweep_s", swept.as_secs_f64()),
        ("sweep_estimate_s", estimate.time.as_secs_f64()),
        ("untold_change_to_correction_s", untold_s),
        ("told_changes", sorted.len() as f64),
        (
            "told_change_to_correction_median_s",
            sorted[sorted.len() / 2],
        ),
        (
            "told_change_to_correction_max_s",
            *sorted.last().unwrap_or(&0.0),
        ),
        (
            "calls_per_hour",
            calls.total() as f64 / swept.as_secs_f64() * 3600.0,
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    vec![row]
}

/// One routine sweep of every pipeline within the budget (the corrections it decides to make
/// go at priority, as the controller's); how long it took, and when the untold change was
/// corrected, in seconds after it was made.
async fn sweep(
    engine: &Engine,
    pipelines: &[Pipeline],
    untold: usize,
    at: Instant,
) -> (Duration, f64) {
    let start = Instant::now();
    let corrected: Vec<Option<f64>> = futures::stream::iter(pipelines.iter().enumerate())
        .map(|(i, p)| async move {
            let check = budget::routine(engine.check(p, &Hints::default()))
                .await
                .expect("a check");
            if check.plan.in_sync() {
                return None;
            }
            let done = engine
                .converge(p, &Hints::default(), &mut |_| {})
                .await
                .expect("corrected");
            assert!(done.remaining.in_sync());
            (i == untold).then(|| at.elapsed().as_secs_f64())
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let untold_s = corrected
        .into_iter()
        .flatten()
        .next()
        .expect("the sweep corrected the untold change");
    (start.elapsed(), untold_s)
}

/// [`TOLD`] changes spread over the sweep, each told by CloudTrail's record: drained, routed,
/// and its pipeline corrected at once; each one's seconds from change to correction.
async fn told(
    w: &World,
    engine: &Engine,
    pipelines: &[Pipeline],
    queue: &EventsQueue,
    index: &Index,
    own: &Own,
) -> Vec<f64> {
    let mut inbox = Inbox::default();
    let mut out = Vec::new();
    let n = pipelines.len();
    // Spread over the sweep's first part (about 2 s per pipeline within the budget), at most
    // 30 s apart.
    let apart = Duration::from_secs_f64((2.0 * n as f64 / (TOLD + 2) as f64).min(30.0));
    for k in 0..TOLD {
        // Late in the sweep's order, so the sweep does not reach it first.
        let i = n - 1 - k;
        tokio::time::sleep(apart).await;
        let at = Instant::now();
        remove_filter(w, i, &pipelines[i]).await;
        inject(w, i, &pipelines[i], k).await;
        let mut woken = Vec::new();
        while woken.is_empty() {
            let got = queue.drain(1, 1000).await.expect("drained");
            for m in &got {
                woken.extend(route(&m.body, index, own, &mut inbox).woken().cloned());
            }
            let receipts: Vec<String> = got.into_iter().map(|m| m.receipt).collect();
            queue.delete(&receipts).await.expect("deleted");
        }
        for id in woken {
            let p = pipelines
                .iter()
                .find(|p| *p.id() == id)
                .expect("an indexed pipeline");
            inbox.start(&id, k8s_openapi::jiff::Timestamp::now().as_millisecond());
            // Told of a change: everything read directly, as the controller does.
            let told = Hints {
                direct: true,
                ..Hints::default()
            };
            let done = budget::priority(engine.converge(p, &told, &mut |_| {}))
                .await
                .expect("corrected");
            assert!(done.remaining.in_sync());
        }
        out.push(at.elapsed().as_secs_f64());
    }
    out
}

async fn remove_filter(w: &World, i: usize, p: &Pipeline) {
    super::remove_filter(w, i, &p.names().filter).await;
}

/// CloudTrail's record of removing pipeline `i`'s filter, on the default bus.
async fn inject(w: &World, i: usize, p: &Pipeline, k: usize) {
    let now = k8s_openapi::jiff::Timestamp::now();
    let detail = json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice"},
        "eventTime": k8s_openapi::jiff::Timestamp::from_second(now.as_second()).unwrap().to_string(),
        "eventSource": "logs.amazonaws.com",
        "eventName": "DeleteSubscriptionFilter",
        "awsRegion": REGION,
        "requestParameters": {"logGroupName": w.group(i, 0), "filterName": p.names().filter},
        "eventID": format!("bench-{k}"),
        "eventType": "AwsApiCall",
        "recipientAccountId": w.account
    });
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source("aws.logs")
        .detail_type("AWS API Call via CloudTrail")
        .detail(detail.to_string())
        .build();
    w.outsider()
        .await
        .events
        .put_events()
        .entries(entry)
        .send()
        .await
        .expect("put on the bus");
}
