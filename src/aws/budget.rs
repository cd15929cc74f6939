//! The quota budget: routine work (the controller's checks due by time only) may use a share of
//! each operation's rate, so a steady sweep never takes more than that from the account's
//! quotas; work someone waits for (a new or changed spec, a requested check, a retry, a drift
//! correction) may use the rest. See [`super::rate::RateLimiter`] for the two schedules.
//!
//! A request's class is a tokio task-local: [`routine`] wraps a future, and every AWS call it
//! awaits *on the same task* is routine (`join`ed futures included). A spawned task does not
//! inherit it: its calls are priority. No AWS call of a check spawns today. The batched reads'
//! shared walks (one `DescribeStacks` walk, one `DescribeLogGroups` walk per prefix) run in the
//! task of the check that starts them. Routine checks and checks someone waits for never share
//! a batch (see [`crate::read::Batches`]), so a routine walk is paid from the budget and a
//! priority check never waits for one.

use super::rate::Limits;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

/// The share of each operation's rate routine checks may use unless told otherwise.
pub const DEFAULT_BUDGET: f64 = 0.25;

/// Which schedule a request passes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Class {
    /// Due by time only: the budget's schedule and the operation's.
    Routine,
    /// Someone waits for it: the operation's schedule only.
    Priority,
}

tokio::task_local! {
    static CLASS: Class;
}

/// Runs `work` as routine: every AWS call it awaits on this task passes the budget's schedule.
pub fn routine<F: Future>(work: F) -> impl Future<Output = F::Output> {
    CLASS.scope(Class::Routine, work)
}

/// Runs `work` as priority, also inside [`routine`] (a routine check's correction).
pub fn priority<F: Future>(work: F) -> impl Future<Output = F::Output> {
    CLASS.scope(Class::Priority, work)
}

/// The class of the request being made now: priority outside [`routine`].
pub fn class() -> Class {
    CLASS.try_with(|c| *c).unwrap_or(Class::Priority)
}

/// Why a budget is not usable.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BudgetError {
    /// Not a number.
    #[error(
        "--sweep-budget {0:?} is not a number: give the share of each operation's rate routine \
         checks may use, above 0 and at most 1, e.g. 0.25"
    )]
    NotANumber(String),
    /// Not above 0 and at most 1.
    #[error(
        "--sweep-budget {0} is not a share: give a number above 0 and at most 1, e.g. 0.25 (a \
         quarter of each operation's rate; 1 lets routine checks use all of it)"
    )]
    OutOfRange(f64),
}

/// A share of each operation's rate, above 0 and at most 1.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Budget(f64);

impl Budget {
    /// `share`, when it is above 0 and at most 1.
    pub fn new(share: f64) -> Result<Self, BudgetError> {
        if share > 0.0 && share <= 1.0 {
            Ok(Self(share))
        } else {
            Err(BudgetError::OutOfRange(share))
        }
    }

    /// The `--sweep-budget` value.
    pub fn parse(text: &str) -> Result<Self, BudgetError> {
        let share = text
            .trim()
            .parse::<f64>()
            .map_err(|_| BudgetError::NotANumber(text.to_owned()))?;
        Self::new(share)
    }

    /// The share.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl Default for Budget {
    fn default() -> Self {
        Self(DEFAULT_BUDGET)
    }
}

impl std::fmt::Display for Budget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// How often each shared walk (stacks, tags, the roots of error and canary groups) comes in a
/// sweep: routine checks' batches live a fifth of a sweep (see
/// [`crate::read::Batches::set_routine_age`]). A walk's pages grow with the pipelines, so a
/// fixed lifetime would make the walks bound the sweep at scale (at 1,000 pipelines and 30 s,
/// they took more `DescribeLogGroups` pages than the checks); this keeps their share constant.
pub const WALKS_PER_SWEEP: f64 = 5.0;

/// Pages per pipeline of each shared walk, measured at 1,000 pipelines (BENCHMARKS.md: one
/// walk each for a whole `pitagora drift`).
pub const WALK_PAGES: [(&str, f64); 3] = [
    ("CloudFormation.DescribeStacks", 0.02),
    ("CloudWatchLogs.DescribeLogGroups", 0.02),
    ("ResourceGroupsTaggingAPI.GetResources", 0.03),
];

/// The AWS calls of a converged minimal pipeline's check (one log group) of its own, by
/// operation: BENCHMARKS.md's "reads per pipeline per check" at 1,000 pipelines less the shared
/// walks' pages ([`WALK_PAGES`]), with AWS's steady state where moto differs (no
/// `GetTemplate`: AWS reports when a stack was updated).
pub const MINIMAL_PIPELINE: [(&str, f64); 14] = [
    ("CloudWatchLogs.DescribeLogGroups", 1.0),
    ("CloudWatchLogs.DescribeSubscriptionFilters", 2.0),
    ("Firehose.DescribeDeliveryStream", 1.0),
    ("IAM.GetRole", 2.0),
    ("IAM.GetRolePolicy", 2.0),
    ("IAM.ListAttachedRolePolicies", 2.0),
    ("IAM.ListRolePolicies", 2.0),
    ("S3.GetBucketEncryption", 1.0),
    ("S3.GetBucketLifecycleConfiguration", 1.0),
    ("S3.GetBucketNotificationConfiguration", 1.0),
    ("S3.GetBucketOwnershipControls", 1.0),
    ("S3.GetBucketPolicy", 1.0),
    ("S3.GetPublicAccessBlock", 1.0),
    ("CloudFormation.GetTemplate", 0.0),
];

/// Calls per check by operation (`Service.Operation`).
pub type CallsPerCheck = BTreeMap<String, f64>;

/// A minimal pipeline's calls per check: [`MINIMAL_PIPELINE`] and its share of the walks
/// ([`WALK_PAGES`], [`WALKS_PER_SWEEP`] times a sweep).
pub fn minimal_pipeline() -> CallsPerCheck {
    let mut calls: CallsPerCheck = MINIMAL_PIPELINE
        .iter()
        .map(|(op, n)| ((*op).to_owned(), *n))
        .collect();
    for (op, pages) in WALK_PAGES {
        *calls.entry(op.to_owned()).or_default() += pages * WALKS_PER_SWEEP;
    }
    calls
}

/// How long a sweep's checks wait for the shared walks: each batch's checks wait for its
/// longest walk, at the routine pace, [`WALKS_PER_SWEEP`] times a sweep.
pub fn walks_wait(pipelines: usize, limits: &Limits, budget: Budget) -> Duration {
    let longest = WALK_PAGES
        .iter()
        .map(|(op, pages)| pages * pipelines as f64 / (limits.rate(op) * budget.get()))
        .fold(0.0_f64, f64::max);
    Duration::from_secs_f64(longest * WALKS_PER_SWEEP)
}

/// How long a full sweep takes under the budget, and which operation bounds it.
#[derive(Clone, Debug, PartialEq)]
pub struct Sweep {
    /// The time of a full sweep.
    pub time: Duration,
    /// The operation whose share of the quota the sweep waits for; `None` when nothing limits
    /// it (no calls, or limits off).
    pub bottleneck: Option<String>,
}

/// A full sweep of `pipelines` pipelines each making `per_check` calls per check, routine
/// requests at `budget` of `limits`: the longest of (calls × pipelines) / (rate × budget) over
/// the operations. Every pipeline is counted in one account and region (the worst case: other
/// accounts and regions have quotas of their own).
pub fn sweep(
    per_check: &CallsPerCheck,
    pipelines: usize,
    limits: &Limits,
    budget: Budget,
) -> Sweep {
    let mut longest = (0.0_f64, None);
    for (operation, calls) in per_check {
        let seconds = calls * pipelines as f64 / (limits.rate(operation) * budget.get());
        if seconds > longest.0 {
            longest = (seconds, Some(operation.clone()));
        }
    }
    Sweep {
        time: Duration::from_secs_f64(longest.0),
        bottleneck: longest.1,
    }
}
