//! Which account the engine acts in for a pipeline: its namespace's (the operator's accounts
//! file), and each source account of its remote sources.

use super::{Engine, EngineError};
use crate::aws::{Aws, AwsError, Places, RegionClients};
use crate::desired::Desired;
use std::sync::Arc;

impl Engine {
    /// The AWS access of `namespace`'s pipelines: its account's role, assumed (once, then
    /// shared), or the base credentials.
    pub fn aws_for(&self, namespace: &str) -> Arc<Aws> {
        match self.accounts.as_ref().and_then(|a| a.role_for(namespace)) {
            Some(role) => self
                .aws
                .assume(role, &crate::aws::assume::session_name(namespace)),
            None => self.aws.clone(),
        }
    }

    /// Where the pipeline of `desired` acts: its namespace's account, and each source account of
    /// its remote sources through the accounts file's role there (assumed with the namespace's
    /// session name; an account the file does not list has no credentials, see [`Places`]).
    pub(super) fn places(&self, desired: &Desired) -> Places {
        let namespace = &desired.id.namespace;
        let mut places = Places::new(&desired.target.account_id, self.aws_for(namespace));
        let session = crate::aws::assume::session_name(namespace);
        for r in &desired.remote {
            let account = &r.place.account_id;
            if *account == desired.target.account_id {
                continue;
            }
            if let Some(role) = self.accounts.as_ref().and_then(|a| a.role_of(account)) {
                places = places.with_account(account, self.aws.assume(role, &session));
            }
        }
        places
    }

    /// The clients of `namespace`'s account in `region`.
    pub(super) fn clients(&self, namespace: &str, region: &str) -> Arc<RegionClients> {
        self.aws_for(namespace).region(region)
    }

    pub(super) fn role_not_assumed(&self, namespace: &str, source: AwsError) -> EngineError {
        let role = self.accounts.as_ref().and_then(|a| a.role_for(namespace));
        EngineError::RoleNotAssumed {
            namespace: namespace.to_owned(),
            account: role.map(|r| r.label()).unwrap_or_default(),
            role_arn: role.map(|r| r.role_arn.clone()).unwrap_or_default(),
            source,
        }
    }
}
