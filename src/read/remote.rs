//! Observe the remote sources: the pipeline's CloudWatch Logs destinations (in its account, one
//! per source region, with their tags) and, in each source account and region, the log groups it selects with
//! every subscription filter they carry.
//!
//! Destinations are read with the pipeline's own credentials in their region; a remote source is
//! read with the clients [`Places::clients_in`] gives for its account and region (the seam for
//! assumed-role credentials), through [`source`], which takes those clients.

use super::absent_if_not_found;
use super::batch;
use super::log_groups::filters_of;
use crate::aws::logs;
use crate::aws::{AwsError, Places, RegionClients};
use crate::desired::{Desired, DestinationSpec, RemoteSpec};
use crate::observed::{ObservedDestination, ObservedLogGroup, RemoteGroups};
use std::collections::{BTreeMap, BTreeSet};

/// What the remote part of a pipeline holds: its destinations by region, and each remote
/// source's groups by `<account>/<region>`.
#[derive(Default)]
pub(super) struct Remote {
    pub(super) destinations: BTreeMap<String, ObservedDestination>,
    pub(super) sources: BTreeMap<String, RemoteGroups>,
    pub(super) canary_groups: BTreeMap<String, ObservedLogGroup>,
}

/// Reads every destination and remote source of `d`.
pub(super) async fn read(aws: &Places, d: &Desired) -> Result<Remote, AwsError> {
    let mut out = Remote::default();
    for want in &d.destinations {
        let c = aws.region(&want.region);
        if let Some(destination) = destination(&c, want).await? {
            let listed = c
                .send("CloudWatchLogs.ListTagsForResource", || {
                    c.logs
                        .list_tags_for_resource()
                        .resource_arn(&want.arn)
                        .send()
                })
                .await?;
            let tags = logs::tags_from_sdk(listed.tags());
            let found = ObservedDestination { destination, tags };
            out.destinations.insert(want.region.clone(), found);
        }
    }
    for r in &d.remote {
        let c = aws.clients_in(&r.place.account_id, &r.place.region)?;
        out.sources.insert(r.key(), source(&c, r).await?);
        if let Some(g) = &r.canary_log_group
            && let Some(found) = super::log_groups::owned(&c, None, g).await?
        {
            out.canary_groups.insert(r.key(), found);
        }
    }
    Ok(out)
}

/// The destination `want` names, as it exists in its region (`None`: it does not).
async fn destination(
    c: &RegionClients,
    want: &DestinationSpec,
) -> Result<Option<crate::resources::Destination>, AwsError> {
    let name = &want.destination.name;
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
            .find(|d| &d.name == name);
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
    let mut groups = RemoteGroups::new();
    for group in names {
        // A group deleted between the listing and this read is simply gone.
        if let Some(filters) = absent_if_not_found(filters_of(c, &group).await)? {
            groups.insert(group, filters);
        }
    }
    Ok(groups)
}
