//! Validation of the remote sources (`spec.sources.remote`): each rule refuses its input naming
//! the entry's field and the fix, at validation when the spec alone tells, else when the
//! pipeline is placed in its account (`desired::from_spec`, as the engine's resolve does).

use crate::common;

use common::{ACCOUNT, REGION, id};
use pitagora::desired;
use pitagora::spec::{FieldError, LogPipelineSpec};
use serde_json::{Value, json};

/// A pipeline in `eu-west-1` with one local group and `remote` as its remote sources.
fn with_remote(remote: Value) -> LogPipelineSpec {
    serde_json::from_value(json!({
        "region": REGION,
        "sources": {"logGroups": ["/ecs/orders"], "remote": remote},
    }))
    .expect("test spec deserialises")
}

fn errors(remote: Value) -> Vec<FieldError> {
    common::validation_errors(&with_remote(remote))
}

/// Errors once the pipeline is placed in [`ACCOUNT`] (validation's, then the placement's).
fn placed_errors(remote: Value) -> Vec<FieldError> {
    match desired::from_spec(&id(), &with_remote(remote), ACCOUNT, REGION) {
        Ok(_) => Vec::new(),
        Err(invalid) => invalid.0,
    }
}

fn assert_none(errors: Vec<FieldError>) {
    assert!(errors.is_empty(), "{errors:#?}");
}

fn group(region: &str) -> Value {
    json!({"region": region, "logGroups": ["/ecs/payments"]})
}

#[test]
fn each_mistake_in_a_remote_source_is_refused_naming_its_field_and_the_fix() {
    let cases: [(&str, Value, &str, &str); 8] = [
        (
            "neither account nor region",
            json!([{"logGroups": ["/ecs/payments"]}]),
            "spec.sources.remote[0]",
            "set account or region",
        ),
        (
            "the pipeline's own region, no account",
            json!([group(REGION)]),
            "spec.sources.remote[0].region",
            "pipeline's own account and region",
        ),
        (
            "no log group or prefix",
            json!([{"region": "us-east-1"}]),
            "spec.sources.remote[0]",
            "spec.sources.remote[0].logGroups",
        ),
        (
            "an account that is not twelve digits",
            json!([{"account": "12345", "logGroups": ["/ecs/payments"]}]),
            "spec.sources.remote[0].account",
            "twelve digits",
        ),
        (
            "a region of another partition",
            json!([group("cn-north-1")]),
            "spec.sources.remote[0].region",
            "only within a partition",
        ),
        (
            "a region AWS does not offer",
            json!([group("us-eats-1")]),
            "spec.sources.remote[0].region",
            "us-east-1",
        ),
        (
            "a prefix that is no log group name",
            json!([{"region": "us-east-1", "logGroupPrefixes": ["/ecs/*"]}]),
            "spec.sources.remote[0].logGroupPrefixes[0]",
            "allowed characters",
        ),
        (
            "two entries of one account and region",
            json!([group("us-east-1"), {"region": "us-east-1", "logGroupPrefixes": ["/app/"]}]),
            "spec.sources.remote[1].region",
            "merge the two entries",
        ),
    ];
    for (what, remote, path, fix) in cases {
        let errors = errors(remote);
        assert_eq!(errors.len(), 1, "{what}: {errors:#?}");
        assert_eq!(errors[0].path, path, "{what}");
        assert!(errors[0].message.contains(fix), "{what}: {}", errors[0]);
    }
}

#[test]
fn more_than_20_remote_sources_are_refused_and_20_are_accepted() {
    let regions = [
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "eu-west-2",
        "eu-west-3",
        "eu-central-1",
        "eu-central-2",
        "eu-north-1",
        "eu-south-1",
        "eu-south-2",
        "ap-south-1",
        "ap-south-2",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "sa-east-1",
        "me-south-1",
    ];
    let entries: Vec<Value> = regions.iter().map(|r| group(r)).collect();
    let errors = errors(json!(entries));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, "spec.sources.remote");
    assert!(errors[0].message.contains("at most 20"), "{}", errors[0]);
    assert_none(self::errors(json!(entries[..20])));
}

#[test]
fn the_pipelines_own_account_named_explicitly_is_refused_once_the_account_is_known() {
    let own = json!([{"account": ACCOUNT, "region": REGION, "logGroups": ["/ecs/payments"]}]);
    assert_none(errors(own.clone()));
    let placed = placed_errors(own);
    assert_eq!(placed.len(), 1, "{placed:#?}");
    assert_eq!(placed[0].path, "spec.sources.remote[0].region");
    assert!(
        placed[0]
            .message
            .contains("pipeline's own account and region"),
        "{}",
        placed[0]
    );
}

#[test]
fn an_entry_that_names_the_pipelines_account_duplicates_one_that_defaults_to_it() {
    let remote = json!([
        group("us-east-1"),
        {"account": ACCOUNT, "region": "us-east-1", "logGroupPrefixes": ["/app/"]},
    ]);
    assert_none(errors(remote.clone()));
    let placed = placed_errors(remote);
    assert_eq!(placed.len(), 1, "{placed:#?}");
    assert_eq!(placed[0].path, "spec.sources.remote[1].region");
    assert!(
        placed[0].message.contains("spec.sources.remote[0]"),
        "{}",
        placed[0]
    );
}

#[test]
fn remote_sources_of_other_accounts_and_regions_are_accepted() {
    let remote = json!([
        group("us-east-1"),
        {"account": "222222222222", "logGroupPrefixes": ["/app/"]},
        {"account": "222222222222", "region": "us-east-1", "logGroups": ["/ecs/a"]},
    ]);
    assert_none(placed_errors(remote));
}

#[test]
fn a_pipeline_may_take_its_log_groups_from_remote_sources_only() {
    let spec: LogPipelineSpec = serde_json::from_value(json!({
        "region": REGION,
        "sources": {"remote": [group("us-east-1")]},
    }))
    .unwrap();
    assert_none(common::validation_errors(&spec));
}
