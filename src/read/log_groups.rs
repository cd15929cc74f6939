//! Observe log groups: the error and canary log groups (retention and tags), the source groups
//! with every subscription filter they carry, and the routes' groups among them (retention and
//! tags, from the sources' listings).

use super::batch::{self, Batch, ListedGroup};
use super::{Hints, absent_if_not_found};
use crate::aws::logs;
use crate::aws::{AwsError, RegionClients};
use crate::desired::{Desired, LogGroupSpec};
use crate::observed::ObservedLogGroup;
use crate::resources::SubscriptionFilter;
use std::collections::{BTreeMap, BTreeSet};

/// Every log group whose name starts with `prefix`, with its retention: from `batch` when
/// given, else walked for this lookup alone.
async fn groups_with_prefix(
    c: &RegionClients,
    batch: Option<&Batch>,
    prefix: &str,
) -> Result<Vec<ListedGroup>, AwsError> {
    match batch {
        Some(b) => b.groups_with_prefix(c, prefix).await,
        None => batch::walk_prefix(c, prefix).await,
    }
}

/// The retention and tags of one of pitagora's own log groups (errors, canary); `None` when it
/// does not exist.
pub(super) async fn owned(
    c: &RegionClients,
    batch: Option<&Batch>,
    group: &LogGroupSpec,
) -> Result<Option<ObservedLogGroup>, AwsError> {
    named_in(c, batch, &group.name, &group.arn).await
}

/// The retention and tags of the log group `name` (whose ARN is `arn`), read directly; `None`
/// when it does not exist.
pub(super) async fn named(
    c: &RegionClients,
    name: &str,
    arn: &str,
) -> Result<Option<ObservedLogGroup>, AwsError> {
    named_in(c, None, name, arn).await
}

async fn named_in(
    c: &RegionClients,
    batch: Option<&Batch>,
    name: &str,
    arn: &str,
) -> Result<Option<ObservedLogGroup>, AwsError> {
    let Some((_, retention_days)) = groups_with_prefix(c, batch, name)
        .await?
        .into_iter()
        .find(|(g, _)| g == name)
    else {
        return Ok(None);
    };
    Ok(Some(with_tags(c, batch, arn, retention_days).await?))
}

/// A listed log group with its tags: from `batch`'s walk when it listed the group, else read
/// directly.
async fn with_tags(
    c: &RegionClients,
    batch: Option<&Batch>,
    arn: &str,
    retention_days: Option<i32>,
) -> Result<ObservedLogGroup, AwsError> {
    let tags = match batch {
        Some(b) => b.tags(c, arn).await?,
        None => None,
    };
    let tags = match tags {
        Some(tags) => tags,
        None => tags_of(c, arn).await?,
    };
    Ok(ObservedLogGroup {
        retention_days,
        tags,
    })
}

/// A route's log group with its tags. Through a batch, one its tag walk did not list carries no
/// owner tag: it is its team's, which the plan leaves alone whatever its other tags, so they are
/// not read (the migration's usual case, a group fluentd writes into already, costs no read).
async fn route_group(
    c: &RegionClients,
    batch: Option<&Batch>,
    group: &LogGroupSpec,
    retention_days: Option<i32>,
) -> Result<ObservedLogGroup, AwsError> {
    match batch {
        Some(b) => Ok(ObservedLogGroup {
            retention_days,
            tags: b.tags(c, &group.arn).await?.unwrap_or_default(),
        }),
        None => with_tags(c, None, &group.arn, retention_days).await,
    }
}

/// Every tag of the log group `arn`, read directly.
async fn tags_of(c: &RegionClients, arn: &str) -> Result<crate::resources::Tags, AwsError> {
    let listed = c
        .send("CloudWatchLogs.ListTagsForResource", || {
            c.logs.list_tags_for_resource().resource_arn(arn).send()
        })
        .await?;
    Ok(logs::tags_from_sdk(listed.tags()))
}

/// The source log groups as observed: every one the pipeline selects or selected before, with
/// all its filters, and the routes' groups among them with their retention and tags.
#[derive(Default)]
pub(super) struct Sources {
    pub(super) filters: BTreeMap<String, Vec<SubscriptionFilter>>,
    pub(super) routes: BTreeMap<String, ObservedLogGroup>,
}

/// Every log group the pipeline selects or selected before (`hints`), with all its filters; and
/// the routes' log groups, from the same listings (a route's group is a source), with their tags.
pub(super) async fn sources(
    c: &RegionClients,
    batch: Option<&Batch>,
    d: &Desired,
    hints: &Hints,
) -> Result<Sources, AwsError> {
    let exact = exact_names(d, hints);
    let mut names = BTreeMap::new();
    for prefix in lookups(d, &exact) {
        for (group, retention) in groups_with_prefix(c, batch, prefix).await? {
            if d.filters.selects(&group) || exact.contains(group.as_str()) {
                names.insert(group, retention);
            }
        }
    }
    let mut out = Sources::default();
    for route in &d.route_log_groups {
        if let Some(retention) = names.get(&route.name) {
            let group = absent_if_not_found(route_group(c, batch, route, *retention).await)?;
            out.routes.extend(group.map(|g| (route.name.clone(), g)));
        }
    }
    for group in names.into_keys() {
        let filters = absent_if_not_found(filters_of(c, &group).await)?;
        // A group deleted between the listing and this read is simply gone.
        if let Some(filters) = filters {
            out.filters.insert(group, filters);
        }
    }
    Ok(out)
}

/// The log groups the pipeline names exactly: its sources, its canary's group, its routes' groups
/// and the groups it selected before.
fn exact_names<'a>(d: &'a Desired, hints: &'a Hints) -> BTreeSet<&'a str> {
    d.filters
        .log_groups
        .iter()
        .chain(&d.filters.canary)
        .chain(&hints.previous_log_groups)
        .map(String::as_str)
        .chain(d.route_log_groups.iter().map(|g| g.name.as_str()))
        .collect()
}

/// Every log-group lookup an observation of `d` makes, for [`Batch::expect_prefixes`].
pub fn all_lookups(d: &Desired, hints: &Hints) -> Vec<String> {
    let exact = exact_names(d, hints);
    let mut all: BTreeSet<&str> = lookups(d, &exact);
    all.insert(&d.error_log_group.name);
    all.extend(d.canary_log_group.as_ref().map(|g| g.name.as_str()));
    all.into_iter().map(str::to_owned).collect()
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
pub async fn filters_of(
    c: &RegionClients,
    group: &str,
) -> Result<Vec<SubscriptionFilter>, AwsError> {
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
