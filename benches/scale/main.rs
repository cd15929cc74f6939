//! The scale benchmark: what checking and converging N pipelines costs, against the emulator on
//! loopback. Run it with `scripts/bench.sh` (it starts moto); it writes `BENCHMARKS.md` and
//! `benchmarks/scale.json`. Not a test: it asserts only what makes a figure meaningless
//! (a pipeline that did not converge, a write during a check), and reports the rest.
//!
//! Sizes: `PITAGORA_BENCH_N` (default `10,100,1000`), `PITAGORA_BENCH_GROUPS` (`1,10`); the rows
//! at AWS's default limits run for the sizes in `PITAGORA_BENCH_AWS_N` (default `10,100`, each
//! with 1 group: they are bound by the limits, not by the emulator); `PITAGORA_BENCH_CLI_N` and
//! `PITAGORA_BENCH_CONTROLLER_N` size the binary's rows, `PITAGORA_BENCH_EVENTS_N` (default
//! `1000`) the rows of changes as events (`""` skips a kind of row).

mod cli;
mod controller;
mod events;
mod measure;
mod report;
mod world;

use futures::StreamExt;
use measure::{Cost, Meter};
use pitagora::aws::{Aws, CallStats, Limits};
use pitagora::desired::Pipeline;
use pitagora::engine::Engine;
use pitagora::read::{Hints, all_lookups};
use report::{OpRate, Row};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use world::World;

/// Pipelines worked on at once (the CLI's default).
const CONCURRENCY: usize = 8;

/// How long converging checks share their reads (`pitagora apply`'s and the controller's).
const BATCH: Duration = Duration::from_secs(30);

fn sizes(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run());
}

async fn run() {
    if std::env::var_os("PITAGORA_BENCH_RENDER").is_some() {
        return report::render();
    }
    let environment = report::start();
    let mut rows = Vec::new();
    for n in sizes("PITAGORA_BENCH_N", "10,100,1000") {
        for g in sizes("PITAGORA_BENCH_GROUPS", "1,10") {
            eprintln!("bench: {n} pipelines × {g} log groups, limits lifted");
            rows.extend(lifted(n, g).await);
        }
    }
    for n in sizes("PITAGORA_BENCH_AWS_N", "10,100") {
        eprintln!("bench: {n} pipelines at AWS's default limits");
        rows.extend(at_aws_limits(n).await);
    }
    for n in sizes("PITAGORA_BENCH_CLI_N", "10,100,1000") {
        eprintln!("bench: pitagora drift over {n} files");
        rows.extend(cli::drift(n).await);
    }
    for n in sizes("PITAGORA_BENCH_EVENTS_N", "1000") {
        eprintln!("bench: {n} pipelines, changes as events, at AWS's limits within the budget");
        rows.extend(events::rows(n).await);
    }
    for n in sizes("PITAGORA_BENCH_CONTROLLER_N", "100,1000") {
        eprintln!("bench: pitagora run with {n} LogPipelines");
        rows.extend(controller::rows(n).await);
    }
    report::write(environment, &rows);
}

/// The rows of one size with limits lifted: converge from empty, a steady sweep batched and
/// alone, one out-of-band change.
async fn lifted(n: usize, g: usize) -> Vec<Row> {
    let w = World::new(n, g);
    w.create_groups().await;
    let aws = w.aws(Limits::unlimited()).await;
    let engine = Engine::new(aws.clone());
    let pipelines = w.pipelines(&engine).await;
    let base = Row::new(n, g, "lifted");
    let batched = Engine::new(aws.clone()).with_batched_reads(BATCH);
    let mut rows = vec![converge(&batched, &pipelines, base.named("converge from empty")).await];
    let batched = Engine::new(aws.clone()).with_batched_reads(Duration::MAX);
    rows.push(sweep(&batched, &pipelines, base.named("steady sweep, batched")).await);
    rows.push(sweep(&engine, &pipelines, base.named("steady sweep, each alone")).await);
    rows.push(out_of_band(&w, &aws, &pipelines, base.named("one out-of-band change")).await);
    rows
}

/// Converges every pipeline, `CONCURRENCY` at a time.
async fn converge(engine: &Engine, pipelines: &[Pipeline], row: Row) -> Row {
    let before = engine.aws().calls().snapshot();
    let meter = Meter::start();
    let failed = futures::stream::iter(pipelines)
        .map(|p| async move {
            match engine.converge(p, &Hints::default(), &mut |_| {}).await {
                Ok(done) => !done.remaining.in_sync(),
                Err(e) => {
                    eprintln!("bench: {}: {e}", p.id());
                    true
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .filter(|failed| std::future::ready(*failed))
        .count()
        .await;
    let cost = meter.stop();
    assert_eq!(failed, 0, "every pipeline converges");
    row.measured(cost, &engine.aws().calls().snapshot().since(&before))
}

/// Checks every pipeline once without writing: what a controller's sweep or `drift` does.
async fn sweep(engine: &Engine, pipelines: &[Pipeline], row: Row) -> Row {
    announce(engine, pipelines);
    let before = engine.aws().calls().snapshot();
    let meter = Meter::start();
    let drifted = checks(engine, pipelines).await;
    let cost = meter.stop();
    let calls = engine.aws().calls().snapshot().since(&before);
    assert_eq!(calls.writes(), 0, "a check writes nothing");
    assert!(
        drifted.is_empty(),
        "converged pipelines are in sync: {drifted:?}"
    );
    row.measured(cost, &calls)
}

/// Tells the batch (if any) every lookup to come, as `pitagora drift` does.
fn announce(engine: &Engine, pipelines: &[Pipeline]) {
    let Some(first) = pipelines.first() else {
        return;
    };
    if let Some(batch) = engine.batch(&pitagora::desired::build(first).target) {
        for p in pipelines {
            batch.expect_prefixes(all_lookups(&pitagora::desired::build(p), &Hints::default()));
        }
    }
}

/// Checks every pipeline; the indexes of those that differ from their spec.
async fn checks(engine: &Engine, pipelines: &[Pipeline]) -> Vec<usize> {
    futures::stream::iter(pipelines.iter().enumerate())
        .map(|(i, p)| async move {
            let check = engine.check(p, &Hints::default()).await.expect("a check");
            (!check.plan.in_sync()).then_some(i)
        })
        .buffer_unordered(CONCURRENCY)
        .filter_map(std::future::ready)
        .collect()
        .await
}

/// Someone removes one pipeline's subscription filter by hand; a sweep finds it and it is
/// corrected.
async fn out_of_band(w: &World, aws: &Arc<Aws>, pipelines: &[Pipeline], row: Row) -> Row {
    let i = pipelines.len() / 2;
    remove_filter(w, i, &pipelines[i].names().filter).await;
    let engine = Engine::new(aws.clone()).with_batched_reads(Duration::MAX);
    announce(&engine, pipelines);
    let before = engine.aws().calls().snapshot();
    let meter = Meter::start();
    let drifted = checks(&engine, pipelines).await;
    for i in &drifted {
        engine
            .converge(&pipelines[*i], &Hints::default(), &mut |_| {})
            .await
            .expect("corrected");
    }
    let cost = meter.stop();
    assert_eq!(drifted.len(), 1, "exactly the changed pipeline drifted");
    let calls = engine.aws().calls().snapshot().since(&before);
    row.measured(cost, &calls)
}

/// Someone removes pipeline `i`'s subscription filter from its first log group.
async fn remove_filter(w: &World, i: usize, filter: &str) {
    w.outsider()
        .await
        .logs
        .delete_subscription_filter()
        .log_group_name(w.group(i, 0))
        .filter_name(filter)
        .send()
        .await
        .expect("removed by hand");
}

/// The rows at AWS's default limits: converge from empty and a steady sweep, with the rate
/// achieved per operation.
async fn at_aws_limits(n: usize) -> Vec<Row> {
    let w = World::new(n, 1);
    w.create_groups().await;
    let aws = w.aws(Limits::aws()).await;
    let engine = Engine::new(aws.clone());
    let pipelines = w.pipelines(&engine).await;
    let base = Row::new(n, 1, "aws");
    w.departures.clear();
    let batched = Engine::new(aws.clone()).with_batched_reads(BATCH);
    let converged = converge(&batched, &pipelines, base.named("converge from empty")).await;
    let converged = converged.with_rates(rates(&w, &Limits::aws()));
    let batched = Engine::new(aws.clone()).with_batched_reads(Duration::MAX);
    w.departures.clear();
    let swept = sweep(&batched, &pipelines, base.named("steady sweep, batched")).await;
    vec![converged, swept.with_rates(rates(&w, &Limits::aws()))]
}

/// Per operation: calls, achieved rate, busiest second, and the configured limit.
fn rates(w: &World, limits: &Limits) -> BTreeMap<String, OpRate> {
    w.departures
        .rates()
        .into_iter()
        .map(|(op, (calls, achieved, busiest))| {
            let limit = limits.rate(&op);
            (
                op,
                OpRate {
                    calls,
                    achieved,
                    busiest_second: busiest,
                    limit,
                },
            )
        })
        .collect()
}

/// Calls by `Service.Operation`.
pub fn by_operation(calls: &CallStats) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for (k, n) in &calls.0 {
        *out.entry(format!("{}.{}", k.service, k.operation))
            .or_default() += n;
    }
    out
}

impl Row {
    fn measured(mut self, cost: Cost, calls: &CallStats) -> Row {
        self.cost = cost;
        self.calls = by_operation(calls);
        self.writes = calls.writes();
        self
    }
}
