//! How long a full sweep of the pipelines takes under the quota budget (see
//! [`crate::aws::budget`]), and so how often a routine check can come: at start-up from a
//! minimal pipeline's calls per check times the pipelines listed; once enough routine checks
//! were made, from what they cost, measured by the call counter.

use super::schedule::check_interval;
use crate::aws::budget::{self, Budget, CallsPerCheck, Sweep};
use crate::aws::{CallCounter, Limits};
use crate::spec::LogPipeline;
use kube::ResourceExt;
use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// Routine checks made before their measured cost replaces the model: enough that the shared
/// walks, each counted by the one check that made it, average out.
pub const MEASURED_AFTER: u64 = 20;

/// The routine checks' calls per check by operation: `calls` over `checks`.
pub fn measured(calls: &BTreeMap<String, u64>, checks: u64) -> CallsPerCheck {
    calls
        .iter()
        .map(|(op, n)| (op.clone(), *n as f64 / checks.max(1) as f64))
        .collect()
}

/// How long routine checks' shared reads live under `sweep` (see
/// [`crate::read::Batches::set_routine_age`]): each walk comes
/// [`budget::WALKS_PER_SWEEP`] times a sweep, so its shared reads are at most a fifth of a
/// sweep old.
pub fn routine_batch_age(sweep: &Sweep) -> Duration {
    sweep.time.div_f64(budget::WALKS_PER_SWEEP)
}

/// The sweep time the controller schedules routine checks by.
#[derive(Debug)]
pub struct Sweeps {
    limits: Limits,
    pipelines: AtomicUsize,
    routine_checks: AtomicU64,
    /// The last estimate's time, in milliseconds.
    time_ms: AtomicU64,
    /// The pipelines already told their interval is shorter than the sweep.
    told: Mutex<HashSet<String>>,
}

impl Sweeps {
    /// Under `limits` (and their budget), nothing counted yet.
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            pipelines: AtomicUsize::new(0),
            routine_checks: AtomicU64::new(0),
            time_ms: AtomicU64::new(0),
            told: Mutex::default(),
        }
    }

    /// The share of every rate routine checks may use.
    pub fn budget(&self) -> Budget {
        self.limits.budget()
    }

    /// The sweep of `pipelines` pipelines at start-up, from the model; logged.
    pub fn start(&self, pipelines: usize) -> Sweep {
        self.pipelines.store(pipelines, Ordering::Relaxed);
        let sweep = self.store(&budget::minimal_pipeline(), pipelines);
        tracing::info!(
            pipelines,
            seconds = sweep.time.as_secs(),
            budget = self.budget().get(),
            bottleneck = sweep.bottleneck.as_deref().unwrap_or("none"),
            "a full sweep of {pipelines} pipelines takes about {} s under a {} % budget of each operation's quota; bottleneck: {}",
            sweep.time.as_secs(),
            (self.budget().get() * 100.0).round(),
            sweep.bottleneck.as_deref().unwrap_or("none"),
        );
        sweep
    }

    /// Counts a routine check done among `pipelines` pipelines, and estimates again: from the
    /// model until [`MEASURED_AFTER`] routine checks, then from their calls.
    pub fn routine_checked(&self, calls: &CallCounter, pipelines: Option<usize>) -> Sweep {
        let checks = self.routine_checks.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(n) = pipelines {
            self.pipelines.store(n, Ordering::Relaxed);
        }
        let n = self.pipelines.load(Ordering::Relaxed);
        if checks < MEASURED_AFTER {
            return self.store(&budget::minimal_pipeline(), n);
        }
        self.store(&measured(&calls.routine(), checks), n)
    }

    fn store(&self, per_check: &CallsPerCheck, pipelines: usize) -> Sweep {
        let mut sweep = budget::sweep(per_check, pipelines, &self.limits, self.budget());
        sweep.time += budget::walks_wait(pipelines, &self.limits, self.budget());
        let ms = u64::try_from(sweep.time.as_millis()).unwrap_or(u64::MAX);
        self.time_ms.store(ms, Ordering::Relaxed);
        sweep
    }

    /// The last estimate of a full sweep's time.
    pub fn time(&self) -> Duration {
        Duration::from_millis(self.time_ms.load(Ordering::Relaxed))
    }

    /// Logs, once per pipeline, that `lp` asks for checks more often than a sweep allows.
    pub fn tell_if_shorter(&self, lp: &LogPipeline) {
        let (interval, sweep) = (check_interval(lp), self.time());
        if interval >= sweep {
            return;
        }
        let key = format!("{}/{}", lp.namespace().unwrap_or_default(), lp.name_any());
        let mut told = self.told.lock().unwrap_or_else(|p| p.into_inner());
        if told.insert(key) {
            tracing::info!(
                namespace = %lp.namespace().unwrap_or_default(),
                pipeline = %lp.name_any(),
                check_interval_s = interval.as_secs(),
                sweep_s = sweep.as_secs(),
                "drift.checkIntervalSeconds is shorter than a full sweep under the budget: routine checks come every {} s (raise --sweep-budget or the rate limits for more)",
                sweep.as_secs(),
            );
        }
    }
}
