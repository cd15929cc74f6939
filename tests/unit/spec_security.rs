//! Validation of the security options: `spec.storage.accessLogging` and `spec.fanout.kmsKeyArn`.
//! A bad value is refused naming the field and the fix; good ones pass.

use crate::common;

use pitagora::spec::{FieldError, LogPipelineSpec};
use serde_json::{Value, json};

fn spec(doc: Value) -> LogPipelineSpec {
    serde_json::from_value(doc).expect("test spec deserialises")
}

fn logging(storage: Value) -> Vec<FieldError> {
    common::validation_errors(&spec(json!({
        "sources": {"logGroups": ["/ecs/orders"]},
        "storage": storage,
    })))
}

fn keyed(key: &str) -> Vec<FieldError> {
    common::validation_errors(&spec(json!({
        "region": "eu-west-1",
        "sources": {"logGroups": ["/ecs/orders"]},
        "fanout": {"subscribers": [], "kmsKeyArn": key},
    })))
}

fn only(errors: Vec<FieldError>) -> FieldError {
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().unwrap()
}

#[test]
fn access_logs_may_go_to_another_bucket() {
    assert_eq!(
        logging(json!({"accessLogging": {"bucket": "team-a-access-logs"}})),
        []
    );
}

#[test]
fn access_logs_into_the_pipelines_own_bucket_are_refused() {
    let e = only(logging(json!({
        "bucketName": "pitagora-team-a-logs",
        "accessLogging": {"bucket": "pitagora-team-a-logs"},
    })));
    assert_eq!(e.path, "spec.storage.accessLogging.bucket");
    assert!(e.message.contains("own bucket"), "{}", e.message);
}

#[test]
fn access_logs_into_an_invalid_bucket_name_are_refused() {
    let e = only(logging(json!({"accessLogging": {"bucket": "Team_A"}})));
    assert_eq!(e.path, "spec.storage.accessLogging.bucket");
    assert_eq!(e.value, "\"Team_A\"");
}

#[test]
fn an_empty_access_log_prefix_is_refused() {
    let e = only(logging(
        json!({"accessLogging": {"bucket": "logs-b", "prefix": ""}}),
    ));
    assert_eq!(e.path, "spec.storage.accessLogging.prefix");
}

#[test]
fn a_customer_managed_key_or_alias_of_the_region_is_accepted() {
    for key in [
        "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:123456789012:alias/team-a-logs",
    ] {
        assert_eq!(keyed(key), [], "{key}");
    }
}

#[test]
fn a_key_that_is_not_a_kms_arn_is_refused_naming_the_form() {
    let e = only(keyed("alias/team-a-logs"));
    assert_eq!(e.path, "spec.fanout.kmsKeyArn");
    assert!(e.message.contains("arn:aws:kms:"), "{}", e.message);
}

#[test]
fn the_aws_managed_sns_key_is_refused_because_s3_could_not_publish() {
    let e = only(keyed("arn:aws:kms:eu-west-1:123456789012:alias/aws/sns"));
    assert_eq!(e.path, "spec.fanout.kmsKeyArn");
    assert!(e.message.contains("s3.amazonaws.com"), "{}", e.message);
}

#[test]
fn a_key_of_another_region_is_refused() {
    let e = only(keyed("arn:aws:kms:us-east-1:123456789012:key/k-1"));
    assert!(e.message.contains("us-east-1"), "{}", e.message);
    assert!(e.message.contains("eu-west-1"), "{}", e.message);
}

#[test]
fn a_key_whose_partition_does_not_serve_its_region_is_refused() {
    let e = only(keyed("arn:aws-cn:kms:eu-west-1:123456789012:key/k-1"));
    assert!(e.message.contains("partition aws-cn"), "{}", e.message);
}

#[test]
fn a_bucket_or_topic_the_spec_names_outside_pitagoras_prefix_is_refused_naming_the_field() {
    for (doc, path) in [
        (
            json!({"sources": {"logGroups": ["/ecs/orders"]}, "storage": {"bucketName": "team-b-logs"}}),
            "spec.storage.bucketName",
        ),
        (
            json!({"sources": {"logGroups": ["/ecs/orders"]}, "fanout": {"topicName": "billing-events", "subscribers": []}}),
            "spec.fanout.topicName",
        ),
    ] {
        let e = only(common::validation_errors(&spec(doc)));
        assert_eq!(e.path, path);
        assert!(
            e.message.contains("must start with \"pitagora-\""),
            "{}",
            e.message
        );
        assert!(e.message.contains("IAM"), "{}", e.message);
    }
}

#[test]
fn names_under_pitagoras_prefix_are_accepted() {
    assert_eq!(
        common::validation_errors(&spec(json!({
            "sources": {"logGroups": ["/ecs/orders"]},
            "storage": {"bucketName": "pitagora-team-a-archive"},
            "fanout": {"topicName": "pitagora-team-a-events", "subscribers": []},
        }))),
        []
    );
}

#[test]
fn functions_of_another_account_are_named_field_by_field() {
    let s = spec(json!({
        "region": "eu-west-1",
        "sources": {"logGroups": ["/ecs/orders"]},
        "transform": {"lambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:shape", "outputPrefix": "processed/"},
        "fanout": {"subscribers": [
            {"name": "ours", "lambdaArn": "arn:aws:lambda:eu-west-1:123456789012:function:es"},
            {"name": "theirs", "lambdaArn": "arn:aws:lambda:eu-west-1:999999999999:function:es"},
        ]},
    }));
    let paths = |account: &str| -> Vec<String> {
        pitagora::spec::validate::functions_outside_account(&s, account)
            .into_iter()
            .map(|e| e.path)
            .collect()
    };
    assert_eq!(
        paths("123456789012"),
        ["spec.fanout.subscribers[1].lambdaArn"]
    );
    let e = pitagora::spec::validate::functions_outside_account(&s, "999999999999");
    let paths: Vec<&str> = e.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.transform.lambdaArn",
            "spec.fanout.subscribers[0].lambdaArn"
        ]
    );
    assert!(
        e[0].message.contains("account 123456789012"),
        "{}",
        e[0].message
    );
}
