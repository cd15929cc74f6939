//! The read-back after a delete: what of the pipeline remains.

use crate::apply::ApplyReport;
use crate::aws::{AwsError, Places, RegionClients};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::plan;
use crate::read::{self, Hints};

/// Reads back, after a delete, what of the pipeline remains: observes again, and lists the
/// bucket when it remains though the spec deletes it (a bucket with objects is one reason
/// CloudFormation leaves it).
pub(super) async fn read_back(
    aws: &Places,
    clients: &RegionClients,
    desired: &Desired,
    hints: &Hints,
    before: &Observed,
    applied: &ApplyReport,
) -> Result<plan::Readback, AwsError> {
    let after = read::observed(aws, clients, desired, hints, None).await?;
    let deletes_bucket = matches!(desired.deletion_policy, crate::spec::DeletionPolicy::Delete);
    let holds_objects = match &after.bucket {
        Some(_) if deletes_bucket => read::holds_objects(clients, &desired.names.bucket).await?,
        _ => false,
    };
    let deleted: Vec<&plan::Action> = applied
        .outcomes
        .iter()
        .filter(|o| o.result.is_ok() && o.action.op == plan::Op::Delete)
        .map(|o| &o.action)
        .collect();
    Ok(plan::read_back(
        desired,
        before,
        &deleted,
        &after,
        holds_objects,
    ))
}
