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
