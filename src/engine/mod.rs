//! The engine: validate → resolve → desired → read → plan → apply → verify, for one pipeline.
//! The CLI and the Kubernetes controller are thin shells around these calls: they validate once
//! ([`Engine::validate`], or while loading files), resolve the account once ([`Engine::resolve`])
//! and pass the resulting [`Pipeline`] to every later call.

use crate::apply::{self, ActionOutcome, ApplyReport};
use crate::aws::{Aws, AwsError, RegionClients};
use crate::delivery_io;
use crate::desired::{self, Desired, Pipeline};
use crate::names::PipelineId;
use crate::observed::Observed;
use crate::plan::{self, Check, Plan};
use crate::read::{self, Batch, Batches, Hints};
use crate::spec::{Accounts, InvalidSpec, LogPipelineSpec, Tenancy, ValidSpec};
use std::sync::Arc;

pub use error::EngineError;
pub use loss::{LossRead, LossReadError};

mod accounts;
mod canary;
mod error;
pub mod events;
mod loss;
mod read_back;

use read_back::read_back;

/// One pass of a convergence: the plan it executed, and what executing it did.
#[derive(Debug, Clone)]
pub struct Pass {
    /// The plan, as shown before its writes.
    pub plan: Plan,
    /// What executing it did.
    pub applied: ApplyReport,
}

/// What a convergence reports as it goes, in order: each pass's plan before any of its writes,
/// then the outcome of each write as it finishes. A front end that shows these shows exactly
/// what was written.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    /// The plan of pass `pass` (from 1), before the guard judges it and before its writes. Pass
    /// 1's is the check's plan, also when it writes nothing (in sync, report-only); a later
    /// pass's comes only when the observation after the previous pass's writes still differs.
    Plan {
        /// Which pass.
        pass: usize,
        /// What it will write.
        plan: &'a Plan,
    },
    /// One write of pass `pass` finished.
    Outcome {
        /// Which pass.
        pass: usize,
        /// What the write did.
        outcome: &'a ActionOutcome,
    },
}

/// The most passes of one convergence: a second corrects what the first's writes left
/// different (a stack's resources as CloudFormation made them, e.g. a permission without its
/// `SourceAccount`); a third would chase a resource that keeps changing.
pub const MAX_PASSES: usize = 2;

/// The result of converging a pipeline.
#[derive(Debug, Clone)]
pub struct Converged {
    /// The plan found first (the drift that was corrected).
    pub initial: Plan,
    /// Each pass executed, in order: its plan (shown before its writes) and what it did.
    pub passes: Vec<Pass>,
    /// The plan found after applying: empty when AWS matches the spec.
    pub remaining: Plan,
    /// Why `remaining` was not executed, when a later pass's plan would lose logs or delivery
    /// without the spec's consent (see [`plan::guard`]); the earlier passes' writes stand.
    /// Pass 1's refusal is [`EngineError::Refused`] instead: nothing was written.
    pub refused: Vec<String>,
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

    /// What each pass's writes did, in order.
    pub fn applied(&self) -> impl Iterator<Item = &ApplyReport> {
        self.passes.iter().map(|p| &p.applied)
    }
}

/// The result of deleting a pipeline.
#[derive(Debug, Clone)]
pub struct Deleted {
    /// What was planned.
    pub plan: Plan,
    /// What executing it did.
    pub applied: ApplyReport,
    /// What a read-back afterwards found of the pipeline, or why it could not be read.
    pub readback: Result<plan::Readback, AwsError>,
}

impl Deleted {
    /// Whether the pipeline is gone but for what is kept on purpose and what another owner
    /// holds (the plan's conflicts): every action succeeded, and the read-back found no
    /// leftover.
    pub fn complete(&self) -> bool {
        self.applied.succeeded() && self.readback.as_ref().is_ok_and(plan::Readback::complete)
    }
}

/// The engine.
#[derive(Clone, Debug)]
pub struct Engine {
    aws: Arc<Aws>,
    /// Reads shared by the checks of one region within a short time; `None`: every check reads
    /// for itself.
    batches: Option<Arc<Batches>>,
    /// Delivery metrics of many pipelines read in shared calls; `None`: one call per read.
    metrics: Option<delivery_io::metric_batch::MetricBatcher>,
    /// What each namespace may reach (the controller's); `None`: anything (the CLI, run by
    /// whoever holds the credentials).
    tenancy: Option<Arc<Tenancy>>,
    /// The account each namespace's pipelines act in (the operator's accounts file); `None`
    /// or a namespace it does not map: the base credentials' own account.
    accounts: Option<Arc<Accounts>>,
}

impl Engine {
    /// An engine over `aws` whose every check reads for itself.
    pub fn new(aws: Arc<Aws>) -> Self {
        Self {
            aws,
            batches: None,
            metrics: None,
            tenancy: None,
            accounts: None,
        }
    }

    /// This engine acting for each namespace in the account the accounts file maps it to (see
    /// [`crate::spec::accounts`]).
    pub fn with_accounts(mut self, accounts: Accounts) -> Self {
        self.accounts = Some(Arc::new(accounts));
        self
    }

    /// This engine refusing, as invalid specs, log groups and functions outside what their
    /// namespace may use (see [`crate::spec::tenancy`]).
    pub fn with_tenancy(mut self, tenancy: Tenancy) -> Self {
        self.tenancy = Some(Arc::new(tenancy));
        self
    }

    /// This engine with checks sharing their list reads within `max_age` (see
    /// [`read::batch`]; a pipeline that writes reads for itself until the next batch) and
    /// loss-signal reads sharing GetMetricData calls (see [`delivery_io::metric_batch`]).
    pub fn with_batched_reads(mut self, max_age: std::time::Duration) -> Self {
        self.batches = Some(Arc::new(Batches::new(max_age)));
        self.metrics = Some(Default::default());
        self
    }

    /// The current batch of `target`'s account and region, when reads are batched (pipelines
    /// of different accounts never share reads).
    pub fn batch(&self, target: &crate::arn::AwsTarget) -> Option<Arc<Batch>> {
        self.batches
            .as_ref()
            .map(|b| b.current(&target.to_string()))
    }

    /// Lets routine checks' batches live `age` when that is longer than the batches' own
    /// lifetime (see [`Batches::set_routine_age`]).
    pub fn set_routine_batch_age(&self, age: std::time::Duration) {
        if let Some(b) = &self.batches {
            b.set_routine_age(age);
        }
    }

    /// Notes that the pipeline of `desired` wrote: its next reads are its own.
    fn wrote(&self, desired: &Desired) {
        if let Some(b) = &self.batches {
            b.written(&desired.target.to_string(), &desired.stack.name);
        }
    }

    /// The AWS access it uses (and its call counter).
    pub fn aws(&self) -> &Aws {
        &self.aws
    }

    /// The region of specs that name none (the AWS configuration's).
    pub fn default_region(&self) -> Option<String> {
        self.aws.default_region()
    }

    /// Validates a spec for this engine's default region: the one validation of a reconcile.
    pub fn validate(
        &self,
        id: &PipelineId,
        spec: &LogPipelineSpec,
    ) -> Result<ValidSpec, InvalidSpec> {
        let valid = ValidSpec::new(id.clone(), spec.clone(), self.default_region().as_deref());
        let outside = crate::spec::reach::outside(
            self.tenancy.as_deref(),
            self.accounts.as_deref(),
            id,
            spec,
            self.default_region().as_deref(),
        );
        match valid {
            Err(InvalidSpec(mut errors)) => {
                errors.extend(outside);
                Err(InvalidSpec(errors))
            }
            Ok(_) if !outside.is_empty() => Err(InvalidSpec(outside)),
            ok => ok,
        }
    }

    /// Places a validated spec in the caller's account (one STS call, then remembered).
    pub async fn resolve(&self, valid: ValidSpec) -> Result<Pipeline, EngineError> {
        // A region is checked before AWS is asked anything: without one nothing can be read.
        let Some(region) = valid.region() else {
            return Err(EngineError::NoRegion);
        };
        let namespace = &valid.id().namespace;
        let aws = self.aws_for(namespace);
        if let Err(source) = aws.check_role().await {
            return Err(self.role_not_assumed(namespace, source));
        }
        let account = aws.account_id_in(region).await?;
        // Known only now: a function of another account is refused before anything is read.
        let mut foreign = crate::spec::validate::functions_outside_account(valid.spec(), &account);
        let spec = valid.spec();
        foreign.extend(crate::spec::validate::remote_sources_at_home(
            spec, &account, region,
        ));
        let accounts = self.accounts.as_deref();
        foreign.extend(crate::spec::reach::unreachable(accounts, spec, &account));
        if !foreign.is_empty() {
            return Err(EngineError::InvalidSpec(InvalidSpec(foreign)));
        }
        // The configured service role is the base account's: another account's pipelines use
        // the default role of their own account.
        let role = self
            .aws
            .cloudformation_role_arn()
            .filter(|arn| crate::arn::RoleArn::parse(arn).is_none_or(|r| r.account_id == account))
            .map(str::to_owned);
        Ok(Pipeline::resolve(valid, &account)?.with_cloudformation_role(role))
    }

    /// [`Engine::validate`] then [`Engine::resolve`]: an invalid spec costs no AWS call.
    pub async fn prepare(
        &self,
        id: &PipelineId,
        spec: &LogPipelineSpec,
    ) -> Result<Pipeline, EngineError> {
        let valid = self.validate(id, spec)?;
        self.resolve(valid).await
    }

    /// Observes AWS and plans, without writing.
    pub async fn check(&self, pipeline: &Pipeline, hints: &Hints) -> Result<Check, EngineError> {
        let desired = desired::build(pipeline);
        let clients = self.clients(&desired.id.namespace, &desired.target.region);
        let batch = self.batch(&desired.target);
        let aws = self.places(&desired, hints);
        let observed = read::observed(&aws, &clients, &desired, hints, batch.as_deref()).await?;
        let plan = plan::plan(&desired, &observed);
        Ok(Check {
            desired,
            observed,
            plan,
        })
    }

    /// Brings AWS to the spec (unless `drift.policy: Report`) and verifies the result.
    pub async fn converge<P: FnMut(Progress<'_>)>(
        &self,
        pipeline: &Pipeline,
        hints: &Hints,
        progress: &mut P,
    ) -> Result<Converged, EngineError> {
        let check = self.check(pipeline, hints).await?;
        self.execute(check, hints, progress).await
    }

    /// Executes a check's plan (unless report-only), then observes again to verify, in at most
    /// [`MAX_PASSES`] passes: another only runs if the last succeeded but AWS still differs.
    /// Every pass's plan goes to `progress` before the guard judges it and before its writes, so
    /// nothing is written that no plan showed; a pass the guard refuses writes nothing.
    pub async fn execute<P: FnMut(Progress<'_>)>(
        &self,
        check: Check,
        hints: &Hints,
        progress: &mut P,
    ) -> Result<Converged, EngineError> {
        let initial = check.plan.clone();
        progress(Progress::Plan {
            pass: 1,
            plan: &initial,
        });
        let mut converged = Converged {
            remaining: initial.clone(),
            initial,
            passes: Vec::new(),
            refused: Vec::new(),
            desired: check.desired,
            observed: check.observed,
        };
        if converged.initial.report_only {
            return Ok(converged);
        }
        // What was discovered stays found after the writes change what discovery sees.
        let hints = &hints.remembering(&converged.desired, &converged.observed);
        let aws = self.places(&converged.desired, hints);
        let clients = aws.region(&converged.desired.target.region);
        for pass in 1..=MAX_PASSES {
            let plan = &converged.remaining;
            if plan.writes().next().is_none() {
                break;
            }
            if pass > 1 {
                progress(Progress::Plan { pass, plan });
            }
            let losses = plan::guard::change_losses(&converged.desired, &converged.observed, plan);
            match self.guard(&clients, losses).await {
                Ok(()) => {}
                // Nothing written yet: the whole convergence is refused.
                Err(e) if pass == 1 => return Err(e),
                Err(EngineError::Refused(reasons)) => {
                    converged.refused = reasons;
                    break;
                }
                Err(e) => return Err(e),
            }
            self.wrote(&converged.desired);
            let mut echo = |outcome: &ActionOutcome| progress(Progress::Outcome { pass, outcome });
            let applied = apply::apply(&aws, &clients, plan, &mut echo).await;
            let ok = applied.succeeded();
            converged.passes.push(Pass {
                plan: plan.clone(),
                applied,
            });
            let observed = read::observed(&aws, &clients, &converged.desired, hints, None).await?;
            converged.remaining = plan::plan(&converged.desired, &observed);
            converged.observed = observed;
            if !ok {
                break;
            }
        }
        Ok(converged)
    }

    /// Removes the pipeline's resources (the bucket stays unless `deletionPolicy: Delete`), then
    /// reads back what should be gone (see [`plan::read_back`]).
    pub async fn delete<P: FnMut(&ActionOutcome)>(
        &self,
        pipeline: &Pipeline,
        hints: &Hints,
        progress: &mut P,
    ) -> Result<Deleted, EngineError> {
        let desired = desired::build(pipeline);
        let aws = self.places(&desired, hints);
        let clients = aws.region(&desired.target.region);
        self.wrote(&desired);
        let observed = read::observed(&aws, &clients, &desired, hints, None).await?;
        let hints = &hints.remembering(&desired, &observed);
        let mut plan = plan::plan_delete(&desired, &observed);
        // Deleting is an explicit request: it runs even for report-only pipelines.
        plan.report_only = false;
        self.guard(&clients, plan::guard::delete_losses(&desired, &plan))
            .await?;
        let applied = apply::apply(&aws, &clients, &plan, progress).await;
        // Also after a delete with nothing left to do: what an earlier one left is found again.
        let readback = read_back(&aws, &clients, &desired, hints, &observed, &applied).await;
        Ok(Deleted {
            plan,
            applied,
            readback,
        })
    }

    /// Refuses what would lose logs or delivery without the spec's consent: a loss of a bucket's
    /// contents counts only when the bucket holds objects (one listing each).
    async fn guard(
        &self,
        clients: &RegionClients,
        losses: Vec<plan::guard::Loss>,
    ) -> Result<(), EngineError> {
        let mut refused = Vec::new();
        for loss in losses {
            let lost = match loss.bucket() {
                Some(bucket) => read::holds_objects(clients, bucket).await?,
                None => true,
            };
            if lost {
                refused.push(loss.reason());
            }
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(EngineError::Refused(refused))
        }
    }

    /// The `groups` (each with the time since which it should receive events) that show
    /// incoming events, with the time of the first: one GetMetricData call from the earliest
    /// time on.
    pub async fn incoming(
        &self,
        namespace: &str,
        region: &str,
        groups: &[(String, i64)],
        now_ms: i64,
    ) -> Result<std::collections::BTreeMap<String, i64>, AwsError> {
        let Some(from_ms) = groups.iter().map(|(_, since)| *since).min() else {
            return Ok(Default::default());
        };
        let clients = self.clients(namespace, region);
        let names: Vec<String> = groups.iter().map(|(g, _)| g.clone()).collect();
        let queries = crate::cutover::incoming::queries(&names);
        // A datapoint's timestamp is the start of its minute: read from the minute that holds
        // the earliest start.
        let from_ms = from_ms - from_ms.rem_euclid(60_000);
        let results = delivery_io::signals::metrics(&clients, &queries, from_ms, now_ms).await?;
        Ok(crate::cutover::incoming::receiving(groups, &results))
    }
}
