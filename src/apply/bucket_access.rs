//! Apply the bucket's access settings: one call per group the step carries.

use crate::aws::s3;
use crate::aws::{AwsError, RegionClients};
use crate::resources::BucketAccess;

/// Writes each given group: `PutPublicAccessBlock`, `PutBucketEncryption`,
/// `PutBucketOwnershipControls`, `PutBucketVersioning`, `PutBucketLogging`.
pub(super) async fn put(
    c: &RegionClients,
    bucket: &str,
    access: &BucketAccess,
) -> Result<String, AwsError> {
    let mut written = Vec::new();
    if let Some(block) = &access.public_access_block {
        let config = s3::public_access_block_to_sdk(block);
        c.send("S3.PutPublicAccessBlock", || {
            c.s3.put_public_access_block()
                .bucket(bucket)
                .public_access_block_configuration(config.clone())
                .send()
        })
        .await?;
        written.push("public access block");
    }
    if let Some(rules) = &access.encryption {
        let config = s3::encryption_to_sdk(rules)?;
        c.send("S3.PutBucketEncryption", || {
            c.s3.put_bucket_encryption()
                .bucket(bucket)
                .server_side_encryption_configuration(config.clone())
                .send()
        })
        .await?;
        written.push("default encryption");
    }
    if let Some(ownership) = &access.object_ownership {
        let config = s3::ownership_to_sdk(ownership)?;
        c.send("S3.PutBucketOwnershipControls", || {
            c.s3.put_bucket_ownership_controls()
                .bucket(bucket)
                .ownership_controls(config.clone())
                .send()
        })
        .await?;
        written.push("ownership controls");
    }
    if let Some(status) = &access.versioning {
        let config = s3::versioning_to_sdk(status);
        c.send("S3.PutBucketVersioning", || {
            c.s3.put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(config.clone())
                .send()
        })
        .await?;
        written.push("versioning");
    }
    if let Some(logging) = &access.logging {
        let status = s3::logging_to_sdk(logging)?;
        c.send("S3.PutBucketLogging", || {
            c.s3.put_bucket_logging()
                .bucket(bucket)
                .bucket_logging_status(status.clone())
                .send()
        })
        .await?;
        written.push("access logging");
    }
    Ok(format!("set {}", written.join(", ")))
}
