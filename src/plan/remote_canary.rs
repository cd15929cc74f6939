//! The canary log group of each remote source (`spec.sources.remote`), in its account and
//! region: created when missing, its retention and tags restored as the pipeline's own canary
//! group's are ([`super::owned_log_groups`]), deleted with the pipeline and with its place
//! (dropped from `spec.sources.remote`: found through the hints); one another pipeline owns is
//! a conflict (and left alone once its place is dropped). Named `<account>/<region>:<log group>`
//! like the remote filters.

use super::diff::Changes;
use super::normalize;
use super::ownership::ownership_conflict;
use super::{Builder, Op, Step};
use crate::arn::AwsTarget;
use crate::desired::{Desired, LogGroupSpec, RemoteSpec};
use crate::observed::{Observed, ObservedLogGroup};
use crate::resources::ResourceKind;

const KIND: ResourceKind = ResourceKind::RemoteCanaryLogGroup;

/// Plans every remote source's canary log group.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    for r in &d.remote {
        let Some(want) = &r.canary_log_group else {
            continue;
        };
        let name = r.resource_name(&want.name);
        match o.remote_canary_log_groups.get(&name) {
            None => b.push(
                Op::Create,
                KIND,
                &name,
                Vec::new(),
                format!("canary log group of {} does not exist", r.key()),
                Step::CreateLogGroup(want.clone()),
            ),
            Some(g) => match ownership_conflict(d, &g.tags) {
                Some((cause, reason)) => b.conflict(KIND, &name, cause, reason),
                None => update(b, &name, want, g),
            },
        }
    }
    dropped(b, d, o);
}

/// The canary group of every place read that `d` no longer declares, once its filter is gone
/// (removals run filters first): deleted when it is this pipeline's, as its own canary group's
/// ownership is judged; another's is left alone without a conflict, the place being none of
/// this pipeline's business any more.
fn dropped(b: &mut Builder, d: &Desired, o: &Observed) {
    const DROPPED: &str =
        "canary log group of an account and region that are no longer a source of this pipeline";
    let declared: Vec<String> = d.remote.iter().map(RemoteSpec::key).collect();
    for (name, g) in &o.remote_canary_log_groups {
        let Some((place, group)) = RemoteSpec::parse_resource_name(name) else {
            continue;
        };
        if !declared.contains(&place.to_string()) && ownership_conflict(d, &g.tags).is_none() {
            let step = delete_step(&place, group);
            b.push(Op::Delete, KIND, name, Vec::new(), DROPPED, step);
        }
    }
}

/// Restores the retention and tags where they differ (an ignored field keeps its live value).
fn update(b: &mut Builder, name: &str, want: &LogGroupSpec, g: &ObservedLogGroup) {
    let ignored = |field: &str| b.ignores(KIND, name, field, None);
    let mut changes = Changes::default();
    let want_retention = Some(want.retention_days);
    changes.field("retentionInDays", None, &want_retention, &g.retention_days);
    let retention = want_retention != g.retention_days && !ignored("retentionInDays");
    changes.tags(&want.tags, &g.tags);
    let mut group = want.clone();
    group.tags.retain(|k, _| !ignored(&format!("Tags.{k}")));
    let tags = !normalize::tags_missing(&group.tags, &g.tags).is_empty();
    if changes.0.is_empty() {
        return;
    }
    let step = Step::UpdateLogGroup {
        group,
        retention,
        tags,
    };
    let reason = "remote canary log group settings differ";
    b.push(Op::Update, KIND, name, changes.0, reason, step);
}

/// Every remote canary log group that exists (it holds only canaries), of the places declared
/// and of those dropped before, unless it is someone else's: the pipeline is deleted.
pub(super) fn delete(b: &mut Builder, d: &Desired, o: &Observed, reason: &str) {
    for (name, g) in &o.remote_canary_log_groups {
        let Some((place, group)) = RemoteSpec::parse_resource_name(name) else {
            continue;
        };
        match ownership_conflict(d, &g.tags) {
            None => {
                let step = delete_step(&place, group);
                b.push(Op::Delete, KIND, name, Vec::new(), reason, step)
            }
            Some((cause, why)) => b.conflict(KIND, name, cause, format!("left in place: {why}")),
        }
    }
}

fn delete_step(place: &AwsTarget, group: &str) -> Step {
    Step::DeleteRemoteLogGroup {
        account: place.account_id.clone(),
        region: place.region.clone(),
        name: group.to_owned(),
    }
}
