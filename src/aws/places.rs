//! Where one pipeline acts: every region of its own account, and each source account its remote
//! sources name, each with the credentials the engine chose for it (the accounts file's role
//! there, assumed). Reads and writes of a remote source ask [`Places::clients_in`] for their
//! account and region, so a filter in a source account is never written with the pipeline's
//! own credentials by mistake: an account without credentials is an error, not a fallback.

use super::{Aws, AwsError, RegionClients};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The accounts one pipeline acts in, with their access.
#[derive(Clone, Debug)]
pub struct Places {
    home_account: String,
    home: Arc<Aws>,
    others: BTreeMap<String, Arc<Aws>>,
}

impl Places {
    /// Only the pipeline's own account (`home_account`, reached with `home`).
    pub fn new(home_account: &str, home: Arc<Aws>) -> Self {
        Self {
            home_account: home_account.to_owned(),
            home,
            others: BTreeMap::new(),
        }
    }

    /// These places, also reaching `account` with `aws`.
    pub fn with_account(mut self, account: &str, aws: Arc<Aws>) -> Self {
        self.others.insert(account.to_owned(), aws);
        self
    }

    /// The pipeline's own account.
    pub fn home_account(&self) -> &str {
        &self.home_account
    }

    /// The clients of `region` in the pipeline's own account.
    pub fn region(&self, region: &str) -> Arc<RegionClients> {
        self.home.region(region)
    }

    /// The clients that act in `region` of `account`: the pipeline's own for its account, the
    /// assumed role's for a source account; [`AwsError::NoRole`] for an account nobody gave
    /// credentials for.
    pub fn clients_in(&self, account: &str, region: &str) -> Result<Arc<RegionClients>, AwsError> {
        if account == self.home_account {
            return Ok(self.home.region(region));
        }
        self.others
            .get(account)
            .map(|aws| aws.region(region))
            .ok_or_else(|| AwsError::NoRole {
                account: account.to_owned(),
            })
    }
}
