//! The shipped IAM documents (manifests/aws/), enforced: a moto server of each test's own, with
//! IAM enforcement on and evaluated as AWS documents it (scripts/moto_server.py, correction 4).
//! As a user holding exactly the controller's policy, pitagora applies, checks, verifies,
//! audits and deletes the full chain; and neither that user nor one holding the CloudFormation
//! service role's policy (standing in for CloudFormation, which moto's CloudFormation does not
//! act as) can escalate: every write outside pitagora's names and the tenancy's prefixes is
//! denied.
//!
//! The shared emulator is never touched: enforcement is server-wide.

use crate::common;

use aws_sdk_s3::error::ProvideErrorMetadata;
use common::binary::{against_with, assert_exit, describe};
use common::{REGION, repo_path};
use std::path::PathBuf;
use std::process::Command;

/// The account of requests that name none, and so of this server's pipelines and users.
pub(super) const ACCOUNT: &str = "123456789012";

/// A moto server of this test's own (scripts/moto.sh with its own state directory), stopped
/// when dropped.
pub(super) struct OwnMoto {
    state: PathBuf,
    pub(super) endpoint: String,
}

impl OwnMoto {
    pub(super) fn start(label: &str) -> Self {
        let state = common::scratch_dir(label);
        let out = Self::script(&state, &["start"]);
        assert!(out.status.success(), "moto.sh start: {}", describe(&out));
        let status = Self::script(&state, &["status"]);
        let endpoint = String::from_utf8(status.stdout).unwrap().trim().to_owned();
        assert!(
            endpoint.starts_with("http://"),
            "moto.sh status: {endpoint:?}"
        );
        Self { state, endpoint }
    }

    fn script(state: &PathBuf, args: &[&str]) -> std::process::Output {
        Command::new(repo_path("scripts/moto.sh"))
            .args(args)
            .env("MOTO_STATE_DIR", state)
            .output()
            .expect("scripts/moto.sh runs")
    }

    /// Clients with the server's root credentials (everything is allowed until `enforce`).
    pub(super) async fn root(&self) -> Clients {
        let key = Key {
            id: "testing".into(),
            secret: "testing".into(),
        };
        Clients::new(&self.endpoint, &key).await
    }

    /// Turns IAM enforcement on: every request from now on is authorized.
    pub(super) fn enforce(&self) {
        // moto reads the count from the raw body: not a form.
        let out = Command::new("curl")
            .args([
                "-sS",
                "--noproxy",
                "*",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
            ])
            .args([
                "-X",
                "POST",
                "-H",
                "Content-Type: text/plain",
                "--data",
                "0",
            ])
            .arg(format!("{}/moto-api/reset-auth", self.endpoint))
            .output()
            .expect("curl runs");
        assert_eq!(out.stdout, b"200", "reset-auth: {}", describe(&out));
    }
}

impl Drop for OwnMoto {
    fn drop(&mut self) {
        let _ = Self::script(&self.state, &["stop"]);
        common::remove_scratch_dir(&self.state);
    }
}

/// An access key.
#[derive(Clone, Debug)]
pub(super) struct Key {
    id: String,
    secret: String,
}

/// SDK clients signing with one key.
pub(super) struct Clients {
    pub(super) iam: aws_sdk_iam::Client,
    s3: aws_sdk_s3::Client,
    sns: aws_sdk_sns::Client,
    lambda: aws_sdk_lambda::Client,
    pub(super) logs: aws_sdk_cloudwatchlogs::Client,
    cfn: aws_sdk_cloudformation::Client,
}

impl Clients {
    pub(super) async fn new(endpoint: &str, key: &Key) -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .endpoint_url(endpoint)
            .credentials_provider(aws_sdk_s3::config::Credentials::new(
                &key.id,
                &key.secret,
                None,
                None,
                "static",
            ))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        Self {
            iam: aws_sdk_iam::Client::new(&config),
            s3: aws_sdk_s3::Client::from_conf(s3),
            sns: aws_sdk_sns::Client::new(&config),
            lambda: aws_sdk_lambda::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            cfn: aws_sdk_cloudformation::Client::new(&config),
        }
    }
}

fn shipped(path: &str) -> String {
    std::fs::read_to_string(repo_path(path)).unwrap()
}

/// The tenancy the shipped documents are rendered for: its log groups and functions, and
/// others outside it.
const TENANT_GROUP: &str = "/ecs/team-a/orders";
const OUTSIDE_GROUP: &str = "/ecs/team-c/orders";
const TENANT_FUNCTIONS: [&str; 3] = ["team-a-enricher", "team-a-es", "team-a-slack"];
const OUTSIDE_FUNCTION: &str = "payments-settle";
const UNRELATED_ROLE: &str = "unrelated-admin";
const OTHER_BUCKET: &str = "payments-ledger";
const OTHER_TOPIC: &str = "payments-events";
/// A pipeline role carrying the boundary, and one that lost it (as after a hand's removal).
const BOUNDED_ROLE: &str = "pitagora-team-a-orders-0123abcd-delivery";
const UNBOUNDED_ROLE: &str = "pitagora-team-b-orders-0123abcd-logs";
const FIREHOSE_TRUSTED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The boundary's ARN in this server's account.
fn boundary_arn() -> String {
    pitagora::arn::AwsTarget::new(ACCOUNT, REGION).policy_arn(
        pitagora::names::ROLE_PATH,
        pitagora::names::PIPELINE_BOUNDARY,
    )
}

/// What a test's server holds before enforcement: users with exactly the shipped policies,
/// the service role, the tenants' log groups and functions, and resources that are not
/// pitagora's.
struct World {
    moto: OwnMoto,
    admin: Key,
    controller: Key,
    cloudformation: Key,
}

impl World {
    async fn new(label: &str) -> Self {
        let moto = OwnMoto::start(label);
        let root = moto.root().await;
        let admin = user(
            &root,
            "admin",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
        )
        .await;
        let controller = user(
            &root,
            "pitagora-controller",
            &shipped("manifests/aws/controller-policy.json"),
        )
        .await;
        let cloudformation = user(
            &root,
            "cloudformation-stand-in",
            &shipped("manifests/aws/cloudformation-role-policy.json"),
        )
        .await;
        let trust = pitagora::desired::iam_policies::cloudformation_role_trust(
            &pitagora::desired::iam_policies::Scope {
                partition: "aws",
                account: "*",
                trusted_account: ACCOUNT,
                log_group_prefixes: &[],
                function_prefixes: &[],
            },
        );
        root.iam
            .create_role()
            .role_name(pitagora::names::CLOUDFORMATION_ROLE)
            .path(pitagora::names::ROLE_PATH)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .unwrap();
        root.iam
            .put_role_policy()
            .role_name(pitagora::names::CLOUDFORMATION_ROLE)
            .policy_name("pitagora-cloudformation")
            .policy_document(shipped("manifests/aws/cloudformation-role-policy.json"))
            .send()
            .await
            .unwrap();
        // The install template's boundary, and two pipeline roles, one of which lost it.
        root.iam
            .create_policy()
            .policy_name(pitagora::names::PIPELINE_BOUNDARY)
            .path(pitagora::names::ROLE_PATH)
            .policy_document(shipped("manifests/aws/pipeline-role-boundary.json"))
            .send()
            .await
            .unwrap();
        for (role, boundary) in [(BOUNDED_ROLE, Some(boundary_arn())), (UNBOUNDED_ROLE, None)] {
            root.iam
                .create_role()
                .role_name(role)
                .path(pitagora::names::ROLE_PATH)
                .assume_role_policy_document(FIREHOSE_TRUSTED)
                .set_permissions_boundary(boundary)
                .send()
                .await
                .unwrap();
        }
        let exec = root
            .iam
            .create_role()
            .role_name(UNRELATED_ROLE)
            .assume_role_policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            )
            .send()
            .await
            .unwrap()
            .role()
            .unwrap()
            .arn()
            .to_owned();
        for group in [TENANT_GROUP, OUTSIDE_GROUP] {
            root.logs
                .create_log_group()
                .log_group_name(group)
                .send()
                .await
                .unwrap();
        }
        for function in TENANT_FUNCTIONS.into_iter().chain([OUTSIDE_FUNCTION]) {
            root.lambda
                .create_function()
                .function_name(function)
                .runtime(aws_sdk_lambda::types::Runtime::Python312)
                .role(&exec)
                .handler("index.handler")
                .code(
                    aws_sdk_lambda::types::FunctionCode::builder()
                        .zip_file(aws_sdk_lambda::primitives::Blob::new(
                            common::moto::handler_zip(),
                        ))
                        .build(),
                )
                .send()
                .await
                .unwrap();
        }
        common::moto::create_bucket(&root.s3, OTHER_BUCKET).await;
        root.sns
            .create_topic()
            .name(OTHER_TOPIC)
            .send()
            .await
            .unwrap();
        moto.enforce();
        Self {
            moto,
            admin,
            controller,
            cloudformation,
        }
    }
}

/// Creates a user holding exactly `policy`; its access key.
pub(super) async fn user(root: &Clients, name: &str, policy: &str) -> Key {
    root.iam.create_user().user_name(name).send().await.unwrap();
    root.iam
        .put_user_policy()
        .user_name(name)
        .policy_name("policy")
        .policy_document(policy)
        .send()
        .await
        .unwrap_or_else(|e| panic!("the policy of {name} is refused: {e:?}"));
    let key = root
        .iam
        .create_access_key()
        .user_name(name)
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    Key {
        id: key.access_key_id().to_owned(),
        secret: key.secret_access_key().to_owned(),
    }
}

fn function_arn(name: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}")
}

/// The full chain in the example tenancy: team-a's log groups, its transform and two
/// subscribers (the body of `spec:`).
fn full_chain_spec() -> String {
    format!(
        "region: {REGION}
sources:
  logGroupPrefixes: [/ecs/team-a/]
transform:
  lambdaArn: {}
  outputPrefix: processed/
fanout:
  subscribers:
    - name: es
      lambdaArn: {}
    - name: slack
      lambdaArn: {}
",
        function_arn(TENANT_FUNCTIONS[0]),
        function_arn(TENANT_FUNCTIONS[1]),
        function_arn(TENANT_FUNCTIONS[2]),
    )
}

/// The `LogPipeline` document of [`full_chain_spec`].
fn full_chain() -> String {
    let spec: String = full_chain_spec()
        .lines()
        .map(|l| format!("  {l}\n"))
        .collect();
    format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: orders\n  namespace: team-a\nspec:\n{spec}"
    )
}

#[tokio::test]
async fn the_controllers_policy_runs_the_full_chain_from_apply_to_delete() {
    let world = World::new("iam-chain").await;
    let dir = common::scratch_dir("iam-chain-spec");
    let file = dir.join("pipeline.yaml");
    std::fs::write(&file, full_chain()).unwrap();
    let file = file.display().to_string();

    let admin = Clients::new(&world.moto.endpoint, &world.admin).await;
    let bucket = pitagora::desired::from_spec(
        &pitagora::names::PipelineId::new("team-a", "orders"),
        &common::spec(&full_chain_spec()),
        ACCOUNT,
        REGION,
    )
    .unwrap()
    .names
    .bucket;
    for command in ["apply", "drift", "verify", "audit", "delete"] {
        let mut args = vec![command, "-f", &file];
        match command {
            "verify" => args.extend(["--timeout", "20"]),
            "audit" => args.extend(["--since", "5m"]),
            _ => {}
        }
        let run = as_controller(&world, &args);
        // moto runs no Lambda code: stand in for the transform while the canary is awaited.
        let out = if command == "verify" {
            let transform = stand_in_transform(&admin, &bucket);
            tokio::pin!(transform);
            tokio::select! {
                out = run => out,
                _ = &mut transform => unreachable!("the stand-in runs until verify ends"),
            }
        } else {
            run.await
        };
        assert_exit(&out, 0);
        if command == "apply" {
            // CloudFormation was asked to act through the service role, not the controller.
            let stacks = admin.cfn.describe_stacks().send().await.unwrap();
            let roles: Vec<Option<&str>> = stacks.stacks().iter().map(|s| s.role_arn()).collect();
            let role = format!("arn:aws:iam::{ACCOUNT}:role/pitagora/pitagora-cloudformation");
            assert_eq!(roles, [Some(role.as_str())]);
        }
        let text = common::binary::output(&out);
        assert!(
            !text.contains("access denied") && !text.contains("AccessDenied"),
            "{command}: {}",
            describe(&out)
        );
    }
    common::remove_scratch_dir(&dir);
}

/// Runs `pitagora <args>` as the controller's user against the world's server.
async fn as_controller(world: &World, args: &[&str]) -> std::process::Output {
    let endpoint = world.moto.endpoint.clone();
    let key = world.controller.clone();
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        against_with(
            &endpoint,
            &args,
            &[
                ("AWS_ACCESS_KEY_ID", key.id.as_str()),
                ("AWS_SECRET_ACCESS_KEY", key.secret.as_str()),
            ],
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_controllers_policy_restores_a_pipeline_roles_boundary_and_policy_removed_by_hand() {
    let world = World::new("iam-boundary-drift").await;
    let dir = common::scratch_dir("iam-boundary-drift-spec");
    let file = dir.join("pipeline.yaml");
    std::fs::write(&file, full_chain()).unwrap();
    let file = file.display().to_string();
    assert_exit(&as_controller(&world, &["apply", "-f", &file]).await, 0);
    let role = pitagora::desired::from_spec(
        &pitagora::names::PipelineId::new("team-a", "orders"),
        &common::spec(&full_chain_spec()),
        ACCOUNT,
        REGION,
    )
    .unwrap()
    .names
    .logs_role;
    // By hand: the boundary removed and the role's policy with it. The controller may put the
    // policy back only once the role carries the boundary again.
    let admin = Clients::new(&world.moto.endpoint, &world.admin).await;
    admin
        .iam
        .delete_role_permissions_boundary()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    admin
        .iam
        .delete_role_policy()
        .role_name(&role)
        .policy_name("put-records")
        .send()
        .await
        .unwrap();

    let out = as_controller(&world, &["apply", "-f", &file]).await;
    assert_exit(&out, 0);
    let got = admin.iam.get_role().role_name(&role).send().await.unwrap();
    let boundary = got.role().and_then(|r| r.permissions_boundary());
    assert_eq!(
        boundary.and_then(|b| b.permissions_boundary_arn()),
        Some(boundary_arn().as_str()),
        "{}",
        describe(&out)
    );
    let policies = admin
        .iam
        .list_role_policies()
        .role_name(&role)
        .send()
        .await
        .unwrap();
    assert_eq!(policies.policy_names(), ["put-records"]);
    common::remove_scratch_dir(&dir);
}

/// A pipeline of team-a beside fluentd: one route into a log group that does not exist yet, one
/// into the team's own [`TENANT_GROUP`].
const ROUTED_GROUP: &str = "/ecs/team-a/payments";

fn routes_pipeline() -> String {
    format!(
        "apiVersion: pitagora.dev/v1alpha1
kind: LogPipeline
metadata:
  name: orders
  namespace: team-a
spec:
  region: {REGION}
  sources:
    logGroupPrefixes: [/ecs/team-a/]
  legacy:
    fluentd:
      target:
        host: fluentd.logging.svc
      routes:
        - match: app.payments.**
          logGroup: {ROUTED_GROUP}
        - match: app.orders.**
          logGroup: {TENANT_GROUP}
  cutover:
    stage: Shadow
"
    )
}

#[tokio::test]
async fn the_controllers_policy_creates_a_routes_log_group_and_keeps_its_retention_but_never_the_teams()
 {
    let world = World::new("iam-route-groups").await;
    let admin = Clients::new(&world.moto.endpoint, &world.admin).await;
    // The team's own group keeps a week; pitagora must never change that.
    admin
        .logs
        .put_retention_policy()
        .log_group_name(TENANT_GROUP)
        .retention_in_days(7)
        .send()
        .await
        .unwrap();
    let dir = common::scratch_dir("iam-route-groups-spec");
    let file = dir.join("pipeline.yaml");
    std::fs::write(&file, routes_pipeline()).unwrap();
    let file = file.display().to_string();

    let out = as_controller(&world, &["apply", "-f", &file]).await;
    assert_exit(&out, 0);
    let (retention, tags) = common::moto::retention_and_tags(&admin.logs, ROUTED_GROUP).await;
    assert_eq!(retention, Some(30), "{}", describe(&out));
    assert_eq!(
        tags.get("app.kubernetes.io/managed-by").map(String::as_str),
        Some("pitagora")
    );
    assert_eq!(
        common::moto::retention_and_tags(&admin.logs, TENANT_GROUP).await,
        (Some(7), Default::default())
    );

    // Changed by hand, pitagora's group gets its retention back; the team's is still theirs.
    admin
        .logs
        .put_retention_policy()
        .log_group_name(ROUTED_GROUP)
        .retention_in_days(3653)
        .send()
        .await
        .unwrap();
    let out = as_controller(&world, &["apply", "-f", &file]).await;
    assert_exit(&out, 0);
    assert_eq!(
        common::moto::retention_and_tags(&admin.logs, ROUTED_GROUP)
            .await
            .0,
        Some(30)
    );
    assert_eq!(
        common::moto::retention_and_tags(&admin.logs, TENANT_GROUP)
            .await
            .0,
        Some(7)
    );
    let text = common::binary::output(&out);
    assert!(!text.contains("AccessDenied"), "{}", describe(&out));
    common::remove_scratch_dir(&dir);
}

/// The transform's stand-in: copies every object under `raw/` to `processed/`, key for key,
/// until dropped.
async fn stand_in_transform(admin: &Clients, bucket: &str) {
    let mut copied = std::collections::BTreeSet::new();
    loop {
        let listed = admin
            .s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix("raw/")
            .send()
            .await
            .unwrap();
        for key in listed.contents().iter().filter_map(|o| o.key()) {
            if copied.insert(key.to_owned()) {
                admin
                    .s3
                    .copy_object()
                    .bucket(bucket)
                    .key(key.replacen("raw/", "processed/", 1))
                    .copy_source(format!("{bucket}/{key}"))
                    .send()
                    .await
                    .unwrap();
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// One attempt to reach beyond pitagora's names, the tenancy's prefixes, or the roles it may
/// pass.
#[derive(Clone, Copy, Debug)]
enum Escalation {
    PutRolePolicyOnUnrelatedRole,
    PutRolePolicyOnTheServiceRole,
    UpdateAssumeRolePolicyOfUnrelatedRole,
    CreateRole,
    PutBucketPolicyOnAnotherBucket,
    DeleteAnotherBucket,
    PutPublicAccessBlockOnAnotherBucket,
    SetAnotherTopicsAttributes,
    DeleteAnotherTopic,
    AddPermissionOnAnUnrelatedFunction,
    AddPermissionForAnotherPrincipal,
    PutSubscriptionFilterOutsideThePrefixes,
    CreateStackPassingAnUnrelatedRole,
    PutRetentionPolicyOnATenantsLogGroup,
    TagATenantsLogGroupAsAnotherOwner,
    CreateALogGroupUnderThePrefixesWithoutPitagorasTag,
    PutRolePolicyOnAPipelineRoleWithoutTheBoundary,
    DeleteTheBoundaryOfAPipelineRole,
    ReplaceTheBoundaryOfAPipelineRole,
    CreateAPipelineRoleWithoutTheBoundary,
    CreateAPipelineRoleWithAnotherBoundary,
    RewriteTheBoundaryPolicy,
    DeleteTheBoundaryPolicy,
}

const ADMIN_POLICY: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const ANYONE_TRUSTED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#;

/// Attempts `e`; AWS's error code, or `None` when it succeeded.
async fn attempt(c: &Clients, e: Escalation) -> Option<String> {
    use Escalation::*;
    fn code<E: ProvideErrorMetadata, T>(r: Result<T, E>) -> Option<String> {
        r.err().map(|e| e.code().unwrap_or("no code").to_owned())
    }
    let block = aws_sdk_s3::types::PublicAccessBlockConfiguration::builder()
        .block_public_policy(false)
        .restrict_public_buckets(false)
        .build();
    let public = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::{OTHER_BUCKET}/*"}}]}}"#
    );
    let topic = format!("arn:aws:sns:{REGION}:{ACCOUNT}:{OTHER_TOPIC}");
    let put_role_policy = |role: &str| {
        c.iam
            .put_role_policy()
            .role_name(role)
            .policy_name("escalate")
            .policy_document(ADMIN_POLICY)
            .send()
    };
    let add_permission = |function: &str, principal: &str| {
        c.lambda
            .add_permission()
            .function_name(function)
            .statement_id("escalate")
            .action("lambda:InvokeFunction")
            .principal(principal)
            .send()
    };
    let admin_policy = format!("arn:aws:iam::{ACCOUNT}:policy/escalate");
    let create_pipeline_role = |boundary: Option<String>| {
        c.iam
            .create_role()
            .role_name("pitagora-team-a-escalated-0123abcd-delivery")
            .path(pitagora::names::ROLE_PATH)
            .assume_role_policy_document(ANYONE_TRUSTED)
            .set_permissions_boundary(boundary)
            .send()
    };
    match e {
        PutRolePolicyOnAPipelineRoleWithoutTheBoundary => {
            code(put_role_policy(UNBOUNDED_ROLE).await)
        }
        DeleteTheBoundaryOfAPipelineRole => code(
            c.iam
                .delete_role_permissions_boundary()
                .role_name(BOUNDED_ROLE)
                .send()
                .await,
        ),
        ReplaceTheBoundaryOfAPipelineRole => code(
            c.iam
                .put_role_permissions_boundary()
                .role_name(BOUNDED_ROLE)
                .permissions_boundary(&admin_policy)
                .send()
                .await,
        ),
        CreateAPipelineRoleWithoutTheBoundary => code(create_pipeline_role(None).await),
        CreateAPipelineRoleWithAnotherBoundary => {
            code(create_pipeline_role(Some(admin_policy.clone())).await)
        }
        RewriteTheBoundaryPolicy => code(
            c.iam
                .create_policy_version()
                .policy_arn(boundary_arn())
                .policy_document(ADMIN_POLICY)
                .set_as_default(true)
                .send()
                .await,
        ),
        DeleteTheBoundaryPolicy => code(
            c.iam
                .delete_policy()
                .policy_arn(boundary_arn())
                .send()
                .await,
        ),
        PutRolePolicyOnUnrelatedRole => code(put_role_policy(UNRELATED_ROLE).await),
        PutRolePolicyOnTheServiceRole => {
            code(put_role_policy(pitagora::names::CLOUDFORMATION_ROLE).await)
        }
        UpdateAssumeRolePolicyOfUnrelatedRole => code(
            c.iam
                .update_assume_role_policy()
                .role_name(UNRELATED_ROLE)
                .policy_document(ANYONE_TRUSTED)
                .send()
                .await,
        ),
        CreateRole => code(
            c.iam
                .create_role()
                .role_name("escalated")
                .assume_role_policy_document(ANYONE_TRUSTED)
                .send()
                .await,
        ),
        PutBucketPolicyOnAnotherBucket => code(
            c.s3.put_bucket_policy()
                .bucket(OTHER_BUCKET)
                .policy(public)
                .send()
                .await,
        ),
        DeleteAnotherBucket => code(c.s3.delete_bucket().bucket(OTHER_BUCKET).send().await),
        PutPublicAccessBlockOnAnotherBucket => code(
            c.s3.put_public_access_block()
                .bucket(OTHER_BUCKET)
                .public_access_block_configuration(block)
                .send()
                .await,
        ),
        SetAnotherTopicsAttributes => code(
            c.sns
                .set_topic_attributes()
                .topic_arn(&topic)
                .attribute_name("Policy")
                .attribute_value(ADMIN_POLICY)
                .send()
                .await,
        ),
        DeleteAnotherTopic => code(c.sns.delete_topic().topic_arn(&topic).send().await),
        AddPermissionOnAnUnrelatedFunction => {
            code(add_permission(OUTSIDE_FUNCTION, "s3.amazonaws.com").await)
        }
        AddPermissionForAnotherPrincipal => {
            code(add_permission(TENANT_FUNCTIONS[1], "111122223333").await)
        }
        PutSubscriptionFilterOutsideThePrefixes => code(
            c.logs
                .put_subscription_filter()
                .log_group_name(OUTSIDE_GROUP)
                .filter_name("pitagora-escalated")
                .filter_pattern("")
                .destination_arn(format!(
                    "arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/pitagora-x"
                ))
                .send()
                .await,
        ),
        PutRetentionPolicyOnATenantsLogGroup => code(
            c.logs
                .put_retention_policy()
                .log_group_name(TENANT_GROUP)
                .retention_in_days(1)
                .send()
                .await,
        ),
        TagATenantsLogGroupAsAnotherOwner => code(
            c.logs
                .tag_resource()
                .resource_arn(format!(
                    "arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{TENANT_GROUP}"
                ))
                .tags("team", "escalated")
                .send()
                .await,
        ),
        CreateALogGroupUnderThePrefixesWithoutPitagorasTag => code(
            c.logs
                .create_log_group()
                .log_group_name("/ecs/team-a/escalated")
                .send()
                .await,
        ),
        CreateStackPassingAnUnrelatedRole => code(
            c.cfn
                .create_stack()
                .stack_name("pitagora-escalated")
                .template_body(r#"{"Resources":{"T":{"Type":"AWS::SNS::Topic"}}}"#)
                .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/{UNRELATED_ROLE}"))
                .send()
                .await,
        ),
    }
}

pub(super) fn is_denied(code: &Option<String>) -> bool {
    matches!(
        code.as_deref(),
        Some("AccessDenied" | "AccessDeniedException")
    )
}

#[tokio::test]
async fn neither_the_controller_nor_the_service_role_can_escalate() {
    use Escalation::*;
    let world = World::new("iam-escalations").await;
    let controller = Clients::new(&world.moto.endpoint, &world.controller).await;
    let cloudformation = Clients::new(&world.moto.endpoint, &world.cloudformation).await;
    let iam_s3_sns = [
        PutRolePolicyOnUnrelatedRole,
        PutRolePolicyOnTheServiceRole,
        UpdateAssumeRolePolicyOfUnrelatedRole,
        CreateRole,
        PutBucketPolicyOnAnotherBucket,
        DeleteAnotherBucket,
        PutPublicAccessBlockOnAnotherBucket,
        SetAnotherTopicsAttributes,
        DeleteAnotherTopic,
        // Whoever could make a pipeline role trust them and carry an administrator policy
        // holds no more than the boundary: neither can write a role without it, remove it,
        // replace it, or change the boundary policy.
        PutRolePolicyOnAPipelineRoleWithoutTheBoundary,
        DeleteTheBoundaryOfAPipelineRole,
        ReplaceTheBoundaryOfAPipelineRole,
        CreateAPipelineRoleWithoutTheBoundary,
        CreateAPipelineRoleWithAnotherBoundary,
        RewriteTheBoundaryPolicy,
        DeleteTheBoundaryPolicy,
    ];
    let controller_only = [
        AddPermissionOnAnUnrelatedFunction,
        AddPermissionForAnotherPrincipal,
        PutSubscriptionFilterOutsideThePrefixes,
        CreateStackPassingAnUnrelatedRole,
        // The teams' log groups under the prefixes: their retention is never the controller's.
        PutRetentionPolicyOnATenantsLogGroup,
        TagATenantsLogGroupAsAnotherOwner,
        CreateALogGroupUnderThePrefixesWithoutPitagorasTag,
    ];
    let mut allowed = Vec::new();
    for e in iam_s3_sns.into_iter().chain(controller_only) {
        let code = attempt(&controller, e).await;
        if !is_denied(&code) {
            allowed.push(format!("controller: {e:?} → {code:?}"));
        }
    }
    for e in iam_s3_sns.into_iter().chain([
        AddPermissionOnAnUnrelatedFunction,
        AddPermissionForAnotherPrincipal,
    ]) {
        let code = attempt(&cloudformation, e).await;
        if !is_denied(&code) {
            allowed.push(format!("service role: {e:?} → {code:?}"));
        }
    }
    assert!(allowed.is_empty(), "not denied:\n{}", allowed.join("\n"));
}

#[tokio::test]
async fn the_service_roles_policy_creates_the_stacks_resources_by_pitagoras_names() {
    let world = World::new("iam-service-role").await;
    let c = Clients::new(&world.moto.endpoint, &world.cloudformation).await;
    common::moto::create_bucket(&c.s3, "pitagora-team-a-orders-0123abcd").await;
    c.sns
        .create_topic()
        .name("pitagora-team-a-orders-0123abcd")
        .send()
        .await
        .unwrap();
    c.iam
        .create_role()
        .role_name("pitagora-team-a-orders-4567cdef-delivery")
        .path(pitagora::names::ROLE_PATH)
        .assume_role_policy_document(FIREHOSE_TRUSTED)
        .permissions_boundary(boundary_arn())
        .send()
        .await
        .unwrap();
    c.iam
        .put_role_policy()
        .role_name("pitagora-team-a-orders-4567cdef-delivery")
        .policy_name("deliver-to-bucket")
        .policy_document(shipped("manifests/aws/pipeline-role-boundary.json"))
        .send()
        .await
        .unwrap();
    c.lambda
        .add_permission()
        .function_name(TENANT_FUNCTIONS[0])
        .statement_id("pitagora")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .send()
        .await
        .unwrap();
}

#[test]
fn the_launchers_enforcement_corrections_behave_as_aws_documents() {
    let out = Command::new(repo_path(".venv-moto/bin/python"))
        .arg(repo_path("scripts/moto_server_test.py"))
        .output()
        .expect("moto's venv runs (scripts/moto.sh install creates it)");
    assert!(out.status.success(), "{}", describe(&out));
}

/// What fluent-plugin-cloudwatch-logs calls before and while it writes a route's events to
/// `group`, in its order; AWS's error code of the first that fails, with its name.
async fn plugin_writes(logs: &aws_sdk_cloudwatchlogs::Client, group: &str) -> Result<(), String> {
    fn fail<E: ProvideErrorMetadata>(call: &str, e: E) -> String {
        format!("{call}: {}", e.code().unwrap_or("no code"))
    }
    let listed = logs
        .describe_log_groups()
        .log_group_name_prefix(group)
        .send()
        .await
        .map_err(|e| fail("DescribeLogGroups", e))?;
    assert!(
        listed
            .log_groups()
            .iter()
            .any(|g| g.log_group_name() == Some(group))
    );
    logs.describe_log_streams()
        .log_group_name(group)
        .log_stream_name_prefix("app.orders.api")
        .send()
        .await
        .map_err(|e| fail("DescribeLogStreams", e))?;
    logs.create_log_stream()
        .log_group_name(group)
        .log_stream_name("app.orders.api")
        .send()
        .await
        .map_err(|e| fail("CreateLogStream", e))?;
    let event = aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
        .timestamp(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_millis() as i64,
        )
        .message(r#"{"id":"1"}"#)
        .build()
        .unwrap();
    logs.put_log_events()
        .log_group_name(group)
        .log_stream_name("app.orders.api")
        .log_events(event)
        .send()
        .await
        .map_err(|e| fail("PutLogEvents", e))?;
    Ok(())
}

#[tokio::test]
async fn the_fluentd_node_policy_writes_the_tenants_route_groups_and_nothing_else() {
    let moto = OwnMoto::start("aws-iam-fluentd-node");
    let root = moto.root().await;
    let canary = "/ecs/team-a/pitagora-team-a-orders-0123abcd-canary";
    for group in [TENANT_GROUP, OUTSIDE_GROUP, canary] {
        root.logs
            .create_log_group()
            .log_group_name(group)
            .send()
            .await
            .unwrap();
    }
    let key = user(
        &root,
        "fluentd",
        &shipped("manifests/aws/fluentd-node-policy.json"),
    )
    .await;
    moto.enforce();
    let fluentd = Clients::new(&moto.endpoint, &key).await.logs;

    assert_eq!(plugin_writes(&fluentd, TENANT_GROUP).await, Ok(()));
    for group in [OUTSIDE_GROUP, canary] {
        let refused = plugin_writes(&fluentd, group).await;
        assert!(
            refused
                .as_ref()
                .is_err_and(|e| e.ends_with("AccessDeniedException")),
            "{group}: {refused:?}"
        );
    }
    let created = fluentd
        .create_log_group()
        .log_group_name("/ecs/team-a/new")
        .send()
        .await;
    assert!(is_denied(
        &created.err().map(|e| e.code().unwrap_or("").to_owned())
    ));
    let retention = fluentd
        .put_retention_policy()
        .log_group_name(TENANT_GROUP)
        .retention_in_days(1)
        .send()
        .await;
    assert!(is_denied(
        &retention.err().map(|e| e.code().unwrap_or("").to_owned())
    ));
}
