//! Pipelines as the controller receives them: with a status written at a given time, for the
//! pure decision and scheduling tests.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use pitagora::spec::{LogPipeline, LogPipelineSpec, LogPipelineStatus};

/// `seconds` after a fixed instant.
pub fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_800_000_000 + seconds).unwrap()
}

/// `team-a/orders` at `generation`, with `status` (as the API server would hand it over).
pub fn pipeline(
    spec: LogPipelineSpec,
    generation: i64,
    status: Option<LogPipelineStatus>,
) -> LogPipeline {
    let mut lp = LogPipeline::new("orders", spec);
    lp.metadata.namespace = Some("team-a".into());
    lp.metadata.uid = Some("0b1c2d3e-uid".into());
    lp.metadata.generation = Some(generation);
    lp.status = status;
    lp
}

/// The status a check at `checked_at` wrote for generation 1, with `Ready`'s reason.
pub fn checked_status(checked_at: i64, ready_reason: &str) -> LogPipelineStatus {
    let condition = |type_: &str, status: &str, reason: &str| Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: String::new(),
        observed_generation: Some(1),
        last_transition_time: Time(at(checked_at)),
    };
    LogPipelineStatus {
        observed_generation: Some(1),
        conditions: vec![
            condition(
                "Ready",
                if ready_reason == "InSync" {
                    "True"
                } else {
                    "False"
                },
                ready_reason,
            ),
            condition("Synced", "True", "ReconcileSuccess"),
        ],
        last_check_time: Some(Time(at(checked_at))),
        ..LogPipelineStatus::default()
    }
}
