//! Observe the fan-out topic: its policy and encryption key (one read), and every subscription
//! with the attributes of the managed ones.

use super::absent_if_not_found;
use crate::aws::sns;
use crate::aws::{AwsError, RegionClients};
use crate::desired::Desired;
use crate::observed::{ObservedSubscription, ObservedTopic};
use crate::resources::{Tags, TopicSubscription};

/// The topic at `arn` with its subscriptions; `None` without a fan-out or when it does not
/// exist.
pub(super) async fn read(
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
    let Some(attributes) = exists else {
        return Ok(None);
    };
    let policy = attributes
        .attributes()
        .and_then(|a| a.get("Policy"))
        .map(|p| crate::aws::iam::document(p));
    // SNS answers an unencrypted topic without the attribute, or with it empty.
    let kms_key = attributes
        .attributes()
        .and_then(|a| a.get("KmsMasterKeyId"))
        .filter(|k| !k.is_empty())
        .cloned();
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
            if let Some(subscription) = subscription(c, s).await? {
                subscriptions.push(subscription);
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => {
                return Ok(Some(ObservedTopic {
                    subscriptions,
                    policy,
                    kms_key,
                    tags: None,
                }));
            }
        }
    }
}

/// One listed subscription; `None` when AWS left out its ARN, protocol or endpoint.
async fn subscription(
    c: &RegionClients,
    s: &aws_sdk_sns::types::Subscription,
) -> Result<Option<ObservedSubscription>, AwsError> {
    let (Some(arn), Some(protocol), Some(endpoint)) =
        (s.subscription_arn(), s.protocol(), s.endpoint())
    else {
        return Ok(None);
    };
    let mut subscription = TopicSubscription {
        protocol: protocol.to_owned(),
        endpoint: endpoint.to_owned(),
        filter_policy: None,
        filter_policy_scope: None,
    };
    // Only Lambda subscriptions are managed; only they need their attributes.
    if protocol == "lambda" && arn.starts_with("arn:") {
        let attributes = absent_if_not_found(
            c.send("SNS.GetSubscriptionAttributes", || {
                c.sns
                    .get_subscription_attributes()
                    .subscription_arn(arn)
                    .send()
            })
            .await,
        )?;
        let attributes = attributes.and_then(|a| a.attributes).unwrap_or_default();
        sns::read_attributes(&mut subscription, &attributes);
    }
    Ok(Some(ObservedSubscription {
        arn: arn.to_owned(),
        subscription,
    }))
}

/// The tags of the topic at `arn`.
pub(super) async fn tags(c: &RegionClients, arn: &str) -> Result<Tags, AwsError> {
    let out = c
        .send("SNS.ListTagsForResource", || {
            c.sns.list_tags_for_resource().resource_arn(arn).send()
        })
        .await?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect())
}
