//! Apply the change-event rule and queue of one account and region: the queue first (the rule's
//! target must exist), then the rule and its target. Every write is one of the plan's steps.

use crate::aws::build::build_error;
use crate::aws::{AwsError, RegionClients};
use crate::events::EventsSpec;
use crate::plan::events::{EventsStep, TARGET_ID};
use aws_sdk_eventbridge::types::{RuleState, Tag, Target};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::{BTreeMap, HashMap};

/// Executes `steps` for `d`; `url`: the queue's URL when it exists. Returns what each did.
pub async fn execute(
    c: &RegionClients,
    d: &EventsSpec,
    mut url: Option<String>,
    steps: &[EventsStep],
) -> Result<Vec<String>, AwsError> {
    let mut done = Vec::new();
    for step in steps {
        let what = match step {
            EventsStep::CreateQueue { attributes, tags } => {
                let (created, what) = create_queue(c, d, attributes, tags).await?;
                url = created;
                what
            }
            EventsStep::SetQueueAttributes { attributes } => {
                set_queue_attributes(c, d, queue_url(&url, d)?, attributes).await?
            }
            EventsStep::TagQueue { tags } => tag_queue(c, d, queue_url(&url, d)?, tags).await?,
            EventsStep::PutRule { pattern, tags } => put_rule(c, d, pattern, tags).await?,
            EventsStep::TagRule { tags } => tag_rule(c, d, tags).await?,
            EventsStep::PutTarget { queue_arn } => put_target(c, d, queue_arn).await?,
            EventsStep::RemoveTargets { ids } => remove_targets(c, d, ids).await?,
        };
        done.push(what);
    }
    Ok(done)
}

async fn create_queue(
    c: &RegionClients,
    d: &EventsSpec,
    attributes: &BTreeMap<String, String>,
    tags: &crate::resources::Tags,
) -> Result<(Option<String>, String), AwsError> {
    let out = c
        .send("SQS.CreateQueue", || {
            c.sqs
                .create_queue()
                .queue_name(&d.name)
                .set_attributes(Some(sqs_attributes(attributes)))
                .set_tags(Some(tags.clone().into_iter().collect()))
                .send()
        })
        .await?;
    let url = out.queue_url().map(str::to_owned);
    Ok((url, format!("created queue {}", d.name)))
}

async fn set_queue_attributes(
    c: &RegionClients,
    d: &EventsSpec,
    url: &str,
    attributes: &BTreeMap<String, String>,
) -> Result<String, AwsError> {
    c.send("SQS.SetQueueAttributes", || {
        c.sqs
            .set_queue_attributes()
            .queue_url(url)
            .set_attributes(Some(sqs_attributes(attributes)))
            .send()
    })
    .await?;
    let names: Vec<&str> = attributes.keys().map(String::as_str).collect();
    Ok(format!("set queue {} {}", d.name, names.join(", ")))
}

async fn tag_queue(
    c: &RegionClients,
    d: &EventsSpec,
    url: &str,
    tags: &crate::resources::Tags,
) -> Result<String, AwsError> {
    c.send("SQS.TagQueue", || {
        c.sqs
            .tag_queue()
            .queue_url(url)
            .set_tags(Some(tags.clone().into_iter().collect()))
            .send()
    })
    .await?;
    Ok(format!("tagged queue {}", d.name))
}

async fn put_rule(
    c: &RegionClients,
    d: &EventsSpec,
    pattern: &str,
    tags: &crate::resources::Tags,
) -> Result<String, AwsError> {
    let tags = rule_tags(tags)?;
    c.send("EventBridge.PutRule", || {
        c.events
            .put_rule()
            .name(&d.name)
            .description("pitagora: management calls that can change pipelines' resources")
            .event_pattern(pattern)
            .state(RuleState::Enabled)
            .set_tags((!tags.is_empty()).then(|| tags.clone()))
            .send()
    })
    .await?;
    Ok(format!("put rule {}", d.name))
}

async fn tag_rule(
    c: &RegionClients,
    d: &EventsSpec,
    tags: &crate::resources::Tags,
) -> Result<String, AwsError> {
    let tags = rule_tags(tags)?;
    c.send("EventBridge.TagResource", || {
        c.events
            .tag_resource()
            .resource_arn(&d.rule_arn)
            .set_tags(Some(tags.clone()))
            .send()
    })
    .await?;
    Ok(format!("tagged rule {}", d.name))
}

async fn remove_targets(
    c: &RegionClients,
    d: &EventsSpec,
    ids: &[String],
) -> Result<String, AwsError> {
    c.send("EventBridge.RemoveTargets", || {
        c.events
            .remove_targets()
            .rule(&d.name)
            .set_ids(Some(ids.to_vec()))
            .send()
    })
    .await?;
    Ok(format!(
        "removed rule {} targets {}",
        d.name,
        ids.join(", ")
    ))
}

async fn put_target(
    c: &RegionClients,
    d: &EventsSpec,
    queue_arn: &str,
) -> Result<String, AwsError> {
    let target = Target::builder()
        .id(TARGET_ID)
        .arn(queue_arn)
        .build()
        .map_err(|e| build_error("an EventBridge target", e))?;
    let out = c
        .send("EventBridge.PutTargets", || {
            c.events
                .put_targets()
                .rule(&d.name)
                .targets(target.clone())
                .send()
        })
        .await?;
    // PutTargets answers 200 with the targets it could not add.
    if let Some(failed) = out.failed_entries().first() {
        return Err(AwsError::Rejected {
            operation: "EventBridge.PutTargets".into(),
            code: failed.error_code().unwrap_or("FailedEntry").to_owned(),
            message: failed.error_message().unwrap_or_default().to_owned(),
        });
    }
    Ok(format!("pointed rule {} at queue {}", d.name, d.name))
}

fn queue_url<'a>(url: &'a Option<String>, d: &EventsSpec) -> Result<&'a str, AwsError> {
    url.as_deref().ok_or_else(|| AwsError::NotFound {
        operation: "SQS.SetQueueAttributes".into(),
        code: "QueueDoesNotExist".into(),
        message: format!("queue {} in {}", d.name, d.place),
    })
}

fn sqs_attributes(a: &BTreeMap<String, String>) -> HashMap<QueueAttributeName, String> {
    a.iter()
        .map(|(k, v)| (QueueAttributeName::from(k.as_str()), v.clone()))
        .collect()
}

fn rule_tags(tags: &crate::resources::Tags) -> Result<Vec<Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| build_error("an EventBridge tag", e))
        })
        .collect()
}
