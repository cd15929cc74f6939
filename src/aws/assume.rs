//! Acting in another account: credentials from STS `AssumeRole` on a role the operator listed
//! (see [`crate::spec::accounts`]).
//!
//! aws-config's `sts::AssumeRoleProvider` builds its own STS client from an `SdkConfig`, to which
//! no interceptor can be added: its `AssumeRole` calls would escape pitagora's call counter and
//! retry policy (and, in tests, the emulator's account header that says who is asking). So the
//! provider here is pitagora's own, over an STS client made like every other client.
//!
//! Caching and refresh are the SDK's: the assumed [`super::Aws`]'s configuration carries a lazy
//! identity cache (shared by every client built from it) that keeps the credentials until
//! [`REFRESH_BEFORE`] their expiry, then asks this provider again on the next call; a refresh
//! that fails surfaces as that call's error, and the next call asks again.

use super::error::{self, AwsError, RetryPolicy};
use aws_credential_types::Credentials;
use aws_credential_types::provider::{
    self, ProvideCredentials, SharedCredentialsProvider, error::CredentialsError,
};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;

/// How long before expiry assumed credentials are refreshed: longer than any one call, so a
/// call never starts with credentials about to lapse.
pub const REFRESH_BEFORE: Duration = Duration::from_secs(5 * 60);

/// Longest time one refresh may take, retries included.
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(30);

/// STS's longest `RoleSessionName`.
const SESSION_NAME_MAX: usize = 64;

/// The session name of a namespace's assumed role, `pitagora-<namespace>`, as CloudTrail shows
/// it in the role's account (namespaces are DNS labels: every character is one STS accepts);
/// cut to STS's 64 characters.
pub fn session_name(namespace: &str) -> String {
    let mut name = format!("pitagora-{namespace}");
    name.truncate(SESSION_NAME_MAX);
    name
}

/// Assumes one role with an external ID, through an STS client of the base credentials.
#[derive(Clone, Debug)]
pub struct AssumedRole {
    pub(super) sts: aws_sdk_sts::Client,
    pub(super) role_arn: String,
    pub(super) external_id: String,
    pub(super) session: String,
    pub(super) retry: RetryPolicy,
}

impl AssumedRole {
    /// Fresh credentials for the role, or why STS refused them (with AWS's message).
    pub async fn credentials(&self) -> Result<Credentials, AwsError> {
        const OPERATION: &str = "STS.AssumeRole";
        let policy = RetryPolicy {
            total: self.retry.total.min(LOAD_TIMEOUT / 2),
            ..self.retry
        };
        let out = error::send(&policy, OPERATION, || {
            self.sts
                .assume_role()
                .role_arn(&self.role_arn)
                .external_id(&self.external_id)
                .role_session_name(&self.session)
                .send()
        })
        .await?;
        let Some(c) = out.credentials else {
            return Err(AwsError::Rejected {
                operation: OPERATION.into(),
                code: "NoCredentials".into(),
                message: "the response held no credentials".into(),
            });
        };
        let expires = std::time::SystemTime::try_from(c.expiration).ok();
        Ok(Credentials::new(
            c.access_key_id,
            c.secret_access_key,
            Some(c.session_token),
            expires,
            "pitagora-assume-role",
        ))
    }
}

impl ProvideCredentials for AssumedRole {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.credentials()
                .await
                .map_err(CredentialsError::provider_error)
        })
    }
}

impl super::Aws {
    /// Access acting as `role` for `session` (see [`session_name`]): made once per role and
    /// session, then shared. It shares this access's call counter, has the rate limits of the
    /// role's account (shared by every session there) and knows its account from the role ARN
    /// without asking STS. Nothing is asked of AWS here: [`super::Aws::check_role`] asks once.
    pub fn assume(&self, role: &crate::spec::AccountRole, session: &str) -> Arc<super::Aws> {
        let key = (role.role_arn.clone(), session.to_owned());
        let mut assumed = self
            .accounts
            .assumed
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        assumed
            .entry(key)
            .or_insert_with(|| Arc::new(self.make_assumed(role, session)))
            .clone()
    }

    fn make_assumed(&self, role: &crate::spec::AccountRole, session: &str) -> super::Aws {
        let mut sts =
            aws_sdk_sts::config::Builder::from(&self.base).interceptor(self.calls.clone());
        for i in &self.interceptors {
            sts.push_interceptor(i.clone());
        }
        let provider = AssumedRole {
            sts: aws_sdk_sts::Client::from_conf(sts.build()),
            role_arn: role.role_arn.clone(),
            external_id: role.external_id.clone(),
            session: session.to_owned(),
            retry: self.settings.retry,
        };
        let cache = aws_config::identity::IdentityCache::lazy()
            .buffer_time(REFRESH_BEFORE)
            .load_timeout(LOAD_TIMEOUT)
            .build();
        let base = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider.clone()))
            .identity_cache(cache)
            .build();
        let (limiter, filter_limits) = self.account_limits(&role.account_id);
        super::Aws {
            base,
            settings: self.settings.clone(),
            calls: self.calls.clone(),
            interceptors: self.accounts.interceptors.clone(),
            regions: Mutex::default(),
            account: OnceCell::new_with(Some(role.account_id.clone())),
            limiter,
            filter_limits,
            accounts: self.accounts.clone(),
            role: Some((provider, OnceCell::new())),
        }
    }

    /// The rate and filter limits of `account`, made on first use.
    fn account_limits(&self, account: &str) -> super::AccountLimits {
        let shared = &self.accounts;
        let share = *shared.share.lock().unwrap_or_else(|p| p.into_inner());
        let mut accounts = shared.per_account.lock().unwrap_or_else(|p| p.into_inner());
        accounts
            .entry(account.to_owned())
            .or_insert_with(|| {
                let limiter = super::RateLimiter::new(self.settings.limits.clone());
                if let Some(share) = share {
                    limiter.set_share(share);
                }
                let filters = super::logs::FilterLimits::new(self.settings.filters_per_log_group);
                (Arc::new(limiter), Arc::new(filters))
            })
            .clone()
    }

    /// The role these clients act as, if assumed.
    pub fn role_arn(&self) -> Option<&str> {
        self.role.as_ref().map(|(r, _)| r.role_arn.as_str())
    }

    /// Whether STS grants the role (asked once; nothing to ask for the base credentials): a role
    /// that cannot be assumed is told apart from the calls made with it, with AWS's answer.
    pub async fn check_role(&self) -> Result<(), AwsError> {
        let Some((role, granted)) = &self.role else {
            return Ok(());
        };
        granted
            .get_or_try_init(|| async { role.credentials().await.map(|_| ()) })
            .await
            .copied()
    }
}
