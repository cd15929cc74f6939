//! The quota budget, measured against moto: routine checks of several pipelines, made as the
//! controller makes them (inside `budget::routine`, reads batched), beside a priority check;
//! when each request left is recorded, and no operation's routine requests take more than the
//! budget's share of its limit over any one-second window, all requests together no more than
//! the limit.

use crate::common;

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use common::moto::*;
use pitagora::aws::budget::{self, Budget, Class};
use pitagora::aws::rate::{Limits, SERVICES};
use pitagora::desired::Pipeline;
use pitagora::engine::Engine;
use pitagora::names::PipelineId;
use pitagora::read::Hints;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FILTERS: &str = "CloudWatchLogs.DescribeSubscriptionFilters";
const BUDGET: f64 = 0.25;
/// The SDK signs and sends a request a few milliseconds after the limiter's slot, more or less
/// on a busy machine: windows are measured this much short of a second, so that jitter alone
/// does not put one slot's request into the window of the next.
const JITTER: Duration = Duration::from_millis(50);

/// When each request left, with its class and operation (an SDK interceptor; clones share).
#[derive(Clone, Debug, Default)]
struct Departures(Arc<Mutex<Vec<(String, Class, Instant)>>>);

impl Intercept for Departures {
    fn name(&self) -> &'static str {
        "test::Departures"
    }

    // Runs inside the call's future, on the task that made it: the class is the request's.
    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            let op = format!("{}.{}", m.service().replace(' ', ""), m.name());
            let at = (op, budget::class(), Instant::now());
            self.0.lock().unwrap().push(at);
        }
        Ok(())
    }
}

impl Departures {
    /// Departure times by operation, of requests `class` selects.
    fn by_operation(&self, class: Option<Class>) -> BTreeMap<String, Vec<Instant>> {
        let mut out: BTreeMap<String, Vec<Instant>> = BTreeMap::new();
        for (op, c, at) in self.0.lock().unwrap().iter() {
            if class.is_none_or(|wanted| wanted == *c) {
                out.entry(op.clone()).or_default().push(*at);
            }
        }
        out.values_mut().for_each(|times| times.sort());
        out
    }
}

/// The most of `times` (sorted) within any window of `width` starting at one of them.
fn busiest(times: &[Instant], width: Duration) -> usize {
    let mut start = 0;
    let mut best = 0;
    for (end, t) in times.iter().enumerate() {
        while *t - times[start] >= width {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

/// Every service at 40 per second, `DescribeSubscriptionFilters` (a minimal pipeline's
/// bottleneck, 2 per check) at 8: the routine checks take seconds, not minutes.
fn low_limits() -> Limits {
    let all = SERVICES
        .iter()
        .fold(Limits::aws(), |l, s| l.with(s, 40.0).unwrap());
    all.with(FILTERS, 8.0)
        .unwrap()
        .with_budget(Budget::new(BUDGET).unwrap())
}

/// `n` minimal pipelines of `m`'s account, converged without limits.
async fn converged(m: &Moto, n: usize) -> Vec<Pipeline> {
    let mut pipelines = Vec::new();
    for i in 0..n {
        let group = format!("/budget/p{i}");
        m.log_groups(&[&group]).await;
        let spec = m.spec(&format!("sources:\n  logGroups: [{group}]\n"));
        let p = m
            .engine
            .prepare(&PipelineId::new("team-a", format!("p{i}")), &spec)
            .await
            .unwrap();
        let done = m.engine.converge(&p, &Hints::default(), &mut |_| {}).await;
        assert!(done.unwrap().remaining.in_sync());
        pipelines.push(p);
    }
    pipelines
}

#[tokio::test]
async fn routine_checks_stay_within_the_budget_and_all_requests_within_the_limit_measured() {
    let m = Moto::new().await;
    let mut pipelines = converged(&m, 7).await;
    let urgent = pipelines.pop().unwrap();
    let departures = Departures::default();
    let settings = pitagora::aws::AwsSettings {
        limits: low_limits(),
        ..test_settings()
    };
    let interceptors = vec![SharedInterceptor::new(departures.clone())];
    let limited = Moto::at(&endpoint(), m.account.clone(), interceptors, settings).await;
    let engine = Engine::new(limited.aws.clone()).with_batched_reads(Duration::from_secs(600));
    departures.0.lock().unwrap().clear();

    let hints = Hints::default();
    let started = Instant::now();
    let routine = futures::future::join_all(pipelines.iter().map(|p| {
        let check = engine.check(p, &hints);
        budget::routine(async { (check.await.unwrap(), Instant::now()) })
    }));
    let priority = async { (engine.check(&urgent, &hints).await.unwrap(), Instant::now()) };
    let (routine, priority) = tokio::join!(routine, priority);
    let sweep_done = routine.iter().map(|(_, at)| *at).max().unwrap();

    let limits = low_limits();
    let window = Duration::from_secs(1) - JITTER;
    let routine_by_op = departures.by_operation(Some(Class::Routine));
    assert_eq!(routine_by_op[FILTERS].len(), 12, "two per routine check");
    for (op, times) in &routine_by_op {
        let allowed = (limits.rate(op) * BUDGET).ceil() as usize;
        let got = busiest(times, window);
        assert!(
            got <= allowed,
            "{op}: {got} routine requests in a second, budget {allowed}"
        );
    }
    for (op, times) in &departures.by_operation(None) {
        let allowed = limits.rate(op).ceil() as usize;
        let got = busiest(times, window);
        assert!(
            got <= allowed,
            "{op}: {got} requests in a second, limit {allowed}"
        );
    }
    // Twelve routine filter reads at 2 per second take over five seconds; the priority check
    // uses the rest of the rate and is not queued behind them.
    assert!(
        sweep_done - started >= Duration::from_secs(5),
        "{:?}",
        sweep_done - started
    );
    let halfway = started + (sweep_done - started) / 2;
    assert!(priority.1 < halfway, "{:?}", priority.1 - started);
}
