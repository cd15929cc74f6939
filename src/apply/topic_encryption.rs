//! Apply the topic's encryption key.

use crate::aws::{AwsError, RegionClients};

/// `SetTopicAttributes` with the `KmsMasterKeyId` attribute.
pub(super) async fn set(c: &RegionClients, topic_arn: &str, key: &str) -> Result<String, AwsError> {
    c.send("SNS.SetTopicAttributes", || {
        c.sns
            .set_topic_attributes()
            .topic_arn(topic_arn)
            .attribute_name("KmsMasterKeyId")
            .attribute_value(key)
            .send()
    })
    .await?;
    Ok(format!("encryption key set to {key}"))
}
