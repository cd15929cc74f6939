//! manifests/aws/controller-policy.json is exactly what the engine needs: every AWS operation
//! the code calls is allowed, nothing it does not call is, and CloudFormation can create every
//! resource type the template holds with the controller's credentials.

mod common;

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The IAM actions an SDK operation needs (`Service.Operation` as the code names it).
fn iam_actions(operation: &str) -> Vec<String> {
    let (service, op) = operation.split_once('.').unwrap();
    let prefix = match service {
        "CloudFormation" => "cloudformation",
        "Firehose" => "firehose",
        "CloudWatchLogs" => "logs",
        "CloudWatch" => "cloudwatch",
        "S3" => "s3",
        "SNS" => "sns",
        "STS" => "sts",
        "IAM" => "iam",
        "Lambda" => "lambda",
        "ResourceGroupsTaggingAPI" => "tag",
        other => panic!("unknown service {other}"),
    };
    let actions: Vec<&str> = match operation {
        // No permission is needed to ask who one is.
        "STS.GetCallerIdentity" => vec![],
        // S3's IAM actions do not follow its operation names.
        "S3.GetBucketNotificationConfiguration" => vec!["s3:GetBucketNotification"],
        "S3.PutBucketNotificationConfiguration" => vec!["s3:PutBucketNotification"],
        "S3.GetBucketLifecycleConfiguration" => vec!["s3:GetLifecycleConfiguration"],
        "S3.PutBucketLifecycleConfiguration" | "S3.DeleteBucketLifecycle" => {
            vec!["s3:PutLifecycleConfiguration"]
        }
        "S3.ListObjectVersions" => vec!["s3:ListBucketVersions"],
        "S3.ListObjectsV2" => vec!["s3:ListBucket"],
        "S3.GetPublicAccessBlock" => vec!["s3:GetBucketPublicAccessBlock"],
        "S3.PutPublicAccessBlock" => vec!["s3:PutBucketPublicAccessBlock"],
        "S3.GetBucketEncryption" => vec!["s3:GetEncryptionConfiguration"],
        "S3.PutBucketEncryption" => vec!["s3:PutEncryptionConfiguration"],
        "S3.DeleteObjects" => vec!["s3:DeleteObject", "s3:DeleteObjectVersion"],
        // Creating with tags also needs the tagging action.
        "CloudWatchLogs.CreateLogGroup" => vec!["logs:CreateLogGroup", "logs:TagResource"],
        "Firehose.CreateDeliveryStream" => vec![
            "firehose:CreateDeliveryStream",
            "firehose:TagDeliveryStream",
        ],
        _ => return vec![format!("{prefix}:{op}")],
    };
    actions.into_iter().map(str::to_owned).collect()
}

fn source_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            source_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every `"Service.Operation"` the library calls AWS with.
fn operations_called() -> BTreeSet<String> {
    let pattern = regex::Regex::new(
        r#""((?:CloudFormation|Firehose|CloudWatchLogs|CloudWatch|S3|SNS|STS|IAM|Lambda|ResourceGroupsTaggingAPI)\.[A-Z][A-Za-z0-9]+)""#,
    )
    .unwrap();
    let mut files = Vec::new();
    source_files(&common::repo_path("src"), &mut files);
    let mut ops = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        ops.extend(pattern.captures_iter(&text).map(|c| c[1].to_owned()));
    }
    ops
}

fn policy() -> Value {
    let text =
        std::fs::read_to_string(common::repo_path("manifests/aws/controller-policy.json")).unwrap();
    serde_json::from_str(&text).expect("the policy is JSON")
}

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        other => panic!("unexpected Action {other}"),
    }
}

fn statements_named(prefix: &str) -> Vec<Value> {
    policy()["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Sid"].as_str().unwrap_or_default().starts_with(prefix))
        .cloned()
        .collect()
}

#[test]
fn the_code_calls_aws_through_named_operations() {
    let ops = operations_called();
    // A sanity floor: the engine reads and writes every service it manages.
    for op in [
        "Firehose.UpdateDestination",
        "CloudFormation.CreateStack",
        "CloudWatchLogs.PutSubscriptionFilter",
        "S3.PutBucketNotificationConfiguration",
        "SNS.Subscribe",
    ] {
        assert!(ops.contains(op), "{op} not found among {ops:?}");
    }
}

#[test]
fn the_policy_allows_exactly_the_operations_the_engine_calls() {
    let needed: BTreeSet<String> = operations_called()
        .iter()
        .flat_map(|op| iam_actions(op))
        .collect();
    let granted: BTreeSet<String> = statements_named("Engine")
        .iter()
        .flat_map(actions)
        .collect();
    let missing: Vec<&String> = needed.difference(&granted).collect();
    let extra: Vec<&String> = granted.difference(&needed).collect();
    assert!(
        missing.is_empty(),
        "the code calls these but the policy does not allow them: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "the policy allows these but the code never calls them: {extra:?}"
    );
}

#[test]
fn engine_writes_are_scoped_to_pitagora_names_where_aws_allows() {
    for s in statements_named("EngineWrites") {
        let sid = s["Sid"].as_str().unwrap();
        let resources: Vec<String> = match &s["Resource"] {
            Value::String(r) => vec![r.clone()],
            Value::Array(r) => r.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
            other => panic!("unexpected Resource {other}"),
        };
        // Filters live on the users' own log groups, and permissions on the users' own
        // functions, whatever their names (permissions are limited by principal instead).
        if sid == "EngineWritesFilters" || sid == "EngineWritesPermissions" {
            assert_eq!(resources, ["*"]);
            continue;
        }
        assert!(
            resources.iter().all(|r| r.contains("pitagora-")),
            "{sid} is not scoped to pitagora's names: {resources:?}"
        );
    }
}

#[test]
fn log_events_are_written_only_to_the_canary_log_groups() {
    let writers: Vec<Value> = policy()["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| actions(s).iter().any(|a| a == "logs:PutLogEvents"))
        .cloned()
        .collect();
    assert_eq!(writers.len(), 1, "{writers:?}");
    assert_eq!(
        writers[0]["Resource"],
        serde_json::json!([
            "arn:aws:logs:*:*:log-group:*pitagora-*-canary:log-stream:*",
            "arn:aws:logs:*:*:log-group:/pitagora/canary/pitagora-*:log-stream:*"
        ])
    );
    // The canary groups the engine names, by prefix and by exact sources, match them.
    let glob = |pattern: &str| {
        let escaped: Vec<String> = pattern.split('*').map(regex::escape).collect();
        regex::Regex::new(&format!("^{}$", escaped.join(".*"))).unwrap()
    };
    let patterns: Vec<regex::Regex> = writers[0]["Resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| glob(r.as_str().unwrap()))
        .collect();
    for sources in ["logGroupPrefixes: [/ecs/]", "logGroups: [/app/orders]"] {
        let spec = common::spec(&format!("sources:\n  {sources}\n"));
        let id = pitagora::names::PipelineId::new("team-a", "orders");
        let d = pitagora::desired::from_spec(&id, &spec, common::ACCOUNT, common::REGION).unwrap();
        let group = d.canary_log_group.unwrap().arn;
        let stream_arn = format!(
            "{}:log-stream:pitagora-canary",
            group.trim_end_matches(":*")
        );
        assert!(
            patterns.iter().any(|p| p.is_match(&stream_arn)),
            "{stream_arn} is not writable"
        );
    }
}

#[test]
fn only_pitagoras_roles_can_be_passed_and_only_to_firehose_and_logs() {
    let pass = statements_named("PassPipelineRoles");
    assert_eq!(pass.len(), 1);
    assert_eq!(actions(&pass[0]), ["iam:PassRole"]);
    assert_eq!(pass[0]["Resource"], "arn:aws:iam::*:role/pitagora/*");
    let services = &pass[0]["Condition"]["StringEquals"]["iam:PassedToService"];
    assert_eq!(
        *services,
        serde_json::json!(["firehose.amazonaws.com", "logs.amazonaws.com"])
    );
}

#[test]
fn cloudformation_can_create_every_resource_type_of_the_template() {
    let needs: &[(&str, &[&str])] = &[
        (
            "AWS::S3::Bucket",
            &[
                "s3:CreateBucket",
                "s3:PutEncryptionConfiguration",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketTagging",
                "s3:DeleteBucket",
            ],
        ),
        (
            "AWS::S3::BucketPolicy",
            &["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
        ),
        (
            "AWS::SNS::Topic",
            &["sns:CreateTopic", "sns:DeleteTopic", "sns:TagResource"],
        ),
        ("AWS::SNS::TopicPolicy", &["sns:SetTopicAttributes"]),
        (
            "AWS::IAM::Role",
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:TagRole",
                "iam:GetRole",
            ],
        ),
        (
            "AWS::Lambda::Permission",
            &["lambda:AddPermission", "lambda:RemovePermission"],
        ),
    ];
    let granted: BTreeSet<String> = statements_named("CloudFormationOnBehalf")
        .iter()
        .flat_map(actions)
        .collect();
    let template = common::desired(&common::full_chain_spec()).stack.template;
    let types: BTreeSet<&str> = template["Resources"]
        .as_object()
        .unwrap()
        .values()
        .map(|r| r["Type"].as_str().unwrap())
        .collect();
    for t in types {
        let (_, actions) = needs
            .iter()
            .find(|(name, _)| *name == t)
            .unwrap_or_else(|| panic!("no IAM needs listed for {t}"));
        for a in *actions {
            assert!(granted.contains(*a), "{t} needs {a}");
        }
    }
}
