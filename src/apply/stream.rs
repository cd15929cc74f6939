//! Apply the Firehose delivery stream: create (and wait until it is active), update the
//! destination with a fresh version id and the tags, delete.

use super::{gone_is_fine, next_poll};
use crate::aws::firehose;
use crate::aws::{AwsError, RegionClients};
use crate::desired::StreamSpec;
use aws_sdk_firehose::types as fh;
use std::time::Instant;

/// Creates the stream (Direct PUT, extended S3 destination, tags) and waits until it is active.
pub(super) async fn create(c: &RegionClients, s: &StreamSpec) -> Result<String, AwsError> {
    let config = firehose::destination_configuration(&s.destination)?;
    let tags = firehose::tags_to_sdk(&s.tags)?;
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
    wait(c, &s.name).await?;
    Ok("created".into())
}

/// Waits until the stream is ACTIVE (subscription filters can only target an active stream).
async fn wait(c: &RegionClients, name: &str) -> Result<(), AwsError> {
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
        let desc = out.delivery_stream_description();
        let status = desc
            .map(|d| d.delivery_stream_status().as_str().to_owned())
            .unwrap_or_default();
        match status.as_str() {
            "ACTIVE" => return Ok(()),
            "CREATING_FAILED" | "DELETING_FAILED" => return Err(failed(desc, status)),
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
                interval = next_poll(interval);
            }
        }
    }
}

/// The error of a stream whose creation ended in `status`, with AWS's failure details.
fn failed(desc: Option<&fh::DeliveryStreamDescription>, status: String) -> AwsError {
    AwsError::Rejected {
        operation: "Firehose.CreateDeliveryStream".into(),
        code: status,
        message: desc
            .and_then(|d| d.failure_description())
            .map(|f| f.details())
            .unwrap_or("stream creation failed")
            .to_owned(),
    }
}

/// Updates the complete destination and/or the tags, as the plan found them to differ.
pub(super) async fn update(
    c: &RegionClients,
    s: &StreamSpec,
    destination: bool,
    tags: bool,
) -> Result<String, AwsError> {
    let mut done = Vec::new();
    if destination {
        update_destination(c, s).await?;
        done.push("destination updated");
    }
    if tags {
        let tags = firehose::tags_to_sdk(&s.tags)?;
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

/// `UpdateDestination` with the complete destination. The version id must be fresh: describe
/// right before every attempt, and retry when someone else updated in between
/// (ConcurrentModificationException is retryable).
async fn update_destination(c: &RegionClients, s: &StreamSpec) -> Result<(), AwsError> {
    let update = firehose::destination_update(&s.destination)?;
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
            let destination_id = firehose::destination_id(desc);
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
    Ok(())
}

/// Deletes the stream (already gone is fine).
pub(super) async fn delete(c: &RegionClients, name: &str) -> Result<String, AwsError> {
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
