//! Observe one account and region's change-event rule and queue: the queue's attributes and tags,
//! the rule's pattern, state, targets and tags. A missing one is `None`.

use super::absent_if_not_found;
use crate::aws::{AwsError, RegionClients};
use crate::events::EventsSpec;
use crate::observed::{ObservedEvents, ObservedQueue, ObservedRule};
use crate::resources::Tags;
use aws_sdk_sqs::types::QueueAttributeName;

/// The rule and queue `spec` names, as they are in `c`'s account and region.
pub async fn read(c: &RegionClients, spec: &EventsSpec) -> Result<ObservedEvents, AwsError> {
    Ok(ObservedEvents {
        queue: queue(c, spec).await?,
        rule: rule(c, spec).await?,
    })
}

async fn queue(c: &RegionClients, spec: &EventsSpec) -> Result<Option<ObservedQueue>, AwsError> {
    let found = absent_if_not_found(
        c.send("SQS.GetQueueUrl", || {
            c.sqs
                .get_queue_url()
                .queue_name(&spec.name)
                .queue_owner_aws_account_id(&spec.place.account_id)
                .send()
        })
        .await,
    )?;
    let Some(url) = found.and_then(|o| o.queue_url().map(str::to_owned)) else {
        return Ok(None);
    };
    let attributes = c
        .send("SQS.GetQueueAttributes", || {
            c.sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(QueueAttributeName::All)
                .send()
        })
        .await?;
    let tags = c
        .send("SQS.ListQueueTags", || {
            c.sqs.list_queue_tags().queue_url(&url).send()
        })
        .await?;
    Ok(Some(ObservedQueue {
        attributes: attributes
            .attributes()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
            .collect(),
        tags: tags
            .tags()
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        url,
    }))
}

async fn rule(c: &RegionClients, spec: &EventsSpec) -> Result<Option<ObservedRule>, AwsError> {
    let found = absent_if_not_found(
        c.send("EventBridge.DescribeRule", || {
            c.events.describe_rule().name(&spec.name).send()
        })
        .await,
    )?;
    let Some(rule) = found else {
        return Ok(None);
    };
    let targets = c
        .send("EventBridge.ListTargetsByRule", || {
            c.events.list_targets_by_rule().rule(&spec.name).send()
        })
        .await?;
    let tags = c
        .send("EventBridge.ListTagsForResource", || {
            c.events
                .list_tags_for_resource()
                .resource_arn(&spec.rule_arn)
                .send()
        })
        .await?;
    Ok(Some(ObservedRule {
        pattern: rule.event_pattern().map(|p| {
            serde_json::from_str(p).unwrap_or_else(|_| serde_json::Value::String(p.to_owned()))
        }),
        state: rule
            .state()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        targets: targets
            .targets()
            .iter()
            .map(|t| (t.id().to_owned(), t.arn().to_owned()))
            .collect(),
        tags: tags
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect::<Tags>(),
    }))
}
