//! Apply the remote sources' part: the destinations, in their regions of the pipeline's account
//! (`PutDestination`, `PutDestinationPolicy`, `TagResource`, `DeleteDestination`), and the filters on the
//! remote groups, in their accounts and regions through [`Places::clients_in`] (the seam for
//! assumed-role credentials), written as the pipeline's own filters are.

use super::{filters, gone_is_fine};
use crate::aws::logs;
use crate::aws::{AwsError, Places};
use crate::desired::DestinationSpec;
use crate::plan::Step;

/// Executes one of the remote part's steps.
pub(super) async fn execute(aws: &Places, step: &Step) -> Result<String, AwsError> {
    match step {
        Step::PutDestination {
            destination,
            fields,
            policy,
            tags,
        } => put_destination(aws, destination, (*fields, *policy, *tags)).await,
        Step::DeleteDestination { region, name } => delete_destination(aws, region, name).await,
        Step::PutRemoteFilter {
            account,
            region,
            log_group,
            filter,
        } => {
            let c = aws.clients_in(account, region)?;
            filters::put(&c, log_group, filter).await
        }
        Step::DeleteRemoteFilter {
            account,
            region,
            log_group,
            name,
        } => {
            let c = aws.clients_in(account, region)?;
            filters::delete(&c, log_group, name).await
        }
        Step::DeleteRemoteLogGroup {
            account,
            region,
            name,
        } => {
            let c = aws.clients_in(account, region)?;
            super::log_group::delete(&c, name).await
        }
        other => unreachable!("not a step of the remote sources: {other:?}"),
    }
}

/// Writes the destination's target and role (`fields`: `PutDestination`, which creates it with
/// its tags when it does not exist), its access policy (`policy`) and/or pitagora's tags on it
/// (`tags`: `TagResource`, which adds or overwrites those keys and leaves every other tag). Each
/// call creates or overwrites: repeating them is harmless.
pub(super) async fn put_destination(
    aws: &Places,
    want: &DestinationSpec,
    (fields, policy, tags): (bool, bool, bool),
) -> Result<String, AwsError> {
    let c = aws.region(&want.region);
    let d = &want.destination;
    let mut done = Vec::new();
    if fields {
        c.send("CloudWatchLogs.PutDestination", || {
            logs::put_destination(c.logs.put_destination(), d, &want.tags).send()
        })
        .await?;
        done.push("destination put");
    }
    if policy && let Some(document) = &d.access_policy {
        c.send("CloudWatchLogs.PutDestinationPolicy", || {
            logs::put_destination_policy(c.logs.put_destination_policy(), &d.name, document).send()
        })
        .await?;
        done.push("policy put");
    }
    if tags {
        c.send("CloudWatchLogs.TagResource", || {
            (c.logs.tag_resource())
                .resource_arn(&want.arn)
                .set_tags(Some(logs::tags_to_sdk(&want.tags)))
                .send()
        })
        .await?;
        done.push("tags put");
    }
    Ok(done.join(", "))
}

/// Deletes the destination `name` of `region` (already gone is fine).
pub(super) async fn delete_destination(
    aws: &Places,
    region: &str,
    name: &str,
) -> Result<String, AwsError> {
    let c = aws.region(region);
    let r = c
        .send("CloudWatchLogs.DeleteDestination", || {
            c.logs.delete_destination().destination_name(name).send()
        })
        .await;
    gone_is_fine(r, "deleted", "already gone")
}
