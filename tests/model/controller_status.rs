//! The status a reconcile writes, specified as values: conditions for every outcome, transition
//! times that move only on transitions, bounded lists.

use crate::common;

use common::*;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use pitagora::controller::status::{Checked, MAX_DRIFT_ITEMS, Outcome, build};
use pitagora::plan::{Check, plan};
use pitagora::report;
use pitagora::spec::{FieldError, LogPipelineStatus};

fn at(seconds: i64) -> Time {
    Time(Timestamp::from_second(1_800_000_000 + seconds).unwrap())
}

fn state<'a>(s: &'a LogPipelineStatus, type_: &str) -> (&'a str, &'a str) {
    let (status, reason, _) = condition(s, type_);
    (status, reason)
}

fn condition<'a>(s: &'a LogPipelineStatus, type_: &str) -> (&'a str, &'a str, &'a Time) {
    let c = s
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition"));
    (
        c.status.as_str(),
        c.reason.as_str(),
        &c.last_transition_time,
    )
}

/// A checked outcome for the full chain: `perturb` changes AWS before the first plan; the
/// remaining plan is the same plan when `corrected` is false, else empty.
fn checked(
    report_only: bool,
    perturb: impl Fn(&mut pitagora::observed::Observed),
    corrected: bool,
) -> Outcome {
    let mut spec = full_chain_spec();
    if report_only {
        spec.drift.policy = pitagora::spec::DriftPolicy::Report;
    }
    let d = desired(&spec);
    let mut o = converged(&d, &["/ecs/orders"]);
    perturb(&mut o);
    let initial = plan(&d, &o);
    let remaining = if corrected {
        plan(&d, &converged(&d, &["/ecs/orders"]))
    } else {
        initial.clone()
    };
    let check = Check {
        desired: d,
        observed: o,
        plan: remaining.clone(),
    };
    Outcome::Checked(Box::new(Checked {
        resources: report::resources(&check),
        items: pitagora::drift::items(&remaining),
        initial,
        remaining,
        apply_error: None,
    }))
}

/// The stream tagged as another pipeline's: a conflict only a human can resolve.
fn ownership_conflict() -> Outcome {
    checked(
        false,
        |o| {
            o.stream
                .as_mut()
                .unwrap()
                .tags
                .insert(pitagora::names::OWNER_TAG.into(), "team-z/x".into());
        },
        false,
    )
}

fn in_sync() -> Outcome {
    checked(false, |_| {}, true)
}

fn buffering_changed(o: &mut pitagora::observed::Observed) {
    set_buffer_size(o, 99);
}

#[test]
fn an_invalid_spec_is_not_ready_with_every_error_in_the_message() {
    let errors = vec![
        FieldError::new(
            "spec.delivery.buffering.sizeMiB",
            500,
            "out of range; allowed 1–128 MiB",
        ),
        FieldError::new("spec.sources", "{}", "select at least one log group"),
    ];
    let s = build(None, Some(3), "New", &Outcome::Invalid(errors), None, at(0));
    assert_eq!(state(&s, "Ready"), ("False", "InvalidSpec"));
    assert_eq!(state(&s, "Synced"), ("False", "InvalidSpec"));
    let message = &s
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .message;
    assert!(
        message.contains("spec.delivery.buffering.sizeMiB") && message.contains("spec.sources"),
        "{message}"
    );
    assert_eq!(s.observed_generation, Some(3));
}

#[test]
fn an_aws_error_leaves_readiness_unknown_and_keeps_the_last_check() {
    let before = build(None, Some(1), "New", &in_sync(), None, at(0));
    let s = build(
        Some(&before),
        Some(1),
        "New",
        &Outcome::AwsError("unreachable".into()),
        None,
        at(60),
    );
    assert_eq!(state(&s, "Ready"), ("Unknown", "AwsError"));
    assert_eq!(state(&s, "Synced"), ("False", "AwsError"));
    assert_eq!(
        s.last_check_time, before.last_check_time,
        "no check happened"
    );
    assert_eq!(s.resources, before.resources);
}

#[test]
fn a_converged_pipeline_is_ready_synced_and_not_drifted() {
    let s = build(None, Some(1), "New", &in_sync(), None, at(0));
    assert_eq!(state(&s, "Ready"), ("True", "InSync"));
    assert_eq!(state(&s, "Synced"), ("True", "ReconcileSuccess"));
    assert_eq!(state(&s, "Drifted"), ("False", "NoDrift"));
    assert_eq!(s.drift_count, Some(0));
    assert!(s.drift.is_empty());
    assert!(s.resources.iter().all(|r| r.state == "InSync"));
    assert_eq!(s.last_check_time, Some(at(0)));
}

#[test]
fn corrected_drift_is_not_drifted_but_says_what_was_corrected() {
    let s = build(
        None,
        Some(1),
        "New",
        &checked(false, buffering_changed, true),
        None,
        at(0),
    );
    let drifted = s.conditions.iter().find(|c| c.type_ == "Drifted").unwrap();
    assert_eq!(
        (drifted.status.as_str(), drifted.reason.as_str()),
        ("False", "DriftCorrected")
    );
    assert!(
        drifted.message.contains("BufferingHints.SizeInMBs"),
        "{}",
        drifted.message
    );
    assert_eq!(condition(&s, "Ready").0, "True");
}

#[test]
fn report_only_drift_is_drifted_and_not_ready_with_the_items_in_status() {
    let s = build(
        None,
        Some(1),
        "New",
        &checked(true, buffering_changed, false),
        None,
        at(0),
    );
    assert_eq!(state(&s, "Ready"), ("False", "Drifted"));
    assert_eq!(state(&s, "Drifted"), ("True", "DriftDetected"));
    assert_eq!(s.drift_count, Some(1));
    assert_eq!(
        s.drift[0].field.as_deref(),
        Some("BufferingHints.SizeInMBs")
    );
    assert_eq!(
        (s.drift[0].desired.as_deref(), s.drift[0].actual.as_deref()),
        (Some("16"), Some("99"))
    );
    assert!(
        s.resources
            .iter()
            .any(|r| r.kind == "DeliveryStream" && r.state == "Drifted")
    );
}

#[test]
fn a_conflict_makes_the_pipeline_not_ready() {
    let outcome = ownership_conflict();
    let s = build(None, Some(1), "New", &outcome, None, at(0));
    assert_eq!(state(&s, "Ready"), ("False", "Conflict"));
    assert!(
        s.resources
            .iter()
            .any(|r| r.kind == "DeliveryStream" && r.state == "Conflict")
    );
}

#[test]
fn a_resource_mid_operation_is_pending() {
    let outcome = checked(
        false,
        |o| o.stack.as_mut().unwrap().status = "UPDATE_IN_PROGRESS".into(),
        false,
    );
    let s = build(None, Some(1), "New", &outcome, None, at(0));
    assert_eq!(state(&s, "Ready"), ("False", "Pending"));
}

#[test]
fn transition_times_move_only_when_a_condition_changes_status() {
    let first = build(None, Some(1), "New", &in_sync(), None, at(0));
    let again = build(Some(&first), Some(1), "New", &in_sync(), None, at(300));
    assert_eq!(
        condition(&again, "Ready").2,
        &at(0),
        "still True: the transition time stays"
    );
    assert_eq!(again.last_check_time, Some(at(300)));
    let drifted = build(
        Some(&again),
        Some(1),
        "New",
        &checked(true, buffering_changed, false),
        None,
        at(600),
    );
    assert_eq!(
        condition(&drifted, "Ready").2,
        &at(600),
        "True → False: a transition"
    );
    assert_eq!(
        condition(&drifted, "Synced").2,
        &at(0),
        "Synced stayed True"
    );
}

#[test]
fn drift_items_in_status_are_bounded() {
    let many: Vec<pitagora::spec::DriftItem> = (0..(MAX_DRIFT_ITEMS + 20))
        .map(|i| pitagora::spec::DriftItem {
            kind: pitagora::resources::ResourceKind::SubscriptionFilter,
            resource: format!("/ecs/g{i}"),
            field: Some("filterPattern".into()),
            spec_field: None,
            desired: Some("".into()),
            actual: Some("x".into()),
            action: pitagora::spec::DriftAction::Update,
            reason: "r".into(),
            ignored_by: None,
        })
        .collect();
    let Outcome::Checked(mut c) = checked(true, buffering_changed, false) else {
        unreachable!()
    };
    c.items = many;
    let s = build(None, Some(1), "New", &Outcome::Checked(c), None, at(0));
    assert_eq!(s.drift.len(), MAX_DRIFT_ITEMS);
    assert_eq!(
        s.drift_count,
        Some((MAX_DRIFT_ITEMS + 20) as i32),
        "the count is the whole number"
    );
}

#[test]
fn the_handled_reconcile_request_and_the_stage_are_recorded() {
    let s = build(
        None,
        Some(2),
        "Shadow",
        &in_sync(),
        Some("2026-11-27T10:00:00Z"),
        at(0),
    );
    assert_eq!(
        s.last_handled_reconcile_at.as_deref(),
        Some("2026-11-27T10:00:00Z")
    );
    assert_eq!(s.stage.as_deref(), Some("Shadow"));
    assert_eq!(s.observed_generation, Some(2));
}

#[test]
fn a_blocked_deletion_is_not_ready_and_not_synced_with_the_reason() {
    let s = build(
        None,
        Some(1),
        "New",
        &Outcome::DeleteBlocked("stream is DELETING_FAILED".into()),
        None,
        at(0),
    );
    assert_eq!(state(&s, "Ready"), ("False", "DeleteBlocked"));
    assert_eq!(state(&s, "Synced"), ("False", "DeleteBlocked"));
}

#[test]
fn a_correction_that_did_not_take_is_not_labelled_report_only() {
    let s = build(
        None,
        Some(1),
        "New",
        &checked(false, buffering_changed, false),
        None,
        at(0),
    );
    let (status, reason, _) = condition(&s, "Ready");
    assert_eq!((status, reason), ("False", "Drifted"));
    let message = &s
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .message;
    assert!(!message.contains("drift.policy: Report"), "{message}");
    assert!(message.contains("BufferingHints.SizeInMBs"), "{message}");
}

fn stalled(s: &LogPipelineStatus) -> Option<(&str, &str)> {
    s.conditions
        .iter()
        .find(|c| c.type_ == "Stalled")
        .map(|c| (c.status.as_str(), c.reason.as_str()))
}

#[test]
fn an_invalid_spec_is_stalled_for_kstatus() {
    let errors = vec![FieldError::new("spec.sources", "{}", "select at least one")];
    let s = build(None, Some(2), "New", &Outcome::Invalid(errors), None, at(0));
    assert_eq!(stalled(&s), Some(("True", "InvalidSpec")));
}

#[test]
fn a_refused_destructive_change_is_stalled_and_answers_its_generation() {
    let before = build(None, Some(1), "New", &in_sync(), None, at(0));
    let refused = Outcome::Refused("acknowledge.replaceBucket".into());
    let s = build(Some(&before), Some(2), "New", &refused, None, at(60));
    assert_eq!(stalled(&s), Some(("True", "DestructiveChange")));
    assert_eq!(s.observed_generation, Some(2));
}

#[test]
fn an_ownership_conflict_is_stalled() {
    let outcome = ownership_conflict();
    let s = build(None, Some(1), "New", &outcome, None, at(0));
    assert_eq!(stalled(&s), Some(("True", "Conflict")));
}

#[test]
fn passing_trouble_is_not_stalled_and_a_fixed_pipeline_drops_the_condition() {
    let invalid = Outcome::Invalid(vec![FieldError::new("spec.sources", "{}", "x")]);
    let stuck = build(None, Some(1), "New", &invalid, None, at(0));
    let aws = Outcome::AwsError("unreachable".into());
    let transient = build(Some(&stuck), Some(2), "New", &aws, None, at(30));
    assert_eq!(stalled(&transient), None, "an AWS error passes");
    let fixed = build(Some(&stuck), Some(2), "New", &in_sync(), None, at(60));
    assert_eq!(stalled(&fixed), None);
}
