//! The fan-out topic and its Lambda subscriptions.

use super::Pipeline;
use crate::resources::TopicSubscription;
use serde::Serialize;

/// The fan-out topic.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Topic ARN.
    pub arn: String,
    /// Lambda subscriptions, one per subscriber, keyed by subscriber name.
    pub subscriptions: Vec<(String, TopicSubscription)>,
}

/// The topic of `p`, when it fans out.
pub(super) fn build(p: &Pipeline) -> Option<TopicSpec> {
    let fanout = p.spec().fanout.as_ref()?;
    let name = p.names().topic.clone();
    Some(TopicSpec {
        arn: p.target().topic_arn(&name),
        name,
        // Before `Primary` the aggregator still serves the consumers: subscribing them now would
        // deliver everything twice.
        subscriptions: fanout
            .subscribers
            .iter()
            .filter(|_| p.stages().pipeline.subscribers_on())
            .map(|s| {
                let subscription = TopicSubscription {
                    protocol: "lambda".to_owned(),
                    endpoint: crate::arn::normalize(&s.lambda_arn),
                    filter_policy: s.filter_policy.clone(),
                    // S3 event notifications carry no message attributes: a policy can only
                    // ever match the message body.
                    filter_policy_scope: s.filter_policy.as_ref().map(|_| "MessageBody".to_owned()),
                };
                (s.name.clone(), subscription)
            })
            .collect(),
    })
}
