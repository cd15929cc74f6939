//! pitagora's own log groups — the one Firehose reports delivery errors to, and the one the
//! delivery canary is written to: created, or their retention and tags restored.

use super::diff::Changes;
use super::normalize;
use super::ownership::ownership_conflict;
use super::{Builder, Op, Step};
use crate::desired::{Desired, LogGroupSpec};
use crate::observed::{Observed, ObservedLogGroup};
use crate::resources::ResourceKind;

/// Plans the error log group and the canary log group.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let errors = (ResourceKind::ErrorLogGroup, "Firehose error log group");
    plan_one(b, d, errors, &d.error_log_group, o.error_log_group.as_ref());
    if let Some(want) = &d.canary_log_group {
        let canary = (ResourceKind::CanaryLogGroup, "canary log group");
        plan_one(b, d, canary, want, o.canary_log_group.as_ref());
    }
}

fn plan_one(
    b: &mut Builder,
    d: &Desired,
    (kind, what): (ResourceKind, &str),
    want: &LogGroupSpec,
    have: Option<&ObservedLogGroup>,
) {
    let Some(g) = have else {
        b.push(
            Op::Create,
            kind,
            &want.name,
            Vec::new(),
            format!("{what} does not exist"),
            Step::CreateLogGroup(want.clone()),
        );
        return;
    };
    if let Some((cause, reason)) = ownership_conflict(d, &g.tags) {
        b.conflict(kind, &want.name, cause, reason);
        return;
    }
    let name = &want.name;
    let ignored = |field: &str| b.ignores(kind, name, field, None);
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
            kind,
            name,
            changes.0,
            format!("{what} settings differ"),
            Step::UpdateLogGroup {
                group,
                retention,
                tags,
            },
        );
    }
}
