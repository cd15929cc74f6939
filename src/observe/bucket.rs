//! Observe the bucket's shared configuration: every notification entry and lifecycle rule.

use super::absent_if_not_found;
use crate::aws::s3::{self, NotificationEntries};
use crate::aws::{AwsError, RegionClients};
use crate::observed::ObservedBucket;
use crate::resources::LifecycleRule;

/// The bucket's notifications and lifecycle rules; `None` when the bucket does not exist.
pub(super) async fn observe(
    c: &RegionClients,
    name: &str,
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
    let Some(lifecycle) = lifecycle(c, name).await? else {
        return Ok(None);
    };
    Ok(Some(ObservedBucket {
        notifications: NotificationEntries::read(&n).to_domain(),
        lifecycle,
    }))
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
