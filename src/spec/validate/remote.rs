//! Validation of the remote sources (`spec.sources.remote`): log groups in other accounts or
//! regions, delivered through a CloudWatch Logs destination per source region.
//!
//! What can be told from the spec alone is checked here: each entry's account and region, its
//! log groups and prefixes (the same rules as the pipeline's own), an entry in the pipeline's
//! own region that names no account, two entries of one account and region. The pipeline's
//! account is known only once AWS is asked, so an entry naming it explicitly is refused by
//! [`remote_sources_at_home`], when the pipeline is placed.

use super::{Errors, FieldError, LOG_GROUP, quoted};
use crate::spec::grammar::region as regions;
use crate::spec::types::*;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The most entries `spec.sources.remote` holds (the schema's `maxItems`): the logs role trusts
/// CloudWatch Logs on behalf of each source account and region, and that trust policy must fit
/// IAM's default 2048 characters (about 45 per place, with one principal per region).
pub const MAX_REMOTE_SOURCES: usize = 20;

static ACCOUNT_ID: LazyLock<regex::Regex> =
    LazyLock::new(|| regex::Regex::new(ACCOUNT_ID_PATTERN).unwrap());

/// `spec.sources.remote`, for a pipeline in `region` (`None`: not known, or invalid).
pub(super) fn validate_remote(e: &mut Errors, s: &Sources, region: Option<&str>) {
    if s.remote.len() > MAX_REMOTE_SOURCES {
        e.push(
            "spec.sources.remote",
            format!("{} items", s.remote.len()),
            format!(
                "too many; at most {MAX_REMOTE_SOURCES} accounts and regions (the logs role's trust policy names each, within IAM's size limit)"
            ),
        );
    }
    for (i, entry) in s.remote.iter().enumerate() {
        let path = format!("spec.sources.remote[{i}]");
        place(e, &path, entry, region);
        groups(e, &path, entry);
    }
    e.0.extend(placement(s, None, region));
}

/// One entry's account and region.
fn place(e: &mut Errors, path: &str, entry: &RemoteSource, region: Option<&str>) {
    if let Some(account) = &entry.account
        && !ACCOUNT_ID.is_match(account)
    {
        e.push(
            format!("{path}.account"),
            quoted(account),
            "not an AWS account id; write its twelve digits, e.g. \"222222222222\"",
        );
    }
    let Some(source_region) = &entry.region else {
        if entry.account.is_none() {
            e.push(
                path,
                "{}",
                "names neither account nor region, so its log groups are the pipeline's own: set account or region, or move them to spec.sources.logGroups and spec.sources.logGroupPrefixes",
            );
        }
        return;
    };
    let region_path = format!("{path}.region");
    if let Err(problem) = regions::check(source_region) {
        e.push(region_path, quoted(source_region), problem.to_string());
        return;
    }
    let Some(home) = region else { return };
    let (theirs, ours) = (regions::partition(source_region), regions::partition(home));
    if ours.is_some() && theirs != ours {
        e.push(
            region_path,
            quoted(source_region),
            format!(
                "is in partition {}, the pipeline's region {home} in {}: CloudWatch Logs delivers only within a partition; choose a region of {0} or run a pipeline there",
                theirs.unwrap_or("?"),
                ours.unwrap_or("?"),
            ),
        );
    }
}

/// One entry's log groups and prefixes: at least one, each a log group name, each once, never a
/// pipeline's canary group.
fn groups(e: &mut Errors, path: &str, entry: &RemoteSource) {
    if entry.log_groups.is_empty() && entry.log_group_prefixes.is_empty() {
        e.push(
            path,
            "{}",
            format!("selects no log group: set {path}.logGroups or {path}.logGroupPrefixes"),
        );
    }
    for (field, list, max) in [
        ("logGroups", &entry.log_groups, 200),
        ("logGroupPrefixes", &entry.log_group_prefixes, 20),
    ] {
        if list.len() > max {
            e.push(
                format!("{path}.{field}"),
                format!("{} items", list.len()),
                format!("too many; at most {max}"),
            );
        }
        for (j, item) in list.iter().enumerate() {
            let at = format!("{path}.{field}[{j}]");
            e.length(&at, item, 1, 512);
            if !item.is_empty() && !LOG_GROUP.is_match(item) {
                e.push(
                    &at,
                    quoted(item),
                    "not a valid log group name; allowed characters are letters, digits and . - _ / #",
                );
            }
            if list[..j].contains(item) {
                e.push(&at, quoted(item), "duplicate; list each entry once");
            }
            if field == "logGroups" && crate::names::is_canary_log_group(item) {
                e.push(
                    &at,
                    quoted(item),
                    "is a pipeline's canary log group (pitagora writes its delivery proof there); a pipeline subscribes only its own, by itself; remove it",
                );
            }
        }
    }
}

/// The entries that are the pipeline's own place, or the place of an earlier entry, once the
/// pipeline's `account` (`None`: not known yet) and `region` resolve the defaults.
fn placement(s: &Sources, account: Option<&str>, region: Option<&str>) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut seen: BTreeMap<(Option<&str>, Option<&str>), usize> = BTreeMap::new();
    for (i, entry) in s.remote.iter().enumerate() {
        if entry.account.is_none() && entry.region.is_none() {
            continue; // reported by `place`
        }
        let at = entry.account.as_deref().or(account);
        let inn = entry.region.as_deref().or(region);
        let field = if entry.region.is_some() {
            "region"
        } else {
            "account"
        };
        let path = format!("spec.sources.remote[{i}].{field}");
        let value = quoted(
            entry
                .region
                .as_deref()
                .or(entry.account.as_deref())
                .unwrap_or(""),
        );
        let home = entry.account.is_none() || at == account;
        if home && inn.is_some() && inn == region {
            errors.push(FieldError::new(
                path,
                value,
                "is the pipeline's own account and region: its log groups need no destination; move them to spec.sources.logGroups and spec.sources.logGroupPrefixes, or name the other account or region",
            ));
        } else if let Some(first) = seen.insert((at, inn), i) {
            errors.push(FieldError::new(
                path,
                value,
                format!(
                    "the same account and region as spec.sources.remote[{first}]; merge the two entries into one"
                ),
            ));
            seen.insert((at, inn), first);
        }
    }
    errors
}

/// The entries of `spec.sources.remote` that, now that the pipeline's `account` is known, are
/// its own account and region or another entry's: refused before AWS is asked anything more.
pub fn remote_sources_at_home(
    spec: &LogPipelineSpec,
    account: &str,
    region: &str,
) -> Vec<FieldError> {
    let before = placement(&spec.sources, None, Some(region));
    placement(&spec.sources, Some(account), Some(region))
        .into_iter()
        .filter(|e| !before.contains(e))
        .collect()
}
