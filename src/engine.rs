//! The engine: desired → observe → plan → apply → verify, for one pipeline. The CLI and the
//! Kubernetes controller are thin shells around these calls.

use crate::apply::{self, ActionOutcome, ApplyReport};
use crate::aws::{Aws, AwsError};
use crate::desired::{self, Desired, InvalidSpec};
use crate::names::PipelineId;
use crate::observe::{self, Hints};
use crate::observed::Observed;
use crate::plan::{self, Plan};
use crate::spec::LogPipelineSpec;
use std::sync::Arc;

/// Why the engine could not do its work for a pipeline. Variant names are stable labels.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The spec is invalid; nothing was read or written.
    #[error(transparent)]
    InvalidSpec(#[from] InvalidSpec),
    /// No region: neither the spec nor the AWS configuration names one.
    #[error("no AWS region: set spec.region, AWS_REGION or --region")]
    NoRegion,
    /// AWS failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl EngineError {
    /// Stable label for metrics and events.
    pub fn label(&self) -> &'static str {
        match self {
            EngineError::InvalidSpec(_) => "InvalidSpec",
            EngineError::NoRegion => "NoRegion",
            EngineError::Aws(e) => e.label(),
        }
    }
}

/// A read-only comparison of AWS with a spec.
#[derive(Debug, Clone)]
pub struct Check {
    /// The desired state.
    pub desired: Desired,
    /// What AWS holds.
    pub observed: Observed,
    /// What would bring AWS to the desired state.
    pub plan: Plan,
}

/// The result of converging a pipeline.
#[derive(Debug, Clone)]
pub struct Converged {
    /// The plan found first (the drift that was corrected).
    pub initial: Plan,
    /// What applying it did (one report per pass).
    pub applied: Vec<ApplyReport>,
    /// The plan found after applying: empty when AWS matches the spec.
    pub remaining: Plan,
    /// The desired state.
    pub desired: Desired,
    /// What AWS held at the last observation (after applying).
    pub observed: Observed,
}

impl Converged {
    /// The last observation as a check (its plan is [`Converged::remaining`]).
    pub fn check(&self) -> Check {
        Check {
            desired: self.desired.clone(),
            observed: self.observed.clone(),
            plan: self.remaining.clone(),
        }
    }
}

/// The engine.
#[derive(Clone, Debug)]
pub struct Engine {
    aws: Arc<Aws>,
}

impl Engine {
    /// An engine over `aws`.
    pub fn new(aws: Arc<Aws>) -> Self {
        Self { aws }
    }

    /// The AWS access it uses (and its call counter).
    pub fn aws(&self) -> &Aws {
        &self.aws
    }

    /// The desired state of a pipeline in the caller's account.
    pub async fn desired(
        &self,
        id: &PipelineId,
        spec: &LogPipelineSpec,
    ) -> Result<Desired, EngineError> {
        // Validate before any AWS call: an invalid spec costs nothing and touches nothing.
        let region = spec.region.clone().or_else(|| self.aws.default_region());
        let Some(region) = region else {
            let errors = crate::spec::validate(id, spec);
            return Err(if errors.is_empty() {
                EngineError::NoRegion
            } else {
                InvalidSpec(errors).into()
            });
        };
        let errors = crate::spec::validate_in(id, spec, Some(&region));
        if !errors.is_empty() {
            return Err(InvalidSpec(errors).into());
        }
        let account = self.aws.account_id().await?;
        Ok(desired::build(id, spec, &account, &region)?)
    }

    /// Observes AWS and plans, without writing.
    pub async fn check(
        &self,
        id: &PipelineId,
        spec: &LogPipelineSpec,
        hints: &Hints,
    ) -> Result<Check, EngineError> {
        let desired = self.desired(id, spec).await?;
        let clients = self.aws.region(&desired.target.region);
        let observed = observe::observe(&clients, &desired, hints).await?;
        let plan = plan::plan(&desired, &observed);
        Ok(Check {
            desired,
            observed,
            plan,
        })
    }

    /// Brings AWS to the spec (unless `drift.policy: Report`) and verifies the result.
    pub async fn converge<P: FnMut(&ActionOutcome)>(
        &self,
        id: &PipelineId,
        spec: &LogPipelineSpec,
        hints: &Hints,
        progress: &mut P,
    ) -> Result<Converged, EngineError> {
        let check = self.check(id, spec, hints).await?;
        self.execute(check, hints, progress).await
    }

    /// Executes a check's plan (unless report-only), then observes again to verify. At most two
    /// passes: the second only runs if the first succeeded but AWS still differs.
    pub async fn execute<P: FnMut(&ActionOutcome)>(
        &self,
        check: Check,
        hints: &Hints,
        progress: &mut P,
    ) -> Result<Converged, EngineError> {
        let initial = check.plan.clone();
        if initial.report_only {
            return Ok(Converged {
                remaining: initial.clone(),
                initial,
                applied: Vec::new(),
                desired: check.desired,
                observed: check.observed,
            });
        }
        let clients = self.aws.region(&check.desired.target.region);
        let mut current = check;
        let mut applied = Vec::new();
        for _ in 0..2 {
            if current.plan.writes().next().is_none() {
                break;
            }
            let report = apply::apply(&clients, &current.plan, progress).await;
            let ok = report.succeeded();
            applied.push(report);
            let observed = observe::observe(&clients, &current.desired, hints).await?;
            current.plan = plan::plan(&current.desired, &observed);
            current.observed = observed;
            if !ok {
                break;
            }
        }
        Ok(Converged {
            initial,
            applied,
            remaining: current.plan,
            desired: current.desired,
            observed: current.observed,
        })
    }

    /// Removes the pipeline's resources (the bucket stays unless `deletionPolicy: Delete`).
    pub async fn delete<P: FnMut(&ActionOutcome)>(
        &self,
        id: &PipelineId,
        spec: &LogPipelineSpec,
        hints: &Hints,
        progress: &mut P,
    ) -> Result<(Plan, ApplyReport), EngineError> {
        let desired = self.desired(id, spec).await?;
        let clients = self.aws.region(&desired.target.region);
        let observed = observe::observe(&clients, &desired, hints).await?;
        let mut plan = plan::plan_delete(&desired, &observed);
        // Deleting is an explicit request: it runs even for report-only pipelines.
        plan.report_only = false;
        let report = apply::apply(&clients, &plan, progress).await;
        Ok((plan, report))
    }
}
