//! pitagora's statements in the resource policies of the Lambda functions it wires in, live.
//! The functions are the user's: only pitagora's statements are compared, found by their
//! statement id when pitagora restored them, else by what they grant (the service principal
//! and this pipeline's bucket or topic as the source). CloudFormation names its own statements,
//! so a missing one is restored under pitagora's id ([`crate::desired::statement_id`]).

use super::diff::Changes;
use super::stack::live;
use super::{Builder, Op, Step};
use crate::desired::{Desired, HeldPermission};
use crate::observed::Observed;
use crate::resources::{LambdaPermission, ResourceKind};

const KIND: ResourceKind = ResourceKind::LambdaPermission;

/// pitagora's statement among a function's, if any.
pub fn find<'a>(
    want: &LambdaPermission,
    statements: &'a [LambdaPermission],
) -> Option<&'a LambdaPermission> {
    statements
        .iter()
        .find(|s| s.statement_id == want.statement_id)
        .or_else(|| {
            statements
                .iter()
                .find(|s| s.principal == want.principal && s.source_arn == want.source_arn)
        })
}

/// Plans every declared permission.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    for p in &d.held.permissions {
        if live(o, d, &p.logical_id) {
            let statements = o.functions.get(&p.function).map(Vec::as_slice);
            plan_one(b, p, statements.unwrap_or_default());
        }
    }
}

fn plan_one(b: &mut Builder, p: &HeldPermission, statements: &[LambdaPermission]) {
    let want = &p.permission;
    let spec_field = Some(p.spec_field.as_str());
    let Some(have) = find(want, statements) else {
        let mut changes = Changes::default();
        changes.presence(
            &format!("Statement[{}]", p.logical_id),
            spec_field,
            Some(grant(want)),
            None,
        );
        return b.push(
            Op::Create,
            KIND,
            &p.function,
            changes.0,
            format!(
                "the {} statement is missing from the function's policy",
                p.logical_id
            ),
            Step::AddPermission {
                function: p.function.clone(),
                permission: want.clone(),
                replaces: None,
            },
        );
    };
    let mut changes = Changes::default();
    let at = |f: &str| format!("Statement[{}].{f}", have.statement_id);
    changes.field(&at("Action"), None, &want.action, &have.action);
    changes.field(&at("Principal"), None, &want.principal, &have.principal);
    changes.field(&at("SourceArn"), None, &want.source_arn, &have.source_arn);
    changes.field(
        &at("SourceAccount"),
        None,
        &want.source_account,
        &have.source_account,
    );
    if changes.0.is_empty() {
        return;
    }
    // A statement cannot be edited: it is removed and added again (under pitagora's id), with
    // the live value of an ignored field.
    let mut write = want.clone();
    let ignored = |f: &str| b.ignores(KIND, &p.function, &at(f), None);
    if ignored("Action") {
        write.action = have.action.clone();
    }
    if ignored("Principal") {
        write.principal = have.principal.clone();
    }
    if ignored("SourceArn") {
        write.source_arn = have.source_arn.clone();
    }
    if ignored("SourceAccount") {
        write.source_account = have.source_account.clone();
    }
    b.push(
        Op::Update,
        KIND,
        &p.function,
        changes.0,
        format!(
            "the {} statement differs from the stack's template",
            p.logical_id
        ),
        Step::AddPermission {
            function: p.function.clone(),
            permission: write,
            replaces: Some(have.statement_id.clone()),
        },
    );
}

/// A permission in words: `lambda:InvokeFunction for s3.amazonaws.com from arn:…`.
fn grant(p: &LambdaPermission) -> String {
    let mut text = format!("{} for {}", p.action, p.principal);
    if let Some(arn) = &p.source_arn {
        text.push_str(&format!(" from {arn}"));
    }
    if let Some(account) = &p.source_account {
        text.push_str(&format!(" in account {account}"));
    }
    text
}
