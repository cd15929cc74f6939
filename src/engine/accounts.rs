//! Which account the engine acts in for a pipeline: its namespace's (the operator's accounts
//! file), and each source account of its remote sources.

use super::{Engine, EngineError};
use crate::aws::{Aws, AwsError, Places, RegionClients};
use crate::desired::{Desired, Pipeline, RemoteSpec};
use crate::read::{Discovery, Hints};
use std::collections::BTreeSet;
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
    /// The accounts of the remote filters and canary groups `hints` remember, and those they
    /// discover in, are reached too, to remove what is left there.
    pub(super) fn places(&self, desired: &Desired, hints: &Hints) -> Places {
        let before = (hints.previous_remote_filters.iter())
            .chain(&hints.previous_remote_canary_groups)
            .filter_map(|n| RemoteSpec::parse_resource_name(n))
            .map(|(place, _)| place.account_id);
        let declared = desired.remote.iter().map(|r| r.place.account_id.clone());
        let discover = hints
            .discover
            .iter()
            .flat_map(|x| x.accounts().map(str::to_owned));
        let accounts: BTreeSet<String> = declared.chain(before).chain(discover).collect();
        self.places_at(
            &desired.id.namespace,
            &desired.target.account_id,
            accounts.iter().map(String::as_str),
        )
    }

    /// The hints of a caller that keeps no record of what it applied (the CLI): none, but where
    /// to look live for the places `pipeline` dropped from its remote sources (see
    /// [`Discovery`]: the accounts and regions the accounts file allows its namespace).
    pub fn live_hints(&self, pipeline: &Pipeline) -> Hints {
        let (namespace, home) = (&pipeline.id().namespace, &pipeline.target().account_id);
        Hints {
            discover: Some(Discovery::of(self.accounts.as_deref(), namespace, home)),
            ..Hints::default()
        }
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
