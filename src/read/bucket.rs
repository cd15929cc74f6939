//! Observe the bucket: every notification entry and lifecycle rule (shared with other owners),
//! and the settings its stack declares: public access block, default encryption, ownership
//! controls, policy and, when the template declares them, versioning and access logging. Six
//! reads (one more for each of those declared), concurrent after the first.

use super::absent_if_not_found;
use crate::aws::s3::{self, NotificationEntries};
use crate::aws::{AwsError, RegionClients};
use crate::observed::ObservedBucket;
use crate::resources::{BucketAccess, LifecycleRule, Tags};

/// Whether the bucket holds any object (one key listed at most); a bucket that does not exist
/// holds none. Asked only when a plan would leave or empty the bucket (see `plan::guard`).
pub async fn holds_objects(c: &RegionClients, name: &str) -> Result<bool, AwsError> {
    let listed = absent_if_not_found(
        c.send("S3.ListObjectsV2", || {
            c.s3.list_objects_v2().bucket(name).max_keys(1).send()
        })
        .await,
    )?;
    Ok(listed.is_some_and(|l| l.key_count().unwrap_or(0) > 0 || !l.contents().is_empty()))
}

/// The bucket's notifications and lifecycle rules; `None` when the bucket does not exist.
pub(super) async fn read(
    c: &RegionClients,
    name: &str,
    declared: &BucketAccess,
) -> Result<Option<ObservedBucket>, AwsError> {
    let notifications = absent_if_not_found(
        c.send("S3.GetBucketNotificationConfiguration", || {
            c.s3.get_bucket_notification_configuration()
                .bucket(name)
                .send()
        })
        .await,
    )?;
    let Some(n) = notifications else {
        return Ok(None);
    };
    let (lifecycle, access, policy) = tokio::try_join!(
        Box::pin(lifecycle(c, name)),
        Box::pin(access(c, name, declared)),
        Box::pin(policy(c, name)),
    )?;
    let Some(lifecycle) = lifecycle else {
        return Ok(None);
    };
    Ok(Some(ObservedBucket {
        notifications: NotificationEntries::read(&n).to_domain(),
        lifecycle,
        access,
        policy,
        tags: None,
    }))
}

/// The bucket's tags (none: S3 answers `NoSuchTagSet`); `None` when the bucket does not exist.
pub(super) async fn tags(c: &RegionClients, name: &str) -> Result<Option<Tags>, AwsError> {
    let read = c
        .send("S3.GetBucketTagging", || {
            c.s3.get_bucket_tagging().bucket(name).send()
        })
        .await;
    match absent_if_not_found(unset(read, "NoSuchTagSet"))? {
        None => Ok(None),
        Some(None) => Ok(Some(Tags::new())),
        Some(Some(out)) => Ok(Some(
            out.tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect(),
        )),
    }
}

/// `Ok(None)` when S3 answers that the bucket has no such setting (`code`).
fn unset<T>(r: Result<T, AwsError>, code: &str) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some(code) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The public access block, default encryption, ownership controls, and what else the template
/// `declared`.
async fn access(
    c: &RegionClients,
    name: &str,
    declared: &BucketAccess,
) -> Result<BucketAccess, AwsError> {
    let (block, encryption, ownership, versioning, logging) = tokio::try_join!(
        async {
            let r = c
                .send("S3.GetPublicAccessBlock", || {
                    c.s3.get_public_access_block().bucket(name).send()
                })
                .await;
            unset(r, "NoSuchPublicAccessBlockConfiguration")
        },
        async {
            let r = c
                .send("S3.GetBucketEncryption", || {
                    c.s3.get_bucket_encryption().bucket(name).send()
                })
                .await;
            unset(r, "ServerSideEncryptionConfigurationNotFoundError")
        },
        async {
            let r = c
                .send("S3.GetBucketOwnershipControls", || {
                    c.s3.get_bucket_ownership_controls().bucket(name).send()
                })
                .await;
            unset(r, "OwnershipControlsNotFoundError")
        },
        // Declared only when asked for: a bucket without it is not read for it.
        async {
            if declared.versioning.is_none() {
                return Ok(None);
            }
            c.send("S3.GetBucketVersioning", || {
                c.s3.get_bucket_versioning().bucket(name).send()
            })
            .await
            .map(|v| v.status().map(|s| s.as_str().to_owned()))
        },
        async {
            if declared.logging.is_none() {
                return Ok(None);
            }
            c.send("S3.GetBucketLogging", || {
                c.s3.get_bucket_logging().bucket(name).send()
            })
            .await
            .map(|l| l.logging_enabled().map(s3::logging_from_sdk))
        },
    )?;
    Ok(BucketAccess {
        public_access_block: block
            .as_ref()
            .and_then(|b| b.public_access_block_configuration())
            .map(s3::public_access_block_from_sdk),
        encryption: encryption
            .as_ref()
            .and_then(|e| e.server_side_encryption_configuration())
            .map(s3::encryption_from_sdk),
        object_ownership: ownership
            .as_ref()
            .and_then(|o| o.ownership_controls())
            .and_then(s3::ownership_from_sdk),
        versioning,
        logging,
    })
}

/// The bucket policy, parsed; `None` when the bucket has none.
async fn policy(c: &RegionClients, name: &str) -> Result<Option<serde_json::Value>, AwsError> {
    let r = c
        .send("S3.GetBucketPolicy", || {
            c.s3.get_bucket_policy().bucket(name).send()
        })
        .await;
    Ok(unset(r, "NoSuchBucketPolicy")?.and_then(|out| out.policy().map(crate::aws::iam::document)))
}

/// The bucket's lifecycle rules (none configured: none); `None` when the bucket is gone.
async fn lifecycle(c: &RegionClients, name: &str) -> Result<Option<Vec<LifecycleRule>>, AwsError> {
    match c
        .send("S3.GetBucketLifecycleConfiguration", || {
            c.s3.get_bucket_lifecycle_configuration()
                .bucket(name)
                .send()
        })
        .await
    {
        Ok(out) => Ok(Some(
            out.rules()
                .iter()
                .map(s3::lifecycle_rule_from_sdk)
                .collect(),
        )),
        Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Ok(Some(Vec::new())),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
