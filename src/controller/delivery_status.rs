//! Delivery in the controller's decisions, as values: the canary in status (to and from
//! [`Tracked`]), the `Delivering` condition, the `DeliveryFailed` / `DeliveryRestored` events,
//! and the canary figures for the metrics. Pure, like [`super::decide`].

use super::reasons::{condition, event, reason};
use crate::delivery::paths::PathTracked;
use crate::delivery::progress::{
    self, CanaryRoute, Due, Evidence, Outcome, Stage, StageState, Tracked,
};
use crate::spec::PathStatus;
use crate::spec::{CanaryStatus, DeliveryStatus, LogPipelineStatus, ResourceStatus, StageStatus};
use crate::spec::{ms_of as ms, time_at_ms as time};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// What a reconcile's delivery step did.
#[derive(Clone, Debug)]
pub enum Step {
    /// The canary was sent (when `sent`) and looked for; `tracked` is where it stands now.
    Looked { tracked: Tracked, sent: bool },
    /// Sending or looking failed.
    Failed(String),
}

/// A stage that settled in this step, for the metrics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    /// `raw` or `processed`.
    pub stage: &'static str,
    /// `Delivered`, `Missing` or `Inconclusive`.
    pub outcome: &'static str,
    /// From sending to storing, when delivered.
    pub latency_ms: Option<i64>,
}

/// What the step changes: the delivery status, the condition (`None`: keep it), events, figures.
#[derive(Clone, Debug)]
pub struct Update {
    /// The new `status.delivery`.
    pub status: DeliveryStatus,
    /// The new `Delivering` condition, if it changes.
    pub condition: Option<Condition>,
    /// `(severity is warning, reason, text)` of the events to publish.
    pub events: Vec<(bool, &'static str, String)>,
    /// Stages that settled now.
    pub settled: Vec<Settled>,
    /// When the next step is due, in milliseconds from now.
    pub next_in_ms: i64,
}

/// The canary of `status` as tracked along `route`; `None` when there is none or it was sent
/// along another route (the spec changed its stages).
pub fn tracked(route: &CanaryRoute, status: Option<&DeliveryStatus>) -> Option<Tracked> {
    let c = status?.canary.as_ref()?;
    let stages: Option<Vec<(Stage, StageState)>> = c
        .stages
        .iter()
        .map(|s| Some((stage_of(&s.target)?, state_of(s)?)))
        .collect();
    let stages = stages?;
    if stages.iter().map(|(s, _)| *s).collect::<Vec<_>>() != route.stages() {
        return None;
    }
    let canary = crate::delivery::canary::Canary {
        id: c.id.clone(),
        pipeline: String::new(),
        sent_at_ms: ms(&c.sent_at),
    };
    // The paths as the route has them now, else the canary was sent along another route.
    if c.paths.len() != route.paths.len() {
        return None;
    }
    let paths: Option<Vec<PathTracked>> = route
        .paths
        .iter()
        .zip(&c.paths)
        .map(|(path, s)| {
            (s.path == path.name()).then_some(())?;
            Some(PathTracked {
                path: path.clone(),
                canary: crate::delivery::canary::Canary {
                    id: s.id.clone(),
                    ..canary.clone()
                },
                state: path_state_of(s)?,
            })
        })
        .collect();
    Some(Tracked {
        looked_at_ms: ms(&c.looked_at),
        stages,
        paths: paths?,
        canary,
    })
}

fn path_state_of(s: &PathStatus) -> Option<StageState> {
    if s.state == "NotSent" {
        return Some(StageState::NotSent(s.error.clone().unwrap_or_default()));
    }
    state_of(&StageStatus {
        stage: String::new(),
        target: String::new(),
        state: s.state.clone(),
        found_at: s.found_at.clone(),
        latency_ms: s.latency_ms,
        object: None,
        deadline: s.deadline.clone(),
    })
}

fn stage_of(label: &str) -> Option<Stage> {
    [Stage::Raw, Stage::Processed]
        .into_iter()
        .find(|s| s.label() == label)
}

fn state_of(s: &StageStatus) -> Option<StageState> {
    Some(match s.state.as_str() {
        "Waiting" => StageState::Waiting,
        "Delivered" => StageState::Delivered {
            at_ms: ms(s.found_at.as_ref()?),
            object: s.object.clone().unwrap_or_default(),
        },
        "Missing" => StageState::Missing,
        "Inconclusive" => StageState::Inconclusive,
        _ => return None,
    })
}

/// The status form of a tracked canary.
pub fn canary_status(route: &CanaryRoute, t: &Tracked) -> CanaryStatus {
    CanaryStatus {
        id: t.canary.id.clone(),
        sent_at: time(t.canary.sent_at_ms),
        looked_at: time(t.looked_at_ms),
        stages: t
            .stages
            .iter()
            .map(|(stage, state)| {
                let (found_at, object) = match state {
                    StageState::Delivered { at_ms, object } => (Some(*at_ms), Some(object.clone())),
                    _ => (None, None),
                };
                StageStatus {
                    stage: route.stage_name(*stage),
                    target: stage.label().to_owned(),
                    state: state.label().to_owned(),
                    found_at: found_at.map(time),
                    latency_ms: found_at.map(|at| at - t.canary.sent_at_ms),
                    object,
                    deadline: time(t.deadline_ms(route, *stage)),
                }
            })
            .collect(),
        paths: t
            .paths
            .iter()
            .map(|p| {
                let found_at = match &p.state {
                    StageState::Delivered { at_ms, .. } => Some(*at_ms),
                    _ => None,
                };
                PathStatus {
                    path: p.path.name(),
                    id: p.canary.id.clone(),
                    state: p.state.label().to_owned(),
                    error: match &p.state {
                        StageState::NotSent(cause) => Some(cause.clone()),
                        _ => None,
                    },
                    found_at: found_at.map(time),
                    latency_ms: p.latency_ms(),
                    last_delivered_time: found_at.map(|_| time(p.canary.sent_at_ms)),
                    deadline: time(route.deadline_ms(Stage::Raw, p.canary.sent_at_ms, None)),
                }
            })
            .collect(),
    }
}

/// Each path's last delivery, carried over from `before` where this canary has not arrived.
fn carry_last_delivered(status: &mut CanaryStatus, before: Option<&DeliveryStatus>) {
    let earlier = before.and_then(|b| b.canary.as_ref()).map(|c| &c.paths[..]);
    for p in &mut status.paths {
        if p.last_delivered_time.is_none() {
            p.last_delivered_time = earlier
                .unwrap_or_default()
                .iter()
                .find(|e| e.path == p.path)
                .and_then(|e| e.last_delivered_time.clone());
        }
    }
}

/// What is due now for `route`, given the delivery status.
pub fn due(route: &CanaryRoute, status: Option<&DeliveryStatus>, now_ms: i64) -> Due {
    progress::due(
        route,
        tracked(route, status).map(|t| t.in_flight(route)),
        now_ms,
    )
}

/// Why the subscription cannot deliver the canary, from the resources the last check saw.
pub fn evidence(route: &CanaryRoute, resources: &[ResourceStatus]) -> Evidence {
    Evidence::from_resources(
        route,
        resources
            .iter()
            .map(|r| (r.kind, r.name.as_str(), r.state.as_str())),
    )
}

fn delivering(status: &str, why: &str, message: String, g: Option<i64>, now: &Time) -> Condition {
    Condition {
        type_: condition::DELIVERING.into(),
        status: status.into(),
        reason: why.into(),
        message: message.chars().take(2000).collect(),
        observed_generation: g,
        last_transition_time: now.clone(),
    }
}

/// The `Delivering` condition of a pipeline that does not verify delivery.
pub fn disabled(g: Option<i64>, now: &Time) -> Condition {
    delivering(
        "Unknown",
        reason::VERIFY_DISABLED,
        "delivery.verify.enabled is false: nothing proves that logs arrive".into(),
        g,
        now,
    )
}

fn seconds(ms: i64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

/// The stages that settled between `before` and `after`.
fn settled(before: Option<&Tracked>, after: &Tracked) -> Vec<Settled> {
    after
        .stages
        .iter()
        .filter(|(stage, state)| {
            state.resolved()
                && !before.is_some_and(|b| {
                    b.canary.id == after.canary.id
                        && b.stages.iter().any(|(s, st)| s == stage && st.resolved())
                })
        })
        .map(|(stage, state)| Settled {
            stage: stage.label(),
            outcome: state.label(),
            latency_ms: after
                .found_at(*stage)
                .map(|at| at - after.canary.sent_at_ms),
        })
        .collect()
}

/// The update a delivery step makes to `previous` (the pipeline's status before), at `now_ms`.
pub fn update(
    route: &CanaryRoute,
    previous: Option<&LogPipelineStatus>,
    step: Step,
    evidence: &Evidence,
    generation: Option<i64>,
    now_ms: i64,
) -> Update {
    let now = time(now_ms);
    let before = previous.and_then(|p| p.delivery.as_ref());
    let mut status = before.cloned().unwrap_or_default();
    let had_condition = previous.is_some_and(|p| {
        p.conditions
            .iter()
            .any(|c| c.type_ == condition::DELIVERING && c.reason != reason::VERIFY_DISABLED)
    });
    let (tracked, sent) = match step {
        Step::Failed(e) => {
            let message = format!("the canary could not be sent or looked for: {e}");
            return Update {
                status,
                condition: Some(delivering(
                    "Unknown",
                    reason::VERIFY_FAILED,
                    message,
                    generation,
                    &now,
                )),
                events: Vec::new(),
                settled: Vec::new(),
                next_in_ms: progress::POLL_MS,
            };
        }
        Step::Looked { tracked, sent } => (tracked, sent),
    };
    let prior = tracked_before(route, before, &tracked, sent);
    let settled = settled(prior.as_ref(), &tracked);
    let mut canary = canary_status(route, &tracked);
    carry_last_delivered(&mut canary, before);
    status.canary = Some(canary);
    let newly_failed = newly_failed_paths(prior.as_ref(), &tracked);
    let mut events = Vec::new();
    let mut verdict = Verdict {
        route,
        tracked: &tracked,
        newly: !settled.is_empty(),
        status: &mut status,
        events: &mut events,
        generation,
        now: &now,
    };
    let paths_waiting = tracked.paths_waiting().next().is_some();
    let condition = match tracked.outcome() {
        Outcome::Pending if had_condition => None,
        Outcome::Pending => Some(verdict.in_flight()),
        Outcome::Delivered => {
            let own = verdict.delivered();
            match verdict.paths_verdict(&newly_failed, evidence) {
                _ if paths_waiting && had_condition => None,
                _ if paths_waiting => Some(verdict.in_flight()),
                Some(failing) => Some(failing),
                None => Some(own),
            }
        }
        Outcome::Stopped(stage, StageState::Inconclusive) => Some(verdict.inconclusive(stage)),
        Outcome::Stopped(stage, _) => Some(verdict.stopped(stage, evidence)),
    };
    let next_in_ms = match progress::due(route, Some(tracked.in_flight(route)), now_ms) {
        Due::Wait(ms) => ms,
        Due::Send | Due::Look => 1_000,
    };
    Update {
        status,
        condition,
        events,
        settled,
        next_in_ms,
    }
}

/// The remote paths whose canary settled as missing (or inconclusive) in this step (one that
/// could not be sent says nothing of delivery).
fn newly_failed_paths(before: Option<&Tracked>, after: &Tracked) -> Vec<String> {
    after
        .failing_paths()
        .into_iter()
        .filter(|p| p.not_sent().is_none())
        .filter(|p| {
            !before
                .is_some_and(|b| (b.paths.iter()).any(|q| q.path == p.path && q.state.resolved()))
        })
        .map(|p| p.path.name())
        .collect()
}

/// The canary as it stood before this step: `None` for one sent now.
fn tracked_before(
    route: &CanaryRoute,
    before: Option<&DeliveryStatus>,
    now: &Tracked,
    sent: bool,
) -> Option<Tracked> {
    if sent {
        return None;
    }
    tracked(route, before).filter(|t| t.canary.id == now.canary.id)
}

/// A settled (or first) canary's verdict: the condition, and the counters and events when it
/// settled in this step (`newly`).
struct Verdict<'a> {
    route: &'a CanaryRoute,
    tracked: &'a Tracked,
    newly: bool,
    status: &'a mut DeliveryStatus,
    events: &'a mut Vec<(bool, &'static str, String)>,
    generation: Option<i64>,
    now: &'a Time,
}

impl Verdict<'_> {
    fn condition(&self, status: &str, why: &str, message: String) -> Condition {
        delivering(status, why, message, self.generation, self.now)
    }

    fn in_flight(&self) -> Condition {
        let t = self.tracked;
        let until = time(t.deadline_ms(self.route, Stage::Raw)).0;
        let message = format!(
            "canary {} sent; looking for it in s3 {} until {until}",
            t.canary.id, self.route.raw_prefix
        );
        self.condition("Unknown", reason::CANARY_IN_FLIGHT, message)
    }

    fn delivered(&mut self) -> Condition {
        let t = self.tracked;
        let latencies: Vec<String> = self
            .route
            .stages()
            .into_iter()
            .filter_map(|s| {
                let at = t.found_at(s)?;
                let after = seconds(at - t.canary.sent_at_ms);
                Some(format!("{} after {after}", self.route.prefix(s)))
            })
            .collect();
        let paths: Vec<String> = (t.paths.iter())
            .filter_map(|p| {
                Some(format!(
                    "{} after {}",
                    p.path.name(),
                    seconds(p.latency_ms()?)
                ))
            })
            .collect();
        let mut message = format!("canary {} reached {}", t.canary.id, latencies.join(", "));
        if !paths.is_empty() {
            message.push_str(&format!(
                "; the remote paths' canaries: {}",
                paths.join(", ")
            ));
        }
        if self.newly {
            if self.status.consecutive_failures > 0 || self.status.failing_stage.is_some() {
                self.events
                    .push((false, event::DELIVERY_RESTORED, message.clone()));
            }
            self.status.consecutive_successes += 1;
            self.status.consecutive_failures = 0;
            self.status.failing_stage = None;
            self.status.last_delivered_time = Some(time(t.canary.sent_at_ms));
        }
        self.condition("True", reason::CANARY_DELIVERED, message)
    }

    /// The condition when the own path delivered but remote paths did not: `False` naming
    /// those whose canary is missing (a warning event for those that failed in this step), and
    /// those whose canary could not be sent with the cause (`Unknown` when only such remain);
    /// `None`: every path arrived.
    fn paths_verdict(&mut self, newly_failed: &[String], evidence: &Evidence) -> Option<Condition> {
        let t = self.tracked;
        let failing = t.failing_paths();
        if failing.is_empty() {
            return None;
        }
        let mut parts: Vec<String> = failing.iter().filter_map(|p| p.not_sent()).collect();
        let unsent = parts.len();
        let missing: Vec<String> = (failing.iter())
            .filter(|p| p.not_sent().is_none())
            .map(|p| match evidence.paths_broken.get(&p.path.key()) {
                Some(why) => format!("{} ({why})", p.path.name()),
                None => p.path.name(),
            })
            .collect();
        if !missing.is_empty() {
            let deadline = self
                .route
                .deadline_ms(Stage::Raw, t.canary.sent_at_ms, None);
            parts.push(format!(
                "the canaries of {} were not found in s3 {} by {}",
                missing.join(", "),
                self.route.raw_prefix,
                time(deadline).0,
            ));
        }
        let mut message = format!(
            "{} (the pipeline's own canary {} arrived)",
            parts.join("; "),
            t.canary.id
        );
        if missing.is_empty() {
            message.push_str(": check pitagora's access there (the accounts file's role)");
            return Some(self.condition("Unknown", reason::VERIFY_FAILED, message));
        }
        message.push_str(": check those sources' subscription filter and the destination's policy");
        if unsent > 0 {
            message.push_str(", and pitagora's access where a canary was not sent");
        }
        if !newly_failed.is_empty() {
            self.events
                .push((true, event::DELIVERY_FAILED, message.clone()));
        }
        Some(self.condition("False", reason::CANARY_MISSING, message))
    }

    fn inconclusive(&self, stage: Stage) -> Condition {
        let message = format!(
            "canary {} not found in the objects read under s3 {}: more was stored there than one search reads",
            self.tracked.canary.id,
            self.route.prefix(stage)
        );
        self.condition("Unknown", reason::CANARY_INCONCLUSIVE, message)
    }

    fn stopped(&mut self, stage: Stage, evidence: &Evidence) -> Condition {
        let (t, route) = (self.tracked, self.route);
        let link = progress::stopped_at(stage, evidence);
        let why = match (&evidence.subscription_broken, stage) {
            (Some(e), Stage::Raw) => format!(" ({e})"),
            _ => String::new(),
        };
        let message = format!(
            "canary {} sent at {} was not found in s3 {} by {}: it stopped at {}{why}",
            t.canary.id,
            time(t.canary.sent_at_ms).0,
            route.prefix(stage),
            time(t.deadline_ms(route, stage)).0,
            route.link_name(link),
        );
        if self.newly {
            self.status.consecutive_failures += 1;
            self.status.consecutive_successes = 0;
            self.status.failing_stage = Some(route.link_name(link));
            self.events
                .push((true, event::DELIVERY_FAILED, message.clone()));
        }
        self.condition("False", reason::CANARY_MISSING, message)
    }
}
