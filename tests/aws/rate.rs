//! The client-side rate limits, specified with explicit times: per operation and region,
//! requests spaced at the rate with no burst (so no window holds more than its share), AWS's
//! quotas by default and settings on top, throttling halving the rate once and recovery over
//! thirty seconds.

use pitagora::aws::rate::{FLOOR, Limits, LimitsError, RECOVERY, RateLimiter, default_rate};
use std::time::{Duration, Instant};

const DESCRIBE: &str = "Firehose.DescribeDeliveryStream";
const UPDATE: &str = "Firehose.UpdateDestination";
const REGION: &str = "eu-west-1";

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// When each of `asks` (offsets from `t0`, in seconds) gets its slot.
fn grants(limiter: &RateLimiter, t0: Instant, asks: &[f64]) -> Vec<f64> {
    asks.iter()
        .map(|a| {
            let at = t0 + secs(*a);
            a + limiter.reserve(REGION, DESCRIBE, at).as_secs_f64()
        })
        .collect()
}

/// The most grants in any window of `width` seconds (closed at both ends).
fn busiest(grants: &[f64], width: f64) -> usize {
    grants
        .iter()
        .map(|start| {
            grants
                .iter()
                .filter(|g| **g >= *start && **g <= start + width + 1e-9)
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn requests_at_once_are_spaced_at_the_rate_without_a_burst() {
    let limiter = RateLimiter::new(Limits::aws());
    let g = grants(&limiter, Instant::now(), &[0.0; 6]);
    let expected = [0.0, 0.25, 0.5, 0.75, 1.0, 1.25];
    for (got, want) in g.iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "{g:?}");
    }
}

#[test]
fn no_one_second_window_ever_holds_more_than_aws_allows() {
    let limiter = RateLimiter::new(Limits::aws());
    // 400 requests: bursts, quiet spells and a steady trickle.
    let mut asks: Vec<f64> = Vec::new();
    asks.extend(std::iter::repeat_n(0.0, 100));
    asks.extend((0..100).map(|i| 30.0 + f64::from(i) * 0.01));
    asks.extend((0..100).map(|i| 100.0 + f64::from(i) * 0.7));
    asks.extend(std::iter::repeat_n(200.0, 100));
    let g = grants(&limiter, Instant::now(), &asks);
    // Firehose allows 5 per second; pitagora asks at 4.
    assert_eq!(busiest(&g, 1.0), 5, "{:?}", &g[..10]);
    for width in [0.5, 2.0, 10.0, 60.0] {
        assert!(
            busiest(&g, width) as f64 <= (width * 4.0).floor() + 1.0,
            "window {width} s"
        );
    }
}

#[test]
fn each_operation_and_region_has_its_own_schedule_and_iam_one_for_all_regions() {
    let limiter = RateLimiter::new(Limits::aws());
    let now = Instant::now();
    assert!(limiter.reserve(REGION, DESCRIBE, now).is_zero());
    assert!(
        limiter.reserve(REGION, UPDATE, now).is_zero(),
        "another operation"
    );
    assert!(
        limiter.reserve("us-east-1", DESCRIBE, now).is_zero(),
        "another region"
    );
    assert!(!limiter.reserve(REGION, DESCRIBE, now).is_zero());
    assert!(limiter.reserve(REGION, "IAM.GetRole", now).is_zero());
    assert!(
        !limiter.reserve("us-east-1", "IAM.GetRole", now).is_zero(),
        "IAM is global"
    );
}

#[test]
fn a_throttled_answer_halves_the_rate_once_for_answers_that_arrive_together() {
    let limiter = RateLimiter::new(Limits::aws());
    let t0 = Instant::now();
    limiter.throttled(REGION, DESCRIBE, t0);
    limiter.throttled(REGION, DESCRIBE, t0 + secs(0.1));
    // Halved once (4 → 2), plus a tenth of a second of recovery.
    let rate = limiter.rate_now(REGION, DESCRIBE, t0 + secs(0.1));
    assert!((rate - 2.0).abs() < 0.02, "{rate}");
    assert_eq!(
        limiter.rate_now(REGION, UPDATE, t0),
        4.0,
        "only that operation"
    );
    // Requests are then spaced at the lower rate.
    let first = limiter.reserve(REGION, DESCRIBE, t0 + secs(1.0));
    let second = limiter.reserve(REGION, DESCRIBE, t0 + secs(1.0));
    assert!(
        (second - first).as_secs_f64() >= 0.45,
        "{first:?} {second:?}"
    );
}

#[test]
fn throttling_again_and_again_holds_the_rate_low_and_above_the_floor() {
    let limiter = RateLimiter::new(Limits::aws());
    let mut t = Instant::now();
    for _ in 0..20 {
        limiter.throttled(REGION, DESCRIBE, t);
        // The next throttled answer comes one slot later.
        t += secs(1.0 / limiter.rate_now(REGION, DESCRIBE, t) + 1e-3);
    }
    let rate = limiter.rate_now(REGION, DESCRIBE, t);
    assert!(
        (4.0 * FLOOR..=1.0).contains(&rate),
        "at most a quarter of the limit: {rate}"
    );
}

#[test]
fn the_rate_recovers_linearly_to_its_limit_over_thirty_seconds() {
    let limiter = RateLimiter::new(Limits::aws());
    let t0 = Instant::now();
    limiter.throttled(REGION, DESCRIBE, t0);
    // From 2 per second, a step of 4 × (1 − 1/16) per thirty seconds.
    let step = 4.0 * (1.0 - FLOOR) / RECOVERY.as_secs_f64();
    let after = |s: f64| limiter.rate_now(REGION, DESCRIBE, t0 + secs(s));
    assert!((after(10.0) - (2.0 + 10.0 * step)).abs() < 1e-6);
    assert!(after(15.0) < 4.0);
    assert_eq!(after(20.0), 4.0);
    assert_eq!(after(60.0), 4.0);
}

#[test]
fn defaults_follow_aws_quotas_with_headroom() {
    assert_eq!(default_rate(DESCRIBE), 4.0);
    assert_eq!(
        default_rate("CloudWatchLogs.DescribeSubscriptionFilters"),
        4.0
    );
    assert_eq!(default_rate("CloudFormation.DescribeStacks"), 4.0);
    assert_eq!(default_rate("CloudWatchLogs.PutLogEvents"), 40.0);
    assert_eq!(default_rate("CloudWatch.GetMetricData"), 40.0);
    assert_eq!(default_rate("Lambda.GetPolicy"), 12.0);
}

#[test]
fn an_operation_setting_beats_its_services_which_beats_the_default() {
    let limits = Limits::aws()
        .with("Firehose", 8.0)
        .unwrap()
        .with_setting("Firehose.UpdateDestination=2")
        .unwrap();
    assert_eq!(limits.rate(DESCRIBE), 8.0);
    assert_eq!(limits.rate(UPDATE), 2.0);
    assert_eq!(limits.rate("CloudFormation.DescribeStacks"), 4.0);
}

#[test]
fn a_file_sets_limits_for_an_account_with_raised_quotas() {
    let limits = Limits::aws()
        .with_file("Firehose.DescribeDeliveryStream: 20\nCloudWatchLogs: 12.5\n")
        .unwrap();
    assert_eq!(limits.rate(DESCRIBE), 20.0);
    assert_eq!(limits.rate("CloudWatchLogs.DescribeLogGroups"), 12.5);
}

#[test]
fn bad_settings_are_rejected_naming_the_key_and_the_fix() {
    let e = Limits::aws().with_setting("Kinesis=3").unwrap_err();
    assert!(matches!(e, LimitsError::UnknownService { .. }), "{e}");
    assert!(
        e.to_string().contains("Firehose"),
        "lists the services: {e}"
    );
    let e = Limits::aws().with_setting("Firehose=0").unwrap_err();
    assert!(matches!(e, LimitsError::BadRate { .. }), "{e}");
    let e = Limits::aws().with_setting("Firehose=fast").unwrap_err();
    assert!(e.to_string().contains("requests per second"), "{e}");
    let e = Limits::aws().with_setting("Firehose").unwrap_err();
    assert_eq!(e, LimitsError::Syntax("Firehose".into()));
    assert!(matches!(
        Limits::aws().with_file("- 1\n- 2\n").unwrap_err(),
        LimitsError::File(_)
    ));
}

#[test]
fn unlimited_never_waits() {
    let limiter = RateLimiter::unlimited();
    let now = Instant::now();
    assert!((0..100).all(|_| limiter.reserve(REGION, DESCRIBE, now).is_zero()));
    limiter.throttled(REGION, DESCRIBE, now);
    assert!(limiter.reserve(REGION, DESCRIBE, now).is_zero());
}

#[test]
fn a_replica_holding_half_the_shards_uses_half_of_every_limit() {
    let limiter = RateLimiter::new(Limits::aws());
    limiter.set_share(0.5);
    let g = grants(&limiter, Instant::now(), &[0.0; 4]);
    let expected = [0.0, 0.5, 1.0, 1.5];
    for (got, want) in g.iter().zip(expected) {
        assert!((got - want).abs() < 1e-6, "{g:?}");
    }
    assert!((limiter.rate_now(REGION, DESCRIBE, Instant::now()) - 2.0).abs() < 1e-9);
}
