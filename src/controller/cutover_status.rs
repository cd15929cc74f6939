//! The cutover in the controller's decisions, as values: `status.cutover` and `status.stage`,
//! the `CutoverBlocked` condition, the fluentd key among the resources (and its drift), and the
//! cutover's events. Pure, like [`super::decide`], which calls it; the I/O is in
//! [`super::cutover_io`].

use super::Error;
use super::cutover_io::{CutoverRun, KeyOutcome};
use super::decision::{Decision, EventMemory, Note, Severity, admitted};
use super::reasons::{condition, event, reason};
use super::status;
use crate::cutover::gate::Move;
use crate::plan::fluentd_key::Difference;
use crate::resources::ResourceKind;
use crate::spec::{
    CutoverBlock, CutoverStatus, DriftAction, DriftItem, FluentdConfig, LogPipeline, ResourceStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

/// The resource name of a fluentd key in status and drift items: `namespace/name:key`.
pub fn key_name(c: &FluentdConfig) -> String {
    crate::plan::fluentd_key::resource_name(c)
}

fn blocked(status: &str, why: &str, message: String, g: Option<i64>, now: &Time) -> Condition {
    Condition {
        type_: condition::CUTOVER_BLOCKED.into(),
        status: status.into(),
        reason: why.into(),
        message: message.chars().take(2000).collect(),
        observed_generation: g,
        last_transition_time: now.clone(),
    }
}

fn route_label(route: &str) -> String {
    if route.is_empty() {
        "the pipeline".to_owned()
    } else {
        format!("route {route}")
    }
}

/// The moves of one direction as a note's text, e.g. `route app.a.** Shadow → Primary`.
fn moves_text(moves: &[&Move]) -> String {
    moves
        .iter()
        .map(|m| format!("{} {} → {}", route_label(&m.route), m.from, m.to))
        .collect::<Vec<_>>()
        .join("; ")
}

/// One line per block, the figures left out so that the event is published once per cause.
fn blocks_note(blocks: &[CutoverBlock], failing: Option<&str>) -> String {
    let mut parts: Vec<String> = blocks
        .iter()
        .map(|b| {
            format!(
                "{} held before {}: {}",
                route_label(&b.route),
                b.stage,
                b.check
            )
        })
        .collect();
    parts.dedup();
    let mut text = parts.join("; ");
    if let Some(f) = failing {
        text.push_str(&format!("; delivery fails at {f}"));
    }
    text
}

/// A drift item for a differing fluentd key.
fn key_item(config: &FluentdConfig, d: &Difference, action: DriftAction) -> DriftItem {
    let (desired, actual) = d.values();
    DriftItem {
        kind: ResourceKind::FluentdRoutes,
        resource: key_name(config),
        field: Some(d.field(&config.key)),
        spec_field: Some("spec.legacy.fluentd".to_owned()),
        desired,
        actual,
        action,
        reason: d.reason().to_owned(),
        ignored_by: None,
    }
}

/// What the cutover changes in a decision.
struct Applied {
    cutover: Option<CutoverStatus>,
    /// The key's state among the resources.
    state: &'static str,
    condition: Condition,
    /// A drift item that stands (reported or ignored), with whether it counts as drift.
    item: Option<(DriftItem, bool)>,
    notes: Vec<Note>,
    failure: Option<super::cutover_io::FluentdError>,
}

/// The cutover's part of a decision: `run` applied to the status the decision writes (or the
/// last one), its events, and the failure when fluentd could not be written.
pub(super) fn with_cutover(
    mut d: Decision,
    lp: &LogPipeline,
    run: CutoverRun,
    memory: &EventMemory,
    now: Timestamp,
) -> Decision {
    let resource = run.config.as_ref().map(key_name);
    let a = applied(lp, run, now);
    let status = d
        .status
        .get_or_insert_with(|| lp.status.clone().unwrap_or_default());
    if let Some(c) = &a.cutover {
        status.stage = Some(c.stage.clone());
    }
    status.cutover = a.cutover;
    status
        .resources
        .retain(|r| r.kind != ResourceKind::FluentdRoutes);
    status.resources.extend(resource.map(|name| ResourceStatus {
        kind: ResourceKind::FluentdRoutes,
        name,
        state: a.state.to_owned(),
    }));
    if let Some((item, counts)) = a.item {
        if counts {
            status.drift_count = Some(status.drift_count.unwrap_or(0) + 1);
        }
        status.drift.push(item);
    }
    status::set(&mut status.conditions, a.condition);
    if let Some(e) = a.failure {
        d.failure = d.failure.or(Some(Error::Fluentd(e)));
    }
    d.events.extend(admitted(lp, a.notes, memory, now));
    d
}

/// What `run` means for the status and events.
fn applied(lp: &LogPipeline, run: CutoverRun, now: Timestamp) -> Applied {
    let time = Time(now);
    let g = lp.metadata.generation;
    let held = |why: &str, message: String, state| Applied {
        cutover: kept(lp, &run.gated.status),
        state,
        condition: blocked("True", why, message, g, &time),
        item: None,
        notes: Vec::new(),
        failure: None,
    };
    let name = run.config.as_ref().map(key_name).unwrap_or_default();
    match run.key {
        KeyOutcome::Failed(e) => Applied {
            notes: vec![Note::warning(event::FLUENTD_FAILED, e.to_string())],
            ..held(reason::FLUENTD_FAILED, e.to_string(), "Pending")
        }
        .failing(e),
        KeyOutcome::Conflict { manager } => {
            let message = format!(
                "the fluentd key {name} is applied by field manager {manager:?}: pitagora leaves it alone; remove that manager's ownership of the key, or choose another key in spec.legacy.fluentd.config"
            );
            Applied {
                notes: vec![Note::warning(event::OWNERSHIP_CONFLICT, message.clone())],
                ..held(reason::FLUENTD_CONFLICT, message, "Conflict")
            }
        }
        KeyOutcome::Overlap(_) | KeyOutcome::Foreign { .. } => {
            let why = match &run.key {
                KeyOutcome::Overlap(overlap) => overlap.message(),
                KeyOutcome::Foreign { pipeline } => {
                    crate::plan::fluentd_key::foreign_message(pipeline.as_deref())
                }
                _ => unreachable!("matched above"),
            };
            let message = format!("the fluentd key {name}: {why}");
            Applied {
                notes: vec![Note::warning(event::OWNERSHIP_CONFLICT, message.clone())],
                ..held(reason::FLUENTD_CONFLICT, message, "Conflict")
            }
        }
        KeyOutcome::Deferred => held(
            reason::AWS_NOT_READY,
            "the AWS side did not converge, so the fluentd routes keep their stages until it does"
                .to_owned(),
            "Pending",
        ),
        KeyOutcome::Reported(diff) => {
            let config = run.config.as_ref();
            let field = config.map(|c| diff.field(&c.key)).unwrap_or_default();
            let why = match &run.ignored_by {
                Some(rule) => format!("the ignore rule {rule} keeps the fluentd key as it is"),
                None => "drift.policy is Report".to_owned(),
            };
            let mut item = config.map(|c| key_item(c, &diff, DriftAction::Update));
            if let Some(i) = &mut item {
                i.ignored_by = run.ignored_by.clone();
            }
            let state = if run.ignored_by.is_some() {
                "InSync"
            } else {
                "Drifted"
            };
            Applied {
                item: item.map(|i| (i, run.ignored_by.is_none())),
                ..held(
                    reason::REPORT_ONLY,
                    format!("{why}: the fluentd routes are not written ({field})"),
                    state,
                )
            }
        }
        key @ (KeyOutcome::Unmanaged | KeyOutcome::InSync { .. } | KeyOutcome::Written(_)) => {
            in_effect(lp, &CutoverRun { key, ..run }, now)
        }
    }
}

impl Applied {
    fn failing(mut self, e: super::cutover_io::FluentdError) -> Self {
        self.failure = Some(e);
        self
    }
}

/// The gate's stages took effect (the key holds them, or pitagora manages no key).
fn in_effect(lp: &LogPipeline, run: &CutoverRun, now: Timestamp) -> Applied {
    let time = Time(now);
    let g = lp.metadata.generation;
    let failing = lp
        .status
        .as_ref()
        .and_then(|s| s.delivery.as_ref())
        .and_then(|d| d.failing_stage.clone());
    let mut cutover = run.gated.status.clone();
    let mut notes = Vec::new();
    if let Some(c) = &run.config {
        cutover.config_hash = run.hash.clone();
        if let KeyOutcome::Written(diff) = &run.key
            && diff.edited
        {
            let item = key_item(c, diff, DriftAction::Update);
            notes.push(Note::new(
                Severity::Normal,
                event::DRIFT_CORRECTED,
                format!(
                    "{} {} {} (found {:?}): written back",
                    item.kind,
                    item.resource,
                    item.field.clone().unwrap_or_default(),
                    item.actual.clone().unwrap_or_default()
                ),
            ));
        }
    }
    notes.extend(move_notes(&run.gated.moves, run.gated.forced.as_ref()));
    let condition = match cutover.blocked.first() {
        Some(first) => {
            let message: Vec<String> = cutover
                .blocked
                .iter()
                .map(|b| format!("{}: {}", route_label(&b.route), b.message))
                .collect();
            notes.push(
                Note::warning(
                    event::CUTOVER_BLOCKED,
                    blocks_note(&cutover.blocked, failing.as_deref()),
                )
                .acting(format!("Hold/{}/{}", first.stage, first.check)),
            );
            blocked("True", &first.check, message.join("; "), g, &time)
        }
        None => blocked(
            "False",
            reason::STAGES_IN_EFFECT,
            format!(
                "every requested stage is in effect (stage {})",
                cutover.stage
            ),
            g,
            &time,
        ),
    };
    notes.extend(no_incoming(lp, &cutover, now));
    Applied {
        cutover: Some(cutover),
        state: "InSync",
        condition,
        item: None,
        notes,
        failure: None,
    }
}

/// The previous cutover status with the gate's new blocks and counters: the stages in effect
/// do not change when the fluentd side is not written. Without one, the stages in effect are
/// those before the gate ever ran (`status.stage`, else `Legacy`).
fn kept(lp: &LogPipeline, gated: &CutoverStatus) -> Option<CutoverStatus> {
    let previous = lp.status.as_ref().and_then(|s| s.cutover.clone());
    let mut c = previous.unwrap_or_else(|| {
        let fallback = lp.status.as_ref().and_then(|s| s.stage.as_deref());
        let before = crate::cutover::gate::in_effect(&lp.spec, None, fallback);
        CutoverStatus {
            stage: before.pipeline.as_str().to_owned(),
            routes: Vec::new(),
            forced: None,
            config_hash: None,
            ..gated.clone()
        }
    });
    c.requested = gated.requested.clone();
    c.proven_canaries = gated.proven_canaries;
    c.counted_canary = gated.counted_canary.clone();
    c.last_loss_signal_time = gated.last_loss_signal_time.clone();
    c.blocked = gated.blocked.clone();
    Some(c)
}

/// `CutoverAdvanced`, `CutoverRolledBack` and `CutoverForced` for the moves made now.
fn move_notes(moves: &[Move], forced: Option<&crate::spec::ForcedCutover>) -> Vec<Note> {
    let mut notes = Vec::new();
    let back: Vec<&Move> = moves.iter().filter(|m| m.to < m.from).collect();
    let ahead: Vec<&Move> = moves.iter().filter(|m| m.to > m.from).collect();
    if let Some(to) = back.iter().map(|m| m.to).min() {
        notes.push(
            Note::new(
                Severity::Normal,
                event::CUTOVER_ROLLED_BACK,
                format!("{} (the legacy store was written first)", moves_text(&back)),
            )
            .acting(format!("MoveBackTo/{to}")),
        );
    }
    if let Some(to) = ahead.iter().map(|m| m.to).max() {
        notes.push(
            Note::new(
                Severity::Normal,
                event::CUTOVER_ADVANCED,
                moves_text(&ahead),
            )
            .acting(format!("MoveTo/{to}")),
        );
    }
    if let Some(f) = forced {
        notes.push(Note::warning(
            event::CUTOVER_FORCED,
            format!(
                "stage {} forced without its checks by pitagora.dev/force-cutover: {}",
                f.stage, f.reason
            ),
        ));
    }
    notes
}

/// A `NoIncomingEvents` warning for the routes fluentd was told to write longer ago than the
/// deadline whose log groups still show no events.
fn no_incoming(lp: &LogPipeline, c: &CutoverStatus, now: Timestamp) -> Option<Note> {
    let deadline_ms = i64::from(lp.spec.cutover.incoming_deadline_seconds) * 1000;
    let late: Vec<String> = c
        .routes
        .iter()
        .filter(|r| r.receiving_since.is_none())
        .filter(|r| {
            r.sending_since
                .as_ref()
                .is_some_and(|s| now.as_millisecond() - s.0.as_millisecond() > deadline_ms)
        })
        .map(|r| format!("route {} → {}", r.r#match, r.log_group))
        .collect();
    if late.is_empty() {
        return None;
    }
    Some(Note::warning(
        event::NO_INCOMING_EVENTS,
        format!(
            "no incoming events within {} s of fluentd being told to write them: {} (has fluentd reloaded? does its role allow logs:PutLogEvents?)",
            deadline_ms / 1000,
            late.join("; ")
        ),
    ))
}
