//! Leader election on a `coordination.k8s.io/v1` Lease: acquire, renew, release.
//!
//! The holder renews every third of the lease duration; a candidate takes the lease once its
//! renewal is older than the duration. Every write carries the resourceVersion it read, so two
//! candidates racing for an expired lease cannot both win (the API server answers 409 to the
//! slower one). Only the leader runs the controller; losing the lease stops the process.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Api;
use kube::api::PostParams;
use std::time::Duration;

/// Where the lease lives and how long it lasts.
#[derive(Clone, Debug)]
pub struct LeaseConfig {
    /// Lease namespace (the controller's own).
    pub namespace: String,
    /// Lease name.
    pub name: String,
    /// This replica's identity (its pod name).
    pub identity: String,
    /// How long a holder keeps the lease without renewing it.
    pub duration: Duration,
}

/// Leader election errors (Kubernetes API failures other than lost races).
#[derive(Debug, thiserror::Error)]
#[error("lease {namespace}/{name}: {source}")]
pub struct LeaseError {
    namespace: String,
    name: String,
    #[source]
    source: kube::Error,
}

impl LeaseError {
    /// What to do about it, when the cause is a setup mistake rather than a passing fault.
    pub fn fix(&self) -> Option<String> {
        let kube::Error::Api(status) = &self.source else {
            return None;
        };
        let ns = &self.namespace;
        match status.code {
            404 => Some(format!(
                "namespace {ns} does not exist: create it, name another with --lease-namespace, or run one replica without leader election (--leader-election=false)"
            )),
            403 => Some(format!(
                "not allowed to manage Leases in {ns}: apply manifests/rbac.yaml (Role pitagora-leader-election) for this service account"
            )),
            _ => None,
        }
    }
}

/// A candidate for leadership.
#[derive(Clone)]
pub struct Elector {
    api: Api<Lease>,
    config: LeaseConfig,
}

impl LeaseError {
    /// A failure on the Lease `namespace/name`.
    pub(super) fn new(namespace: String, name: String, source: kube::Error) -> Self {
        Self {
            namespace,
            name,
            source,
        }
    }
}

fn conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

impl Elector {
    /// A candidate using `client`.
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    fn error(&self, source: kube::Error) -> LeaseError {
        LeaseError {
            namespace: self.config.namespace.clone(),
            name: self.config.name.clone(),
            source,
        }
    }

    fn seconds(&self) -> i32 {
        self.config.duration.as_secs().max(1) as i32
    }

    /// Takes or renews the lease if possible; whether this replica holds it now.
    pub async fn try_acquire(&self) -> Result<bool, LeaseError> {
        let now = MicroTime(Timestamp::now());
        let me = &self.config.identity;
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.error(e))?
        else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(me.clone()),
                    lease_duration_seconds: Some(self.seconds()),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(e) if conflict(&e) => Ok(false),
                Err(e) => Err(self.error(e)),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let held_by_me = spec.holder_identity.as_deref() == Some(me.as_str());
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(renewed), Some(seconds)) => {
                renewed.0 + SignedDuration::from_secs(i64::from(seconds)) < now.0
            }
            _ => true,
        };
        let free = spec.holder_identity.as_deref().is_none_or(str::is_empty);
        if !(held_by_me || expired || free) {
            return Ok(false);
        }
        if !held_by_me {
            spec.holder_identity = Some(me.clone());
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.renew_time = Some(now);
        spec.lease_duration_seconds = Some(self.seconds());
        // `replace` carries the resourceVersion read above: a concurrent writer makes it fail.
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if conflict(&e) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Waits until this replica holds the lease, retrying every third of the duration.
    pub async fn acquire(&self) -> Result<(), LeaseError> {
        loop {
            match self.try_acquire().await {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => match e.fix() {
                    Some(fix) => tracing::warn!(error = %e, %fix, "leader election attempt failed"),
                    None => tracing::warn!(error = %e, "leader election attempt failed"),
                },
            }
            tokio::time::sleep(self.config.duration / 3).await;
        }
    }

    /// Renews the lease until renewing fails for a whole lease duration (or someone else holds
    /// it); returns then: leadership is lost.
    pub async fn hold(&self) {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.config.duration / 3).await;
            // A renewal that hangs (a partitioned network) must not let this replica act past
            // its lease: it counts as failed after a third of the duration.
            let renewal = async {
                // A conflict may be this replica's own last renewal, timed out but landed
                // since: read once more before calling the lease someone else's.
                match self.try_acquire().await {
                    Ok(false) => self.try_acquire().await,
                    other => other,
                }
            };
            match tokio::time::timeout(self.config.duration / 3, renewal).await {
                Ok(Ok(true)) => last_renewed = tokio::time::Instant::now(),
                Ok(Ok(false)) => {
                    tracing::error!(identity = %self.config.identity, "the lease is held by another replica");
                    return;
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "lease renewal failed"),
                Err(_) => tracing::warn!("lease renewal timed out"),
            }
            if last_renewed.elapsed() >= self.config.duration {
                tracing::error!("the lease could not be renewed within its duration");
                return;
            }
        }
    }

    /// Gives the lease up (on shutdown), so a standby takes over at once instead of waiting
    /// for it to expire.
    pub async fn release(&self) -> Result<(), LeaseError> {
        // A renewal that was cancelled on its way out may still land between our read and our
        // write; that conflict means "read again", not "someone else holds it".
        for _ in 0..5 {
            if self.release_once().await? {
                return Ok(());
            }
        }
        tracing::warn!(identity = %self.config.identity, "the lease kept changing; left to expire");
        Ok(())
    }

    /// One attempt: `true` when the lease is released or no longer ours, `false` on a conflict.
    async fn release_once(&self) -> Result<bool, LeaseError> {
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.error(e))?
        else {
            return Ok(true);
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(true);
        };
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return Ok(true);
        }
        spec.holder_identity = None;
        // An expired renewal lets any candidate take the lease immediately.
        spec.renew_time = Some(MicroTime(Timestamp::UNIX_EPOCH));
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if conflict(&e) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// The current holder, if any.
    pub async fn holder(&self) -> Result<Option<String>, LeaseError> {
        Ok(self
            .api
            .get_opt(&self.config.name)
            .await
            .map_err(|e| self.error(e))?
            .and_then(|l| l.spec)
            .and_then(|s| s.holder_identity))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: u16) -> LeaseError {
        let mut status = kube::core::Status::failure("boom", "NotFound");
        status.code = code;
        LeaseError {
            namespace: "pitagora-system".into(),
            name: "pitagora-controller".into(),
            source: kube::Error::Api(Box::new(status)),
        }
    }

    #[test]
    fn a_missing_lease_namespace_names_the_flags_that_fix_it() {
        let fix = failed(404).fix().unwrap();
        assert!(fix.contains("pitagora-system"), "{fix}");
        assert!(fix.contains("--lease-namespace"), "{fix}");
        assert!(fix.contains("--leader-election=false"), "{fix}");
    }

    #[test]
    fn forbidden_leases_name_the_rbac_manifest() {
        assert!(failed(403).fix().unwrap().contains("manifests/rbac.yaml"));
    }

    #[test]
    fn a_passing_fault_has_no_fix() {
        assert_eq!(failed(500).fix(), None);
    }
}
