//! Observe the stack's IAM roles: trust policy, inline policies, attached managed policies and
//! permissions boundary.
//! Per role: `GetRole`, `ListRolePolicies`, one `GetRolePolicy` per inline policy and
//! `ListAttachedRolePolicies`.

use crate::aws::iam::document;
use crate::aws::{AwsError, RegionClients};
use crate::desired::Desired;
use crate::resources::RoleConfig;
use std::collections::BTreeMap;

/// Every role the stack declares that exists, by name.
pub(super) async fn read(
    c: &RegionClients,
    d: &Desired,
) -> Result<BTreeMap<String, RoleConfig>, AwsError> {
    let mut roles = BTreeMap::new();
    for name in d.held.roles.keys() {
        if let Some(role) = role(c, name).await? {
            roles.insert(name.clone(), role);
        }
    }
    Ok(roles)
}

/// One role; `None` when it does not exist.
async fn role(c: &RegionClients, name: &str) -> Result<Option<RoleConfig>, AwsError> {
    let got = c
        .send("IAM.GetRole", || c.iam.get_role().role_name(name).send())
        .await;
    let role = match got {
        Ok(out) => out.role,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(role) = role else {
        return Ok(None);
    };
    let mut inline = BTreeMap::new();
    for policy in inline_names(c, name).await? {
        let out = c
            .send("IAM.GetRolePolicy", || {
                c.iam
                    .get_role_policy()
                    .role_name(name)
                    .policy_name(&policy)
                    .send()
            })
            .await?;
        inline.insert(policy, document(out.policy_document()));
    }
    Ok(Some(RoleConfig {
        path: role.path().to_owned(),
        trust: role
            .assume_role_policy_document()
            .map(document)
            .unwrap_or_default(),
        inline,
        attached: attached(c, name).await?,
        boundary: role
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_owned),
    }))
}

/// The names of the role's inline policies (every page).
async fn inline_names(c: &RegionClients, name: &str) -> Result<Vec<String>, AwsError> {
    let mut names = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = c
            .send("IAM.ListRolePolicies", || {
                c.iam
                    .list_role_policies()
                    .role_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        names.extend(out.policy_names().iter().cloned());
        match (out.is_truncated(), out.marker()) {
            (true, Some(m)) => marker = Some(m.to_owned()),
            _ => return Ok(names),
        }
    }
}

/// The ARNs of the managed policies attached to the role (every page), sorted.
async fn attached(c: &RegionClients, name: &str) -> Result<Vec<String>, AwsError> {
    let mut arns = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = c
            .send("IAM.ListAttachedRolePolicies", || {
                c.iam
                    .list_attached_role_policies()
                    .role_name(name)
                    .set_marker(marker.clone())
                    .send()
            })
            .await?;
        arns.extend(
            out.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned)),
        );
        match (out.is_truncated(), out.marker()) {
            (true, Some(m)) => marker = Some(m.to_owned()),
            _ => {
                arns.sort();
                return Ok(arns);
            }
        }
    }
}
