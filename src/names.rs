//! Deterministic AWS names for a pipeline.
//!
//! Every name starts with `pitagora-`, carries as much of `<namespace>-<name>` as its service
//! allows, and ends with a short stable hash of the full identity. The hash is what keeps two
//! pipelines apart: `a-b/c` and `a/b-c` read the same but hash differently, and truncation of a
//! long name never makes it collide with another. The bucket's hash also covers account and
//! region, because bucket names are global across all of AWS.

use crate::arn::AwsTarget;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fmt;

/// Tag key naming the pipeline that owns a resource; its value is `<namespace>/<name>`.
pub const OWNER_TAG: &str = "pitagora.dev/pipeline";
/// Tag key/value marking resources managed by pitagora.
pub const MANAGED_BY_TAG: (&str, &str) = ("app.kubernetes.io/managed-by", "pitagora");
/// Prefix of every derived name; also how pitagora recognises another pipeline's filters.
pub const NAME_PREFIX: &str = "pitagora-";
/// IAM path of the roles pitagora creates, so IAM policies can scope to `role/pitagora/*`.
pub const ROLE_PATH: &str = "/pitagora/";
/// The CloudFormation service role pitagora passes on every stack operation (under
/// [`ROLE_PATH`]): CloudFormation acts with its permissions, not the controller's.
pub const CLOUDFORMATION_ROLE: &str = "pitagora-cloudformation";
/// The managed policy (under [`ROLE_PATH`]) bounding every pipeline role's permissions: whatever
/// policy is put on such a role, it can reach only pitagora's streams, buckets and error logs.
pub const PIPELINE_BOUNDARY: &str = "pitagora-pipeline-boundary";
/// The change-event rule's and queue's name, in every account and region pitagora manages.
pub const EVENTS_NAME: &str = "pitagora-events";
/// Log stream Firehose writes delivery errors to (the name the AWS console uses).
pub const ERROR_LOG_STREAM: &str = "DestinationDelivery";
/// Prefix of the Firehose error-logging log groups.
pub const ERROR_LOG_GROUP_PREFIX: &str = "/aws/kinesisfirehose/";

/// Service limits on name length.
pub mod limits {
    /// CloudFormation stack names.
    pub const STACK: usize = 128;
    /// Firehose delivery stream names.
    pub const STREAM: usize = 64;
    /// S3 bucket names (minimum 3).
    pub const BUCKET: usize = 63;
    /// SNS topic names.
    pub const TOPIC: usize = 256;
    /// IAM role names.
    pub const ROLE: usize = 64;
    /// Subscription filter names.
    pub const FILTER: usize = 512;
    /// Log group names.
    pub const LOG_GROUP: usize = 512;
    /// CloudWatch Logs destination names.
    pub const DESTINATION: usize = 512;
    /// S3 notification configuration and lifecycle rule ids.
    pub const S3_CONFIG_ID: usize = 255;
}

/// A pipeline's identity in Kubernetes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PipelineId {
    /// Kubernetes namespace.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl PipelineId {
    /// The id of `namespace/name`.
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The value of the [`OWNER_TAG`] on resources this pipeline owns.
    pub fn owner_tag_value(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for PipelineId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Every AWS name of one pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Names {
    /// CloudFormation stack.
    pub stack: String,
    /// Firehose delivery stream.
    pub stream: String,
    /// S3 bucket (derived unless the spec names it).
    pub bucket: String,
    /// SNS topic (derived unless the spec names it).
    pub topic: String,
    /// IAM role Firehose assumes to write to S3 and to its error log group.
    pub delivery_role: String,
    /// IAM role CloudWatch Logs assumes to put records into the stream.
    pub logs_role: String,
    /// Name of this pipeline's subscription filter on every source log group.
    pub filter: String,
    /// Log group Firehose reports delivery errors to.
    pub error_log_group: String,
    /// Id of the bucket notification that invokes the transform.
    pub transform_notification_id: String,
    /// Id of the bucket notification that publishes to the topic.
    pub fanout_notification_id: String,
    /// Id of the bucket lifecycle rule that applies retention and transition.
    pub lifecycle_rule_id: String,
}

impl Names {
    /// Derives the names of `id` in `target`; `bucket` and `topic` override the derived names.
    pub fn derive(
        id: &PipelineId,
        target: &AwsTarget,
        bucket: Option<&str>,
        topic: Option<&str>,
    ) -> Self {
        let identity = short_hash(&format!("{}/{}", id.namespace, id.name));
        let readable = format!("{}-{}", id.namespace, id.name);
        let name = |max: usize, suffix: &str| fit(&readable, &identity, suffix, max);
        let stream = name(limits::STREAM, "");
        let bucket = bucket.map(str::to_owned).unwrap_or_else(|| {
            let global = short_hash(&format!(
                "{}/{}/{}/{}",
                target.account_id, target.region, id.namespace, id.name
            ));
            fit(&readable, &global, "", limits::BUCKET).to_ascii_lowercase()
        });
        Self {
            stack: name(limits::STACK, ""),
            bucket,
            topic: topic
                .map(str::to_owned)
                .unwrap_or_else(|| name(limits::TOPIC, "")),
            delivery_role: name(limits::ROLE, "-delivery"),
            logs_role: name(limits::ROLE, "-logs"),
            filter: name(limits::FILTER, ""),
            error_log_group: format!("{ERROR_LOG_GROUP_PREFIX}{stream}"),
            transform_notification_id: name(limits::S3_CONFIG_ID, "-transform"),
            fanout_notification_id: name(limits::S3_CONFIG_ID, "-fanout"),
            lifecycle_rule_id: name(limits::S3_CONFIG_ID, "-retention"),
            stream,
        }
    }
}

/// The error-logging log group of a stream named `stream`.
pub fn error_log_group_of(stream: &str) -> String {
    format!("{ERROR_LOG_GROUP_PREFIX}{stream}")
}

/// The CloudWatch Logs destination in `region` of the pipeline whose stream is `stream`: the
/// stream's name and the region (at most 64 + 1 + a region code, within
/// [`limits::DESTINATION`]), so each region's destination has a name of its own, as the error
/// log group's is derived from the stream's.
pub fn destination_name(stream: &str, region: &str) -> String {
    format!("{stream}-{region}")
}

/// The pipeline a subscription filter named `filter` belongs to when it is pitagora's: the
/// readable `<namespace>-<name>` part [`Names::derive`] put in it (with a hyphen in either, which
/// is which stays open). `None`: not a pitagora filter name.
pub fn pipeline_of_filter(filter: &str) -> Option<&str> {
    let rest = filter.strip_prefix(NAME_PREFIX)?;
    let (readable, hash) = rest.rsplit_once('-')?;
    let is_hash = hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hash && !readable.is_empty()).then_some(readable)
}

/// Where the canary log groups of pipelines without prefixes live.
pub const CANARY_LOG_GROUP_ROOT: &str = "/pitagora/canary/";

/// Whether `name` is a pipeline's canary log group (see
/// [`crate::desired::canary_log_group_name`]): under the canary root, or a `pitagora-…-canary`
/// group under a prefix. Another pipeline's canary group is never a source: its canary proves
/// that pipeline, and a second subscription would take one of the group's two filter slots.
pub fn is_canary_log_group(name: &str) -> bool {
    let leaf = name.rsplit('/').next().unwrap_or(name);
    name.starts_with(CANARY_LOG_GROUP_ROOT)
        || (leaf.starts_with(NAME_PREFIX) && leaf.ends_with("-canary"))
}

/// The CloudFormation logical id of a subscriber's Lambda permission: `Subscriber` + the name in
/// CamelCase + `Permission` (`es-forwarder` → `SubscriberEsForwarderPermission`).
pub fn subscriber_logical_id(name: &str) -> String {
    let camel: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("Subscriber{camel}Permission")
}

/// The first 8 hex digits of SHA-256: stable across releases and platforms.
fn short_hash(input: &str) -> String {
    let digest = Sha256::digest(input.as_bytes());
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// `pitagora-<readable, truncated>-<hash><suffix>`, at most `max` bytes, using only characters
/// every target service accepts (`[a-z0-9-]`, plus upper case letters where the input has them).
fn fit(readable: &str, hash: &str, suffix: &str, max: usize) -> String {
    let fixed = NAME_PREFIX.len() + 1 + hash.len() + suffix.len();
    let room = max.saturating_sub(fixed);
    let mut part: String = readable
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(room)
        .collect();
    // A truncated or sanitised part must not leave `--` or a dangling hyphen before the hash.
    while part.contains("--") {
        part = part.replace("--", "-");
    }
    let part = part.trim_matches('-');
    if part.is_empty() {
        format!("{NAME_PREFIX}{hash}{suffix}")
    } else {
        format!("{NAME_PREFIX}{part}-{hash}{suffix}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable() {
        // Changing this breaks every existing pipeline's names: it must never change.
        assert_eq!(short_hash("team-a/orders"), "75c1a60b");
    }

    #[test]
    fn a_pitagora_filter_name_names_its_pipeline() {
        let target = crate::arn::AwsTarget::new("123456789012", "eu-west-1");
        let names = Names::derive(&PipelineId::new("team-a", "orders"), &target, None, None);
        assert_eq!(pipeline_of_filter(&names.filter), Some("team-a-orders"));
        for foreign in [
            "audit-shipper",
            "pitagora-",
            "pitagora-x-notahash",
            "pitagora-75c1a60b",
        ] {
            assert_eq!(pipeline_of_filter(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn subscriber_logical_ids_are_camel_case() {
        assert_eq!(
            subscriber_logical_id("es-forwarder"),
            "SubscriberEsForwarderPermission"
        );
        assert_eq!(subscriber_logical_id("slack"), "SubscriberSlackPermission");
    }
}
