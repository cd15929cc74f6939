//! Observe the Firehose delivery stream: its status, destination and tags.

use super::absent_if_not_found;
use super::batch::Batch;
use crate::aws::firehose;
use crate::aws::{AwsError, RegionClients};
use crate::observed::ObservedStream;
use crate::resources::Tags;

/// The stream named `name`; `None` when it does not exist. Its tags come from `batch`'s walk
/// when it listed the stream.
pub(super) async fn read(
    c: &RegionClients,
    batch: Option<&Batch>,
    name: &str,
) -> Result<Option<ObservedStream>, AwsError> {
    let described = absent_if_not_found(
        c.send("Firehose.DescribeDeliveryStream", || {
            c.firehose
                .describe_delivery_stream()
                .delivery_stream_name(name)
                .send()
        })
        .await,
    )?;
    let Some(desc) = described.and_then(|out| out.delivery_stream_description) else {
        return Ok(None);
    };
    let listed = match (batch, desc.delivery_stream_arn()) {
        (Some(b), arn) if !arn.is_empty() => b.tags(c, arn).await?,
        _ => None,
    };
    let tags = match listed {
        Some(tags) => tags,
        None => tags(c, name).await?,
    };
    Ok(Some(firehose::observed_stream(&desc, tags)))
}

/// Every tag of the stream (listed a page at a time, from after the last key seen).
async fn tags(c: &RegionClients, name: &str) -> Result<Tags, AwsError> {
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
        tags.extend(firehose::tags_from_sdk(out.tags()));
        match (out.has_more_tags(), out.tags().last()) {
            (true, Some(last)) => start = Some(last.key().to_owned()),
            _ => return Ok(tags),
        }
    }
}
