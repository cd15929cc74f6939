//! The subscription filters: which log groups are sources, and the filter each one carries.

use super::Pipeline;
use crate::names::ROLE_PATH;
use crate::resources::SubscriptionFilter;
use crate::spec::Distribution;
use serde::Serialize;

/// The subscription filter every selected log group carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterSpec {
    /// Exact log group names.
    pub log_groups: Vec<String>,
    /// Log group name prefixes.
    pub log_group_prefixes: Vec<String>,
    /// pitagora's canary log group, a source too (under the first prefix when there is one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary: Option<String>,
    /// The filter each selected group carries.
    pub filter: SubscriptionFilter,
}

impl FilterSpec {
    /// Whether `log_group` is a source of this pipeline: its own canary group, or a group its
    /// names or prefixes select that is not another pipeline's canary group.
    pub fn selects(&self, log_group: &str) -> bool {
        if self.canary.as_deref() == Some(log_group) {
            return true;
        }
        !crate::names::is_canary_log_group(log_group)
            && (self.log_groups.iter().any(|g| g == log_group)
                || self
                    .log_group_prefixes
                    .iter()
                    .any(|p| log_group.starts_with(p.as_str())))
    }
}

/// The filters of `p`.
pub(super) fn build(p: &Pipeline) -> FilterSpec {
    let (sources, target, names) = (&p.spec().sources, p.target(), p.names());
    FilterSpec {
        log_groups: sources.log_groups.clone(),
        log_group_prefixes: sources.log_group_prefixes.clone(),
        canary: p
            .spec()
            .delivery
            .verify
            .enabled
            .then(|| super::canary_log_group_name(p)),
        filter: SubscriptionFilter {
            name: names.filter.clone(),
            pattern: sources.filter_pattern.clone(),
            destination_arn: target.stream_arn(&names.stream),
            role_arn: Some(target.role_arn(ROLE_PATH, &names.logs_role)),
            distribution: match sources.distribution {
                Distribution::ByLogStream => "ByLogStream",
                Distribution::Random => "Random",
            }
            .to_owned(),
        },
    }
}
