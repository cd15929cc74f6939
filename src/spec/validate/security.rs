//! Validation of the security options: where the bucket's access logs go
//! (`spec.storage.accessLogging`) and the topic's encryption key (`spec.fanout.kmsKeyArn`).

use super::{Errors, quoted};
use crate::spec::types::*;
use std::sync::LazyLock;

static KMS_KEY_ARN: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(KMS_KEY_ARN_PATTERN).unwrap());

/// `spec.storage.accessLogging`.
pub(super) fn validate_access_logging(e: &mut Errors, s: &Storage) {
    let Some(logging) = &s.access_logging else {
        return;
    };
    let path = "spec.storage.accessLogging.bucket";
    if let Some(problem) = super::bucket_name_problem(&logging.bucket) {
        e.push(path, quoted(&logging.bucket), problem);
    } else if s.bucket_name.as_deref() == Some(logging.bucket.as_str()) {
        e.push(
            path,
            quoted(&logging.bucket),
            "is the pipeline's own bucket: every log written would be a request to log, without end; name another bucket",
        );
    }
    if let Some(prefix) = &logging.prefix {
        e.length("spec.storage.accessLogging.prefix", prefix, 1, 1024);
    }
}

/// `spec.fanout.kmsKeyArn`: a customer-managed key of the pipeline's region.
pub(super) fn validate_topic_key(e: &mut Errors, f: &Fanout, region: Option<&str>) {
    let Some(arn) = &f.kms_key_arn else {
        return;
    };
    let path = "spec.fanout.kmsKeyArn";
    if !KMS_KEY_ARN.is_match(arn) {
        e.push(
            path,
            quoted(arn),
            "not a KMS key ARN; expected arn:aws:kms:<region>:<account>:key/<id> or …:alias/<name>",
        );
        return;
    }
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let (partition, key_region, resource) = (parts[1], parts[3], parts[5]);
    if resource.starts_with("alias/aws/") {
        e.push(
            path,
            quoted(arn),
            "is an AWS managed key, whose policy cannot let S3 use it: S3 could not publish to the topic; create a customer-managed key whose policy allows s3.amazonaws.com",
        );
    } else {
        let at = super::ArnPlace {
            partition,
            service: "kms",
            region: key_region,
            what: "key",
            why: "a topic can only use a key of its own region",
        };
        at.check(e, path, arn, region);
    }
}

/// `spec.storage.bucketName` and `spec.fanout.topicName`: a name the spec gives a resource
/// pitagora creates must start with `pitagora-`, as every derived name does, because that
/// prefix is what the controller's and CloudFormation's IAM policies scope their writes to: a
/// bucket or topic of another name could not be written, or (with a wider policy) could be
/// someone else's.
pub(super) fn validate_named_resources(e: &mut Errors, spec: &LogPipelineSpec) {
    let prefix = crate::names::NAME_PREFIX;
    let named = [
        ("spec.storage.bucketName", spec.storage.bucket_name.as_ref()),
        (
            "spec.fanout.topicName",
            spec.fanout.as_ref().and_then(|f| f.topic_name.as_ref()),
        ),
    ];
    for (path, name) in named {
        // A name that breaks the service's own rules is reported once, for those.
        let valid = |n: &str| match path {
            "spec.storage.bucketName" => super::bucket_name_problem(n).is_none(),
            _ => super::TOPIC_NAME.is_match(n),
        };
        if let Some(name) = name
            && valid(name)
            && !name.starts_with(prefix)
        {
            e.push(
                path,
                quoted(name),
                format!(
                    "must start with {prefix:?}: pitagora's IAM policies let it write only resources named {prefix}*; use {prefix}{name} or leave the field out for a derived name"
                ),
            );
        }
    }
}

/// The Lambda functions `spec` names (`spec.transform.lambdaArn`,
/// `spec.fanout.subscribers[*].lambdaArn`) outside `account`, the pipeline's: pitagora adds an
/// invoke permission to each function it wires in, and another account's function is not the
/// pipeline's to change (nor can S3 or SNS of this account be wired to it this way).
pub fn functions_outside_account(spec: &LogPipelineSpec, account: &str) -> Vec<super::FieldError> {
    spec.functions()
        .filter_map(|(path, arn)| {
            let parsed = crate::arn::LambdaArn::parse(arn)?;
            (parsed.account_id != account).then(|| {
                super::FieldError::new(
                    path,
                    quoted(arn),
                    format!(
                        "the function is in account {} but the pipeline is in {account}; wire in a function of the pipeline's own account",
                        parsed.account_id
                    ),
                )
            })
        })
        .collect()
}
