//! The places dropped from `spec.sources.remote`, found live for a caller that keeps no record of
//! what it applied (the CLI; the controller reads them from its status, [`Hints`]).
//!
//! A place that delivered to the pipeline is named by the access policy of its region's
//! destination (`<stream>-<region>`, in the pipeline's account): the read looks for one in every
//! region the accounts file allows the namespace sources in (and those the spec names), and for
//! each source account a destination's policy allows that the spec no longer declares in that
//! region, and that pitagora reaches (the pipeline's account, or the accounts file's role), it
//! lists the groups under the prefixes the accounts file allows the namespace there and under the
//! canary root, and asks each for its filters: those carrying the pipeline's filter are found as
//! the hints would name them, the canary group among them. Bounded: [`MAX_GROUPS`] per place.

use super::Hints;
use super::absent_if_not_found;
use super::batch::walk_prefix;
use super::log_groups::filters_of;
use crate::arn::AwsTarget;
use crate::aws::{AwsError, Places, RegionClients};
use crate::desired::{Desired, RemoteSpec};
use crate::names::CANARY_LOG_GROUP_ROOT;
use crate::observed::{Observed, ObservedDestination};
use crate::spec::Accounts;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The most log groups whose filters one dropped place's search reads (one
/// `DescribeSubscriptionFilters` each); beyond, the rest are not looked at, and a warning says so.
pub const MAX_GROUPS: usize = 500;

/// Where the previous places of one pipeline may be.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Discovery {
    /// The regions of the pipeline's account to look for its destination in (the read adds
    /// those the spec names).
    pub regions: BTreeSet<String>,
    /// Per place (`<account>/<region>`), the log-group prefixes the pipeline may have taken
    /// there.
    pub prefixes: BTreeMap<String, Vec<String>>,
}

impl Discovery {
    /// Everywhere the accounts file lets `namespace`'s pipelines, built in account `home`, take
    /// sources (a source without an account is the controller's own, the pipeline's account
    /// only when the file maps the namespace to none). `None`: no file, no such place.
    pub fn of(accounts: Option<&Accounts>, namespace: &str, home: &str) -> Self {
        let mut found = Self::default();
        let Some(accounts) = accounts else {
            return found;
        };
        let at_home = accounts.role_for(namespace).is_none();
        for s in accounts.sources_of(namespace) {
            let account = match &s.account {
                Some(a) => a.as_str(),
                None if at_home => home,
                None => continue,
            };
            for region in &s.regions {
                found.regions.insert(region.clone());
                let place = AwsTarget::new(account, region).to_string();
                let prefixes = found.prefixes.entry(place).or_default();
                prefixes.extend(s.log_group_prefixes.iter().cloned());
            }
        }
        found
    }

    /// Every account it names.
    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.prefixes.keys().filter_map(|p| p.split('/').next())
    }
}

/// What the search found, named as the hints name it (`<account>/<region>:<group>`).
#[derive(Default)]
pub(super) struct Found {
    pub(super) filters: Vec<String>,
    pub(super) canary_groups: Vec<String>,
}

/// The pipeline's filters (and canary groups) in every place that one of `destinations` (the
/// pipeline's, by region) still allows and that `d` no longer declares.
pub(super) async fn dropped(
    aws: &Places,
    d: &Desired,
    discovery: &Discovery,
    destinations: &BTreeMap<String, ObservedDestination>,
) -> Result<Found, AwsError> {
    let declared: BTreeSet<String> = d.remote.iter().map(RemoteSpec::key).collect();
    let mut found = Found::default();
    for (region, live) in destinations {
        for account in source_accounts(live.destination.access_policy.as_ref()) {
            let place = AwsTarget::new(account, region);
            if declared.contains(&place.to_string()) {
                continue;
            }
            // Without a role there, what pitagora left is the operator's to remove.
            let c = match aws.clients_in(&place.account_id, region) {
                Err(AwsError::NoRole { .. }) => continue,
                c => c?,
            };
            let none = Vec::new();
            let prefixes = discovery.prefixes.get(&place.to_string()).unwrap_or(&none);
            search(&c, d, &place, prefixes, &mut found).await?;
        }
    }
    Ok(found)
}

/// The groups of `place` under `prefixes` or named as its canary group would be that carry the
/// pipeline's filter, at most [`MAX_GROUPS`] of them read.
async fn search(
    c: &RegionClients,
    d: &Desired,
    place: &AwsTarget,
    prefixes: &[String],
    found: &mut Found,
) -> Result<(), AwsError> {
    let stream = &d.names.stream;
    let root = format!("{CANARY_LOG_GROUP_ROOT}{stream}");
    let mut lookups: BTreeSet<&str> = prefixes.iter().map(String::as_str).collect();
    lookups.insert(&root);
    let mut names = BTreeSet::new();
    for prefix in lookups {
        let listed = walk_prefix(c, prefix).await?.into_iter().map(|(g, _)| g);
        names.extend(listed.filter(|g| prefix != root || *g == root));
    }
    if names.len() > MAX_GROUPS {
        tracing::warn!(place = %place, groups = names.len(), "more log groups than a search of a dropped place reads: the pipeline's filters on the rest are not looked for");
    }
    let canary = format!("{stream}-canary");
    for group in names.into_iter().take(MAX_GROUPS) {
        let Some(filters) = absent_if_not_found(filters_of(c, &group).await)? else {
            continue;
        };
        if filters.iter().any(|f| f.name == d.filters.filter.name) {
            let name = format!("{place}:{group}");
            if group == root || group.ends_with(&canary) {
                found.canary_groups.push(name.clone());
            }
            found.filters.push(name);
        }
    }
    Ok(())
}

/// The accounts a destination's access policy lets subscribe (ids, or the account of an ARN).
fn source_accounts(policy: Option<&Value>) -> BTreeSet<String> {
    let statements = policy.and_then(|p| p["Statement"].as_array());
    let principals = statements
        .into_iter()
        .flatten()
        .map(|s| &s["Principal"]["AWS"]);
    let each = principals.flat_map(|p| match p {
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        Value::String(one) => vec![one.as_str()],
        _ => Vec::new(),
    });
    each.filter_map(|p| {
        let id = p.split(':').nth(4).unwrap_or(p);
        (id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())).then(|| id.to_owned())
    })
    .collect()
}

impl Hints {
    /// These hints, when they discover (see [`Hints::discover`]), also naming what `o` holds of
    /// `d`'s places and destinations that `d` no longer declares: a later read of the same run
    /// finds them again though discovery no longer would (a destination's policy narrowed).
    pub fn remembering(&self, d: &Desired, o: &Observed) -> Self {
        let mut hints = self.clone();
        if hints.discover.is_none() {
            return hints;
        }
        let declared: BTreeSet<String> = d.remote.iter().map(RemoteSpec::key).collect();
        let filter = &d.filters.filter.name;
        for (key, groups) in o.remote.iter().filter(|(k, _)| !declared.contains(*k)) {
            for (group, filters) in groups {
                if filters.iter().any(|f| &f.name == filter) {
                    (hints.previous_remote_filters).push(format!("{key}:{group}"));
                }
            }
        }
        (hints.previous_remote_canary_groups).extend(o.remote_canary_log_groups.keys().cloned());
        let destinations = o.destinations.values().map(|x| x.destination.name.clone());
        hints.previous_destinations.extend(destinations);
        hints
    }
}
