//! The CloudFormation template of a pipeline's static wiring: the bucket and its policy, the
//! topic and its policy, the two IAM roles, and the Lambda permissions.
//!
//! Only `AWS::S3::Bucket`, `AWS::S3::BucketPolicy`, `AWS::SNS::Topic`, `AWS::SNS::TopicPolicy`,
//! `AWS::IAM::Role` and `AWS::Lambda::Permission` appear here. The stream, the filters, the
//! bucket's notifications and lifecycle, and the topic's subscriptions go through their own
//! APIs: they change in place without replacement, follow dynamic log-group sets, and share
//! their containers with other owners.

use super::static_prefix;
use crate::arn::AwsTarget;
use crate::names::{MANAGED_BY_TAG, Names, OWNER_TAG, PipelineId, ROLE_PATH};
use crate::spec::{DeletionPolicy, LogPipelineSpec};
use serde_json::{Value, json};

/// The CloudFormation logical id of a subscriber's Lambda permission: `Subscriber` + the name in
/// CamelCase + `Permission` (`es-forwarder` → `SubscriberEsForwarderPermission`).
pub fn subscriber_logical_id(name: &str) -> String {
    let camel: String = name
        .split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    format!("Subscriber{camel}Permission")
}

fn tags(id: &PipelineId) -> Value {
    json!([
        {"Key": OWNER_TAG, "Value": id.owner_tag_value()},
        {"Key": MANAGED_BY_TAG.0, "Value": MANAGED_BY_TAG.1},
    ])
}

fn policy(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Builds the template. The spec must have passed validation.
pub fn build(id: &PipelineId, spec: &LogPipelineSpec, target: &AwsTarget, names: &Names) -> Value {
    let account = &target.account_id;
    let bucket_arn = target.bucket_arn(&names.bucket);
    let stream_arn = target.stream_arn(&names.stream);
    let retention = match spec.storage.deletion_policy {
        DeletionPolicy::Retain => "Retain",
        DeletionPolicy::Delete => "Delete",
    };
    let delivery = &spec.delivery;
    let object_arns: Vec<String> = [&delivery.prefix, &delivery.error_output_prefix]
        .into_iter()
        .map(|p| format!("{bucket_arn}/{}*", static_prefix(p)))
        .collect();

    let mut resources = serde_json::Map::new();
    resources.insert(
        "Bucket".into(),
        json!({
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": retention,
            "UpdateReplacePolicy": retention,
            "Properties": {
                "BucketName": names.bucket,
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
                "Tags": tags(id),
            },
        }),
    );
    // A retained bucket keeps its TLS-only policy.
    resources.insert(
        "BucketPolicy".into(),
        json!({
            "Type": "AWS::S3::BucketPolicy",
            "DeletionPolicy": retention,
            "UpdateReplacePolicy": retention,
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
        }),
    );
    resources.insert(
        "DeliveryRole".into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": names.delivery_role,
                "Path": ROLE_PATH,
                "Description": format!("Firehose delivery for LogPipeline {id} (managed by pitagora)"),
                "AssumeRolePolicyDocument": policy(json!([{
                    "Effect": "Allow",
                    "Principal": {"Service": "firehose.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": account}},
                }])),
                "Policies": [{
                    "PolicyName": "deliver-to-bucket",
                    "PolicyDocument": policy(json!([
                        {
                            "Sid": "Bucket",
                            "Effect": "Allow",
                            "Action": ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                            "Resource": bucket_arn,
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
                            "Resource": format!("{}:log-stream:*", target.log_group_arn(&names.error_log_group)),
                        },
                    ])),
                }],
                "Tags": tags(id),
            },
        }),
    );
    resources.insert(
        "LogsRole".into(),
        json!({
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": names.logs_role,
                "Path": ROLE_PATH,
                "Description": format!("CloudWatch Logs subscription delivery for LogPipeline {id} (managed by pitagora)"),
                "AssumeRolePolicyDocument": policy(json!([{
                    "Effect": "Allow",
                    "Principal": {"Service": target.logs_principal()},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringLike": {"aws:SourceArn": target.regional("logs", "*")}},
                }])),
                "Policies": [{
                    "PolicyName": "put-records",
                    "PolicyDocument": policy(json!([{
                        "Effect": "Allow",
                        "Action": ["firehose:PutRecord", "firehose:PutRecordBatch"],
                        "Resource": stream_arn,
                    }])),
                }],
                "Tags": tags(id),
            },
        }),
    );
    if let Some(transform) = &spec.transform {
        resources.insert(
            "TransformPermission".into(),
            json!({
                "Type": "AWS::Lambda::Permission",
                "Properties": {
                    "FunctionName": crate::arn::normalize(&transform.lambda_arn),
                    "Action": "lambda:InvokeFunction",
                    "Principal": "s3.amazonaws.com",
                    "SourceArn": bucket_arn,
                    "SourceAccount": account,
                },
            }),
        );
    }
    let mut outputs = serde_json::Map::new();
    outputs.insert("BucketName".into(), json!({"Value": {"Ref": "Bucket"}}));
    outputs.insert(
        "DeliveryRoleArn".into(),
        json!({"Value": {"Fn::GetAtt": ["DeliveryRole", "Arn"]}}),
    );
    outputs.insert(
        "LogsRoleArn".into(),
        json!({"Value": {"Fn::GetAtt": ["LogsRole", "Arn"]}}),
    );
    if let Some(fanout) = &spec.fanout {
        let topic_arn = target.topic_arn(&names.topic);
        resources.insert(
            "Topic".into(),
            json!({
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": names.topic, "Tags": tags(id)},
            }),
        );
        resources.insert(
            "TopicPolicy".into(),
            json!({
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [{"Ref": "Topic"}],
                    "PolicyDocument": policy(json!([{
                        "Sid": "AllowBucketToPublish",
                        "Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"},
                        "Action": "sns:Publish",
                        "Resource": topic_arn,
                        "Condition": {
                            "ArnLike": {"aws:SourceArn": bucket_arn},
                            "StringEquals": {"aws:SourceAccount": account},
                        },
                    }])),
                },
            }),
        );
        for subscriber in &fanout.subscribers {
            resources.insert(
                subscriber_logical_id(&subscriber.name),
                json!({
                    "Type": "AWS::Lambda::Permission",
                    "Properties": {
                        "FunctionName": crate::arn::normalize(&subscriber.lambda_arn),
                        "Action": "lambda:InvokeFunction",
                        "Principal": "sns.amazonaws.com",
                        "SourceArn": topic_arn,
                    },
                }),
            );
        }
        outputs.insert("TopicArn".into(), json!({"Value": {"Ref": "Topic"}}));
    }

    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": format!("pitagora LogPipeline {id}: static wiring. Managed by pitagora; changes made here by hand are reverted."),
        "Resources": resources,
        "Outputs": outputs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscriber_logical_ids_are_camel_case() {
        assert_eq!(
            subscriber_logical_id("es-forwarder"),
            "SubscriberEsForwarderPermission"
        );
        assert_eq!(subscriber_logical_id("slack"), "SubscriberSlackPermission");
    }
}
