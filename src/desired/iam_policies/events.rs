//! The controller's statement for changes as events.

use super::{Scope, statement};
use crate::names::EVENTS_NAME;
use serde_json::Value;

/// Changes as events (`--events`): the rule and the queue named [`EVENTS_NAME`] in any region
/// of the account, set up, read and drained; nothing else of EventBridge or SQS.
pub(super) fn engine_events(s: &Scope) -> Value {
    statement(
        "EngineEvents",
        &[
            "events:DescribeRule",
            "events:ListTagsForResource",
            "events:ListTargetsByRule",
            "events:PutRule",
            "events:PutTargets",
            "events:RemoveTargets",
            "events:TagResource",
            "sqs:CreateQueue",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ListQueueTags",
            "sqs:ReceiveMessage",
            "sqs:SetQueueAttributes",
            "sqs:TagQueue",
        ],
        vec![
            s.arn("events", "*", &format!("rule/{EVENTS_NAME}")),
            s.arn("sqs", "*", EVENTS_NAME),
        ],
    )
}
