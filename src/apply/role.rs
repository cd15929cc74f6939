//! Apply a role's policies: permissions boundary, trust policy, inline policies, detached
//! managed policies.

use crate::aws::iam::document_text;
use crate::aws::{AwsError, RegionClients};
use crate::plan::RoleUpdate;

/// `PutRolePermissionsBoundary`, `UpdateAssumeRolePolicy`, `PutRolePolicy` per policy to put, `DeleteRolePolicy` per policy
/// to delete (gone already is fine), `DetachRolePolicy` per managed policy.
pub(super) async fn update(c: &RegionClients, u: &RoleUpdate) -> Result<String, AwsError> {
    let name = &u.name;
    // First: IAM lets the controller put a pipeline role's policies only while the role
    // carries the boundary (the `iam:PermissionsBoundary` condition of its policy).
    if let Some(boundary) = &u.boundary {
        c.send("IAM.PutRolePermissionsBoundary", || {
            c.iam
                .put_role_permissions_boundary()
                .role_name(name)
                .permissions_boundary(boundary)
                .send()
        })
        .await?;
    }
    if let Some(trust) = &u.trust {
        let text = document_text(trust);
        c.send("IAM.UpdateAssumeRolePolicy", || {
            c.iam
                .update_assume_role_policy()
                .role_name(name)
                .policy_document(&text)
                .send()
        })
        .await?;
    }
    for (policy, doc) in &u.put_policies {
        let text = document_text(doc);
        c.send("IAM.PutRolePolicy", || {
            c.iam
                .put_role_policy()
                .role_name(name)
                .policy_name(policy)
                .policy_document(&text)
                .send()
        })
        .await?;
    }
    for policy in &u.delete_policies {
        super::gone_is_fine(
            c.send("IAM.DeleteRolePolicy", || {
                c.iam
                    .delete_role_policy()
                    .role_name(name)
                    .policy_name(policy)
                    .send()
            })
            .await,
            "",
            "",
        )?;
    }
    for arn in &u.detach_policies {
        super::gone_is_fine(
            c.send("IAM.DetachRolePolicy", || {
                c.iam
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(arn)
                    .send()
            })
            .await,
            "",
            "",
        )?;
    }
    Ok(format!(
        "boundary {}, trust policy {}, {} inline policies put, {} deleted, {} managed policies detached",
        if u.boundary.is_some() { "set" } else { "kept" },
        if u.trust.is_some() { "set" } else { "kept" },
        u.put_policies.len(),
        u.delete_policies.len(),
        u.detach_policies.len()
    ))
}
