//! The model of the stack's own resources: what CloudFormation sets on them when it creates or
//! changes them (read here from the template by resource type, independently of
//! [`crate::desired`]), and the service APIs that correct them.

use super::{Refused, refuse};
use crate::observed::Observed;
use crate::plan::{RoleUpdate, merge_bucket_policy};
use crate::resources::*;
use serde_json::Value;
use std::collections::BTreeMap;

fn resources(template: &Value) -> impl Iterator<Item = (&String, &Value)> {
    template["Resources"].as_object().into_iter().flatten()
}

fn of_type<'a>(
    template: &'a Value,
    kind: &'a str,
) -> impl Iterator<Item = (&'a String, &'a Value)> {
    resources(template).filter(move |(_, r)| r["Type"] == kind)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Whether the template changes resource `logical` (or adds it) compared with `before`.
fn changed(before: Option<&Value>, template: &Value, logical: &str) -> bool {
    before.is_none_or(|b| b["Resources"].get(logical) != template["Resources"].get(logical))
}

/// What CloudFormation sets live when it creates `template` (`before: None`) or updates the
/// stack from `before`: the resources the update adds or changes take their declared
/// properties (the bucket: only the properties that change); the others keep whatever they
/// hold, drifted or not.
pub(super) fn apply_template(world: &mut Observed, before: Option<&Value>, template: &Value) {
    apply_bucket(world, before, template);
    for (logical, r) in of_type(template, "AWS::S3::BucketPolicy") {
        if let Some(bucket) = world
            .bucket
            .as_mut()
            .filter(|_| changed(before, template, logical))
        {
            bucket.policy = Some(r["Properties"]["PolicyDocument"].clone());
        }
    }
    for (logical, r) in of_type(template, "AWS::SNS::TopicPolicy") {
        if let Some(topic) = world
            .topic
            .as_mut()
            .filter(|_| changed(before, template, logical))
        {
            topic.policy = Some(r["Properties"]["PolicyDocument"].clone());
        }
    }
    // A key removed from the template: CloudFormation unsets the attribute.
    for (logical, r) in of_type(template, "AWS::SNS::Topic") {
        if let Some(topic) = world
            .topic
            .as_mut()
            .filter(|_| changed(before, template, logical))
        {
            topic.kms_key = r["Properties"]["KmsMasterKeyId"]
                .as_str()
                .map(str::to_owned);
        }
    }
    apply_roles(world, before, template);
    for (logical, r) in of_type(template, "AWS::Lambda::Permission") {
        if !changed(before, template, logical) {
            continue;
        }
        let p = &r["Properties"];
        let statement = LambdaPermission {
            statement_id: format!("cfn-{logical}"),
            action: text(&p["Action"]),
            principal: text(&p["Principal"]),
            source_arn: p["SourceArn"].as_str().map(str::to_owned),
            source_account: p["SourceAccount"].as_str().map(str::to_owned),
        };
        let statements = world.functions.entry(text(&p["FunctionName"])).or_default();
        statements.retain(|s| s.statement_id != statement.statement_id);
        statements.push(statement);
    }
}

/// The bucket's access settings, as CloudFormation sets them.
fn apply_bucket(world: &mut Observed, before: Option<&Value>, template: &Value) {
    for (logical, r) in of_type(template, "AWS::S3::Bucket") {
        let Some(bucket) = world.bucket.as_mut() else {
            continue;
        };
        // The bucket's handler writes only the properties the update changes; a drifted
        // property the template leaves as it was keeps its live value.
        let declared = bucket_access(&r["Properties"]);
        let set = |property: &str| {
            before.is_none_or(|b| {
                b["Resources"][logical]["Properties"].get(property) != r["Properties"].get(property)
            })
        };
        let access = &mut bucket.access;
        if set("PublicAccessBlockConfiguration") {
            access.public_access_block = declared.public_access_block;
        }
        if set("BucketEncryption") {
            access.encryption = declared.encryption;
        }
        if set("OwnershipControls") {
            access.object_ownership = declared.object_ownership;
        }
        // A property removed from the template leaves versioning as S3 has it (it cannot be
        // undone, only suspended).
        if set("VersioningConfiguration") && declared.versioning.is_some() {
            access.versioning = declared.versioning;
        }
        if set("LoggingConfiguration") {
            access.logging = declared.logging;
        }
    }
}

/// The roles, as CloudFormation sets them; roles the template no longer declares go.
fn apply_roles(world: &mut Observed, before: Option<&Value>, template: &Value) {
    let declared: Vec<String> = of_type(template, "AWS::IAM::Role")
        .map(|(_, r)| text(&r["Properties"]["RoleName"]))
        .collect();
    world.roles.retain(|name, _| declared.contains(name));
    for (logical, r) in of_type(template, "AWS::IAM::Role") {
        let p = &r["Properties"];
        let name = text(&p["RoleName"]);
        let existed = before.is_some_and(|b| b["Resources"].get(logical).is_some());
        match world.roles.get_mut(&name) {
            // The role's handler writes only the properties the update changes, and of the
            // inline policies only those the template declared or declares.
            Some(role) if existed => {
                let was = &before.map_or(&Value::Null, |b| &b["Resources"][logical])["Properties"];
                if was.get("AssumeRolePolicyDocument") != p.get("AssumeRolePolicyDocument") {
                    role.trust = p["AssumeRolePolicyDocument"].clone();
                }
                if was.get("PermissionsBoundary") != p.get("PermissionsBoundary") {
                    role.boundary = p["PermissionsBoundary"].as_str().map(str::to_owned);
                }
                if was.get("Policies") != p.get("Policies") {
                    role.inline
                        .retain(|k, _| !inline_policies(was).contains_key(k));
                    role.inline.extend(inline_policies(p));
                }
            }
            // A role deleted behind CloudFormation's back stays deleted on update.
            None if existed => {}
            _ => {
                let role = RoleConfig {
                    path: text(&p["Path"]),
                    trust: p["AssumeRolePolicyDocument"].clone(),
                    inline: inline_policies(p),
                    attached: Vec::new(),
                    boundary: p["PermissionsBoundary"].as_str().map(str::to_owned),
                };
                world.roles.insert(name, role);
            }
        }
    }
}

/// CloudFormation deleting the stack removes its roles and its permission statements.
pub(super) fn remove_template(world: &mut Observed, template: &Value) {
    for (_, r) in of_type(template, "AWS::IAM::Role") {
        world.roles.remove(&text(&r["Properties"]["RoleName"]));
    }
    for (logical, r) in of_type(template, "AWS::Lambda::Permission") {
        let sid = format!("cfn-{logical}");
        if let Some(s) = world
            .functions
            .get_mut(&text(&r["Properties"]["FunctionName"]))
        {
            s.retain(|st| st.statement_id != sid);
        }
    }
}

/// A role's declared inline policies by name.
fn inline_policies(p: &Value) -> BTreeMap<String, Value> {
    p["Policies"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| (text(&x["PolicyName"]), x["PolicyDocument"].clone()))
        .collect()
}

fn bucket_access(p: &Value) -> BucketAccess {
    let block = &p["PublicAccessBlockConfiguration"];
    let flag = |n: &str| block[n].as_bool().unwrap_or(false);
    BucketAccess {
        public_access_block: block.is_object().then(|| PublicAccessBlock {
            block_public_acls: flag("BlockPublicAcls"),
            block_public_policy: flag("BlockPublicPolicy"),
            ignore_public_acls: flag("IgnorePublicAcls"),
            restrict_public_buckets: flag("RestrictPublicBuckets"),
        }),
        encryption: p["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            .as_array()
            .map(|rules| {
                rules
                    .iter()
                    .map(|r| EncryptionRule {
                        algorithm: text(&r["ServerSideEncryptionByDefault"]["SSEAlgorithm"]),
                        kms_key_id: r["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]
                            .as_str()
                            .map(str::to_owned),
                    })
                    .collect()
            }),
        object_ownership: p["OwnershipControls"]["Rules"][0]["ObjectOwnership"]
            .as_str()
            .map(str::to_owned),
        versioning: p["VersioningConfiguration"]["Status"]
            .as_str()
            .map(str::to_owned),
        logging: crate::resources::BucketLogging::from_template(p),
    }
}

pub(super) fn put_bucket_access(
    world: &mut Observed,
    access: &BucketAccess,
) -> Result<(), Refused> {
    let Some(bucket) = world.bucket.as_mut() else {
        return Err(refuse("PutBucketAccess", "NoSuchBucket"));
    };
    if let Some(b) = access.public_access_block {
        bucket.access.public_access_block = Some(b);
    }
    if let Some(e) = &access.encryption {
        bucket.access.encryption = Some(e.clone());
    }
    if let Some(o) = &access.object_ownership {
        bucket.access.object_ownership = Some(o.clone());
    }
    if let Some(v) = &access.versioning {
        bucket.access.versioning = Some(v.clone());
    }
    if let Some(l) = &access.logging {
        bucket.access.logging = Some(l.clone());
    }
    Ok(())
}

pub(super) fn put_bucket_policy(
    world: &mut Observed,
    statements: &[Value],
    exclusive: bool,
) -> Result<(), Refused> {
    let Some(bucket) = world.bucket.as_mut() else {
        return Err(refuse("PutBucketPolicy", "NoSuchBucket"));
    };
    bucket.policy = Some(merge_bucket_policy(
        bucket.policy.as_ref(),
        statements,
        exclusive,
    ));
    Ok(())
}

pub(super) fn update_role(world: &mut Observed, u: &RoleUpdate) -> Result<(), Refused> {
    let Some(role) = world.roles.get_mut(&u.name) else {
        return Err(refuse("UpdateRole", "NoSuchEntity"));
    };
    if let Some(b) = &u.boundary {
        role.boundary = Some(b.clone());
    }
    if let Some(t) = &u.trust {
        role.trust = t.clone();
    }
    let put = u.put_policies.iter().map(|(k, v)| (k.clone(), v.clone()));
    role.inline.extend(put);
    role.inline.retain(|k, _| !u.delete_policies.contains(k));
    role.attached.retain(|a| !u.detach_policies.contains(a));
    Ok(())
}

pub(super) fn set_topic_key(world: &mut Observed, key: &str) -> Result<(), Refused> {
    let Some(topic) = world.topic.as_mut() else {
        return Err(refuse("SetTopicEncryption", "NotFound"));
    };
    topic.kms_key = Some(key.to_owned());
    Ok(())
}

pub(super) fn set_topic_policy(world: &mut Observed, policy: &Value) -> Result<(), Refused> {
    let Some(topic) = world.topic.as_mut() else {
        return Err(refuse("SetTopicPolicy", "NotFound"));
    };
    topic.policy = Some(policy.clone());
    Ok(())
}

pub(super) fn add_permission(
    world: &mut Observed,
    function: &str,
    p: &LambdaPermission,
    replaces: Option<&str>,
) -> Result<(), Refused> {
    let statements = world.functions.entry(function.to_owned()).or_default();
    statements.retain(|s| Some(s.statement_id.as_str()) != replaces);
    if !statements.iter().any(|s| s.statement_id == p.statement_id) {
        statements.push(p.clone());
    }
    Ok(())
}

pub(super) fn remove_permission(
    world: &mut Observed,
    function: &str,
    sid: &str,
) -> Result<(), Refused> {
    if let Some(s) = world.functions.get_mut(function) {
        s.retain(|st| st.statement_id != sid);
    }
    Ok(())
}
