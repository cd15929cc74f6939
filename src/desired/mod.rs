//! Desired state: what AWS should hold for one pipeline. Pure: a spec, an identity and a target
//! account/region in, plain values out.

pub mod template;

use crate::arn::AwsTarget;
use crate::names::{ERROR_LOG_STREAM, MANAGED_BY_TAG, Names, OWNER_TAG, PipelineId};
use crate::resources::*;
use crate::spec::{self, CutoverStage, DeletionPolicy, FieldError, LogPipelineSpec, RecordFormat};
use serde::Serialize;
use std::fmt;

/// Days Firehose error logs are kept.
pub const ERROR_LOG_RETENTION_DAYS: i32 = 30;
/// The S3 event every pitagora notification reacts to.
pub const OBJECT_CREATED: &str = "s3:ObjectCreated:*";
/// Capabilities the stack needs (it creates IAM roles with fixed names).
pub const STACK_CAPABILITIES: &[&str] = &["CAPABILITY_NAMED_IAM"];

/// A spec that cannot be turned into desired state; every problem is listed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct InvalidSpec(pub Vec<FieldError>);

impl fmt::Display for InvalidSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid LogPipeline spec ({} errors)", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// Everything AWS should hold for one pipeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Desired {
    /// The pipeline.
    pub id: PipelineId,
    /// Account and region.
    pub target: AwsTarget,
    /// Every derived name.
    pub names: Names,
    /// Tags every taggable resource carries; the owner tag identifies the pipeline.
    pub tags: Tags,
    /// `drift.policy: Report`: plans are computed but never executed.
    pub report_only: bool,
    /// Untagged same-named resources may be adopted.
    pub adopt_existing: bool,
    /// Differences the team accepts (`drift.ignore`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<spec::IgnoreRule>,
    /// `storage.deletionPolicy`: what deleting the pipeline does to the bucket.
    pub deletion_policy: DeletionPolicy,
    /// The cutover stage in effect.
    pub stage: CutoverStage,
    /// The CloudFormation stack.
    pub stack: StackSpec,
    /// The Firehose error-logging log group.
    pub error_log_group: LogGroupSpec,
    /// The Firehose delivery stream.
    pub stream: StreamSpec,
    /// The subscription filters: one per selected log group.
    pub filters: FilterSpec,
    /// This pipeline's entries in the bucket's notification configuration.
    pub notifications: Vec<Notification>,
    /// This pipeline's rules in the bucket's lifecycle configuration (none without retention or
    /// transition).
    pub lifecycle: Vec<LifecycleRule>,
    /// The fan-out topic and its Lambda subscriptions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicSpec>,
}

/// A CloudFormation stack.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackSpec {
    /// Stack name.
    pub name: String,
    /// The template, as JSON.
    pub template: serde_json::Value,
    /// Stack tags (CloudFormation propagates them to the resources that support tags).
    pub tags: Tags,
}

/// A log group pitagora owns (only the error-logging group).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupSpec {
    /// Log group name.
    pub name: String,
    /// Log group ARN (without the `:*` suffix).
    pub arn: String,
    /// Retention in days.
    pub retention_days: i32,
    /// Tags.
    pub tags: Tags,
}

/// A Firehose delivery stream (Direct PUT, extended S3 destination).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamSpec {
    /// Stream name.
    pub name: String,
    /// Stream ARN.
    pub arn: String,
    /// The S3 destination, complete: updates always send all of it.
    pub destination: S3Destination,
    /// Tags.
    pub tags: Tags,
}

/// The subscription filter every selected log group carries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterSpec {
    /// Exact log group names.
    pub log_groups: Vec<String>,
    /// Log group name prefixes.
    pub log_group_prefixes: Vec<String>,
    /// The filter each selected group carries.
    pub filter: SubscriptionFilter,
}

impl FilterSpec {
    /// Whether `log_group` is a source of this pipeline.
    pub fn selects(&self, log_group: &str) -> bool {
        self.log_groups.iter().any(|g| g == log_group)
            || self
                .log_group_prefixes
                .iter()
                .any(|p| log_group.starts_with(p.as_str()))
    }
}

/// The fan-out topic.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    /// Topic name.
    pub name: String,
    /// Topic ARN.
    pub arn: String,
    /// Lambda subscriptions, one per subscriber, keyed by subscriber name.
    pub subscriptions: Vec<(String, TopicSubscription)>,
}

/// The part of an S3 key prefix before any Firehose expression (`!{...}`): what every key under
/// it starts with, and so what S3 filters and IAM resources can match on.
pub fn static_prefix(prefix: &str) -> &str {
    prefix.split("!{").next().unwrap_or("")
}

/// The Firehose processors that turn CloudWatch Logs records into one log event per line:
/// gunzip the record, extract the log events' messages, end each with a newline.
pub fn ndjson_processors() -> Vec<Processor> {
    vec![
        Processor::new("Decompression", &[("CompressionFormat", "GZIP")]),
        Processor::new(
            "CloudWatchLogProcessing",
            &[("DataMessageExtraction", "true")],
        ),
        Processor::new("AppendDelimiterToRecord", &[]),
    ]
}

/// Computes the desired state of pipeline `id`. `account_id` is the AWS account; `default_region`
/// applies when the spec names none. Validation runs first: an invalid spec yields every error
/// and no desired state, so nothing downstream can act on it.
pub fn build(
    id: &PipelineId,
    spec: &LogPipelineSpec,
    account_id: &str,
    default_region: &str,
) -> Result<Desired, InvalidSpec> {
    let errors = spec::validate_in(id, spec, Some(default_region));
    if !errors.is_empty() {
        return Err(InvalidSpec(errors));
    }
    let target = AwsTarget::new(account_id, spec.region.as_deref().unwrap_or(default_region));
    let names = Names::derive(
        id,
        &target,
        spec.storage.bucket_name.as_deref(),
        spec.fanout.as_ref().and_then(|f| f.topic_name.as_deref()),
    );
    let tags: Tags = [
        (OWNER_TAG.to_owned(), id.owner_tag_value()),
        (MANAGED_BY_TAG.0.to_owned(), MANAGED_BY_TAG.1.to_owned()),
    ]
    .into();
    let bucket_arn = target.bucket_arn(&names.bucket);
    let stream_arn = target.stream_arn(&names.stream);
    let topic_arn = target.topic_arn(&names.topic);
    let processors = match spec.delivery.record_format {
        RecordFormat::Ndjson => ndjson_processors(),
        RecordFormat::Raw => Vec::new(),
    };

    let stream = StreamSpec {
        name: names.stream.clone(),
        arn: stream_arn.clone(),
        destination: S3Destination {
            bucket_arn,
            role_arn: target.role_arn(crate::names::ROLE_PATH, &names.delivery_role),
            prefix: spec.delivery.prefix.clone(),
            error_output_prefix: spec.delivery.error_output_prefix.clone(),
            buffering: BufferingHints {
                size_mib: spec.delivery.buffering.size_mib,
                interval_seconds: spec.delivery.buffering.interval_seconds,
            },
            compression: spec.compression().as_aws_str().to_owned(),
            kms_key_arn: None,
            processing_enabled: !processors.is_empty(),
            processors,
            cloudwatch_logging: CloudWatchLogging {
                enabled: true,
                log_group: names.error_log_group.clone(),
                log_stream: ERROR_LOG_STREAM.to_owned(),
            },
        },
        tags: tags.clone(),
    };

    let filters = FilterSpec {
        log_groups: spec.sources.log_groups.clone(),
        log_group_prefixes: spec.sources.log_group_prefixes.clone(),
        filter: SubscriptionFilter {
            name: names.filter.clone(),
            pattern: spec.sources.filter_pattern.clone(),
            destination_arn: stream_arn,
            role_arn: Some(target.role_arn(crate::names::ROLE_PATH, &names.logs_role)),
            distribution: match spec.sources.distribution {
                spec::Distribution::ByLogStream => "ByLogStream",
                spec::Distribution::Random => "Random",
            }
            .to_owned(),
        },
    };

    let mut notifications = Vec::new();
    if let Some(t) = &spec.transform {
        notifications.push(Notification {
            id: names.transform_notification_id.clone(),
            target: NotificationTarget::Lambda(crate::arn::normalize(&t.lambda_arn)),
            events: vec![OBJECT_CREATED.to_owned()],
            prefix: static_prefix(&spec.delivery.prefix).to_owned(),
            suffix: String::new(),
        });
    }
    let topic = spec.fanout.as_ref().map(|fanout| {
        notifications.push(Notification {
            id: names.fanout_notification_id.clone(),
            target: NotificationTarget::Topic(topic_arn.clone()),
            events: vec![OBJECT_CREATED.to_owned()],
            prefix: static_prefix(spec.fanout_source_prefix()).to_owned(),
            suffix: String::new(),
        });
        TopicSpec {
            name: names.topic.clone(),
            arn: topic_arn.clone(),
            subscriptions: fanout
                .subscribers
                .iter()
                .map(|s| {
                    (
                        s.name.clone(),
                        TopicSubscription {
                            protocol: "lambda".to_owned(),
                            endpoint: crate::arn::normalize(&s.lambda_arn),
                            filter_policy: s.filter_policy.clone(),
                            // S3 event notifications carry no message attributes: a policy can
                            // only ever match the message body.
                            filter_policy_scope: s
                                .filter_policy
                                .as_ref()
                                .map(|_| "MessageBody".to_owned()),
                        },
                    )
                })
                .collect(),
        }
    });

    let storage = &spec.storage;
    let lifecycle = if storage.retention_days.is_some() || storage.transition.is_some() {
        vec![LifecycleRule {
            id: names.lifecycle_rule_id.clone(),
            prefix: String::new(),
            enabled: true,
            expiration_days: storage.retention_days,
            transitions: storage
                .transition
                .iter()
                .map(|t| LifecycleTransition {
                    days: t.after_days,
                    storage_class: t.storage_class.as_aws_str().to_owned(),
                })
                .collect(),
        }]
    } else {
        Vec::new()
    };

    Ok(Desired {
        stack: StackSpec {
            name: names.stack.clone(),
            template: template::build(id, spec, &target, &names),
            tags: tags.clone(),
        },
        error_log_group: LogGroupSpec {
            name: names.error_log_group.clone(),
            arn: target.log_group_arn(&names.error_log_group),
            retention_days: ERROR_LOG_RETENTION_DAYS,
            tags: tags.clone(),
        },
        stream,
        filters,
        notifications,
        lifecycle,
        topic,
        id: id.clone(),
        tags,
        report_only: spec.report_only(),
        adopt_existing: spec.adopt_existing,
        ignore: spec.drift.ignore.clone(),
        deletion_policy: spec.storage.deletion_policy,
        stage: spec.cutover_stage(),
        target,
        names,
    })
}
