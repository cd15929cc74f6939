//! The controller's decisions, specified as values: which events a reconcile publishes (and
//! does not repeat), when it looks again, how failures back off and which label they carry.
//! No cluster and no AWS: `controller::decide` is pure.

use crate::common;

use common::controller::{at, checked_status, pipeline};
use common::*;
use k8s_openapi::jiff::Timestamp;
use pitagora::apply::{ActionOutcome, ApplyReport};
use pitagora::aws::{Aws, AwsError, AwsSettings};
use pitagora::controller::decide::{
    self, Cleaned, Decision, EventMemory, Found, Gathered, Next, Note, Requeue, Severity,
};
use pitagora::controller::{self, RECONCILE_REQUESTED_AT, reasons};
use pitagora::engine::{Converged, Engine, EngineError, Pass};
use pitagora::observed::Observed;
use pitagora::plan::{Plan, plan};
use pitagora::resources::ResourceKind;
use pitagora::spec::{InvalidSpec, LogPipeline};
use std::sync::Arc;
use std::time::Duration;

fn buffering(size: i32) -> impl Fn(&mut Observed) {
    move |o| set_buffer_size(o, size)
}

/// A converge of the full chain: `perturb` changes AWS before the first plan; when `apply`
/// holds a result, the initial plan was executed with that result and AWS ended converged.
fn converge_of(
    perturb: impl Fn(&mut Observed),
    apply: Option<Result<String, AwsError>>,
) -> Converged {
    let d = desired(&full_chain_spec());
    let mut before = converged(&d, &["/ecs/orders"]);
    perturb(&mut before);
    let initial = plan(&d, &before);
    let passes: Vec<Pass> = apply
        .into_iter()
        .map(|result| Pass {
            applied: report_of(&initial, result),
            plan: initial.clone(),
        })
        .collect();
    let ok = passes.iter().all(|p| p.applied.succeeded());
    let after = if ok && !passes.is_empty() {
        converged(&d, &["/ecs/orders"])
    } else {
        before
    };
    Converged {
        remaining: plan(&d, &after),
        initial,
        passes,
        refused: Vec::new(),
        desired: d,
        observed: after,
    }
}

/// Every write of `plan` executed with `result`.
fn report_of(plan: &Plan, result: Result<String, AwsError>) -> ApplyReport {
    ApplyReport {
        outcomes: plan
            .writes()
            .map(|a| ActionOutcome {
                action: a.clone(),
                result: result.clone(),
                elapsed_ms: 1,
            })
            .collect(),
        skipped: Vec::new(),
    }
}

fn decide_converged(lp: &LogPipeline, c: Converged, memory: &EventMemory, now: i64) -> Decision {
    decide_found(lp, Found::Converged(Box::new(c)), memory, at(now), 500)
}

/// The decision of a reconcile whose check found `found`, with no delivery step taken and no
/// loss signals read (they join it in tests/controller_reconcile.rs).
fn decide_found(
    lp: &LogPipeline,
    found: Found,
    memory: &EventMemory,
    now: Timestamp,
    entropy: u32,
) -> Decision {
    let gathered = Gathered {
        found: Some(found),
        delivery: Some(None),
        signals: Some(None),
        ..Gathered::new(Timestamp::UNIX_EPOCH, Duration::ZERO)
    };
    match decide::decide(lp, gathered, memory, now, entropy) {
        Next::Done(d) => *d,
        Next::Gather(_, io) => panic!("a check with everything gathered asks for {io:?}"),
    }
}

/// The status and reason of the `Ready` condition the decision writes.
fn ready(d: &Decision) -> (String, String) {
    let status = d.status.as_ref().expect("a status is written");
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready");
    (c.status.clone(), c.reason.clone())
}

/// `memory` after publishing `d`'s events on `lp` at `now`.
fn remember(memory: &mut EventMemory, lp: &LogPipeline, d: &Decision, now: i64) {
    for note in &d.events {
        memory.record(&decide::object_key(lp), note, at(now));
    }
}

fn reasons_of(d: &Decision) -> Vec<&'static str> {
    d.events.iter().map(|n| n.reason).collect()
}

fn access_denied() -> AwsError {
    AwsError::AccessDenied {
        operation: "Firehose.UpdateDestination".into(),
        message: "not authorized".into(),
    }
}

// ---- events ----

/// The `DriftCorrected` note of a correction whose check ran `due` to `event` (a change that
/// arrived as an event, described) at 400 s, 100 s after the interval of the check at 0 s.
fn corrected_note(lp: &LogPipeline, event: Option<&str>) -> String {
    let gathered = Gathered {
        found: Some(Found::Converged(Box::new(converge_of(
            buffering(64),
            Some(Ok("updated".into())),
        )))),
        delivery: Some(None),
        signals: Some(None),
        event: event.map(str::to_owned),
        ..Gathered::new(Timestamp::UNIX_EPOCH, Duration::ZERO)
    };
    let Next::Done(d) = decide::decide(lp, gathered, &EventMemory::default(), at(400), 500) else {
        panic!("everything is gathered")
    };
    assert_eq!(reasons_of(&d), [reasons::event::DRIFT_CORRECTED]);
    d.events[0].text.clone()
}

#[test]
fn a_correction_says_first_what_found_the_change_an_event_the_sweep_or_a_requested_check() {
    let change =
        "DeleteSubscriptionFilter by arn:aws:iam::123456789012:user/alice at 2026-12-06T15:00:07Z";
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let mut requested = lp.clone();
    requested.metadata.annotations =
        Some([(RECONCILE_REQUESTED_AT.to_owned(), "1".to_owned())].into());
    let rows = [
        (&lp, Some(change), format!("found by an event, {change}: ")),
        (&lp, None, "found by the routine sweep: ".to_owned()),
        (&requested, None, "found by a requested check: ".to_owned()),
    ];
    for (lp, event, start) in rows {
        let text = corrected_note(lp, event);
        assert!(text.starts_with(&start), "{text}");
        assert!(text.contains("BufferingHints.SizeInMBs"), "{text}");
    }
}

#[test]
fn drift_corrected_out_of_band_is_an_event_naming_the_fields() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let d = decide_converged(
        &lp,
        converge_of(buffering(64), Some(Ok("updated".into()))),
        &EventMemory::default(),
        400,
    );
    assert_eq!(reasons_of(&d), [reasons::event::DRIFT_CORRECTED]);
    assert_eq!(d.events[0].severity, Severity::Normal);
    assert!(
        d.events[0].text.contains("BufferingHints.SizeInMBs"),
        "{}",
        d.events[0].text
    );
}

#[test]
fn the_first_reconcile_that_creates_the_stack_is_a_created_event() {
    let lp = pipeline(full_chain_spec(), 1, None);
    let c = converge_of(
        |o| *o = world_with_groups(&["/ecs/orders"]),
        Some(Ok("created".into())),
    );
    let d = decide_converged(&lp, c, &EventMemory::default(), 0);
    assert_eq!(reasons_of(&d), [reasons::event::CREATED]);
}

#[test]
fn a_spec_change_applied_is_an_updated_event() {
    let lp = pipeline(full_chain_spec(), 2, Some(checked_status(0, "InSync")));
    let d = decide_converged(
        &lp,
        converge_of(buffering(64), Some(Ok("updated".into()))),
        &EventMemory::default(),
        10,
    );
    assert_eq!(reasons_of(&d), [reasons::event::UPDATED]);
}

#[test]
fn drift_that_stands_after_the_reconcile_is_a_drift_detected_warning() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let d = decide_converged(
        &lp,
        converge_of(buffering(64), None),
        &EventMemory::default(),
        400,
    );
    assert_eq!(reasons_of(&d), [reasons::event::DRIFT_DETECTED]);
    assert_eq!(d.events[0].severity, Severity::Warning);
}

#[test]
fn an_ownership_conflict_is_its_own_warning_instead_of_drift_detected() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let foreign = |o: &mut Observed| {
        o.stream
            .as_mut()
            .unwrap()
            .tags
            .insert(pitagora::names::OWNER_TAG.into(), "team-b/other".into());
    };
    let d = decide_converged(
        &lp,
        converge_of(foreign, None),
        &EventMemory::default(),
        400,
    );
    assert_eq!(reasons_of(&d), [reasons::event::OWNERSHIP_CONFLICT]);
    assert!(
        d.events[0].text.contains("team-b/other"),
        "{}",
        d.events[0].text
    );
}

#[test]
fn an_identical_event_is_not_published_again_within_the_hour() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let mut memory = EventMemory::default();
    let first = decide_converged(&lp, converge_of(buffering(64), None), &memory, 0);
    remember(&mut memory, &lp, &first, 0);
    let again = decide_converged(&lp, converge_of(buffering(64), None), &memory, 3599);
    assert_eq!(reasons_of(&first), [reasons::event::DRIFT_DETECTED]);
    assert!(again.events.is_empty(), "{:?}", again.events);
}

#[test]
fn an_identical_event_is_published_again_after_the_hour() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let mut memory = EventMemory::default();
    let first = decide_converged(&lp, converge_of(buffering(64), None), &memory, 0);
    remember(&mut memory, &lp, &first, 0);
    let later = decide_converged(&lp, converge_of(buffering(64), None), &memory, 3600);
    assert_eq!(reasons_of(&later), [reasons::event::DRIFT_DETECTED]);
}

#[test]
fn an_event_whose_note_changed_is_published_at_once() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let mut memory = EventMemory::default();
    let first = decide_converged(&lp, converge_of(buffering(64), None), &memory, 0);
    remember(&mut memory, &lp, &first, 0);
    let other = |o: &mut Observed| {
        buffering(64)(o);
        o.error_log_group.as_mut().unwrap().retention_days = Some(1);
    };
    let next = decide_converged(&lp, converge_of(other, None), &memory, 60);
    assert_eq!(reasons_of(&next), [reasons::event::DRIFT_DETECTED]);
}

#[test]
fn the_event_memory_prunes_what_has_expired() {
    let mut memory = EventMemory::default();
    let note = |i: usize| Note {
        severity: Severity::Warning,
        reason: reasons::event::DRIFT_DETECTED,
        text: format!("note {i}"),
        action: None,
    };
    for i in 0..100 {
        memory.record(&format!("uid-{i}"), &note(i), at(0));
    }
    memory.record("uid-late", &note(0), at(3600));
    assert_eq!(
        memory.len(),
        1,
        "only the event recorded within the hour is kept"
    );
}

#[test]
fn the_event_memory_forgets_a_deleted_pipeline() {
    let mut memory = EventMemory::default();
    let note = Note {
        severity: Severity::Normal,
        reason: reasons::event::CREATED,
        text: "created".into(),
        action: None,
    };
    memory.record("uid-a", &note, at(0));
    memory.record("uid-b", &note, at(0));
    memory.forget("uid-a");
    assert_eq!(memory.len(), 1);
    assert!(memory.admits("uid-a", &note, at(1)));
    assert!(!memory.admits("uid-b", &note, at(1)));
}

#[test]
fn notes_are_cut_to_a_thousand_characters() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let long = AwsError::AccessDenied {
        operation: "Firehose.UpdateDestination".into(),
        message: "x".repeat(5000),
    };
    let d = decide_converged(
        &lp,
        converge_of(buffering(64), Some(Err(long))),
        &EventMemory::default(),
        400,
    );
    assert!(d.events.iter().all(|n| n.text.chars().count() <= 1000));
}

// ---- when to look again ----

#[test]
fn an_in_sync_pipeline_is_checked_again_at_its_interval_with_jitter() {
    let mut spec = full_chain_spec();
    spec.drift.check_interval_seconds = 600;
    let lp = pipeline(spec, 1, Some(checked_status(0, "InSync")));
    let d = decide_converged(&lp, converge_of(|_| {}, None), &EventMemory::default(), 700);
    let Requeue::After(delay) = d.requeue else {
        panic!("{:?}", d.requeue)
    };
    assert!((540..=660).contains(&delay.as_secs()), "{delay:?}");
}

#[test]
fn a_pipeline_mid_operation_in_aws_is_checked_again_in_fifteen_seconds() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let updating = |o: &mut Observed| o.stream.as_mut().unwrap().status = "UPDATING".into();
    let d = decide_converged(
        &lp,
        converge_of(updating, None),
        &EventMemory::default(),
        400,
    );
    let Requeue::After(delay) = d.requeue else {
        panic!("{:?}", d.requeue)
    };
    assert!((13.5..=16.5).contains(&delay.as_secs_f64()), "{delay:?}");
}

#[test]
fn jitter_stays_within_ten_percent() {
    let interval = Duration::from_secs(300);
    for entropy in (0..2000).step_by(7) {
        let d = decide::jittered(interval, entropy).as_secs_f64();
        assert!((270.0..=330.0).contains(&d), "entropy {entropy}: {d}");
    }
    assert_ne!(
        decide::jittered(interval, 0),
        decide::jittered(interval, 999),
        "different entropy spreads pipelines apart"
    );
}

#[test]
fn backoff_doubles_from_five_seconds_up_to_the_cap() {
    let cap = Duration::from_secs(300);
    let delays: Vec<u64> = (1..=8).map(|n| decide::backoff(n, cap).as_secs()).collect();
    assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300]);
    assert_eq!(decide::backoff(u32::MAX, cap), cap, "no overflow");
}

#[test]
fn a_recent_check_stays_current_until_the_interval_has_passed() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    assert_eq!(
        decide::current_for(&lp, at(100)),
        Some(Duration::from_secs(200))
    );
    assert_eq!(decide::current_for(&lp, at(300)), None);
}

#[test]
fn a_spec_change_makes_the_last_check_stale_at_once() {
    let lp = pipeline(full_chain_spec(), 2, Some(checked_status(0, "InSync")));
    assert_eq!(decide::current_for(&lp, at(1)), None);
}

#[test]
fn a_new_reconcile_request_makes_the_last_check_stale_at_once() {
    let mut lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    lp.metadata.annotations = Some([(RECONCILE_REQUESTED_AT.to_owned(), "1".to_owned())].into());
    assert_eq!(decide::current_for(&lp, at(1)), None);
}

#[test]
fn a_pending_pipeline_stays_current_for_fifteen_seconds_only() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "Pending")));
    assert_eq!(
        decide::current_for(&lp, at(5)),
        Some(Duration::from_secs(10))
    );
    assert_eq!(decide::current_for(&lp, at(15)), None);
}

// ---- failures ----

#[test]
fn an_invalid_spec_is_recorded_without_a_failure_and_waits_for_a_change() {
    let lp = pipeline(full_chain_spec(), 3, Some(checked_status(0, "InSync")));
    let invalid = InvalidSpec(vec![pitagora::spec::FieldError::new(
        "spec.delivery.buffering.sizeMiB",
        500,
        "out of range; allowed 1–128",
    )]);
    let d = decide_found(
        &lp,
        Found::Invalid(invalid),
        &EventMemory::default(),
        at(9),
        0,
    );
    assert!(d.failure.is_none());
    assert_eq!(d.requeue, Requeue::AwaitChange);
    assert_eq!(reasons_of(&d), [reasons::event::INVALID_SPEC]);
    assert_eq!(d.drift, Some(Vec::new()), "no drift figures stand for it");
    assert_eq!(ready(&d), ("False".into(), "InvalidSpec".into()));
}

#[tokio::test]
async fn an_invalid_spec_makes_no_aws_call() {
    // Nothing listens on this port: any call would fail (and be counted).
    let config = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let engine = Engine::new(Arc::new(Aws::from_config(
        config,
        AwsSettings::default(),
        Vec::new(),
    )));
    let mut spec = full_chain_spec();
    spec.delivery.buffering.size_mib = 500;
    let found = controller::find(&pipeline(spec, 1, None), &engine).await;
    assert!(matches!(found, Found::Invalid(_)), "{found:?}");
    assert_eq!(engine.aws().calls().snapshot().total(), 0);
}

#[test]
fn a_failed_apply_fails_the_reconcile_under_the_aws_cause_label() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let d = decide_converged(
        &lp,
        converge_of(buffering(64), Some(Err(access_denied()))),
        &EventMemory::default(),
        400,
    );
    let failure = d.failure.as_ref().expect("the reconcile failed");
    assert_eq!(failure.label(), "AccessDenied");
    assert_eq!(reasons_of(&d), [reasons::event::AWS_ERROR]);
}

#[test]
fn an_engine_failure_fails_the_reconcile_under_its_label_and_says_so_in_status() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let d = decide_found(
        &lp,
        Found::Failed(EngineError::Aws(access_denied())),
        &EventMemory::default(),
        at(400),
        0,
    );
    assert_eq!(d.failure.as_ref().map(|e| e.label()), Some("AccessDenied"));
    assert_eq!(ready(&d), ("Unknown".into(), "AwsError".into()));
}

#[test]
fn a_role_that_cannot_be_assumed_is_its_own_reason_naming_the_role_and_aws_answer() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let role = "arn:aws:iam::111111111111:role/pitagora/pitagora-access";
    let refused = EngineError::RoleNotAssumed {
        namespace: "team-a".into(),
        account: "team-a-prod (111111111111)".into(),
        role_arn: role.into(),
        source: AwsError::AccessDenied {
            operation: "STS.AssumeRole".into(),
            message: "not authorized to perform: sts:AssumeRole".into(),
        },
    };
    let d = decide_found(
        &lp,
        Found::Failed(refused),
        &EventMemory::default(),
        at(400),
        0,
    );
    assert_eq!(
        d.failure.as_ref().map(|e| e.label()),
        Some("RoleNotAssumed")
    );
    assert_eq!(ready(&d), ("Unknown".into(), "RoleNotAssumed".into()));
    assert_eq!(reasons_of(&d), [reasons::event::ROLE_NOT_ASSUMED]);
    let status = d.status.as_ref().unwrap();
    let message = &status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .message;
    for says in [role, "not authorized to perform: sts:AssumeRole"] {
        assert!(message.contains(says), "{says:?} in {message}");
    }
}

#[test]
fn a_refused_destructive_change_is_reported_as_such_and_waits_for_the_spec() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let why = "spec.storage.bucketName: the new bucket b2 would leave b1 behind, and it holds \
               objects; to go ahead, set spec.acknowledge.replaceBucket: b1";
    let d = decide_found(
        &lp,
        Found::Failed(EngineError::Refused(vec![why.to_owned()])),
        &EventMemory::default(),
        at(400),
        0,
    );
    assert_eq!(
        d.failure.as_ref().map(|e| e.label()),
        Some("DestructiveChange")
    );
    assert_eq!(reasons_of(&d), [reasons::event::DESTRUCTIVE_CHANGE]);
    assert_eq!(ready(&d), ("False".into(), "DestructiveChange".into()));
    let status = d.status.as_ref().unwrap();
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert!(
        ready.message.contains("spec.acknowledge.replaceBucket: b1"),
        "{}",
        ready.message
    );
}

/// A converge of the full chain in two passes: the first corrected the buffering; the
/// observation after it found the source's filter gone, which the second pass restored, or,
/// given `refused`, which the guard refused for that reason (nothing of it written).
fn two_passes(refused: Option<&str>) -> Converged {
    let mut c = converge_of(buffering(64), Some(Ok("updated".into())));
    let mut between = c.observed.clone();
    between.log_groups.get_mut("/ecs/orders").unwrap().clear();
    let second = plan(&c.desired, &between);
    match refused {
        None => c.passes.push(Pass {
            applied: report_of(&second, Ok("created".into())),
            plan: second,
        }),
        Some(why) => {
            c.remaining = second;
            c.observed = between;
            c.refused = vec![why.to_owned()];
        }
    }
    c
}

#[test]
fn each_pass_that_wrote_is_a_change_event_naming_what_its_own_plan_changed() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let d = decide_converged(&lp, two_passes(None), &EventMemory::default(), 400);
    assert_eq!(
        reasons_of(&d),
        [
            reasons::event::DRIFT_CORRECTED,
            reasons::event::DRIFT_CORRECTED
        ]
    );
    let (first, second) = (&d.events[0], &d.events[1]);
    assert!(
        first.text.contains("BufferingHints.SizeInMBs") && !first.text.contains("filterName"),
        "{}",
        first.text
    );
    assert_eq!(first.action.as_deref(), Some("DriftCorrected/Sweep"));
    assert!(
        second.text.starts_with("pass 2: ") && second.text.contains("/ecs/orders"),
        "{}",
        second.text
    );
    assert!(!second.text.contains("BufferingHints"), "{}", second.text);
    // Its own event series: the API server keys series by reason and action.
    assert_eq!(second.action.as_deref(), Some("DriftCorrected/Pass2"));
}

#[test]
fn a_change_the_guard_refuses_in_a_later_pass_is_held_as_a_refusal_of_the_first_pass_is() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let why = "spec.sources: no log group would feed the stream any more";
    let first = decide_found(
        &lp,
        Found::Failed(EngineError::Refused(vec![why.to_owned()])),
        &EventMemory::default(),
        at(400),
        0,
    );
    let later = decide_converged(&lp, two_passes(Some(why)), &EventMemory::default(), 400);

    assert_eq!(
        later.failure.as_ref().map(|e| e.label()),
        Some("DestructiveChange")
    );
    assert_eq!(later.requeue, first.requeue);
    assert_eq!(later.status, first.status);
    // The first pass's writes stand, and say so before the refusal.
    assert_eq!(
        reasons_of(&later),
        [
            reasons::event::DRIFT_CORRECTED,
            reasons::event::DESTRUCTIVE_CHANGE
        ]
    );
    assert_eq!(later.events[1], first.events[0]);
}

#[test]
fn a_blocked_cleanup_keeps_the_finalizer_and_says_why() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let c = converge_of(buffering(64), Some(Err(access_denied())));
    let cleaned = Cleaned::Done {
        plan: c.initial,
        applied: c.passes.into_iter().next().unwrap().applied,
        readback: Default::default(),
    };
    let d = decide::cleaned(&lp, cleaned, &EventMemory::default(), at(5));
    assert_eq!(d.failure.as_ref().map(|e| e.label()), Some("AccessDenied"));
    assert_eq!(reasons_of(&d), [reasons::event::DELETE_BLOCKED]);
    assert_eq!(ready(&d).1, "DeleteBlocked");
}

#[test]
fn a_finished_cleanup_writes_nothing_and_clears_the_drift_figures() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let c = converge_of(|_| {}, Some(Ok("deleted".into())));
    let cleaned = Cleaned::Done {
        plan: c.initial,
        applied: ApplyReport::default(),
        readback: Default::default(),
    };
    let d = decide::cleaned(&lp, cleaned, &EventMemory::default(), at(5));
    assert!(d.failure.is_none() && d.status.is_none() && d.events.is_empty());
    assert_eq!(d.drift, Some(Vec::<ResourceKind>::new()));
}

#[test]
fn a_new_pipeline_without_a_free_filter_slot_is_not_ready_with_its_own_reason_naming_the_group() {
    let lp = pipeline(minimal_spec(), 1, None);
    let d = desired(&minimal_spec());
    let mut o = world_with_groups(&["/ecs/orders"]);
    o.filter_limit = pitagora::observed::FilterLimit::refused("/ecs/orders", 2);
    o.log_groups.insert(
        "/ecs/orders".into(),
        ["audit-shipper", "metrics-export"]
            .map(|name| pitagora::resources::SubscriptionFilter {
                name: name.into(),
                pattern: String::new(),
                destination_arn: "arn:aws:lambda:eu-west-1:123456789012:function:x".into(),
                role_arn: None,
                distribution: "ByLogStream".into(),
            })
            .into(),
    );
    let refused = plan(&d, &o);
    assert_eq!(refused.writes().count(), 0, "{refused:#?}");
    let c = Converged {
        initial: refused.clone(),
        passes: Vec::new(),
        remaining: refused,
        refused: Vec::new(),
        desired: d,
        observed: o,
    };

    let decision = decide_converged(&lp, c, &EventMemory::default(), 5);

    assert_eq!(
        ready(&decision),
        ("False".into(), reasons::reason::NO_FREE_FILTER_SLOT.into())
    );
    let status = decision.status.as_ref().unwrap();
    let message = &status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .message;
    assert!(
        message.contains("/ecs/orders holds 2 (audit-shipper: not pitagora's, metrics-export"),
        "{message}"
    );
}

#[test]
fn a_cleanup_whose_read_back_finds_leftovers_lets_the_object_go_with_a_warning_naming_each() {
    let lp = pipeline(full_chain_spec(), 1, Some(checked_status(0, "InSync")));
    let c = converge_of(|_| {}, Some(Ok("deleted".into())));
    let left = pitagora::plan::Remaining {
        kind: "AWS::IAM::Role".into(),
        name: "pitagora-team-a-orders-75c1a60b-delivery".into(),
        why: "the stack's template retains it (DeletionPolicy: Retain)".into(),
    };
    let kept = pitagora::plan::Remaining {
        kind: "AWS::S3::Bucket".into(),
        name: "bucket".into(),
        why: "storage.deletionPolicy: Retain keeps the bucket and its objects".into(),
    };
    let cleaned = Cleaned::Done {
        plan: c.initial,
        applied: ApplyReport::default(),
        readback: pitagora::plan::Readback {
            kept: vec![kept],
            leftovers: vec![left],
        },
    };

    let d = decide::cleaned(&lp, cleaned, &EventMemory::default(), at(5));

    // Nothing failed that a retry could mend: the finalizer goes, the warning stays behind.
    assert!(d.failure.is_none() && d.status.is_none());
    assert_eq!(reasons_of(&d), [reasons::event::DELETE_INCOMPLETE]);
    let note = &d.events[0].text;
    assert!(
        note.contains(
            "AWS::IAM::Role pitagora-team-a-orders-75c1a60b-delivery: the stack's template retains it"
        ) && !note.contains("bucket"),
        "{note}"
    );
}
