//! Apply the log groups pitagora creates (errors, canary, the routes'): create, set retention
//! and tags, delete.

use super::gone_is_fine;
use crate::aws::logs;
use crate::aws::{AwsError, RegionClients};
use crate::desired::LogGroupSpec;

/// Creates the log group with its tags, then sets its retention.
pub(super) async fn create(c: &RegionClients, g: &LogGroupSpec) -> Result<String, AwsError> {
    // A group that exists already is a retry after a crash: retention is set either way.
    create_tagged(c, g).await?;
    put_retention(c, g).await?;
    Ok("created".into())
}

/// Creates a route's log group with its tags, then sets its retention. A group that exists by
/// then is someone's who created it since the plan (fluentd, the team): it is left as it is, and
/// the next plan judges it by its tags (a retry after a crash finds pitagora's, and sets the
/// retention then).
pub(super) async fn create_route(c: &RegionClients, g: &LogGroupSpec) -> Result<String, AwsError> {
    if !create_tagged(c, g).await? {
        return Ok("exists already: left as it is".into());
    }
    put_retention(c, g).await?;
    Ok(format!("created, retention {} days", g.retention_days))
}

/// Creates the log group with its tags; `false` when it exists already.
async fn create_tagged(c: &RegionClients, g: &LogGroupSpec) -> Result<bool, AwsError> {
    let created = c
        .send("CloudWatchLogs.CreateLogGroup", || {
            c.logs
                .create_log_group()
                .log_group_name(&g.name)
                .set_tags(Some(logs::tags_to_sdk(&g.tags)))
                .send()
        })
        .await;
    match created {
        Ok(_) => Ok(true),
        Err(e) if e.is_already_exists() => Ok(false),
        Err(e) => Err(e),
    }
}

/// Sets the log group's retention and tags.
pub(super) async fn update(
    c: &RegionClients,
    g: &LogGroupSpec,
    retention: bool,
    tags: bool,
) -> Result<String, AwsError> {
    if retention {
        put_retention(c, g).await?;
    }
    if tags {
        c.send("CloudWatchLogs.TagResource", || {
            c.logs
                .tag_resource()
                .resource_arn(&g.arn)
                .set_tags(Some(logs::tags_to_sdk(&g.tags)))
                .send()
        })
        .await?;
    }
    Ok("updated".into())
}

/// Deletes the log group (already gone is fine).
pub(super) async fn delete(c: &RegionClients, name: &str) -> Result<String, AwsError> {
    let r = c
        .send("CloudWatchLogs.DeleteLogGroup", || {
            c.logs.delete_log_group().log_group_name(name).send()
        })
        .await;
    gone_is_fine(r, "deleted", "already gone")
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
