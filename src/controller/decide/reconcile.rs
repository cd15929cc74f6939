//! One reconcile of a live pipeline, decided in one place. The shell gathers what [`decide`]
//! asks for into a [`Gathered`] and calls it again, until the answer is a [`Decision`]. Between
//! checks only a delivery step runs; a full check finds the staged pipeline, then takes the
//! delivery step due and reads the loss signals.

use super::*;
use crate::controller::cutover_io::CutoverRun;
use crate::controller::cutover_status::with_cutover;
use crate::controller::delivery_status::{self as steps, Step};
use crate::controller::schedule::{self, Due};
use crate::delivery::progress::{self, CanaryRoute, Tracked};
use crate::desired::{Desired, Pipeline};
use crate::engine::LossRead;

/// What the shell gathered for one reconcile so far: each `None` is not gathered yet.
#[derive(Debug)]
pub struct Gathered {
    /// When this replica started acting: overdue checks spread over an interval from here.
    pub started: Timestamp,
    /// How long after the buffering interval a canary may take to reach `raw/`.
    pub canary_margin: Duration,
    /// How long a full sweep takes under the quota budget: routine checks come no more often.
    pub sweep: Duration,
    /// When the reconcile runs, fixed by its first decision.
    pub due: Option<Due>,
    /// A routine check found no routine worker free.
    pub busy: bool,
    /// Between checks: the pipeline resolved for its delivery step (`Some(None)`: it could not
    /// be validated or resolved).
    pub resolved: Option<Option<Box<Pipeline>>>,
    /// A full check: what it found.
    pub found: Option<Found>,
    /// Beside fluentd: the cutover's part of the check.
    pub cutover: Option<CutoverRun>,
    /// The delivery step (`Some(None)`: none was taken).
    pub delivery: Option<Option<Stepped>>,
    /// The loss signals (`Some(None)`: none were read).
    pub signals: Option<Option<LossRead>>,
    /// A change arrived as an event and waits for this pipeline's check (its description): the
    /// check runs at once, and what it corrects says so.
    pub event: Option<String>,
}

impl Gathered {
    /// Nothing gathered yet, for a controller that started acting at `started`.
    pub fn new(started: Timestamp, canary_margin: Duration) -> Self {
        Self {
            started,
            canary_margin,
            sweep: Duration::ZERO,
            due: None,
            busy: false,
            resolved: None,
            found: None,
            cutover: None,
            delivery: None,
            signals: None,
            event: None,
        }
    }

    /// This value with a change waiting for the check, described.
    pub fn with_event(self, event: Option<String>) -> Self {
        Self { event, ..self }
    }

    /// This value with routine checks no more often than every `sweep`.
    pub fn with_sweep(self, sweep: Duration) -> Self {
        Self { sweep, ..self }
    }
}

/// A delivery step taken: what it did, and when.
#[derive(Debug)]
pub struct Stepped {
    /// Sent and looked, or failed.
    pub step: Step,
    /// When the step was taken.
    pub at_ms: i64,
}

/// The I/O the shell does next, to add its result to the [`Gathered`] value.
#[derive(Debug)]
pub enum Io {
    /// Validate and resolve the pipeline, for a delivery step between checks.
    Resolve,
    /// Check and converge AWS (beside fluentd, the cutover too). A `routine` check runs only
    /// when a routine worker is free: the last worker is left to checks someone waits for.
    Check { routine: bool },
    /// Send a canary along `route` and look for it (`look: None`), or look for the one in
    /// flight.
    Deliver {
        region: String,
        route: Box<CanaryRoute>,
        look: Option<Tracked>,
    },
    /// Read the loss signals of `groups` (in the pipeline's account and region and in each
    /// remote source's) from `since_ms` until now.
    Signals {
        desired: Box<Desired>,
        groups: crate::delivery::signals::Sources,
        since_ms: i64,
    },
}

/// What to do after [`decide`].
#[derive(Debug)]
pub enum Next {
    /// Do this I/O, add its result to the gathered value and decide again.
    Gather(Box<Gathered>, Box<Io>),
    /// Execute this decision: nothing more is needed.
    Done(Box<Decision>),
}

fn done(d: Decision) -> Next {
    Next::Done(Box::new(d))
}

fn gather(g: Gathered, io: Io) -> Next {
    Next::Gather(Box::new(g), Box::new(io))
}

/// The decision of a reconcile of a live pipeline from what was gathered, or the I/O it still
/// needs. `entropy` jitters the next check.
pub fn decide(
    lp: &LogPipeline,
    mut g: Gathered,
    memory: &EventMemory,
    now: Timestamp,
    entropy: u32,
) -> Next {
    let (started, sweep) = (g.started, g.sweep);
    let event = g.event.is_some();
    let due = *g
        .due
        .get_or_insert_with(|| match schedule::due(lp, now, started, sweep) {
            // A change someone made waits for the check: it is not routine.
            Due::Current(_) | Due::Routine if event => Due::Priority,
            due => due,
        });
    if g.found.is_some() {
        return checked(lp, g, memory, now, entropy);
    }
    match due {
        Due::Current(left) => between_checks(lp, g, left, memory, now),
        // Rather than hold a worker while waiting for a routine one, come back shortly.
        Due::Routine if g.busy => done(Decision::wait(jittered(schedule::ROUTINE_RETRY, entropy))),
        Due::Routine => gather(g, Io::Check { routine: true }),
        Due::Priority => gather(g, Io::Check { routine: false }),
    }
}

/// The route with the operator's margin.
fn with_margin(route: Option<CanaryRoute>, margin: Duration) -> Option<CanaryRoute> {
    route.map(|r| CanaryRoute {
        margin_ms: margin.as_millis() as i64,
        ..r
    })
}

/// The delivery step due now along `route`: `Some(None)` sends a canary, `Some(Some(_))` looks
/// for the one in flight. A `requested` check (the annotation) sends a new canary unless one
/// is in flight.
fn step_due(
    lp: &LogPipeline,
    route: &CanaryRoute,
    requested: bool,
    now: Timestamp,
) -> Option<Option<Tracked>> {
    let status = lp.status.as_ref().and_then(|s| s.delivery.as_ref());
    let due = match steps::due(route, status, now.as_millisecond()) {
        progress::Due::Wait(_) if requested => match steps::tracked(route, status) {
            Some(t) if t.outcome() == progress::Outcome::Pending => progress::Due::Look,
            _ => progress::Due::Send,
        },
        due => due,
    };
    match due {
        progress::Due::Wait(_) => None,
        progress::Due::Send => Some(None),
        progress::Due::Look => steps::tracked(route, status).map(Some),
    }
}

/// The update a delivery step makes, judged against the `resources` of the last check.
fn stepped_update(
    lp: &LogPipeline,
    route: &CanaryRoute,
    stepped: Stepped,
    resources: &[crate::spec::ResourceStatus],
) -> Update {
    let evidence = steps::evidence(route, resources);
    steps::update(
        route,
        lp.status.as_ref(),
        stepped.step,
        &evidence,
        lp.metadata.generation,
        stepped.at_ms,
    )
}

/// While the last check is current for `left`: a delivery step if one is due, else a wait
/// until the next check or step.
fn between_checks(
    lp: &LogPipeline,
    g: Gathered,
    left: Duration,
    memory: &EventMemory,
    now: Timestamp,
) -> Next {
    let Some(resolved) = &g.resolved else {
        return gather(g, Io::Resolve);
    };
    let Some(pipeline) = resolved else {
        return done(Decision::wait(left));
    };
    let desired = crate::desired::build(pipeline);
    let route = with_margin(desired.canary_route.clone(), g.canary_margin);
    let mut decision = match (&route, g.delivery) {
        (None, _) => Decision::wait(left),
        (Some(route), None) => match step_due(lp, route, false, now) {
            Some(look) => {
                let (region, route) = (desired.target.region.clone(), Box::new(route.clone()));
                let io = Io::Deliver {
                    region,
                    route,
                    look,
                };
                return gather(
                    Gathered {
                        delivery: None,
                        ..g
                    },
                    io,
                );
            }
            None => Decision::wait(waiting(lp, route, left, now)),
        },
        (Some(route), Some(None)) => Decision::wait(waiting(lp, route, left, now)),
        (Some(route), Some(Some(stepped))) => {
            let resources = lp.status.as_ref().map(|s| &s.resources[..]);
            let update = stepped_update(lp, route, stepped, resources.unwrap_or_default());
            delivered(lp, update, left, memory, now)
        }
    };
    decision.figures.deadlines = Some(route);
    done(decision)
}

/// How long to wait with no step taken: until the next step, if sooner than `left`.
fn waiting(lp: &LogPipeline, route: &CanaryRoute, left: Duration, now: Timestamp) -> Duration {
    let status = lp.status.as_ref().and_then(|s| s.delivery.as_ref());
    match steps::due(route, status, now.as_millisecond()) {
        progress::Due::Wait(ms) => left.min(Duration::from_millis(ms.max(1_000) as u64)),
        progress::Due::Send | progress::Due::Look => left,
    }
}

/// A full check was made: the delivery step due and the loss signals are gathered next, then
/// everything joins the decision.
fn checked(
    lp: &LogPipeline,
    mut g: Gathered,
    memory: &EventMemory,
    now: Timestamp,
    entropy: u32,
) -> Next {
    let Some(Found::Converged(c)) = &g.found else {
        return done(joined(lp, g, memory, now, entropy));
    };
    if g.delivery.is_none() {
        let route = with_margin(c.desired.canary_route.clone(), g.canary_margin);
        let step = route.and_then(|route| {
            let look = step_due(lp, &route, requested(lp), now)?;
            let region = c.desired.target.region.clone();
            Some(Io::Deliver {
                region,
                route: Box::new(route),
                look,
            })
        });
        match step {
            Some(io) => return gather(g, io),
            // Judged once: none is due in this reconcile, however long the rest takes.
            None => g.delivery = Some(None),
        }
    }
    if g.signals.is_none()
        && let Some(Found::Converged(c)) = &g.found
    {
        let io = Io::Signals {
            desired: Box::new(c.desired.clone()),
            groups: c.observed.signal_sources(&c.desired),
            since_ms: lp
                .status
                .as_ref()
                .and_then(|s| s.last_check_time.as_ref())
                .map_or(
                    now.as_millisecond() - crate::delivery::signals::WINDOW_MS,
                    |t| t.0.as_millisecond(),
                ),
        };
        return gather(g, io);
    }
    done(joined(lp, g, memory, now, entropy))
}

/// The check's decision with the cutover, the delivery step and the loss signals joined.
fn joined(
    lp: &LogPipeline,
    g: Gathered,
    memory: &EventMemory,
    now: Timestamp,
    entropy: u32,
) -> Decision {
    let Some(found) = g.found else {
        unreachable!("only a check is joined");
    };
    let converged = match &found {
        Found::Converged(c) => Some((
            with_margin(c.desired.canary_route.clone(), g.canary_margin),
            !c.remaining.actions.is_empty(),
        )),
        _ => None,
    };
    let mut d = reconciled(lp, found, memory, now, entropy);
    d = found_by(d, g.event.as_deref(), g.due, requested(lp));
    if let Some(run) = g.cutover {
        d = with_cutover(d, lp, run, memory, now);
    }
    let Some((route, drifted)) = converged else {
        return d;
    };
    d.figures.drifted = Some(drifted);
    d.figures.deadlines = Some(route.clone());
    d = match (route, g.delivery.flatten()) {
        (Some(route), Some(stepped)) => {
            let resources = d.status.as_ref().map(|s| s.resources.clone());
            let update = stepped_update(lp, &route, stepped, &resources.unwrap_or_default());
            with_delivery(d, lp, update, memory, now)
        }
        (Some(_), None) => d,
        (None, _) => without_delivery(d, lp, now),
    };
    // A read that found nothing and failed leaves the signals of the last check in place; one
    // half failing (metrics unreadable) still reports the other.
    match g.signals.flatten() {
        Some(read) if read.errors.is_empty() || !read.signals.is_empty() => {
            d = with_signals(d, lp, &read.signals, memory, now);
            d.figures.loss_signals = Some(read.signals);
            d
        }
        _ => d,
    }
}

/// How a correction was found, said first in its `DriftCorrected` event: a change that arrived
/// as an event (described), the routine sweep, a requested check, or the check that follows at
/// once a check that failed or corrected something.
fn found_by(mut d: Decision, event: Option<&str>, due: Option<Due>, requested: bool) -> Decision {
    let (source, series) = match (event, due) {
        (Some(change), _) => (format!("found by an event, {change}"), "Event"),
        (None, Some(Due::Routine)) => ("found by the routine sweep".to_owned(), "Sweep"),
        (None, _) if requested => ("found by a requested check".to_owned(), "Requested"),
        (None, _) => ("found by the follow-up check".to_owned(), "FollowUp"),
    };
    // The first pass's note only: a later pass follows from it (`pass 2: …`).
    for note in d
        .events
        .iter_mut()
        .filter(|n| n.reason == event::DRIFT_CORRECTED && n.action.is_none())
    {
        // Said first, so the note's 1,000-character bound never cuts it.
        note.text = format!("{source}: {}", note.text)
            .chars()
            .take(1000)
            .collect();
        // The API server keys event series by reason and action, not the note: each source
        // is a series of its own, so a correction the sweep found after one an event found
        // is not folded into it.
        note.action = Some(format!("{}/{series}", event::DRIFT_CORRECTED));
    }
    d
}
