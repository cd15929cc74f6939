//! The quota budget, specified with explicit times: routine requests pass a second schedule at
//! the rate times the budget, priority requests take the rest of the operation's schedule, and
//! together they never exceed the rate; the class comes from the task; a full sweep's time
//! follows from the calls per check, the pipelines, the limits and the budget.

use pitagora::aws::budget::{self, Budget, Class, MINIMAL_PIPELINE, sweep};
use pitagora::aws::rate::{Limits, RateLimiter};
use std::time::{Duration, Instant};

const FILTERS: &str = "CloudWatchLogs.DescribeSubscriptionFilters";
const REGION: &str = "eu-west-1";

/// A limiter at 4 per second for every operation (CloudWatch Logs' default) and `budget`.
fn limiter(budget: f64) -> RateLimiter {
    RateLimiter::new(Limits::aws().with_budget(Budget::new(budget).unwrap()))
}

/// When a request of `class` asked for at `t0 + at` seconds gets its slot, in seconds from t0.
fn grant(limiter: &RateLimiter, t0: Instant, class: Class, at: f64) -> f64 {
    let wait = limiter.reserve_as(class, REGION, FILTERS, t0 + Duration::from_secs_f64(at));
    at + wait.as_secs_f64()
}

/// The most of `grants` in any half-open window `[g, g + width)` starting at one of them.
fn busiest(grants: &[f64], width: f64) -> usize {
    grants
        .iter()
        .map(|start| {
            let end = start + width - 1e-6;
            grants.iter().filter(|g| **g >= *start && **g < end).count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn routine_requests_alone_are_spaced_at_the_rate_times_the_budget() {
    let limiter = limiter(0.25);
    let t0 = Instant::now();
    let grants: Vec<f64> = (0..5)
        .map(|_| grant(&limiter, t0, Class::Routine, 0.0))
        .collect();
    assert_eq!(
        grants,
        [0.0, 1.0, 2.0, 3.0, 4.0],
        "4/s × 0.25: one a second"
    );
}

#[test]
fn priority_requests_alongside_routine_ones_get_the_rest_of_the_rate() {
    let limiter = limiter(0.25);
    let t0 = Instant::now();
    // Ten seconds of routine work queued first: slots at 0, 1, …, 9 s.
    for _ in 0..10 {
        grant(&limiter, t0, Class::Routine, 0.0);
    }
    let priority: Vec<f64> = (0..30)
        .map(|_| grant(&limiter, t0, Class::Priority, 0.0))
        .collect();
    // Between the routine slots, at 3 per second: thirty within the same ten seconds.
    assert_eq!(priority[0], 0.25, "not behind the routine queue");
    assert!(priority[29] < 10.0, "{priority:?}");
    assert!(
        priority.iter().all(|p| p.fract() != 0.0),
        "none on a routine slot"
    );
}

/// A deterministic mix of `n` requests: (ask time in seconds, class), asked faster than the
/// rate allows in bursts and quiet spells, about two in three routine.
fn mixed_requests(n: usize) -> Vec<(f64, Class)> {
    let mut seed: u64 = 0x5eed;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as f64 / f64::from(1u32 << 31)
    };
    let mut at = 0.0;
    (0..n)
        .map(|i| {
            // Bursts of 100 at once, then spread at up to 8 per second.
            if i % 300 >= 100 {
                at += next() * 0.25;
            }
            let class = if next() < 0.66 {
                Class::Routine
            } else {
                Class::Priority
            };
            (at, class)
        })
        .collect()
}

#[test]
fn mixed_classes_never_exceed_the_rate_nor_routine_ones_their_budget() {
    for budget in [0.1, 0.25, 1.0] {
        let limiter = limiter(budget);
        let t0 = Instant::now();
        let (mut all, mut routine) = (Vec::new(), Vec::new());
        for (at, class) in mixed_requests(3000) {
            let g = grant(&limiter, t0, class, at);
            all.push(g);
            if class == Class::Routine {
                routine.push(g);
            }
        }
        assert!(
            busiest(&all, 1.0) <= 4,
            "budget {budget}: all, {}",
            busiest(&all, 1.0)
        );
        for width in [1.0, 10.0, 60.0] {
            let allowed = (width * 4.0 * budget).ceil() as usize;
            let got = busiest(&routine, width);
            assert!(
                got <= allowed,
                "budget {budget}: routine in {width} s: {got} > {allowed}"
            );
        }
    }
}

#[test]
fn throttling_halves_the_routine_schedule_with_the_operations() {
    let limiter = limiter(0.25);
    let t0 = Instant::now();
    limiter.throttled(REGION, FILTERS, t0);
    // 4 → 2 per second: routine requests half a request a second.
    let first = grant(&limiter, t0, Class::Routine, 0.0);
    let second = grant(&limiter, t0, Class::Routine, 0.0);
    assert!((second - first - 2.0).abs() < 0.01, "{first} {second}");
}

#[tokio::test]
async fn work_inside_routine_reserves_as_routine_and_a_task_it_spawns_does_not() {
    let limiter = std::sync::Arc::new(limiter(0.25));
    let t0 = Instant::now();
    let waits = budget::routine({
        let limiter = limiter.clone();
        async move {
            let first = limiter.reserve(REGION, FILTERS, t0);
            let second = limiter.reserve(REGION, FILTERS, t0);
            let spawned = tokio::spawn(async move { budget::class() }).await.unwrap();
            (first, second, spawned)
        }
    })
    .await;
    assert_eq!(waits.0, Duration::ZERO);
    assert_eq!(waits.1, Duration::from_secs(1), "routine: one a second");
    assert_eq!(waits.2, Class::Priority, "a spawned task is priority");
    assert_eq!(budget::class(), Class::Priority, "outside routine()");
}

fn calls(pairs: &[(&str, f64)]) -> budget::CallsPerCheck {
    pairs.iter().map(|(o, n)| ((*o).to_owned(), *n)).collect()
}

#[test]
fn a_full_sweep_takes_the_longest_of_calls_over_the_budgeted_rate() {
    let limits = Limits::aws();
    let minimal = budget::minimal_pipeline();
    // (calls per check, pipelines, budget) → (seconds, bottleneck)
    let cases: [(&budget::CallsPerCheck, usize, f64, f64, Option<&str>); 5] = [
        (&minimal, 1000, 1.0, 500.0, Some(FILTERS)),
        (&minimal, 1000, 0.25, 2000.0, Some(FILTERS)),
        (&minimal, 10, 0.5, 10.0, Some(FILTERS)),
        (
            &calls(&[("IAM.GetRole", 40.0), (FILTERS, 2.0)]),
            100,
            1.0,
            400.0,
            Some("IAM.GetRole"),
        ),
        (&calls(&[]), 1000, 0.25, 0.0, None),
    ];
    for (per_check, n, b, seconds, bottleneck) in cases {
        let s = sweep(per_check, n, &limits, Budget::new(b).unwrap());
        assert!(
            (s.time.as_secs_f64() - seconds).abs() < 1e-6,
            "{n} at {b}: {s:?}"
        );
        assert_eq!(s.bottleneck.as_deref(), bottleneck, "{n} at {b}");
    }
}

#[test]
fn without_limits_a_sweep_waits_for_no_quota() {
    let s = sweep(
        &budget::minimal_pipeline(),
        1000,
        &Limits::unlimited(),
        Budget::default(),
    );
    assert_eq!((s.time, s.bottleneck), (Duration::ZERO, None));
}

#[test]
fn the_static_model_is_a_minimal_pipelines_seventeen_calls_and_its_log_group_lookup() {
    let own: f64 = MINIMAL_PIPELINE
        .iter()
        .filter(|(op, _)| *op != "CloudWatchLogs.DescribeLogGroups")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(own, 17.0, "BENCHMARKS.md: 17 calls of its own per check");
}

#[test]
fn the_shared_walks_come_five_times_a_sweep_and_never_bound_it() {
    let model = budget::minimal_pipeline();
    let near = |op: &str, want: f64| (model[op] - want).abs() < 1e-9;
    assert!(near("CloudFormation.DescribeStacks", 0.1));
    assert!(near("ResourceGroupsTaggingAPI.GetResources", 0.15));
    assert!(near("CloudWatchLogs.DescribeLogGroups", 1.1));
    // Their pages grow with the pipelines as the sweep does: the bottleneck stays the filters.
    for n in [10, 1_000, 10_000] {
        let s = sweep(&model, n, &Limits::aws(), Budget::default());
        assert_eq!(s.bottleneck.as_deref(), Some(FILTERS), "{n} pipelines");
    }
}

#[test]
fn a_sweep_waits_five_times_for_its_longest_walk() {
    let wait = |n| budget::walks_wait(n, &Limits::aws(), Budget::default());
    // The tag walk: 0.03 pages a pipeline at a quarter of 4/s.
    assert_eq!(wait(1000), Duration::from_secs(150));
    assert_eq!(wait(100), Duration::from_secs(15));
    let unlimited = budget::walks_wait(1000, &Limits::unlimited(), Budget::default());
    assert_eq!(unlimited, Duration::ZERO);
}
