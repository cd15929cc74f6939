//! The subscription filters on the remote sources' log groups (`spec.sources.remote`), in their
//! accounts and regions: put on every selected group, naming the region's destination and no
//! role; updated where they differ; removed from groups no longer selected; and the exact
//! source groups that do not exist, as conflicts. Compared as the pipeline's own filters are
//! ([`super::filters`]), and named `<account>/<region>:<log group>`.

use super::diff::Changes;
use super::filters::{canonical, compare, keep_live, occupants};
use super::{Builder, Change, ConflictKind, Op, Step};
use crate::arn::AwsTarget;
use crate::desired::{Desired, RemoteSpec};
use crate::observed::{Observed, RemoteGroups};
use crate::resources::{ResourceKind, SubscriptionFilter};

const KIND: ResourceKind = ResourceKind::RemoteSubscriptionFilter;

/// Plans the filters of every remote source of `d` (none created while the stream is someone
/// else's: they would deliver into it).
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed, stream_foreign: bool) {
    let none = RemoteGroups::new();
    for r in &d.remote {
        let groups = o.remote.get(&r.key()).unwrap_or(&none);
        for (group, filters) in groups {
            let ours = filters.iter().find(|f| f.name == r.filters.filter.name);
            match (r.filters.selects(group), ours) {
                (true, Some(actual)) if !stream_foreign => update(b, r, group, actual),
                (true, None) if !stream_foreign => create(b, o, r, group, filters),
                (false, Some(actual)) => remove(b, &r.place, group, actual, NO_LONGER),
                _ => {}
            }
        }
        for group in &r.filters.log_groups {
            if !groups.contains_key(group) {
                b.conflict(
                    ResourceKind::LogGroup,
                    &r.resource_name(group),
                    ConflictKind::MissingSource,
                    format!(
                        "source log group does not exist in {}; pitagora subscribes it as soon as it does (create it, or remove it from that entry of spec.sources.remote)",
                        r.key()
                    ),
                );
            }
        }
    }
    dropped(b, d, o, DROPPED);
}

const DROPPED: &str = "account and region are no longer a source of this pipeline";

/// This pipeline's filter on the groups of every place read that `d` no longer declares (found
/// through the hints of what was applied before): removed with `reason`.
fn dropped(b: &mut Builder, d: &Desired, o: &Observed, reason: &str) {
    let declared: Vec<String> = d.remote.iter().map(RemoteSpec::key).collect();
    for (key, groups) in o.remote.iter().filter(|(k, _)| !declared.contains(k)) {
        let Some((account, region)) = key.split_once('/') else {
            continue;
        };
        let place = AwsTarget::new(account, region);
        for (group, filters) in groups {
            if let Some(f) = filters.iter().find(|f| f.name == d.filters.filter.name) {
                remove(b, &place, group, f, reason);
            }
        }
    }
}

const NO_LONGER: &str = "log group is no longer a source of this pipeline";

fn put(r: &RemoteSpec, group: &str, filter: SubscriptionFilter) -> Step {
    Step::PutRemoteFilter {
        account: r.place.account_id.clone(),
        region: r.place.region.clone(),
        log_group: group.to_owned(),
        filter,
    }
}

/// This pipeline's filter on a selected remote group: overwrite it where it differs.
fn update(b: &mut Builder, r: &RemoteSpec, group: &str, actual: &SubscriptionFilter) {
    let mut changes = Changes::default();
    compare(
        &canonical(&r.filters.filter),
        &canonical(actual),
        &mut changes,
    );
    if changes.0.is_empty() {
        return;
    }
    let name = r.resource_name(group);
    let mut filter = r.filters.filter.clone();
    let ignored = |field: &str, spec: Option<&str>| b.ignores(KIND, &name, field, spec);
    keep_live(&mut filter, actual, &ignored);
    let step = put(r, group, filter);
    let reason = "subscription filter differs from the spec";
    b.push(Op::Update, KIND, &name, changes.0, reason, step);
}

/// A selected remote group without this pipeline's filter: put it, unless the group holds as
/// many filters as AWS allows.
fn create(b: &mut Builder, o: &Observed, r: &RemoteSpec, group: &str, held: &[SubscriptionFilter]) {
    let name = r.resource_name(group);
    let limit = &o.filter_limit;
    if held.len() >= limit.per_group {
        let reason = format!(
            "log group has no free subscription filter slot: it holds {} ({}); the limit is {}. pitagora never removes others' filters — free a slot or drop this group from the sources",
            held.len(),
            occupants(held.iter().map(|f| f.name.as_str())),
            limit.origin()
        );
        b.conflict(KIND, &name, ConflictKind::FilterLimit, reason);
        return;
    }
    let change = Change {
        field: "filterName".into(),
        spec_field: None,
        desired: Some(r.filters.filter.name.clone()),
        actual: None,
    };
    let reason = "remote source log group has no subscription filter for this pipeline";
    let step = put(r, group, r.filters.filter.clone());
    b.push(Op::Create, KIND, &name, vec![change], reason, step);
}

/// This pipeline's filter on a remote group of `place`: remove it (`reason`: why).
fn remove(
    b: &mut Builder,
    place: &AwsTarget,
    group: &str,
    actual: &SubscriptionFilter,
    reason: &str,
) {
    let change = Change {
        field: "filterName".into(),
        spec_field: Some("spec.sources.remote".into()),
        desired: None,
        actual: Some(actual.name.clone()),
    };
    let step = Step::DeleteRemoteFilter {
        account: place.account_id.clone(),
        region: place.region.clone(),
        log_group: group.to_owned(),
        name: actual.name.clone(),
    };
    let name = format!("{place}:{group}");
    b.push(Op::Delete, KIND, &name, vec![change], reason, step);
}

/// This pipeline's filter on every remote group that has it, in every place read: the pipeline
/// is deleted.
pub(super) fn delete(b: &mut Builder, d: &Desired, o: &Observed, reason: &str) {
    let none = Desired {
        remote: Vec::new(),
        ..d.clone()
    };
    dropped(b, &none, o, reason);
}
