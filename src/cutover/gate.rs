//! The cutover gate, pure: from the stages the spec requests, the stages in effect at the last
//! reconcile and the evidence of delivery, which stages are in effect now and what holds a move
//! back.
//!
//! Moves back take effect at once. Moves forward take effect only when proven: `Shadow` needs
//! nothing (the new store is `ignore_error`), `Primary` needs `Delivering=True`, `New` also
//! needs `cutover.requiredSuccesses` canaries in a row within `cutover.maxDeliverySeconds`, the
//! route writing to CloudWatch Logs for the shadow window without a loss signal in it, and the
//! route's log group receiving events. The `pitagora.dev/force-cutover` annotation overrides
//! the checks once per value.

use super::Stages;
use crate::spec::{
    CutoverBlock, CutoverStage, CutoverStatus, FluentdRoute, ForcedCutover, LogPipelineSpec,
    RouteCutover,
};
use crate::spec::{ms_of as ms, time_at_ms as time};
use std::collections::BTreeMap;

/// The annotation that forces the requested stages into effect; its value is the reason.
pub const FORCE_ANNOTATION: &str = "pitagora.dev/force-cutover";

/// The unmet checks, as stable names (`status.cutover.blocked[].check`, condition reasons).
pub mod check {
    /// `Delivering` is not `True`.
    pub const NOT_DELIVERING: &str = "NotDelivering";
    /// Fewer canaries in a row within the bound than required.
    pub const TOO_FEW_CANARIES: &str = "TooFewCanaries";
    /// A loss signal within the shadow window.
    pub const LOSS_SIGNALS: &str = "LossSignals";
    /// The route has not written to CloudWatch Logs for the whole shadow window.
    pub const SHADOW_WINDOW: &str = "ShadowWindow";
    /// The route's log group has shown no incoming events since fluentd was told to write it.
    pub const NO_INCOMING_EVENTS: &str = "NoIncomingEvents";
}

/// What the gate knows of delivery now.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Now, in milliseconds since the epoch.
    pub now_ms: i64,
    /// The `Delivering` condition: `Some(true)` only when the last canary arrived.
    pub delivering: Option<bool>,
    /// Where delivery fails, e.g. `cloudwatch-logs → firehose`.
    pub failing_stage: Option<String>,
    /// The last canary: its id, and its end-to-end latency when it reached every stage
    /// (`Some(None)`: it settled without arriving).
    pub canary: Option<(String, Option<i64>)>,
    /// Whether the last check found loss signals.
    pub loss_signals: bool,
    /// Log groups seen receiving events, with when they were read.
    pub receiving: BTreeMap<String, i64>,
    /// The force annotation's value, when set.
    pub force: Option<String>,
}

/// A route's stage changing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    /// The route's tag pattern (empty for a pipeline without routes).
    pub route: String,
    /// Its stage in effect before.
    pub from: CutoverStage,
    /// Its stage in effect now.
    pub to: CutoverStage,
}

/// What the gate decided.
#[derive(Clone, Debug, PartialEq)]
pub struct Gated {
    /// The stages in effect now.
    pub stages: Stages,
    /// The new `status.cutover`.
    pub status: CutoverStatus,
    /// Stages that changed.
    pub moves: Vec<Move>,
    /// The move forced now, if any.
    pub forced: Option<ForcedCutover>,
}

impl Gated {
    /// Whether any route moves back: its legacy store must be written (and reloaded) before
    /// anything of the new path is turned off.
    pub fn backward(&self) -> bool {
        self.moves.iter().any(|m| m.to < m.from)
    }
}

/// The thresholds of `spec.cutover`, in milliseconds.
#[derive(Clone, Copy, Debug)]
struct Bounds {
    required: i32,
    max_delivery_ms: i64,
    window_ms: i64,
}

/// The gate's decision for `spec` (which declares `legacy`), given `previous` (`status.cutover`
/// at the last reconcile, or `None`) and `fallback` (`status.stage`, for a status written
/// before the gate existed).
pub fn gate(
    spec: &LogPipelineSpec,
    previous: Option<&CutoverStatus>,
    fallback: Option<&str>,
    e: &Evidence,
) -> Gated {
    let unforced = decide(spec, previous, fallback, e, None);
    // The annotation overrides only what is held back: set while nothing is, it waits.
    let fresh = e
        .force
        .as_ref()
        .filter(|reason| {
            previous
                .and_then(|p| p.forced.as_ref())
                .is_none_or(|f| &f.reason != *reason)
        })
        .map(|reason| ForcedCutover {
            reason: reason.clone(),
            stage: spec.cutover_stage().as_str().to_owned(),
            at: time(e.now_ms),
        });
    match fresh {
        Some(force) if !unforced.status.blocked.is_empty() => {
            decide(spec, previous, fallback, e, Some(force))
        }
        _ => unforced,
    }
}

/// The gate with `forced` (a move forced now) or without.
fn decide(
    spec: &LogPipelineSpec,
    previous: Option<&CutoverStatus>,
    fallback: Option<&str>,
    e: &Evidence,
    forced: Option<ForcedCutover>,
) -> Gated {
    let c = &spec.cutover;
    let bounds = Bounds {
        required: c.required_successes,
        max_delivery_ms: i64::from(c.max_delivery_seconds) * 1000,
        window_ms: i64::from(c.shadow_window_seconds) * 1000,
    };
    let requested = Stages::requested(spec);
    let mut status = CutoverStatus {
        requested: spec.cutover_stage().as_str().to_owned(),
        ..counted(previous, e, bounds)
    };
    status.forced = forced
        .clone()
        .or_else(|| previous.and_then(|p| p.forced.clone()));
    let start = fallback
        .and_then(CutoverStage::parse)
        .unwrap_or(CutoverStage::Legacy);
    let routes: &[FluentdRoute] = spec
        .legacy
        .as_ref()
        .map_or(&[], |l| l.fluentd.routes.as_slice());
    let ctx = Route {
        status: &status,
        e,
        bounds,
        forced: forced.is_some(),
    };
    let mut out = Stepped::default();
    for (route, want) in routes.iter().zip(&requested.routes) {
        let before = previous.and_then(|p| p.routes.iter().find(|r| r.r#match == route.r#match));
        let from = before
            .and_then(|b| CutoverStage::parse(&b.stage))
            .unwrap_or(start);
        let (now, rs) = ctx.step(route, *want, before, from);
        out.record(&route.r#match, from, now);
        out.routes.push(rs);
    }
    let stages = if routes.is_empty() {
        // No routes: the pipeline's own stage is gated like a route without a log group.
        let from = previous
            .and_then(|p| CutoverStage::parse(&p.stage))
            .unwrap_or(start);
        out.record("", from, ctx.advance("", requested.pipeline, from, None));
        Stages::of(Vec::new(), out.in_effect[0])
    } else {
        Stages::of(out.in_effect, requested.pipeline)
    };
    let (moves, blocked, route_status) = (out.moves, out.blocked, out.routes);
    status.routes = route_status;
    status.blocked = blocked;
    status.stage = stages.pipeline.as_str().to_owned();
    Gated {
        stages,
        status,
        moves,
        forced,
    }
}

/// The stages in effect at the last reconcile: `previous`'s routes by their pattern, else
/// `fallback` (`status.stage`), else `Legacy`.
pub fn in_effect(
    spec: &LogPipelineSpec,
    previous: Option<&CutoverStatus>,
    fallback: Option<&str>,
) -> Stages {
    let start = fallback
        .and_then(CutoverStage::parse)
        .unwrap_or(CutoverStage::Legacy);
    let routes = spec
        .legacy
        .iter()
        .flat_map(|l| &l.fluentd.routes)
        .map(|route| {
            previous
                .and_then(|p| p.routes.iter().find(|r| r.r#match == route.r#match))
                .and_then(|r| CutoverStage::parse(&r.stage))
                .unwrap_or(start)
        })
        .collect();
    let own = previous
        .and_then(|p| CutoverStage::parse(&p.stage))
        .unwrap_or(start);
    Stages::of(routes, own)
}

/// The canary and loss-signal counters carried from `previous`, updated with `e`.
fn counted(previous: Option<&CutoverStatus>, e: &Evidence, b: Bounds) -> CutoverStatus {
    let mut s = CutoverStatus {
        proven_canaries: previous.map_or(0, |p| p.proven_canaries),
        counted_canary: previous.and_then(|p| p.counted_canary.clone()),
        last_loss_signal_time: previous.and_then(|p| p.last_loss_signal_time.clone()),
        config_hash: previous.and_then(|p| p.config_hash.clone()),
        ..CutoverStatus::default()
    };
    count(&mut s, e.canary.as_ref(), b.max_delivery_ms);
    if e.loss_signals {
        s.last_loss_signal_time = Some(time(e.now_ms));
    }
    s
}

/// Counts a settled canary (`(id, end-to-end latency when it arrived)`) into
/// `provenCanaries`, once per canary: one within `max_delivery_ms` adds one, any other starts
/// the count again. Called wherever a canary settles, so none is missed between checks.
pub fn count(s: &mut CutoverStatus, canary: Option<&(String, Option<i64>)>, max_delivery_ms: i64) {
    let Some((id, latency)) = canary else {
        return;
    };
    if s.counted_canary.as_ref() == Some(id) {
        return;
    }
    s.proven_canaries = match latency {
        Some(l) if *l <= max_delivery_ms => s.proven_canaries.saturating_add(1),
        _ => 0,
    };
    s.counted_canary = Some(id.clone());
}

/// The settled canary of a delivery status, as [`count`] takes it: `None` while it is in flight
/// or its fate is unknown.
pub fn settled_canary(d: &crate::spec::DeliveryStatus) -> Option<(String, Option<i64>)> {
    let c = d.canary.as_ref()?;
    let states: Vec<&str> = c.stages.iter().map(|s| s.state.as_str()).collect();
    if states.contains(&"Missing") {
        return Some((c.id.clone(), None));
    }
    if states.is_empty() || states.iter().any(|s| *s != "Delivered") {
        return None;
    }
    let latency = c.stages.iter().filter_map(|s| s.latency_ms).max()?;
    Some((c.id.clone(), Some(latency)))
}

/// The routes after the gate, gathered one by one.
#[derive(Default)]
struct Stepped {
    moves: Vec<Move>,
    blocked: Vec<CutoverBlock>,
    routes: Vec<RouteCutover>,
    in_effect: Vec<CutoverStage>,
}

impl Stepped {
    /// Records that `route`, at `from` before, is where `now` says.
    fn record(&mut self, route: &str, from: CutoverStage, now: Outcome) {
        let to = now.stage();
        if to != from {
            self.moves.push(Move {
                route: route.to_owned(),
                from,
                to,
            });
        }
        self.in_effect.push(to);
        self.blocked.extend(now.blocks());
    }
}

/// Where one route (or the pipeline) stands after the gate.
enum Outcome {
    /// At this stage, nothing held back.
    At(CutoverStage),
    /// At this stage, held back from the next by these blocks.
    Held(CutoverStage, Vec<CutoverBlock>),
}

impl Outcome {
    fn stage(&self) -> CutoverStage {
        match self {
            Outcome::At(s) | Outcome::Held(s, _) => *s,
        }
    }

    fn blocks(self) -> Vec<CutoverBlock> {
        match self {
            Outcome::At(_) => Vec::new(),
            Outcome::Held(_, b) => b,
        }
    }
}

/// The gate's view while stepping through the routes.
struct Route<'a> {
    status: &'a CutoverStatus,
    e: &'a Evidence,
    bounds: Bounds,
    forced: bool,
}

/// A route's state before this reconcile, as the checks need it.
#[derive(Clone, Copy, Debug, Default)]
struct Sending {
    since_ms: Option<i64>,
    receiving_ms: Option<i64>,
}

impl Route<'_> {
    /// One route, in effect at `from` before: its stage now and its status.
    fn step(
        &self,
        route: &FluentdRoute,
        want: CutoverStage,
        before: Option<&RouteCutover>,
        from: CutoverStage,
    ) -> (Outcome, RouteCutover) {
        let mut sending = Sending {
            since_ms: before.and_then(|b| b.sending_since.as_ref()).map(ms),
            receiving_ms: before.and_then(|b| b.receiving_since.as_ref()).map(ms),
        };
        if sending.since_ms.is_some() && sending.receiving_ms.is_none() {
            sending.receiving_ms = self.e.receiving.get(&route.log_group).copied();
        }
        let outcome = self.advance(&route.r#match, want, from, Some(sending));
        let to = outcome.stage();
        let now = self.e.now_ms;
        let since = match before {
            Some(b) if to == from => b.since.clone(),
            _ => time(now),
        };
        // Writing to CloudWatch Logs starts (or starts again) when a route leaves Legacy.
        let sending = if !to.sends_to_new_path() {
            Sending::default()
        } else if !from.sends_to_new_path() || sending.since_ms.is_none() {
            Sending {
                since_ms: Some(now),
                receiving_ms: None,
            }
        } else {
            sending
        };
        let status = RouteCutover {
            r#match: route.r#match.clone(),
            log_group: route.log_group.clone(),
            requested: want.as_str().to_owned(),
            stage: to.as_str().to_owned(),
            since,
            sending_since: sending.since_ms.map(time),
            receiving_since: sending.receiving_ms.map(time),
        };
        (outcome, status)
    }

    /// The highest stage from `from` towards `want` whose checks pass (at once when `want` is
    /// not ahead, or the move is forced). `sending` is `None` for a pipeline without routes.
    fn advance(
        &self,
        route: &str,
        want: CutoverStage,
        from: CutoverStage,
        sending: Option<Sending>,
    ) -> Outcome {
        if want <= from || self.forced {
            return Outcome::At(want);
        }
        let mut at = from;
        while let Some(next) = at.next().filter(|n| *n <= want) {
            let unmet = self.unmet(next, sending);
            if !unmet.is_empty() {
                let blocks = unmet
                    .into_iter()
                    .map(|(check, message)| CutoverBlock {
                        route: route.to_owned(),
                        stage: next.as_str().to_owned(),
                        check: check.to_owned(),
                        message,
                    })
                    .collect();
                return Outcome::Held(at, blocks);
            }
            at = next;
        }
        Outcome::At(at)
    }

    /// The checks of a move into `stage` that fail, with what is unmet.
    fn unmet(&self, stage: CutoverStage, sending: Option<Sending>) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if stage < CutoverStage::Primary {
            return out;
        }
        let e = self.e;
        let failing = e
            .failing_stage
            .as_ref()
            .map(|s| format!("; delivery fails at {s}"))
            .unwrap_or_default();
        if e.delivering != Some(true) {
            let state = match e.delivering {
                Some(false) => "False",
                _ => "Unknown",
            };
            out.push((
                check::NOT_DELIVERING,
                format!("{stage} needs Delivering=True; it is {state}{failing}"),
            ));
        }
        if stage < CutoverStage::New {
            return out;
        }
        let b = self.bounds;
        let proven = self.status.proven_canaries;
        if proven < b.required {
            out.push((
                check::TOO_FEW_CANARIES,
                format!(
                    "New needs {} canaries in a row delivered within {} s; {proven} so far{failing}",
                    b.required,
                    b.max_delivery_ms / 1000
                ),
            ));
        }
        let window_start = e.now_ms - b.window_ms;
        if let Some(at) = self.status.last_loss_signal_time.as_ref().map(ms)
            && at > window_start
        {
            out.push((
                check::LOSS_SIGNALS,
                format!(
                    "New needs no loss signal within the last {} s; one was seen at {}",
                    b.window_ms / 1000,
                    time(at).0
                ),
            ));
        }
        let Some(sending) = sending else {
            return out;
        };
        match sending.since_ms {
            Some(since) if since <= window_start => {}
            since => out.push((
                check::SHADOW_WINDOW,
                format!(
                    "New needs the route written to CloudWatch Logs beside the legacy path for {} s; {}",
                    b.window_ms / 1000,
                    match since {
                        Some(s) => format!("since {} so far", time(s).0),
                        None => "it is not yet (stage Legacy)".to_owned(),
                    }
                ),
            )),
        }
        if sending.receiving_ms.is_none() {
            out.push((
                check::NO_INCOMING_EVENTS,
                "New needs the route's log group to show incoming events since fluentd was told to write it".to_owned(),
            ));
        }
        out
    }
}
