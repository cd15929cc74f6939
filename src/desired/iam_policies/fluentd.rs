//! The policy of the node-level fluentd's credentials: what fluent-plugin-cloudwatch-logs calls
//! for the routes pitagora renders, and nothing else.
//!
//! Before its first write to a group the plugin lists groups by the group's name
//! (`DescribeLogGroups`), then finds or creates the stream (`DescribeLogStreams`,
//! `CreateLogStream`) and writes (`PutLogEvents`). pitagora creates the routes' log groups
//! itself, with their retention, before a route writes to CloudWatch Logs, so fluentd needs no
//! `CreateLogGroup` (with `auto_create_stream` it would otherwise create a group without
//! retention). Writes reach only the tenants' log-group prefixes, and never pitagora's canary or
//! error groups: a line written there by hand would pass for delivery proof.

use super::{Scope, document, prefixes, statement};
use serde_json::{Value, json};

/// The actions the plugin calls on a route's group and its streams.
const WRITE_ACTIONS: [&str; 3] = [
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
];

/// The node-level fluentd's policy for the routes of the tenants in `s`.
pub fn fluentd_node_policy(s: &Scope) -> Value {
    // A list call: AWS authorizes it on every group of the account (`log-group:*`); it reveals
    // names and settings, no events.
    let find = statement(
        "FindTheRoutesLogGroups",
        &["logs:DescribeLogGroups"],
        vec![s.log_group("*")],
    );
    let write = statement(
        "WriteTheRoutesLogGroups",
        &WRITE_ACTIONS,
        prefixes(s.log_group_prefixes)
            .iter()
            .map(|p| s.log_group(&format!("{p}*")))
            .collect(),
    );
    let own: Vec<String> = s
        .canary_log_groups()
        .into_iter()
        .chain(s.error_log_groups())
        .flat_map(|g| [format!("{g}:*"), g])
        .collect();
    let never = json!({
        "Sid": "NeverPitagorasOwnLogGroups",
        "Effect": "Deny",
        "Action": WRITE_ACTIONS,
        "Resource": own,
    });
    document(vec![find, write, never])
}
