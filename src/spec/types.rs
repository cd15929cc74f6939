//! The `LogPipeline` API (`pitagora.dev/v1alpha1`).
//!
//! Doc comments on these types become the CRD's descriptions (`kubectl explain`). Every constraint
//! that OpenAPI can express lives here as a schema attribute; the rest is in [`super::validate`].
//! Serde defaults and schema defaults come from the same functions, so a document read from a file
//! and the same document stored by the API server resolve to the same spec.

// kube's `printcolumn(...)` repeats `type_ = ...` per column, which clippy mistakes for a
// duplicated attribute.
#![allow(clippy::duplicated_attributes)]

use super::legacy::{Cutover, Legacy};
use super::status::LogPipelineStatus;
use kube::CustomResource;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

pub use super::delivery::*;
pub use super::patterns::*;

/// A serverless log pipeline: CloudWatch Logs subscription filters → Kinesis Data Firehose → S3,
/// with an optional Lambda transform stage and an optional SNS fan-out to Lambda subscribers.
/// pitagora creates these AWS resources, keeps them as declared and reports or corrects drift.
#[derive(CustomResource, Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[kube(
    group = "pitagora.dev",
    version = "v1alpha1",
    kind = "LogPipeline",
    plural = "logpipelines",
    namespaced,
    shortname = "lp",
    category = "pitagora",
    status = "LogPipelineStatus",
    printcolumn(name = "Stage", type_ = "string", json_path = ".status.stage"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Delivering",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Delivering\")].status"
    ),
    printcolumn(name = "Drift", type_ = "integer", json_path = ".status.driftCount"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Latency-ms",
        type_ = "integer",
        json_path = ".status.delivery.canary.stages[0].latencyMs",
        description = "The last canary's time to the raw objects in S3",
        priority = "1"
    ),
    printcolumn(
        name = "Last-Delivered",
        type_ = "date",
        json_path = ".status.delivery.lastDeliveredTime",
        priority = "1"
    ),
    printcolumn(
        name = "Failing-Link",
        type_ = "string",
        json_path = ".status.delivery.failingStage",
        priority = "1"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].status",
        priority = "1"
    ),
    doc = "A serverless log pipeline: CloudWatch Logs → Kinesis Data Firehose → S3 (→ Lambda transform) (→ SNS fan-out to Lambda subscribers), built and guarded by pitagora."
)]
#[serde(rename_all = "camelCase")]
pub struct LogPipelineSpec {
    /// AWS region of every resource of this pipeline, e.g. `eu-west-1`. Default: the controller's
    /// region (from its AWS configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = REGION_PATTERN))]
    pub region: Option<String>,

    /// Which CloudWatch Logs log groups feed this pipeline. At least one exact name, prefix or
    /// remote source.
    pub sources: Sources,

    /// How Kinesis Data Firehose delivers to S3: buffering, compression and record format.
    #[serde(default)]
    pub delivery: Delivery,

    /// The S3 bucket that receives the logs: name, retention and what happens on deletion.
    #[serde(default)]
    pub storage: Storage,

    /// Optional S3 → Lambda → S3 stage: a Lambda function that you own is invoked for each object
    /// written under the raw prefix and writes its result under `outputPrefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<Transform>,

    /// Optional SNS fan-out: an SNS topic notified of every object written under the processed
    /// prefix (or the raw prefix when there is no transform), with Lambda subscribers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fanout: Option<Fanout>,

    /// The legacy fluentd path this pipeline replaces. While it is set, both paths can run side by
    /// side and `cutover.stage` decides which one is authoritative.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy: Option<Legacy>,

    /// The migration from the legacy path to this pipeline.
    #[serde(default)]
    pub cutover: Cutover,

    /// How drift between this spec and AWS is handled.
    #[serde(default)]
    pub drift: DriftSettings,

    /// Adopt same-named AWS resources that carry no pitagora ownership tag (for example a stream
    /// created by hand before this pipeline existed). Resources tagged for another pipeline are
    /// never adopted. Default: false.
    #[serde(default)]
    pub adopt_existing: bool,

    /// Consent to a change that would lose logs or delivery; without it such a change is
    /// refused with its reason and nothing is written. Each names what it gives up, so it cannot
    /// approve a later, different loss by accident.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge: Option<Acknowledge>,
}

/// Object versioning of the bucket.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Versioning {
    /// Days a version is kept after a newer one replaced it or the object was deleted.
    #[serde(default = "default_noncurrent_days")]
    #[schemars(range(min = 1, max = 3650))]
    pub noncurrent_days: i32,
}

fn default_noncurrent_days() -> i32 {
    30
}

/// Where S3 delivers the bucket's server access logs.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AccessLogging {
    /// The bucket S3 writes the logs into: yours, in the pipeline's region and account, never
    /// the pipeline's own bucket (its logs would be requests to log, without end).
    #[schemars(length(min = 3, max = 63), regex(pattern = BUCKET_NAME_PATTERN))]
    pub bucket: String,
    /// Key prefix of the logs. Default: the pipeline's bucket name and `/`, so that several
    /// pipelines can share one log bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 1024))]
    pub prefix: Option<String>,
}

/// What a destructive change gives up, named.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Acknowledge {
    /// The bucket, holding objects, that a new bucket name leaves behind (it is retained, but
    /// logs stop going there and pitagora stops managing it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 63))]
    pub replace_bucket: Option<String>,
    /// The bucket whose objects deleting the pipeline with `storage.deletionPolicy: Delete`
    /// removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 63))]
    pub delete_objects: Option<String>,
    /// A change after which no log group feeds the stream while the legacy path is gone.
    #[serde(default)]
    pub stop_delivery: bool,
}

/// The log groups a pipeline subscribes to.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("anyOf" = [{"required": ["logGroups"]}, {"required": ["logGroupPrefixes"]}, {"required": ["remote"]}]))]
pub struct Sources {
    /// Exact log group names, e.g. `/ecs/orders`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 200), inner(length(min = 1, max = 512), regex(pattern = LOG_GROUP_NAME_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub log_groups: Vec<String>,

    /// Log group name prefixes: every current *and future* log group whose name starts with one of
    /// them is subscribed, e.g. `/ecs/` for all ECS services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 20), inner(length(min = 1, max = 512), regex(pattern = LOG_GROUP_NAME_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub log_group_prefixes: Vec<String>,

    /// CloudWatch Logs filter pattern selecting which events are forwarded. Default: empty, which
    /// forwards every event.
    #[serde(default)]
    #[schemars(length(max = 1024))]
    pub filter_pattern: String,

    /// How CloudWatch Logs distributes events to the stream. Default: `ByLogStream`.
    #[serde(default)]
    pub distribution: Distribution,

    /// Log groups in other AWS accounts or regions than the pipeline's, one entry per account
    /// and region, with the same `filterPattern` and `distribution`. CloudWatch Logs delivers
    /// them through a CloudWatch Logs destination that pitagora creates in the pipeline's
    /// account, one per source region, whose policy allows exactly the accounts listed for that
    /// region. At most 20 entries: the pipeline's logs role must trust CloudWatch Logs on behalf
    /// of every source account and region, and its trust policy has to fit IAM's 2048-character
    /// limit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 20))]
    pub remote: Vec<RemoteSource>,
}

/// Log groups in another account or region than the pipeline's.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("anyOf" = [{"required": ["logGroups"]}, {"required": ["logGroupPrefixes"]}]))]
pub struct RemoteSource {
    /// The account that holds the log groups (12 digits). Default: the pipeline's account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = ACCOUNT_ID_PATTERN))]
    pub account: Option<String>,

    /// The region of the log groups, e.g. `us-east-1`, in the pipeline's partition. Default:
    /// the pipeline's region. An entry names the account, the region or both, and never the
    /// pipeline's own account and region together (those groups go in `logGroups` and
    /// `logGroupPrefixes` above).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = REGION_PATTERN))]
    pub region: Option<String>,

    /// Exact log group names in that account and region, e.g. `/ecs/orders`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 200), inner(length(min = 1, max = 512), regex(pattern = LOG_GROUP_NAME_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub log_groups: Vec<String>,

    /// Log group name prefixes in that account and region: every current and future log group
    /// whose name starts with one of them is subscribed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 20), inner(length(min = 1, max = 512), regex(pattern = LOG_GROUP_NAME_PATTERN)))]
    #[schemars(extend("x-kubernetes-list-type" = "set"))]
    pub log_group_prefixes: Vec<String>,
}

/// Subscription filter distribution.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// Events of one log stream stay together (AWS's default).
    #[default]
    ByLogStream,
    /// Events are spread randomly.
    Random,
}

/// The bucket that receives the logs.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// Bucket name. Default: derived from the namespace and name with a short stable hash that keeps
    /// it globally unique. S3 rules apply: 3–63 characters, lowercase letters, digits and hyphens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 63), regex(pattern = BUCKET_NAME_PATTERN))]
    pub bucket_name: Option<String>,

    /// Delete objects this many days after they were written. Default: keep them forever.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 36500))]
    pub retention_days: Option<i32>,

    /// Move objects to an archive storage class after some days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transition: Option<Transition>,

    /// What happens to the bucket when the pipeline is deleted: `Retain` (default) keeps it and its
    /// objects; `Delete` removes it with everything in it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Keep earlier versions of objects after they are overwritten or deleted, for
    /// `noncurrentDays` (default 30): S3 versioning, with a lifecycle rule expiring the kept
    /// versions. Default: off — Firehose writes every object once under a new key, so versions
    /// guard only against deletion (by hand, or by a misconfigured lifecycle), and each kept
    /// version is paid for until it expires. Removing it later suspends nothing: S3 cannot
    /// un-version a bucket, and pitagora leaves its versioning as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<Versioning>,

    /// Record every request made to the bucket as S3 server access logs, delivered by S3 into
    /// another bucket of yours. Default: off — every object Firehose writes is a request too, so
    /// the logs grow with the pipeline, and the target bucket must first grant S3's logging
    /// service (`logging.s3.amazonaws.com`) `s3:PutObject` in its policy; CloudTrail data events
    /// are the alternative where an organisation already collects them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_logging: Option<AccessLogging>,

    /// Who else may hold statements in the bucket policy: `Shared` (default) keeps other owners'
    /// statements and lists them in reports; `Exclusive` makes the policy pitagora's alone, so
    /// any other statement is drift and is removed.
    #[serde(default)]
    pub bucket_policy: BucketPolicyMode,
}

/// Whether the bucket policy is shared with other owners.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum BucketPolicyMode {
    /// pitagora's statements are kept as declared; other statements are left alone.
    #[default]
    Shared,
    /// Only pitagora's statements may be in the policy.
    Exclusive,
}

/// A lifecycle transition to an archive storage class.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Transition {
    /// Days after creation when objects move to `storageClass`.
    #[schemars(range(min = 0, max = 36500))]
    pub after_days: i32,
    /// Target storage class.
    pub storage_class: ArchiveClass,
}

/// S3 storage classes a lifecycle rule can transition to (AWS values).
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum ArchiveClass {
    /// S3 Standard-Infrequent Access (at least 30 days after creation).
    #[serde(rename = "STANDARD_IA")]
    StandardIa,
    /// S3 One Zone-Infrequent Access (at least 30 days after creation).
    #[serde(rename = "ONEZONE_IA")]
    OnezoneIa,
    /// S3 Intelligent-Tiering.
    #[serde(rename = "INTELLIGENT_TIERING")]
    IntelligentTiering,
    /// S3 Glacier Instant Retrieval.
    #[serde(rename = "GLACIER_IR")]
    GlacierIr,
    /// S3 Glacier Flexible Retrieval.
    #[serde(rename = "GLACIER")]
    Glacier,
    /// S3 Glacier Deep Archive.
    #[serde(rename = "DEEP_ARCHIVE")]
    DeepArchive,
}

impl ArchiveClass {
    /// The value AWS uses.
    pub fn as_aws_str(self) -> &'static str {
        match self {
            ArchiveClass::StandardIa => "STANDARD_IA",
            ArchiveClass::OnezoneIa => "ONEZONE_IA",
            ArchiveClass::IntelligentTiering => "INTELLIGENT_TIERING",
            ArchiveClass::GlacierIr => "GLACIER_IR",
            ArchiveClass::Glacier => "GLACIER",
            ArchiveClass::DeepArchive => "DEEP_ARCHIVE",
        }
    }
}

/// What happens to the bucket when its pipeline is deleted.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum DeletionPolicy {
    /// Keep the bucket and its objects.
    #[default]
    Retain,
    /// Delete the bucket and every object in it.
    Delete,
}

/// The optional S3 → Lambda → S3 transform stage.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Transform {
    /// ARN of your Lambda function, in the pipeline's region. pitagora grants S3 permission to
    /// invoke it and notifies it of each object under the raw prefix.
    #[schemars(regex(pattern = LAMBDA_ARN_PATTERN))]
    pub lambda_arn: String,

    /// Key prefix the function writes its output under. Default: `processed/`. Must not overlap the
    /// raw or error prefixes (the function would otherwise trigger itself).
    #[serde(default = "default_processed_prefix")]
    #[schemars(length(min = 1, max = 1024))]
    pub output_prefix: String,
}

/// The optional SNS fan-out stage.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Fanout {
    /// SNS topic name. Default: derived from the namespace and name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = TOPIC_NAME_PATTERN))]
    pub topic_name: Option<String>,

    /// Lambda functions subscribed to the topic (for example an Elasticsearch forwarder and a Slack
    /// notifier). The topic belongs to this pipeline: Lambda subscriptions not listed here are
    /// removed; subscriptions of other protocols are left alone.
    #[serde(default)]
    #[schemars(length(max = 20))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub subscribers: Vec<Subscriber>,

    /// Encrypt the topic at rest with this customer-managed KMS key (its key ARN or alias ARN, in
    /// the pipeline's region). Default: none — the topic holds S3 event notifications (object
    /// keys, not log contents) only until they are delivered. The key's policy must let S3
    /// (`s3.amazonaws.com`) use it (`kms:GenerateDataKey*`, `kms:Decrypt`), or S3 cannot publish
    /// and delivery stops at the fan-out; AWS's managed `alias/aws/sns` cannot be given to S3, so
    /// it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = KMS_KEY_ARN_PATTERN))]
    pub kms_key_arn: Option<String>,
}

/// A Lambda subscriber of the fan-out topic.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Subscriber {
    /// Unique name of this subscriber within the pipeline (a DNS label, e.g. `es-forwarder`).
    #[schemars(length(min = 1, max = 63), regex(pattern = DNS_LABEL_PATTERN))]
    pub name: String,

    /// ARN of your Lambda function, in the pipeline's region.
    #[schemars(regex(pattern = LAMBDA_ARN_PATTERN))]
    pub lambda_arn: String,

    /// Optional SNS filter policy, applied to the message body (the S3 event notification), e.g.
    /// `{"Records": {"s3": {"object": {"key": [{"prefix": "processed/alerts/"}]}}}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_form_object")]
    pub filter_policy: Option<serde_json::Value>,
}

/// Drift handling.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DriftSettings {
    /// `Correct` (default): AWS is brought back to this spec. `Report`: observe only — drift is
    /// reported in status and events, and pitagora never writes to AWS for this pipeline.
    #[serde(default)]
    pub policy: DriftPolicy,

    /// Seconds between two checks of AWS against this spec, 30–86400. Default: 300.
    #[serde(default = "default_check_interval_seconds")]
    #[schemars(range(min = 30, max = 86400))]
    pub check_interval_seconds: i32,

    /// Differences the team accepts. An ignored difference is still listed (as ignored) in
    /// reports, but it does not count as drift and is not corrected on its own; when the
    /// resource is updated for another reason, the declared value is written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub ignore: Vec<IgnoreRule>,
}

impl Default for DriftSettings {
    fn default() -> Self {
        Self {
            policy: DriftPolicy::default(),
            check_interval_seconds: default_check_interval_seconds(),
            ignore: Vec::new(),
        }
    }
}

/// A difference to accept: every criterion given must match; at least `kind` or `field`.
/// `name` and `field` may use `*` as a wildcard.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("anyOf" = [{"required": ["kind"]}, {"required": ["field"]}]))]
pub struct IgnoreRule {
    /// Resource kind, e.g. `DeliveryStream` (the schema's enum lists every kind);
    /// `FluentdRoutes` is the pipeline's fluentd key, whose name is `namespace/name:key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = crate::resources::ResourceKind::NAMES))]
    pub kind: Option<String>,

    /// Resource name, e.g. a log group such as `/ecs/legacy-*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub name: Option<String>,

    /// Field path, AWS's (`BufferingHints.IntervalInSeconds`) or the spec's
    /// (`spec.delivery.buffering.intervalSeconds`), e.g. `BufferingHints.*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub field: Option<String>,

    /// Why the difference is accepted (shown in reports).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 256))]
    pub reason: Option<String>,
}

/// What to do about drift.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum DriftPolicy {
    /// Bring AWS back to the spec.
    #[default]
    Correct,
    /// Observe and report only; never write.
    Report,
}

fn default_processed_prefix() -> String {
    "processed/".to_owned()
}
fn default_check_interval_seconds() -> i32 {
    300
}

/// A JSON object kept as written: the API server must neither prune nor type-check its contents.
fn free_form_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}
