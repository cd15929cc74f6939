//! The IAM side of acting in other accounts (see [`crate::spec::accounts`]): what the
//! controller's own role needs to assume each account's role, and the trust policy of that role.

use super::{document, statement};
use crate::spec::{AccountRole, Accounts};
use serde_json::{Value, json};

/// The statement letting the controller assume every role of `accounts`; `None` when it lists
/// none (nothing to add to the controller's policy).
pub fn assume_account_roles(accounts: &Accounts) -> Option<Value> {
    let roles: Vec<String> = accounts.roles().map(|r| r.role_arn.clone()).collect();
    (!roles.is_empty()).then(|| statement("AssumeAccountRoles", &["sts:AssumeRole"], roles))
}

/// Who may assume `role`: the controller's role (`controller_role_arn`), and only with the
/// external ID of the accounts file, so no other holder of the role's ARN can use it (the
/// confused deputy AWS documents for `sts:ExternalId`). The role's permissions are the
/// controller's policy, rendered for that account.
pub fn account_role_trust(role: &AccountRole, controller_role_arn: &str) -> Value {
    document(vec![json!({
        "Sid": "PitagoraController",
        "Effect": "Allow",
        "Principal": {"AWS": controller_role_arn},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"sts:ExternalId": role.external_id}},
    })])
}
