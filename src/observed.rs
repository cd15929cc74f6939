//! Observed state: what AWS holds for one pipeline, as plain values. The `observe` stage fills it
//! from AWS; tests and the in-memory model build it by hand. `None` means "does not exist".

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
    /// Every log group observe looked at (the exact sources, those matching a prefix, and any
    /// that carried this pipeline's filter before), with all their subscription filters.
    #[serde(default)]
    pub log_groups: BTreeMap<String, Vec<SubscriptionFilter>>,
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
}

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
