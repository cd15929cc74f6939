//! Accounts: the AWS accounts pitagora works in besides the controller's own, and which
//! namespace's pipelines are built in which of them. The operator owns this file (`--accounts
//! FILE`, shipped as the `pitagora-accounts` ConfigMap); a tenant never sets any of it, so a
//! namespace reaches only the account the operator gave it.
//!
//! ```yaml
//! accounts:
//!   - id: "111111111111"
//!     name: log-archive                 # optional, for messages
//!     roleArn: arn:aws:iam::111111111111:role/pitagora/pitagora-access
//!     externalId: pitagora-prod-cluster # the role's trust policy requires it (sts:ExternalId)
//! namespaces:
//!   team-a:
//!     account: "111111111111"   # where its pipelines are built; omitted: the controller's own
//!     sources:                  # log groups of other accounts/regions its pipelines may take
//!       - account: "111111111111"   # omitted: the controller's own account
//!         regions: [eu-west-1, us-east-1]
//!         logGroupPrefixes: [/team-a/]
//!   "*": {}                     # every namespace the file does not name
//! ```
//!
//! A namespace is given its own entry, else the `"*"` entry, else nothing: its pipelines are
//! built with the controller's own credentials in the controller's own account, as without a
//! file. The controller's own account cannot be known offline, so it is never listed: an
//! `account` (of a namespace or a source) that is omitted means "the controller's own
//! credentials", and one that is given must be listed under `accounts`.

use super::grammar::region;
use super::tenancy::EVERY_NAMESPACE;
use super::validate::FieldError;
use crate::arn::RoleArn;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The role pitagora assumes to act in one account.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountRole {
    /// The 12-digit account id (the role ARN's account).
    #[serde(rename = "id")]
    pub account_id: String,
    /// A name for messages, e.g. `log-archive`.
    #[serde(default)]
    pub name: Option<String>,
    /// The role to assume.
    pub role_arn: String,
    /// The external ID the role's trust policy requires (`sts:ExternalId`).
    pub external_id: String,
}

impl AccountRole {
    /// The account as messages name it: `log-archive (111111111111)`, or the id alone.
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} ({})", self.account_id),
            None => self.account_id.clone(),
        }
    }
}

/// Where one namespace's pipelines are built and what they may take from.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NamespaceAccounts {
    /// The account its pipelines are built in; `None`: the controller's own.
    #[serde(default)]
    pub account: Option<String>,
    /// The log groups of other accounts and regions its pipelines may subscribe.
    #[serde(default)]
    pub sources: Vec<SourceAllowance>,
}

/// Log groups of one account, in some regions, that a namespace's pipelines may subscribe.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceAllowance {
    /// The account; `None`: the controller's own.
    #[serde(default)]
    pub account: Option<String>,
    /// The regions.
    pub regions: Vec<String>,
    /// Log-group name prefixes.
    pub log_group_prefixes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    #[serde(default)]
    accounts: Vec<AccountRole>,
    #[serde(default)]
    namespaces: BTreeMap<String, NamespaceAccounts>,
}

/// The accounts pitagora works in and the namespaces mapped to them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Accounts {
    roles: BTreeMap<String, AccountRole>,
    namespaces: BTreeMap<String, NamespaceAccounts>,
}

/// Why an accounts file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountsError {
    /// Not the file's shape.
    #[error(
        "not an accounts file (`accounts:` listing each account's id, roleArn and externalId; \
         `namespaces:` mapping each namespace to its account and sources): {0}"
    )]
    Shape(String),
    /// A field that does not hold.
    #[error("accounts file: {0}")]
    Invalid(FieldError),
}

/// STS's constraint on `ExternalId` (AssumeRole, AWS STS API Reference): 2 to 1224 characters
/// of `[\w+=,.@:/-]`.
const EXTERNAL_ID: (usize, usize) = (2, 1224);

fn external_id_ok(id: &str) -> bool {
    (EXTERNAL_ID.0..=EXTERNAL_ID.1).contains(&id.chars().count())
        && id
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || "+=,.@:/-".contains(c))
}

fn account_id_ok(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

fn invalid(path: String, value: impl std::fmt::Display, fix: impl Into<String>) -> AccountsError {
    AccountsError::Invalid(FieldError::new(path, value, fix))
}

impl Accounts {
    /// Parses and checks an accounts file's text.
    pub fn parse(text: &str) -> Result<Self, AccountsError> {
        let file: File =
            serde_saphyr::from_str(text).map_err(|e| AccountsError::Shape(e.to_string()))?;
        let mut roles = BTreeMap::new();
        for (i, role) in file.accounts.into_iter().enumerate() {
            check_role(i, &role)?;
            if roles.contains_key(&role.account_id) {
                return Err(invalid(
                    format!("accounts[{i}].id"),
                    &role.account_id,
                    "listed twice; list each account once",
                ));
            }
            roles.insert(role.account_id.clone(), role);
        }
        let accounts = Self {
            roles,
            namespaces: file.namespaces,
        };
        for (namespace, entry) in &accounts.namespaces {
            accounts.check_namespace(namespace, entry)?;
        }
        Ok(accounts)
    }

    fn check_namespace(
        &self,
        namespace: &str,
        entry: &NamespaceAccounts,
    ) -> Result<(), AccountsError> {
        let path = format!("namespaces.{namespace}");
        if let Some(account) = &entry.account {
            self.check_listed(format!("{path}.account"), account)?;
        }
        for (i, source) in entry.sources.iter().enumerate() {
            let path = format!("{path}.sources[{i}]");
            if let Some(account) = &source.account {
                self.check_listed(format!("{path}.account"), account)?;
            }
            if source.regions.is_empty() {
                return Err(invalid(
                    format!("{path}.regions"),
                    "[]",
                    "name at least one region, e.g. [eu-west-1]",
                ));
            }
            for (j, r) in source.regions.iter().enumerate() {
                region::check(r)
                    .map_err(|e| invalid(format!("{path}.regions[{j}]"), r, e.to_string()))?;
            }
            if source.log_group_prefixes.is_empty() {
                return Err(invalid(
                    format!("{path}.logGroupPrefixes"),
                    "[]",
                    "name at least one log-group prefix, e.g. [/team-a/]",
                ));
            }
            for (j, p) in source.log_group_prefixes.iter().enumerate() {
                if p.is_empty() || p == "/" || p == "*" {
                    return Err(invalid(
                        format!("{path}.logGroupPrefixes[{j}]"),
                        format!("{p:?}"),
                        "allows every log group; name the tenant's own prefix",
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_listed(&self, path: String, account: &str) -> Result<(), AccountsError> {
        if self.roles.contains_key(account) {
            return Ok(());
        }
        let fix = if account_id_ok(account) {
            "not listed under `accounts`: list it with its roleArn and externalId, or omit the \
             field for the controller's own account"
        } else {
            "not a 12-digit AWS account id"
        };
        Err(invalid(path, format!("{account:?}"), fix))
    }

    /// The role a namespace's pipelines act through: its own entry's account, else the `"*"`
    /// entry's; `None`: the controller's own credentials and account.
    pub fn role_for(&self, namespace: &str) -> Option<&AccountRole> {
        let account = self.entry(namespace)?.account.as_deref()?;
        self.roles.get(account)
    }

    /// Every account's role, in account order (for the controller's IAM policy).
    pub fn roles(&self) -> impl Iterator<Item = &AccountRole> {
        self.roles.values()
    }

    /// The role of `account`, if the file lists it.
    pub fn role_of(&self, account: &str) -> Option<&AccountRole> {
        self.roles.get(account)
    }

    fn entry(&self, namespace: &str) -> Option<&NamespaceAccounts> {
        self.namespaces
            .get(namespace)
            .or_else(|| self.namespaces.get(EVERY_NAMESPACE))
    }

    /// Whether `namespace`'s pipelines may subscribe `log_group` (a name or a name prefix) in
    /// `account` (`None`: the controller's own) and `region`: one of its entry's `sources` names
    /// that account and region and a prefix the name starts with. The pipeline's own account
    /// and region are the tenancy file's business, not this one's.
    pub fn source_allowed(
        &self,
        namespace: &str,
        account: Option<&str>,
        region: &str,
        log_group: &str,
    ) -> bool {
        self.entry(namespace).is_some_and(|entry| {
            entry.sources.iter().any(|s| {
                s.account.as_deref() == account
                    && s.regions.iter().any(|r| r == region)
                    && s.log_group_prefixes
                        .iter()
                        .any(|p| log_group.starts_with(p.as_str()))
            })
        })
    }
}

impl Accounts {
    /// The log-group prefixes `namespace` may subscribe in `account` and `region`, as its
    /// entry's `sources` list them (for messages).
    pub fn source_prefixes(&self, namespace: &str, account: &str, region: &str) -> Vec<String> {
        self.entry(namespace)
            .into_iter()
            .flat_map(|e| &e.sources)
            .filter(|s| {
                s.account.as_deref() == Some(account) && s.regions.iter().any(|r| r == region)
            })
            .flat_map(|s| s.log_group_prefixes.iter().cloned())
            .collect()
    }

    /// The sources `namespace`'s pipelines may take (its entry's, else the `"*"` entry's).
    pub fn sources_of(&self, namespace: &str) -> &[SourceAllowance] {
        self.entry(namespace).map_or(&[], |e| e.sources.as_slice())
    }

    /// Every namespace's allowed sources in other accounts, by account: what the role pitagora
    /// assumes there must reach (for that account's IAM policy).
    pub fn sources_by_account(&self) -> BTreeMap<String, Vec<&SourceAllowance>> {
        let mut by: BTreeMap<String, Vec<&SourceAllowance>> = BTreeMap::new();
        for entry in self.namespaces.values() {
            for s in &entry.sources {
                if let Some(account) = &s.account {
                    by.entry(account.clone()).or_default().push(s);
                }
            }
        }
        by
    }
}

fn check_role(i: usize, role: &AccountRole) -> Result<(), AccountsError> {
    let path = |field: &str| format!("accounts[{i}].{field}");
    if !account_id_ok(&role.account_id) {
        return Err(invalid(
            path("id"),
            format!("{:?}", role.account_id),
            "not a 12-digit AWS account id; quote it so YAML keeps its leading zeros",
        ));
    }
    let Some(arn) = RoleArn::parse(&role.role_arn) else {
        return Err(invalid(
            path("roleArn"),
            &role.role_arn,
            "not an IAM role ARN; expected arn:aws:iam::<id>:role/<path><name>",
        ));
    };
    if arn.account_id != role.account_id {
        return Err(invalid(
            path("roleArn"),
            &role.role_arn,
            format!(
                "the role belongs to account {}, not {}; name the role in the listed account",
                arn.account_id, role.account_id
            ),
        ));
    }
    if !external_id_ok(&role.external_id) {
        return Err(invalid(
            path("externalId"),
            format!("{:?}", role.external_id),
            format!(
                "STS accepts {} to {} characters of letters, digits and _+=,.@:/-",
                EXTERNAL_ID.0, EXTERNAL_ID.1
            ),
        ));
    }
    Ok(())
}
