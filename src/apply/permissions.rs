//! Apply pitagora's statements in a Lambda function's resource policy.

use crate::aws::{AwsError, RegionClients};
use crate::resources::LambdaPermission;

/// Removes the statement `replaces` (if any; gone is fine), then adds `p`. A statement with
/// `p`'s id that is already there (a repeated run) counts as added. The detail names every
/// statement removed and added.
pub(super) async fn add(
    c: &RegionClients,
    function: &str,
    p: &LambdaPermission,
    replaces: Option<&str>,
) -> Result<String, AwsError> {
    let removed = match replaces {
        Some(old) => Some(match remove_statement(c, function, old).await? {
            true => format!("removed statement {old}"),
            false => format!("statement {old} already gone"),
        }),
        None => None,
    };
    let added = c
        .send("Lambda.AddPermission", || {
            c.lambda
                .add_permission()
                .function_name(function)
                .statement_id(&p.statement_id)
                .action(&p.action)
                .principal(&p.principal)
                .set_source_arn(p.source_arn.clone())
                .set_source_account(p.source_account.clone())
                .send()
        })
        .await;
    let added = match added {
        Ok(_) => format!("added statement {}", p.statement_id),
        Err(e) if e.code() == Some("ResourceConflictException") => {
            format!("statement {} already there", p.statement_id)
        }
        Err(e) => return Err(e),
    };
    Ok(match removed {
        Some(removed) => format!("{removed}, {added}"),
        None => added,
    })
}

/// `RemovePermission`; a statement that is gone already is fine.
pub(super) async fn remove(
    c: &RegionClients,
    function: &str,
    statement_id: &str,
) -> Result<String, AwsError> {
    let removed = remove_statement(c, function, statement_id).await?;
    Ok(if removed { "removed" } else { "already gone" }.to_owned())
}

/// `RemovePermission`: whether the statement was there to remove.
async fn remove_statement(
    c: &RegionClients,
    function: &str,
    statement_id: &str,
) -> Result<bool, AwsError> {
    let r = c
        .send("Lambda.RemovePermission", || {
            c.lambda
                .remove_permission()
                .function_name(function)
                .statement_id(statement_id)
                .send()
        })
        .await;
    match r {
        Ok(_) => Ok(true),
        Err(e) if e.is_not_found() => Ok(false),
        Err(e) => Err(e),
    }
}
