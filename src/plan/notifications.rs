//! This pipeline's entries in the bucket's notification configuration (the transform's and the
//! fan-out's), next to entries of others that must not overlap them: how they are planned, an
//! entry's canonical form, its description in words and the comparison of the entries by id.

use super::bucket::Reasons;
use super::diff::Changes;
use super::stack::Held;
use super::{Builder, ConflictKind, Step};
use crate::arn;
use crate::desired::Desired;
use crate::observed::ObservedBucket;
use crate::resources::{Notification, NotificationTarget, ResourceKind};

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
    let desired: Vec<Notification> = d.notifications.iter().map(canonical).collect();
    let actual: Vec<Notification> = match bucket {
        Held::Unavailable => return,
        Held::Coming => Vec::new(),
        Held::Exists(bk) => match ours_unless_overlapped(b, d, bk, &managed, &desired) {
            Some(ours) => ours,
            None => return,
        },
    };
    let mut changes = Changes::default();
    compare(&desired, &actual, &mut changes);
    REASONS.plan(
        b,
        ResourceKind::BucketNotification,
        &d.names.bucket,
        changes.0,
        !actual.is_empty(),
        !desired.is_empty(),
        Step::PutNotifications {
            bucket: d.names.bucket.clone(),
            entries: keep_live(&desired, &actual, &|field| {
                b.ignores(
                    ResourceKind::BucketNotification,
                    &d.names.bucket,
                    field,
                    None,
                )
            }),
            managed_ids: managed,
        },
    );
}

/// The entries to write: the desired ones, with the live value of every field `ignored`
/// accepts (the fields of [`compare`]); an ignored entry is written as it is, or not at all.
fn keep_live(
    desired: &[Notification],
    actual: &[Notification],
    ignored: &dyn Fn(&str) -> bool,
) -> Vec<Notification> {
    let mut entries = Vec::new();
    for d in desired {
        let path = format!("NotificationConfiguration[{}]", d.id);
        let mut entry = d.clone();
        match actual.iter().find(|a| a.id == d.id) {
            None if ignored(&path) => continue,
            None => {}
            Some(a) => {
                if ignored(&format!("{path}.Target")) {
                    entry.target = a.target.clone();
                }
                if ignored(&format!("{path}.Events")) {
                    entry.events = a.events.clone();
                }
                if ignored(&format!("{path}.Filter.Prefix")) {
                    entry.prefix = a.prefix.clone();
                }
                if ignored(&format!("{path}.Filter.Suffix")) {
                    entry.suffix = a.suffix.clone();
                }
            }
        }
        entries.push(entry);
    }
    let unwanted = actual
        .iter()
        .filter(|a| !desired.iter().any(|d| d.id == a.id));
    let path = |a: &Notification| format!("NotificationConfiguration[{}]", a.id);
    entries.extend(unwanted.filter(|a| ignored(&path(a))).cloned());
    entries
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
        for other in foreign.iter().map(|n| canonical(n)) {
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
    (!blocked).then(|| ours.into_iter().map(canonical).collect())
}

/// A bucket notification entry in canonical form.
fn canonical(n: &Notification) -> Notification {
    let mut n = n.clone();
    n.target = match n.target {
        NotificationTarget::Lambda(a) => NotificationTarget::Lambda(arn::normalize(&a)),
        NotificationTarget::Topic(a) => NotificationTarget::Topic(arn::normalize(&a)),
        NotificationTarget::Queue(a) => NotificationTarget::Queue(arn::normalize(&a)),
    };
    n.events.sort();
    n.events.dedup();
    n
}

/// A notification entry in words, e.g. `Lambda arn:… on s3:ObjectCreated:* under raw/`.
fn describe(n: &Notification) -> String {
    let (kind, arn) = match &n.target {
        NotificationTarget::Lambda(a) => ("Lambda", a),
        NotificationTarget::Topic(a) => ("topic", a),
        NotificationTarget::Queue(a) => ("queue", a),
    };
    let mut text = format!("{kind} {arn} on {}", n.events.join(","));
    if !n.prefix.is_empty() {
        text.push_str(&format!(" under {}", n.prefix));
    }
    if !n.suffix.is_empty() {
        text.push_str(&format!(" ending {}", n.suffix));
    }
    text
}

/// Differences between this pipeline's desired and actual notification entries, matched by id.
fn compare(desired: &[Notification], actual: &[Notification], out: &mut Changes) {
    for d in desired {
        let path = format!("NotificationConfiguration[{}]", d.id);
        match actual.iter().find(|a| a.id == d.id) {
            None => out.presence(&path, None, Some(describe(d)), None),
            Some(a) => {
                out.field(&format!("{path}.Target"), None, &d.target, &a.target);
                out.field(&format!("{path}.Events"), None, &d.events, &a.events);
                out.field(&format!("{path}.Filter.Prefix"), None, &d.prefix, &a.prefix);
                out.field(&format!("{path}.Filter.Suffix"), None, &d.suffix, &a.suffix);
            }
        }
    }
    for a in actual {
        if !desired.iter().any(|d| d.id == a.id) {
            out.presence(
                &format!("NotificationConfiguration[{}]", a.id),
                None,
                None,
                Some(describe(a)),
            );
        }
    }
}
