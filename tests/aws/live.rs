//! The stack's own resources, read live against a real AWS-protocol server (moto): with the full
//! chain converged, each change made out of band through a service's API (which CloudFormation
//! never sees) is (a) reported by `check` at the changed property with both values, without a
//! single write, and (b) corrected by `converge` with exactly the write it needs, after which
//! the check is clean.

use crate::common;

use aws_sdk_s3::types as s3;
use common::moto::*;
use pitagora::names::{PIPELINE_BOUNDARY, ROLE_PATH};
use pitagora::plan::{Action, Op, Plan};
use pitagora::resources::ResourceKind;
use pitagora::spec::{BucketPolicyMode, DriftPolicy};
use serde_json::{Value, json};

/// The plan's only action, asserted to be an `op` of `kind` on `name`.
fn the_action<'a>(plan: &'a Plan, op: Op, kind: ResourceKind, name: &str) -> &'a Action {
    let a = only_action(plan);
    assert_eq!((a.op, a.kind, a.name.as_str()), (op, kind, name), "{a:#?}");
    a
}

/// The change at `field`, as `(desired, actual)`.
fn change<'a>(a: &'a Action, field: &str) -> (Option<&'a str>, Option<&'a str>) {
    let c = a
        .changes
        .iter()
        .find(|c| c.field == field)
        .unwrap_or_else(|| panic!("no change at {field}: {:#?}", a.changes));
    (c.desired.as_deref(), c.actual.as_deref())
}

async fn bucket_policy(m: &Moto, bucket: &str) -> Value {
    let out =
        m.c.s3
            .get_bucket_policy()
            .bucket(bucket)
            .send()
            .await
            .unwrap();
    serde_json::from_str(out.policy().unwrap()).unwrap()
}

async fn put_bucket_policy(m: &Moto, bucket: &str, policy: &Value) {
    m.outsider()
        .await
        .s3
        .put_bucket_policy()
        .bucket(bucket)
        .policy(policy.to_string())
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_relaxed_public_access_block_is_reported_by_flag_and_restored_by_one_put() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let relaxed = s3::PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .block_public_policy(false)
        .ignore_public_acls(true)
        .restrict_public_buckets(false)
        .build();
    m.outsider()
        .await
        .s3
        .put_public_access_block()
        .bucket(&d.names.bucket)
        .public_access_block_configuration(relaxed)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::BucketAccess,
        &d.names.bucket,
    );
    assert_eq!(
        changed_fields(a),
        [
            "PublicAccessBlockConfiguration.BlockPublicPolicy",
            "PublicAccessBlockConfiguration.RestrictPublicBuckets"
        ]
    );
    assert_eq!(
        change(a, "PublicAccessBlockConfiguration.BlockPublicPolicy"),
        (Some("true"), Some("false"))
    );
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("S3.PutPublicAccessBlock", 1)])
    );
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

#[tokio::test]
async fn a_removed_public_access_block_is_reported_and_restored() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let o = m.outsider().await;
    o.s3.delete_public_access_block()
        .bucket(&d.names.bucket)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::BucketAccess,
        &d.names.bucket,
    );
    let (desired, actual) = change(a, "PublicAccessBlockConfiguration");
    assert!(
        desired.unwrap().contains("\"BlockPublicAcls\":true"),
        "{desired:?}"
    );
    assert_eq!(actual, None);
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("S3.PutPublicAccessBlock", 1)])
    );
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

#[tokio::test]
async fn removed_default_encryption_is_reported_and_restored_by_one_put() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    m.outsider()
        .await
        .s3
        .delete_bucket_encryption()
        .bucket(&d.names.bucket)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::BucketAccess,
        &d.names.bucket,
    );
    assert_eq!(
        change(a, "BucketEncryption.ServerSideEncryptionConfiguration"),
        (Some(r#"[{"SSEAlgorithm":"AES256"}]"#), None)
    );
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("S3.PutBucketEncryption", 1)])
    );
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

#[tokio::test]
async fn a_deleted_bucket_policy_is_reported_by_statement_and_restored() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    m.outsider()
        .await
        .s3
        .delete_bucket_policy()
        .bucket(&d.names.bucket)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::BucketPolicy,
        &d.names.bucket,
    );
    assert_eq!(
        changed_fields(a),
        ["PolicyDocument.Statement[DenyInsecureTransport]"]
    );
    assert_eq!(correct(&m, &spec).await, ops(&[("S3.PutBucketPolicy", 1)]));
    let policy = bucket_policy(&m, &d.names.bucket).await;
    assert_eq!(policy["Statement"][0]["Sid"], "DenyInsecureTransport");
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

#[tokio::test]
async fn an_altered_bucket_policy_statement_is_reported_at_the_leaf() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let mut policy = bucket_policy(&m, &d.names.bucket).await;
    policy["Statement"][0]["Effect"] = json!("Allow");
    put_bucket_policy(&m, &d.names.bucket, &policy).await;

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::BucketPolicy,
        &d.names.bucket,
    );
    assert_eq!(
        changed_fields(a),
        ["PolicyDocument.Statement[DenyInsecureTransport].Effect"]
    );
    assert_eq!(
        change(a, "PolicyDocument.Statement[DenyInsecureTransport].Effect"),
        (Some("Deny"), Some("Allow"))
    );
    assert_eq!(correct(&m, &spec).await, ops(&[("S3.PutBucketPolicy", 1)]));
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

fn foreign_statement() -> Value {
    json!({"Sid": "Analytics", "Effect": "Allow",
           "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
           "Action": "s3:GetObject", "Resource": "arn:aws:s3:::elsewhere/*"})
}

#[tokio::test]
async fn another_owners_bucket_policy_statement_is_listed_as_accepted_and_kept() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let mut policy = bucket_policy(&m, &d.names.bucket).await;
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(foreign_statement());
    put_bucket_policy(&m, &d.names.bucket, &policy).await;

    let plan = check_reads_only(&m, &spec).await;
    assert!(plan.in_sync(), "{:#?}", plan.actions);
    let accepted: Vec<&str> = plan
        .ignored
        .iter()
        .filter_map(|i| i.change.as_ref().map(|c| c.field.as_str()))
        .collect();
    assert_eq!(accepted, ["PolicyDocument.Statement[Analytics]"]);
    assert_eq!(correct(&m, &spec).await, ops(&[]));
    let kept = bucket_policy(&m, &d.names.bucket).await;
    assert_eq!(kept["Statement"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn with_an_exclusive_bucket_policy_another_statement_is_drift_and_removed() {
    let m = Moto::new().await;
    let (mut spec, d) = m.full_chain().await;
    spec.storage.bucket_policy = BucketPolicyMode::Exclusive;
    let mut policy = bucket_policy(&m, &d.names.bucket).await;
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(foreign_statement());
    put_bucket_policy(&m, &d.names.bucket, &policy).await;

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::BucketPolicy,
        &d.names.bucket,
    );
    assert_eq!(changed_fields(a), ["PolicyDocument.Statement[Analytics]"]);
    assert_eq!(correct(&m, &spec).await, ops(&[("S3.PutBucketPolicy", 1)]));
    let left = bucket_policy(&m, &d.names.bucket).await;
    assert_eq!(left["Statement"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_trust_policy_without_its_condition_is_reported_and_restored() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let open_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    m.outsider()
        .await
        .iam
        .update_assume_role_policy()
        .role_name(&d.names.delivery_role)
        .policy_document(open_trust)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::Role,
        &d.names.delivery_role,
    );
    assert_eq!(
        changed_fields(a),
        ["AssumeRolePolicyDocument.Statement[#0].Condition"]
    );
    let (desired, actual) = change(a, "AssumeRolePolicyDocument.Statement[#0].Condition");
    assert!(desired.unwrap().contains("sts:ExternalId"), "{desired:?}");
    assert_eq!(actual, None);
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("IAM.UpdateAssumeRolePolicy", 1)])
    );
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

#[tokio::test]
async fn a_widened_inline_policy_is_reported_and_put_back() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    put_role_policy(
        &m.outsider().await,
        &d.names.logs_role,
        "put-records",
        ALLOW_ALL,
    )
    .await;

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(&plan, Op::Update, ResourceKind::Role, &d.names.logs_role);
    assert_eq!(
        change(a, "Policies.put-records.Statement[#0].Resource"),
        (Some(d.stream.arn.as_str()), Some("*"))
    );
    assert_eq!(correct(&m, &spec).await, ops(&[("IAM.PutRolePolicy", 1)]));
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

#[tokio::test]
async fn an_inline_policy_added_by_hand_is_reported_and_deleted() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    put_role_policy(
        &m.outsider().await,
        &d.names.delivery_role,
        "by-hand",
        ALLOW_ALL,
    )
    .await;

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::Role,
        &d.names.delivery_role,
    );
    assert_eq!(changed_fields(a), ["Policies.by-hand"]);
    assert_eq!(change(a, "Policies.by-hand").0, None);
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("IAM.DeleteRolePolicy", 1)])
    );
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

#[tokio::test]
async fn an_attached_managed_policy_is_reported_and_detached() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    // moto loads no AWS-managed policies, so the outsider attaches a wide one of their own.
    let iam = m.outsider().await.iam;
    let admin = iam
        .create_policy()
        .policy_name("by-hand-admin")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap()
        .policy
        .and_then(|p| p.arn)
        .unwrap();
    let admin = admin.as_str();
    iam.attach_role_policy()
        .role_name(&d.names.delivery_role)
        .policy_arn(admin)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(
        &plan,
        Op::Update,
        ResourceKind::Role,
        &d.names.delivery_role,
    );
    let field = format!("ManagedPolicyArns[{admin}]");
    assert_eq!(changed_fields(a), [field.as_str()]);
    assert_eq!(change(a, &field), (None, Some(admin)));
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("IAM.DetachRolePolicy", 1)])
    );
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

/// A role's permissions boundary removed or replaced by hand: reported, and set back.
#[tokio::test]
async fn a_role_boundary_removed_or_replaced_by_hand_is_reported_and_restored() {
    for replaced_by in [None, Some("by-hand-boundary")] {
        let m = Moto::new().await;
        let (spec, d) = m.full_chain().await;
        let iam = m.outsider().await.iam;
        let role = &d.names.logs_role;
        let actual = match replaced_by {
            None => {
                iam.delete_role_permissions_boundary()
                    .role_name(role)
                    .send()
                    .await
                    .unwrap();
                None
            }
            Some(name) => {
                let arn = iam
                    .create_policy()
                    .policy_name(name)
                    .policy_document(ALLOW_ALL)
                    .send()
                    .await
                    .unwrap()
                    .policy
                    .and_then(|p| p.arn)
                    .unwrap();
                iam.put_role_permissions_boundary()
                    .role_name(role)
                    .permissions_boundary(&arn)
                    .send()
                    .await
                    .unwrap();
                Some(arn)
            }
        };

        let plan = check_reads_only(&m, &spec).await;
        let a = the_action(&plan, Op::Update, ResourceKind::Role, role);
        assert_eq!(changed_fields(a), ["PermissionsBoundary"]);
        assert_eq!(
            change(a, "PermissionsBoundary"),
            (
                Some(d.target.policy_arn(ROLE_PATH, PIPELINE_BOUNDARY).as_str()),
                actual.as_deref()
            )
        );
        assert_eq!(
            correct(&m, &spec).await,
            ops(&[("IAM.PutRolePermissionsBoundary", 1)])
        );
        assert!(check_reads_only(&m, &spec).await.in_sync());
    }
}

#[tokio::test]
async fn a_topic_policy_opened_to_everyone_is_reported_and_restored() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let topic = d.topic.as_ref().unwrap();
    let open = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "AllowBucketToPublish", "Effect": "Allow", "Principal": "*",
        "Action": "sns:Publish", "Resource": topic.arn}]});
    m.outsider()
        .await
        .sns
        .set_topic_attributes()
        .topic_arn(&topic.arn)
        .attribute_name("Policy")
        .attribute_value(open.to_string())
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(&plan, Op::Update, ResourceKind::TopicPolicy, &topic.name);
    let (desired, actual) = change(
        a,
        "PolicyDocument.Statement[AllowBucketToPublish].Principal",
    );
    assert_eq!(desired, Some(r#"{"Service":"s3.amazonaws.com"}"#));
    assert_eq!(actual, Some("*"));
    assert!(
        changed_fields(a).contains(&"PolicyDocument.Statement[AllowBucketToPublish].Condition"),
        "{:?}",
        changed_fields(a)
    );
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("SNS.SetTopicAttributes", 1)])
    );
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

#[tokio::test]
async fn a_removed_lambda_permission_is_reported_and_added_again_under_pitagoras_id() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let function = spec.transform.as_ref().unwrap().lambda_arn.clone();
    let sid = first_statement_sid(&m, &function).await;
    m.outsider()
        .await
        .lambda
        .remove_permission()
        .function_name(&function)
        .statement_id(&sid)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(&plan, Op::Create, ResourceKind::LambdaPermission, &function);
    let c = &a.changes[0];
    assert_eq!(c.field, "Statement[TransformPermission]");
    assert_eq!(c.spec_field.as_deref(), Some("spec.transform.lambdaArn"));
    assert_eq!(
        c.desired.as_deref(),
        Some(
            format!(
                "lambda:InvokeFunction for s3.amazonaws.com from arn:aws:s3:::{} in account {}",
                d.names.bucket, d.target.account_id
            )
            .as_str()
        )
    );
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("Lambda.AddPermission", 1)])
    );
    let after =
        m.c.lambda
            .get_policy()
            .function_name(&function)
            .send()
            .await
            .unwrap();
    assert!(
        after
            .policy()
            .unwrap()
            .contains(&pitagora::desired::statement_id(
                &d.stack.name,
                "TransformPermission"
            )),
        "{:?}",
        after.policy()
    );
    assert!(check_reads_only(&m, &spec).await.in_sync());
}

/// The stack created the transform's permission without `SourceAccount` (as another emulator's
/// CloudFormation does): the statement cannot be edited, so it is removed and added again under
/// pitagora's id, and the outcome names both.
#[tokio::test]
async fn a_lambda_permission_without_its_source_account_is_replaced_and_the_outcome_names_both_statements()
 {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let function = spec.transform.as_ref().unwrap().lambda_arn.clone();
    let sid = first_statement_sid(&m, &function).await;
    let outsider = m.outsider().await;
    outsider
        .lambda
        .remove_permission()
        .function_name(&function)
        .statement_id(&sid)
        .send()
        .await
        .unwrap();
    outsider
        .lambda
        .add_permission()
        .function_name(&function)
        .statement_id(&sid)
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn(format!("arn:aws:s3:::{}", d.names.bucket))
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = the_action(&plan, Op::Update, ResourceKind::LambdaPermission, &function);
    assert_eq!(
        changed_fields(a),
        [format!("Statement[{sid}].SourceAccount")]
    );
    let mut details = Vec::new();
    let done = m
        .engine
        .converge(&m.pipeline(&spec).await, &Default::default(), &mut |p| {
            if let pitagora::engine::Progress::Outcome { outcome, .. } = p {
                details.push(outcome.result.clone().unwrap());
            }
        })
        .await
        .unwrap();

    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    let added = pitagora::desired::statement_id(&d.stack.name, "TransformPermission");
    assert_eq!(
        details,
        [format!("removed statement {sid}, added statement {added}")]
    );
}

#[tokio::test]
async fn with_the_report_policy_a_live_difference_is_reported_and_nothing_is_written() {
    let m = Moto::new().await;
    let (mut spec, d) = m.full_chain().await;
    spec.drift.policy = DriftPolicy::Report;
    m.outsider()
        .await
        .s3
        .delete_bucket_policy()
        .bucket(&d.names.bucket)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    the_action(
        &plan,
        Op::Update,
        ResourceKind::BucketPolicy,
        &d.names.bucket,
    );
    let before = m.calls();
    let done = m.converge(&spec).await;
    assert_eq!(m.writes_since(&before), ops(&[]));
    assert!(!done.remaining.in_sync());
}

/// The id of the first statement of `function`'s resource policy.
async fn first_statement_sid(m: &Moto, function: &str) -> String {
    let policy =
        m.c.lambda
            .get_policy()
            .function_name(function)
            .send()
            .await
            .unwrap();
    let doc: Value = serde_json::from_str(policy.policy().unwrap()).unwrap();
    doc["Statement"][0]["Sid"].as_str().unwrap().to_owned()
}
