//! Semantic validation of a `LogPipeline`: every rule, all errors at once.
//!
//! The CRD schema rejects what OpenAPI can express before an object is stored; this module
//! re-checks those bounds on typed values (so a spec built in code or read from a file gets the
//! same answer) and adds the rules that span fields: recursion, overlapping prefixes, regions,
//! S3 naming, the cutover's preconditions. Each error names the field path, the bad value and
//! the allowed range or the fix.

use super::grammar::{filter_pattern, filter_policy, prefix::static_prefix, region as regions};
use super::types::*;
use crate::arn::LambdaArn;
use crate::names::{self, Names, PipelineId};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;

mod delivery;
mod legacy;
mod remote;
mod security;
pub mod valid_spec;
use delivery::validate_delivery;
use legacy::validate_legacy_and_cutover;
pub use remote::{MAX_REMOTE_SOURCES, remote_sources_at_home};
pub use security::functions_outside_account;
use security::{validate_access_logging, validate_named_resources, validate_topic_key};
pub use valid_spec::{InvalidSpec, ValidSpec};

/// One invalid field.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct FieldError {
    /// JSON-path-like location, e.g. `spec.delivery.buffering.sizeMiB`.
    pub path: String,
    /// The offending value as written (`<unset>` for a missing field).
    pub value: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl FieldError {
    /// An error at `path` about `value`.
    pub fn new(
        path: impl Into<String>,
        value: impl fmt::Display,
        message: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            value: value.to_string(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} = {}: {}", self.path, self.value, self.message)
    }
}

static REGION: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(REGION_PATTERN).unwrap());
static LOG_GROUP: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(LOG_GROUP_NAME_PATTERN).unwrap());
static LAMBDA_ARN: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(LAMBDA_ARN_PATTERN).unwrap());
static DNS_LABEL: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(DNS_LABEL_PATTERN).unwrap());
static TOPIC_NAME: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(TOPIC_NAME_PATTERN).unwrap());
static DNS_SUBDOMAIN: LazyLock<regex::Regex> = LazyLock::new(|| {
    regex::Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$").unwrap()
});

/// Accumulates errors; every check pushes and carries on.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(
        &mut self,
        path: impl Into<String>,
        value: impl fmt::Display,
        message: impl Into<String>,
    ) {
        self.0.push(FieldError::new(path, value, message));
    }

    fn range(&mut self, path: &str, value: i32, min: i32, max: i32, unit: &str) {
        if !(min..=max).contains(&value) {
            self.push(
                path,
                value,
                format!("out of range; allowed {min}–{max}{unit}"),
            );
        }
    }

    fn length(&mut self, path: &str, value: &str, min: usize, max: usize) {
        if value.len() < min || value.len() > max {
            self.push(
                path,
                quoted(value),
                format!(
                    "length {} is out of range; allowed {min}–{max} characters",
                    value.len()
                ),
            );
        }
    }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// Validates a pipeline's identity and spec; an empty result means valid.
pub fn validate(id: &PipelineId, spec: &LogPipelineSpec) -> Vec<FieldError> {
    validate_in(id, spec, None)
}

/// [`validate`] for a pipeline placed in `default_region` when its spec names none, so the
/// region-bound rules (S3 and SNS invoke only functions of the pipeline's region) apply to the
/// region it will really live in.
pub fn validate_in(
    id: &PipelineId,
    spec: &LogPipelineSpec,
    default_region: Option<&str>,
) -> Vec<FieldError> {
    let mut e = Errors::default();
    validate_identity(&mut e, id);
    let error_log_group = own_error_log_group(id);

    // A spec's region that names no region is reported once; the region-bound rules then
    // compare with nothing rather than with it.
    let region = match spec.region.as_deref() {
        Some(region) => match regions::check(region) {
            Ok(()) => Some(region),
            Err(problem) => {
                e.push("spec.region", quoted(region), problem.to_string());
                None
            }
        },
        None => default_region,
    };
    validate_sources(&mut e, &spec.sources, &error_log_group);
    remote::validate_remote(&mut e, &spec.sources, region);
    validate_delivery(&mut e, &spec.delivery);
    validate_storage(&mut e, &spec.storage);
    validate_access_logging(&mut e, &spec.storage);
    validate_named_resources(&mut e, spec);
    if let Some(t) = &spec.transform {
        validate_transform(&mut e, t, spec, region);
    }
    if let Some(f) = &spec.fanout {
        validate_fanout(&mut e, f, region);
        validate_topic_key(&mut e, f, region);
    }
    validate_legacy_and_cutover(&mut e, id, spec);
    e.range(
        "spec.drift.checkIntervalSeconds",
        spec.drift.check_interval_seconds,
        30,
        86400,
        " seconds",
    );
    e.0
}

fn validate_identity(e: &mut Errors, id: &PipelineId) {
    if id.name.is_empty() {
        e.push("metadata.name", "<unset>", "a LogPipeline needs a name");
    } else if id.name.len() > 253 || !DNS_SUBDOMAIN.is_match(&id.name) {
        e.push(
            "metadata.name",
            quoted(&id.name),
            "not a valid Kubernetes name; use lowercase letters, digits, '-' and '.', at most 253 characters",
        );
    }
    if id.namespace.len() > 63 || !DNS_LABEL.is_match(&id.namespace) {
        e.push(
            "metadata.namespace",
            quoted(&id.namespace),
            "not a valid namespace; use lowercase letters, digits and '-', at most 63 characters",
        );
    }
}

fn validate_sources(e: &mut Errors, s: &Sources, error_log_group: &str) {
    if s.log_groups.is_empty() && s.log_group_prefixes.is_empty() && s.remote.is_empty() {
        e.push(
            "spec.sources",
            "{}",
            "select at least one log group: set spec.sources.logGroups, spec.sources.logGroupPrefixes or spec.sources.remote",
        );
    }
    for (field, list, max) in [
        ("logGroups", &s.log_groups, 200),
        ("logGroupPrefixes", &s.log_group_prefixes, 20),
    ] {
        if list.len() > max {
            e.push(
                format!("spec.sources.{field}"),
                format!("{} items", list.len()),
                format!("too many; at most {max}"),
            );
        }
        let mut seen = BTreeSet::new();
        for (i, item) in list.iter().enumerate() {
            let path = format!("spec.sources.{field}[{i}]");
            e.length(&path, item, 1, 512);
            if !item.is_empty() && !LOG_GROUP.is_match(item) {
                e.push(
                    &path,
                    quoted(item),
                    "not a valid log group name; allowed characters are letters, digits and . - _ / #",
                );
            }
            if !seen.insert(item) {
                e.push(&path, quoted(item), "duplicate; list each entry once");
            }
        }
    }
    // Firehose logs its own delivery errors to a log group; subscribing that group would feed the
    // pipeline's errors back into itself, producing more errors.
    for (i, prefix) in s.log_group_prefixes.iter().enumerate() {
        if error_log_group.starts_with(prefix.as_str()) {
            e.push(
                format!("spec.sources.logGroupPrefixes[{i}]"),
                quoted(prefix),
                format!(
                    "also matches this pipeline's own Firehose error log group {:?}, which would feed delivery errors back into the pipeline; use a narrower prefix",
                    error_log_group
                ),
            );
        }
    }
    for (i, group) in s.log_groups.iter().enumerate() {
        if crate::names::is_canary_log_group(group) {
            e.push(
                format!("spec.sources.logGroups[{i}]"),
                quoted(group),
                "is a pipeline's canary log group (pitagora writes its delivery proof there); a pipeline subscribes only its own, by itself; remove it",
            );
        }
        if group == error_log_group {
            e.push(
                format!("spec.sources.logGroups[{i}]"),
                quoted(group),
                "is this pipeline's own Firehose error log group, which would feed delivery errors back into the pipeline; remove it",
            );
        }
    }
    e.length("spec.sources.filterPattern", &s.filter_pattern, 0, 1024);
    if s.filter_pattern.len() <= 1024
        && let Err(problem) = filter_pattern::check(&s.filter_pattern)
    {
        e.push(
            "spec.sources.filterPattern",
            quoted(&s.filter_pattern),
            problem.to_string(),
        );
    }
}

/// Whether keys under one prefix can also be under the other.
fn prefixes_overlap(a: &str, b: &str) -> bool {
    let (a, b) = (static_prefix(a), static_prefix(b));
    a.starts_with(b) || b.starts_with(a)
}

fn validate_storage(e: &mut Errors, s: &Storage) {
    if let Some(bucket) = &s.bucket_name
        && let Some(problem) = bucket_name_problem(bucket)
    {
        e.push("spec.storage.bucketName", quoted(bucket), problem);
    }
    if let Some(days) = s.retention_days {
        e.range("spec.storage.retentionDays", days, 1, 36500, " days");
    }
    if let Some(t) = &s.transition {
        e.range(
            "spec.storage.transition.afterDays",
            t.after_days,
            0,
            36500,
            " days",
        );
        if matches!(
            t.storage_class,
            ArchiveClass::StandardIa | ArchiveClass::OnezoneIa
        ) && t.after_days < 30
        {
            e.push(
                "spec.storage.transition.afterDays",
                t.after_days,
                format!(
                    "S3 moves objects to {} no earlier than 30 days after creation; use 30 or more",
                    t.storage_class.as_aws_str()
                ),
            );
        }
        if let Some(days) = s.retention_days
            && days <= t.after_days
        {
            e.push(
                "spec.storage.retentionDays",
                days,
                format!(
                    "objects would expire before or when they move to {} (afterDays {}); make retentionDays larger than afterDays or drop the transition",
                    t.storage_class.as_aws_str(),
                    t.after_days
                ),
            );
        }
    }
}

/// Why `name` is not a valid S3 bucket name, if it is not.
pub fn bucket_name_problem(name: &str) -> Option<String> {
    let bytes = name.as_bytes();
    if !(3..=63).contains(&name.len()) {
        return Some(format!(
            "length {} is out of range; allowed 3–63 characters",
            name.len()
        ));
    }
    if !bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-' || *b == b'.')
    {
        return Some("use only lowercase letters, digits, '-' and '.'".into());
    }
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return Some("must start and end with a lowercase letter or digit".into());
    }
    if name.contains("..") || name.contains(".-") || name.contains("-.") {
        return Some("must not contain '..', '.-' or '-.'".into());
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Some("must not look like an IP address".into());
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Some(format!("must not start with {prefix:?} (reserved by S3)"));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", "--x-s3", ".mrap", "--table-s3"] {
        if name.ends_with(suffix) {
            return Some(format!("must not end with {suffix:?} (reserved by S3)"));
        }
    }
    None
}

fn validate_lambda_arn(e: &mut Errors, path: &str, arn: &str, region: Option<&str>) {
    if !LAMBDA_ARN.is_match(arn) {
        e.push(
            path,
            quoted(arn),
            "not a Lambda function ARN; expected arn:aws:lambda:<region>:<account>:function:<name>",
        );
        return;
    }
    if let Some(parsed) = LambdaArn::parse(arn) {
        let at = ArnPlace {
            partition: parsed.partition,
            service: "lambda",
            region: parsed.region,
            what: "function",
            why: "S3 and SNS can only invoke functions of the pipeline's region",
        };
        at.check(e, path, arn, region);
    }
}

/// Where a resource named by ARN lives, to check it against the pipeline's region.
struct ArnPlace<'a> {
    partition: &'a str,
    /// The service in the ARN (`lambda`, `kms`), for the corrected ARN in the message.
    service: &'a str,
    region: &'a str,
    /// What the ARN names (`function`, `key`), for the message.
    what: &'a str,
    /// Why it must be in the pipeline's region.
    why: &'a str,
}

impl ArnPlace<'_> {
    /// Reports the first of: a partition that does not serve the region (`arn:aws-cn:…:eu-west-1`
    /// names nothing), a region other than the pipeline's. An invalid pipeline region is
    /// reported on its own; comparing with it would add noise.
    fn check(&self, e: &mut Errors, path: &str, arn: &str, pipeline_region: Option<&str>) {
        let Self {
            partition,
            service,
            region,
            what,
            why,
        } = self;
        let serving = crate::arn::partition_of(region);
        if *partition != serving {
            e.push(
                path,
                quoted(arn),
                format!(
                    "partition {partition} does not serve region {region}; a {what} there is arn:{serving}:{service}:{region}:…"
                ),
            );
        } else if let Some(pipeline) = pipeline_region
            && REGION.is_match(pipeline)
            && region != &pipeline
        {
            e.push(
                path,
                quoted(arn),
                format!("the {what} is in {region} but the pipeline is in {pipeline}; {why}"),
            );
        }
    }
}

fn validate_transform(e: &mut Errors, t: &Transform, spec: &LogPipelineSpec, region: Option<&str>) {
    validate_lambda_arn(e, "spec.transform.lambdaArn", &t.lambda_arn, region);
    e.length("spec.transform.outputPrefix", &t.output_prefix, 1, 1024);
    if t.output_prefix.is_empty() {
        return;
    }
    // Firehose evaluates expressions in its own prefixes only: the function writes this prefix
    // and S3 notifies on it, both literally.
    if t.output_prefix.contains("!{") {
        e.push(
            "spec.transform.outputPrefix",
            quoted(&t.output_prefix),
            "is a literal S3 key prefix (your function writes under it, S3 notifies on it); Firehose expressions such as !{timestamp:…} are not evaluated here: remove them",
        );
    }
    // The transform is notified of objects under the raw prefix; writing its output there (or
    // under the error prefix) would invoke it again for its own output, forever.
    for (field, other) in [
        ("prefix", &spec.delivery.prefix),
        ("errorOutputPrefix", &spec.delivery.error_output_prefix),
    ] {
        if prefixes_overlap(&t.output_prefix, other) {
            e.push(
                "spec.transform.outputPrefix",
                quoted(&t.output_prefix),
                format!(
                    "overlaps spec.delivery.{field} {other:?}: the transform would be invoked for its own output; use a separate prefix such as processed/"
                ),
            );
        }
    }
}

fn validate_fanout(e: &mut Errors, f: &Fanout, region: Option<&str>) {
    if let Some(topic) = &f.topic_name
        && !TOPIC_NAME.is_match(topic)
    {
        e.push(
            "spec.fanout.topicName",
            quoted(topic),
            "not a valid SNS topic name; use 1–256 letters, digits, '-' and '_'",
        );
    }
    if f.subscribers.len() > 20 {
        e.push(
            "spec.fanout.subscribers",
            format!("{} items", f.subscribers.len()),
            "too many; at most 20",
        );
    }
    let mut names = BTreeSet::new();
    let mut logical_ids = BTreeMap::new();
    let mut functions = BTreeMap::new();
    for (i, s) in f.subscribers.iter().enumerate() {
        let path = format!("spec.fanout.subscribers[{i}]");
        if s.name.len() > 63 || !DNS_LABEL.is_match(&s.name) {
            e.push(
                format!("{path}.name"),
                quoted(&s.name),
                "not a valid subscriber name; use a DNS label: lowercase letters, digits and '-', at most 63 characters",
            );
        } else if !names.insert(s.name.as_str()) {
            e.push(
                format!("{path}.name"),
                quoted(&s.name),
                "duplicate subscriber name; names must be unique",
            );
        } else if let Some(previous) =
            logical_ids.insert(crate::names::subscriber_logical_id(&s.name), &s.name)
        {
            e.push(
                format!("{path}.name"),
                quoted(&s.name),
                format!("reads the same as subscriber {previous:?} once hyphens are dropped; rename one of them"),
            );
        }
        validate_lambda_arn(e, &format!("{path}.lambdaArn"), &s.lambda_arn, region);
        // SNS keeps one subscription per topic and endpoint: a second subscriber of the same
        // function would share the first one's subscription, and each apply would set the
        // filter policy of one, then of the other, forever.
        if let Some((first, first_name)) = functions.get(s.lambda_arn.as_str()) {
            e.push(
                format!("{path}.lambdaArn"),
                quoted(&s.lambda_arn),
                format!(
                    "is already subscribed as spec.fanout.subscribers[{first}] ({first_name:?}); SNS keeps one subscription per function, so their filter policies would overwrite each other on every apply: merge them into one subscriber (a filter policy can join alternatives with $or)"
                ),
            );
        } else {
            functions.insert(s.lambda_arn.as_str(), (i, s.name.as_str()));
        }
        if let Some(policy) = &s.filter_policy {
            for problem in filter_policy::check(policy) {
                e.push(format!("{path}.filterPolicy"), policy, problem.to_string());
            }
        }
    }
}

/// The error-logging group a pipeline's sources must never select.
pub fn own_error_log_group(id: &PipelineId) -> String {
    let target = crate::arn::AwsTarget::new("000000000000", "us-east-1");
    names::error_log_group_of(&Names::derive(id, &target, None, None).stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_prefixes_are_detected_through_expressions() {
        assert!(prefixes_overlap("raw/", "raw/errors/"));
        assert!(prefixes_overlap("logs/!{timestamp:yyyy}/", "logs/"));
        assert!(!prefixes_overlap("raw/", "errors/"));
    }

    #[test]
    fn bucket_names_follow_s3_rules() {
        assert_eq!(bucket_name_problem("my-logs"), None);
        assert!(bucket_name_problem("ab").is_some());
        assert!(bucket_name_problem("My-Logs").is_some());
        assert!(bucket_name_problem("-logs").is_some());
        assert!(bucket_name_problem("a..b").is_some());
        assert!(bucket_name_problem("192.168.1.1").is_some());
        assert!(bucket_name_problem("xn--logs").is_some());
        assert!(bucket_name_problem("logs-s3alias").is_some());
    }
}
