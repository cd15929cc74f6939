//! Observe the resource policies of the Lambda functions pitagora wires in: one `GetPolicy` per
//! function. The functions are the user's; every statement is read, and the plan picks out
//! pitagora's.

use crate::aws::{AwsError, RegionClients, lambda};
use crate::desired::Desired;
use crate::resources::LambdaPermission;
use std::collections::BTreeMap;

/// Each wired function's statements, by the function's ARN as the spec names it.
pub(super) async fn read(
    c: &RegionClients,
    d: &Desired,
) -> Result<BTreeMap<String, Vec<LambdaPermission>>, AwsError> {
    let mut functions = BTreeMap::new();
    for p in &d.held.permissions {
        if functions.contains_key(&p.function) {
            continue;
        }
        let got = c
            .send("Lambda.GetPolicy", || {
                c.lambda.get_policy().function_name(&p.function).send()
            })
            .await;
        let statements = match got {
            Ok(out) => out.policy().map(lambda::statements).unwrap_or_default(),
            // No policy yet (or no such function): no statements.
            Err(e) if e.is_not_found() => Vec::new(),
            Err(e) => return Err(e),
        };
        functions.insert(p.function.clone(), statements);
    }
    Ok(functions)
}
