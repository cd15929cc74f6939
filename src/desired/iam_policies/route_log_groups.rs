//! The controller's writes of the fluentd routes' log groups: under the tenants' prefixes (a
//! route's group is a source), so scoped by pitagora's managed-by tag that the controller can
//! never change the retention or tags of a log group pitagora did not create.
//!
//! - `CreateLogGroup` only with the managed-by tag in the request (`aws:RequestTag`). CloudWatch
//!   Logs also checks `logs:TagResource` for the tags a creation carries, so that action is
//!   granted on the same condition.
//! - `PutRetentionPolicy` and `TagResource` on a group that carries the managed-by tag
//!   (`aws:ResourceTag`): the team's own groups, untagged or tagged their way, are out of reach.
//!
//! What IAM cannot tell apart: a `TagResource` request carrying the managed-by tag is granted
//! whether it tags a group being created or one that exists, so these credentials could tag a
//! team's group as pitagora's and then set its retention (two calls, both in CloudTrail). The
//! engine never does: it tags only the groups it creates, and leaves alone every route group it
//! did not create for the pipeline (`crate::plan::route_group_created_for`).

use super::*;
use crate::names::MANAGED_BY_TAG;

/// `StringEquals` on pitagora's managed-by tag, under `key` (`aws:RequestTag` or
/// `aws:ResourceTag`).
fn managed_by(key: &str) -> Value {
    let mut tag = serde_json::Map::new();
    tag.insert(
        format!("{key}/{}", MANAGED_BY_TAG.0),
        json!(MANAGED_BY_TAG.1),
    );
    json!({ "StringEquals": tag })
}

/// The two statements: creating a route's log group with pitagora's tags, and keeping the
/// retention and tags of one that carries them.
pub(super) fn engine_writes_route_log_groups(s: &Scope) -> Vec<Value> {
    let groups: Vec<String> = prefixes(s.log_group_prefixes)
        .iter()
        .map(|p| s.log_group(&format!("{p}*")))
        .collect();
    let mut create = statement(
        "EngineCreatesRouteLogGroups",
        &["logs:CreateLogGroup", "logs:TagResource"],
        groups.clone(),
    );
    create["Condition"] = managed_by("aws:RequestTag");
    let mut keep = statement(
        "EngineWritesRouteLogGroups",
        &["logs:PutRetentionPolicy", "logs:TagResource"],
        groups,
    );
    keep["Condition"] = managed_by("aws:ResourceTag");
    vec![create, keep]
}
