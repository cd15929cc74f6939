//! Apply this pipeline's subscription filter on one source log group: put and delete.

use super::gone_is_fine;
use crate::aws::logs;
use crate::aws::{AwsError, RegionClients};
use crate::resources::SubscriptionFilter;

/// Creates or overwrites the filter `f` on `log_group`.
pub(super) async fn put(
    c: &RegionClients,
    log_group: &str,
    f: &SubscriptionFilter,
) -> Result<String, AwsError> {
    c.send("CloudWatchLogs.PutSubscriptionFilter", || {
        logs::put_filter(c.logs.put_subscription_filter(), log_group, f).send()
    })
    .await?;
    Ok("put".into())
}

/// Deletes the filter `name` from `log_group` (already gone is fine).
pub(super) async fn delete(
    c: &RegionClients,
    log_group: &str,
    name: &str,
) -> Result<String, AwsError> {
    let r = c
        .send("CloudWatchLogs.DeleteSubscriptionFilter", || {
            c.logs
                .delete_subscription_filter()
                .log_group_name(log_group)
                .filter_name(name)
                .send()
        })
        .await;
    gone_is_fine(r, "deleted", "already gone")
}
