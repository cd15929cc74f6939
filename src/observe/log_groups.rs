//! Observe log groups: the error log group (retention and tags) and the source groups with
//! every subscription filter they carry.

use super::{Hints, absent_if_not_found};
use crate::aws::logs;
use crate::aws::{AwsError, RegionClients};
use crate::desired::{Desired, LogGroupSpec};
use crate::observed::ObservedLogGroup;
use crate::resources::SubscriptionFilter;
use std::collections::{BTreeMap, BTreeSet};

/// Every log group whose name starts with `prefix`, with its retention.
async fn groups_with_prefix(
    c: &RegionClients,
    prefix: &str,
) -> Result<Vec<(String, Option<i32>)>, AwsError> {
    let mut groups = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .send("CloudWatchLogs.DescribeLogGroups", || {
                c.logs
                    .describe_log_groups()
                    .log_group_name_prefix(prefix)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        groups.extend(out.log_groups().iter().filter_map(logs::group_from_sdk));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(groups),
        }
    }
}

/// The retention and tags of one of pitagora's own log groups (errors, canary); `None` when it
/// does not exist.
pub(super) async fn owned(
    c: &RegionClients,
    group: &LogGroupSpec,
) -> Result<Option<ObservedLogGroup>, AwsError> {
    let name = &group.name;
    let Some((_, retention_days)) = groups_with_prefix(c, name)
        .await?
        .into_iter()
        .find(|(g, _)| g == name)
    else {
        return Ok(None);
    };
    let arn = &group.arn;
    let listed = c
        .send("CloudWatchLogs.ListTagsForResource", || {
            c.logs.list_tags_for_resource().resource_arn(arn).send()
        })
        .await?;
    Ok(Some(ObservedLogGroup {
        retention_days,
        tags: logs::tags_from_sdk(listed.tags()),
    }))
}

/// Every log group the pipeline selects or selected before (`hints`), with all its filters.
pub(super) async fn sources(
    c: &RegionClients,
    d: &Desired,
    hints: &Hints,
) -> Result<BTreeMap<String, Vec<SubscriptionFilter>>, AwsError> {
    let exact: BTreeSet<&str> = d
        .filters
        .log_groups
        .iter()
        .chain(&d.filters.canary)
        .chain(&hints.previous_log_groups)
        .map(String::as_str)
        .collect();
    let mut names = BTreeSet::new();
    for prefix in lookups(d, &exact) {
        for (group, _) in groups_with_prefix(c, prefix).await? {
            if d.filters.selects(&group) || exact.contains(group.as_str()) {
                names.insert(group);
            }
        }
    }
    let mut out = BTreeMap::new();
    for group in names {
        let filters = absent_if_not_found(filters_of(c, &group).await)?;
        // A group deleted between the listing and this read is simply gone.
        if let Some(filters) = filters {
            out.insert(group, filters);
        }
    }
    Ok(out)
}

/// The prefixes to list: the source prefixes, and each exact name not under one of them.
/// Exact names are looked up by prefix too (the API has no exact-name filter); names that are
/// themselves under a source prefix are covered by that prefix's listing.
fn lookups<'a>(d: &'a Desired, exact: &BTreeSet<&'a str>) -> BTreeSet<&'a str> {
    let prefixes = &d.filters.log_group_prefixes;
    let mut lookups: BTreeSet<&str> = prefixes.iter().map(String::as_str).collect();
    lookups.extend(
        exact
            .iter()
            .filter(|name| !prefixes.iter().any(|p| name.starts_with(p.as_str()))),
    );
    lookups
}

/// Every subscription filter of one log group.
async fn filters_of(c: &RegionClients, group: &str) -> Result<Vec<SubscriptionFilter>, AwsError> {
    let mut filters = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .send("CloudWatchLogs.DescribeSubscriptionFilters", || {
                c.logs
                    .describe_subscription_filters()
                    .log_group_name(group)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        filters.extend(out.subscription_filters().iter().map(logs::filter_from_sdk));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(filters),
        }
    }
}
