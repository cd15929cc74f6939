//! The status a reconcile writes, computed as a value from what the reconcile found and did
//! (pure, so every transition is tested without a cluster).
//!
//! Conditions (Kubernetes shape; `lastTransitionTime` moves only when `status` changes):
//! - `Ready`: AWS holds what the spec asks for.
//! - `Synced`: the last reconcile could read the spec and talk to AWS.
//! - `Drifted`: AWS differs from the spec now (a report-only pipeline, a conflict, a failed
//!   correction); `False` with reason `DriftCorrected` right after a correction.

use super::reasons::{condition, reason};
use crate::plan::Plan;
use crate::report::Resource;
use crate::spec::{DriftItem, FieldError, LogPipelineStatus, ResourceStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// Most drift items kept in status (the CRD's bound).
pub const MAX_DRIFT_ITEMS: usize = 50;
/// Most resources kept in status (the CRD's bound).
pub const MAX_RESOURCES: usize = 300;

/// What a check found and did.
#[derive(Debug, Clone)]
pub struct Checked {
    /// The plan found first.
    pub initial: Plan,
    /// The plan found after applying (the same as `initial` when nothing was applied).
    pub remaining: Plan,
    /// Resources and their state, after applying.
    pub resources: Vec<Resource>,
    /// The remaining drift items.
    pub items: Vec<DriftItem>,
    /// Why applying failed, if it did.
    pub apply_error: Option<String>,
}

/// What a reconcile found and did.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The spec is invalid; nothing was read from or written to AWS.
    Invalid(Vec<FieldError>),
    /// AWS could not be read (or the engine failed before planning).
    AwsError(String),
    /// The role of the namespace's account could not be assumed; nothing was read.
    RoleNotAssumed(String),
    /// AWS was checked (and, unless report-only, corrected).
    Checked(Box<Checked>),
    /// Deleting the pipeline's AWS resources failed; the finalizer stays.
    DeleteBlocked(String),
    /// The change would lose logs or delivery without `spec.acknowledge`; nothing written.
    Refused(String),
}

fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time: now.clone(),
    }
}

/// Sets `new` among `conditions`, keeping the previous transition time when the status did not
/// change.
pub(super) fn set(conditions: &mut Vec<Condition>, mut new: Condition) {
    match conditions.iter_mut().find(|c| c.type_ == new.type_) {
        Some(old) => {
            if old.status == new.status {
                new.last_transition_time = old.last_transition_time.clone();
            }
            *old = new;
        }
        None => conditions.push(new),
    }
}

/// A reconcile that did not get to compare AWS with the spec: `Synced` is `False` and `Ready`
/// is `ready`, both with `reason` and `message`.
fn failed(
    status: &mut LogPipelineStatus,
    ready: &str,
    reason: &str,
    message: String,
    g: Option<i64>,
    now: &Time,
) {
    let message = truncate(message, 2000);
    set(
        &mut status.conditions,
        new_condition(condition::READY, ready, reason, message.clone(), g, now),
    );
    set(
        &mut status.conditions,
        new_condition(condition::SYNCED, "False", reason, message, g, now),
    );
}

fn truncate(text: String, max: usize) -> String {
    if text.chars().count() <= max {
        text
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// The item list as a short message: the first few fields.
pub fn summary(items: &[DriftItem]) -> String {
    let mut parts: Vec<String> = items
        .iter()
        .take(5)
        .map(|i| match &i.field {
            Some(f) => format!("{} {} {f}", i.kind, i.resource),
            None => format!("{} {} ({})", i.kind, i.resource, i.action),
        })
        .collect();
    if items.len() > 5 {
        parts.push(format!("and {} more", items.len() - 5));
    }
    parts.join("; ")
}

/// The new status.
pub fn build(
    previous: Option<&LogPipelineStatus>,
    generation: Option<i64>,
    stage: &str,
    outcome: &Outcome,
    requested_at: Option<&str>,
    now: Time,
) -> LogPipelineStatus {
    let mut status = previous.cloned().unwrap_or_default();
    let g = generation;
    match outcome {
        Outcome::Invalid(errors) => {
            let message: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let message = message.join("; ");
            failed(&mut status, "False", reason::INVALID_SPEC, message, g, &now);
            status.observed_generation = g;
        }
        // AWS could not be read: whether it matches the spec is unknown.
        Outcome::AwsError(e) => failed(
            &mut status,
            "Unknown",
            reason::AWS_ERROR,
            e.clone(),
            g,
            &now,
        ),
        Outcome::RoleNotAssumed(e) => failed(
            &mut status,
            "Unknown",
            reason::ROLE_NOT_ASSUMED,
            e.clone(),
            g,
            &now,
        ),
        Outcome::DeleteBlocked(e) => failed(
            &mut status,
            "False",
            reason::DELETE_BLOCKED,
            e.clone(),
            g,
            &now,
        ),
        Outcome::Refused(e) => {
            failed(
                &mut status,
                "False",
                reason::DESTRUCTIVE_CHANGE,
                e.clone(),
                g,
                &now,
            );
            // This generation was read and judged: the refusal is its answer.
            status.observed_generation = g;
        }
        Outcome::Checked(checked) => record_check(&mut status, checked, g, &now),
    }
    stalled(&mut status, g, &now);
    status.stage = Some(stage.to_owned());
    status.last_handled_reconcile_at = requested_at.map(str::to_owned);
    status
}

/// `Stalled` (kstatus's convention, which Flux and kpt read): `True` while only a human can move
/// the pipeline on — an invalid spec, a refused destructive change, a blocked delete, an
/// ownership conflict — with that condition's reason and message; absent otherwise, as kstatus
/// expects of an abnormal-true condition.
fn stalled(status: &mut LogPipelineStatus, g: Option<i64>, now: &Time) {
    const HUMAN: [(&str, &str); 4] = [
        (condition::SYNCED, reason::INVALID_SPEC),
        (condition::SYNCED, reason::DESTRUCTIVE_CHANGE),
        (condition::SYNCED, reason::DELETE_BLOCKED),
        (condition::READY, reason::CONFLICT),
    ];
    let cause = status
        .conditions
        .iter()
        .find(|c| c.status == "False" && HUMAN.contains(&(c.type_.as_str(), c.reason.as_str())))
        .map(|c| (c.reason.clone(), c.message.clone()));
    match cause {
        Some((why, message)) => set(
            &mut status.conditions,
            new_condition(condition::STALLED, "True", &why, message, g, now),
        ),
        None => status.conditions.retain(|c| c.type_ != condition::STALLED),
    }
}

/// `Ready`: what stands between AWS and the spec, the most pressing first.
fn readiness(c: &Checked) -> (&'static str, &'static str, String) {
    let refused = c
        .remaining
        .conflicts()
        .find(|a| a.conflict() == Some(crate::plan::ConflictKind::NoFreeFilterSlot));
    if let Some(e) = &c.apply_error {
        ("False", reason::APPLY_FAILED, e.clone())
    } else if let Some(refused) = refused {
        ("False", reason::NO_FREE_FILTER_SLOT, refused.reason.clone())
    } else if c.remaining.conflicts().next().is_some() {
        ("False", reason::CONFLICT, summary(&c.items))
    } else if !c.remaining.pending.is_empty() {
        ("False", reason::PENDING, summary(&c.items))
    } else if !c.remaining.actions.is_empty() {
        // Differences stand: by policy, or because a correction did not take.
        let why = if c.remaining.report_only {
            "drift.policy: Report"
        } else {
            "still differs after correcting"
        };
        (
            "False",
            reason::DRIFTED,
            format!("{why}; {}", summary(&c.items)),
        )
    } else {
        ("True", reason::IN_SYNC, "AWS matches the spec".to_owned())
    }
}

/// `Drifted`: differences now, a correction just made, or none.
fn drift_condition(c: &Checked, g: Option<i64>, now: &Time) -> Condition {
    let (status, why, message) = if !c.remaining.in_sync() {
        ("True", reason::DRIFT_DETECTED, summary(&c.items))
    } else if !c.initial.in_sync() && !c.initial.report_only {
        let fixed = crate::drift::items(&c.initial);
        ("False", reason::DRIFT_CORRECTED, summary(&fixed))
    } else {
        ("False", reason::NO_DRIFT, "AWS matches the spec".to_owned())
    };
    new_condition(
        condition::DRIFTED,
        status,
        why,
        truncate(message, 2000),
        g,
        now,
    )
}

fn record_check(status: &mut LogPipelineStatus, c: &Checked, g: Option<i64>, now: &Time) {
    let (ready, why, message) = readiness(c);
    set(
        &mut status.conditions,
        new_condition(
            condition::READY,
            ready,
            why,
            truncate(message, 2000),
            g,
            now,
        ),
    );
    let (synced, why, message) = match &c.apply_error {
        Some(e) => ("False", reason::APPLY_FAILED, e.clone()),
        None => (
            "True",
            reason::RECONCILE_SUCCESS,
            "AWS was read and the plan executed".to_owned(),
        ),
    };
    set(
        &mut status.conditions,
        new_condition(
            condition::SYNCED,
            synced,
            why,
            truncate(message, 2000),
            g,
            now,
        ),
    );
    set(&mut status.conditions, drift_condition(c, g, now));
    status.observed_generation = g;
    status.resources = c
        .resources
        .iter()
        .take(MAX_RESOURCES)
        .map(|r| ResourceStatus {
            kind: r.kind,
            name: r.name.clone(),
            state: r.state.as_str().into(),
        })
        .collect();
    status.drift_count = Some(c.items.len() as i32);
    status.drift = c
        .items
        .iter()
        .take(MAX_DRIFT_ITEMS)
        .map(|i| {
            let (desired, actual) = crate::drift::shorten_pair(
                i.desired.as_deref().unwrap_or_default(),
                i.actual.as_deref().unwrap_or_default(),
                256,
            );
            DriftItem {
                desired: i.desired.as_ref().map(|_| desired),
                actual: i.actual.as_ref().map(|_| actual),
                ..i.clone()
            }
        })
        .collect();
    status.last_check_time = Some(now.clone());
}
