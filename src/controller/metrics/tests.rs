//! The figures as scraped: each metric's lines in the text format.

use super::Metrics;
use crate::aws::CallCounter;
use crate::delivery::progress::CanaryRoute;
use crate::names::PipelineId;
use crate::spec::{DriftPolicy, Layout, LogPipelineStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

fn id() -> PipelineId {
    PipelineId {
        namespace: "team".into(),
        name: "orders".into(),
    }
}

/// The sample lines of `family` (its name up to the labels), sorted.
fn lines(metrics: &Metrics, family: &str) -> Vec<String> {
    let mut out: Vec<String> = metrics
        .render()
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")) || l.starts_with(&format!("{family} ")))
        .map(str::to_owned)
        .collect();
    out.sort();
    out
}

fn condition(type_: &str, status: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: "Test".into(),
        message: String::new(),
        observed_generation: None,
        last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    }
}

fn route(transform: bool) -> CanaryRoute {
    CanaryRoute {
        log_group: "/pitagora/canary/team/orders".into(),
        bucket: "logs".into(),
        raw_prefix: "raw/".into(),
        processed_prefix: transform.then(|| "processed/".into()),
        layout: Layout::Flat,
        buffer_interval_ms: 300_000,
        interval_ms: 300_000,
        margin_ms: 120_000,
        paths: Vec::new(),
    }
}

#[test]
fn each_condition_has_its_status_at_one_and_the_other_two_at_zero() {
    let m = Metrics::new(CallCounter::default());
    let status = LogPipelineStatus {
        conditions: vec![condition("Ready", "True"), condition("Delivering", "False")],
        ..Default::default()
    };
    m.conditions(&id(), Some(&status));
    let series = |t: &str, s: &str, v: u8| {
        format!(
            "pitagora_pipeline_condition{{namespace=\"team\",name=\"orders\",type=\"{t}\",status=\"{s}\"}} {v}"
        )
    };
    let mut expected = vec![
        series("Delivering", "False", 1),
        series("Delivering", "True", 0),
        series("Delivering", "Unknown", 0),
        series("Ready", "False", 0),
        series("Ready", "True", 1),
        series("Ready", "Unknown", 0),
    ];
    expected.sort();
    assert_eq!(lines(&m, "pitagora_pipeline_condition"), expected);

    // A condition that goes away takes its three series along.
    let status = LogPipelineStatus {
        conditions: vec![condition("Ready", "Unknown")],
        ..Default::default()
    };
    m.conditions(&id(), Some(&status));
    let mut expected = vec![
        series("Ready", "False", 0),
        series("Ready", "True", 0),
        series("Ready", "Unknown", 1),
    ];
    expected.sort();
    assert_eq!(lines(&m, "pitagora_pipeline_condition"), expected);
    m.conditions(&id(), None);
    assert!(lines(&m, "pitagora_pipeline_condition").is_empty());
}

#[test]
fn drift_checks_count_checks_in_a_row_that_found_drift_and_reset_on_one_that_did_not() {
    let m = Metrics::new(CallCounter::default());
    let series = |policy: &str, n: u8| {
        format!(
            "pitagora_drift_checks{{namespace=\"team\",name=\"orders\",policy=\"{policy}\"}} {n}"
        )
    };
    m.drift_checked(&id(), DriftPolicy::Correct, true);
    m.drift_checked(&id(), DriftPolicy::Correct, true);
    assert_eq!(lines(&m, "pitagora_drift_checks"), [series("Correct", 2)]);
    m.drift_checked(&id(), DriftPolicy::Correct, false);
    assert_eq!(lines(&m, "pitagora_drift_checks"), [series("Correct", 0)]);
    m.drift_checked(&id(), DriftPolicy::Correct, true);
    // The policy changed: the series moves to the new label, the count goes on.
    m.drift_checked(&id(), DriftPolicy::Report, true);
    assert_eq!(lines(&m, "pitagora_drift_checks"), [series("Report", 2)]);
}

#[test]
fn throttled_answers_are_exported_by_service_and_operation_at_each_scrape() {
    let calls = CallCounter::default();
    let m = Metrics::new(calls.clone());
    calls.count_throttle("Firehose", "DescribeDeliveryStream");
    calls.count_throttle("Firehose", "DescribeDeliveryStream");
    let firehose = |n: u8| {
        format!(
            "pitagora_aws_throttles_total{{service=\"Firehose\",operation=\"DescribeDeliveryStream\"}} {n}"
        )
    };
    assert_eq!(lines(&m, "pitagora_aws_throttles_total"), [firehose(2)]);
    calls.count_throttle("Firehose", "DescribeDeliveryStream");
    calls.count_throttle("CloudFormation", "DescribeStacks");
    assert_eq!(
        lines(&m, "pitagora_aws_throttles_total"),
        [
            "pitagora_aws_throttles_total{service=\"CloudFormation\",operation=\"DescribeStacks\"} 1"
                .to_owned(),
            firehose(3),
        ]
    );
    assert!(
        lines(&m, "pitagora_aws_calls_total").is_empty(),
        "a throttle count is not a call count"
    );
}

#[test]
fn the_canary_deadline_of_each_stage_counts_from_sending() {
    let m = Metrics::new(CallCounter::default());
    m.canary_deadlines(&id(), Some(&route(true)));
    // raw/: the buffering interval and the margin; processed/: the transform's margin on top.
    assert_eq!(
        lines(&m, "pitagora_canary_deadline_seconds"),
        [
            "pitagora_canary_deadline_seconds{namespace=\"team\",name=\"orders\",stage=\"processed\"} 720.0",
            "pitagora_canary_deadline_seconds{namespace=\"team\",name=\"orders\",stage=\"raw\"} 420.0",
        ]
    );
    m.canary_deadlines(&id(), Some(&route(false)));
    assert_eq!(
        lines(&m, "pitagora_canary_deadline_seconds"),
        [
            "pitagora_canary_deadline_seconds{namespace=\"team\",name=\"orders\",stage=\"raw\"} 420.0"
        ]
    );
    m.canary_deadlines(&id(), None);
    assert!(lines(&m, "pitagora_canary_deadline_seconds").is_empty());
}

#[test]
fn a_forgotten_pipeline_has_no_series_left() {
    let m = Metrics::new(CallCounter::default());
    let status = LogPipelineStatus {
        conditions: vec![condition("Synced", "True")],
        ..Default::default()
    };
    m.conditions(&id(), Some(&status));
    m.drift_checked(&id(), DriftPolicy::Report, true);
    m.canary_deadlines(&id(), Some(&route(true)));
    m.drift("team", "orders", &[crate::resources::ResourceKind::Stack]);
    m.canary(
        "team",
        "orders",
        &crate::controller::delivery_status::Settled {
            stage: "raw",
            outcome: "Delivered",
            latency_ms: Some(310_000),
        },
    );
    let other = PipelineId {
        namespace: "team".into(),
        name: "payments".into(),
    };
    m.drift_checked(&other, DriftPolicy::Correct, false);
    assert!(m.render().contains("name=\"orders\""));

    m.forget(&id());

    let text = m.render();
    assert!(!text.contains("name=\"orders\""), "{text}");
    assert!(text.contains("name=\"payments\""), "{text}");
}

#[test]
fn the_sweep_time_is_exported_with_its_bottleneck_and_the_budget_beside_it() {
    let metrics = Metrics::new(CallCounter::default());
    let sweep = |seconds, op: &str| crate::aws::budget::Sweep {
        time: std::time::Duration::from_secs(seconds),
        bottleneck: Some(op.into()),
    };
    metrics.set_sweep(
        &sweep(2000, "CloudWatchLogs.DescribeSubscriptionFilters"),
        0.25,
    );
    metrics.set_sweep(&sweep(400, "IAM.GetRole"), 0.25);
    assert_eq!(
        lines(&metrics, "pitagora_sweep_seconds"),
        ["pitagora_sweep_seconds{bottleneck=\"IAM.GetRole\"} 400.0"],
        "one series: the last estimate's"
    );
    assert_eq!(
        lines(&metrics, "pitagora_sweep_budget_ratio"),
        ["pitagora_sweep_budget_ratio 0.25"]
    );
}
