//! The log group Firehose reports delivery errors to: created, or its retention and tags
//! restored.

use super::diff::Changes;
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
    let mut changes = Changes::default();
    changes.field(
        "retentionInDays",
        None,
        &Some(want.retention_days),
        &g.retention_days,
    );
    changes.tags(&want.tags, &g.tags);
    if !changes.0.is_empty() {
        b.push(
            Op::Update,
            ResourceKind::ErrorLogGroup,
            &want.name,
            changes.0,
            "error log group settings differ",
            Step::UpdateLogGroup(want.clone()),
        );
    }
}
