//! `iam-policies source-account-policy`: the role pitagora assumes in a source account may do
//! exactly what the engine does there, on exactly what the accounts file gives the namespaces
//! in that account: read log groups and filters (and their metrics), put and delete its
//! subscription filters and read the events (the audit) under the allowed prefixes in the
//! allowed regions, and write the per-path canary's log group.

use crate::common;

use common::binary::{assert_exit, offline, stderr, stdout};
use serde_json::{Value, json};

const B: &str = "222222222222";

/// Two namespaces take log groups of B (one in two regions); C is listed but no source.
fn accounts_file() -> std::path::PathBuf {
    let path = common::scratch_dir("iam-source-account").join("accounts.yaml");
    let role = |id: &str| {
        format!(
            "  - id: \"{id}\"\n    roleArn: arn:aws:iam::{id}:role/pitagora/access\n    externalId: ext-{id}\n"
        )
    };
    let text = format!(
        "accounts:\n{}{}namespaces:\n  team-x:\n    sources:\n      - account: \"{B}\"\n        regions: [eu-west-1, us-east-1]\n        logGroupPrefixes: [/x/]\n  team-y:\n    sources:\n      - account: \"{B}\"\n        regions: [eu-west-1]\n        logGroupPrefixes: [/y/]\n",
        role(B),
        role("333333333333")
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn policy(extra: &[&str]) -> std::process::Output {
    let file = accounts_file();
    let mut args = vec![
        "iam-policies",
        "source-account-policy",
        "--accounts",
        file.to_str().unwrap(),
    ];
    args.extend(extra);
    offline(&args)
}

fn statement<'a>(policy: &'a Value, sid: &str) -> &'a Value {
    let all = policy["Statement"].as_array().unwrap();
    all.iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("{sid}: {policy:#}"))
}

fn group(region: &str, name: &str) -> String {
    format!("arn:aws:logs:{region}:{B}:log-group:{name}")
}

#[test]
fn the_filters_are_written_only_under_each_namespaces_prefixes_in_its_regions_of_that_account() {
    let out = policy(&["--account-id", B]);
    assert_exit(&out, 0);
    let p: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let filters = statement(&p, "SourceWritesFilters");
    assert_eq!(
        filters["Action"],
        json!([
            "logs:DeleteSubscriptionFilter",
            "logs:PutSubscriptionFilter"
        ])
    );
    let mut want = vec![
        group("eu-west-1", "/pitagora/canary/pitagora-*"),
        group("eu-west-1", "/x/*"),
        group("eu-west-1", "/y/*"),
        group("us-east-1", "/pitagora/canary/pitagora-*"),
        group("us-east-1", "/x/*"),
    ];
    want.sort();
    assert_eq!(filters["Resource"], json!(want));
}

#[test]
fn the_audit_reads_events_of_the_groups_it_may_subscribe_and_the_signals_read_metrics() {
    let out = policy(&["--account-id", B]);
    assert_exit(&out, 0);
    let p: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let events = statement(&p, "SourceReadsEvents");
    assert_eq!(events["Action"], json!(["logs:FilterLogEvents"]));
    assert_eq!(
        events["Resource"],
        statement(&p, "SourceWritesFilters")["Resource"]
    );
    let reads = statement(&p, "SourceReads")["Action"].as_array().unwrap();
    assert!(
        reads.contains(&json!("cloudwatch:GetMetricData")),
        "{reads:?}"
    );
}

#[test]
fn the_canary_log_groups_are_created_and_written_only_by_pitagoras_names() {
    let out = policy(&["--account-id", B]);
    assert_exit(&out, 0);
    let p: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let groups = statement(&p, "SourceWritesCanaryLogGroups");
    assert!(
        groups["Resource"].as_array().unwrap().iter().all(|r| {
            let r = r.as_str().unwrap();
            r.ends_with("pitagora-*-canary") || r.ends_with("/pitagora/canary/pitagora-*")
        }),
        "{groups:#}"
    );
    let sends = statement(&p, "SourceSendsCanaries");
    assert_eq!(
        sends["Action"],
        json!(["logs:CreateLogStream", "logs:PutLogEvents"])
    );
    assert!(
        sends["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| { r.as_str().unwrap().ends_with(":log-stream:*") })
    );
}

#[test]
fn every_write_names_the_source_account_and_no_role_is_passed() {
    let out = policy(&[]);
    assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(!text.contains("iam:"), "{text}");
    let p: Value = serde_json::from_str(&text).unwrap();
    for s in p["Statement"].as_array().unwrap() {
        if s["Sid"] == "SourceReads" {
            continue;
        }
        for r in s["Resource"].as_array().unwrap() {
            assert!(
                r.as_str().unwrap().contains(&format!(":{B}:log-group:")),
                "{s:#}"
            );
        }
    }
}

#[test]
fn an_account_no_namespace_takes_sources_from_is_refused_naming_it() {
    let out = policy(&["--account-id", "333333333333"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("account 333333333333"),
        "{}",
        stderr(&out)
    );
}
