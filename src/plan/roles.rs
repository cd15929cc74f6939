//! The stack's IAM roles, live: the permissions boundary (removed or changed by hand is drift),
//! the trust policy (with its conditions), every inline policy the template declares (a policy
//! widened, removed or added by hand is drift) and the attached managed policies (the template
//! declares none, so any is drift). A role at another path
//! cannot be corrected in place: IAM cannot move a role.

use super::diff::{self, Changes};
use super::stack::{live, rewrites};
use super::{Builder, ConflictKind, Op, RoleUpdate, Step};
use crate::desired::{Desired, HeldRole};
use crate::observed::Observed;
use crate::resources::{ResourceKind, RoleConfig};
use std::collections::BTreeMap;

const KIND: ResourceKind = ResourceKind::Role;

/// Plans every role the stack declares.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    for (name, role) in &d.held.roles {
        if !live(o, d, &role.logical_id) {
            continue;
        }
        match o.roles.get(name) {
            Some(have) => {
                if rewrites(o, d, &role.logical_id, "PermissionsBoundary") {
                    b.overwrites(KIND, name, "PermissionsBoundary");
                }
                if rewrites(o, d, &role.logical_id, "AssumeRolePolicyDocument") {
                    b.overwrites(KIND, name, "AssumeRolePolicyDocument");
                }
                // CloudFormation writes the declared inline policies, leaving others' in place.
                if rewrites(o, d, &role.logical_id, "Policies") {
                    for policy in role.config.inline.keys() {
                        b.overwrites(KIND, name, &format!("Policies.{policy}"));
                    }
                }
                plan_role(b, name, role, have)
            }
            None => b.conflict(
                KIND,
                name,
                ConflictKind::DeletedOutOfBand,
                format!(
                    "{} {name} was deleted outside pitagora and CloudFormation cannot recreate it in place; delete the pipeline's stack (`pitagora delete`, the bucket is retained) and apply again, or recreate the role as the template declares it",
                    role.logical_id
                ),
            ),
        }
    }
}

/// One existing role.
fn plan_role(b: &mut Builder, name: &str, role: &HeldRole, have: &RoleConfig) {
    let want = &role.config;
    if want.path != have.path {
        return b.conflict(
            KIND,
            name,
            ConflictKind::NeedsReplacement,
            format!(
                "role {name} has path {} but the template declares {}, and IAM cannot move a role; delete the role, then delete the pipeline's stack and apply again",
                have.path, want.path
            ),
        );
    }
    let ignores = |field: &str| b.ignores(KIND, name, field, None);
    let mut changes = Changes::default();
    let mut boundary = None;
    // The template always declares one; a role without it in the template is left as it is.
    if let Some(want_boundary) = want
        .boundary
        .as_ref()
        .filter(|w| have.boundary.as_ref() != Some(*w))
    {
        let field = "PermissionsBoundary";
        changes.presence(
            field,
            None,
            Some(want_boundary.clone()),
            have.boundary.clone(),
        );
        if !ignores(field) {
            boundary = Some(want_boundary.clone());
        }
    }
    let mut trust = None;
    let (tw, th) = (
        diff::policy_form(&want.trust),
        diff::policy_form(&have.trust),
    );
    if tw != th {
        diff::json("AssumeRolePolicyDocument", &tw, &th, &mut changes);
        let mut tw = tw;
        diff::keep("AssumeRolePolicyDocument", &mut tw, &th, &ignores);
        // Every difference ignored: nothing of the trust policy to write.
        trust = (tw != th).then(|| diff::policy_document(&tw));
    }
    let (put, delete) = inline_policies(want, have, &ignores, &mut changes);
    let mut detach = Vec::new();
    for arn in &have.attached {
        let field = format!("ManagedPolicyArns[{arn}]");
        if !want.attached.contains(arn) {
            changes.presence(&field, None, None, Some(arn.clone()));
            if !ignores(&field) {
                detach.push(arn.clone());
            }
        }
    }
    if changes.0.is_empty() {
        return;
    }
    b.push(
        Op::Update,
        KIND,
        name,
        changes.0,
        "role policies differ from the stack's template",
        Step::UpdateRole(RoleUpdate {
            name: name.to_owned(),
            boundary,
            trust,
            put_policies: put,
            delete_policies: delete,
            detach_policies: detach,
        }),
    );
}

/// The inline policies to put back (as declared, ignored fields kept live) and those added by
/// hand to delete.
fn inline_policies(
    want: &RoleConfig,
    have: &RoleConfig,
    ignores: &dyn Fn(&str) -> bool,
    changes: &mut Changes,
) -> (BTreeMap<String, serde_json::Value>, Vec<String>) {
    let mut put = BTreeMap::new();
    for (policy, doc) in &want.inline {
        let field = format!("Policies.{policy}");
        let pw = diff::policy_form(doc);
        match have.inline.get(policy).map(diff::policy_form) {
            Some(ph) if ph == pw => {}
            Some(ph) => {
                diff::json(&field, &pw, &ph, changes);
                let mut pw = pw;
                diff::keep(&field, &mut pw, &ph, ignores);
                if pw != ph {
                    put.insert(policy.clone(), diff::policy_document(&pw));
                }
            }
            None => {
                changes.presence(&field, None, Some(diff::text(doc)), None);
                if !ignores(&field) {
                    put.insert(policy.clone(), doc.clone());
                }
            }
        }
    }
    let mut delete = Vec::new();
    for (policy, doc) in &have.inline {
        let field = format!("Policies.{policy}");
        if !want.inline.contains_key(policy) {
            changes.presence(&field, None, None, Some(diff::text(doc)));
            if !ignores(&field) {
                delete.push(policy.clone());
            }
        }
    }
    (put, delete)
}
