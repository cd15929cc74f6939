//! The stack's own resources, read live against a real AWS-protocol server (moto): with the full
//! chain converged, each change made out of band through a service's API (which CloudFormation
//! never sees) is (a) reported by `check` at the changed property with both values, without a
//! single write, and (b) corrected by `converge` with exactly the write it needs, after which
//! the check is clean. [`CASES`] states these as rows (common::out_of_band runs them); the tests
//! below them are the changes that are not drift, or not corrected.

use crate::common;

use aws_sdk_s3::types as s3;
use common::moto::*;
use common::out_of_band::{Case, Changes::*, Given::*, Value::*, at, run_all};
use pitagora::desired::Desired;
use pitagora::plan::{Action, Op, Plan};
use pitagora::resources::ResourceKind::{self, *};
use pitagora::spec::DriftPolicy;
use serde_json::{Value, json};

/// Every row in its own account, all at once; a failure names its row.
#[tokio::test]
async fn each_live_change_made_by_hand_is_reported_at_its_field_and_corrected_by_one_write() {
    run_all(CASES).await;
}

const CASES: &[Case] = &[
    Case {
        name: "a relaxed public access block is reported by flag and restored by one put",
        given: FullChain,
        perturb: |m, d| Box::pin(relax_public_access_block(m, d)),
        action: (Op::Update, BucketAccess, "{bucket}"),
        changes: Exactly(&[
            at("PublicAccessBlockConfiguration.BlockPublicPolicy", Is("true"), Is("false")),
            at("PublicAccessBlockConfiguration.RestrictPublicBuckets", Is("true"), Is("false")),
        ]),
        writes: &[("S3.PutPublicAccessBlock", 1)],
        then: None,
    },
    Case {
        name: "a removed public access block is reported and restored",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let o = m.outsider().await;
                o.s3.delete_public_access_block().bucket(&d.names.bucket).send().await.unwrap();
                None
            })
        },
        action: (Op::Update, BucketAccess, "{bucket}"),
        changes: Exactly(&[at(
            "PublicAccessBlockConfiguration",
            Holding(r#""BlockPublicAcls":true"#),
            Absent,
        )]),
        writes: &[("S3.PutPublicAccessBlock", 1)],
        then: None,
    },
    Case {
        name: "removed default encryption is reported and restored by one put",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let o = m.outsider().await;
                o.s3.delete_bucket_encryption().bucket(&d.names.bucket).send().await.unwrap();
                None
            })
        },
        action: (Op::Update, BucketAccess, "{bucket}"),
        changes: Exactly(&[at(
            "BucketEncryption.ServerSideEncryptionConfiguration",
            Is(r#"[{"SSEAlgorithm":"AES256"}]"#),
            Absent,
        )]),
        writes: &[("S3.PutBucketEncryption", 1)],
        then: None,
    },
    Case {
        name: "a deleted bucket policy is reported by statement and restored",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let o = m.outsider().await;
                o.s3.delete_bucket_policy().bucket(&d.names.bucket).send().await.unwrap();
                None
            })
        },
        action: (Op::Update, BucketPolicy, "{bucket}"),
        changes: Exactly(&[at("PolicyDocument.Statement[DenyInsecureTransport]", Any, Absent)]),
        writes: &[("S3.PutBucketPolicy", 1)],
        then: Some(|m, d| {
            Box::pin(async move {
                let policy = bucket_policy(m, &d.names.bucket).await;
                assert_eq!(policy["Statement"][0]["Sid"], "DenyInsecureTransport");
            })
        }),
    },
    Case {
        name: "an altered bucket policy statement is reported at the leaf",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let mut policy = bucket_policy(m, &d.names.bucket).await;
                policy["Statement"][0]["Effect"] = json!("Allow");
                put_bucket_policy(m, &d.names.bucket, &policy).await;
                None
            })
        },
        action: (Op::Update, BucketPolicy, "{bucket}"),
        changes: Exactly(&[at(
            "PolicyDocument.Statement[DenyInsecureTransport].Effect",
            Is("Deny"),
            Is("Allow"),
        )]),
        writes: &[("S3.PutBucketPolicy", 1)],
        then: None,
    },
    Case {
        name: "with an exclusive bucket policy another statement is drift and removed",
        given: FullChainWithExclusiveBucketPolicy,
        perturb: |m, d| Box::pin(add_foreign_statement(m, d)),
        action: (Op::Update, BucketPolicy, "{bucket}"),
        changes: Exactly(&[at("PolicyDocument.Statement[Analytics]", Absent, Any)]),
        writes: &[("S3.PutBucketPolicy", 1)],
        then: Some(|m, d| {
            Box::pin(async move {
                let left = bucket_policy(m, &d.names.bucket).await;
                assert_eq!(left["Statement"].as_array().unwrap().len(), 1);
            })
        }),
    },
    Case {
        name: "a trust policy without its condition is reported and restored",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let open_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
                let iam = m.outsider().await.iam;
                iam.update_assume_role_policy()
                    .role_name(&d.names.delivery_role)
                    .policy_document(open_trust)
                    .send()
                    .await
                    .unwrap();
                None
            })
        },
        action: (Op::Update, Role, "{delivery_role}"),
        changes: Exactly(&[at(
            "AssumeRolePolicyDocument.Statement[#0].Condition",
            Holding("sts:ExternalId"),
            Absent,
        )]),
        writes: &[("IAM.UpdateAssumeRolePolicy", 1)],
        then: None,
    },
    Case {
        name: "a widened inline policy is reported and put back",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let o = m.outsider().await;
                put_role_policy(&o, &d.names.logs_role, "put-records", ALLOW_ALL).await;
                None
            })
        },
        action: (Op::Update, Role, "{logs_role}"),
        changes: Exactly(&[
            at("Policies.put-records.Statement[#0].Action", Any, Is("*")),
            at(
                "Policies.put-records.Statement[#0].Resource",
                Is("{stream_arn}"),
                Is("*"),
            ),
        ]),
        writes: &[("IAM.PutRolePolicy", 1)],
        then: None,
    },
    Case {
        name: "an inline policy added by hand is reported and deleted",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let o = m.outsider().await;
                put_role_policy(&o, &d.names.delivery_role, "by-hand", ALLOW_ALL).await;
                None
            })
        },
        action: (Op::Update, Role, "{delivery_role}"),
        changes: Exactly(&[at("Policies.by-hand", Absent, Any)]),
        writes: &[("IAM.DeleteRolePolicy", 1)],
        then: None,
    },
    Case {
        name: "an attached managed policy is reported and detached",
        given: FullChain,
        perturb: |m, d| Box::pin(attach_admin_policy(m, d)),
        action: (Op::Update, Role, "{delivery_role}"),
        changes: Exactly(&[at("ManagedPolicyArns[{by_hand}]", Absent, Is("{by_hand}"))]),
        writes: &[("IAM.DetachRolePolicy", 1)],
        then: None,
    },
    Case {
        name: "a role boundary removed by hand is reported and restored",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let iam = m.outsider().await.iam;
                let role = &d.names.logs_role;
                let removed = iam.delete_role_permissions_boundary().role_name(role);
                removed.send().await.unwrap();
                None
            })
        },
        action: (Op::Update, Role, "{logs_role}"),
        changes: Exactly(&[at("PermissionsBoundary", Is("{boundary}"), Absent)]),
        writes: &[("IAM.PutRolePermissionsBoundary", 1)],
        then: None,
    },
    Case {
        name: "a role boundary replaced by hand is reported and restored",
        given: FullChain,
        perturb: |m, d| Box::pin(replace_boundary(m, d)),
        action: (Op::Update, Role, "{logs_role}"),
        changes: Exactly(&[at("PermissionsBoundary", Is("{boundary}"), Is("{by_hand}"))]),
        writes: &[("IAM.PutRolePermissionsBoundary", 1)],
        then: None,
    },
    Case {
        name: "a topic policy opened to everyone is reported and restored",
        given: FullChain,
        perturb: |m, d| Box::pin(open_topic_policy(m, d)),
        action: (Op::Update, TopicPolicy, "{topic}"),
        changes: Including(&[
            at(
                "PolicyDocument.Statement[AllowBucketToPublish].Principal",
                Is(r#"{"Service":"s3.amazonaws.com"}"#),
                Is("*"),
            ),
            at("PolicyDocument.Statement[AllowBucketToPublish].Condition", Any, Any),
        ]),
        writes: &[("SNS.SetTopicAttributes", 1)],
        then: None,
    },
    Case {
        name: "a removed lambda permission is reported and added again under pitagora's id",
        given: FullChain,
        perturb: |m, _| {
            Box::pin(async move {
                let function = transform_function(m);
                let sid = first_statement_sid(m, &function).await;
                let lambda = m.outsider().await.lambda;
                let removed = lambda.remove_permission().function_name(&function);
                removed.statement_id(&sid).send().await.unwrap();
                None
            })
        },
        action: (
            Op::Create,
            LambdaPermission,
            "arn:aws:lambda:eu-west-1:{account}:function:log-enricher",
        ),
        changes: Exactly(&[at(
            "Statement[TransformPermission]",
            Is("lambda:InvokeFunction for s3.amazonaws.com from arn:aws:s3:::{bucket} in account {account}"),
            Absent,
        )
        .set_by("spec.transform.lambdaArn")]),
        writes: &[("Lambda.AddPermission", 1)],
        then: Some(|m, d| Box::pin(transform_permission_is_pitagoras(m, d))),
    },
];

async fn relax_public_access_block(m: &Moto, d: &Desired) -> Option<String> {
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
    None
}

async fn add_foreign_statement(m: &Moto, d: &Desired) -> Option<String> {
    let mut policy = bucket_policy(m, &d.names.bucket).await;
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(foreign_statement());
    put_bucket_policy(m, &d.names.bucket, &policy).await;
    None
}

/// Attaches a wide managed policy to the delivery role; its ARN. moto loads no AWS-managed
/// policies, so the outsider attaches one of their own.
async fn attach_admin_policy(m: &Moto, d: &Desired) -> Option<String> {
    let iam = m.outsider().await.iam;
    let admin = allow_all_policy(&iam, "by-hand-admin").await;
    iam.attach_role_policy()
        .role_name(&d.names.delivery_role)
        .policy_arn(&admin)
        .send()
        .await
        .unwrap();
    Some(admin)
}

/// A customer-managed policy `name` allowing everything, made by the outsider; its ARN.
async fn allow_all_policy(iam: &aws_sdk_iam::Client, name: &str) -> String {
    iam.create_policy()
        .policy_name(name)
        .policy_document(ALLOW_ALL)
        .send()
        .await
        .unwrap()
        .policy
        .and_then(|p| p.arn)
        .unwrap()
}

/// Puts a boundary of the outsider's own on the logs role; its ARN.
async fn replace_boundary(m: &Moto, d: &Desired) -> Option<String> {
    let iam = m.outsider().await.iam;
    let arn = allow_all_policy(&iam, "by-hand-boundary").await;
    iam.put_role_permissions_boundary()
        .role_name(&d.names.logs_role)
        .permissions_boundary(&arn)
        .send()
        .await
        .unwrap();
    Some(arn)
}

async fn open_topic_policy(m: &Moto, d: &Desired) -> Option<String> {
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
    None
}

/// The transform's function has the statement under pitagora's id again.
async fn transform_permission_is_pitagoras(m: &Moto, d: &Desired) {
    let function = transform_function(m);
    let after =
        m.c.lambda
            .get_policy()
            .function_name(&function)
            .send()
            .await
            .unwrap();
    let sid = pitagora::desired::statement_id(&d.stack.name, "TransformPermission");
    assert!(
        after.policy().unwrap().contains(&sid),
        "{:?}",
        after.policy()
    );
}

/// The transform's function in [`FULL_CHAIN`].
fn transform_function(m: &Moto) -> String {
    format!(
        "arn:aws:lambda:{REGION}:{}:function:log-enricher",
        m.account
    )
}

/// The plan's only action, asserted to be an `op` of `kind` on `name`.
fn the_action<'a>(plan: &'a Plan, op: Op, kind: ResourceKind, name: &str) -> &'a Action {
    let a = only_action(plan);
    assert_eq!((a.op, a.kind, a.name.as_str()), (op, kind, name), "{a:#?}");
    a
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
