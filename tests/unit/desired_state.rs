//! What `pitagora::desired::build` produces: the CloudFormation template of the static wiring,
//! the Firehose stream, the subscription filter, the bucket's notifications and lifecycle, the
//! topic's subscriptions and the pipeline's settings. One behaviour per test.

use crate::common;

use common::{
    ACCOUNT, REGION, desired, fanout_only_spec, full_chain_spec, id, lambda_arn, minimal_spec,
    spec, transform_only_spec, try_desired,
};
use pitagora::desired::{Desired, InvalidSpec};
use pitagora::resources::{
    LifecycleRule, LifecycleTransition, Notification, NotificationTarget, Processor,
    TopicSubscription,
};
use pitagora::spec::{CutoverStage, DeletionPolicy, LogPipelineSpec};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// The only resource types the stack may hold; everything else goes through its own API.
const STATIC_WIRING_TYPES: [&str; 6] = [
    "AWS::S3::Bucket",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::Topic",
    "AWS::SNS::TopicPolicy",
    "AWS::IAM::Role",
    "AWS::Lambda::Permission",
];

// ---------------------------------------------------------------------------------------------
// Helpers: reading the template and policy documents.
// ---------------------------------------------------------------------------------------------

fn resources(d: &Desired) -> &Map<String, Value> {
    d.stack.template["Resources"]
        .as_object()
        .expect("the template has a Resources object")
}

fn resource<'a>(d: &'a Desired, logical_id: &str) -> &'a Value {
    resources(d).get(logical_id).unwrap_or_else(|| {
        panic!(
            "the template has no {logical_id}; it has {:?}",
            resources(d).keys().collect::<Vec<_>>()
        )
    })
}

fn props<'a>(d: &'a Desired, logical_id: &str) -> &'a Value {
    &resource(d, logical_id)["Properties"]
}

fn logical_ids(d: &Desired) -> BTreeSet<&str> {
    resources(d).keys().map(String::as_str).collect()
}

fn resource_types(d: &Desired) -> BTreeSet<&str> {
    resources(d)
        .values()
        .map(|r| r["Type"].as_str().expect("every resource has a Type"))
        .collect()
}

/// The Lambda permissions in the template, by logical id.
fn lambda_permissions(d: &Desired) -> Vec<(&str, &Value)> {
    resources(d)
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Lambda::Permission")
        .map(|(k, r)| (k.as_str(), &r["Properties"]))
        .collect()
}

fn statements(policy_document: &Value) -> &[Value] {
    policy_document["Statement"]
        .as_array()
        .expect("the policy document has a Statement list")
}

/// The statements of every inline policy of an `AWS::IAM::Role`.
fn role_statements<'a>(d: &'a Desired, logical_id: &str) -> Vec<&'a Value> {
    props(d, logical_id)["Policies"]
        .as_array()
        .expect("the role has inline policies")
        .iter()
        .flat_map(|p| statements(&p["PolicyDocument"]))
        .collect()
}

/// A policy element that may be one string or a list of strings (`Action`, `Resource`).
fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("a list of strings"))
            .collect(),
        other => panic!("expected a string or a list of strings, got {other}"),
    }
}

/// The value of condition key `key` under whichever operator holds it, with that operator.
fn condition<'a>(statement: &'a Value, key: &str) -> Option<(&'a str, &'a Value)> {
    statement["Condition"]
        .as_object()?
        .iter()
        .find_map(|(op, keys)| keys.get(key).map(|v| (op.as_str(), v)))
}

/// The resources of every statement that allows at least one action starting with `service:`.
fn resources_for_service<'a>(statements: &[&'a Value], service: &str) -> BTreeSet<&'a str> {
    statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .filter(|s| {
            strings(&s["Action"])
                .iter()
                .any(|a| a.starts_with(&format!("{service}:")))
        })
        .flat_map(|s| strings(&s["Resource"]))
        .collect()
}

/// Every string anywhere in `v` (object keys excluded).
fn all_strings(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            Value::Object(m) => m.values().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}

/// Every ARN in the desired state, template included.
fn all_arns(d: &Desired) -> Vec<String> {
    all_strings(&serde_json::to_value(d).expect("desired state serialises"))
        .into_iter()
        .filter(|s| s.starts_with("arn:"))
        .collect()
}

fn owner_tag() -> (String, String) {
    (
        "pitagora.dev/pipeline".to_owned(),
        "team-a/orders".to_owned(),
    )
}

/// Whether a CloudFormation `Tags` list carries the owner tag.
fn cfn_tags_carry_owner(tags: &Value) -> bool {
    tags.as_array()
        .expect("Tags is a list")
        .iter()
        .any(|t| t["Key"] == "pitagora.dev/pipeline" && t["Value"] == "team-a/orders")
}

fn bucket_arn(d: &Desired) -> String {
    format!("arn:aws:s3:::{}", d.names.bucket)
}

fn topic_arn(d: &Desired) -> String {
    format!("arn:aws:sns:{REGION}:{ACCOUNT}:{}", d.names.topic)
}

fn stream_arn(d: &Desired) -> String {
    format!(
        "arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{}",
        d.names.stream
    )
}

fn role_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/pitagora/{name}")
}

fn with_storage(storage_yaml: &str) -> LogPipelineSpec {
    spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n{storage_yaml}"
    ))
}

fn with_delivery(delivery_yaml: &str) -> LogPipelineSpec {
    spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\ndelivery:\n{delivery_yaml}"
    ))
}

/// A spec with one subscriber whose function ARN is `arn`.
fn with_subscriber(arn: &str) -> LogPipelineSpec {
    spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers:\n    - name: es-forwarder\n      lambdaArn: \"{arn}\"\n"
    ))
}

/// The full chain (transform and two subscribers) in `region`, with functions there too.
fn full_chain_in(region: &str, partition: &str) -> LogPipelineSpec {
    let f = |name: &str| format!("arn:{partition}:lambda:{region}:{ACCOUNT}:function:{name}");
    spec(&format!(
        "region: {region}
sources:
  logGroupPrefixes: [/ecs/]
storage:
  retentionDays: 400
transform:
  lambdaArn: {}
fanout:
  subscribers:
    - name: es-forwarder
      lambdaArn: {}
    - name: slack-notifier
      lambdaArn: {}
",
        f("log-enricher"),
        f("es-forwarder"),
        f("slack-notifier")
    ))
}

fn notification<'a>(d: &'a Desired, id: &str) -> &'a Notification {
    d.notifications
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no notification {id}: {:#?}", d.notifications))
}

fn topic_subscriptions(d: &Desired) -> &[(String, TopicSubscription)] {
    &d.topic
        .as_ref()
        .expect("the pipeline has a topic")
        .subscriptions
}

// ---------------------------------------------------------------------------------------------
// The template holds only the static wiring.
// ---------------------------------------------------------------------------------------------

#[test]
fn minimal_template_holds_only_the_bucket_its_policy_and_the_two_roles() {
    let d = desired(&minimal_spec());
    assert_eq!(
        logical_ids(&d),
        BTreeSet::from(["Bucket", "BucketPolicy", "DeliveryRole", "LogsRole"])
    );
    assert_eq!(
        resource_types(&d),
        BTreeSet::from(["AWS::S3::Bucket", "AWS::S3::BucketPolicy", "AWS::IAM::Role"])
    );
}

#[test]
fn full_chain_template_uses_only_static_wiring_types() {
    let d = desired(&full_chain_spec());
    assert_eq!(resource_types(&d), BTreeSet::from(STATIC_WIRING_TYPES));
}

#[test]
fn template_is_a_cloudformation_template() {
    let d = desired(&minimal_spec());
    assert_eq!(d.stack.template["AWSTemplateFormatVersion"], "2010-09-09");
}

#[test]
fn stack_is_named_and_tagged_for_the_pipeline() {
    let d = desired(&minimal_spec());
    assert_eq!(d.stack.name, d.names.stack);
    assert_eq!(
        d.stack
            .tags
            .get("pitagora.dev/pipeline")
            .map(String::as_str),
        Some("team-a/orders")
    );
}

#[test]
fn names_derive_from_namespace_and_name_with_a_stable_hash() {
    let d = desired(&minimal_spec());
    let base = "pitagora-team-a-orders-75c1a60b";
    assert_eq!(d.names.stack, base);
    assert_eq!(d.names.stream, base);
    assert_eq!(d.names.filter, base);
    assert_eq!(d.names.delivery_role, format!("{base}-delivery"));
    assert_eq!(d.names.logs_role, format!("{base}-logs"));
    assert_eq!(
        d.names.error_log_group,
        format!("/aws/kinesisfirehose/{base}")
    );
}

// ---------------------------------------------------------------------------------------------
// Bucket.
// ---------------------------------------------------------------------------------------------

#[test]
fn bucket_is_encrypted_with_s3_managed_keys() {
    let d = desired(&minimal_spec());
    assert_eq!(
        props(&d, "Bucket")["BucketEncryption"],
        json!({"ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
        ]})
    );
}

#[test]
fn bucket_blocks_all_public_access() {
    let d = desired(&minimal_spec());
    assert_eq!(
        props(&d, "Bucket")["PublicAccessBlockConfiguration"],
        json!({
            "BlockPublicAcls": true,
            "BlockPublicPolicy": true,
            "IgnorePublicAcls": true,
            "RestrictPublicBuckets": true,
        })
    );
}

#[test]
fn bucket_owner_owns_every_object() {
    let d = desired(&minimal_spec());
    assert_eq!(
        props(&d, "Bucket")["OwnershipControls"],
        json!({"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
    );
}

#[test]
fn bucket_is_named_by_the_derived_name() {
    let d = desired(&minimal_spec());
    assert_eq!(props(&d, "Bucket")["BucketName"], d.names.bucket.as_str());
    assert!(d.names.bucket.starts_with("pitagora-team-a-orders-"));
}

#[test]
fn bucket_name_from_the_spec_overrides_the_derived_name() {
    let d = desired(&with_storage("  bucketName: pitagora-my-log-archive\n"));
    assert_eq!(d.names.bucket, "pitagora-my-log-archive");
    assert_eq!(props(&d, "Bucket")["BucketName"], "pitagora-my-log-archive");
    assert_eq!(
        d.stream.destination.bucket_arn,
        "arn:aws:s3:::pitagora-my-log-archive"
    );
}

#[test]
fn derived_bucket_name_differs_between_regions() {
    let here = desired(&minimal_spec());
    let there =
        pitagora::desired::from_spec(&id(), &minimal_spec(), ACCOUNT, "us-west-2").expect("valid");
    assert_ne!(here.names.bucket, there.names.bucket);
}

#[test]
fn bucket_is_retained_by_default() {
    let d = desired(&minimal_spec());
    assert_eq!(d.deletion_policy, DeletionPolicy::Retain);
    for logical_id in ["Bucket", "BucketPolicy"] {
        let r = resource(&d, logical_id);
        assert_eq!(r["DeletionPolicy"], "Retain", "{logical_id}");
        assert_eq!(r["UpdateReplacePolicy"], "Retain", "{logical_id}");
    }
}

#[test]
fn bucket_is_deleted_with_deletion_policy_delete() {
    let d = desired(&with_storage("  deletionPolicy: Delete\n"));
    assert_eq!(d.deletion_policy, DeletionPolicy::Delete);
    for logical_id in ["Bucket", "BucketPolicy"] {
        let r = resource(&d, logical_id);
        assert_eq!(r["DeletionPolicy"], "Delete", "{logical_id}");
        assert_eq!(r["UpdateReplacePolicy"], "Delete", "{logical_id}");
    }
}

#[test]
fn bucket_carries_the_owner_tag() {
    let d = desired(&minimal_spec());
    assert!(cfn_tags_carry_owner(&props(&d, "Bucket")["Tags"]));
}

#[test]
fn bucket_notifications_and_lifecycle_are_not_in_the_template() {
    // The full chain has both notifications and a lifecycle rule: they go through their own APIs.
    let d = desired(&full_chain_spec());
    assert!(!d.notifications.is_empty() && !d.lifecycle.is_empty());
    let bucket = props(&d, "Bucket").as_object().expect("bucket properties");
    assert!(!bucket.contains_key("NotificationConfiguration"));
    assert!(!bucket.contains_key("LifecycleConfiguration"));
}

// ---------------------------------------------------------------------------------------------
// Bucket policy.
// ---------------------------------------------------------------------------------------------

#[test]
fn bucket_policy_applies_to_the_pipelines_bucket() {
    let d = desired(&minimal_spec());
    assert_eq!(
        props(&d, "BucketPolicy")["Bucket"],
        json!({"Ref": "Bucket"})
    );
}

#[test]
fn bucket_policy_denies_insecure_transport_on_the_bucket_and_its_objects() {
    let d = desired(&minimal_spec());
    let bucket = bucket_arn(&d);
    let doc = &props(&d, "BucketPolicy")["PolicyDocument"];
    let deny = statements(doc)
        .iter()
        .find(|s| s["Effect"] == "Deny")
        .expect("a Deny statement");
    assert_eq!(deny["Principal"], "*");
    assert_eq!(strings(&deny["Action"]), ["s3:*"]);
    assert_eq!(
        strings(&deny["Resource"])
            .into_iter()
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([bucket.as_str(), format!("{bucket}/*").as_str()])
    );
    assert_eq!(
        deny["Condition"],
        json!({"Bool": {"aws:SecureTransport": "false"}})
    );
}

// ---------------------------------------------------------------------------------------------
// Topic and topic policy.
// ---------------------------------------------------------------------------------------------

#[test]
fn topic_is_named_and_tagged_for_the_pipeline() {
    let d = desired(&fanout_only_spec());
    assert_eq!(props(&d, "Topic")["TopicName"], d.names.topic.as_str());
    assert!(cfn_tags_carry_owner(&props(&d, "Topic")["Tags"]));
    let topic = d.topic.as_ref().expect("a topic");
    assert_eq!(topic.name, d.names.topic);
    assert_eq!(topic.arn, topic_arn(&d));
}

#[test]
fn topic_name_from_the_spec_overrides_the_derived_name() {
    let d = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  topicName: pitagora-order-events\n  subscribers:\n    - name: es-forwarder\n      lambdaArn: {}\n",
        lambda_arn("es-forwarder")
    )));
    assert_eq!(d.names.topic, "pitagora-order-events");
    assert_eq!(props(&d, "Topic")["TopicName"], "pitagora-order-events");
    assert_eq!(
        d.topic.as_ref().expect("a topic").arn,
        format!("arn:aws:sns:{REGION}:{ACCOUNT}:pitagora-order-events")
    );
}

#[test]
fn topic_policy_applies_to_the_pipelines_topic() {
    let d = desired(&fanout_only_spec());
    assert_eq!(
        props(&d, "TopicPolicy")["Topics"],
        json!([{"Ref": "Topic"}])
    );
}

#[test]
fn topic_policy_lets_only_this_bucket_publish() {
    let d = desired(&fanout_only_spec());
    let doc = &props(&d, "TopicPolicy")["PolicyDocument"];
    let [statement] = statements(doc) else {
        panic!("exactly one statement expected: {doc}");
    };
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(
        statement["Principal"],
        json!({"Service": "s3.amazonaws.com"})
    );
    assert_eq!(strings(&statement["Action"]), ["sns:Publish"]);
    assert_eq!(strings(&statement["Resource"]), [topic_arn(&d)]);
    let (_, source_arn) =
        condition(statement, "aws:SourceArn").expect("an aws:SourceArn condition");
    assert_eq!(source_arn, &json!(bucket_arn(&d)));
    let (op, source_account) =
        condition(statement, "aws:SourceAccount").expect("an aws:SourceAccount condition");
    assert_eq!(op, "StringEquals");
    assert_eq!(source_account, ACCOUNT);
}

#[test]
fn no_topic_without_fanout() {
    let d = desired(&transform_only_spec());
    assert!(d.topic.is_none());
    let ids = logical_ids(&d);
    assert!(
        !ids.contains("Topic") && !ids.contains("TopicPolicy"),
        "{ids:?}"
    );
    assert!(!resource_types(&d).contains("AWS::SNS::Topic"));
    assert!(
        lambda_permissions(&d)
            .iter()
            .all(|(_, p)| p["Principal"] != "sns.amazonaws.com"),
        "no subscriber permissions without fanout"
    );
}

// ---------------------------------------------------------------------------------------------
// Delivery role (Firehose → S3).
// ---------------------------------------------------------------------------------------------

#[test]
fn delivery_role_is_trusted_by_firehose_with_the_account_as_external_id() {
    let d = desired(&minimal_spec());
    let trust = &props(&d, "DeliveryRole")["AssumeRolePolicyDocument"];
    let [statement] = statements(trust) else {
        panic!("exactly one trust statement expected: {trust}");
    };
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(
        statement["Principal"],
        json!({"Service": "firehose.amazonaws.com"})
    );
    assert_eq!(strings(&statement["Action"]), ["sts:AssumeRole"]);
    assert_eq!(
        condition(statement, "sts:ExternalId"),
        Some(("StringEquals", &json!(ACCOUNT)))
    );
}

#[test]
fn delivery_role_reaches_only_this_buckets_raw_and_error_prefixes() {
    let d = desired(&minimal_spec());
    let bucket = bucket_arn(&d);
    let statements = role_statements(&d, "DeliveryRole");
    let object_resources: BTreeSet<&str> = statements
        .iter()
        .filter(|s| strings(&s["Action"]).contains(&"s3:PutObject"))
        .flat_map(|s| strings(&s["Resource"]))
        .collect();
    assert_eq!(
        object_resources,
        BTreeSet::from([
            format!("{bucket}/raw/*").as_str(),
            format!("{bucket}/errors/*").as_str()
        ])
    );
    // Nothing else in S3 beyond the bucket itself (for listing and location).
    assert_eq!(
        resources_for_service(&statements, "s3"),
        BTreeSet::from([
            bucket.as_str(),
            format!("{bucket}/raw/*").as_str(),
            format!("{bucket}/errors/*").as_str()
        ])
    );
}

#[test]
fn delivery_role_object_access_follows_custom_prefixes() {
    let d = desired(&with_delivery(
        "  prefix: logs/\n  errorOutputPrefix: failed/\n",
    ));
    let bucket = bucket_arn(&d);
    assert_eq!(
        resources_for_service(&role_statements(&d, "DeliveryRole"), "s3"),
        BTreeSet::from([
            bucket.as_str(),
            format!("{bucket}/logs/*").as_str(),
            format!("{bucket}/failed/*").as_str()
        ])
    );
}

#[test]
fn delivery_role_object_access_uses_the_static_part_of_expression_prefixes() {
    let d = desired(&with_delivery(
        "  prefix: \"logs/!{timestamp:yyyy/MM/dd}/\"\n  errorOutputPrefix: \"failed/!{firehose:error-output-type}/!{timestamp:yyyy}/\"\n",
    ));
    let bucket = bucket_arn(&d);
    assert_eq!(
        resources_for_service(&role_statements(&d, "DeliveryRole"), "s3"),
        BTreeSet::from([
            bucket.as_str(),
            format!("{bucket}/logs/*").as_str(),
            format!("{bucket}/failed/*").as_str()
        ])
    );
}

#[test]
fn delivery_role_writes_error_logs_only_to_its_own_log_group() {
    let d = desired(&minimal_spec());
    let statements = role_statements(&d, "DeliveryRole");
    assert_eq!(
        resources_for_service(&statements, "logs"),
        BTreeSet::from([format!(
            "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/kinesisfirehose/{}:log-stream:*",
            d.names.stream
        )
        .as_str()])
    );
    let log_actions: BTreeSet<&str> = statements
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .filter(|a| a.starts_with("logs:"))
        .collect();
    assert_eq!(log_actions, BTreeSet::from(["logs:PutLogEvents"]));
}

#[test]
fn roles_grant_nothing_on_every_resource() {
    let d = desired(&full_chain_spec());
    for logical_id in ["DeliveryRole", "LogsRole"] {
        for s in role_statements(&d, logical_id) {
            assert!(
                !strings(&s["Resource"]).contains(&"*"),
                "{logical_id} grants {} on *",
                s["Action"]
            );
        }
    }
}

#[test]
fn roles_live_under_the_pitagora_path() {
    let d = desired(&minimal_spec());
    assert_eq!(props(&d, "DeliveryRole")["Path"], "/pitagora/");
    assert_eq!(props(&d, "LogsRole")["Path"], "/pitagora/");
    assert_eq!(
        props(&d, "DeliveryRole")["RoleName"],
        d.names.delivery_role.as_str()
    );
    assert_eq!(
        props(&d, "LogsRole")["RoleName"],
        d.names.logs_role.as_str()
    );
}

#[test]
fn roles_carry_the_owner_tag() {
    let d = desired(&minimal_spec());
    assert!(cfn_tags_carry_owner(&props(&d, "DeliveryRole")["Tags"]));
    assert!(cfn_tags_carry_owner(&props(&d, "LogsRole")["Tags"]));
}

// ---------------------------------------------------------------------------------------------
// Logs role (CloudWatch Logs → Firehose).
// ---------------------------------------------------------------------------------------------

#[test]
fn logs_role_is_trusted_by_the_regional_logs_service_with_a_source_arn_condition() {
    let d = desired(&minimal_spec());
    let trust = &props(&d, "LogsRole")["AssumeRolePolicyDocument"];
    let [statement] = statements(trust) else {
        panic!("exactly one trust statement expected: {trust}");
    };
    assert_eq!(statement["Effect"], "Allow");
    assert_eq!(
        statement["Principal"],
        json!({"Service": format!("logs.{REGION}.amazonaws.com")})
    );
    assert_eq!(strings(&statement["Action"]), ["sts:AssumeRole"]);
    let (op, source_arn) =
        condition(statement, "aws:SourceArn").expect("an aws:SourceArn condition");
    assert!(
        ["StringLike", "ArnLike"].contains(&op),
        "{op} cannot match a wildcard"
    );
    assert_eq!(
        source_arn,
        &json!(format!("arn:aws:logs:{REGION}:{ACCOUNT}:*"))
    );
}

#[test]
fn logs_role_may_only_put_records_into_this_stream() {
    let d = desired(&minimal_spec());
    let statements = role_statements(&d, "LogsRole");
    let actions: BTreeSet<&str> = statements
        .iter()
        .flat_map(|s| strings(&s["Action"]))
        .collect();
    assert_eq!(
        actions,
        BTreeSet::from(["firehose:PutRecord", "firehose:PutRecordBatch"])
    );
    let stream = stream_arn(&d);
    assert_eq!(
        resources_for_service(&statements, "firehose"),
        BTreeSet::from([stream.as_str()])
    );
}

// ---------------------------------------------------------------------------------------------
// Lambda permissions.
// ---------------------------------------------------------------------------------------------

#[test]
fn transform_permission_lets_only_this_bucket_invoke_the_transform() {
    let d = desired(&transform_only_spec());
    let p = props(&d, "TransformPermission");
    assert_eq!(p["FunctionName"], lambda_arn("log-enricher"));
    assert_eq!(p["Action"], "lambda:InvokeFunction");
    assert_eq!(p["Principal"], "s3.amazonaws.com");
    assert_eq!(p["SourceArn"], bucket_arn(&d));
    assert_eq!(p["SourceAccount"], ACCOUNT);
}

#[test]
fn no_transform_permission_without_transform() {
    let d = desired(&fanout_only_spec());
    assert!(!logical_ids(&d).contains("TransformPermission"));
    assert!(
        lambda_permissions(&d)
            .iter()
            .all(|(_, p)| p["Principal"] != "s3.amazonaws.com")
    );
}

#[test]
fn no_lambda_permissions_without_transform_or_fanout() {
    let d = desired(&minimal_spec());
    assert!(lambda_permissions(&d).is_empty());
}

#[test]
fn each_subscriber_may_be_invoked_by_the_topic() {
    let d = desired(&fanout_only_spec());
    let permissions = lambda_permissions(&d);
    assert_eq!(
        permissions
            .iter()
            .map(|(id, _)| *id)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "SubscriberEsForwarderPermission",
            "SubscriberSlackNotifierPermission"
        ])
    );
    for (logical_id, function) in [
        ("SubscriberEsForwarderPermission", "es-forwarder"),
        ("SubscriberSlackNotifierPermission", "slack-notifier"),
    ] {
        let p = props(&d, logical_id);
        assert_eq!(p["FunctionName"], lambda_arn(function), "{logical_id}");
        assert_eq!(p["Action"], "lambda:InvokeFunction", "{logical_id}");
        assert_eq!(p["Principal"], "sns.amazonaws.com", "{logical_id}");
        assert_eq!(p["SourceArn"], topic_arn(&d), "{logical_id}");
    }
}

#[test]
fn full_chain_has_one_permission_for_the_transform_and_one_per_subscriber() {
    let d = desired(&full_chain_spec());
    assert_eq!(
        lambda_permissions(&d)
            .iter()
            .map(|(id, _)| *id)
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "TransformPermission",
            "SubscriberEsForwarderPermission",
            "SubscriberSlackNotifierPermission"
        ])
    );
}

#[test]
fn lambda_permissions_name_the_function_without_the_latest_qualifier() {
    // Lambda does not accept permissions on version $LATEST; the unqualified ARN is what S3 and
    // SNS invoke.
    let latest = |f: &str| format!("{}:$LATEST", lambda_arn(f));
    let d = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\ntransform:\n  lambdaArn: \"{}\"\nfanout:\n  subscribers:\n    - name: es-forwarder\n      lambdaArn: \"{}\"\n",
        latest("log-enricher"),
        latest("es-forwarder")
    )));
    assert_eq!(
        props(&d, "TransformPermission")["FunctionName"],
        lambda_arn("log-enricher")
    );
    assert_eq!(
        props(&d, "SubscriberEsForwarderPermission")["FunctionName"],
        lambda_arn("es-forwarder")
    );
}

#[test]
fn lambda_permissions_keep_an_alias_qualifier() {
    let d = desired(&with_subscriber(&format!(
        "{}:prod",
        lambda_arn("es-forwarder")
    )));
    assert_eq!(
        props(&d, "SubscriberEsForwarderPermission")["FunctionName"],
        format!("{}:prod", lambda_arn("es-forwarder"))
    );
}

// ---------------------------------------------------------------------------------------------
// Region and partition.
// ---------------------------------------------------------------------------------------------

#[test]
fn spec_region_overrides_the_default_region_in_every_arn() {
    let d = desired(&full_chain_in("us-west-2", "aws"));
    assert_eq!(d.target.region, "us-west-2");
    let arns = all_arns(&d);
    // The ARNs of the stream, topic, roles and bucket are among them.
    for expected in [
        &d.stream.arn,
        &d.topic.as_ref().expect("a topic").arn,
        &d.stream.destination.role_arn,
        &d.stream.destination.bucket_arn,
    ] {
        assert!(arns.contains(expected), "{expected} missing");
    }
    assert!(d.stream.arn.starts_with("arn:aws:firehose:us-west-2:"));
    for arn in &arns {
        let region = arn.split(':').nth(3).expect("an ARN has a region field");
        assert!(
            region.is_empty() || region == "us-west-2",
            "{arn} is not in us-west-2"
        );
    }
    let strings = all_strings(&serde_json::to_value(&d).expect("serialises"));
    assert!(
        strings.iter().all(|s| !s.contains(REGION)),
        "the default region leaks: {:?}",
        strings
            .iter()
            .filter(|s| s.contains(REGION))
            .collect::<Vec<_>>()
    );
}

#[test]
fn logs_principal_follows_the_spec_region() {
    let d = desired(&full_chain_in("us-west-2", "aws"));
    let trust = &props(&d, "LogsRole")["AssumeRolePolicyDocument"];
    assert_eq!(
        statements(trust)[0]["Principal"],
        json!({"Service": "logs.us-west-2.amazonaws.com"})
    );
}

#[test]
fn partition_follows_the_region() {
    let d = desired(&full_chain_in("cn-north-1", "aws-cn"));
    assert_eq!(d.target.partition, "aws-cn");
    let arns = all_arns(&d);
    assert!(arns.contains(&d.stream.destination.bucket_arn));
    assert!(arns.contains(&d.stream.destination.role_arn));
    for arn in &arns {
        assert!(arn.starts_with("arn:aws-cn:"), "{arn} is not in aws-cn");
        let region = arn.split(':').nth(3).expect("an ARN has a region field");
        assert!(region.is_empty() || region == "cn-north-1", "{arn}");
    }
}

#[test]
fn partition_follows_the_default_region() {
    let d = pitagora::desired::from_spec(&id(), &minimal_spec(), ACCOUNT, "us-gov-west-1")
        .expect("valid");
    assert_eq!(d.target.partition, "aws-us-gov");
    assert!(
        d.stream
            .arn
            .starts_with("arn:aws-us-gov:firehose:us-gov-west-1:")
    );
    assert!(
        d.stream
            .destination
            .bucket_arn
            .starts_with("arn:aws-us-gov:s3:::")
    );
}

#[test]
fn default_region_applies_when_the_spec_names_none() {
    let d = pitagora::desired::from_spec(&id(), &minimal_spec(), ACCOUNT, "ap-southeast-2")
        .expect("valid");
    assert_eq!(d.target.region, "ap-southeast-2");
    assert_eq!(d.target.account_id, ACCOUNT);
    assert!(
        d.stream
            .arn
            .starts_with(&format!("arn:aws:firehose:ap-southeast-2:{ACCOUNT}:"))
    );
}

#[test]
fn functions_outside_the_default_region_are_rejected_when_the_spec_names_no_region() {
    // S3 and SNS only invoke functions of their own region; without `spec.region` the pipeline
    // lives in the default region.
    let s = transform_only_spec(); // the function is in eu-west-1
    let Err(InvalidSpec(errors)) = pitagora::desired::from_spec(&id(), &s, ACCOUNT, "us-east-1")
    else {
        panic!("a transform in eu-west-1 cannot serve a pipeline in us-east-1");
    };
    assert_eq!(
        errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        ["spec.transform.lambdaArn"]
    );
}

// ---------------------------------------------------------------------------------------------
// Firehose stream.
// ---------------------------------------------------------------------------------------------

#[test]
fn stream_is_named_for_the_pipeline() {
    let d = desired(&minimal_spec());
    assert_eq!(d.stream.name, d.names.stream);
    assert_eq!(d.stream.arn, stream_arn(&d));
}

#[test]
fn ndjson_stream_decompresses_extracts_and_delimits_records_in_order() {
    let d = desired(&minimal_spec()); // NDJSON is the default
    let dest = &d.stream.destination;
    assert!(dest.processing_enabled);
    assert_eq!(
        dest.processors,
        vec![
            Processor::new("Decompression", &[("CompressionFormat", "GZIP")]),
            Processor::new(
                "CloudWatchLogProcessing",
                &[("DataMessageExtraction", "true")]
            ),
            Processor::new("AppendDelimiterToRecord", &[]),
        ]
    );
}

#[test]
fn ndjson_objects_are_gzip_compressed_by_default() {
    let d = desired(&minimal_spec());
    assert_eq!(d.stream.destination.compression, "GZIP");
}

#[test]
fn raw_stream_has_no_processors_and_is_uncompressed() {
    let d = desired(&with_delivery("  recordFormat: Raw\n"));
    let dest = &d.stream.destination;
    assert!(!dest.processing_enabled);
    assert!(dest.processors.is_empty());
    assert_eq!(dest.compression, "UNCOMPRESSED");
}

#[test]
fn envelope_stream_decompresses_and_delimits_records_without_extracting_messages() {
    let d = desired(&with_delivery("  recordFormat: Envelope\n"));
    let dest = &d.stream.destination;
    assert!(dest.processing_enabled);
    assert_eq!(
        dest.processors,
        vec![
            Processor::new("Decompression", &[("CompressionFormat", "GZIP")]),
            Processor::new("AppendDelimiterToRecord", &[]),
        ]
    );
    assert_eq!(dest.compression, "GZIP");
}

#[test]
fn hive_layout_partitions_objects_by_day_and_hour_and_errors_by_type() {
    let d = desired(&with_delivery("  layout: Hive\n"));
    let dest = &d.stream.destination;
    assert_eq!(
        dest.prefix,
        "raw/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
    );
    assert_eq!(
        dest.error_output_prefix,
        "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/"
    );
}

#[test]
fn hive_layout_keeps_the_static_prefix_for_the_role_and_the_notifications() {
    let flat = desired(&full_chain_spec());
    let mut spec = full_chain_spec();
    spec.delivery.layout = pitagora::spec::Layout::Hive;
    let hive = desired(&spec);
    assert_eq!(hive.notifications, flat.notifications);
    let role = |d: &pitagora::desired::Desired| {
        d.stack.template["Resources"]["DeliveryRole"]["Properties"]["Policies"].clone()
    };
    assert_eq!(role(&hive), role(&flat));
}

#[test]
fn explicit_compression_is_used() {
    let d = desired(&with_delivery("  compression: HADOOP_SNAPPY\n"));
    assert_eq!(d.stream.destination.compression, "HADOOP_SNAPPY");
}

#[test]
fn stream_buffering_hints_come_from_the_spec() {
    let d = desired(&with_delivery(
        "  buffering:\n    sizeMiB: 64\n    intervalSeconds: 60\n",
    ));
    let b = d.stream.destination.buffering;
    assert_eq!((b.size_mib, b.interval_seconds), (64, 60));
}

#[test]
fn stream_buffering_defaults_to_5_mib_and_300_seconds() {
    let d = desired(&minimal_spec());
    let b = d.stream.destination.buffering;
    assert_eq!((b.size_mib, b.interval_seconds), (5, 300));
}

#[test]
fn stream_prefixes_default_to_raw_and_errors() {
    let d = desired(&minimal_spec());
    assert_eq!(d.stream.destination.prefix, "raw/");
    assert_eq!(d.stream.destination.error_output_prefix, "errors/");
}

#[test]
fn stream_prefixes_come_from_the_spec_expressions_included() {
    let d = desired(&with_delivery(
        "  prefix: \"logs/!{timestamp:yyyy/MM/dd}/\"\n  errorOutputPrefix: \"failed/!{firehose:error-output-type}/\"\n",
    ));
    assert_eq!(d.stream.destination.prefix, "logs/!{timestamp:yyyy/MM/dd}/");
    assert_eq!(
        d.stream.destination.error_output_prefix,
        "failed/!{firehose:error-output-type}/"
    );
}

#[test]
fn stream_logs_delivery_errors_to_its_own_log_group() {
    let d = desired(&minimal_spec());
    let logging = &d.stream.destination.cloudwatch_logging;
    assert!(logging.enabled);
    assert_eq!(
        logging.log_group,
        format!("/aws/kinesisfirehose/{}", d.stream.name)
    );
    assert_eq!(logging.log_stream, "DestinationDelivery");
}

#[test]
fn error_log_group_is_kept_30_days_and_tagged() {
    let d = desired(&minimal_spec());
    assert_eq!(
        d.error_log_group.name,
        format!("/aws/kinesisfirehose/{}", d.stream.name)
    );
    assert_eq!(d.error_log_group.retention_days, 30);
    let (k, v) = owner_tag();
    assert_eq!(d.error_log_group.tags.get(&k), Some(&v));
}

#[test]
fn each_log_group_the_fluentd_routes_write_into_is_one_group_with_their_retention_and_tags() {
    let d = desired(&spec(
        "sources:\n  logGroupPrefixes: [/ecs/]\n\
         legacy:\n  fluentd:\n    target:\n      host: fluentd.logging.svc\n\
         \x20   logGroupRetentionDays: 90\n\
         \x20   routes:\n\
         \x20     - {match: app.worker.**, logGroup: /ecs/worker}\n\
         \x20     - {match: app.api.**, logGroup: /ecs/api}\n\
         \x20     - {match: app.api-v2.**, logGroup: /ecs/api}\n",
    ));
    let groups: Vec<(&str, &str, i32)> = d
        .route_log_groups
        .iter()
        .map(|g| (g.name.as_str(), g.arn.as_str(), g.retention_days))
        .collect();
    assert_eq!(
        groups,
        [
            (
                "/ecs/api",
                "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/api",
                90
            ),
            (
                "/ecs/worker",
                "arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/worker",
                90
            ),
        ]
    );
    assert!(d.route_log_groups.iter().all(|g| g.tags == d.tags));
    assert!(desired(&minimal_spec()).route_log_groups.is_empty());
}

#[test]
fn stream_delivers_to_this_bucket_with_the_delivery_role() {
    let d = desired(&minimal_spec());
    assert_eq!(d.stream.destination.bucket_arn, bucket_arn(&d));
    assert_eq!(
        d.stream.destination.role_arn,
        role_arn(&d.names.delivery_role)
    );
    assert_eq!(d.stream.destination.kms_key_arn, None);
}

#[test]
fn stream_carries_the_owner_tag() {
    let d = desired(&minimal_spec());
    let (k, v) = owner_tag();
    assert_eq!(d.stream.tags.get(&k), Some(&v));
    assert_eq!(d.tags.get(&k), Some(&v));
}

// ---------------------------------------------------------------------------------------------
// Subscription filter.
// ---------------------------------------------------------------------------------------------

#[test]
fn subscription_filter_delivers_to_the_stream_with_the_logs_role() {
    let d = desired(&minimal_spec());
    let f = &d.filters.filter;
    assert_eq!(f.name, d.names.filter);
    assert_eq!(f.destination_arn, stream_arn(&d));
    assert_eq!(
        f.role_arn.as_deref(),
        Some(role_arn(&d.names.logs_role).as_str())
    );
}

#[test]
fn subscription_filter_forwards_every_event_by_log_stream_by_default() {
    let d = desired(&minimal_spec());
    assert_eq!(d.filters.filter.pattern, "");
    assert_eq!(d.filters.filter.distribution, "ByLogStream");
}

#[test]
fn subscription_filter_pattern_and_distribution_come_from_the_spec() {
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\n  filterPattern: \"ERROR\"\n  distribution: Random\n",
    ));
    assert_eq!(d.filters.filter.pattern, "ERROR");
    assert_eq!(d.filters.filter.distribution, "Random");
}

#[test]
fn filter_sources_come_from_the_spec() {
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders, /ecs/billing]\n  logGroupPrefixes: [/lambda/]\n",
    ));
    assert_eq!(d.filters.log_groups, ["/ecs/orders", "/ecs/billing"]);
    assert_eq!(d.filters.log_group_prefixes, ["/lambda/"]);
}

#[test]
fn filter_selects_exactly_named_log_groups() {
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders, /ecs/billing]\n",
    ));
    assert!(d.filters.selects("/ecs/orders"));
    assert!(d.filters.selects("/ecs/billing"));
    // An exact name is not a prefix.
    assert!(!d.filters.selects("/ecs/orders-worker"));
    assert!(!d.filters.selects("/ecs/order"));
}

#[test]
fn filter_selects_every_group_under_a_prefix() {
    let d = desired(&full_chain_spec()); // logGroupPrefixes: [/ecs/]
    assert!(d.filters.selects("/ecs/orders"));
    assert!(d.filters.selects("/ecs/"));
    assert!(d.filters.selects("/ecs/a-service-created-tomorrow"));
}

#[test]
fn a_prefix_selects_its_own_canary_group_but_never_another_pipelines() {
    let d = desired(&full_chain_spec()); // logGroupPrefixes: [/ecs/]
    let own = d.filters.canary.clone().expect("a canary group");
    assert!(own.starts_with("/ecs/pitagora-"), "{own}");
    assert!(d.filters.selects(&own));
    // Another pipeline with the same prefix, and one without prefixes.
    assert!(
        !d.filters
            .selects("/ecs/pitagora-team-b-orders-0123abcd-canary")
    );
    assert!(
        !d.filters
            .selects("/pitagora/canary/pitagora-team-b-orders-0123abcd")
    );
    // A user's group that merely looks alike is still a source.
    assert!(
        d.filters
            .selects("/ecs/pitagora-team-b-orders-0123abcd-canary-replay")
    );
}

#[test]
fn filter_does_not_select_unrelated_groups() {
    let d = desired(&full_chain_spec()); // logGroupPrefixes: [/ecs/]
    assert!(!d.filters.selects("/lambda/orders"));
    assert!(!d.filters.selects("/ecs")); // shorter than the prefix
    assert!(!d.filters.selects("/team/ecs/orders")); // contains, does not start with
    assert!(!d.filters.selects(&d.error_log_group.name));
}

// ---------------------------------------------------------------------------------------------
// Bucket notifications.
// ---------------------------------------------------------------------------------------------

#[test]
fn transform_is_notified_of_objects_created_under_the_raw_prefix() {
    let d = desired(&transform_only_spec());
    assert_eq!(
        d.notifications,
        vec![Notification {
            id: d.names.transform_notification_id.clone(),
            target: NotificationTarget::Lambda(lambda_arn("log-enricher")),
            events: vec!["s3:ObjectCreated:*".to_owned()],
            prefix: "raw/".to_owned(),
            suffix: String::new(),
        }]
    );
}

#[test]
fn fanout_with_transform_is_notified_of_the_transform_output() {
    let d = desired(&full_chain_spec()); // transform output processed/
    assert_eq!(d.notifications.len(), 2, "{:#?}", d.notifications);
    assert_eq!(
        notification(&d, &d.names.transform_notification_id).prefix,
        "raw/"
    );
    assert_eq!(
        *notification(&d, &d.names.fanout_notification_id),
        Notification {
            id: d.names.fanout_notification_id.clone(),
            target: NotificationTarget::Topic(topic_arn(&d)),
            events: vec!["s3:ObjectCreated:*".to_owned()],
            prefix: "processed/".to_owned(),
            suffix: String::new(),
        }
    );
}

#[test]
fn fanout_without_transform_is_notified_of_the_raw_prefix() {
    let d = desired(&fanout_only_spec());
    assert_eq!(
        d.notifications,
        vec![Notification {
            id: d.names.fanout_notification_id.clone(),
            target: NotificationTarget::Topic(topic_arn(&d)),
            events: vec!["s3:ObjectCreated:*".to_owned()],
            prefix: "raw/".to_owned(),
            suffix: String::new(),
        }]
    );
}

#[test]
fn no_notifications_without_transform_or_fanout() {
    let d = desired(&minimal_spec());
    assert!(d.notifications.is_empty());
}

#[test]
fn notification_ids_are_the_pipelines_and_distinct() {
    let d = desired(&full_chain_spec());
    let ids: BTreeSet<&str> = d.notifications.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        BTreeSet::from([
            d.names.transform_notification_id.as_str(),
            d.names.fanout_notification_id.as_str()
        ])
    );
}

#[test]
fn notification_prefix_is_the_static_part_of_an_expression_prefix() {
    let d = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\ndelivery:\n  prefix: \"logs/!{{timestamp:yyyy}}/\"\n  errorOutputPrefix: \"failed/!{{firehose:error-output-type}}/\"\ntransform:\n  lambdaArn: {}\n",
        lambda_arn("log-enricher")
    )));
    assert_eq!(
        notification(&d, &d.names.transform_notification_id).prefix,
        "logs/"
    );
}

#[test]
fn transform_notification_targets_the_function_without_the_latest_qualifier() {
    let d = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\ntransform:\n  lambdaArn: \"{}:$LATEST\"\n",
        lambda_arn("log-enricher")
    )));
    assert_eq!(
        notification(&d, &d.names.transform_notification_id).target,
        NotificationTarget::Lambda(lambda_arn("log-enricher"))
    );
}

// ---------------------------------------------------------------------------------------------
// Bucket lifecycle.
// ---------------------------------------------------------------------------------------------

#[test]
fn no_lifecycle_rule_without_retention_or_transition() {
    let d = desired(&minimal_spec());
    assert!(d.lifecycle.is_empty());
}

#[test]
fn retention_expires_objects_after_the_given_days() {
    let d = desired(&with_storage("  retentionDays: 90\n"));
    assert_eq!(
        d.lifecycle,
        vec![LifecycleRule {
            id: d.names.lifecycle_rule_id.clone(),
            prefix: String::new(),
            enabled: true,
            expiration_days: Some(90),
            noncurrent_days: None,
            transitions: Vec::new(),
        }]
    );
}

#[test]
fn transition_moves_objects_to_the_archive_class() {
    let d = desired(&with_storage(
        "  transition:\n    afterDays: 30\n    storageClass: GLACIER_IR\n",
    ));
    assert_eq!(
        d.lifecycle,
        vec![LifecycleRule {
            id: d.names.lifecycle_rule_id.clone(),
            prefix: String::new(),
            enabled: true,
            expiration_days: None,
            noncurrent_days: None,
            transitions: vec![LifecycleTransition {
                days: 30,
                storage_class: "GLACIER_IR".to_owned(),
            }],
        }]
    );
}

#[test]
fn retention_and_transition_share_one_rule() {
    let d = desired(&full_chain_spec()); // retention 400, GLACIER_IR after 30
    let [rule] = d.lifecycle.as_slice() else {
        panic!("one rule expected: {:#?}", d.lifecycle);
    };
    assert_eq!(rule.id, d.names.lifecycle_rule_id);
    assert_eq!(rule.expiration_days, Some(400));
    assert_eq!(
        rule.transitions,
        [LifecycleTransition {
            days: 30,
            storage_class: "GLACIER_IR".to_owned()
        }]
    );
}

// ---------------------------------------------------------------------------------------------
// Topic subscriptions.
// ---------------------------------------------------------------------------------------------

#[test]
fn each_subscriber_gets_one_lambda_subscription() {
    let d = desired(&fanout_only_spec());
    let subs = topic_subscriptions(&d);
    assert_eq!(
        subs.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(),
        ["es-forwarder", "slack-notifier"]
    );
    for (name, sub) in subs {
        assert_eq!(sub.protocol, "lambda", "{name}");
        assert_eq!(sub.endpoint, lambda_arn(name), "{name}");
    }
}

#[test]
fn subscription_endpoint_drops_the_latest_qualifier() {
    let d = desired(&with_subscriber(&format!(
        "{}:$LATEST",
        lambda_arn("es-forwarder")
    )));
    assert_eq!(
        topic_subscriptions(&d)[0].1.endpoint,
        lambda_arn("es-forwarder")
    );
}

#[test]
fn subscription_endpoint_keeps_an_alias_qualifier() {
    let arn = format!("{}:prod", lambda_arn("es-forwarder"));
    let d = desired(&with_subscriber(&arn));
    assert_eq!(topic_subscriptions(&d)[0].1.endpoint, arn);
}

#[test]
fn filter_policy_is_kept_and_applies_to_the_message_body() {
    let d = desired(&fanout_only_spec());
    let (_, slack) = &topic_subscriptions(&d)[1];
    assert_eq!(
        slack.filter_policy,
        Some(json!({"Records": {"s3": {"object": {"key": [{"prefix": "processed/alerts/"}]}}}}))
    );
    assert_eq!(slack.filter_policy_scope.as_deref(), Some("MessageBody"));
}

#[test]
fn subscription_without_filter_policy_has_no_scope() {
    let d = desired(&fanout_only_spec());
    let (_, es) = &topic_subscriptions(&d)[0];
    assert_eq!(es.filter_policy, None);
    assert_eq!(es.filter_policy_scope, None);
}

// ---------------------------------------------------------------------------------------------
// Settings.
// ---------------------------------------------------------------------------------------------

#[test]
fn drift_is_corrected_by_default() {
    assert!(!desired(&minimal_spec()).report_only);
}

#[test]
fn drift_policy_report_makes_the_pipeline_report_only() {
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\ndrift:\n  policy: Report\n",
    ));
    assert!(d.report_only);
}

#[test]
fn adopting_existing_resources_is_off_by_default_and_follows_the_spec() {
    assert!(!desired(&minimal_spec()).adopt_existing);
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\nadoptExisting: true\n",
    ));
    assert!(d.adopt_existing);
}

fn legacy_spec(stage: Option<&str>) -> LogPipelineSpec {
    let cutover = stage.map_or(String::new(), |s| format!("cutover:\n  stage: {s}\n"));
    spec(&format!(
        "sources:
  logGroups: [/ecs/orders]
legacy:
  fluentd:
    target:
      host: fluentd-aggregator.logging.svc
    routes:
      - match: app.orders.**
        logGroup: /ecs/orders
{cutover}"
    ))
}

#[test]
fn stage_defaults_to_new_without_legacy() {
    assert_eq!(desired(&minimal_spec()).stage, CutoverStage::New);
}

#[test]
fn stage_defaults_to_legacy_while_a_legacy_path_is_declared() {
    assert_eq!(desired(&legacy_spec(None)).stage, CutoverStage::Legacy);
}

#[test]
fn explicit_stage_is_kept() {
    assert_eq!(
        desired(&legacy_spec(Some("Shadow"))).stage,
        CutoverStage::Shadow
    );
    assert_eq!(
        desired(&legacy_spec(Some("Primary"))).stage,
        CutoverStage::Primary
    );
}

#[test]
fn desired_state_names_the_pipeline_and_its_target() {
    let d = desired(&minimal_spec());
    assert_eq!(d.id, id());
    assert_eq!(d.target.account_id, ACCOUNT);
    assert_eq!(d.target.region, REGION);
    assert_eq!(d.target.partition, "aws");
}

// ---------------------------------------------------------------------------------------------
// Invalid specs.
// ---------------------------------------------------------------------------------------------

#[test]
fn invalid_spec_yields_every_error_and_no_desired_state() {
    let s = spec(&format!(
        "sources:
  logGroups: [/ecs/orders]
delivery:
  buffering:
    sizeMiB: 200
    intervalSeconds: 1000
transform:
  lambdaArn: {}
  outputPrefix: raw/processed/
",
        lambda_arn("log-enricher")
    ));
    let err = try_desired(&s).expect_err("an invalid spec has no desired state");
    let InvalidSpec(errors) = &err;
    assert_eq!(
        errors
            .iter()
            .map(|e| e.path.as_str())
            .collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "spec.delivery.buffering.sizeMiB",
            "spec.delivery.buffering.intervalSeconds",
            "spec.transform.outputPrefix",
        ])
    );
    assert_eq!(errors.len(), 3, "{errors:#?}");
    let message = err.to_string();
    assert!(message.contains("3 errors"), "{message}");
    for e in errors {
        assert!(message.contains(&e.path), "{message} lacks {}", e.path);
    }
}

#[test]
fn invalid_identity_yields_no_desired_state() {
    let bad = pitagora::names::PipelineId::new("Team_A", "orders");
    let Err(InvalidSpec(errors)) =
        pitagora::desired::from_spec(&bad, &minimal_spec(), ACCOUNT, REGION)
    else {
        panic!("an invalid namespace has no desired state");
    };
    assert_eq!(
        errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        ["metadata.namespace"]
    );
}

#[test]
fn source_prefix_matching_the_own_error_log_group_is_rejected() {
    let Err(InvalidSpec(errors)) = try_desired(&spec("sources:\n  logGroupPrefixes: [/aws/]\n"))
    else {
        panic!("the pipeline would subscribe to its own error log group");
    };
    assert_eq!(
        errors.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        ["spec.sources.logGroupPrefixes[0]"]
    );
}

// ---------------------------------------------------------------------------------------------
// Determinism.
// ---------------------------------------------------------------------------------------------

#[test]
fn building_twice_yields_equal_desired_states() {
    for s in [minimal_spec(), full_chain_spec()] {
        let (a, b) = (desired(&s), desired(&s));
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).expect("serialises"),
            serde_json::to_string(&b).expect("serialises")
        );
    }
}

// ---- The canary log group ----------------------------------------------------------------

#[test]
fn the_canary_log_group_lives_under_the_first_prefix_so_the_prefix_walk_proves_it() {
    let d = desired(&full_chain_spec()); // prefixes: /ecs/
    let canary = d.canary_log_group.as_ref().unwrap();
    assert_eq!(canary.name, format!("/ecs/{}-canary", d.names.stream));
    assert!(d.filters.selects(&canary.name));
    assert_eq!(canary.retention_days, 1);
    assert_eq!(canary.tags, d.tags);
}

#[test]
fn without_prefixes_the_canary_log_group_is_a_source_by_name_under_pitagoras_root() {
    let d = desired(&minimal_spec());
    let canary = d.canary_log_group.as_ref().unwrap();
    assert_eq!(canary.name, format!("/pitagora/canary/{}", d.names.stream));
    assert_eq!(d.filters.canary.as_deref(), Some(canary.name.as_str()));
    assert!(d.filters.selects(&canary.name));
    // It is not one of the user's sources.
    assert!(!d.filters.log_groups.contains(&canary.name));
}

#[test]
fn with_verification_disabled_there_is_no_canary_log_group() {
    let mut spec = minimal_spec();
    spec.delivery.verify.enabled = false;
    let d = desired(&spec);
    assert_eq!(d.canary_log_group, None);
    assert_eq!(d.filters.canary, None);
}

#[test]
fn versioning_is_off_unless_asked_for() {
    let d = desired(&minimal_spec());
    assert!(props(&d, "Bucket")["VersioningConfiguration"].is_null());
    assert!(d.lifecycle.iter().all(|r| r.noncurrent_days.is_none()));
}

#[test]
fn versioning_turns_on_s3_versioning_and_expires_kept_versions_after_thirty_days() {
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  versioning: {}\n",
    ));
    assert_eq!(
        props(&d, "Bucket")["VersioningConfiguration"],
        serde_json::json!({"Status": "Enabled"})
    );
    assert_eq!(d.held.bucket_access.versioning.as_deref(), Some("Enabled"));
    assert_eq!(d.lifecycle.len(), 1);
    assert_eq!(d.lifecycle[0].noncurrent_days, Some(30));
    assert_eq!(d.lifecycle[0].expiration_days, None);
}

#[test]
fn access_logging_and_topic_encryption_are_off_unless_asked_for() {
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers: []\n",
    ));
    assert!(props(&d, "Bucket")["LoggingConfiguration"].is_null());
    assert!(props(&d, "Topic")["KmsMasterKeyId"].is_null());
    assert_eq!(d.held.bucket_access.logging, None);
    assert_eq!(d.held.topic_key, None);
}

#[test]
fn access_logs_go_to_the_named_bucket_under_the_pipelines_bucket_name_by_default() {
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  accessLogging: {bucket: team-a-access-logs}\n",
    ));
    let expected = serde_json::json!({
        "DestinationBucketName": "team-a-access-logs",
        "LogFilePrefix": format!("{}/", d.names.bucket),
    });
    assert_eq!(props(&d, "Bucket")["LoggingConfiguration"], expected);
    let held = d.held.bucket_access.logging.as_ref().unwrap();
    assert_eq!(held.destination_bucket_name, "team-a-access-logs");
    assert_eq!(held.log_file_prefix, format!("{}/", d.names.bucket));
}

#[test]
fn the_topic_is_encrypted_with_the_named_key() {
    let key = "arn:aws:kms:eu-west-1:123456789012:key/k-1";
    let d = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers: []\n  kmsKeyArn: {key}\n"
    )));
    assert_eq!(props(&d, "Topic")["KmsMasterKeyId"], key);
    assert_eq!(d.held.topic_key.as_deref(), Some(key));
}
