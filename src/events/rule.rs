//! What pitagora holds in each account and region it manages to hear of changes, as values: an
//! EventBridge rule on the default bus matching the watched calls ([`super::watched`]) and an
//! SQS queue it sends them to, encrypted, that only that rule may send to. IAM publishes its
//! events in `us-east-1` only, so every account it manages has them there too.

use super::watched::WATCHED;
use crate::arn::AwsTarget;
use crate::desired::Desired;
use crate::names::{MANAGED_BY_TAG, OWNER_TAG};
use crate::resources::Tags;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

pub use crate::names::EVENTS_NAME;
/// Where IAM, a global service, publishes its events.
pub const IAM_EVENTS_REGION: &str = "us-east-1";
/// What the owner tag says on the rule and the queue: they belong to no one pipeline.
pub const EVENTS_OWNER: &str = "pitagora/events";
/// How long an event waits in the queue: one controller outage's worth (a day); changes older
/// than that are the sweep's to find.
pub const RETENTION_S: u32 = 86_400;
/// How long a received message stays invisible to another receive before it is retried.
pub const VISIBILITY_S: u32 = 60;

/// The rule and the queue of one account and region.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventsSpec {
    /// The account and region.
    pub place: AwsTarget,
    /// The rule's name (the queue's too).
    pub name: String,
    /// The rule's ARN.
    pub rule_arn: String,
    /// The queue's ARN.
    pub queue_arn: String,
    /// The rule's event pattern.
    pub pattern: Value,
    /// The queue's attributes pitagora sets (its policy among them, as JSON text).
    pub queue_attributes: BTreeMap<String, String>,
    /// Tags on both.
    pub tags: Tags,
}

impl EventsSpec {
    /// The rule and queue of `place`.
    pub fn of(place: &AwsTarget) -> Self {
        let name = EVENTS_NAME.to_owned();
        let rule_arn = place.regional("events", &format!("rule/{name}"));
        let queue_arn = place.regional("sqs", &name);
        let policy = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "FromPitagoraEventsRule",
                "Effect": "Allow",
                "Principal": {"Service": "events.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}}
            }]
        });
        let queue_attributes = BTreeMap::from([
            ("Policy".to_owned(), policy.to_string()),
            ("SqsManagedSseEnabled".to_owned(), "true".to_owned()),
            ("MessageRetentionPeriod".to_owned(), RETENTION_S.to_string()),
            ("VisibilityTimeout".to_owned(), VISIBILITY_S.to_string()),
        ]);
        let tags = Tags::from([
            (OWNER_TAG.to_owned(), EVENTS_OWNER.to_owned()),
            (MANAGED_BY_TAG.0.to_owned(), MANAGED_BY_TAG.1.to_owned()),
        ]);
        Self {
            place: place.clone(),
            name,
            rule_arn,
            queue_arn,
            pattern: pattern(),
            queue_attributes,
            tags,
        }
    }

    /// The queue's URL, as SQS spells it for `endpoint` (`https://sqs.<region>.amazonaws.com`).
    pub fn queue_url(&self, endpoint: &str) -> String {
        format!(
            "{}/{}/{}",
            endpoint.trim_end_matches('/'),
            self.place.account_id,
            self.name
        )
    }
}

/// The pattern matching the watched calls: CloudTrail's API-call events of those services and
/// names. Lambda's versioned names are matched by prefix.
pub fn pattern() -> Value {
    let calls: BTreeSet<&str> = WATCHED
        .iter()
        .flat_map(|w| w.calls.iter().copied())
        .collect();
    let names: Vec<Value> = calls
        .into_iter()
        .map(|c| match c.strip_suffix('*') {
            Some(prefix) => json!({"prefix": prefix}),
            None => json!(c),
        })
        .collect();
    json!({
        "source": WATCHED.iter().map(|w| w.source).collect::<Vec<_>>(),
        "detail-type": [super::cloudtrail::API_CALL],
        "detail": {
            "eventSource": WATCHED.iter().map(|w| w.event_source).collect::<Vec<_>>(),
            "eventName": names
        }
    })
}

/// Every account and region whose changes concern `pipelines`: each pipeline's own, each remote
/// source's, and `us-east-1` of every account holding a pipeline's roles.
pub fn places<'a>(pipelines: impl IntoIterator<Item = &'a Desired>) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for d in pipelines {
        let home = &d.target;
        out.insert((home.account_id.clone(), home.region.clone()));
        out.insert((home.account_id.clone(), IAM_EVENTS_REGION.to_owned()));
        for r in &d.remote {
            out.insert((r.place.account_id.clone(), r.place.region.clone()));
        }
        for dest in &d.destinations {
            out.insert((home.account_id.clone(), dest.region.clone()));
        }
    }
    out
}
