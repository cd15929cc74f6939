//! Observe: read what AWS holds for one pipeline into an [`Observed`] value. Reads only.
//!
//! Independent reads run concurrently; lists are paginated everywhere; "not found" is an absent
//! resource, never an error. Only the fields pitagora manages are mapped.

use crate::aws::{AwsError, RegionClients};
use crate::desired::Desired;
use crate::observed::*;
use crate::resources::*;
use std::collections::{BTreeMap, BTreeSet};

/// Which log groups to read beyond the pipeline's sources.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// Log groups that carried this pipeline's filter before (from status), so filters on groups
    /// that stopped being sources are found and removed.
    pub previous_log_groups: Vec<String>,
}

/// Reads the state of `desired`'s pipeline.
pub async fn observe(c: &RegionClients, d: &Desired, hints: &Hints) -> Result<Observed, AwsError> {
    let topic_arn = d.target.topic_arn(&d.names.topic);
    // Boxed: the SDK's futures are large, and six of them side by side would not fit on a
    // thread's stack when polled in place (as `block_on` does).
    let (stack, error_log_group, stream, log_groups, bucket, topic) = tokio::try_join!(
        Box::pin(stack(c, &d.stack.name)),
        Box::pin(error_log_group(c, d)),
        Box::pin(stream(c, &d.stream.name)),
        Box::pin(log_groups(c, d, hints)),
        Box::pin(bucket(c, &d.names.bucket)),
        Box::pin(topic(c, d, &topic_arn)),
    )?;
    Ok(Observed {
        stack,
        error_log_group,
        stream,
        log_groups,
        bucket,
        topic,
    })
}

/// `Ok(None)` for "not found".
fn absent_if_not_found<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

async fn stack(c: &RegionClients, name: &str) -> Result<Option<ObservedStack>, AwsError> {
    let described = c
        .send("CloudFormation.DescribeStacks", || {
            c.cfn.describe_stacks().stack_name(name).send()
        })
        .await;
    let out = match described {
        Ok(out) => out,
        // CloudFormation reports a missing stack as a validation error.
        Err(AwsError::Rejected { code, message, .. })
            if code == "ValidationError" && message.contains("does not exist") =>
        {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    let Some(s) = out.stacks().first() else {
        return Ok(None);
    };
    let status = s
        .stack_status()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    if status == "DELETE_COMPLETE" {
        return Ok(None);
    }
    let template = match c
        .send("CloudFormation.GetTemplate", || {
            c.cfn.get_template().stack_name(name).send()
        })
        .await
    {
        Ok(t) => t.template_body().and_then(parse_template),
        // A stack that never got a template (e.g. REVIEW_IN_PROGRESS) has none to compare.
        Err(AwsError::Rejected { .. }) => None,
        Err(e) => return Err(e),
    };
    Ok(Some(ObservedStack {
        status,
        status_reason: s.stack_status_reason().map(str::to_owned),
        template,
        tags: s
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect(),
        outputs: s
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?.to_owned(), o.output_value()?.to_owned())))
            .collect(),
    }))
}

/// A template body as JSON (YAML, if someone replaced it by hand, is read too).
fn parse_template(body: &str) -> Option<serde_json::Value> {
    serde_json::from_str(body)
        .ok()
        .or_else(|| serde_saphyr::from_str(body).ok())
}

/// Every log group whose name starts with `prefix`.
async fn groups_with_prefix(
    c: &RegionClients,
    prefix: &str,
) -> Result<Vec<(String, Option<i32>)>, AwsError> {
    let mut groups = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .send("CloudWatchLogs.DescribeLogGroups", || {
                c.logs
                    .describe_log_groups()
                    .log_group_name_prefix(prefix)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        groups.extend(
            out.log_groups()
                .iter()
                .filter_map(|g| Some((g.log_group_name()?.to_owned(), g.retention_in_days()))),
        );
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(groups),
        }
    }
}

async fn error_log_group(
    c: &RegionClients,
    d: &Desired,
) -> Result<Option<ObservedLogGroup>, AwsError> {
    let name = &d.error_log_group.name;
    let Some((_, retention_days)) = groups_with_prefix(c, name)
        .await?
        .into_iter()
        .find(|(g, _)| g == name)
    else {
        return Ok(None);
    };
    let arn = &d.error_log_group.arn;
    let tags = c
        .send("CloudWatchLogs.ListTagsForResource", || {
            c.logs.list_tags_for_resource().resource_arn(arn).send()
        })
        .await?
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    Ok(Some(ObservedLogGroup {
        retention_days,
        tags,
    }))
}

async fn stream(c: &RegionClients, name: &str) -> Result<Option<ObservedStream>, AwsError> {
    let described = absent_if_not_found(
        c.send("Firehose.DescribeDeliveryStream", || {
            c.firehose
                .describe_delivery_stream()
                .delivery_stream_name(name)
                .send()
        })
        .await,
    )?;
    let Some(out) = described else {
        return Ok(None);
    };
    let Some(desc) = out.delivery_stream_description() else {
        return Ok(None);
    };
    let first = desc.destinations().first();
    let destination = first
        .and_then(|d| d.extended_s3_destination_description())
        .map(|e| S3Destination {
            bucket_arn: e.bucket_arn().to_owned(),
            role_arn: e.role_arn().to_owned(),
            prefix: e.prefix().unwrap_or_default().to_owned(),
            error_output_prefix: e.error_output_prefix().unwrap_or_default().to_owned(),
            buffering: BufferingHints {
                size_mib: e
                    .buffering_hints()
                    .and_then(|b| b.size_in_mbs())
                    .unwrap_or(5),
                interval_seconds: e
                    .buffering_hints()
                    .and_then(|b| b.interval_in_seconds())
                    .unwrap_or(300),
            },
            compression: e.compression_format().as_str().to_owned(),
            kms_key_arn: e
                .encryption_configuration()
                .and_then(|c| c.kms_encryption_config())
                .map(|k| k.awskms_key_arn().to_owned()),
            processing_enabled: e
                .processing_configuration()
                .and_then(|p| p.enabled())
                .unwrap_or(false),
            processors: e
                .processing_configuration()
                .map(|p| {
                    p.processors()
                        .iter()
                        .map(|p| Processor {
                            kind: p.r#type().as_str().to_owned(),
                            parameters: p
                                .parameters()
                                .iter()
                                .map(|x| {
                                    (
                                        x.parameter_name().as_str().to_owned(),
                                        x.parameter_value().to_owned(),
                                    )
                                })
                                .collect(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            cloudwatch_logging: e
                .cloud_watch_logging_options()
                .map(|l| CloudWatchLogging {
                    enabled: l.enabled().unwrap_or(false),
                    log_group: l.log_group_name().unwrap_or_default().to_owned(),
                    log_stream: l.log_stream_name().unwrap_or_default().to_owned(),
                })
                .unwrap_or_default(),
        });
    let mut tags = Tags::new();
    let mut start: Option<String> = None;
    loop {
        let out = c
            .send("Firehose.ListTagsForDeliveryStream", || {
                c.firehose
                    .list_tags_for_delivery_stream()
                    .delivery_stream_name(name)
                    .set_exclusive_start_tag_key(start.clone())
                    .send()
            })
            .await?;
        for t in out.tags() {
            tags.insert(t.key().to_owned(), t.value().unwrap_or_default().to_owned());
        }
        match (out.has_more_tags(), out.tags().last()) {
            (true, Some(last)) => start = Some(last.key().to_owned()),
            _ => break,
        }
    }
    Ok(Some(ObservedStream {
        status: desc.delivery_stream_status().as_str().to_owned(),
        destination,
        version_id: desc.version_id().to_owned(),
        destination_id: first
            .map(|d| d.destination_id().to_owned())
            .unwrap_or_default(),
        tags,
    }))
}

async fn log_groups(
    c: &RegionClients,
    d: &Desired,
    hints: &Hints,
) -> Result<BTreeMap<String, Vec<SubscriptionFilter>>, AwsError> {
    // Exact names are looked up by prefix too (the API has no exact-name filter); names that are
    // themselves under a source prefix are covered by that prefix's listing.
    let mut lookups: BTreeSet<&str> = d
        .filters
        .log_group_prefixes
        .iter()
        .map(String::as_str)
        .collect();
    let mut exact: BTreeSet<&str> = d.filters.log_groups.iter().map(String::as_str).collect();
    exact.extend(hints.previous_log_groups.iter().map(String::as_str));
    for name in &exact {
        if !d
            .filters
            .log_group_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
        {
            lookups.insert(name);
        }
    }
    let mut names = BTreeSet::new();
    for prefix in &lookups {
        for (group, _) in groups_with_prefix(c, prefix).await? {
            if d.filters.selects(&group) || exact.contains(group.as_str()) {
                names.insert(group);
            }
        }
    }
    let mut out = BTreeMap::new();
    for group in names {
        let filters = absent_if_not_found(filters_of(c, &group).await)?;
        // A group deleted between the listing and this read is simply gone.
        if let Some(filters) = filters {
            out.insert(group, filters);
        }
    }
    Ok(out)
}

async fn filters_of(c: &RegionClients, group: &str) -> Result<Vec<SubscriptionFilter>, AwsError> {
    let mut filters = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .send("CloudWatchLogs.DescribeSubscriptionFilters", || {
                c.logs
                    .describe_subscription_filters()
                    .log_group_name(group)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        filters.extend(out.subscription_filters().iter().map(|f| {
            SubscriptionFilter {
                name: f.filter_name().unwrap_or_default().to_owned(),
                pattern: f.filter_pattern().unwrap_or_default().to_owned(),
                destination_arn: f.destination_arn().unwrap_or_default().to_owned(),
                role_arn: f.role_arn().map(str::to_owned),
                distribution: f
                    .distribution()
                    .map(|d| d.as_str().to_owned())
                    .unwrap_or_default(),
            }
        }));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(filters),
        }
    }
}

fn filter_rules(
    filter: Option<&aws_sdk_s3::types::NotificationConfigurationFilter>,
) -> (String, String) {
    let mut prefix = String::new();
    let mut suffix = String::new();
    for rule in filter
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap_or_default()
    {
        let value = rule.value().unwrap_or_default().to_owned();
        match rule
            .name()
            .map(|n| n.as_str().to_ascii_lowercase())
            .as_deref()
        {
            Some("prefix") => prefix = value,
            Some("suffix") => suffix = value,
            _ => {}
        }
    }
    (prefix, suffix)
}

async fn bucket(c: &RegionClients, name: &str) -> Result<Option<ObservedBucket>, AwsError> {
    let notifications = absent_if_not_found(
        c.send("S3.GetBucketNotificationConfiguration", || {
            c.s3.get_bucket_notification_configuration()
                .bucket(name)
                .send()
        })
        .await,
    )?;
    let Some(n) = notifications else {
        return Ok(None);
    };
    let events = |e: &[aws_sdk_s3::types::Event]| {
        let mut v: Vec<String> = e.iter().map(|e| e.as_str().to_owned()).collect();
        v.sort();
        v
    };
    let mut entries = Vec::new();
    for l in n.lambda_function_configurations() {
        let (prefix, suffix) = filter_rules(l.filter());
        entries.push(Notification {
            id: l.id().unwrap_or_default().to_owned(),
            target: NotificationTarget::Lambda(l.lambda_function_arn().to_owned()),
            events: events(l.events()),
            prefix,
            suffix,
        });
    }
    for t in n.topic_configurations() {
        let (prefix, suffix) = filter_rules(t.filter());
        entries.push(Notification {
            id: t.id().unwrap_or_default().to_owned(),
            target: NotificationTarget::Topic(t.topic_arn().to_owned()),
            events: events(t.events()),
            prefix,
            suffix,
        });
    }
    for q in n.queue_configurations() {
        let (prefix, suffix) = filter_rules(q.filter());
        entries.push(Notification {
            id: q.id().unwrap_or_default().to_owned(),
            target: NotificationTarget::Queue(q.queue_arn().to_owned()),
            events: events(q.events()),
            prefix,
            suffix,
        });
    }
    let lifecycle = match c
        .send("S3.GetBucketLifecycleConfiguration", || {
            c.s3.get_bucket_lifecycle_configuration()
                .bucket(name)
                .send()
        })
        .await
    {
        Ok(out) => out.rules().iter().map(lifecycle_rule).collect(),
        Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Vec::new(),
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(ObservedBucket {
        notifications: entries,
        lifecycle,
    }))
}

/// The managed view of an S3 lifecycle rule (a prefix filter, expiration days, transitions).
pub fn lifecycle_rule(r: &aws_sdk_s3::types::LifecycleRule) -> LifecycleRule {
    #[allow(deprecated)] // the rule-level `Prefix` is what older rules carry
    let prefix = r
        .filter()
        .and_then(|f| f.prefix())
        .or(r.prefix())
        .unwrap_or_default()
        .to_owned();
    let mut transitions: Vec<LifecycleTransition> = r
        .transitions()
        .iter()
        .filter_map(|t| {
            Some(LifecycleTransition {
                days: t.days()?,
                storage_class: t.storage_class()?.as_str().to_owned(),
            })
        })
        .collect();
    transitions.sort();
    LifecycleRule {
        id: r.id().unwrap_or_default().to_owned(),
        prefix,
        enabled: r.status().as_str() == "Enabled",
        expiration_days: r.expiration().and_then(|e| e.days()),
        transitions,
    }
}

async fn topic(
    c: &RegionClients,
    d: &Desired,
    arn: &str,
) -> Result<Option<ObservedTopic>, AwsError> {
    // Without a fan-out there is no topic to compare (the stack removes a former one).
    if d.topic.is_none() {
        return Ok(None);
    }
    let exists = absent_if_not_found(
        c.send("SNS.GetTopicAttributes", || {
            c.sns.get_topic_attributes().topic_arn(arn).send()
        })
        .await,
    )?;
    if exists.is_none() {
        return Ok(None);
    }
    let mut subscriptions = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .send("SNS.ListSubscriptionsByTopic", || {
                c.sns
                    .list_subscriptions_by_topic()
                    .topic_arn(arn)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        for s in out.subscriptions() {
            let (Some(sub_arn), Some(protocol), Some(endpoint)) =
                (s.subscription_arn(), s.protocol(), s.endpoint())
            else {
                continue;
            };
            let mut subscription = TopicSubscription {
                protocol: protocol.to_owned(),
                endpoint: endpoint.to_owned(),
                filter_policy: None,
                filter_policy_scope: None,
            };
            // Only Lambda subscriptions are managed; only they need their attributes.
            if protocol == "lambda" && sub_arn.starts_with("arn:") {
                let attrs = absent_if_not_found(
                    c.send("SNS.GetSubscriptionAttributes", || {
                        c.sns
                            .get_subscription_attributes()
                            .subscription_arn(sub_arn)
                            .send()
                    })
                    .await,
                )?;
                let attrs = attrs
                    .and_then(|a| a.attributes().cloned())
                    .unwrap_or_default();
                subscription.filter_policy = attrs
                    .get("FilterPolicy")
                    .filter(|p| !p.trim().is_empty())
                    .map(|p| {
                        serde_json::from_str(p)
                            .unwrap_or_else(|_| serde_json::Value::String(p.clone()))
                    });
                subscription.filter_policy_scope = attrs.get("FilterPolicyScope").cloned();
            }
            subscriptions.push(ObservedSubscription {
                arn: sub_arn.to_owned(),
                subscription,
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    Ok(Some(ObservedTopic { subscriptions }))
}
