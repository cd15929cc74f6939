//! Why the engine could not do its work for a pipeline.

use crate::aws::AwsError;
use crate::desired::NoRegion;
use crate::spec::InvalidSpec;

/// Why the engine could not do its work for a pipeline. Variant names are stable labels.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The spec is invalid; nothing was read or written.
    #[error(transparent)]
    InvalidSpec(#[from] InvalidSpec),
    /// No region: neither the spec nor the AWS configuration names one.
    #[error("{}", NoRegion)]
    NoRegion,
    /// AWS failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The change would lose logs or delivery and the spec does not consent (see
    /// [`crate::plan::guard`]); nothing was written.
    #[error("refused, nothing written: {}", .0.join("; "))]
    Refused(Vec<String>),
    /// STS did not grant the role of the namespace's account (see
    /// [`crate::spec::accounts`]); nothing was read or written, and no other namespace is
    /// touched.
    #[error(
        "namespace {namespace} acts in account {account} through role {role_arn}, which could not \
         be assumed: {source}; check the role's trust policy (it must trust the controller's \
         role with the external ID of the accounts file) and the controller's sts:AssumeRole \
         permission"
    )]
    RoleNotAssumed {
        /// The pipeline's namespace.
        namespace: String,
        /// The account, as the accounts file names it.
        account: String,
        /// The role.
        role_arn: String,
        /// AWS's answer.
        source: AwsError,
    },
    /// The change-event rule or queue of an account and region is someone else's.
    #[error(transparent)]
    EventsConflict(#[from] crate::plan::events::EventsConflict),
}

impl From<NoRegion> for EngineError {
    fn from(_: NoRegion) -> Self {
        EngineError::NoRegion
    }
}

impl EngineError {
    /// Stable label for metrics and events.
    pub fn label(&self) -> &'static str {
        match self {
            EngineError::InvalidSpec(_) => "InvalidSpec",
            EngineError::NoRegion => "NoRegion",
            EngineError::Aws(e) => e.label(),
            EngineError::Refused(_) => "DestructiveChange",
            EngineError::RoleNotAssumed { .. } => "RoleNotAssumed",
            EngineError::EventsConflict(_) => "EventsConflict",
        }
    }
}
