//! The install template: the documents of [`super`] as one CloudFormation stack, in the account
//! and partition it is deployed to.

use super::*;

/// A CloudFormation template that creates the service role (`role/pitagora/pitagora-cloudformation`),
/// the controller's managed policy (`policy/pitagora/pitagora-controller`, to attach to the
/// controller's role) and the pipeline roles' boundary (`policy/pitagora/pitagora-pipeline-boundary`),
/// in the account and partition it is deployed to.
pub fn install_template(log_group_prefixes: &[String], function_prefixes: &[String]) -> Value {
    let s = Scope {
        partition: "${AWS::Partition}",
        account: "${AWS::AccountId}",
        trusted_account: "${AWS::AccountId}",
        log_group_prefixes,
        function_prefixes,
    };
    json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "pitagora: the service role CloudFormation writes pipeline stacks with, the controller's policy and the pipeline roles' permissions boundary. Rendered by `pitagora iam-policies cloudformation-template`.",
        "Resources": {
            "CloudFormationRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": CLOUDFORMATION_ROLE,
                    "Path": ROLE_PATH,
                    "Description": "CloudFormation creates, updates and deletes pitagora's pipeline stacks with this role",
                    "AssumeRolePolicyDocument": substituted(cloudformation_role_trust(&s)),
                    "Policies": [{
                        "PolicyName": CLOUDFORMATION_ROLE,
                        "PolicyDocument": substituted(cloudformation_role_policy(&s)),
                    }],
                },
            },
            "PipelineRoleBoundary": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": PIPELINE_BOUNDARY,
                    "Path": ROLE_PATH,
                    "Description": "The permissions boundary of every pitagora pipeline role: nothing beyond pitagora's streams, buckets and error log groups",
                    "PolicyDocument": substituted(pipeline_role_boundary(&s)),
                },
            },
            "ControllerPolicy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": CONTROLLER_POLICY,
                    "Path": ROLE_PATH,
                    "Description": "What the pitagora controller (or CLI) needs; attach it to the controller's role",
                    "PolicyDocument": substituted(controller_policy(&s)),
                },
            },
        },
        "Outputs": {
            "CloudFormationRoleArn": {"Value": {"Fn::GetAtt": ["CloudFormationRole", "Arn"]}},
            "ControllerPolicyArn": {"Value": {"Ref": "ControllerPolicy"}},
            "PipelineRoleBoundaryArn": {"Value": {"Ref": "PipelineRoleBoundary"}},
        },
    })
}

/// Every string naming `${AWS::...}` as `{"Fn::Sub": string}`.
fn substituted(v: Value) -> Value {
    match v {
        Value::String(text) if text.contains("${AWS::") => json!({"Fn::Sub": text}),
        Value::Array(items) => Value::Array(items.into_iter().map(substituted).collect()),
        Value::Object(map) => {
            Value::Object(map.into_iter().map(|(k, v)| (k, substituted(v))).collect())
        }
        other => other,
    }
}
