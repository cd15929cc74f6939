//! The remote sources (`spec.sources.remote`): log groups in other accounts or regions than the
//! pipeline's. CloudWatch Logs delivers them only through a CloudWatch Logs destination in the
//! receiving (the pipeline's) account, in the source groups' region: one destination per source
//! region, targeting the pipeline's stream, with the logs role and a policy that lets exactly
//! that region's source accounts subscribe. The filters live in the source accounts, on each
//! source group, naming the destination and no role (the destination's role delivers).

use super::{CANARY_RETENTION_DAYS, FilterSpec, LogGroupSpec, Pipeline};
use crate::arn::AwsTarget;
use crate::names::{CANARY_LOG_GROUP_ROOT, ROLE_PATH, destination_name};
use crate::resources::{Destination, SubscriptionFilter, Tags};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The action a destination policy grants the source accounts.
pub const SUBSCRIBE_ACTION: &str = "logs:PutSubscriptionFilter";

/// One of the pipeline's destinations: in its account, in one source region.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationSpec {
    /// The region it lives in (the pipeline's account).
    pub region: String,
    /// Its ARN, what the remote filters name.
    pub arn: String,
    /// What `PutDestination` and `PutDestinationPolicy` write.
    pub destination: Destination,
    /// Tags (`PutDestination` sets them when it creates the destination).
    pub tags: Tags,
}

/// The log groups of one remote source, in one account and region, and the filter they carry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteSpec {
    /// The source account and region.
    pub place: AwsTarget,
    /// Which groups, and the filter each carries: the pipeline's name, pattern and distribution,
    /// delivering through the region's destination, without a role.
    pub filters: FilterSpec,
    /// The canary log group of this path (`delivery.verify.enabled`), in the source account and
    /// region: named as the pipeline's own is, under the entry's first prefix, else under
    /// `/pitagora/canary/`; created and kept like the pipeline's own (its retention and tags),
    /// and a source of the remote filter, so that its canary proves this path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_log_group: Option<LogGroupSpec>,
}

impl RemoteSpec {
    /// `<account>/<region>`: how observed state and reports key this source.
    pub fn key(&self) -> String {
        self.place.to_string()
    }

    /// The name of the remote filter on `group` in plans and reports:
    /// `<account>/<region>:<group>` (a log group name holds no `:`).
    pub fn resource_name(&self, group: &str) -> String {
        format!("{}:{group}", self.key())
    }

    /// The account and region, and the log group, of a name [`RemoteSpec::resource_name`]
    /// built (its inverse); `None` for any other name.
    pub fn parse_resource_name(name: &str) -> Option<(AwsTarget, &str)> {
        let (place, group) = name.split_once(':')?;
        let (account, region) = place.split_once('/')?;
        let parts = [account, region, group];
        (!parts.iter().any(|p| p.is_empty())).then(|| (AwsTarget::new(account, region), group))
    }
}

/// Each remote entry's account and region, the defaults resolved, in spec order.
fn places(p: &Pipeline) -> Vec<AwsTarget> {
    let home = p.target();
    p.spec()
        .sources
        .remote
        .iter()
        .map(|r| {
            AwsTarget::new(
                r.account.as_deref().unwrap_or(&home.account_id),
                r.region.as_deref().unwrap_or(&home.region),
            )
        })
        .collect()
}

/// The destinations: one per source region, sorted by region.
pub(super) fn destinations(p: &Pipeline, tags: &Tags) -> Vec<DestinationSpec> {
    let (home, names) = (p.target(), p.names());
    let mut accounts: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for place in places(p) {
        accounts
            .entry(place.region)
            .or_default()
            .insert(place.account_id);
    }
    accounts
        .into_iter()
        .map(|(region, accounts)| {
            let at = AwsTarget::new(&home.account_id, &region);
            let name = destination_name(&names.stream, &region);
            let arn = at.regional("logs", &format!("destination:{name}"));
            DestinationSpec {
                destination: Destination {
                    name,
                    target_arn: home.stream_arn(&names.stream),
                    role_arn: home.role_arn(ROLE_PATH, &names.logs_role),
                    access_policy: Some(access_policy(&arn, &accounts)),
                },
                arn,
                region,
                tags: tags.clone(),
            }
        })
        .collect()
}

/// The policy that lets exactly `accounts` subscribe their log groups to the destination `arn`.
fn access_policy(arn: &str, accounts: &BTreeSet<String>) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "SourceAccounts",
            "Effect": "Allow",
            "Principal": {"AWS": accounts.iter().collect::<Vec<_>>()},
            "Action": SUBSCRIBE_ACTION,
            "Resource": arn,
        }],
    })
}

/// The remote sources, in spec order, each delivering through its region's destination.
pub(super) fn sources(
    p: &Pipeline,
    destinations: &[DestinationSpec],
    tags: &Tags,
) -> Vec<RemoteSpec> {
    let (spec, names) = (p.spec(), p.names());
    let local = super::filters::build(p).filter;
    places(p)
        .into_iter()
        .zip(&spec.sources.remote)
        .map(|(place, r)| {
            let destination = destinations
                .iter()
                .find(|d| d.region == place.region)
                .expect("a destination per source region");
            let canary = spec.delivery.verify.enabled.then(|| {
                let name = match r.log_group_prefixes.first() {
                    Some(prefix) => format!("{prefix}{}-canary", names.stream),
                    None => format!("{CANARY_LOG_GROUP_ROOT}{}", names.stream),
                };
                LogGroupSpec {
                    arn: place.log_group_arn(&name),
                    name,
                    retention_days: CANARY_RETENTION_DAYS,
                    tags: tags.clone(),
                }
            });
            RemoteSpec {
                filters: FilterSpec {
                    log_groups: r.log_groups.clone(),
                    log_group_prefixes: r.log_group_prefixes.clone(),
                    canary: canary.as_ref().map(|g| g.name.clone()),
                    filter: SubscriptionFilter {
                        destination_arn: destination.arn.clone(),
                        role_arn: None,
                        ..local.clone()
                    },
                },
                canary_log_group: canary,
                place,
            }
        })
        .collect()
}

/// Where CloudWatch Logs acts from when it assumes the logs role: the pipeline's own account and
/// region, and for each remote source its account in its region and the pipeline's account in
/// that region (where the destination is). AWS's destination guide has the role trust the
/// `aws:SourceArn` of both the sending and the receiving account. Sorted, each once.
pub fn logs_role_sources(p: &Pipeline) -> Vec<AwsTarget> {
    let home = p.target();
    let mut all: BTreeSet<(String, String)> = BTreeSet::new();
    all.insert((home.region.clone(), home.account_id.clone()));
    for place in places(p) {
        all.insert((place.region.clone(), home.account_id.clone()));
        all.insert((place.region, place.account_id));
    }
    all.into_iter()
        .map(|(region, account)| AwsTarget::new(account, region))
        .collect()
}
