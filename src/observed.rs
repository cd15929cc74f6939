//! Observed state: what AWS holds for one pipeline, as plain values. The [`crate::read`] stage
//! fills it from AWS; tests and the in-memory model build it by hand. `None` means "does not
//! exist".

use crate::resources::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Everything the plan needs to know about AWS for one pipeline.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Observed {
    /// The CloudFormation stack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<ObservedStack>,
    /// The Firehose error-logging log group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_log_group: Option<ObservedLogGroup>,
    /// pitagora's canary log group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_log_group: Option<ObservedLogGroup>,
    /// The routes' log groups that exist, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub route_log_groups: BTreeMap<String, ObservedLogGroup>,
    /// The delivery stream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<ObservedStream>,
    /// Every log group the read looked at (the exact sources, those matching a prefix, and any
    /// that carried this pipeline's filter before), with all their subscription filters.
    #[serde(default)]
    pub log_groups: BTreeMap<String, Vec<SubscriptionFilter>>,
    /// The pipeline's CloudWatch Logs destinations that exist (those of its remote sources'
    /// regions), by region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub destinations: BTreeMap<String, ObservedDestination>,
    /// Per remote source (`<account>/<region>`), every log group read there with all its
    /// subscription filters.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remote: BTreeMap<String, RemoteGroups>,
    /// The remote sources' canary log groups that exist, by `<account>/<region>:<group>`: each
    /// declared place's, and those of places no longer declared that the read was told of (the
    /// hints, or what it discovered).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub remote_canary_log_groups: BTreeMap<String, ObservedLogGroup>,
    /// The bucket's shared configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bucket: Option<ObservedBucket>,
    /// The fan-out topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<ObservedTopic>,
    /// The stack's IAM roles that exist, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub roles: BTreeMap<String, RoleConfig>,
    /// The resource-policy statements of each Lambda function pitagora wires in, by the
    /// function's ARN as the spec names it (none: no policy, or no such function).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub functions: BTreeMap<String, Vec<LambdaPermission>>,
    /// How many subscription filters a log group may hold, as far as AWS has shown.
    #[serde(default)]
    pub filter_limit: FilterLimit,
}

impl Observed {
    /// The log groups that carry the subscription filter named `filter` now, by name: a
    /// pipeline's sources, whose metrics its loss signals read.
    pub fn groups_with_filter(&self, filter: &str) -> Vec<String> {
        self.log_groups
            .iter()
            .filter(|(_, filters)| filters.iter().any(|f| f.name == filter))
            .map(|(group, _)| group.clone())
            .collect()
    }

    /// The groups that carry `d`'s subscription filter now, in its own account and region and
    /// in each of its remote sources' places: every source whose metrics its loss signals read.
    pub fn signal_sources(&self, d: &crate::desired::Desired) -> crate::delivery::signals::Sources {
        let filter = &d.filters.filter.name;
        let carrying = |groups: &RemoteGroups| -> Vec<String> {
            groups
                .iter()
                .filter(|(_, filters)| filters.iter().any(|f| &f.name == filter))
                .map(|(group, _)| group.clone())
                .collect()
        };
        let remote = d
            .remote
            .iter()
            .filter_map(|r| Some((r.place.clone(), carrying(self.remote.get(&r.key())?))))
            .filter(|(_, groups)| !groups.is_empty())
            .collect();
        crate::delivery::signals::Sources {
            home: self.groups_with_filter(filter),
            remote,
        }
    }
}

/// A CloudWatch Logs destination as described by AWS, with its tags (whose owner tag says whose
/// it is: `PutDestination` sets them when it creates one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedDestination {
    /// Its settings.
    #[serde(flatten)]
    pub destination: Destination,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

/// The log groups read in one remote source's account and region, by name, with all their
/// subscription filters.
pub type RemoteGroups = BTreeMap<String, Vec<SubscriptionFilter>>;

/// A CloudFormation stack as described by AWS.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedStack {
    /// `StackStatus`, e.g. `CREATE_COMPLETE`.
    pub status: String,
    /// `StackStatusReason`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The template body, parsed; `None` when it is not JSON (someone replaced it by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<serde_json::Value>,
    /// Stack tags.
    #[serde(default)]
    pub tags: Tags,
    /// Stack outputs by key.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

/// A log group's settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedLogGroup {
    /// `retentionInDays`; `None` = never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<i32>,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

/// A delivery stream as described by AWS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedStream {
    /// `DeliveryStreamStatus`, e.g. `ACTIVE`.
    pub status: String,
    /// The extended S3 destination; `None` when the stream delivers elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<S3Destination>,
    /// Tags.
    #[serde(default)]
    pub tags: Tags,
}

/// The parts of a bucket's configuration that several owners share.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedBucket {
    /// Every notification entry (Lambda, topic and queue), this pipeline's and others'.
    #[serde(default)]
    pub notifications: Vec<Notification>,
    /// Every lifecycle rule, this pipeline's and others'.
    #[serde(default)]
    pub lifecycle: Vec<LifecycleRule>,
    /// Public access block, default encryption, ownership controls.
    #[serde(default)]
    pub access: BucketAccess,
    /// The bucket policy, parsed (`None`: the bucket has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<serde_json::Value>,
    /// The bucket's tags, read only when the pipeline's stack holds no bucket (it is absent or
    /// must be recreated): whether the bucket holding the name is the one the pipeline's deleted
    /// stack retained, or someone else's. `None`: not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// The fan-out topic's subscriptions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedTopic {
    /// Every subscription, with its ARN.
    #[serde(default)]
    pub subscriptions: Vec<ObservedSubscription>,
    /// The topic's `Policy` attribute, parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<serde_json::Value>,
    /// The topic's `KmsMasterKeyId` attribute; `None` when unencrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key: Option<String>,
    /// The topic's tags, read only while the stack does not hold the topic: SNS creates a topic
    /// idempotently, so CloudFormation would take over one of that name that exists, and
    /// ownership is judged before it does. `None`: not read (the stack holds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Tags>,
}

/// One subscription with its ARN.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedSubscription {
    /// `SubscriptionArn`.
    pub arn: String,
    /// Its settings.
    #[serde(flatten)]
    pub subscription: TopicSubscription,
}

/// CloudWatch Logs' documented number of subscription filters per log group (its
/// `PutAccountPolicy` reference, 2026: five, plus one account-level policy; older pages and moto
/// say two). Only a starting point: an answer of AWS replaces it (see [`FilterLimit`]).
pub const DOCUMENTED_FILTERS_PER_LOG_GROUP: usize = 5;

/// How many subscription filters one log group may hold, and what says so. AWS publishes no
/// call that tells it, so pitagora starts from a default (the documented figure, or the one
/// configured) and lets AWS correct it: a `LimitExceededException` of `PutSubscriptionFilter`
/// on a group holding `n` filters sets it to `n`; a group seen holding more than the figure
/// raises it to that count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterLimit {
    /// Filters per log group.
    pub per_group: usize,
    /// Where the figure comes from.
    pub source: FilterLimitSource,
}

/// Where a [`FilterLimit`] comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "from")]
pub enum FilterLimitSource {
    /// The documented or configured figure; AWS has not contradicted it yet.
    Default,
    /// AWS refused one more filter on this log group (`LimitExceededException`).
    #[serde(rename_all = "camelCase")]
    Refused {
        /// The log group.
        log_group: String,
    },
    /// This log group was seen holding that many filters: AWS allows at least as many.
    #[serde(rename_all = "camelCase")]
    Seen {
        /// The log group.
        log_group: String,
    },
}

impl Default for FilterLimit {
    fn default() -> Self {
        Self::configured(DOCUMENTED_FILTERS_PER_LOG_GROUP)
    }
}

impl FilterLimit {
    /// A figure no answer of AWS has confirmed yet.
    pub fn configured(per_group: usize) -> Self {
        Self {
            per_group,
            source: FilterLimitSource::Default,
        }
    }

    /// The limit AWS showed by refusing a filter on `log_group` while it held `held` filters.
    pub fn refused(log_group: &str, held: usize) -> Self {
        Self {
            per_group: held,
            source: FilterLimitSource::Refused {
                log_group: log_group.to_owned(),
            },
        }
    }

    /// This limit, raised to the count of the fullest of `groups` when that is higher: AWS let
    /// that group hold them all.
    pub fn raised_by<'a, I>(self, groups: I) -> Self
    where
        I: IntoIterator<Item = (&'a String, &'a Vec<SubscriptionFilter>)>,
    {
        let fullest = groups.into_iter().max_by_key(|(_, filters)| filters.len());
        match fullest {
            Some((group, filters)) if filters.len() > self.per_group => Self {
                per_group: filters.len(),
                source: FilterLimitSource::Seen {
                    log_group: group.clone(),
                },
            },
            _ => self,
        }
    }

    /// The figure and where it comes from, in words.
    pub fn origin(&self) -> String {
        let n = self.per_group;
        match &self.source {
            FilterLimitSource::Default => format!(
                "{n} per group, pitagora's starting figure (CloudWatch Logs' documented limit unless configured) until AWS refuses a filter"
            ),
            FilterLimitSource::Refused { log_group } => {
                format!("{n} per group, as AWS answered (LimitExceededException) on {log_group}")
            }
            FilterLimitSource::Seen { log_group } => {
                format!("at least {n} per group: {log_group} holds that many")
            }
        }
    }
}

/// What one account and region holds of pitagora's change events: the rule and the queue.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedEvents {
    /// The EventBridge rule, when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<ObservedRule>,
    /// The SQS queue, when it exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<ObservedQueue>,
}

/// An EventBridge rule as read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedRule {
    /// Its event pattern, parsed (a pattern that is not JSON is kept as a string).
    pub pattern: Option<serde_json::Value>,
    /// `ENABLED`, `DISABLED`, ...
    pub state: String,
    /// Its targets: id → ARN.
    pub targets: BTreeMap<String, String>,
    /// Its tags.
    pub tags: Tags,
}

/// An SQS queue as read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedQueue {
    /// Its URL.
    pub url: String,
    /// Its attributes (all of them, as SQS spells them).
    pub attributes: BTreeMap<String, String>,
    /// Its tags.
    pub tags: Tags,
}
