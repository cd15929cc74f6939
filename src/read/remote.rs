//! Observe the remote sources: the pipeline's CloudWatch Logs destinations (in its account, one
//! per source region, with their tags) and, in each source account and region, the log groups it selects with
//! every subscription filter they carry.
//!
//! Destinations are read with the pipeline's own credentials in their region; a remote source is
//! read with the clients [`Places::clients_in`] gives for its account and region (the seam for
//! assumed-role credentials), through [`source`], which takes those clients.

use super::batch;
use super::log_groups::filters_of;
use super::{Hints, absent_if_not_found};
use crate::arn::AwsTarget;
use crate::aws::logs;
use crate::aws::{AwsError, Places, RegionClients};
use crate::desired::{Desired, RemoteSpec};
use crate::names::destination_name;
use crate::observed::{ObservedDestination, ObservedLogGroup, RemoteGroups};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// What the remote part of a pipeline holds: its destinations by region, each remote source's
/// groups by `<account>/<region>`, and the canary groups by `<account>/<region>:<group>`.
#[derive(Default)]
pub(super) struct Remote {
    pub(super) destinations: BTreeMap<String, ObservedDestination>,
    pub(super) sources: BTreeMap<String, RemoteGroups>,
    pub(super) canary_groups: BTreeMap<String, ObservedLogGroup>,
}

/// Whether `d` has no remote part, now or before (`hints`, and no region to discover in):
/// nothing to read.
pub(super) fn none(d: &Desired, hints: &Hints) -> bool {
    d.destinations.is_empty()
        && d.remote.is_empty()
        && hints.previous_remote_filters.is_empty()
        && hints.previous_remote_canary_groups.is_empty()
        && hints.previous_destinations.is_empty()
        && (hints.discover.as_ref()).is_none_or(|x| x.regions.is_empty())
}

/// Reads every destination and remote source of `d`, and those `hints` remember (or discover)
/// that `d` no longer declares.
pub(super) async fn read(aws: &Places, d: &Desired, hints: &Hints) -> Result<Remote, AwsError> {
    let mut out = Remote {
        destinations: destinations(aws, d, hints).await?,
        ..Remote::default()
    };
    let mut filters = hints.previous_remote_filters.clone();
    let mut canary_groups = hints.previous_remote_canary_groups.clone();
    if let Some(discovery) = &hints.discover {
        let found = super::discover::dropped(aws, d, discovery, &out.destinations).await?;
        filters.extend(found.filters);
        canary_groups.extend(found.canary_groups);
    }
    let mut previous = previous_filters(&filters);
    for r in &d.remote {
        let c = aws.clients_in(&r.place.account_id, &r.place.region)?;
        let before = (previous.remove(&r.key()).map(|(_, groups)| groups)).unwrap_or_default();
        out.sources
            .insert(r.key(), source_with(&c, r, &before).await?);
        if let Some(g) = &r.canary_log_group
            && let Some(found) = super::log_groups::owned(&c, None, g).await?
        {
            out.canary_groups.insert(r.resource_name(&g.name), found);
        }
    }
    for (key, (place, groups)) in previous {
        // An account the accounts file no longer lists cannot be reached any more: what
        // pitagora left there is the operator's to remove.
        let Some(c) = reachable(aws, &place)? else {
            continue;
        };
        let mut found = RemoteGroups::new();
        for group in groups {
            if let Some(filters) = absent_if_not_found(filters_of(&c, &group).await)? {
                found.insert(group, filters);
            }
        }
        out.sources.insert(key, found);
    }
    out.canary_groups
        .extend(dropped_canary_groups(aws, d, &canary_groups).await?);
    Ok(out)
}

/// The clients of `place`; `None` for an account pitagora has no role in.
fn reachable(aws: &Places, place: &AwsTarget) -> Result<Option<Arc<RegionClients>>, AwsError> {
    match aws.clients_in(&place.account_id, &place.region) {
        Err(AwsError::NoRole { .. }) => Ok(None),
        c => c.map(Some),
    }
}

/// The destinations of `d` that exist, by region: in the regions `d` declares, those `hints`
/// name, and those they discover in.
async fn destinations(
    aws: &Places,
    d: &Desired,
    hints: &Hints,
) -> Result<BTreeMap<String, ObservedDestination>, AwsError> {
    let mut regions: BTreeSet<&str> = d.destinations.iter().map(|w| w.region.as_str()).collect();
    let stream_prefix = format!("{}-", d.names.stream);
    regions.extend(
        hints
            .previous_destinations
            .iter()
            .filter_map(|n| n.strip_prefix(stream_prefix.as_str())),
    );
    regions.extend(
        hints
            .discover
            .iter()
            .flat_map(|x| &x.regions)
            .map(String::as_str),
    );
    let mut out = BTreeMap::new();
    for region in regions {
        let c = aws.region(region);
        let name = destination_name(&d.names.stream, region);
        if let Some(destination) = destination(&c, &name).await? {
            let arn = AwsTarget::new(&d.target.account_id, region)
                .regional("logs", &format!("destination:{name}"));
            let listed = c
                .send("CloudWatchLogs.ListTagsForResource", || {
                    c.logs.list_tags_for_resource().resource_arn(&arn).send()
                })
                .await?;
            let tags = logs::tags_from_sdk(listed.tags());
            out.insert(region.to_owned(), ObservedDestination { destination, tags });
        }
    }
    Ok(out)
}

/// The canary groups among `names` (as plans name them) of places `d` no longer declares that
/// exist, with their retention and tags.
async fn dropped_canary_groups(
    aws: &Places,
    d: &Desired,
    names: &[String],
) -> Result<BTreeMap<String, ObservedLogGroup>, AwsError> {
    let declared: BTreeSet<String> = d.remote.iter().map(RemoteSpec::key).collect();
    let mut out = BTreeMap::new();
    for name in names.iter().collect::<BTreeSet<_>>() {
        let Some((place, group)) = RemoteSpec::parse_resource_name(name) else {
            continue;
        };
        if declared.contains(&place.to_string()) {
            continue;
        }
        let Some(c) = reachable(aws, &place)? else {
            continue;
        };
        let arn = place.log_group_arn(group);
        if let Some(found) = super::log_groups::named(&c, group, &arn).await? {
            out.insert(name.clone(), found);
        }
    }
    Ok(out)
}

/// The groups of each place (`<account>/<region>`) that carried a remote filter before, as
/// `names` (plans' names of the filters) say.
fn previous_filters(names: &[String]) -> BTreeMap<String, (AwsTarget, BTreeSet<String>)> {
    let mut by: BTreeMap<String, (AwsTarget, BTreeSet<String>)> = BTreeMap::new();
    for name in names {
        if let Some((place, group)) = RemoteSpec::parse_resource_name(name) {
            let entry = by
                .entry(place.to_string())
                .or_insert_with(|| (place, BTreeSet::new()));
            entry.1.insert(group.to_owned());
        }
    }
    by
}

/// The destination named `name`, as it exists in its region (`None`: it does not).
async fn destination(
    c: &RegionClients,
    name: &str,
) -> Result<Option<crate::resources::Destination>, AwsError> {
    let mut token: Option<String> = None;
    loop {
        let out = c
            .send("CloudWatchLogs.DescribeDestinations", || {
                c.logs
                    .describe_destinations()
                    .destination_name_prefix(name)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        // A prefix also lists longer names: only the exact one is the pipeline's.
        let found = out
            .destinations()
            .iter()
            .map(logs::destination_from_sdk)
            .find(|d| d.name == name);
        if found.is_some() {
            return Ok(found);
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(None),
        }
    }
}

/// Every log group of the remote source `r` that it selects, with all its filters, read with
/// `c`: the clients of `r`'s account and region.
pub async fn source(c: &RegionClients, r: &RemoteSpec) -> Result<RemoteGroups, AwsError> {
    source_with(c, r, &BTreeSet::new()).await
}

/// [`source`], also reading the groups of `before` (those that carried its filter before).
async fn source_with(
    c: &RegionClients,
    r: &RemoteSpec,
    before: &BTreeSet<String>,
) -> Result<RemoteGroups, AwsError> {
    let prefixes = &r.filters.log_group_prefixes;
    let mut lookups: BTreeSet<&str> = prefixes.iter().map(String::as_str).collect();
    // The path's canary group is a source too (under the first prefix, or by its name).
    lookups.extend(
        r.filters
            .log_groups
            .iter()
            .chain(&r.filters.canary)
            .map(String::as_str)
            .filter(|g| !prefixes.iter().any(|p| g.starts_with(p.as_str()))),
    );
    let mut names = BTreeSet::new();
    for prefix in lookups {
        for (group, _) in batch::walk_prefix(c, prefix).await? {
            if r.filters.selects(&group) {
                names.insert(group);
            }
        }
    }
    names.extend(before.iter().cloned());
    let mut groups = RemoteGroups::new();
    for group in names {
        // A group deleted between the listing and this read is simply gone.
        if let Some(filters) = absent_if_not_found(filters_of(c, &group).await)? {
            groups.insert(group, filters);
        }
    }
    Ok(groups)
}
