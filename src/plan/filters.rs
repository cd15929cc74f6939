//! The subscription filters that send each source log group's events into the stream: how they
//! are planned (put on every selected group, updated where they differ, removed from groups no
//! longer selected, and put on the routes' log groups this plan creates; and the source log
//! groups the spec names that do not exist), a filter's
//! canonical form and its field-by-field comparison.

use super::diff::Changes;
use super::ownership::foreign;
use super::{Builder, Change, ConflictKind, Op, Step};
use crate::arn;
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::{ResourceKind, SubscriptionFilter};

/// Plans the subscription filters and the source log groups.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    // Filters deliver into the stream of this pipeline's name. While that stream is someone
    // else's (its conflict is planned), a filter put now would send the group's events there.
    let stream_foreign = o.stream.as_ref().is_some_and(|s| foreign(d, &s.tags));
    for (group, filters) in &o.log_groups {
        let ours = filters.iter().find(|f| f.name == d.filters.filter.name);
        match (d.filters.selects(group), ours) {
            (true, Some(actual)) if !stream_foreign => update(b, d, group, actual),
            (true, None) => create(b, d, o, group, filters, stream_foreign),
            (false, Some(actual)) => remove(b, group, actual),
            _ => {}
        }
    }
    // The canary log group and the routes' log groups this plan creates carry the filter from
    // the start.
    if let Some(canary) = &d.filters.canary
        && o.canary_log_group.is_none()
        && !o.log_groups.contains_key(canary)
    {
        create(b, d, o, canary, &[], stream_foreign);
    }
    for route in &d.route_log_groups {
        if !o.log_groups.contains_key(&route.name) && d.filters.selects(&route.name) {
            create(b, d, o, &route.name, &[], stream_foreign);
        }
    }
    missing_sources(b, d, o);
}

fn put(d: &Desired, group: &str) -> Step {
    Step::PutFilter {
        log_group: group.to_owned(),
        filter: d.filters.filter.clone(),
    }
}

/// This pipeline's filter on a selected group: overwrite it where it differs from the spec.
fn update(b: &mut Builder, d: &Desired, group: &str, actual: &SubscriptionFilter) {
    let mut changes = Changes::default();
    let want = canonical(&d.filters.filter);
    compare(&want, &canonical(actual), &mut changes);
    if !changes.0.is_empty() {
        let reason = "subscription filter differs from the spec";
        // The filter is put whole: an ignored field is put as it is.
        let mut filter = d.filters.filter.clone();
        let ignored = |field: &str, spec: Option<&str>| {
            b.ignores(ResourceKind::SubscriptionFilter, group, field, spec)
        };
        keep_live(&mut filter, actual, &ignored);
        let step = Step::PutFilter {
            log_group: group.to_owned(),
            filter,
        };
        b.push(
            Op::Update,
            ResourceKind::SubscriptionFilter,
            group,
            changes.0,
            reason,
            step,
        );
    }
}

/// A selected group without this pipeline's filter: put it, unless the group holds as many filters
/// as AWS allows (a conflict: see [`crate::observed::FilterLimit`] for how that number is known)
/// or the stream is someone else's.
fn create(
    b: &mut Builder,
    d: &Desired,
    o: &Observed,
    group: &str,
    filters: &[SubscriptionFilter],
    stream_foreign: bool,
) {
    let limit = &o.filter_limit;
    if filters.len() >= limit.per_group {
        b.conflict(
            ResourceKind::SubscriptionFilter,
            group,
            ConflictKind::FilterLimit,
            format!(
                "log group has no free subscription filter slot: it holds {} ({}); the limit is {}. pitagora never removes others' filters — free a slot or drop this group from the sources",
                filters.len(),
                occupants(filters.iter().map(|f| f.name.as_str())),
                limit.origin()
            ),
        );
    } else if !stream_foreign {
        b.push(
            Op::Create,
            ResourceKind::SubscriptionFilter,
            group,
            vec![Change {
                field: "filterName".into(),
                spec_field: None,
                desired: Some(d.filters.filter.name.clone()),
                actual: None,
            }],
            if d.filters.canary.as_deref() == Some(group) {
                "the canary log group has no subscription filter for this pipeline"
            } else {
                "source log group has no subscription filter for this pipeline"
            },
            put(d, group),
        );
    }
}

/// Why a pipeline not created yet must not be: every source log group it selects, here and in
/// its remote sources' accounts and regions, exists and holds as many filters as AWS allows
/// (their own [`ConflictKind::FilterLimit`] conflicts name the filters). `None` when it exists
/// already (its filters hold their slots), waits for a source that does not exist yet, creates
/// a route's log group, selects no group yet, or one source has room.
pub(super) fn no_free_source(d: &Desired, o: &Observed) -> Option<String> {
    if o.stack.is_some() || o.stream.is_some() || waits_for_source(d, o) {
        return None;
    }
    let sources = selected_sources(d, o);
    let full = |filters: &[SubscriptionFilter]| {
        filters.len() >= o.filter_limit.per_group
            && filters.iter().all(|f| f.name != d.filters.filter.name)
    };
    if sources.is_empty() || !sources.iter().all(|(_, filters)| full(filters)) {
        return None;
    }
    let groups: Vec<String> = sources
        .iter()
        .map(|(g, filters)| {
            let names = filters.iter().map(|f| f.name.as_str());
            format!("{g} holds {} ({})", filters.len(), occupants(names))
        })
        .collect();
    Some(format!(
        "no source log group has a free subscription filter slot ({}; the limit is {}): the pipeline would receive nothing, so none of it is created until one can be subscribed — free a slot on a source or add a source with room",
        groups.join("; "),
        o.filter_limit.origin()
    ))
}

/// Whether an exact source (here or in a remote source's place) or a route's log group does not
/// exist yet: the pipeline is built to wait for it.
fn waits_for_source(d: &Desired, o: &Observed) -> bool {
    let here = |g: &String| !o.log_groups.contains_key(g);
    let remote = d.remote.iter().any(|r| {
        let groups = o.remote.get(&r.key());
        (r.filters.log_groups.iter()).any(|g| !groups.is_some_and(|gs| gs.contains_key(g)))
    });
    d.filters.log_groups.iter().any(here)
        || d.route_log_groups.iter().any(|r| here(&r.name))
        || remote
}

/// The source log groups `d` selects that exist, here and in each remote source's account and
/// region (named `<account>/<region>:<log group>`), with their filters; canary groups aside.
fn selected_sources<'a>(d: &Desired, o: &'a Observed) -> Vec<(String, &'a [SubscriptionFilter])> {
    let here = (o.log_groups.iter())
        .filter(|(g, _)| d.filters.selects(g) && d.filters.canary.as_deref() != Some(g.as_str()))
        .map(|(g, filters)| (g.clone(), filters.as_slice()));
    let remote = d.remote.iter().flat_map(|r| {
        (o.remote.get(&r.key()).into_iter().flatten())
            .filter(|(g, _)| {
                r.filters.selects(g) && r.filters.canary.as_deref() != Some(g.as_str())
            })
            .map(|(g, filters)| (r.resource_name(g), filters.as_slice()))
    });
    here.chain(remote).collect()
}

/// The filters occupying a log group, each with its owner where the name tells it: another
/// pitagora pipeline's filter is named after that pipeline.
pub fn occupants<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let named: Vec<String> = names
        .map(|name| match crate::names::pipeline_of_filter(name) {
            Some(pipeline) => format!("{name}: pitagora pipeline {pipeline}"),
            None => format!("{name}: not pitagora's"),
        })
        .collect();
    named.join(", ")
}

/// This pipeline's filter on a group that is no longer a source: remove it.
fn remove(b: &mut Builder, group: &str, actual: &SubscriptionFilter) {
    b.push(
        Op::Delete,
        ResourceKind::SubscriptionFilter,
        group,
        vec![Change {
            field: "filterName".into(),
            spec_field: Some("spec.sources".into()),
            desired: None,
            actual: Some(actual.name.clone()),
        }],
        "log group is no longer a source of this pipeline",
        Step::DeleteFilter {
            log_group: group.to_owned(),
            name: actual.name.clone(),
        },
    );
}

/// Exact source log groups that do not exist: pitagora never creates them (but a route's, which
/// this plan creates).
fn missing_sources(b: &mut Builder, d: &Desired, o: &Observed) {
    let route = |g: &String| d.route_log_groups.iter().any(|r| &r.name == g);
    for group in &d.filters.log_groups {
        if !o.log_groups.contains_key(group) && !route(group) {
            b.conflict(
                ResourceKind::LogGroup,
                group,
                ConflictKind::MissingSource,
                "source log group does not exist; pitagora subscribes it as soon as it does (create it, or remove it from spec.sources.logGroups)",
            );
        }
    }
}

/// A subscription filter in canonical form.
pub(super) fn canonical(f: &SubscriptionFilter) -> SubscriptionFilter {
    let mut f = f.clone();
    f.destination_arn = arn::normalize(&f.destination_arn);
    f.role_arn = f.role_arn.as_deref().map(arn::normalize);
    f.pattern = f.pattern.trim().to_owned();
    if f.distribution.is_empty() {
        f.distribution = "ByLogStream".into();
    }
    f
}

/// `write` with the live value of every field `ignored` accepts (the fields of [`compare`]).
pub(super) fn keep_live(
    write: &mut SubscriptionFilter,
    live: &SubscriptionFilter,
    ignored: &dyn Fn(&str, Option<&str>) -> bool,
) {
    if ignored("filterPattern", Some("spec.sources.filterPattern")) {
        write.pattern = live.pattern.clone();
    }
    if ignored("destinationArn", None) {
        write.destination_arn = live.destination_arn.clone();
    }
    if ignored("roleArn", None) {
        write.role_arn = live.role_arn.clone();
    }
    if ignored("distribution", Some("spec.sources.distribution")) {
        write.distribution = live.distribution.clone();
    }
}

/// Differences between two canonical subscription filters.
pub(super) fn compare(d: &SubscriptionFilter, a: &SubscriptionFilter, out: &mut Changes) {
    out.field(
        "filterPattern",
        Some("spec.sources.filterPattern"),
        &d.pattern,
        &a.pattern,
    );
    out.field(
        "destinationArn",
        None,
        &d.destination_arn,
        &a.destination_arn,
    );
    out.field("roleArn", None, &d.role_arn, &a.role_arn);
    out.field(
        "distribution",
        Some("spec.sources.distribution"),
        &d.distribution,
        &a.distribution,
    );
}
