//! What the stack's resources should hold live: read from the template itself, so that the live
//! checks compare AWS with exactly what CloudFormation was told (and a correction brings each
//! resource back to the template, never to a second opinion of it). Pure.

use super::Pipeline;
use crate::names::subscriber_logical_id;
use crate::resources::{
    BucketAccess, BucketLogging, EncryptionRule, PublicAccessBlock, RoleConfig,
};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The live configuration of the stack's resources.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldSpec {
    /// The bucket's access settings (every group declared).
    pub bucket_access: BucketAccess,
    /// pitagora's statements of the bucket policy.
    pub bucket_policy: Vec<Value>,
    /// `storage.bucketPolicy: Exclusive`: the policy holds pitagora's statements only.
    pub bucket_policy_exclusive: bool,
    /// The roles by name, with their template logical id.
    pub roles: BTreeMap<String, HeldRole>,
    /// The topic policy (the whole document: the topic is pitagora's alone), with a fan-out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_policy: Option<Value>,
    /// The topic's encryption key, when the spec names one (`spec.fanout.kmsKeyArn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic_key: Option<String>,
    /// pitagora's statements on the Lambda functions it wires in.
    pub permissions: Vec<HeldPermission>,
}

/// One IAM role of the stack.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldRole {
    /// Its logical id in the template.
    pub logical_id: String,
    /// What it should hold.
    pub config: RoleConfig,
}

/// One `AWS::Lambda::Permission` of the stack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HeldPermission {
    /// Its logical id in the template.
    pub logical_id: String,
    /// The function (its ARN, as the spec names it).
    pub function: String,
    /// The spec field naming the function.
    pub spec_field: String,
    /// The statement: its id is the one pitagora gives when it has to add the statement itself
    /// (CloudFormation's own ids are generated).
    pub permission: crate::resources::LambdaPermission,
}

/// The statement id pitagora gives a permission it restores: `pitagora-` + the stack + the
/// logical id, within Lambda's 100 characters.
pub fn statement_id(stack: &str, logical_id: &str) -> String {
    let mut id = format!("{stack}-{logical_id}");
    if !id.starts_with("pitagora-") {
        id = format!("pitagora-{id}");
    }
    id.truncate(100);
    id
}

fn properties<'a>(template: &'a Value, logical_id: &str) -> &'a Value {
    &template["Resources"][logical_id]["Properties"]
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The live configuration `p`'s template declares.
pub fn build(p: &Pipeline, template: &Value) -> HeldSpec {
    let spec = p.spec();
    let roles = ["DeliveryRole", "LogsRole"]
        .into_iter()
        .map(|logical| {
            let props = properties(template, logical);
            let inline = props["Policies"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (text(&p["PolicyName"]), p["PolicyDocument"].clone()))
                .collect();
            let config = RoleConfig {
                path: text(&props["Path"]),
                trust: props["AssumeRolePolicyDocument"].clone(),
                inline,
                attached: Vec::new(),
                boundary: props["PermissionsBoundary"].as_str().map(str::to_owned),
            };
            let held = HeldRole {
                logical_id: logical.to_owned(),
                config,
            };
            (text(&props["RoleName"]), held)
        })
        .collect();
    let mut permissions = Vec::new();
    if spec.transform.is_some() {
        permissions.push(permission(
            p,
            template,
            "TransformPermission",
            "spec.transform.lambdaArn".into(),
        ));
    }
    for (i, s) in spec.fanout.iter().flat_map(|f| &f.subscribers).enumerate() {
        let field = format!("spec.fanout.subscribers[{i}].lambdaArn");
        permissions.push(permission(
            p,
            template,
            &subscriber_logical_id(&s.name),
            field,
        ));
    }
    HeldSpec {
        bucket_access: bucket_access(properties(template, "Bucket")),
        bucket_policy: properties(template, "BucketPolicy")["PolicyDocument"]["Statement"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
        bucket_policy_exclusive: spec.storage.bucket_policy
            == crate::spec::BucketPolicyMode::Exclusive,
        roles,
        topic_policy: spec
            .fanout
            .as_ref()
            .map(|_| properties(template, "TopicPolicy")["PolicyDocument"].clone()),
        topic_key: properties(template, "Topic")["KmsMasterKeyId"]
            .as_str()
            .map(str::to_owned),
        permissions,
    }
}

/// The bucket's declared access settings.
fn bucket_access(props: &Value) -> BucketAccess {
    let block = &props["PublicAccessBlockConfiguration"];
    let flag = |name: &str| block[name].as_bool().unwrap_or(false);
    let encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|rule| {
            let by_default = &rule["ServerSideEncryptionByDefault"];
            EncryptionRule {
                algorithm: text(&by_default["SSEAlgorithm"]),
                kms_key_id: by_default["KMSMasterKeyID"].as_str().map(str::to_owned),
            }
        })
        .collect();
    BucketAccess {
        public_access_block: Some(PublicAccessBlock {
            block_public_acls: flag("BlockPublicAcls"),
            block_public_policy: flag("BlockPublicPolicy"),
            ignore_public_acls: flag("IgnorePublicAcls"),
            restrict_public_buckets: flag("RestrictPublicBuckets"),
        }),
        encryption: Some(encryption),
        object_ownership: props["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
            .as_str()
            .map(str::to_owned),
        versioning: props["VersioningConfiguration"]["Status"]
            .as_str()
            .map(str::to_owned),
        logging: BucketLogging::from_template(props),
    }
}

/// One declared Lambda permission.
fn permission(
    p: &Pipeline,
    template: &Value,
    logical_id: &str,
    spec_field: String,
) -> HeldPermission {
    let props = properties(template, logical_id);
    HeldPermission {
        logical_id: logical_id.to_owned(),
        function: text(&props["FunctionName"]),
        spec_field,
        permission: crate::resources::LambdaPermission {
            statement_id: statement_id(&p.names().stack, logical_id),
            action: text(&props["Action"]),
            principal: text(&props["Principal"]),
            source_arn: props["SourceArn"].as_str().map(str::to_owned),
            source_account: props["SourceAccount"].as_str().map(str::to_owned),
        },
    }
}
