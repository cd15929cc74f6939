//! The log groups pitagora creates — the one Firehose reports delivery errors to, the one the
//! delivery canary is written to, and the ones fluentd routes write into: created, or their
//! retention and tags restored.
//!
//! A route's log group is also the team's own source: pitagora creates it only when it does not
//! exist (before its subscription filter, so that the filter is in place before fluentd's first
//! event), and keeps its retention only while it carries the tags pitagora created it with for
//! this pipeline. One that exists without them (the team's, or another pipeline's) is left
//! alone: no conflict, no write, its retention never changed.

use super::diff::Changes;
use super::normalize;
use super::ownership::{ownership_conflict, route_group_created_for};
use super::{Builder, Op, Step};
use crate::desired::{Desired, LogGroupSpec};
use crate::observed::{Observed, ObservedLogGroup};
use crate::resources::ResourceKind;

/// Plans the error log group, the canary log group and the routes' log groups.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let errors = (ResourceKind::ErrorLogGroup, "Firehose error log group");
    plan_one(b, d, errors, &d.error_log_group, o.error_log_group.as_ref());
    if let Some(want) = &d.canary_log_group {
        let canary = (ResourceKind::CanaryLogGroup, "canary log group");
        plan_one(b, d, canary, want, o.canary_log_group.as_ref());
    }
    for want in &d.route_log_groups {
        // A group listed as a source but not read as a route's exists all the same.
        if o.route_log_groups.contains_key(&want.name) || !o.log_groups.contains_key(&want.name) {
            plan_route(b, d, want, o.route_log_groups.get(&want.name));
        }
    }
}

/// Where a route log group's retention is declared.
const RETENTION_FIELD: &str = "spec.legacy.fluentd.logGroupRetentionDays";

/// A route's log group: created when missing; kept as declared only while it is this
/// pipeline's (its owner tag), else left to its owner.
fn plan_route(b: &mut Builder, d: &Desired, want: &LogGroupSpec, have: Option<&ObservedLogGroup>) {
    let kind = ResourceKind::RouteLogGroup;
    match have {
        None => b.push(
            Op::Create,
            kind,
            &want.name,
            Vec::new(),
            format!(
                "a fluentd route writes into this log group and it does not exist: created with a retention of {} days ({RETENTION_FIELD}) and pitagora's tags, before its subscription filter, so that the filter is in place before fluentd's first event",
                want.retention_days
            ),
            Step::CreateRouteLogGroup(want.clone()),
        ),
        Some(g) if route_group_created_for(d, &g.tags) => {
            let what = (kind, "route log group", Some(RETENTION_FIELD));
            update(b, what, want, g)
        }
        // The team's own group (or another pipeline's): a legitimate source, not pitagora's to
        // change.
        Some(_) => {}
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
    update(b, (kind, what, None), want, g);
}

/// Restores the retention and tags of a log group that is this pipeline's, where they differ (an
/// ignored field keeps its live value); `retention_field`: where the spec declares the retention.
fn update(
    b: &mut Builder,
    (kind, what, retention_field): (ResourceKind, &str, Option<&str>),
    want: &LogGroupSpec,
    g: &ObservedLogGroup,
) {
    let name = &want.name;
    let ignored = |field: &str, spec: Option<&str>| b.ignores(kind, name, field, spec);
    let mut changes = Changes::default();
    let want_retention = Some(want.retention_days);
    let (field, spec) = ("retentionInDays", retention_field);
    changes.field(field, spec, &want_retention, &g.retention_days);
    let retention = want_retention != g.retention_days && !ignored(field, spec);
    changes.tags(&want.tags, &g.tags);
    // Only the tags that are written: an ignored one keeps its live value.
    let mut group = want.clone();
    group
        .tags
        .retain(|k, _| !ignored(&format!("Tags.{k}"), None));
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
