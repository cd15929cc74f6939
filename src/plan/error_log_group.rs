//! The log group Firehose reports delivery errors to: created, or its retention and tags
//! restored.

use super::diff::Changes;
use super::normalize;
use super::ownership::ownership_conflict;
use super::{Builder, Op, Step};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::ResourceKind;

/// Plans the error log group.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let want = &d.error_log_group;
    let Some(g) = &o.error_log_group else {
        b.push(
            Op::Create,
            ResourceKind::ErrorLogGroup,
            &want.name,
            Vec::new(),
            "Firehose error log group does not exist",
            Step::CreateLogGroup(want.clone()),
        );
        return;
    };
    if let Some((cause, reason)) = ownership_conflict(d, &g.tags) {
        b.conflict(ResourceKind::ErrorLogGroup, &want.name, cause, reason);
        return;
    }
    let name = &want.name;
    let ignored = |field: &str| b.ignores(ResourceKind::ErrorLogGroup, name, field, None);
    let mut changes = Changes::default();
    let want_retention = Some(want.retention_days);
    changes.field("retentionInDays", None, &want_retention, &g.retention_days);
    let retention = want_retention != g.retention_days && !ignored("retentionInDays");
    changes.tags(&want.tags, &g.tags);
    // Only the tags that are written: an ignored one keeps its live value.
    let mut group = want.clone();
    group.tags.retain(|k, _| !ignored(&format!("Tags.{k}")));
    let tags = !normalize::tags_missing(&group.tags, &g.tags).is_empty();
    if !changes.0.is_empty() {
        b.push(
            Op::Update,
            ResourceKind::ErrorLogGroup,
            name,
            changes.0,
            "error log group settings differ",
            Step::UpdateLogGroup {
                group,
                retention,
                tags,
            },
        );
    }
}
