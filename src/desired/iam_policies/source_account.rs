//! The permissions of the role pitagora assumes in a SOURCE account: one whose log groups a
//! namespace's pipelines take (the accounts file's `namespaces.<ns>.sources`) but where no
//! pipeline is built. There pitagora only reads the log groups and their filters, puts and
//! deletes its subscription filters (naming a destination in the pipeline's account and no
//! role, so nothing is passed), and writes the per-path canary's log group; for the loss
//! signals it reads the filters' metrics (`GetMetricData`, which takes no resource), and for the
//! audit the allowed groups' events. Every write, and every read of events, is scoped to the
//! allowed regions and prefixes of that account; an account where pipelines are also built
//! carries the controller's policy besides.

use super::{document, prefixes, statement};
use crate::names::{CANARY_LOG_GROUP_ROOT, NAME_PREFIX};
use crate::spec::accounts::SourceAllowance;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The source role's policy in `account` (ARNs in `partition`), for every namespace's
/// `allowances` there.
pub fn source_account_policy(
    partition: &str,
    account: &str,
    allowances: &[&SourceAllowance],
) -> Value {
    let mut groups = BTreeSet::new();
    let mut canaries = BTreeSet::new();
    for a in allowances {
        for region in &a.regions {
            let arn =
                |name: &str| format!("arn:{partition}:logs:{region}:{account}:log-group:{name}");
            for p in prefixes(&a.log_group_prefixes) {
                groups.insert(arn(&format!("{p}*")));
                canaries.insert(arn(&format!("{p}*{NAME_PREFIX}*-canary")));
            }
            let root = arn(&format!("{CANARY_LOG_GROUP_ROOT}{NAME_PREFIX}*"));
            groups.insert(root.clone());
            canaries.insert(root);
        }
    }
    let streams = canaries
        .iter()
        .map(|g| format!("{g}:log-stream:*"))
        .collect();
    document(vec![
        json!({
            "Sid": "SourceReads",
            "Effect": "Allow",
            "Action": [
                "cloudwatch:GetMetricData",
                "logs:DescribeLogGroups",
                "logs:DescribeSubscriptionFilters",
                "logs:ListTagsForResource",
            ],
            "Resource": "*",
        }),
        statement(
            "SourceReadsEvents",
            &["logs:FilterLogEvents"],
            groups.iter().cloned().collect(),
        ),
        statement(
            "SourceWritesFilters",
            &[
                "logs:DeleteSubscriptionFilter",
                "logs:PutSubscriptionFilter",
            ],
            groups.into_iter().collect(),
        ),
        statement(
            "SourceWritesCanaryLogGroups",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
            ],
            canaries.into_iter().collect(),
        ),
        statement(
            "SourceSendsCanaries",
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            streams,
        ),
    ])
}
