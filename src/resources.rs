//! Plain values for the AWS resources pitagora manages through their own APIs. Desired and
//! observed state use the same shapes, so the plan compares them field by field.
//!
//! Values are stored in the form AWS normalises to (the plan normalises what it compares), and
//! only the fields pitagora manages are modelled: an observed resource maps AWS's answer onto
//! these fields and ignores the rest.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Resource tags.
pub type Tags = BTreeMap<String, String>;

/// Declares [`ResourceKind`] from one table, so that the enum, [`ResourceKind::ALL`], the
/// names ([`ResourceKind::as_str`], `FromStr`, serde, the JSON schema and the CRD's enums) and
/// the apply order cannot disagree. A row is `Kind: removed N,`: the rows' order is the order
/// creations and updates are applied in (dependency order); `N` is the kind's step when
/// removals are applied, before any creation (0 first: the reverse dependency order).
macro_rules! resource_kinds {
    ($($(#[doc = $doc:literal])* $kind:ident: removed $removal:literal,)*) => {
        /// Kinds of resources a pipeline consists of, in dependency order.
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
            JsonSchema,
        )]
        pub enum ResourceKind {
            $($(#[doc = $doc])* $kind,)*
        }

        impl ResourceKind {
            /// Every kind, in dependency order.
            pub const ALL: [ResourceKind; [$(stringify!($kind)),*].len()] =
                [$(ResourceKind::$kind),*];

            /// Every kind's name, in dependency order.
            pub const NAMES: [&'static str; Self::ALL.len()] = [$(stringify!($kind)),*];

            /// Stable name, used in reports, status and metrics labels.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ResourceKind::$kind => stringify!($kind),)*
                }
            }

            /// The kind's step among removals, which are applied first, in reverse dependency
            /// order (0 first).
            pub fn removal_step(self) -> u8 {
                match self {
                    $(ResourceKind::$kind => $removal,)*
                }
            }

            /// The kind's step among creations and updates, which are applied after every
            /// removal, in dependency order (0 first): its row in the table.
            pub fn apply_step(self) -> u8 {
                self as u8
            }
        }
    };
}

resource_kinds! {
    /// The CloudFormation stack with the static wiring (bucket, topic, roles, permissions).
    Stack: removed 7,
    /// The stack's bucket, live: its public access block, default encryption and ownership
    /// controls.
    BucketAccess: removed 7,
    /// The stack's bucket policy, live: pitagora's statements (others' are kept).
    BucketPolicy: removed 7,
    /// One of the stack's IAM roles, live: trust policy, inline and attached policies.
    Role: removed 7,
    /// The stack's topic policy, live.
    TopicPolicy: removed 7,
    /// The stack's topic encryption key (`KmsMasterKeyId`), live, when the spec names one.
    TopicEncryption: removed 7,
    /// pitagora's statement in a Lambda function's resource policy (the function is the user's).
    LambdaPermission: removed 4,
    /// The log group Firehose reports delivery errors to.
    ErrorLogGroup: removed 6,
    /// pitagora's own log group that the delivery canary is written to (a source of the
    /// pipeline, with its filter; never an application's).
    CanaryLogGroup: removed 6,
    /// The canary log group of a remote source (`spec.sources.remote`), in its account and
    /// region: created and kept as the pipeline's own canary group is, a source of that remote
    /// source's filter, so that a canary proves each path on its own.
    RemoteCanaryLogGroup: removed 6,
    /// The log group a fluentd route writes into (`spec.legacy.fluentd.routes[].logGroup`), a
    /// source of the pipeline: created with its retention and tags when it does not exist, kept
    /// so while it carries this pipeline's tag, never deleted; one that exists otherwise is its
    /// owner's and left alone.
    // Never deleted; its step is the other log groups'.
    RouteLogGroup: removed 6,
    /// The Firehose delivery stream.
    DeliveryStream: removed 5,
    /// A CloudWatch Logs destination in the pipeline's account, one per remote source region
    /// (`spec.sources.remote`): its target (the stream), its role and its access policy (the
    /// source accounts that may subscribe), live. Removed after the remote filters that deliver
    /// through it, before the stream it targets.
    Destination: removed 1,
    /// This pipeline's entries in the bucket's notification configuration.
    BucketNotification: removed 3,
    /// This pipeline's rule in the bucket's lifecycle configuration.
    BucketLifecycle: removed 2,
    /// A Lambda subscription of the fan-out topic.
    TopicSubscription: removed 1,
    /// A source log group (exists or not; pitagora never creates or deletes it, unless it is a
    /// route's, [`ResourceKind::RouteLogGroup`]).
    LogGroup: removed 0,
    /// The subscription filter on one source log group.
    SubscriptionFilter: removed 0,
    /// The subscription filter on one log group of a remote source (`spec.sources.remote`), in
    /// its account and region, delivering through that region's [`ResourceKind::Destination`];
    /// named `<account>/<region>:<log group>`.
    RemoteSubscriptionFilter: removed 0,
    /// This pipeline's key in the fluentd ConfigMap (`spec.legacy.fluentd.config`): the routes
    /// at their stages in effect. A cluster resource, written by the controller.
    // Never in an AWS plan's removals; its step is the filters'.
    FluentdRoutes: removed 0,
}

impl fmt::Display for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not a resource kind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown resource kind {0:?}")]
pub struct UnknownKind(pub String);

impl FromStr for ResourceKind {
    type Err = UnknownKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ResourceKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownKind(s.to_owned()))
    }
}

impl PartialEq<&str> for ResourceKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// Firehose buffering hints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BufferingHints {
    /// `SizeInMBs`.
    pub size_mib: i32,
    /// `IntervalInSeconds`.
    pub interval_seconds: i32,
}

/// One Firehose record processor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Processor {
    /// `Type`, e.g. `Decompression`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `Parameters` by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

impl Processor {
    /// A processor of `kind` with `parameters`.
    pub fn new(kind: &str, parameters: &[(&str, &str)]) -> Self {
        Self {
            kind: kind.to_owned(),
            parameters: parameters
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
}

/// Firehose error logging to CloudWatch Logs.
#[derive(Clone, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloudWatchLogging {
    /// `Enabled`.
    pub enabled: bool,
    /// `LogGroupName`.
    pub log_group: String,
    /// `LogStreamName`.
    pub log_stream: String,
}

/// The managed part of a Firehose `ExtendedS3DestinationConfiguration`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Destination {
    /// `BucketARN`.
    pub bucket_arn: String,
    /// `RoleARN`.
    pub role_arn: String,
    /// `Prefix`.
    pub prefix: String,
    /// `ErrorOutputPrefix`.
    pub error_output_prefix: String,
    /// `BufferingHints`.
    pub buffering: BufferingHints,
    /// `CompressionFormat` (AWS value).
    pub compression: String,
    /// `EncryptionConfiguration.KMSEncryptionConfig.AWSKMSKeyARN`; `None` = `NoEncryption` (the
    /// bucket's default encryption applies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_arn: Option<String>,
    /// `ProcessingConfiguration.Enabled`.
    pub processing_enabled: bool,
    /// `ProcessingConfiguration.Processors`, in order (order matters).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub processors: Vec<Processor>,
    /// `CloudWatchLoggingOptions`.
    pub cloudwatch_logging: CloudWatchLogging,
}

/// A subscription filter on a log group.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionFilter {
    /// `filterName`.
    pub name: String,
    /// `filterPattern` (empty: every event).
    pub pattern: String,
    /// `destinationArn`.
    pub destination_arn: String,
    /// `roleArn`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// `distribution`: `ByLogStream` or `Random`.
    pub distribution: String,
}

/// A CloudWatch Logs destination: what a subscription filter in another account or region
/// delivers through.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    /// `destinationName`.
    pub name: String,
    /// `targetArn`: where the events go (the pipeline's stream).
    pub target_arn: String,
    /// `roleArn`: the role CloudWatch Logs assumes to put them there.
    pub role_arn: String,
    /// `accessPolicy`, parsed; `None`: the destination has none (no other account may
    /// subscribe).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_policy: Option<serde_json::Value>,
}

/// Where a bucket notification goes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "type", content = "arn")]
pub enum NotificationTarget {
    /// A Lambda function.
    Lambda(String),
    /// An SNS topic.
    Topic(String),
    /// An SQS queue (only ever someone else's).
    Queue(String),
}

/// One entry of a bucket's notification configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// `Id`; pitagora's entries use ids derived from the pipeline's names.
    pub id: String,
    /// Destination.
    pub target: NotificationTarget,
    /// Event types, sorted, e.g. `s3:ObjectCreated:*`.
    pub events: Vec<String>,
    /// Key prefix filter (empty: none).
    #[serde(default)]
    pub prefix: String,
    /// Key suffix filter (empty: none).
    #[serde(default)]
    pub suffix: String,
}

/// A lifecycle rule's transition.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleTransition {
    /// Days after creation.
    pub days: i32,
    /// Storage class (AWS value).
    pub storage_class: String,
}

/// One lifecycle rule of a bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleRule {
    /// `ID`.
    pub id: String,
    /// Key prefix the rule applies to (empty: the whole bucket).
    #[serde(default)]
    pub prefix: String,
    /// `Status == Enabled`.
    pub enabled: bool,
    /// `Expiration.Days`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration_days: Option<i32>,
    /// `NoncurrentVersionExpiration.NoncurrentDays` (a versioned bucket's kept versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_days: Option<i32>,
    /// `Transitions`, sorted by days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitions: Vec<LifecycleTransition>,
}

/// A subscription of the fan-out topic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSubscription {
    /// `Protocol`, e.g. `lambda`.
    pub protocol: String,
    /// `Endpoint`: the function ARN for `lambda`.
    pub endpoint: String,
    /// `FilterPolicy`, parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_policy: Option<serde_json::Value>,
    /// `FilterPolicyScope`; `None` means `MessageAttributes` (AWS's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_policy_scope: Option<String>,
}

/// A bucket's public access block: the four flags of `PublicAccessBlockConfiguration`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PublicAccessBlock {
    /// `BlockPublicAcls`.
    pub block_public_acls: bool,
    /// `BlockPublicPolicy`.
    pub block_public_policy: bool,
    /// `IgnorePublicAcls`.
    pub ignore_public_acls: bool,
    /// `RestrictPublicBuckets`.
    pub restrict_public_buckets: bool,
}

/// One rule of a bucket's default encryption (`ServerSideEncryptionByDefault`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionRule {
    /// `SSEAlgorithm`, e.g. `AES256` or `aws:kms`.
    #[serde(rename = "SSEAlgorithm")]
    pub algorithm: String,
    /// `KMSMasterKeyID`, with `aws:kms`.
    #[serde(
        rename = "KMSMasterKeyID",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub kms_key_id: Option<String>,
}

/// The bucket settings the stack's template declares, as S3 holds them; each `None` when the
/// bucket has none (S3 answers "not found" for an unset group).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketAccess {
    /// `PublicAccessBlockConfiguration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_access_block: Option<PublicAccessBlock>,
    /// `BucketEncryption.ServerSideEncryptionConfiguration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<Vec<EncryptionRule>>,
    /// `OwnershipControls.Rules[0].ObjectOwnership`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_ownership: Option<String>,
    /// `VersioningConfiguration.Status` (`Enabled`); read only when the template declares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<String>,
    /// `LoggingConfiguration` (server access logs); read only when the template declares it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<BucketLogging>,
}

/// Where S3 delivers a bucket's server access logs, named as the template names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketLogging {
    /// `DestinationBucketName` (the API's `TargetBucket`).
    pub destination_bucket_name: String,
    /// `LogFilePrefix` (the API's `TargetPrefix`).
    #[serde(default)]
    pub log_file_prefix: String,
}

impl BucketLogging {
    /// The bucket's `LoggingConfiguration` property, if a template declares one.
    pub fn from_template(properties: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(properties.get("LoggingConfiguration")?.clone()).ok()
    }
}

/// An IAM role's policies, as IAM holds them. Policy documents are JSON values; one IAM
/// returned that is not JSON is kept as the string it returned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleConfig {
    /// `Path`.
    pub path: String,
    /// `AssumeRolePolicyDocument`.
    pub trust: serde_json::Value,
    /// Inline policies by name (`Policies`).
    #[serde(default)]
    pub inline: BTreeMap<String, serde_json::Value>,
    /// Attached managed policies' ARNs (`ManagedPolicyArns`), sorted.
    #[serde(default)]
    pub attached: Vec<String>,
    /// The permissions boundary's ARN (`PermissionsBoundary`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boundary: Option<String>,
}

/// One statement of a Lambda function's resource policy, in the terms of `AddPermission`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaPermission {
    /// `StatementId` (`Sid`).
    pub statement_id: String,
    /// `Action`, e.g. `lambda:InvokeFunction`.
    pub action: String,
    /// `Principal`: the service, e.g. `s3.amazonaws.com`, or an account.
    pub principal: String,
    /// `SourceArn` (the `ArnLike aws:SourceArn` condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
    /// `SourceAccount` (the `StringEquals aws:SourceAccount` condition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_account: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_one_name_in_as_str_serde_and_from_str() {
        for (kind, name) in ResourceKind::ALL.into_iter().zip(ResourceKind::NAMES) {
            assert_eq!(kind.as_str(), name);
            assert_eq!(serde_json::to_value(kind).unwrap(), name);
            assert_eq!(name.parse::<ResourceKind>(), Ok(kind));
        }
    }
}
