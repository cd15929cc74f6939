//! Apply the topic's policy.

use crate::aws::iam::document_text;
use crate::aws::{AwsError, RegionClients};
use serde_json::Value;

/// `SetTopicAttributes` with the `Policy` attribute.
pub(super) async fn set(
    c: &RegionClients,
    topic_arn: &str,
    policy: &Value,
) -> Result<String, AwsError> {
    let text = document_text(policy);
    c.send("SNS.SetTopicAttributes", || {
        c.sns
            .set_topic_attributes()
            .topic_arn(topic_arn)
            .attribute_name("Policy")
            .attribute_value(&text)
            .send()
    })
    .await?;
    Ok("policy set".into())
}
