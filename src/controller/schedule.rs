//! When a pipeline is checked, as values. Every successful check writes status, and that write
//! comes back as a watch event: the last check stays *current* for the check interval, and only
//! delivery steps run meanwhile. A check that a person waits for — a new or changed spec, a
//! requested check, a retry after a failure — runs at once; a *routine* check, due by time only,
//! runs behind them (the shell gives routine checks all workers but one).
//!
//! A routine check is not due before a full sweep under the quota budget could come round
//! (see [`super::sweep`]): a spec asking for checks more often gets them as often as the budget
//! allows.
//!
//! After a restart, every pipeline whose last check is older than its interval is due at once:
//! instead, each waits for its own slot within one interval of the start, at a phase derived from
//! its uid, so the checks (and their AWS calls) spread evenly.

use super::decision::object_key;
use super::reasons::{condition, reason};
use crate::spec::LogPipeline;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Setting this annotation (to any new value, e.g. a timestamp) triggers an immediate check.
pub const RECONCILE_REQUESTED_AT: &str = "pitagora.dev/reconcile-requested-at";
/// How soon a pipeline with a resource mid-operation in AWS is checked again.
pub const PENDING_RECHECK: Duration = Duration::from_secs(15);

/// How soon a routine check that found every routine worker busy is tried again.
pub const ROUTINE_RETRY: Duration = Duration::from_secs(2);

/// What a reconcile does, by when it runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// The last check stays current this long: only a delivery step, if one is due.
    Current(Duration),
    /// A check due by time only: it runs when a routine worker is free.
    Routine,
    /// A check someone waits for: at once, ahead of routine checks.
    Priority,
}

/// The pipeline's check interval.
pub(super) fn check_interval(lp: &LogPipeline) -> Duration {
    Duration::from_secs(lp.spec.drift.check_interval_seconds.max(1) as u64)
}

/// A stable offset of `key` within `interval`, spread evenly over it.
pub fn phase(key: &str, interval: Duration) -> Duration {
    let digest = Sha256::digest(key.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let fraction = u64::from_be_bytes(first) as f64 / (u64::MAX as f64 + 1.0);
    interval.mul_f64(fraction)
}

fn elapsed(from: Timestamp, to: Timestamp) -> Option<Duration> {
    Duration::try_from(to.duration_since(from)).ok()
}

/// What a reconcile of `lp` at `now` does, for a controller started at `started` whose full
/// sweep takes `sweep` under the budget.
pub fn due(lp: &LogPipeline, now: Timestamp, started: Timestamp, sweep: Duration) -> Due {
    let Some(status) = lp.status.as_ref() else {
        return Due::Priority;
    };
    let find = |t: &str| status.conditions.iter().find(|c| c.type_ == t);
    let requested = lp.annotations().get(RECONCILE_REQUESTED_AT);
    if status.observed_generation != lp.metadata.generation
        || requested != status.last_handled_reconcile_at.as_ref()
        || find(condition::SYNCED).is_none_or(|c| c.status != "True")
    {
        return Due::Priority;
    }
    let Some(last) = status.last_check_time.as_ref().map(|t| t.0) else {
        return Due::Priority;
    };
    let interval = if find(condition::READY).is_some_and(|c| c.reason == reason::PENDING) {
        PENDING_RECHECK
    } else {
        check_interval(lp).max(sweep)
    };
    let Some(since) = elapsed(last, now) else {
        // A check time in the future (a clock step): check now.
        return Due::Priority;
    };
    if let Some(left) = interval.checked_sub(since).filter(|l| !l.is_zero()) {
        return Due::Current(left);
    }
    // Overdue because the controller was not running: wait for this pipeline's slot.
    if last < started {
        let slot = started + phase(&object_key(lp), interval);
        if let Some(left) = elapsed(now, slot).filter(|l| !l.is_zero()) {
            return Due::Current(left);
        }
    }
    Due::Routine
}
