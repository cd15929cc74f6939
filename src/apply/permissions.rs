//! Apply pitagora's statements in a Lambda function's resource policy.

use crate::aws::{AwsError, RegionClients};
use crate::resources::LambdaPermission;

/// Removes the statement `replaces` (if any; gone is fine), then adds `p`. A statement with
/// `p`'s id that is already there (a repeated run) counts as added.
pub(super) async fn add(
    c: &RegionClients,
    function: &str,
    p: &LambdaPermission,
    replaces: Option<&str>,
) -> Result<String, AwsError> {
    if let Some(old) = replaces {
        remove(c, function, old).await?;
    }
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
    match added {
        Ok(_) => Ok(format!("added statement {}", p.statement_id)),
        Err(e) if e.code() == Some("ResourceConflictException") => {
            Ok(format!("statement {} already there", p.statement_id))
        }
        Err(e) => Err(e),
    }
}

/// `RemovePermission`; a statement that is gone already is fine.
pub(super) async fn remove(
    c: &RegionClients,
    function: &str,
    statement_id: &str,
) -> Result<String, AwsError> {
    let r = c
        .send("Lambda.RemovePermission", || {
            c.lambda
                .remove_permission()
                .function_name(function)
                .statement_id(statement_id)
                .send()
        })
        .await;
    super::gone_is_fine(r, "removed", "already gone")
}
