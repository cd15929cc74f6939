//! The cutover gate, specified as values: moves back are immediate, moves forward wait for proof
//! (Primary for Delivering=True; New for proven canaries, a quiet shadow window and incoming
//! events), the force annotation overrides once per reason, and each route moves on its own.

use crate::common;

use CutoverStage::*;
use pitagora::cutover::gate::{self, Evidence, Gated, check};
use pitagora::spec::{CutoverStage, CutoverStatus, LogPipelineSpec};

const HOUR_MS: i64 = 3_600_000;
const T0: i64 = 1_800_000_000_000;

/// The example beside fluentd (two routes), at `stage`, with `extra` cutover settings.
fn spec_at(stage: CutoverStage, extra: &str) -> LogPipelineSpec {
    let mut spec = common::beside_fluentd_spec();
    spec.cutover.stage = Some(stage);
    if !extra.is_empty() {
        let patch: serde_json::Value = serde_json::from_str(extra).unwrap();
        let mut c = serde_json::to_value(&spec.cutover).unwrap();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        spec.cutover = serde_json::from_value(c).unwrap();
    }
    spec
}

/// Evidence of a healthy pipeline at `now`: delivering, the canary `id` arrived in 30 s, both
/// route groups receiving.
fn healthy(now: i64, canary: &str) -> Evidence {
    Evidence {
        now_ms: now,
        delivering: Some(true),
        canary: Some((canary.to_owned(), Some(30_000))),
        receiving: [("/ecs/payments-api", now), ("/ecs/payments-worker", now)]
            .into_iter()
            .map(|(g, t)| (g.to_owned(), t))
            .collect(),
        ..Evidence::default()
    }
}

fn run(spec: &LogPipelineSpec, previous: Option<&CutoverStatus>, e: &Evidence) -> Gated {
    gate::gate(spec, previous, None, e)
}

/// Runs the gate again and again on its own status, a new delivered canary each hour.
fn hours(spec: &LogPipelineSpec, mut status: Option<CutoverStatus>, n: i64) -> Gated {
    let mut last = None;
    for h in 0..n {
        let g = run(
            spec,
            status.as_ref(),
            &healthy(T0 + h * HOUR_MS, &format!("c{h}")),
        );
        status = Some(g.status.clone());
        last = Some(g);
    }
    last.expect("at least one step")
}

fn checks(g: &Gated) -> Vec<&str> {
    g.status.blocked.iter().map(|b| b.check.as_str()).collect()
}

#[test]
fn a_new_pipeline_beside_fluentd_starts_at_legacy_and_shadow_needs_no_proof() {
    let e = Evidence {
        now_ms: T0,
        ..Evidence::default()
    };
    let g = run(&spec_at(Shadow, ""), None, &e);
    assert_eq!(g.stages.routes, [Shadow, Shadow]);
    assert_eq!(g.status.stage, "Shadow");
    assert!(g.status.blocked.is_empty());
    assert_eq!(g.moves.len(), 2);
    assert!(g.moves.iter().all(|m| m.from == Legacy && m.to == Shadow));
    assert!(!g.backward());
}

#[test]
fn primary_waits_for_delivering_true_and_names_where_delivery_fails() {
    let shadow = run(&spec_at(Shadow, ""), None, &healthy(T0, "c0")).status;
    let e = Evidence {
        delivering: Some(false),
        failing_stage: Some("cloudwatch-logs → firehose".into()),
        canary: Some(("c1".into(), None)),
        ..healthy(T0 + HOUR_MS, "c1")
    };
    let g = run(&spec_at(Primary, ""), Some(&shadow), &e);
    assert_eq!(g.stages.routes, [Shadow, Shadow], "held at Shadow");
    assert_eq!(checks(&g), [check::NOT_DELIVERING, check::NOT_DELIVERING]);
    let b = &g.status.blocked[0];
    assert_eq!(
        (b.route.as_str(), b.stage.as_str()),
        ("app.payments.api.**", "Primary")
    );
    assert!(
        b.message
            .contains("delivery fails at cloudwatch-logs → firehose"),
        "{}",
        b.message
    );
    assert!(g.moves.is_empty());
}

#[test]
fn primary_takes_effect_once_delivering() {
    let shadow = run(&spec_at(Shadow, ""), None, &healthy(T0, "c0")).status;
    let g = run(
        &spec_at(Primary, ""),
        Some(&shadow),
        &healthy(T0 + 1000, "c1"),
    );
    assert_eq!(g.stages.routes, [Primary, Primary]);
    assert!(g.status.blocked.is_empty());
}

#[test]
fn new_waits_for_the_required_canaries_in_a_row() {
    let spec = spec_at(New, r#"{"requiredSuccesses": 3, "shadowWindowSeconds": 0}"#);
    let g = hours(&spec, None, 2);
    assert_eq!(g.stages.routes, [Primary, Primary]);
    assert_eq!(
        checks(&g),
        [check::TOO_FEW_CANARIES, check::TOO_FEW_CANARIES]
    );
    assert!(
        g.status.blocked[0].message.contains("2 so far"),
        "{}",
        g.status.blocked[0].message
    );
    let g = hours(&spec, Some(g.status), 1);
    assert_eq!(g.stages.routes, [New, New]);
    assert_eq!(g.status.proven_canaries, 3);
}

#[test]
fn the_same_canary_is_counted_once() {
    let spec = spec_at(Shadow, "");
    let first = run(&spec, None, &healthy(T0, "c0")).status;
    let again = run(&spec, Some(&first), &healthy(T0 + 1000, "c0")).status;
    assert_eq!((first.proven_canaries, again.proven_canaries), (1, 1));
}

#[test]
fn a_canary_slower_than_the_bound_or_missing_starts_the_count_again() {
    let spec = spec_at(Shadow, r#"{"maxDeliverySeconds": 60}"#);
    let s = hours(&spec, None, 3).status;
    assert_eq!(s.proven_canaries, 3);
    let slow = Evidence {
        canary: Some(("slow".into(), Some(61_000))),
        ..healthy(T0 + 4 * HOUR_MS, "")
    };
    assert_eq!(run(&spec, Some(&s), &slow).status.proven_canaries, 0);
    let missing = Evidence {
        canary: Some(("lost".into(), None)),
        ..healthy(T0 + 4 * HOUR_MS, "")
    };
    assert_eq!(run(&spec, Some(&s), &missing).status.proven_canaries, 0);
}

#[test]
fn new_waits_for_a_shadow_window_without_loss_signals() {
    let spec = spec_at(
        New,
        r#"{"requiredSuccesses": 1, "shadowWindowSeconds": 7200}"#,
    );
    // One hour after the routes started writing to CloudWatch Logs: not yet two.
    let g = hours(&spec, None, 2);
    assert_eq!(g.stages.routes, [Primary, Primary]);
    assert_eq!(checks(&g), [check::SHADOW_WINDOW, check::SHADOW_WINDOW]);
    // A loss signal now holds New back for another window.
    let lossy = Evidence {
        loss_signals: true,
        ..healthy(T0 + 2 * HOUR_MS, "c2")
    };
    let g = run(&spec, Some(&g.status), &lossy);
    assert_eq!(checks(&g), [check::LOSS_SIGNALS, check::LOSS_SIGNALS]);
    let g = run(&spec, Some(&g.status), &healthy(T0 + 3 * HOUR_MS, "c3"));
    assert_eq!(checks(&g), [check::LOSS_SIGNALS, check::LOSS_SIGNALS]);
    let g = run(&spec, Some(&g.status), &healthy(T0 + 4 * HOUR_MS + 1, "c4"));
    assert_eq!(g.stages.routes, [New, New]);
}

#[test]
fn new_waits_for_events_arriving_in_the_route_groups() {
    let spec = spec_at(New, r#"{"requiredSuccesses": 1, "shadowWindowSeconds": 0}"#);
    let quiet = |now, id: &str| Evidence {
        receiving: Default::default(),
        ..healthy(now, id)
    };
    let g = run(&spec, None, &quiet(T0, "c0"));
    let g = run(&spec, Some(&g.status), &quiet(T0 + 1000, "c1"));
    assert_eq!(g.stages.routes, [Primary, Primary]);
    assert_eq!(
        checks(&g),
        [check::NO_INCOMING_EVENTS, check::NO_INCOMING_EVENTS]
    );
    // Only the worker's group receives: only the worker moves.
    let mut worker = quiet(T0 + 2000, "c2");
    worker
        .receiving
        .insert("/ecs/payments-worker".into(), T0 + 2000);
    let g = run(&spec, Some(&g.status), &worker);
    assert_eq!(g.stages.routes, [Primary, New]);
    assert_eq!(
        g.stages.pipeline, Primary,
        "the pipeline is at its lowest route"
    );
    assert!(g.status.routes[1].receiving_since.is_some());
}

#[test]
fn moves_back_are_immediate_and_marked_backward() {
    let spec = spec_at(New, r#"{"requiredSuccesses": 1, "shadowWindowSeconds": 0}"#);
    let at_new = hours(&spec, None, 2).status;
    assert_eq!(at_new.stage, "New");
    let e = Evidence {
        delivering: Some(false),
        ..healthy(T0 + 3 * HOUR_MS, "x")
    };
    let g = run(&spec_at(Shadow, ""), Some(&at_new), &e);
    assert_eq!(g.stages.routes, [Shadow, Shadow]);
    assert!(g.backward());
    assert!(g.status.blocked.is_empty());
}

#[test]
fn going_back_to_legacy_stops_the_sending_clock() {
    let spec = spec_at(Shadow, "");
    let shadow = run(&spec, None, &healthy(T0, "c0")).status;
    assert!(shadow.routes[0].sending_since.is_some());
    let legacy = run(&spec_at(Legacy, ""), Some(&shadow), &healthy(T0 + 1, "c1")).status;
    assert_eq!(legacy.routes[0].sending_since, None);
    assert_eq!(legacy.routes[0].receiving_since, None);
}

#[test]
fn a_route_with_its_own_stage_moves_alone() {
    let mut spec = spec_at(Shadow, "");
    spec.legacy.as_mut().unwrap().fluentd.routes[1].stage = Some(Primary);
    let g = run(&spec, None, &healthy(T0, "c0"));
    assert_eq!(g.stages.routes, [Shadow, Primary]);
    assert_eq!(g.stages.pipeline, Shadow);
    assert_eq!(g.status.routes[1].requested, "Primary");
}

#[test]
fn the_force_annotation_overrides_the_checks_once_per_reason() {
    let spec = spec_at(New, "");
    let e = Evidence {
        delivering: Some(false),
        force: Some("aggregator disk full, INC-1234".into()),
        ..Evidence {
            now_ms: T0,
            ..Evidence::default()
        }
    };
    let g = run(&spec, None, &e);
    assert_eq!(g.stages.routes, [New, New]);
    let forced = g.forced.clone().expect("forced now");
    assert_eq!(
        (forced.reason.as_str(), forced.stage.as_str()),
        ("aggregator disk full, INC-1234", "New")
    );
    assert_eq!(g.status.forced, Some(forced));
    // Back to Shadow, then forward again with the same reason: the checks apply.
    let back = run(&spec_at(Shadow, ""), Some(&g.status), &e);
    let again = run(&spec, Some(&back.status), &e);
    assert_eq!(again.forced, None);
    assert_eq!(again.stages.routes, [Shadow, Shadow]);
    assert_eq!(checks(&again)[0], check::NOT_DELIVERING);
}

#[test]
fn the_force_annotation_is_not_used_up_while_nothing_is_held_back() {
    let e = Evidence {
        force: Some("just in case".into()),
        ..healthy(T0, "c0")
    };
    let g = run(&spec_at(Shadow, ""), None, &e);
    assert_eq!(g.stages.routes, [Shadow, Shadow]);
    assert_eq!((g.forced, g.status.forced), (None, None));
}

#[test]
fn a_status_written_before_the_gate_keeps_its_stage() {
    let spec = spec_at(Primary, "");
    let e = Evidence {
        delivering: Some(false),
        now_ms: T0,
        ..Evidence::default()
    };
    let g = gate::gate(&spec, None, Some("Primary"), &e);
    assert_eq!(g.stages.routes, [Primary, Primary]);
    assert!(g.moves.is_empty());
}

#[test]
fn a_pipeline_without_routes_gates_its_own_stage() {
    let mut spec = spec_at(Primary, "");
    spec.legacy.as_mut().unwrap().fluentd.routes.clear();
    let e = Evidence {
        now_ms: T0,
        ..Evidence::default()
    };
    let g = run(&spec, None, &e);
    assert_eq!(g.stages.pipeline, Shadow);
    assert_eq!(checks(&g), [check::NOT_DELIVERING]);
    assert_eq!(g.status.blocked[0].route, "");
}

mod incoming {
    use pitagora::cutover::incoming::{queries, receiving};
    use pitagora::delivery::signals::Results;

    const MINUTE: i64 = 60_000;

    fn groups() -> Vec<(String, i64)> {
        vec![
            ("/ecs/payments-api".to_owned(), 10 * MINUTE + 30_000),
            ("/ecs/payments-worker".to_owned(), 10 * MINUTE),
        ]
    }

    #[test]
    fn one_incoming_log_events_sum_per_group_in_order() {
        let names: Vec<String> = groups().into_iter().map(|(g, _)| g).collect();
        let q = queries(&names);
        assert_eq!(q.len(), 2);
        assert_eq!((q[1].metric, q[1].stat), ("IncomingLogEvents", "Sum"));
        assert_eq!(
            q[1].dimensions,
            [("LogGroupName", "/ecs/payments-worker".to_owned())]
        );
        assert_ne!(q[0].id, q[1].id);
    }

    #[test]
    fn a_group_receives_from_the_first_minute_with_events_since_the_route_started() {
        let results: Results = [
            // Events before the route started do not count; the minute holding its start does.
            (
                "in0".to_owned(),
                vec![(8 * MINUTE, 4.0), (10 * MINUTE, 2.0), (11 * MINUTE, 3.0)],
            ),
            (
                "in1".to_owned(),
                vec![(9 * MINUTE, 7.0), (11 * MINUTE, 0.0)],
            ),
        ]
        .into_iter()
        .collect();
        let found = receiving(&groups(), &results);
        assert_eq!(found.get("/ecs/payments-api"), Some(&(10 * MINUTE)));
        assert_eq!(
            found.get("/ecs/payments-worker"),
            None,
            "quiet since it started"
        );
    }
}
