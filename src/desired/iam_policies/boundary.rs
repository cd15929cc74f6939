//! The permissions boundary every pipeline role carries (see the module's security notes).

use super::{Scope, document, statement};
use serde_json::Value;

/// The permissions boundary of every pipeline role: exactly what the template's inline policies
/// give the roles ([`super::template`]), on every pipeline's resources: Firehose writing
/// objects to pitagora's buckets and its errors to pitagora's error log groups, CloudWatch Logs
/// putting records into pitagora's streams.
pub fn pipeline_role_boundary(s: &Scope) -> Value {
    let buckets = s.buckets();
    let error_streams = s
        .error_log_groups()
        .into_iter()
        .map(|g| format!("{g}:log-stream:*"))
        .collect();
    document(vec![
        statement(
            "DeliveryBuckets",
            &[
                "s3:GetBucketLocation",
                "s3:ListBucket",
                "s3:ListBucketMultipartUploads",
            ],
            vec![buckets[0].clone()],
        ),
        statement(
            "DeliveryObjects",
            &["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
            vec![buckets[1].clone()],
        ),
        statement("DeliveryErrors", &["logs:PutLogEvents"], error_streams),
        statement(
            "SubscriptionRecords",
            &["firehose:PutRecord", "firehose:PutRecordBatch"],
            s.streams(),
        ),
    ])
}
