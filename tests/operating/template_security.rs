//! The rendered CloudFormation templates, read as a security review would: every role trusts one
//! service and only on behalf of this account; no action is a wildcard; every permission names
//! this pipeline's own resources; the bucket refuses plain HTTP, blocks public access and is
//! encrypted; only this pipeline's bucket may publish to its topic or invoke its functions.

use crate::common;

use common::{ACCOUNT, beside_fluentd_spec, desired, full_chain_spec, minimal_spec};
use pitagora::desired::Desired;
use serde_json::Value;

/// The templates reviewed: minimal, the full chain, beside fluentd.
fn pipelines() -> Vec<Desired> {
    vec![
        desired(&minimal_spec()),
        desired(&full_chain_spec()),
        desired(&beside_fluentd_spec()),
    ]
}

fn of_type<'a>(d: &'a Desired, kind: &str) -> Vec<(&'a str, &'a Value)> {
    d.stack.template["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), &r["Properties"]))
        .collect()
}

/// A value that may be one item or a list, as a list.
fn list(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        Value::Null => Vec::new(),
        other => vec![other],
    }
}

/// Every statement of every policy document the template declares: (where, statement).
fn statements(d: &Desired) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (id, p) in of_type(d, "AWS::IAM::Role") {
        for policy in list(&p["Policies"]) {
            for s in list(&policy["PolicyDocument"]["Statement"]) {
                out.push((format!("{id}.{}", policy["PolicyName"]), s));
            }
        }
    }
    for kind in ["AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"] {
        for (id, p) in of_type(d, kind) {
            for s in list(&p["PolicyDocument"]["Statement"]) {
                out.push((id.to_owned(), s));
            }
        }
    }
    out
}

#[test]
fn every_role_trusts_one_service_only_on_behalf_of_this_account() {
    for d in pipelines() {
        let roles = of_type(&d, "AWS::IAM::Role");
        assert!(!roles.is_empty());
        for (id, p) in roles {
            for s in list(&p["AssumeRolePolicyDocument"]["Statement"]) {
                assert_eq!(s["Effect"], "Allow", "{id}");
                assert_eq!(s["Action"], "sts:AssumeRole", "{id}");
                let service = s["Principal"]["Service"].as_str();
                assert!(
                    service.is_some_and(|s| s.ends_with(".amazonaws.com")),
                    "{id}: trusts {} (one AWS service expected)",
                    s["Principal"]
                );
                // The confused-deputy guard each service documents: Firehose passes the
                // account as the external id; CloudWatch Logs the source's ARN.
                let condition = s["Condition"].to_string();
                assert!(
                    condition.contains(ACCOUNT)
                        && ["aws:SourceAccount", "aws:SourceArn", "sts:ExternalId"]
                            .iter()
                            .any(|k| condition.contains(k)),
                    "{id}: trust without a source condition: {condition}"
                );
            }
        }
    }
}

#[test]
fn no_statement_allows_a_wildcard_action() {
    for d in pipelines() {
        for (at, s) in statements(&d) {
            if s["Effect"] != "Allow" {
                continue;
            }
            for action in list(&s["Action"]) {
                let action = action.as_str().unwrap();
                assert!(
                    action != "*" && !action.ends_with(":*") && !action.contains('*'),
                    "{at}: allows {action}"
                );
            }
        }
    }
}

#[test]
fn every_allowed_resource_is_this_pipelines_own() {
    for d in pipelines() {
        let n = &d.names;
        let own = [&n.bucket, &n.stream, &n.topic, &n.error_log_group];
        for (at, s) in statements(&d) {
            if s["Effect"] != "Allow" {
                continue;
            }
            for resource in list(&s["Resource"]) {
                let text = resource.to_string();
                assert!(
                    own.iter().any(|name| text.contains(name.as_str())),
                    "{at}: allows {text}, not one of this pipeline's resources"
                );
                assert!(
                    text.contains(ACCOUNT) || text.contains("arn:aws:s3:::"),
                    "{at}: {text}"
                );
            }
        }
    }
}

#[test]
fn the_bucket_refuses_every_request_without_tls() {
    for d in pipelines() {
        let policies = of_type(&d, "AWS::S3::BucketPolicy");
        assert_eq!(policies.len(), 1);
        let deny = list(&policies[0].1["PolicyDocument"]["Statement"])
            .into_iter()
            .find(|s| s["Effect"] == "Deny")
            .expect("a Deny statement");
        assert_eq!(deny["Principal"], "*");
        assert_eq!(deny["Action"], "s3:*");
        assert_eq!(
            deny["Condition"]["Bool"]["aws:SecureTransport"], "false",
            "{deny}"
        );
        let resources: Vec<String> = list(&deny["Resource"])
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect();
        let bucket = format!("arn:aws:s3:::{}", d.names.bucket);
        assert_eq!(resources, [bucket.clone(), format!("{bucket}/*")]);
    }
}

#[test]
fn the_bucket_blocks_public_access_is_encrypted_and_owner_enforced() {
    for d in pipelines() {
        let (_, b) = of_type(&d, "AWS::S3::Bucket")[0];
        for flag in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(b["PublicAccessBlockConfiguration"][flag], true, "{flag}");
        }
        let sse = &b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
        assert!(
            sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"].is_string(),
            "{b}"
        );
        assert_eq!(
            b["OwnershipControls"]["Rules"][0]["ObjectOwnership"],
            "BucketOwnerEnforced"
        );
    }
}

#[test]
fn only_this_pipelines_bucket_may_publish_to_its_topic() {
    let d = desired(&full_chain_spec());
    let policies = of_type(&d, "AWS::SNS::TopicPolicy");
    assert_eq!(policies.len(), 1);
    for s in list(&policies[0].1["PolicyDocument"]["Statement"]) {
        assert_eq!(s["Principal"]["Service"], "s3.amazonaws.com");
        assert_eq!(s["Action"], "sns:Publish");
        assert_eq!(s["Condition"]["StringEquals"]["aws:SourceAccount"], ACCOUNT);
        assert_eq!(
            s["Condition"]["ArnLike"]["aws:SourceArn"],
            format!("arn:aws:s3:::{}", d.names.bucket)
        );
    }
}

#[test]
fn functions_may_be_invoked_only_by_this_pipelines_bucket_or_topic() {
    let d = desired(&full_chain_spec());
    let permissions = of_type(&d, "AWS::Lambda::Permission");
    assert_eq!(permissions.len(), 3, "a transform and two subscribers");
    let bucket = format!("arn:aws:s3:::{}", d.names.bucket);
    let topic = format!("arn:aws:sns:eu-west-1:{ACCOUNT}:{}", d.names.topic);
    for (id, p) in permissions {
        assert_eq!(p["Action"], "lambda:InvokeFunction", "{id}");
        match p["Principal"].as_str().unwrap() {
            // A bucket's ARN names no account: the permission names it.
            "s3.amazonaws.com" => {
                assert_eq!(p["SourceArn"], bucket.as_str(), "{id}");
                assert_eq!(p["SourceAccount"], ACCOUNT, "{id}");
            }
            "sns.amazonaws.com" => assert_eq!(p["SourceArn"], topic.as_str(), "{id}"),
            other => panic!("{id}: invoked by {other}"),
        }
    }
}
