//! Apply this pipeline's entries of the bucket's notification configuration, which other
//! owners share.

use crate::aws::s3::NotificationEntries;
use crate::aws::{AwsError, RegionClients};
use crate::resources::Notification;

/// Read-modify-write of the bucket's notification configuration: this pipeline's entries (those
/// with `managed_ids`) become `entries`; entries with other ids (and the EventBridge setting)
/// are written back exactly as read.
pub(super) async fn put(
    c: &RegionClients,
    bucket: &str,
    entries: &[Notification],
    managed_ids: &[String],
) -> Result<String, AwsError> {
    let current = c
        .send("S3.GetBucketNotificationConfiguration", || {
            c.s3.get_bucket_notification_configuration()
                .bucket(bucket)
                .send()
        })
        .await?;
    let mut all = NotificationEntries::read(&current);
    all.retain(|id| !id.is_some_and(|id| managed_ids.iter().any(|m| m == id)));
    let kept = all.len();
    for n in entries {
        all.push(n)?;
    }
    let configuration = all.into_configuration(current.event_bridge_configuration().cloned());
    c.send("S3.PutBucketNotificationConfiguration", || {
        c.s3.put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(configuration.clone())
            .send()
    })
    .await?;
    Ok(super::shared_write(
        entries.len(),
        kept,
        ("entry", "entries"),
    ))
}
