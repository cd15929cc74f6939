//! This pipeline's entries in the bucket's notification configuration (the transform's and the
//! fan-out's), next to entries of others that must not overlap them.

use super::bucket::Reasons;
use super::diff::{self, Changes};
use super::stack::Held;
use super::{Builder, ConflictKind, Step, normalize};
use crate::desired::Desired;
use crate::observed::ObservedBucket;
use crate::resources::{Notification, ResourceKind};

const REASONS: Reasons = Reasons {
    missing: "bucket notifications for this pipeline are missing",
    unwanted: "bucket notifications no longer wanted by the spec",
    differs: "bucket notifications differ from the spec",
};

/// The ids of the notification entries this pipeline owns.
pub(super) fn managed_notification_ids(d: &Desired) -> Vec<String> {
    vec![
        d.names.transform_notification_id.clone(),
        d.names.fanout_notification_id.clone(),
    ]
}

/// Whether S3 would reject two notification entries as overlapping: they share an event type and
/// their prefix and suffix filters can match the same key.
fn notifications_overlap(a: &Notification, b: &Notification) -> bool {
    let event_overlap = a.events.iter().any(|x| {
        b.events.iter().any(|y| {
            let (x, y) = (x.trim_end_matches('*'), y.trim_end_matches('*'));
            x.starts_with(y) || y.starts_with(x)
        })
    });
    let prefix_overlap = a.prefix.starts_with(&b.prefix) || b.prefix.starts_with(&a.prefix);
    let suffix_overlap = a.suffix.ends_with(&b.suffix) || b.suffix.ends_with(&a.suffix);
    event_overlap && prefix_overlap && suffix_overlap
}

/// Plans this pipeline's bucket notifications.
pub(super) fn plan(b: &mut Builder, d: &Desired, bucket: &Held<ObservedBucket>) {
    let managed = managed_notification_ids(d);
    let desired: Vec<Notification> = d
        .notifications
        .iter()
        .map(normalize::notification)
        .collect();
    let actual: Vec<Notification> = match bucket {
        Held::Unavailable => return,
        Held::Coming => Vec::new(),
        Held::Exists(bk) => match ours_unless_overlapped(b, d, bk, &managed, &desired) {
            Some(ours) => ours,
            None => return,
        },
    };
    let mut changes = Changes::default();
    diff::notifications(&desired, &actual, &mut changes);
    if changes.0.is_empty() {
        return;
    }
    let (op, reason) = REASONS.pick(!actual.is_empty(), !desired.is_empty());
    b.push(
        op,
        ResourceKind::BucketNotification,
        &d.names.bucket,
        changes.0,
        reason,
        Step::PutNotifications {
            bucket: d.names.bucket.clone(),
            entries: d.notifications.clone(),
            managed_ids: managed,
        },
    );
}

/// This pipeline's entries of the bucket, in canonical form; `None` (with a conflict planned for
/// each overlap) when another entry overlaps one the spec wants, which S3 would reject.
fn ours_unless_overlapped(
    b: &mut Builder,
    d: &Desired,
    bucket: &ObservedBucket,
    managed: &[String],
    desired: &[Notification],
) -> Option<Vec<Notification>> {
    let (ours, foreign): (Vec<&Notification>, Vec<&Notification>) = bucket
        .notifications
        .iter()
        .partition(|n| managed.contains(&n.id));
    let mut blocked = false;
    for want in desired {
        for other in foreign.iter().map(|n| normalize::notification(n)) {
            if notifications_overlap(want, &other) {
                blocked = true;
                b.conflict(
                    ResourceKind::BucketNotification,
                    &d.names.bucket,
                    ConflictKind::NotificationOverlap,
                    format!(
                        "the bucket's notification {:?} overlaps this pipeline's {:?} (same event type, overlapping prefix {:?}); S3 rejects overlapping notifications, so remove or narrow that notification",
                        other.id, want.id, other.prefix
                    ),
                );
            }
        }
    }
    (!blocked).then(|| ours.into_iter().map(normalize::notification).collect())
}
