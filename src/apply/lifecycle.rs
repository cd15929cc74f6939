//! Apply this pipeline's rules of the bucket's lifecycle configuration, which other owners
//! share.

use crate::aws::s3;
use crate::aws::{AwsError, RegionClients};
use crate::resources::LifecycleRule;

/// Read-modify-write of the bucket's lifecycle rules: this pipeline's rules (those with
/// `managed_ids`) become `rules`; rules with other ids are written back exactly as read. With
/// no rule left, the configuration is removed (S3 refuses an empty one).
pub(super) async fn put(
    c: &RegionClients,
    bucket: &str,
    rules: &[LifecycleRule],
    managed_ids: &[String],
) -> Result<String, AwsError> {
    let mut all = current_rules(c, bucket).await?;
    all.retain(|r| !r.id().is_some_and(|id| managed_ids.iter().any(|m| m == id)));
    let kept = all.len();
    for r in rules {
        all.push(s3::lifecycle_rule_to_sdk(r)?);
    }
    if all.is_empty() {
        c.send("S3.DeleteBucketLifecycle", || {
            c.s3.delete_bucket_lifecycle().bucket(bucket).send()
        })
        .await?;
        return Ok("lifecycle configuration removed".into());
    }
    let configuration = s3::lifecycle_configuration(all)?;
    c.send("S3.PutBucketLifecycleConfiguration", || {
        c.s3.put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(configuration.clone())
            .send()
    })
    .await?;
    Ok(super::shared_write(rules.len(), kept, ("rule", "rules")))
}

/// The bucket's lifecycle rules as read (none configured: none).
async fn current_rules(
    c: &RegionClients,
    bucket: &str,
) -> Result<Vec<aws_sdk_s3::types::LifecycleRule>, AwsError> {
    match c
        .send("S3.GetBucketLifecycleConfiguration", || {
            c.s3.get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send()
        })
        .await
    {
        Ok(out) => Ok(out.rules().to_vec()),
        Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Ok(Vec::new()),
        Err(e) => Err(e),
    }
}
