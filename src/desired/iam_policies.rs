//! The IAM documents an installation needs, rendered from pitagora's naming conventions and the
//! tenancy's prefixes: the controller's policy, the CloudFormation service role's trust and
//! permission policies, and a CloudFormation template creating that role and a managed policy
//! for the controller. Pure: values in, JSON out.
//!
//! Every write is scoped to pitagora's names (`pitagora-*` stacks, streams, buckets and topics,
//! the `role/pitagora/pitagora-*-delivery` and `-logs` roles, the error and canary log groups)
//! or to the prefixes the installation names: the tenants' source log groups (subscription
//! filters, `FilterLogEvents`; and the fluentd routes' groups pitagora creates, by its managed-by
//! tag: see the `route_log_groups` module) and the tenants' functions (Lambda permissions, which also keep
//! the `lambda:Principal` condition). No prefix list means every log group or function: the
//! single-team, non-hardened mode.
//!
//! The pipeline roles are the one place a writer of IAM could escalate: whoever may put their
//! policies and trust could make one trust themselves and carry an administrator policy. Every
//! pipeline role therefore carries a permissions boundary (`policy/pitagora/pitagora-pipeline-
//! boundary`, [`pipeline_role_boundary`]) allowing only what a pipeline role ever does; the
//! controller and the service role may write a pipeline role only while it carries that
//! boundary (the `iam:PermissionsBoundary` condition), may never remove it, and the boundary
//! policy itself may not be changed. Whatever is then put on the role, its effective
//! permissions are the intersection with the boundary: pitagora's streams, buckets and error
//! log groups.
//!
//! What IAM cannot express (which namespace may use which prefix: IAM sees only the controller)
//! is left to pitagora's own validation (the tenancy file).

use crate::names::{
    CANARY_LOG_GROUP_ROOT, CLOUDFORMATION_ROLE, ERROR_LOG_GROUP_PREFIX, NAME_PREFIX,
    PIPELINE_BOUNDARY, ROLE_PATH,
};
use serde_json::{Value, json};

/// Where the rendered documents apply and what they may reach beyond pitagora's own names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope<'a> {
    /// `aws`, `aws-cn`, ... (or `${AWS::Partition}` in a template).
    pub partition: &'a str,
    /// The account in resource ARNs: `*` in the JSON documents (credentials reach only their
    /// own account's resources), `${AWS::AccountId}` in a template.
    pub account: &'a str,
    /// The account CloudFormation may act for (the trust policy's `aws:SourceAccount`).
    pub trusted_account: &'a str,
    /// Prefixes of the tenants' source log groups; empty or `*`: every log group.
    pub log_group_prefixes: &'a [String],
    /// Prefixes of the tenants' Lambda functions; empty or `*`: every function.
    pub function_prefixes: &'a [String],
}

/// The service principal that assumes the CloudFormation service role.
pub const CLOUDFORMATION_PRINCIPAL: &str = "cloudformation.amazonaws.com";
/// The services pitagora passes the pipeline roles to (Firehose delivers with one, CloudWatch
/// Logs puts subscribed events into the stream with the other).
pub const PIPELINE_ROLE_SERVICES: [&str; 2] = ["firehose.amazonaws.com", "logs.amazonaws.com"];
/// The services allowed to invoke a tenant's function through pitagora's permissions.
pub const PERMISSION_PRINCIPALS: [&str; 2] = ["s3.amazonaws.com", "sns.amazonaws.com"];
/// The name of the controller's managed policy the template creates.
pub const CONTROLLER_POLICY: &str = "pitagora-controller";

fn document(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn statement(sid: &str, actions: &[&str], resources: Vec<String>) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources})
}

impl Scope<'_> {
    fn arn(&self, service: &str, region: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{region}:{}:{resource}",
            self.partition, self.account
        )
    }

    /// The pipeline roles: the delivery and logs roles of every pipeline (not the service role,
    /// which shares their path and prefix: no one pitagora drives may change it).
    fn pipeline_roles(&self) -> Vec<String> {
        ["-delivery", "-logs"]
            .iter()
            .map(|suffix| {
                format!(
                    "arn:{}:iam::{}:role{ROLE_PATH}{NAME_PREFIX}*{suffix}",
                    self.partition, self.account
                )
            })
            .collect()
    }

    /// The pipeline roles' permissions boundary.
    fn boundary(&self) -> String {
        format!(
            "arn:{}:iam::{}:policy{ROLE_PATH}{PIPELINE_BOUNDARY}",
            self.partition, self.account
        )
    }

    /// The condition that the role written carries (or is created or set with) the boundary.
    /// `ArnLike`: the JSON documents name the account `*`, and a role's boundary can only be a
    /// policy of the role's own account.
    fn with_boundary(&self) -> Value {
        json!({"ArnLike": {"iam:PermissionsBoundary": self.boundary()}})
    }

    fn service_role(&self) -> String {
        format!(
            "arn:{}:iam::{}:role{ROLE_PATH}{CLOUDFORMATION_ROLE}",
            self.partition, self.account
        )
    }

    fn stacks(&self) -> Vec<String> {
        vec![self.arn("cloudformation", "*", &format!("stack/{NAME_PREFIX}*/*"))]
    }

    fn buckets(&self) -> Vec<String> {
        let bucket = format!("arn:{}:s3:::{NAME_PREFIX}*", self.partition);
        vec![bucket.clone(), format!("{bucket}/*")]
    }

    fn topics(&self) -> Vec<String> {
        vec![self.arn("sns", "*", &format!("{NAME_PREFIX}*"))]
    }

    fn log_group(&self, pattern: &str) -> String {
        self.arn("logs", "*", &format!("log-group:{pattern}"))
    }

    fn error_log_groups(&self) -> Vec<String> {
        vec![self.log_group(&format!("{ERROR_LOG_GROUP_PREFIX}{NAME_PREFIX}*"))]
    }

    /// The canary log groups: under each source prefix, and under pitagora's canary root.
    fn canary_log_groups(&self) -> Vec<String> {
        let mut out: Vec<String> = prefixes(self.log_group_prefixes)
            .iter()
            .map(|p| self.log_group(&format!("{p}{NAME_PREFIX}*-canary")))
            .collect();
        out.push(self.log_group(&format!("{}{NAME_PREFIX}*", CANARY_LOG_GROUP_ROOT)));
        out
    }

    fn canary_streams(&self) -> Vec<String> {
        self.canary_log_groups()
            .into_iter()
            .map(|g| format!("{g}:log-stream:*"))
            .collect()
    }

    /// The log groups pipelines subscribe: the tenants' prefixes and pitagora's canary root.
    fn source_log_groups(&self) -> Vec<String> {
        let mut out: Vec<String> = prefixes(self.log_group_prefixes)
            .iter()
            .map(|p| self.log_group(&format!("{p}*")))
            .collect();
        out.push(self.log_group(&format!("{}{NAME_PREFIX}*", CANARY_LOG_GROUP_ROOT)));
        dedup(out)
    }

    fn functions(&self) -> Vec<String> {
        prefixes(self.function_prefixes)
            .iter()
            .map(|p| self.arn("lambda", "*", &format!("function:{p}*")))
            .collect()
    }

    fn streams(&self) -> Vec<String> {
        vec![self.arn("firehose", "*", &format!("deliverystream/{NAME_PREFIX}*"))]
    }
}

/// The prefixes as given; `[""]` (everything) for none or for `*`.
fn prefixes(given: &[String]) -> Vec<String> {
    if given.is_empty() || given.iter().any(|p| p == "*") {
        return vec![String::new()];
    }
    dedup(given.to_vec())
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::BTreeSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

fn permission_principal_condition() -> Value {
    json!({"StringEquals": {"lambda:Principal": PERMISSION_PRINCIPALS}})
}

fn passed_to(services: &[&str]) -> Value {
    json!({"StringEquals": {"iam:PassedToService": services}})
}

/// The controller's policy: what the engine calls, each write on pitagora's names or the
/// configured prefixes. Statements whose `Sid` starts with `Engine` hold exactly the actions the
/// code calls (tests/operating/iam_policy.rs checks it); `Pass*` statements hold the roles it
/// passes.
pub fn controller_policy(s: &Scope) -> Value {
    let mut statements = vec![engine_reads()];
    statements.extend(engine_writes(s));
    statements.extend(engine_writes_shared(s));
    statements.extend(route_log_groups::engine_writes_route_log_groups(s));
    statements.extend(engine_writes_roles(s));
    statements.extend(engine_permissions(s));
    statements.push(events::engine_events(s));
    statements.extend(passes(s));
    statements.extend(boundary_guards(s));
    document(statements)
}

/// What the engine reads: every read it calls, on every resource (reads grant nothing).
fn engine_reads() -> Value {
    json!({
        "Sid": "EngineReads",
        "Effect": "Allow",
        "Action": [
            "cloudformation:DescribeStackEvents",
            "cloudformation:DescribeStacks",
            "cloudformation:GetTemplate",
            "cloudwatch:GetMetricData",
            "firehose:DescribeDeliveryStream",
            "firehose:ListTagsForDeliveryStream",
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "lambda:GetPolicy",
            "logs:DescribeDestinations",
            "logs:DescribeLogGroups",
            "logs:DescribeSubscriptionFilters",
            "logs:ListTagsForResource",
            "s3:GetBucketLogging",
            "s3:GetBucketNotification",
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketPolicy",
            "s3:GetBucketPublicAccessBlock",
            "s3:GetBucketTagging",
            "s3:GetBucketVersioning",
            "s3:GetEncryptionConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:ListBucketVersions",
            "sns:GetSubscriptionAttributes",
            "sns:GetTopicAttributes",
            "sns:ListSubscriptionsByTopic",
            "sns:ListTagsForResource",
            "tag:GetResources"
        ],
        "Resource": "*",
    })
}

/// The engine's writes of resources only pitagora names: stacks, streams, its log groups.
fn engine_writes(s: &Scope) -> Vec<Value> {
    vec![
        statement(
            "EngineWritesStacks",
            &[
                "cloudformation:CreateStack",
                "cloudformation:DeleteStack",
                "cloudformation:UpdateStack",
            ],
            s.stacks(),
        ),
        statement(
            "EngineWritesStreams",
            &[
                "firehose:CreateDeliveryStream",
                "firehose:DeleteDeliveryStream",
                "firehose:TagDeliveryStream",
                "firehose:UpdateDestination",
            ],
            s.streams(),
        ),
        statement(
            "EngineWritesErrorLogGroups",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
            ],
            s.error_log_groups(),
        ),
        statement(
            "EngineWritesCanaryLogGroups",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
            ],
            s.canary_log_groups(),
        ),
        statement(
            "EngineWritesDestinations",
            &[
                "logs:DeleteDestination",
                "logs:PutDestination",
                "logs:PutDestinationPolicy",
                "logs:TagResource",
            ],
            vec![s.arn("logs", "*", &format!("destination:{NAME_PREFIX}*"))],
        ),
        statement(
            "EngineSendsCanaries",
            &["logs:CreateLogStream", "logs:PutLogEvents"],
            s.canary_streams(),
        ),
    ]
}

/// The engine's writes of the tenants' log groups (subscription filters) and of pitagora's
/// buckets, topics and pipeline roles.
fn engine_writes_shared(s: &Scope) -> Vec<Value> {
    let mut source_groups = s.source_log_groups();
    source_groups.extend(s.canary_log_groups());
    let source_groups = dedup(source_groups);
    vec![
        statement(
            "EngineWritesFilters",
            &[
                "logs:DeleteSubscriptionFilter",
                "logs:PutSubscriptionFilter",
            ],
            source_groups.clone(),
        ),
        statement(
            "EngineReadsLogEvents",
            &["logs:FilterLogEvents"],
            source_groups,
        ),
        statement(
            "EngineReadsDeliveredObjects",
            &["s3:GetObject", "s3:ListBucket"],
            s.buckets(),
        ),
        statement(
            "EngineWritesBuckets",
            &[
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:PutBucketLogging",
                "s3:PutBucketNotification",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutLifecycleConfiguration",
            ],
            s.buckets(),
        ),
        statement(
            "EngineWritesSubscriptions",
            &[
                "sns:SetSubscriptionAttributes",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                "sns:Unsubscribe",
            ],
            s.topics(),
        ),
    ]
}

/// The engine's writes of the pipeline roles (drift correction). What can widen a role's
/// permissions (`PutRolePolicy`, `PutRolePermissionsBoundary`) is allowed only with the
/// boundary: on a role carrying it, or setting it. `UpdateAssumeRolePolicy` cannot be so
/// conditioned (IAM gives it no `iam:PermissionsBoundary` key): a changed trust lets someone
/// else assume the role, but what they then hold is still capped by the boundary, which no one
/// pitagora drives may remove or change ([`boundary_guards`]). Deleting or detaching a policy
/// only narrows.
fn engine_writes_roles(s: &Scope) -> Vec<Value> {
    let mut bounded = statement(
        "EngineWritesBoundedRoles",
        &["iam:PutRolePermissionsBoundary", "iam:PutRolePolicy"],
        s.pipeline_roles(),
    );
    bounded["Condition"] = s.with_boundary();
    vec![
        bounded,
        statement(
            "EngineWritesRoles",
            &[
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:UpdateAssumeRolePolicy",
            ],
            s.pipeline_roles(),
        ),
    ]
}

/// Explicit denies keeping the boundary in force whatever else the credentials are granted:
/// no pipeline role's boundary removed, the boundary policy neither rewritten nor deleted.
fn boundary_guards(s: &Scope) -> Vec<Value> {
    let deny = |sid: &str, actions: &[&str], resources: Vec<String>| {
        let mut d = statement(sid, actions, resources);
        d["Effect"] = json!("Deny");
        d
    };
    vec![
        deny(
            "DenyBoundaryRemoval",
            &["iam:DeleteRolePermissionsBoundary"],
            s.pipeline_roles(),
        ),
        deny(
            "DenyBoundaryChange",
            &[
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
            ],
            vec![s.boundary()],
        ),
    ]
}

/// The Lambda permissions on the tenants' functions: added only for S3 and SNS.
fn engine_permissions(s: &Scope) -> Vec<Value> {
    let mut add = statement(
        "EngineWritesPermissions",
        &["lambda:AddPermission"],
        s.functions(),
    );
    add["Condition"] = permission_principal_condition();
    vec![
        add,
        // Removing a permission only narrows who may invoke; the request names no principal.
        statement(
            "EngineRemovesPermissions",
            &["lambda:RemovePermission"],
            s.functions(),
        ),
    ]
}

/// The roles the engine hands to services: the pipeline roles to Firehose and CloudWatch
/// Logs, the service role to CloudFormation.
fn passes(s: &Scope) -> Vec<Value> {
    let mut pipeline = statement("PassPipelineRoles", &["iam:PassRole"], s.pipeline_roles());
    pipeline["Condition"] = passed_to(&PIPELINE_ROLE_SERVICES);
    let mut service = statement(
        "PassCloudFormationRole",
        &["iam:PassRole"],
        vec![s.service_role()],
    );
    service["Condition"] = passed_to(&[CLOUDFORMATION_PRINCIPAL]);
    vec![pipeline, service]
}

/// Who may assume the CloudFormation service role: CloudFormation, acting for this account.
pub fn cloudformation_role_trust(s: &Scope) -> Value {
    document(vec![json!({
        "Effect": "Allow",
        "Principal": {"Service": CLOUDFORMATION_PRINCIPAL},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": s.trusted_account}},
    })])
}

/// What CloudFormation needs of the pipeline's bucket and topic.
fn stack_buckets_and_topics(s: &Scope) -> Vec<Value> {
    vec![
        statement(
            "StackBuckets",
            &[
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:DeleteBucketPolicy",
                "s3:PutBucketLogging",
                "s3:PutBucketOwnershipControls",
                "s3:PutBucketPolicy",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutBucketTagging",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
            ],
            vec![s.buckets()[0].clone()],
        ),
        statement(
            "StackReadsBuckets",
            &[
                "s3:GetBucket*",
                "s3:GetEncryptionConfiguration",
                "s3:ListBucket",
            ],
            vec![s.buckets()[0].clone()],
        ),
        statement(
            "StackTopics",
            &[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:ListTagsForResource",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            s.topics(),
        ),
    ]
}

/// What CloudFormation needs to create, update and delete every resource kind a pipeline's
/// template holds (see [`super::template`]), each on pitagora's names or the function prefixes.
pub fn cloudformation_role_policy(s: &Scope) -> Value {
    let mut permissions = statement("StackPermissions", &["lambda:AddPermission"], s.functions());
    permissions["Condition"] = permission_principal_condition();
    // Creating a pipeline role, putting its policy or setting its boundary: only with the
    // boundary (see [`engine_writes_roles`] for what cannot be conditioned).
    let mut bounded = statement(
        "StackBoundedRoles",
        &[
            "iam:CreateRole",
            "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy",
        ],
        s.pipeline_roles(),
    );
    bounded["Condition"] = s.with_boundary();
    let mut statements = stack_buckets_and_topics(s);
    statements.extend([
        statement(
            "StackRoles",
            &[
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListAttachedRolePolicies",
                "iam:ListRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRoleDescription",
            ],
            s.pipeline_roles(),
        ),
        bounded,
        permissions,
        statement(
            "StackRemovesPermissions",
            &["lambda:RemovePermission"],
            s.functions(),
        ),
        statement(
            "StackReadsPermissions",
            &["lambda:GetPolicy"],
            s.functions(),
        ),
    ]);
    statements.extend(boundary_guards(s));
    document(statements)
}

mod accounts;
mod boundary;
mod events;
pub use accounts::{account_role_trust, assume_account_roles};
pub use boundary::pipeline_role_boundary;
mod fluentd;
pub use fluentd::fluentd_node_policy;
mod route_log_groups;
mod source_account;
pub use source_account::source_account_policy;
mod template;
pub use template::install_template;

#[cfg(test)]
mod tests;
