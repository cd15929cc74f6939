//! The IAM documents in manifests/aws/ are `pitagora iam-policies`' output for the example
//! tenancy, and they grant least privilege: the controller's policy allows exactly the operations
//! the engine calls, every write reaches only pitagora's names or the configured prefixes, roles
//! are passed only to the services that use them, and CloudFormation's service role can create
//! every resource type the template holds.

use crate::common;

use serde_json::{Value, json};
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
        "EventBridge" => "events",
        "SQS" => "sqs",
        other => panic!("unknown service {other}"),
    };
    let actions: Vec<&str> = match operation {
        // No permission is needed to ask who one is.
        "STS.GetCallerIdentity" => vec![],
        // Only with an accounts file, and then only on its roles: `controller-policy
        // --accounts` adds it (see the account tests below), never in the shipped policy.
        "STS.AssumeRole" => vec![],
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
        // SQS authorises a batch delete as DeleteMessage.
        "SQS.DeleteMessageBatch" => vec!["sqs:DeleteMessage"],
        // Creating with tags also needs the tagging action.
        "SQS.CreateQueue" => vec!["sqs:CreateQueue", "sqs:TagQueue"],
        "EventBridge.PutRule" => vec!["events:PutRule", "events:TagResource"],
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
        r#""((?:CloudFormation|Firehose|CloudWatchLogs|CloudWatch|S3|SNS|STS|IAM|Lambda|ResourceGroupsTaggingAPI|EventBridge|SQS)\.[A-Z][A-Za-z0-9]+)""#,
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

/// The example tenancy the shipped documents are rendered for.
const LOG_GROUP_PREFIXES: [&str; 2] = ["/ecs/team-a/", "/ecs/team-b/"];
const FUNCTION_PREFIXES: [&str; 2] = ["team-a-", "team-b-"];
const TRUSTED_ACCOUNT: &str = "111122223333";

/// Each shipped file and the `pitagora iam-policies` arguments that print it.
fn shipped() -> Vec<(&'static str, Vec<String>)> {
    // Rendered from the shipped tenancy file, so the two cannot disagree.
    let prefixes = [
        "--tenancy".to_owned(),
        common::repo_path("manifests/tenancy/tenancy.yaml")
            .to_string_lossy()
            .into_owned(),
    ];
    let with = |document: &str, extra: &[String]| {
        let mut args = vec!["iam-policies".to_owned(), document.to_owned()];
        args.extend(extra.iter().cloned());
        args
    };
    vec![
        (
            "manifests/aws/controller-policy.json",
            with("controller-policy", &prefixes),
        ),
        (
            "manifests/aws/cloudformation-role-policy.json",
            with("cloudformation-role-policy", &prefixes),
        ),
        (
            "manifests/aws/cloudformation-role-trust.json",
            with(
                "cloudformation-role-trust",
                &["--account-id".to_owned(), TRUSTED_ACCOUNT.to_owned()],
            ),
        ),
        (
            "manifests/aws/pipeline-role-boundary.json",
            with("pipeline-role-boundary", &prefixes),
        ),
        (
            "manifests/aws/iam.cloudformation.yaml",
            with("cloudformation-template", &prefixes),
        ),
        (
            "manifests/aws/fluentd-node-policy.json",
            with("fluentd-node-policy", &prefixes),
        ),
    ]
}

fn read_json(path: &str) -> Value {
    let text = std::fs::read_to_string(common::repo_path(path)).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

fn policy() -> Value {
    read_json("manifests/aws/controller-policy.json")
}

fn role_policy() -> Value {
    read_json("manifests/aws/cloudformation-role-policy.json")
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_owned()).collect(),
        other => panic!("expected a string or a list of strings, found {other}"),
    }
}

fn actions(statement: &Value) -> Vec<String> {
    strings(&statement["Action"])
}

fn statements(policy: &Value) -> Vec<Value> {
    policy["Statement"].as_array().unwrap().clone()
}

fn statements_named(prefix: &str) -> Vec<Value> {
    statements(&policy())
        .into_iter()
        .filter(|s| s["Sid"].as_str().unwrap_or_default().starts_with(prefix))
        .collect()
}

/// Whether an action only reads (AWS's Get/List/Describe/Filter verbs).
fn reads(action: &str) -> bool {
    let verb = action.split_once(':').map_or(action, |(_, v)| v);
    ["Get", "List", "Describe", "Filter"]
        .iter()
        .any(|r| verb.starts_with(r))
}

/// What a written resource's part after the account may start with: pitagora's names, or the
/// example tenancy's prefixes. Nothing that ends in a bare `*` right after the resource type.
fn allowed_stems() -> Vec<String> {
    let mut stems: Vec<String> = [
        "pitagora-",
        "role/pitagora/pitagora-",
        "stack/pitagora-",
        "deliverystream/pitagora-",
        "destination:pitagora-",
        "rule/pitagora-",
        "log-group:/aws/kinesisfirehose/pitagora-",
        "log-group:/pitagora/canary/pitagora-",
    ]
    .map(str::to_owned)
    .to_vec();
    stems.extend(LOG_GROUP_PREFIXES.map(|p| format!("log-group:{p}")));
    stems.extend(FUNCTION_PREFIXES.map(|p| format!("function:{p}")));
    stems
}

/// The resource part of an ARN (after `arn:partition:service:region:account:`).
fn resource_part(arn: &str) -> &str {
    arn.splitn(6, ':').nth(5).unwrap_or("")
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
fn the_shipped_documents_are_the_commands_output() {
    for (path, args) in shipped() {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::binary::offline(&args);
        common::binary::assert_exit(&out, 0);
        let shipped = std::fs::read_to_string(common::repo_path(path)).unwrap();
        assert!(
            common::binary::stdout(&out) == shipped,
            "{path} is stale: regenerate it with `cargo run -- {} > {path}`",
            args.join(" ")
        );
    }
}

#[test]
fn no_write_reaches_beyond_pitagoras_names_or_the_configured_prefixes() {
    let stems = allowed_stems();
    for (name, doc) in [("controller", policy()), ("service role", role_policy())] {
        for s in statements(&doc) {
            let sid = s["Sid"].as_str().unwrap_or("?").to_owned();
            assert!(
                s.get("NotAction").is_none() && s.get("NotResource").is_none(),
                "{name} {sid}: NotAction/NotResource grant everything not listed"
            );
            // A deny grants nothing (the boundary guards name the boundary policy).
            if s["Effect"] == "Deny" || actions(&s).iter().all(|a| reads(a)) {
                continue;
            }
            for r in strings(&s["Resource"]) {
                let part = resource_part(&r);
                assert!(
                    stems.iter().any(|stem| part.starts_with(stem.as_str())),
                    "{name} {sid} writes {r}, beyond pitagora's names and the prefixes"
                );
            }
        }
    }
}

#[test]
fn roles_are_passed_only_to_the_services_that_use_them() {
    let passes: Vec<Value> = statements(&policy())
        .into_iter()
        .chain(statements(&role_policy()))
        .filter(|s| {
            actions(s)
                .iter()
                .any(|a| a.starts_with("iam:Pass") || a == "iam:*")
        })
        .collect();
    let expected = [
        (
            vec![
                "arn:aws:iam::*:role/pitagora/pitagora-*-delivery",
                "arn:aws:iam::*:role/pitagora/pitagora-*-logs",
            ],
            json!(["firehose.amazonaws.com", "logs.amazonaws.com"]),
        ),
        (
            vec!["arn:aws:iam::*:role/pitagora/pitagora-cloudformation"],
            json!(["cloudformation.amazonaws.com"]),
        ),
    ];
    assert_eq!(passes.len(), expected.len(), "{passes:#?}");
    for (s, (resources, services)) in passes.iter().zip(expected) {
        assert_eq!(actions(s), ["iam:PassRole"]);
        assert_eq!(strings(&s["Resource"]), resources);
        assert_eq!(
            s["Condition"]["StringEquals"]["iam:PassedToService"],
            services
        );
    }
}

#[test]
fn lambda_permissions_are_added_only_for_s3_and_sns() {
    for doc in [policy(), role_policy()] {
        for s in statements(&doc) {
            if actions(&s).iter().any(|a| a == "lambda:AddPermission") {
                assert_eq!(
                    s["Condition"]["StringEquals"]["lambda:Principal"],
                    json!(["s3.amazonaws.com", "sns.amazonaws.com"]),
                    "{s}"
                );
            }
        }
    }
}

#[test]
fn only_cloudformation_of_the_account_assumes_the_service_role() {
    let trust = read_json("manifests/aws/cloudformation-role-trust.json");
    assert_eq!(
        trust["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"Service": "cloudformation.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": TRUSTED_ACCOUNT}},
        }])
    );
}

#[test]
fn log_events_are_written_only_to_the_canary_log_groups() {
    let writers: Vec<Value> = statements(&policy())
        .into_iter()
        .filter(|s| actions(s).iter().any(|a| a == "logs:PutLogEvents"))
        .collect();
    assert_eq!(writers.len(), 1, "{writers:?}");
    // The canary groups the engine names, by prefix and by exact sources, match them.
    let glob = |pattern: &str| {
        let escaped: Vec<String> = pattern.split('*').map(regex::escape).collect();
        regex::Regex::new(&format!("^{}$", escaped.join(".*"))).unwrap()
    };
    let patterns: Vec<regex::Regex> = strings(&writers[0]["Resource"])
        .iter()
        .map(|r| glob(r))
        .collect();
    for sources in [
        "logGroupPrefixes: [/ecs/team-a/]",
        "logGroups: [/app/orders]",
    ] {
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
fn log_groups_under_the_tenants_prefixes_are_created_and_their_retention_set_only_by_pitagoras_tag()
{
    // Every group under a prefix (not pitagora's canary groups there, which it names).
    let tenant = |r: &String| {
        LOG_GROUP_PREFIXES
            .iter()
            .any(|p| resource_part(r) == format!("log-group:{p}*"))
    };
    let tag = |key: &str| json!({"StringEquals": {format!("{key}/app.kubernetes.io/managed-by"): "pitagora"}});
    let mut seen = BTreeSet::new();
    for s in statements(&policy()) {
        if !strings(&s["Resource"]).iter().any(tenant) || s["Effect"] != "Allow" {
            continue;
        }
        for action in actions(&s) {
            let expected = match action.as_str() {
                // The tags a creation carries are checked as TagResource too.
                "logs:CreateLogGroup" => tag("aws:RequestTag"),
                "logs:TagResource" if s["Condition"] == tag("aws:RequestTag") => {
                    tag("aws:RequestTag")
                }
                "logs:PutRetentionPolicy" | "logs:TagResource" => tag("aws:ResourceTag"),
                "logs:DeleteLogGroup" | "logs:DeleteRetentionPolicy" | "logs:UntagResource" => {
                    panic!("{} is granted under the tenants' prefixes: {s:#}", action)
                }
                _ => continue,
            };
            assert_eq!(s["Condition"], expected, "{action} in {}", s["Sid"]);
            seen.insert(format!(
                "{action} {}",
                expected["StringEquals"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .next()
                    .unwrap()
            ));
        }
    }
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        [
            "logs:CreateLogGroup aws:RequestTag/app.kubernetes.io/managed-by",
            "logs:PutRetentionPolicy aws:ResourceTag/app.kubernetes.io/managed-by",
            "logs:TagResource aws:RequestTag/app.kubernetes.io/managed-by",
            "logs:TagResource aws:ResourceTag/app.kubernetes.io/managed-by",
        ]
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
                "s3:PutBucketVersioning",
                "s3:PutBucketLogging",
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
    let granted: BTreeSet<String> = statements(&role_policy())
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

#[test]
fn the_controller_needs_no_cloudformation_permission_on_the_stacks_resources() {
    // CloudFormation acts through the service role: the controller neither creates roles nor
    // deletes buckets or topics.
    let granted: BTreeSet<String> = statements(&policy()).iter().flat_map(actions).collect();
    for a in [
        "iam:CreateRole",
        "iam:DeleteRole",
        "s3:CreateBucket",
        "s3:DeleteBucket",
        "sns:CreateTopic",
        "sns:DeleteTopic",
    ] {
        assert!(!granted.contains(a), "the controller's policy grants {a}");
    }
}

const BOUNDARY: &str = "arn:aws:iam::*:policy/pitagora/pitagora-pipeline-boundary";

fn boundary() -> Value {
    read_json("manifests/aws/pipeline-role-boundary.json")
}

/// The writes that could widen a role's permissions.
const WIDENING_ROLE_WRITES: [&str; 4] = [
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
];

#[test]
fn every_widening_pipeline_role_write_requires_the_boundary() {
    for (name, doc) in [("controller", policy()), ("service role", role_policy())] {
        let allows: Vec<Value> = statements(&doc)
            .into_iter()
            .filter(|s| s["Effect"] == "Allow")
            .collect();
        for s in &allows {
            let sid = s["Sid"].as_str().unwrap_or("?");
            let widening = actions(s)
                .iter()
                .any(|a| WIDENING_ROLE_WRITES.contains(&a.as_str()) || a.ends_with(":*"));
            if widening {
                assert_eq!(
                    s["Condition"],
                    json!({"ArnLike": {"iam:PermissionsBoundary": BOUNDARY}}),
                    "{name} {sid} writes a role without requiring the boundary"
                );
            }
        }
    }
}

#[test]
fn the_boundary_can_be_neither_removed_from_a_role_nor_changed() {
    let denied = |doc: &Value, action: &str, resource: &str| {
        statements(doc).iter().any(|s| {
            s["Effect"] == "Deny"
                && s.get("Condition").is_none()
                && actions(s).iter().any(|a| a == action)
                && strings(&s["Resource"]).iter().any(|r| r == resource)
        })
    };
    let roles = [
        "arn:aws:iam::*:role/pitagora/pitagora-*-delivery",
        "arn:aws:iam::*:role/pitagora/pitagora-*-logs",
    ];
    for (name, doc) in [("controller", policy()), ("service role", role_policy())] {
        for role in roles {
            assert!(
                denied(&doc, "iam:DeleteRolePermissionsBoundary", role),
                "{name}: removing the boundary of {role} is not denied"
            );
        }
        for action in [
            "iam:CreatePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:DeletePolicy",
        ] {
            assert!(
                denied(&doc, action, BOUNDARY),
                "{name}: {action} on the boundary is not denied"
            );
        }
    }
}

#[test]
fn the_boundary_allows_only_pitagoras_resources() {
    let stems = allowed_stems();
    for s in statements(&boundary()) {
        let sid = s["Sid"].as_str().unwrap_or("?");
        assert_eq!(s["Effect"], "Allow", "{sid}");
        assert!(s.get("NotAction").is_none() && s.get("NotResource").is_none());
        assert!(s.get("Condition").is_none(), "{sid}");
        for a in actions(&s) {
            assert!(!a.contains('*'), "{sid} allows the wildcard action {a}");
        }
        for r in strings(&s["Resource"]) {
            let part = resource_part(&r);
            assert!(
                stems.iter().any(|stem| part.starts_with(stem.as_str())),
                "the boundary's {sid} reaches {r}, beyond pitagora's names"
            );
        }
    }
}

#[test]
fn the_boundary_allows_exactly_what_the_pipeline_roles_policies_grant() {
    let template = common::desired(&common::full_chain_spec()).stack.template;
    let mut granted = BTreeSet::new();
    for logical in ["DeliveryRole", "LogsRole"] {
        let role = &template["Resources"][logical]["Properties"];
        for p in role["Policies"].as_array().unwrap() {
            granted.extend(statements(&p["PolicyDocument"]).iter().flat_map(actions));
        }
    }
    let bounded: BTreeSet<String> = statements(&boundary()).iter().flat_map(actions).collect();
    assert_eq!(bounded, granted);
}

#[test]
fn the_pipeline_roles_carry_the_boundary_of_their_account_and_partition() {
    let d = common::desired(&common::full_chain_spec());
    let expected = format!(
        "arn:{}:iam::{}:policy/pitagora/pitagora-pipeline-boundary",
        d.target.partition, d.target.account_id
    );
    for logical in ["DeliveryRole", "LogsRole"] {
        let role = &d.stack.template["Resources"][logical]["Properties"];
        assert_eq!(role["PermissionsBoundary"], json!(expected), "{logical}");
    }
}

#[test]
fn the_install_template_creates_the_boundary_it_names() {
    let out = common::binary::offline(&["iam-policies", "cloudformation-template"]);
    common::binary::assert_exit(&out, 0);
    let template: Value = serde_saphyr::from_str(&common::binary::stdout(&out)).unwrap();
    let props = &template["Resources"]["PipelineRoleBoundary"]["Properties"];
    assert_eq!(props["ManagedPolicyName"], "pitagora-pipeline-boundary");
    assert_eq!(props["Path"], "/pitagora/");
}

/// An accounts file of two accounts, written to a scratch directory; its path.
fn accounts_file() -> std::path::PathBuf {
    let dir = common::scratch_dir("iam-accounts");
    let path = dir.join("accounts.yaml");
    let text = "accounts:
  - id: \"111111111111\"
    roleArn: arn:aws:iam::111111111111:role/pitagora/pitagora-access
    externalId: ext-one
  - id: \"222222222222\"
    roleArn: arn:aws:iam::222222222222:role/pitagora-access
    externalId: ext-two
";
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn with_an_accounts_file_the_controller_may_assume_exactly_its_roles() {
    let file = accounts_file();
    let out = common::binary::offline(&[
        "iam-policies",
        "controller-policy",
        "--accounts",
        file.to_str().unwrap(),
    ]);
    common::binary::assert_exit(&out, 0);
    let policy: Value = serde_json::from_str(&common::binary::stdout(&out)).unwrap();
    let assume: Vec<Value> = statements(&policy)
        .into_iter()
        .filter(|s| s["Action"].to_string().contains("sts:"))
        .collect();
    assert_eq!(assume.len(), 1, "{assume:?}");
    assert_eq!(assume[0]["Action"], serde_json::json!(["sts:AssumeRole"]));
    assert_eq!(
        assume[0]["Resource"],
        serde_json::json!([
            "arn:aws:iam::111111111111:role/pitagora/pitagora-access",
            "arn:aws:iam::222222222222:role/pitagora-access"
        ])
    );
}

#[test]
fn an_accounts_role_trusts_only_the_controllers_role_with_its_external_id() {
    let file = accounts_file();
    let controller = "arn:aws:iam::333333333333:role/pitagora/controller";
    let out = common::binary::offline(&[
        "iam-policies",
        "account-role-trust",
        "--accounts",
        file.to_str().unwrap(),
        "--controller-role-arn",
        controller,
        "--account-id",
        "222222222222",
    ]);
    common::binary::assert_exit(&out, 0);
    let trust: Value = serde_json::from_str(&common::binary::stdout(&out)).unwrap();
    let only = &statements(&trust)[0];
    assert_eq!(statements(&trust).len(), 1);
    assert_eq!(only["Principal"], serde_json::json!({"AWS": controller}));
    assert_eq!(only["Action"], "sts:AssumeRole");
    assert_eq!(
        only["Condition"],
        serde_json::json!({"StringEquals": {"sts:ExternalId": "ext-two"}})
    );
}

#[test]
fn an_accounts_role_trust_of_several_accounts_asks_which() {
    let file = accounts_file();
    let out = common::binary::offline(&[
        "iam-policies",
        "account-role-trust",
        "--accounts",
        file.to_str().unwrap(),
        "--controller-role-arn",
        "arn:aws:iam::333333333333:role/c",
    ]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("pass --account-id"),
        "{}",
        common::binary::describe(&out)
    );
}
