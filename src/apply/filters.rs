//! Apply this pipeline's subscription filter on one source log group: put and delete.

use super::gone_is_fine;
use crate::aws::logs;
use crate::aws::{AwsError, RegionClients};
use crate::observed::FilterLimit;
use crate::resources::SubscriptionFilter;

/// Creates or overwrites the filter `f` on `log_group`.
pub(super) async fn put(
    c: &RegionClients,
    log_group: &str,
    f: &SubscriptionFilter,
) -> Result<String, AwsError> {
    const OPERATION: &str = "CloudWatchLogs.PutSubscriptionFilter";
    let put = c
        .send(OPERATION, || {
            logs::put_filter(c.logs.put_subscription_filter(), log_group, f).send()
        })
        .await;
    match put {
        Ok(_) => Ok("put".into()),
        Err(e) if logs::is_filter_limit(&e) => Err(learn_limit(c, log_group, &f.name, e).await),
        Err(e) => Err(e),
    }
}

/// AWS refused the filter because `log_group` holds as many as it may: the filters it holds now
/// are the limit, which the next plans use (every group, every pipeline of this process), and
/// the error names them and their owners.
async fn learn_limit(
    c: &RegionClients,
    log_group: &str,
    ours: &str,
    refusal: AwsError,
) -> AwsError {
    let held = match crate::read::filters_of(c, log_group).await {
        Ok(held) => held,
        // The refusal stands on its own; the limit is learnt at the next one.
        Err(_) => return refusal,
    };
    let others: Vec<&str> = held
        .iter()
        .map(|h| h.name.as_str())
        .filter(|name| *name != ours)
        .collect();
    if others.is_empty() {
        // Refused with no filter in the way: not the per-group limit, nothing to learn.
        return refusal;
    }
    c.filter_limits
        .learn(FilterLimit::refused(log_group, others.len()));
    let answer = match &refusal {
        AwsError::Rejected { message, .. } => message.clone(),
        other => other.to_string(),
    };
    AwsError::Rejected {
        operation: "CloudWatchLogs.PutSubscriptionFilter".into(),
        code: "LimitExceededException".into(),
        message: format!(
            "{answer} {log_group} holds {} subscription filters ({}), the most AWS allows a log group; pitagora plans with that limit from now on — free a slot or drop this group from the sources",
            others.len(),
            crate::plan::filter_occupants(others.iter().copied()),
        ),
    }
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
