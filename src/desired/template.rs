//! The CloudFormation template of a pipeline's static wiring: the bucket and its policy, the
//! topic and its policy, the two IAM roles, and the Lambda permissions.
//!
//! Only `AWS::S3::Bucket`, `AWS::S3::BucketPolicy`, `AWS::SNS::Topic`, `AWS::SNS::TopicPolicy`,
//! `AWS::IAM::Role` and `AWS::Lambda::Permission` appear here. The stream, the filters, the
//! bucket's notifications and lifecycle, and the topic's subscriptions go through their own
//! APIs: they change in place without replacement, follow dynamic log-group sets, and share
//! their containers with other owners.

use super::Pipeline;
use crate::arn::AwsTarget;
use crate::names::{
    MANAGED_BY_TAG, Names, OWNER_TAG, PIPELINE_BOUNDARY, PipelineId, ROLE_PATH,
    subscriber_logical_id,
};
use crate::spec::grammar::prefix::static_prefix;
use crate::spec::{DeletionPolicy, Delivery, Fanout, LogPipelineSpec, Subscriber, Transform};
use serde_json::{Map, Value, json};

fn tags(id: &PipelineId) -> Value {
    json!([
        {"Key": OWNER_TAG, "Value": id.owner_tag_value()},
        {"Key": MANAGED_BY_TAG.0, "Value": MANAGED_BY_TAG.1},
    ])
}

fn policy(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Builds the template of a validated, placed pipeline.
pub fn build(p: &Pipeline) -> Value {
    let (id, spec, names) = (p.id(), p.spec(), p.names());
    let cx = Context::new(id, spec, p.target(), names);
    let mut resources = Map::new();
    let mut bucket = bucket(&cx);
    if spec.storage.versioning.is_some() {
        // Kept versions expire by the pipeline's lifecycle rule (desired::bucket::lifecycle).
        bucket["Properties"]["VersioningConfiguration"] = json!({"Status": "Enabled"});
    }
    if let Some(logging) = &spec.storage.access_logging {
        let prefix = logging
            .prefix
            .clone()
            .unwrap_or_else(|| format!("{}/", names.bucket));
        bucket["Properties"]["LoggingConfiguration"] = json!({
            "DestinationBucketName": logging.bucket,
            "LogFilePrefix": prefix,
        });
    }
    resources.insert("Bucket".into(), bucket);
    resources.insert("BucketPolicy".into(), bucket_policy(&cx));
    resources.insert("DeliveryRole".into(), delivery_role(&cx, &spec.delivery));
    let trusted = super::remote::logs_role_sources(p);
    resources.insert("LogsRole".into(), logs_role(&cx, &trusted));
    if let Some(transform) = &spec.transform {
        resources.insert(
            "TransformPermission".into(),
            transform_permission(&cx, transform),
        );
    }
    if let Some(fanout) = &spec.fanout {
        resources.insert("Topic".into(), topic(&cx, fanout));
        resources.insert("TopicPolicy".into(), topic_policy(&cx));
        for subscriber in &fanout.subscribers {
            resources.insert(
                subscriber_logical_id(&subscriber.name),
                subscriber_permission(&cx, subscriber),
            );
        }
    }
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("pitagora LogPipeline {id}: static wiring. Managed by pitagora; changes made here by hand are reverted."),
        "Resources": resources,
        "Outputs": outputs(spec.fanout.is_some()),
    })
}

/// What the template's resources are built from: the pipeline, where it lives, its names.
struct Context<'a> {
    id: &'a PipelineId,
    target: &'a AwsTarget,
    names: &'a Names,
    bucket_arn: String,
    /// The bucket's `DeletionPolicy` (and `UpdateReplacePolicy`), from `storage.deletionPolicy`.
    retention: &'static str,
}

impl<'a> Context<'a> {
    fn new(
        id: &'a PipelineId,
        spec: &LogPipelineSpec,
        target: &'a AwsTarget,
        names: &'a Names,
    ) -> Self {
        Context {
            id,
            target,
            names,
            bucket_arn: target.bucket_arn(&names.bucket),
            retention: match spec.storage.deletion_policy {
                DeletionPolicy::Retain => "Retain",
                DeletionPolicy::Delete => "Delete",
            },
        }
    }
}

/// The bucket: encrypted, private, objects owned by the bucket's account.
fn bucket(cx: &Context) -> Value {
    json!({
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": cx.retention,
        "UpdateReplacePolicy": cx.retention,
        "Properties": {
            "BucketName": cx.names.bucket,
            "BucketEncryption": {"ServerSideEncryptionConfiguration": [
                {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
            ]},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": true,
                "BlockPublicPolicy": true,
                "IgnorePublicAcls": true,
                "RestrictPublicBuckets": true,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "Tags": tags(cx.id),
        },
    })
}

/// The bucket's TLS-only policy. A retained bucket keeps it.
fn bucket_policy(cx: &Context) -> Value {
    let bucket_arn = &cx.bucket_arn;
    json!({
        "Type": "AWS::S3::BucketPolicy",
        "DeletionPolicy": cx.retention,
        "UpdateReplacePolicy": cx.retention,
        "Properties": {
            "Bucket": {"Ref": "Bucket"},
            "PolicyDocument": policy(json!([{
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [bucket_arn, format!("{bucket_arn}/*")],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }])),
        },
    })
}

/// The role Firehose delivers with: writing objects under the delivery's two prefixes, and its
/// own errors to the error log group. Like the logs role, bounded by the pipeline boundary
/// (`iam_policies::pipeline_role_boundary`): a policy put on it by whoever may write it never
/// reaches beyond pitagora's resources.
fn delivery_role(cx: &Context, delivery: &Delivery) -> Value {
    let object_arns: Vec<String> = [&delivery.prefix, &delivery.error_output_prefix]
        .into_iter()
        .map(|p| format!("{}/{}*", cx.bucket_arn, static_prefix(p)))
        .collect();
    let error_streams = format!(
        "{}:log-stream:*",
        cx.target.log_group_arn(&cx.names.error_log_group)
    );
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": cx.names.delivery_role,
            "Path": ROLE_PATH,
            "PermissionsBoundary": cx.target.policy_arn(ROLE_PATH, PIPELINE_BOUNDARY),
            "Description": format!("Firehose delivery for LogPipeline {} (managed by pitagora)", cx.id),
            "AssumeRolePolicyDocument": policy(json!([{
                "Effect": "Allow",
                "Principal": {"Service": "firehose.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": cx.target.account_id}},
            }])),
            "Policies": [{
                "PolicyName": "deliver-to-bucket",
                "PolicyDocument": policy(json!([
                    {
                        "Sid": "Bucket",
                        "Effect": "Allow",
                        "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                        "Resource": cx.bucket_arn,
                    },
                    {
                        "Sid": "Objects",
                        "Effect": "Allow",
                        "Action": ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                        "Resource": object_arns,
                    },
                    {
                        "Sid": "ErrorLogging",
                        "Effect": "Allow",
                        "Action": "logs:PutLogEvents",
                        "Resource": error_streams,
                    },
                ])),
            }],
            "Tags": tags(cx.id),
        },
    })
}

/// The role CloudWatch Logs delivers subscribed events with: putting records into the stream.
/// It trusts CloudWatch Logs of each region in `trusted`, acting for those accounts there (the
/// pipeline's own place, and with remote sources theirs and the destinations'); with only its
/// own, both are single values, as they were before remote sources existed.
fn logs_role(cx: &Context, trusted: &[AwsTarget]) -> Value {
    let one_or_list = |mut items: Vec<String>| {
        items.dedup();
        match items.as_slice() {
            [one] => json!(one),
            _ => json!(items),
        }
    };
    let mut principals: Vec<String> = trusted.iter().map(AwsTarget::logs_principal).collect();
    principals.sort();
    let principal = one_or_list(principals);
    let source_arn = one_or_list(trusted.iter().map(|t| t.regional("logs", "*")).collect());
    json!({
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": cx.names.logs_role,
            "Path": ROLE_PATH,
            "PermissionsBoundary": cx.target.policy_arn(ROLE_PATH, PIPELINE_BOUNDARY),
            "Description": format!("CloudWatch Logs subscription delivery for LogPipeline {} (managed by pitagora)", cx.id),
            "AssumeRolePolicyDocument": policy(json!([{
                "Effect": "Allow",
                "Principal": {"Service": principal},
                "Action": "sts:AssumeRole",
                "Condition": {"StringLike": {"aws:SourceArn": source_arn}},
            }])),
            "Policies": [{
                "PolicyName": "put-records",
                "PolicyDocument": policy(json!([{
                    "Effect": "Allow",
                    "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                    "Resource": cx.target.stream_arn(&cx.names.stream),
                }])),
            }],
            "Tags": tags(cx.id),
        },
    })
}

/// Lets the bucket invoke the transform function.
fn transform_permission(cx: &Context, transform: &Transform) -> Value {
    json!({
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": crate::arn::normalize(&transform.lambda_arn),
            "Action": "lambda:InvokeFunction",
            "Principal": "s3.amazonaws.com",
            "SourceArn": cx.bucket_arn,
            "SourceAccount": cx.target.account_id,
        },
    })
}

/// The fan-out topic.
fn topic(cx: &Context, fanout: &Fanout) -> Value {
    let mut topic = json!({
        "Type": "AWS::SNS::Topic",
        "Properties": {"TopicName": cx.names.topic, "Tags": tags(cx.id)},
    });
    if let Some(key) = &fanout.kms_key_arn {
        topic["Properties"]["KmsMasterKeyId"] = json!(key);
    }
    topic
}

/// Lets the bucket, and only this account's bucket, publish to the topic.
fn topic_policy(cx: &Context) -> Value {
    json!({
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {
            "Topics": [{"Ref": "Topic"}],
            "PolicyDocument": policy(json!([{
                "Sid": "AllowBucketToPublish",
                "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": cx.target.topic_arn(&cx.names.topic),
                "Condition": {
                    "ArnLike": {"aws:SourceArn": cx.bucket_arn},
                    "StringEquals": {"aws:SourceAccount": cx.target.account_id},
                },
            }])),
        },
    })
}

/// Lets the topic invoke one subscriber's function.
fn subscriber_permission(cx: &Context, subscriber: &Subscriber) -> Value {
    json!({
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "FunctionName": crate::arn::normalize(&subscriber.lambda_arn),
            "Action": "lambda:InvokeFunction",
            "Principal": "sns.amazonaws.com",
            "SourceArn": cx.target.topic_arn(&cx.names.topic),
        },
    })
}

/// The stack's outputs: the bucket, the two roles' ARNs and, with fan-out, the topic.
fn outputs(fanout: bool) -> Map<String, Value> {
    let mut outputs = Map::new();
    outputs.insert("BucketName".into(), json!({"Value": {"Ref": "Bucket"}}));
    outputs.insert(
        "DeliveryRoleArn".into(),
        json!({"Value": {"Fn::GetAtt": ["DeliveryRole", "Arn"]}}),
    );
    outputs.insert(
        "LogsRoleArn".into(),
        json!({"Value": {"Fn::GetAtt": ["LogsRole", "Arn"]}}),
    );
    if fanout {
        outputs.insert("TopicArn".into(), json!({"Value": {"Ref": "Topic"}}));
    }
    outputs
}
