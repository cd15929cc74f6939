//! Which accounts a pipeline's remote sources may reach (`spec.sources.remote`): a log group
//! in another account than the pipeline's is read and subscribed with the role the operator's
//! accounts file lists for that account, and only where the file's `namespaces.<ns>.sources`
//! allow the pipeline's namespace. Those groups are the accounts file's business alone; groups
//! of the pipeline's own account (another region) follow the tenancy rules
//! ([`super::tenancy`]). Pure: the engine calls [`outside`] while validating, before any AWS
//! call, and [`unreachable`] once the pipeline's account is known.

use super::accounts::Accounts;
use super::tenancy::Tenancy;
use super::types::{LogPipelineSpec, RemoteSource};
use super::validate::FieldError;
use crate::names::PipelineId;

/// Every log group, prefix and function of `spec` outside what pipeline `id`'s namespace may
/// use: the tenancy's rules (`None`: anything) for its own account, the accounts file's
/// (`None`: no file, so no other account is reachable) for the others. `default_region` is the
/// region of a spec that names none.
pub fn outside(
    tenancy: Option<&Tenancy>,
    accounts: Option<&Accounts>,
    id: &PipelineId,
    spec: &LogPipelineSpec,
    default_region: Option<&str>,
) -> Vec<FieldError> {
    let none = Accounts::default();
    let accounts = accounts.unwrap_or(&none);
    // Known offline only for a namespace the file maps; the controller's own account is not.
    let home = accounts
        .role_for(&id.namespace)
        .map(|r| r.account_id.as_str());
    let foreign = |r: &RemoteSource| governed(accounts, r, home);
    let mut errors = tenancy
        .map(|t| t.check_except(id, spec, &foreign))
        .unwrap_or_default();
    let region = spec.region.as_deref().or(default_region);
    for (i, entry) in spec.sources.remote.iter().enumerate() {
        let Some(account) = entry.account.as_deref() else {
            continue;
        };
        if home.is_some_and(|h| h == account) {
            continue;
        }
        if accounts.role_of(account).is_none() {
            // Unlisted: the controller's own account or an unreachable one, told apart only
            // once the pipeline's account is known (see `unreachable`), unless it is known now.
            if home.is_some() {
                errors.push(no_role(i, account));
            }
            continue;
        }
        let Some(place_region) = entry.region.as_deref().or(region) else {
            continue; // no region: reported by validation
        };
        for (path, group) in groups(i, entry) {
            if !accounts.source_allowed(&id.namespace, Some(account), place_region, group) {
                let fix = allowed(accounts, &id.namespace, account, place_region);
                errors.push(FieldError::new(path, format!("{group:?}"), fix));
            }
        }
    }
    errors
}

/// The entries of `spec.sources.remote` in an account other than the pipeline's `account`
/// (now known) that no role reaches: without the accounts file listing that account, pitagora
/// has no credentials there and would fail at its first read.
pub fn unreachable(
    accounts: Option<&Accounts>,
    spec: &LogPipelineSpec,
    account: &str,
) -> Vec<FieldError> {
    spec.sources
        .remote
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| {
            let theirs = entry.account.as_deref().filter(|a| *a != account)?;
            let listed = accounts.is_some_and(|a| a.role_of(theirs).is_some());
            (!listed).then(|| no_role(i, theirs))
        })
        .collect()
}

/// Whether the accounts file, not the tenancy, decides what `entry` may subscribe: it names an
/// account the file lists that is not the pipeline's (`home`; `None`: the controller's own,
/// which the file never lists).
fn governed(accounts: &Accounts, entry: &RemoteSource, home: Option<&str>) -> bool {
    entry
        .account
        .as_deref()
        .is_some_and(|a| home != Some(a) && accounts.role_of(a).is_some())
}

fn no_role(i: usize, account: &str) -> FieldError {
    FieldError::new(
        format!("spec.sources.remote[{i}].account"),
        format!("{account:?}"),
        format!(
            "account {account} is not the pipeline's and pitagora has no role there: list the \
             account in the accounts file (--accounts, the pitagora-accounts ConfigMap) with its \
             roleArn and externalId and allow the namespace its log groups under \
             namespaces.<namespace>.sources, or remove the entry"
        ),
    )
}

/// The paths and names of `entry`'s log groups and prefixes (entry `i`).
fn groups(i: usize, entry: &RemoteSource) -> impl Iterator<Item = (String, &str)> {
    let path =
        move |field: &'static str, j: usize| format!("spec.sources.remote[{i}].{field}[{j}]");
    let named = entry.log_groups.iter().enumerate();
    let prefixes = entry.log_group_prefixes.iter().enumerate();
    named
        .map(move |(j, g)| (path("logGroups", j), g.as_str()))
        .chain(prefixes.map(move |(j, p)| (path("logGroupPrefixes", j), p.as_str())))
}

/// What `namespace` may subscribe in `account` and `region`, as a fix.
fn allowed(accounts: &Accounts, namespace: &str, account: &str, region: &str) -> String {
    let label = accounts
        .role_of(account)
        .map(|r| r.label())
        .unwrap_or_else(|| account.to_owned());
    let prefixes = accounts.source_prefixes(namespace, account, region);
    if prefixes.is_empty() {
        format!(
            "namespace {namespace} may not subscribe log groups of account {label} in {region} \
             (the operator's accounts file gives it none there); ask the cluster's \
             administrators to add them under namespaces.{namespace}.sources"
        )
    } else {
        format!(
            "namespace {namespace} may subscribe log groups of account {label} in {region} only \
             under {} (the operator's accounts file, namespaces.{namespace}.sources)",
            prefixes.join(", ")
        )
    }
}
