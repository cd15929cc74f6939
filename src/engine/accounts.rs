//! Which account the engine acts in for a pipeline: its namespace's (the operator's accounts
//! file), and each source account of its remote sources.

use super::{Engine, EngineError};
use crate::aws::{Aws, AwsError, Places, RegionClients};
use crate::desired::Desired;
use crate::read::Hints;
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
    /// The accounts of the remote filters `hints` remember are reached too, to remove them.
    pub(super) fn places(&self, desired: &Desired, hints: &Hints) -> Places {
        let before = hints.previous_remote_filters.iter();
        let accounts = (desired.remote.iter().map(|r| r.place.account_id.as_str()))
            .chain(before.filter_map(|n| n.split_once('/').map(|(a, _)| a)));
        self.places_at(&desired.id.namespace, &desired.target.account_id, accounts)
    }

    /// Where `namespace`'s pipelines act: its account (`home`), and each of `accounts` through
    /// the accounts file's role there.
    pub(super) fn places_at<'a>(
        &self,
        namespace: &str,
        home: &str,
        accounts: impl Iterator<Item = &'a str>,
    ) -> Places {
        let mut places = Places::new(home, self.aws_for(namespace));
        let session = crate::aws::assume::session_name(namespace);
        for account in accounts.filter(|a| *a != home) {
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
