//! The controller's decisions, as values: from a pipeline, what the shell gathered, what events
//! were published recently and the time, compute the status to write, the events to publish
//! (deduplicated), when to look again, what the failure is and what to gather next. Pure: one
//! entry per flow, [`decide`] for a live pipeline and [`cleaned`] for a deleted one; the kube
//! shell in [`super`] only gathers and executes a [`Decision`], and the tests specify every
//! rule without a cluster.

use super::Error;
use super::delivery_status::Update;
use super::reasons::event;
use super::schedule::check_interval;
use super::status::{self, Checked, Outcome};
use crate::apply::ApplyReport;
use crate::engine::{Converged, EngineError};
use crate::plan::{Op, Plan};
use crate::report;
use crate::resources::ResourceKind;
use crate::spec::{InvalidSpec, LogPipeline, LogPipelineStatus, LossSignal};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use std::time::Duration;

pub(super) use super::decision::admitted;
pub use super::decision::{
    Decision, EVENT_REPEAT, EventMemory, Figures, Note, Requeue, Severity, object_key,
};
use super::schedule::{PENDING_RECHECK, RECONCILE_REQUESTED_AT};

/// The first retry after a failed reconcile; each further failure doubles it.
pub const FIRST_ERROR_BACKOFF: Duration = Duration::from_secs(5);

/// How long the last check stays current: `None` when this reconcile must check AWS now (the
/// spec changed, a check was requested, the last one failed or is due). See
/// [`super::schedule::due`], which also spreads checks after a restart.
pub fn current_for(lp: &LogPipeline, now: Timestamp) -> Option<Duration> {
    match super::schedule::due(lp, now, Timestamp::UNIX_EPOCH, Duration::ZERO) {
        super::schedule::Due::Current(left) => Some(left),
        _ => None,
    }
}

/// Whether a check was requested (by the annotation) and not yet handled.
pub fn requested(lp: &LogPipeline) -> bool {
    let handled = lp
        .status
        .as_ref()
        .and_then(|s| s.last_handled_reconcile_at.as_ref());
    lp.annotations()
        .get(RECONCILE_REQUESTED_AT)
        .is_some_and(|r| Some(r) != handled)
}

/// `interval` with ±10 % jitter, so many pipelines do not poll AWS in lockstep. `entropy` is any
/// number (the shell passes the clock's nanoseconds); the same entropy gives the same delay.
pub fn jittered(interval: Duration, entropy: u32) -> Duration {
    let factor = 0.9 + 0.2 * (f64::from(entropy % 1000) / 1000.0);
    interval.max(Duration::from_secs(1)).mul_f64(factor)
}

/// The wait before retrying after the `failures`-th consecutive failure: 5 s, 10 s, 20 s, …,
/// at most `cap`.
pub fn backoff(failures: u32, cap: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(10);
    FIRST_ERROR_BACKOFF
        .saturating_mul(1u32 << doublings)
        .min(cap)
}

/// What a reconcile of a live pipeline found.
#[derive(Debug)]
pub enum Found {
    /// The spec is invalid; nothing was read from AWS.
    Invalid(InvalidSpec),
    /// The engine failed before it could plan (or while verifying).
    Failed(EngineError),
    /// AWS was checked and, unless report-only, corrected.
    Converged(Box<Converged>),
}

/// What the deletion of a pipeline found.
#[derive(Debug)]
pub enum Cleaned {
    /// Nothing was ever created for this spec (never recorded, never actionable).
    Skipped,
    /// The spec is invalid, so the pipeline's resources cannot be told apart.
    Invalid(InvalidSpec),
    /// The engine failed.
    Failed(EngineError),
    /// The delete plan ran.
    Done {
        /// What was planned.
        plan: Plan,
        /// What executing it did.
        applied: ApplyReport,
        /// What reading back afterwards found.
        readback: crate::plan::Readback,
    },
}

/// The status `outcome` leads to.
fn status_after(lp: &LogPipeline, outcome: &Outcome, now: Timestamp) -> LogPipelineStatus {
    status::build(
        lp.status.as_ref(),
        lp.metadata.generation,
        // The stage in effect: the gate's when it has run, else the requested one.
        lp.status
            .as_ref()
            .and_then(|s| s.cutover.as_ref())
            .map_or(lp.spec.cutover_stage().as_str(), |c| c.stage.as_str()),
        outcome,
        lp.annotations()
            .get(RECONCILE_REQUESTED_AT)
            .map(String::as_str),
        Time(now),
    )
}

/// The decision of a check of a live pipeline, before the cutover, the delivery step and the
/// loss signals join it (see [`decide`]). `entropy` jitters the next check.
fn reconciled(
    lp: &LogPipeline,
    found: Found,
    memory: &EventMemory,
    now: Timestamp,
    entropy: u32,
) -> Decision {
    let (outcome, notes, requeue, failure, drift) = match found {
        Found::Invalid(invalid) => {
            let text: Vec<String> = invalid.0.iter().map(ToString::to_string).collect();
            let note = Note::warning(event::INVALID_SPEC, text.join("; "));
            // Nothing was compared: no drift figures stand for this pipeline.
            (
                Outcome::Invalid(invalid.0),
                vec![note],
                Requeue::AwaitChange,
                None,
                Some(Vec::new()),
            )
        }
        Found::Failed(EngineError::Refused(reasons)) => {
            // Nothing was written; only a spec change (the acknowledgement) can change this.
            let message = reasons.join("; ");
            let note = Note::warning(event::DESTRUCTIVE_CHANGE, message.clone());
            (
                Outcome::Refused(message),
                vec![note],
                Requeue::AwaitChange,
                Some(Error::Engine(EngineError::Refused(reasons))),
                None,
            )
        }
        Found::Failed(e @ EngineError::RoleNotAssumed { .. }) => {
            // Nothing was read: the role's trust or the controller's permission must change.
            let note = Note::warning(event::ROLE_NOT_ASSUMED, e.to_string());
            (
                Outcome::RoleNotAssumed(e.to_string()),
                vec![note],
                Requeue::AwaitChange,
                Some(Error::Engine(e)),
                None,
            )
        }
        Found::Failed(e) => {
            // Writes may have happened before a verification that failed: say so in status.
            let note = Note::warning(event::AWS_ERROR, e.to_string());
            let outcome = Outcome::AwsError(e.to_string());
            (
                outcome,
                vec![note],
                Requeue::AwaitChange,
                Some(Error::Engine(e)),
                None,
            )
        }
        Found::Converged(c) => return converged(lp, &c, memory, now, entropy),
    };
    Decision {
        status: Some(status_after(lp, &outcome, now)),
        events: admitted(lp, notes, memory, now),
        requeue,
        failure,
        drift,
        settled: Vec::new(),
        figures: Figures::default(),
    }
}

fn converged(
    lp: &LogPipeline,
    c: &Converged,
    memory: &EventMemory,
    now: Timestamp,
    entropy: u32,
) -> Decision {
    if !c.refused.is_empty() {
        return refused_later(lp, c, memory, now);
    }
    let apply_error = c.applied().flat_map(|r| r.errors()).next().cloned();
    let items = crate::drift::items(&c.remaining);
    let drift = items.iter().map(|i| i.kind).collect();
    let outcome = Outcome::Checked(Box::new(Checked {
        initial: c.initial.clone(),
        remaining: c.remaining.clone(),
        resources: report::resources(&c.check()),
        items: items.clone(),
        apply_error: apply_error.as_ref().map(ToString::to_string),
    }));
    let mut notes = Vec::new();
    if apply_error.is_none() {
        notes.extend(pass_events(lp, c));
    }
    let ownership: Vec<String> = c
        .remaining
        .ownership_conflicts()
        .map(|a| format!("{} {}: {}", a.kind, a.name, a.reason))
        .collect();
    if !ownership.is_empty() {
        notes.push(Note::warning(
            event::OWNERSHIP_CONFLICT,
            ownership.join("; "),
        ));
    } else if !c.remaining.in_sync() && apply_error.is_none() {
        notes.push(Note::warning(
            event::DRIFT_DETECTED,
            status::summary(&items),
        ));
    }
    if let Some(e) = &apply_error {
        notes.push(Note::warning(event::AWS_ERROR, e.to_string()));
    }
    // Mid-operation resources are checked again soon; otherwise at the pipeline's interval.
    let interval = if c.remaining.pending.is_empty() {
        check_interval(lp)
    } else {
        PENDING_RECHECK
    };
    Decision {
        status: Some(status_after(lp, &outcome, now)),
        events: admitted(lp, notes, memory, now),
        requeue: Requeue::After(jittered(interval, entropy)),
        failure: apply_error.map(Error::Apply),
        drift: Some(drift),
        settled: Vec::new(),
        figures: Figures::default(),
    }
}

/// One change event per pass that wrote, in order: each names what its own plan changed. A
/// later pass's says which it is, and is its own event series (it is about other writes).
fn pass_events(lp: &LogPipeline, c: &Converged) -> Vec<Note> {
    c.passes
        .iter()
        .enumerate()
        .map(|(i, pass)| {
            let note = change_event(lp, &pass.plan);
            match i + 1 {
                1 => note,
                n => {
                    let action = format!("{}/Pass{n}", note.reason);
                    Note::new(
                        note.severity,
                        note.reason,
                        format!("pass {n}: {}", note.text),
                    )
                    .acting(action)
                }
            }
        })
        .collect()
}

/// A later pass refused by the guard: held exactly as a refusal of the first pass (status,
/// `DestructiveChange` event, waiting for the spec), after the change events of the passes that
/// wrote before it.
fn refused_later(
    lp: &LogPipeline,
    c: &Converged,
    memory: &EventMemory,
    now: Timestamp,
) -> Decision {
    let message = c.refused.join("; ");
    let mut notes = pass_events(lp, c);
    notes.push(Note::warning(event::DESTRUCTIVE_CHANGE, message.clone()));
    Decision {
        status: Some(status_after(lp, &Outcome::Refused(message), now)),
        events: admitted(lp, notes, memory, now),
        requeue: Requeue::AwaitChange,
        failure: Some(Error::Engine(EngineError::Refused(c.refused.clone()))),
        drift: None,
        settled: Vec::new(),
        figures: Figures::default(),
    }
}

/// What an applied plan did, for an event: `Created` on the first reconcile that created the
/// stack, `Updated` when the spec changed, `DriftCorrected` when AWS changed out of band; the
/// note names the fields.
pub fn change_event(lp: &LogPipeline, initial: &Plan) -> Note {
    let handled = lp.status.as_ref().and_then(|s| s.observed_generation);
    let created = initial
        .writes()
        .any(|a| a.kind == ResourceKind::Stack && a.op == Op::Create);
    let reason = if created && handled.is_none() {
        event::CREATED
    } else if handled != lp.metadata.generation {
        event::UPDATED
    } else {
        event::DRIFT_CORRECTED
    };
    let items = crate::drift::items(initial);
    Note::new(Severity::Normal, reason, status::summary(&items))
}

/// The decision of a deleted pipeline's cleanup. A failure keeps the finalizer: the status and
/// a `DeleteBlocked` event say why, and the failure carries its cause's label.
pub fn cleaned(
    lp: &LogPipeline,
    cleaned: Cleaned,
    memory: &EventMemory,
    now: Timestamp,
) -> Decision {
    let (message, failure) = match cleaned {
        Cleaned::Skipped => return Decision::wait_for_change(None),
        Cleaned::Invalid(e) => (
            format!(
                "the spec is invalid, so pitagora cannot tell which AWS resources are this pipeline's ({e}); fix the spec, or remove the finalizer {} to leave them in AWS",
                super::FINALIZER
            ),
            Error::Engine(EngineError::InvalidSpec(e)),
        ),
        Cleaned::Failed(e) => (e.to_string(), Error::Engine(e)),
        Cleaned::Done {
            applied, readback, ..
        } => {
            let errors: Vec<String> = applied.errors().map(ToString::to_string).collect();
            match applied.errors().next() {
                Some(first) => (errors.join("; "), Error::Apply(first.clone())),
                // Someone else's resources stay (the plan's conflicts); this pipeline's are gone,
                // but for what reading back found: named in a warning as the object goes, for
                // the stack is gone and what it left is no longer pitagora's to delete.
                None => {
                    let mut done = Decision::wait_for_change(Some(Vec::new()));
                    if !readback.complete() {
                        let left: Vec<String> = readback
                            .leftovers
                            .iter()
                            .map(|l| format!("{} {}: {}", l.kind, l.name, l.why))
                            .collect();
                        let note = Note::warning(
                            event::DELETE_INCOMPLETE,
                            format!("deleted, yet still in AWS: {}", left.join("; ")),
                        );
                        done.events = admitted(lp, vec![note], memory, now);
                    }
                    return done;
                }
            }
        }
    };
    let outcome = Outcome::DeleteBlocked(message.clone());
    let note = Note::warning(event::DELETE_BLOCKED, message);
    Decision {
        status: Some(status_after(lp, &outcome, now)),
        events: admitted(lp, vec![note], memory, now),
        requeue: Requeue::AwaitChange,
        failure: Some(failure),
        drift: None,
        settled: Vec::new(),
        figures: Figures::default(),
    }
}

mod delivered;
mod reconcile;
pub use delivered::MAX_LOSS_SIGNALS;
use delivered::{delivered, with_delivery, with_signals, without_delivery};
pub use reconcile::{Gathered, Io, Next, Stepped, decide};
