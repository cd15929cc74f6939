//! Apply pitagora's statements of the bucket policy, which other owners may share.

use crate::aws::iam::{document, document_text};
use crate::aws::{AwsError, RegionClients};
use crate::plan::merge_bucket_policy;
use serde_json::Value;

/// Read-modify-write of the bucket policy: pitagora's statements (by `Sid`) replaced, other
/// statements written back as read unless `exclusive`.
pub(super) async fn put(
    c: &RegionClients,
    bucket: &str,
    statements: &[Value],
    exclusive: bool,
) -> Result<String, AwsError> {
    let read = c
        .send("S3.GetBucketPolicy", || {
            c.s3.get_bucket_policy().bucket(bucket).send()
        })
        .await;
    let current = match read {
        Ok(out) => out.policy().map(document),
        Err(e) if e.code() == Some("NoSuchBucketPolicy") => None,
        Err(e) => return Err(e),
    };
    let merged = merge_bucket_policy(current.as_ref(), statements, exclusive);
    let kept = merged["Statement"].as_array().map_or(0, Vec::len) - statements.len();
    let text = document_text(&merged);
    c.send("S3.PutBucketPolicy", || {
        c.s3.put_bucket_policy().bucket(bucket).policy(&text).send()
    })
    .await?;
    Ok(super::shared_write(
        statements.len(),
        kept,
        ("statement", "statements"),
    ))
}
