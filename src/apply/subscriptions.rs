//! Apply the fan-out topic's Lambda subscriptions: subscribe, set the filter policy,
//! unsubscribe.

use super::gone_is_fine;
use crate::aws::sns;
use crate::aws::{AwsError, RegionClients};
use crate::resources::TopicSubscription;

/// Subscribes `s` to the topic with its filter policy.
pub(super) async fn subscribe(
    c: &RegionClients,
    topic_arn: &str,
    s: &TopicSubscription,
) -> Result<String, AwsError> {
    let attributes = sns::subscribe_attributes(s);
    let out = c
        .send("SNS.Subscribe", || {
            c.sns
                .subscribe()
                .topic_arn(topic_arn)
                .protocol(&s.protocol)
                .endpoint(&s.endpoint)
                .return_subscription_arn(true)
                .set_attributes(attributes.clone())
                .send()
        })
        .await?;
    Ok(format!(
        "subscribed ({})",
        out.subscription_arn().unwrap_or("pending")
    ))
}

/// Sets the subscription's filter policy and scope (no policy: removes it).
pub(super) async fn set_attributes(
    c: &RegionClients,
    arn: &str,
    s: &TopicSubscription,
) -> Result<String, AwsError> {
    for (name, value) in sns::attributes_to_sdk(s) {
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

/// Removes the subscription (already gone is fine).
pub(super) async fn unsubscribe(c: &RegionClients, arn: &str) -> Result<String, AwsError> {
    let r = c
        .send("SNS.Unsubscribe", || {
            c.sns.unsubscribe().subscription_arn(arn).send()
        })
        .await;
    gone_is_fine(r, "unsubscribed", "already gone")
}
