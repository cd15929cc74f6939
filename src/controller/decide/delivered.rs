//! The decisions of a delivery step: its update, the loss signals and the `Delivering`
//! condition joined to a reconcile's decision.

use super::*;

/// Adds a delivery step's update to a reconcile's decision: the delivery status and the
/// `Delivering` condition join the status it writes, the events its notes, and the next check
/// comes no later than the next delivery step.
pub(super) fn with_delivery(
    mut d: Decision,
    lp: &LogPipeline,
    update: Update,
    memory: &EventMemory,
    now: Timestamp,
) -> Decision {
    let status = d
        .status
        .get_or_insert_with(|| lp.status.clone().unwrap_or_default());
    // A canary that settled counts towards the cutover's proof now, even between checks.
    if let Some(cutover) = status.cutover.as_mut() {
        let max_ms = i64::from(lp.spec.cutover.max_delivery_seconds) * 1000;
        let settled = crate::cutover::gate::settled_canary(&update.status);
        crate::cutover::gate::count(cutover, settled.as_ref(), max_ms);
    }
    status.delivery = Some(update.status);
    if let Some(c) = update.condition {
        status::set(&mut status.conditions, c);
    }
    let notes = update
        .events
        .into_iter()
        .map(|(warning, reason, text)| {
            let severity = if warning {
                Severity::Warning
            } else {
                Severity::Normal
            };
            Note::new(severity, reason, text)
        })
        .collect();
    d.events.extend(admitted(lp, notes, memory, now));
    let next = Duration::from_millis(update.next_in_ms.max(1_000) as u64);
    d.requeue = match d.requeue {
        Requeue::After(after) => Requeue::After(after.min(next)),
        Requeue::AwaitChange => Requeue::After(next),
    };
    d.settled = update.settled;
    d
}

/// Loss signals listed in the status, at most.
pub const MAX_LOSS_SIGNALS: usize = 20;

/// The loss signals of this check in the delivery status, and a `LossDetected` warning naming
/// those the last check did not list.
pub(super) fn with_signals(
    mut d: Decision,
    lp: &LogPipeline,
    signals: &[crate::delivery::signals::Signal],
    memory: &EventMemory,
    now: Timestamp,
) -> Decision {
    let Some(status) = d.status.as_mut() else {
        return d;
    };
    let before = lp.status.as_ref().and_then(|s| s.delivery.as_ref());
    let known = |s: &LossSignal| {
        before.is_some_and(|b| {
            b.loss_signals
                .iter()
                .any(|k| k.kind == s.kind && k.resource == s.resource)
        })
    };
    let listed: Vec<LossSignal> = signals
        .iter()
        .take(MAX_LOSS_SIGNALS)
        .map(LossSignal::from)
        .collect();
    let new: Vec<&str> = listed
        .iter()
        .filter(|s| !known(s))
        .map(|s| s.message.as_str())
        .collect();
    if !listed.is_empty()
        && let Some(cutover) = status.cutover.as_mut()
    {
        cutover.last_loss_signal_time = Some(Time(now));
    }
    if !new.is_empty() {
        let note = Note::warning(event::LOSS_DETECTED, new.join("; "));
        d.events.extend(admitted(lp, vec![note], memory, now));
    }
    status
        .delivery
        .get_or_insert_with(Default::default)
        .loss_signals = listed;
    d
}

/// A reconcile that only took a delivery step (the last check is still current for `left`).
pub(super) fn delivered(
    lp: &LogPipeline,
    update: Update,
    left: Duration,
    memory: &EventMemory,
    now: Timestamp,
) -> Decision {
    with_delivery(Decision::wait(left), lp, update, memory, now)
}

/// Sets `Delivering=Unknown` (verification disabled) on the status a decision writes.
pub(super) fn without_delivery(mut d: Decision, lp: &LogPipeline, now: Timestamp) -> Decision {
    if let Some(status) = &mut d.status {
        status.delivery = None;
        status::set(
            &mut status.conditions,
            crate::controller::delivery_status::disabled(lp.metadata.generation, &Time(now)),
        );
    }
    d
}
