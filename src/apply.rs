//! Apply: execute a plan's actions in order against AWS.
//!
//! Every step is idempotent and safe to repeat after a crash at any point: creations accept
//! "already exists", deletions accept "not found", updates re-read what they must (a stream's
//! version, a bucket's foreign entries) right before writing, and stack operations carry a
//! client request token. A failed action stops the run (later actions depend on earlier ones),
//! except for per-log-group filters and per-subscriber subscriptions, which are independent.

use crate::aws::{AwsError, RegionClients};
use crate::desired::{LogGroupSpec, StreamSpec};
use crate::plan::{Action, Plan, Step};
use crate::resources::*;
use aws_sdk_firehose::types as fh;
use aws_sdk_s3::types as s3;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// What happened to one action.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionOutcome {
    /// The action.
    pub action: Action,
    /// `Ok(detail)` or the error.
    #[serde(serialize_with = "serialize_result")]
    pub result: Result<String, AwsError>,
    /// How long it took.
    pub elapsed_ms: u64,
}

fn serialize_result<S: serde::Serializer>(
    r: &Result<String, AwsError>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match r {
        Ok(detail) => s.serialize_str(detail),
        Err(e) => s.serialize_str(&format!("error: {e}")),
    }
}

/// The outcome of applying a plan.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplyReport {
    /// Outcomes of the executed actions, in order.
    pub outcomes: Vec<ActionOutcome>,
    /// Actions not executed because an earlier one failed.
    pub skipped: Vec<Action>,
}

impl ApplyReport {
    /// Whether every executed action succeeded and none was skipped.
    pub fn succeeded(&self) -> bool {
        self.skipped.is_empty() && self.outcomes.iter().all(|o| o.result.is_ok())
    }

    /// The errors, in order.
    pub fn errors(&self) -> impl Iterator<Item = &AwsError> {
        self.outcomes.iter().filter_map(|o| o.result.as_ref().err())
    }
}

/// Executes `plan`'s writing actions in order, reporting each outcome to `progress` as it
/// happens. A report-only plan is never executed.
pub async fn apply<P: FnMut(&ActionOutcome)>(
    c: &RegionClients,
    plan: &Plan,
    progress: &mut P,
) -> ApplyReport {
    let mut report = ApplyReport::default();
    if plan.report_only {
        return report;
    }
    let mut actions = plan.writes();
    for action in actions.by_ref() {
        let started = Instant::now();
        let span = tracing::info_span!("action", op = %action.op, kind = %action.kind, name = %action.name);
        // Boxed: one step's SDK futures are large; keep them off the caller's stack.
        let result =
            tracing::Instrument::instrument(Box::pin(execute(c, &action.step)), span).await;
        let outcome = ActionOutcome {
            action: action.clone(),
            result,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        progress(&outcome);
        let independent = matches!(
            action.kind,
            ResourceKind::SubscriptionFilter | ResourceKind::TopicSubscription
        );
        let failed = outcome.result.is_err();
        report.outcomes.push(outcome);
        if failed && !independent {
            break;
        }
    }
    report.skipped = actions.cloned().collect();
    report
}

/// Executes one step.
pub async fn execute(c: &RegionClients, step: &Step) -> Result<String, AwsError> {
    match step {
        Step::CreateStack {
            name,
            template,
            tags,
            capabilities,
        } => create_stack(c, name, template, tags, capabilities).await,
        Step::UpdateStack {
            name,
            template,
            tags,
            capabilities,
        } => update_stack(c, name, template, tags, capabilities).await,
        Step::DeleteStack { name, empty_bucket } => {
            let mut detail = String::new();
            if let Some(bucket) = empty_bucket {
                detail = format!(
                    "emptied bucket {bucket} ({} objects); ",
                    empty(c, bucket).await?
                );
            }
            delete_stack(c, name).await.map(|d| detail + &d)
        }
        Step::CreateLogGroup(g) => create_log_group(c, g).await,
        Step::UpdateLogGroup(g) => update_log_group(c, g).await,
        Step::DeleteLogGroup { name } => {
            let r = c
                .send("CloudWatchLogs.DeleteLogGroup", || {
                    c.logs.delete_log_group().log_group_name(name).send()
                })
                .await;
            gone_is_fine(r, "deleted", "already gone")
        }
        Step::CreateStream(s) => create_stream(c, s).await,
        Step::UpdateStream {
            stream,
            destination,
            tags,
        } => update_stream(c, stream, *destination, *tags).await,
        Step::DeleteStream { name } => {
            let r = c
                .send("Firehose.DeleteDeliveryStream", || {
                    c.firehose
                        .delete_delivery_stream()
                        .delivery_stream_name(name)
                        .send()
                })
                .await;
            gone_is_fine(r, "deleted", "already gone")
        }
        Step::PutNotifications {
            bucket,
            entries,
            managed_ids,
        } => put_notifications(c, bucket, entries, managed_ids).await,
        Step::PutLifecycle {
            bucket,
            rules,
            managed_ids,
        } => put_lifecycle(c, bucket, rules, managed_ids).await,
        Step::Subscribe {
            topic_arn,
            subscription,
        } => subscribe(c, topic_arn, subscription).await,
        Step::SetSubscriptionAttributes { arn, subscription } => {
            set_subscription_attributes(c, arn, subscription).await
        }
        Step::Unsubscribe { arn } => {
            let r = c
                .send("SNS.Unsubscribe", || {
                    c.sns.unsubscribe().subscription_arn(arn).send()
                })
                .await;
            gone_is_fine(r, "unsubscribed", "already gone")
        }
        Step::PutFilter { log_group, filter } => put_filter(c, log_group, filter).await,
        Step::DeleteFilter { log_group, name } => {
            let r = c
                .send("CloudWatchLogs.DeleteSubscriptionFilter", || {
                    c.logs
                        .delete_subscription_filter()
                        .log_group_name(log_group)
                        .filter_name(name)
                        .send()
                })
                .await;
            gone_is_fine(r, "deleted", "already gone")
        }
        Step::Conflict(_) => Ok(String::new()),
    }
}

fn gone_is_fine<T>(r: Result<T, AwsError>, done: &str, gone: &str) -> Result<String, AwsError> {
    match r {
        Ok(_) => Ok(done.to_owned()),
        Err(e) if e.is_not_found() => Ok(gone.to_owned()),
        Err(e) => Err(e),
    }
}

fn build_error(what: &str, e: impl std::fmt::Display) -> AwsError {
    AwsError::Build(what.to_owned(), e.to_string())
}

/// A client request token for one stack operation: the retries of that request carry it, so
/// CloudFormation recognises a retry whose first answer was lost instead of starting a second
/// operation. A later operation (even with the same template) gets a new token: CloudFormation
/// would take a reused one for a retry and do nothing.
fn request_token(kind: &str, name: &str, body: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let digest = Sha256::digest(format!("{kind}\n{name}\n{body}\n{nanos}").as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("pitagora-{kind}-{hex}")
}

fn cfn_tags(tags: &Tags) -> Vec<aws_sdk_cloudformation::types::Tag> {
    tags.iter()
        .map(|(k, v)| {
            aws_sdk_cloudformation::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

fn cfn_capabilities(capabilities: &[String]) -> Vec<aws_sdk_cloudformation::types::Capability> {
    capabilities
        .iter()
        .map(|c| aws_sdk_cloudformation::types::Capability::from(c.as_str()))
        .collect()
}

/// The template of a stack's first step: only the bucket and its policy.
fn bootstrap_template(template: &serde_json::Value) -> serde_json::Value {
    let mut bootstrap = template.clone();
    if let Some(resources) = bootstrap["Resources"].as_object_mut() {
        resources.retain(|k, _| k == "Bucket" || k == "BucketPolicy");
    }
    if let Some(outputs) = bootstrap["Outputs"].as_object_mut() {
        outputs.retain(|k, _| k == "BucketName");
    }
    bootstrap
}

/// Creates the stack in two steps: the bucket alone, then everything else as an update. A
/// creation that failed after making the (retained) bucket would roll back and leave the bucket
/// outside any stack, where CloudFormation cannot create it again; a failed update rolls back
/// with the bucket still in the stack.
async fn create_stack(
    c: &RegionClients,
    name: &str,
    template: &serde_json::Value,
    tags: &Tags,
    capabilities: &[String],
) -> Result<String, AwsError> {
    let bootstrap = bootstrap_template(template);
    create_stack_once(c, name, &bootstrap, tags, capabilities).await?;
    if bootstrap != *template {
        update_stack(c, name, template, tags, capabilities).await?;
    }
    Ok("created".into())
}

async fn create_stack_once(
    c: &RegionClients,
    name: &str,
    template: &serde_json::Value,
    tags: &Tags,
    capabilities: &[String],
) -> Result<String, AwsError> {
    let body = template.to_string();
    let token = request_token("create", name, &body);
    let created = c
        .send("CloudFormation.CreateStack", || {
            c.cfn
                .create_stack()
                .stack_name(name)
                .template_body(&body)
                .set_capabilities(Some(cfn_capabilities(capabilities)))
                .set_tags(Some(cfn_tags(tags)))
                .client_request_token(&token)
                .send()
        })
        .await;
    match created {
        Ok(_) => {}
        // A retry after a crash: the creation is already under way or done.
        Err(AwsError::Rejected { code, .. }) if code == "AlreadyExistsException" => {}
        Err(e) => return Err(e),
    }
    let status = wait_for_stack(c, name).await?;
    match status.as_str() {
        "CREATE_COMPLETE" => Ok("created".into()),
        _ => Err(stack_failure(c, name, &status).await),
    }
}

async fn update_stack(
    c: &RegionClients,
    name: &str,
    template: &serde_json::Value,
    tags: &Tags,
    capabilities: &[String],
) -> Result<String, AwsError> {
    let body = template.to_string();
    let token = request_token("update", name, &body);
    let updated = c
        .send("CloudFormation.UpdateStack", || {
            c.cfn
                .update_stack()
                .stack_name(name)
                .template_body(&body)
                .set_capabilities(Some(cfn_capabilities(capabilities)))
                .set_tags(Some(cfn_tags(tags)))
                .client_request_token(&token)
                .send()
        })
        .await;
    match updated {
        Ok(_) => {}
        Err(AwsError::Rejected { code, message, .. })
            if code == "ValidationError" && message.contains("No updates are to be performed") =>
        {
            return Ok("no changes needed".into());
        }
        Err(e) => return Err(e),
    }
    let status = wait_for_stack(c, name).await?;
    match status.as_str() {
        "UPDATE_COMPLETE" => Ok("updated".into()),
        _ => Err(stack_failure(c, name, &status).await),
    }
}

async fn delete_stack(c: &RegionClients, name: &str) -> Result<String, AwsError> {
    let token = request_token("delete", name, "");
    c.send("CloudFormation.DeleteStack", || {
        c.cfn
            .delete_stack()
            .stack_name(name)
            .client_request_token(&token)
            .send()
    })
    .await?;
    match wait_for_stack(c, name).await?.as_str() {
        "DELETE_COMPLETE" | "" => Ok("deleted".into()),
        status => Err(stack_failure(c, name, status).await),
    }
}

/// The stack's status once no operation is in progress ("" when it no longer exists).
async fn wait_for_stack(c: &RegionClients, name: &str) -> Result<String, AwsError> {
    let deadline = Instant::now() + c.settle_timeout;
    let mut interval = c.poll_interval;
    loop {
        let described = c
            .send("CloudFormation.DescribeStacks", || {
                c.cfn.describe_stacks().stack_name(name).send()
            })
            .await;
        let status = match described {
            Ok(out) => out
                .stacks()
                .first()
                .and_then(|s| s.stack_status())
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            Err(AwsError::Rejected { code, message, .. })
                if code == "ValidationError" && message.contains("does not exist") =>
            {
                String::new()
            }
            Err(e) => return Err(e),
        };
        if !status.ends_with("_IN_PROGRESS") || status == "REVIEW_IN_PROGRESS" {
            return Ok(status);
        }
        tracing::info!(stack = name, %status, "waiting for the stack operation to finish");
        if Instant::now() + interval > deadline {
            return Err(AwsError::Timeout {
                what: format!("stack {name}"),
                seconds: c.settle_timeout.as_secs(),
                state: status,
            });
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(Duration::from_secs(10));
    }
}

/// Why a stack ended in `status`: its status reason, or the first failed resource event.
async fn stack_failure(c: &RegionClients, name: &str, status: &str) -> AwsError {
    let events = c
        .send("CloudFormation.DescribeStackEvents", || {
            c.cfn.describe_stack_events().stack_name(name).send()
        })
        .await;
    let reason = events
        .ok()
        .and_then(|out| {
            out.stack_events()
                .iter()
                .rev()
                .find(|e| {
                    e.resource_status()
                        .is_some_and(|s| s.as_str().ends_with("_FAILED"))
                        && e.resource_status_reason().is_some()
                })
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.logical_resource_id().unwrap_or("stack"),
                        e.resource_status_reason().unwrap_or_default()
                    )
                })
        })
        .unwrap_or_else(|| "no failure reason recorded".into());
    AwsError::StackFailed {
        stack: name.to_owned(),
        status: status.to_owned(),
        reason,
    }
}

/// Deletes every object (and object version) of a bucket; returns how many.
async fn empty(c: &RegionClients, bucket: &str) -> Result<usize, AwsError> {
    let mut deleted = 0;
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    loop {
        let listed = c
            .send("S3.ListObjectVersions", || {
                c.s3.list_object_versions()
                    .bucket(bucket)
                    .set_key_marker(key_marker.clone())
                    .set_version_id_marker(version_marker.clone())
                    .send()
            })
            .await;
        let out = match listed {
            Ok(out) => out,
            Err(e) if e.is_not_found() => return Ok(deleted),
            Err(e) => return Err(e),
        };
        let mut ids = Vec::new();
        for (key, version) in out
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                out.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
        {
            let Some(key) = key else { continue };
            let id = s3::ObjectIdentifier::builder()
                .key(key)
                .set_version_id(version.filter(|v| *v != "null").map(str::to_owned))
                .build()
                .map_err(|e| build_error("S3.DeleteObjects", e))?;
            ids.push(id);
        }
        for chunk in ids.chunks(1000) {
            let delete = s3::Delete::builder()
                .set_objects(Some(chunk.to_vec()))
                .quiet(true)
                .build()
                .map_err(|e| build_error("S3.DeleteObjects", e))?;
            c.send("S3.DeleteObjects", || {
                c.s3.delete_objects()
                    .bucket(bucket)
                    .delete(delete.clone())
                    .send()
            })
            .await?;
            deleted += chunk.len();
        }
        if out.is_truncated() == Some(true) {
            key_marker = out.next_key_marker().map(str::to_owned);
            version_marker = out.next_version_id_marker().map(str::to_owned);
        } else {
            return Ok(deleted);
        }
    }
}

async fn create_log_group(c: &RegionClients, g: &LogGroupSpec) -> Result<String, AwsError> {
    let created = c
        .send("CloudWatchLogs.CreateLogGroup", || {
            c.logs
                .create_log_group()
                .log_group_name(&g.name)
                .set_tags(Some(g.tags.clone().into_iter().collect()))
                .send()
        })
        .await;
    match created {
        Ok(_) => {}
        Err(AwsError::Rejected { code, .. }) if code == "ResourceAlreadyExistsException" => {}
        Err(e) => return Err(e),
    }
    put_retention(c, g).await?;
    Ok("created".into())
}

async fn put_retention(c: &RegionClients, g: &LogGroupSpec) -> Result<(), AwsError> {
    c.send("CloudWatchLogs.PutRetentionPolicy", || {
        c.logs
            .put_retention_policy()
            .log_group_name(&g.name)
            .retention_in_days(g.retention_days)
            .send()
    })
    .await
    .map(|_| ())
}

async fn update_log_group(c: &RegionClients, g: &LogGroupSpec) -> Result<String, AwsError> {
    put_retention(c, g).await?;
    c.send("CloudWatchLogs.TagResource", || {
        c.logs
            .tag_resource()
            .resource_arn(&g.arn)
            .set_tags(Some(g.tags.clone().into_iter().collect()))
            .send()
    })
    .await?;
    Ok("updated".into())
}

fn processing(d: &S3Destination) -> Result<fh::ProcessingConfiguration, AwsError> {
    let mut processors = Vec::new();
    for p in &d.processors {
        let mut parameters = Vec::new();
        for (name, value) in &p.parameters {
            parameters.push(
                fh::ProcessorParameter::builder()
                    .parameter_name(fh::ProcessorParameterName::from(name.as_str()))
                    .parameter_value(value)
                    .build()
                    .map_err(|e| build_error("Firehose processor", e))?,
            );
        }
        processors.push(
            fh::Processor::builder()
                .r#type(fh::ProcessorType::from(p.kind.as_str()))
                .set_parameters(Some(parameters))
                .build()
                .map_err(|e| build_error("Firehose processor", e))?,
        );
    }
    Ok(fh::ProcessingConfiguration::builder()
        .enabled(d.processing_enabled)
        .set_processors(Some(processors))
        .build())
}

fn encryption(d: &S3Destination) -> Result<fh::EncryptionConfiguration, AwsError> {
    Ok(match &d.kms_key_arn {
        Some(key) => fh::EncryptionConfiguration::builder()
            .kms_encryption_config(
                fh::KmsEncryptionConfig::builder()
                    .awskms_key_arn(key)
                    .build()
                    .map_err(|e| build_error("Firehose encryption", e))?,
            )
            .build(),
        None => fh::EncryptionConfiguration::builder()
            .no_encryption_config(fh::NoEncryptionConfig::NoEncryption)
            .build(),
    })
}

fn logging(d: &S3Destination) -> fh::CloudWatchLoggingOptions {
    fh::CloudWatchLoggingOptions::builder()
        .enabled(d.cloudwatch_logging.enabled)
        .log_group_name(&d.cloudwatch_logging.log_group)
        .log_stream_name(&d.cloudwatch_logging.log_stream)
        .build()
}

fn buffering(d: &S3Destination) -> fh::BufferingHints {
    fh::BufferingHints::builder()
        .size_in_mbs(d.buffering.size_mib)
        .interval_in_seconds(d.buffering.interval_seconds)
        .build()
}

async fn create_stream(c: &RegionClients, s: &StreamSpec) -> Result<String, AwsError> {
    let d = &s.destination;
    let config = fh::ExtendedS3DestinationConfiguration::builder()
        .bucket_arn(&d.bucket_arn)
        .role_arn(&d.role_arn)
        .prefix(&d.prefix)
        .error_output_prefix(&d.error_output_prefix)
        .buffering_hints(buffering(d))
        .compression_format(fh::CompressionFormat::from(d.compression.as_str()))
        .encryption_configuration(encryption(d)?)
        .processing_configuration(processing(d)?)
        .cloud_watch_logging_options(logging(d))
        .s3_backup_mode(fh::S3BackupMode::Disabled)
        .build()
        .map_err(|e| build_error("Firehose.CreateDeliveryStream", e))?;
    let tags: Vec<fh::Tag> = s
        .tags
        .iter()
        .map(|(k, v)| fh::Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| build_error("Firehose tags", e))?;
    let created = c
        .send("Firehose.CreateDeliveryStream", || {
            c.firehose
                .create_delivery_stream()
                .delivery_stream_name(&s.name)
                .delivery_stream_type(fh::DeliveryStreamType::DirectPut)
                .extended_s3_destination_configuration(config.clone())
                .set_tags(Some(tags.clone()))
                .send()
        })
        .await;
    match created {
        Ok(_) => {}
        // A retry after a crash: the stream exists; the next pass compares it.
        Err(AwsError::Rejected { code, .. }) if code == "ResourceInUseException" => {}
        Err(e) => return Err(e),
    }
    wait_for_stream(c, &s.name).await?;
    Ok("created".into())
}

/// Waits until the stream is ACTIVE (subscription filters can only target an active stream).
async fn wait_for_stream(c: &RegionClients, name: &str) -> Result<(), AwsError> {
    let deadline = Instant::now() + c.settle_timeout;
    let mut interval = c.poll_interval;
    loop {
        let out = c
            .send("Firehose.DescribeDeliveryStream", || {
                c.firehose
                    .describe_delivery_stream()
                    .delivery_stream_name(name)
                    .send()
            })
            .await?;
        let status = out
            .delivery_stream_description()
            .map(|d| d.delivery_stream_status().as_str().to_owned())
            .unwrap_or_default();
        match status.as_str() {
            "ACTIVE" => return Ok(()),
            "CREATING_FAILED" | "DELETING_FAILED" => {
                return Err(AwsError::Rejected {
                    operation: "Firehose.CreateDeliveryStream".into(),
                    code: status.clone(),
                    message: out
                        .delivery_stream_description()
                        .and_then(|d| d.failure_description())
                        .map(|f| f.details())
                        .unwrap_or("stream creation failed")
                        .to_owned(),
                });
            }
            _ if Instant::now() + interval > deadline => {
                return Err(AwsError::Timeout {
                    what: format!("delivery stream {name}"),
                    seconds: c.settle_timeout.as_secs(),
                    state: status,
                });
            }
            _ => {
                tracing::info!(stream = name, %status, "waiting for the stream to become active");
                tokio::time::sleep(interval).await;
                interval = (interval * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn update_stream(
    c: &RegionClients,
    s: &StreamSpec,
    destination: bool,
    tags: bool,
) -> Result<String, AwsError> {
    let mut done = Vec::new();
    if destination {
        let d = &s.destination;
        // Always the complete configuration: a partial update can drop fields.
        let update = fh::ExtendedS3DestinationUpdate::builder()
            .bucket_arn(&d.bucket_arn)
            .role_arn(&d.role_arn)
            .prefix(&d.prefix)
            .error_output_prefix(&d.error_output_prefix)
            .buffering_hints(buffering(d))
            .compression_format(fh::CompressionFormat::from(d.compression.as_str()))
            .encryption_configuration(encryption(d)?)
            .processing_configuration(processing(d)?)
            .cloud_watch_logging_options(logging(d))
            .build();
        // The version id must be fresh: describe right before every attempt, and retry when
        // someone else updated in between (ConcurrentModificationException is retryable).
        c.retry
            .run(|| async {
                let out = c
                    .send_once("Firehose.DescribeDeliveryStream", || {
                        c.firehose
                            .describe_delivery_stream()
                            .delivery_stream_name(&s.name)
                            .send()
                    })
                    .await?;
                let desc = out
                    .delivery_stream_description()
                    .ok_or_else(|| AwsError::NotFound {
                        operation: "Firehose.DescribeDeliveryStream".into(),
                        code: "ResourceNotFoundException".into(),
                        message: format!("stream {} has no description", s.name),
                    })?;
                let destination_id = desc
                    .destinations()
                    .first()
                    .map(|d| d.destination_id().to_owned())
                    .unwrap_or_default();
                c.send_once("Firehose.UpdateDestination", || {
                    c.firehose
                        .update_destination()
                        .delivery_stream_name(&s.name)
                        .current_delivery_stream_version_id(desc.version_id())
                        .destination_id(&destination_id)
                        .extended_s3_destination_update(update.clone())
                        .send()
                })
                .await
            })
            .await?;
        done.push("destination updated");
    }
    if tags {
        let tags: Vec<fh::Tag> = s
            .tags
            .iter()
            .map(|(k, v)| fh::Tag::builder().key(k).value(v).build())
            .collect::<Result<_, _>>()
            .map_err(|e| build_error("Firehose tags", e))?;
        c.send("Firehose.TagDeliveryStream", || {
            c.firehose
                .tag_delivery_stream()
                .delivery_stream_name(&s.name)
                .set_tags(Some(tags.clone()))
                .send()
        })
        .await?;
        done.push("tags updated");
    }
    Ok(done.join(", "))
}

fn s3_filter(
    prefix: &str,
    suffix: &str,
) -> Result<Option<s3::NotificationConfigurationFilter>, AwsError> {
    let mut rules = Vec::new();
    for (name, value) in [
        (s3::FilterRuleName::Prefix, prefix),
        (s3::FilterRuleName::Suffix, suffix),
    ] {
        if !value.is_empty() {
            rules.push(s3::FilterRule::builder().name(name).value(value).build());
        }
    }
    Ok((!rules.is_empty()).then(|| {
        s3::NotificationConfigurationFilter::builder()
            .key(
                s3::S3KeyFilter::builder()
                    .set_filter_rules(Some(rules))
                    .build(),
            )
            .build()
    }))
}

fn s3_events(events: &[String]) -> Vec<s3::Event> {
    events.iter().map(|e| s3::Event::from(e.as_str())).collect()
}

/// Read-modify-write of the bucket's notification configuration: entries with other ids (and
/// the EventBridge setting) are written back exactly as read.
async fn put_notifications(
    c: &RegionClients,
    bucket: &str,
    entries: &[Notification],
    managed_ids: &[String],
) -> Result<String, AwsError> {
    let current = c
        .send("S3.GetBucketNotificationConfiguration", || {
            c.s3.get_bucket_notification_configuration()
                .bucket(bucket)
                .send()
        })
        .await?;
    let ours = |id: Option<&str>| id.is_some_and(|id| managed_ids.iter().any(|m| m == id));
    let mut lambdas: Vec<s3::LambdaFunctionConfiguration> = current
        .lambda_function_configurations()
        .iter()
        .filter(|l| !ours(l.id()))
        .cloned()
        .collect();
    let mut topics: Vec<s3::TopicConfiguration> = current
        .topic_configurations()
        .iter()
        .filter(|t| !ours(t.id()))
        .cloned()
        .collect();
    let queues: Vec<s3::QueueConfiguration> = current
        .queue_configurations()
        .iter()
        .filter(|q| !ours(q.id()))
        .cloned()
        .collect();
    let kept = lambdas.len() + topics.len() + queues.len();
    for n in entries {
        let filter = s3_filter(&n.prefix, &n.suffix)?;
        match &n.target {
            NotificationTarget::Lambda(arn) => lambdas.push(
                s3::LambdaFunctionConfiguration::builder()
                    .id(&n.id)
                    .lambda_function_arn(arn)
                    .set_events(Some(s3_events(&n.events)))
                    .set_filter(filter)
                    .build()
                    .map_err(|e| build_error("S3 notification", e))?,
            ),
            NotificationTarget::Topic(arn) => topics.push(
                s3::TopicConfiguration::builder()
                    .id(&n.id)
                    .topic_arn(arn)
                    .set_events(Some(s3_events(&n.events)))
                    .set_filter(filter)
                    .build()
                    .map_err(|e| build_error("S3 notification", e))?,
            ),
            NotificationTarget::Queue(_) => {
                return Err(build_error(
                    "S3 notification",
                    "pitagora never writes queue notifications",
                ));
            }
        }
    }
    let configuration = s3::NotificationConfiguration::builder()
        .set_lambda_function_configurations(Some(lambdas))
        .set_topic_configurations(Some(topics))
        .set_queue_configurations(Some(queues))
        .set_event_bridge_configuration(current.event_bridge_configuration().cloned())
        .build();
    c.send("S3.PutBucketNotificationConfiguration", || {
        c.s3.put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(configuration.clone())
            .send()
    })
    .await?;
    Ok(format!(
        "{} entries of this pipeline, {kept} of others kept",
        entries.len()
    ))
}

fn s3_rule(r: &LifecycleRule) -> Result<s3::LifecycleRule, AwsError> {
    let mut transitions = Vec::new();
    for t in &r.transitions {
        transitions.push(
            s3::Transition::builder()
                .days(t.days)
                .storage_class(s3::TransitionStorageClass::from(t.storage_class.as_str()))
                .build(),
        );
    }
    s3::LifecycleRule::builder()
        .id(&r.id)
        .filter(s3::LifecycleRuleFilter::builder().prefix(&r.prefix).build())
        .status(if r.enabled {
            s3::ExpirationStatus::Enabled
        } else {
            s3::ExpirationStatus::Disabled
        })
        .set_expiration(
            r.expiration_days
                .map(|d| s3::LifecycleExpiration::builder().days(d).build()),
        )
        .set_transitions((!transitions.is_empty()).then_some(transitions))
        .build()
        .map_err(|e| build_error("S3 lifecycle rule", e))
}

/// Read-modify-write of the bucket's lifecycle rules: rules with other ids are written back
/// exactly as read.
async fn put_lifecycle(
    c: &RegionClients,
    bucket: &str,
    rules: &[LifecycleRule],
    managed_ids: &[String],
) -> Result<String, AwsError> {
    let current = match c
        .send("S3.GetBucketLifecycleConfiguration", || {
            c.s3.get_bucket_lifecycle_configuration()
                .bucket(bucket)
                .send()
        })
        .await
    {
        Ok(out) => out.rules().to_vec(),
        Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut all: Vec<s3::LifecycleRule> = current
        .into_iter()
        .filter(|r| !r.id().is_some_and(|id| managed_ids.iter().any(|m| m == id)))
        .collect();
    let kept = all.len();
    for r in rules {
        all.push(s3_rule(r)?);
    }
    if all.is_empty() {
        c.send("S3.DeleteBucketLifecycle", || {
            c.s3.delete_bucket_lifecycle().bucket(bucket).send()
        })
        .await?;
        return Ok("lifecycle configuration removed".into());
    }
    let configuration = s3::BucketLifecycleConfiguration::builder()
        .set_rules(Some(all))
        .build()
        .map_err(|e| build_error("S3 lifecycle", e))?;
    c.send("S3.PutBucketLifecycleConfiguration", || {
        c.s3.put_bucket_lifecycle_configuration()
            .bucket(bucket)
            .lifecycle_configuration(configuration.clone())
            .send()
    })
    .await?;
    Ok(format!(
        "{} rules of this pipeline, {kept} of others kept",
        rules.len()
    ))
}

fn subscription_attributes(s: &TopicSubscription) -> Vec<(&'static str, String)> {
    match &s.filter_policy {
        Some(policy) => vec![
            (
                "FilterPolicyScope",
                s.filter_policy_scope
                    .clone()
                    .unwrap_or_else(|| "MessageAttributes".into()),
            ),
            ("FilterPolicy", policy.to_string()),
        ],
        // An empty policy removes it.
        None => vec![("FilterPolicy", String::new())],
    }
}

async fn subscribe(
    c: &RegionClients,
    topic_arn: &str,
    s: &TopicSubscription,
) -> Result<String, AwsError> {
    let attributes: std::collections::HashMap<String, String> = subscription_attributes(s)
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    let out = c
        .send("SNS.Subscribe", || {
            c.sns
                .subscribe()
                .topic_arn(topic_arn)
                .protocol(&s.protocol)
                .endpoint(&s.endpoint)
                .return_subscription_arn(true)
                .set_attributes((!attributes.is_empty()).then(|| attributes.clone()))
                .send()
        })
        .await?;
    Ok(format!(
        "subscribed ({})",
        out.subscription_arn().unwrap_or("pending")
    ))
}

async fn set_subscription_attributes(
    c: &RegionClients,
    arn: &str,
    s: &TopicSubscription,
) -> Result<String, AwsError> {
    for (name, value) in subscription_attributes(s) {
        c.send("SNS.SetSubscriptionAttributes", || {
            c.sns
                .set_subscription_attributes()
                .subscription_arn(arn)
                .attribute_name(name)
                .attribute_value(&value)
                .send()
        })
        .await?;
    }
    Ok("filter policy set".into())
}

async fn put_filter(
    c: &RegionClients,
    log_group: &str,
    f: &SubscriptionFilter,
) -> Result<String, AwsError> {
    c.send("CloudWatchLogs.PutSubscriptionFilter", || {
        c.logs
            .put_subscription_filter()
            .log_group_name(log_group)
            .filter_name(&f.name)
            .filter_pattern(&f.pattern)
            .destination_arn(&f.destination_arn)
            .set_role_arn(f.role_arn.clone())
            .distribution(aws_sdk_cloudwatchlogs::types::Distribution::from(
                f.distribution.as_str(),
            ))
            .send()
    })
    .await?;
    Ok("put".into())
}
