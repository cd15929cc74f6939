//! A canary's progress, as values: when the next canary is sent or looked for, what a search
//! makes of each stage against its deadline, where a missing canary stopped, and what the
//! controller writes about it (status, the `Delivering` condition, events, figures).

use pitagora::controller::delivery_status::{self, Step};
use pitagora::controller::reasons::{condition, event, reason};
use pitagora::delivery::canary::Canary;
use pitagora::delivery::progress::{
    CanaryRoute, Due, Evidence, Link, Outcome, RAW_MARGIN_MS, Seen, Stage, StageState, Tracked,
    due, stopped_at,
};
use pitagora::resources::ResourceKind;
use pitagora::spec::{Layout, LogPipelineStatus};

const SENT: i64 = 1_800_000_000_000;
const BUFFER: i64 = 60_000;

fn route(transform: bool) -> CanaryRoute {
    CanaryRoute {
        log_group: "/ecs/pitagora-team-a-orders-canary".into(),
        bucket: "pitagora-team-a-orders".into(),
        raw_prefix: "raw/".into(),
        processed_prefix: transform.then(|| "processed/".to_owned()),
        layout: Layout::Flat,
        buffer_interval_ms: BUFFER,
        interval_ms: 300_000,
        margin_ms: RAW_MARGIN_MS,
        paths: Vec::new(),
    }
}

fn sent(route: &CanaryRoute) -> Tracked {
    Tracked::new(route, Canary::new("team-a/orders", SENT, 7))
}

fn found(after_ms: i64) -> Seen {
    Seen::Found {
        at_ms: SENT + after_ms,
        object: "raw/2027/01/15/08/x".into(),
    }
}

const RAW_DEADLINE: i64 = SENT + BUFFER + RAW_MARGIN_MS;

#[test]
fn the_first_canary_is_sent_at_once() {
    assert_eq!(due(&route(false), None, SENT), Due::Send);
}

#[test]
fn a_delivered_canary_is_followed_by_the_next_one_an_interval_after_it_was_sent() {
    let r = route(false);
    let mut t = sent(&r);
    t.record(&r, &[(Stage::Raw, found(1_000))], SENT + 1_000);
    assert_eq!(
        due(&r, Some(t.in_flight(&r)), SENT + 100_000),
        Due::Wait(200_000)
    );
    assert_eq!(due(&r, Some(t.in_flight(&r)), SENT + 300_000), Due::Send);
}

#[test]
fn a_waiting_canary_is_looked_for_again_after_the_poll_interval() {
    let r = route(false);
    let mut t = sent(&r);
    t.record(&r, &[(Stage::Raw, Seen::NotFound)], SENT);
    assert_eq!(
        due(&r, Some(t.in_flight(&r)), SENT + 10_000),
        Due::Wait(20_000)
    );
    assert_eq!(due(&r, Some(t.in_flight(&r)), SENT + 30_000), Due::Look);
}

#[test]
fn a_canary_found_in_raw_is_delivered_there_with_its_store_time() {
    let r = route(false);
    let mut t = sent(&r);
    t.record(&r, &[(Stage::Raw, found(2_500))], SENT + 3_000);
    assert_eq!(t.outcome(), Outcome::Delivered);
    assert_eq!(t.found_at(Stage::Raw), Some(SENT + 2_500));
}

#[test]
fn a_canary_not_found_before_its_deadline_is_still_waiting() {
    let r = route(false);
    let mut t = sent(&r);
    t.record(&r, &[(Stage::Raw, Seen::NotFound)], RAW_DEADLINE - 1);
    assert_eq!(t.outcome(), Outcome::Pending);
}

#[test]
fn a_canary_not_found_by_the_buffering_interval_and_margin_is_missing() {
    let r = route(false);
    let mut t = sent(&r);
    t.record(&r, &[(Stage::Raw, Seen::NotFound)], RAW_DEADLINE);
    assert_eq!(
        t.outcome(),
        Outcome::Stopped(Stage::Raw, StageState::Missing)
    );
}

#[test]
fn a_search_that_could_not_read_everything_is_inconclusive_only_at_the_deadline() {
    let r = route(false);
    let mut t = sent(&r);
    t.record(&r, &[(Stage::Raw, Seen::Inconclusive)], SENT + 1_000);
    assert_eq!(t.outcome(), Outcome::Pending);
    t.record(&r, &[(Stage::Raw, Seen::Inconclusive)], RAW_DEADLINE);
    assert_eq!(
        t.outcome(),
        Outcome::Stopped(Stage::Raw, StageState::Inconclusive)
    );
}

#[test]
fn the_processed_stage_is_looked_for_only_once_raw_has_it() {
    let r = route(true);
    let t = sent(&r);
    assert_eq!(t.to_look(), vec![Stage::Raw, Stage::Processed]);
    let mut t = t;
    t.record(&r, &[(Stage::Raw, found(1_000))], SENT + 1_000);
    assert_eq!(t.to_look(), vec![Stage::Processed]);
}

#[test]
fn the_transform_gets_its_margin_from_when_raw_had_the_canary() {
    let r = route(true);
    let mut t = sent(&r);
    t.record(&r, &[(Stage::Raw, found(1_000))], SENT + 1_000);
    assert_eq!(
        t.deadline_ms(&r, Stage::Processed),
        SENT + 1_000 + pitagora::delivery::progress::TRANSFORM_MARGIN_MS
    );
}

#[test]
fn a_canary_missing_in_raw_is_missing_in_processed_too() {
    let r = route(true);
    let mut t = sent(&r);
    t.record(&r, &[(Stage::Raw, Seen::NotFound)], RAW_DEADLINE);
    assert_eq!(t.stages[1], (Stage::Processed, StageState::Missing));
}

#[test]
fn a_canary_missing_in_raw_stopped_at_firehose_unless_the_subscription_is_seen_broken() {
    let broken = Evidence {
        subscription_broken: Some("SubscriptionFilter /x is Drifted".into()),
        ..Evidence::default()
    };
    assert_eq!(stopped_at(Stage::Raw, &Evidence::default()), Link::Firehose);
    assert_eq!(stopped_at(Stage::Raw, &broken), Link::Subscription);
    assert_eq!(stopped_at(Stage::Processed, &broken), Link::Transform);
}

#[test]
fn links_are_named_with_the_pipelines_prefixes() {
    let r = route(true);
    assert_eq!(
        r.link_name(Link::Subscription),
        "cloudwatch-logs → firehose"
    );
    assert_eq!(r.link_name(Link::Firehose), "firehose → s3 raw/");
    assert_eq!(
        r.link_name(Link::Transform),
        "s3 raw/ → transform → processed/"
    );
}

#[test]
fn only_the_canary_groups_filter_or_the_stream_out_of_sync_breaks_the_subscription() {
    let r = route(false);
    let other = Evidence::from_resources(
        &r,
        [(ResourceKind::SubscriptionFilter, "/ecs/orders", "Drifted")],
    );
    assert_eq!(other.subscription_broken, None);
    let canary = Evidence::from_resources(
        &r,
        [(
            ResourceKind::SubscriptionFilter,
            r.log_group.as_str(),
            "Drifted",
        )],
    );
    assert_eq!(
        canary.subscription_broken.as_deref(),
        Some("SubscriptionFilter /ecs/pitagora-team-a-orders-canary is Drifted")
    );
}

// The controller's view.

fn looked(r: &CanaryRoute, seen: Seen, now: i64) -> Tracked {
    let mut t = sent(r);
    t.record(r, &[(Stage::Raw, seen)], now);
    t
}

fn step(t: Tracked, sent: bool) -> Step {
    Step::Looked { tracked: t, sent }
}

fn after(
    previous: Option<&LogPipelineStatus>,
    s: Step,
    evidence: &Evidence,
    now: i64,
) -> (LogPipelineStatus, delivery_status::Update) {
    let r = route(false);
    let u = delivery_status::update(&r, previous, s, evidence, Some(1), now);
    let mut status = previous.cloned().unwrap_or_default();
    status.delivery = Some(u.status.clone());
    if let Some(c) = &u.condition {
        status.conditions.retain(|x| x.type_ != c.type_);
        status.conditions.push(c.clone());
    }
    (status, u)
}

fn delivering(s: &LogPipelineStatus) -> (&str, &str, &str) {
    let c = s
        .conditions
        .iter()
        .find(|c| c.type_ == condition::DELIVERING)
        .expect("a Delivering condition");
    (c.status.as_str(), c.reason.as_str(), c.message.as_str())
}

#[test]
fn a_delivered_canary_sets_delivering_true_with_its_latency() {
    let r = route(false);
    let (status, u) = after(
        None,
        step(looked(&r, found(1_500), SENT + 2_000), true),
        &Evidence::default(),
        SENT + 2_000,
    );
    let (s, why, message) = delivering(&status);
    assert_eq!((s, why), ("True", reason::CANARY_DELIVERED));
    assert!(message.contains("raw/ after 1.5 s"), "{message}");
    assert_eq!(u.status.consecutive_successes, 1);
    assert_eq!(u.settled.len(), 1);
    assert_eq!(u.settled[0].latency_ms, Some(1_500));
}

#[test]
fn a_missing_canary_sets_delivering_false_naming_the_link_and_publishes_delivery_failed() {
    let r = route(false);
    let broken = Evidence {
        subscription_broken: Some(format!("SubscriptionFilter {} is Drifted", r.log_group)),
        ..Evidence::default()
    };
    let (status, u) = after(
        None,
        step(looked(&r, Seen::NotFound, RAW_DEADLINE), true),
        &broken,
        RAW_DEADLINE,
    );
    let (s, why, message) = delivering(&status);
    assert_eq!((s, why), ("False", reason::CANARY_MISSING));
    assert!(
        message.contains("stopped at cloudwatch-logs → firehose"),
        "{message}"
    );
    assert_eq!(
        u.status.failing_stage.as_deref(),
        Some("cloudwatch-logs → firehose")
    );
    assert_eq!(u.status.consecutive_failures, 1);
    assert_eq!(u.events.len(), 1);
    assert_eq!(u.events[0].1, event::DELIVERY_FAILED);
}

#[test]
fn a_delivered_canary_after_a_failure_publishes_delivery_restored() {
    let r = route(false);
    let (failed, _) = after(
        None,
        step(looked(&r, Seen::NotFound, RAW_DEADLINE), true),
        &Evidence::default(),
        RAW_DEADLINE,
    );
    let (restored, u) = after(
        Some(&failed),
        step(looked(&r, found(1_000), SENT + 1_000), true),
        &Evidence::default(),
        RAW_DEADLINE + 1,
    );
    assert_eq!(delivering(&restored).0, "True");
    assert_eq!(u.events[0].1, event::DELIVERY_RESTORED);
    assert_eq!(u.status.failing_stage, None);
    assert_eq!(u.status.consecutive_failures, 0);
}

#[test]
fn a_canary_in_flight_keeps_the_last_verdict() {
    let r = route(false);
    let (delivered, _) = after(
        None,
        step(looked(&r, found(1_000), SENT + 1_000), true),
        &Evidence::default(),
        SENT + 1_000,
    );
    let (_, u) = after(
        Some(&delivered),
        step(sent(&r), true),
        &Evidence::default(),
        SENT + 300_000,
    );
    assert_eq!(u.condition, None);
}

#[test]
fn the_first_canary_in_flight_makes_delivering_unknown() {
    let r = route(false);
    let (status, _) = after(None, step(sent(&r), true), &Evidence::default(), SENT);
    assert_eq!(delivering(&status).1, reason::CANARY_IN_FLIGHT);
}

#[test]
fn a_stage_settles_once_in_the_figures() {
    let r = route(false);
    let (status, _) = after(
        None,
        step(looked(&r, found(1_000), SENT + 1_000), true),
        &Evidence::default(),
        SENT + 1_000,
    );
    let again = delivery_status::tracked(&r, status.delivery.as_ref()).unwrap();
    let (_, u) = after(
        Some(&status),
        step(again, false),
        &Evidence::default(),
        SENT + 2_000,
    );
    assert!(u.settled.is_empty());
}

#[test]
fn a_tracked_canary_reads_back_from_status_as_written() {
    let r = route(true);
    let t = looked(&r, found(1_000), SENT + 1_000);
    let status = pitagora::spec::DeliveryStatus {
        canary: Some(delivery_status::canary_status(&r, &t)),
        ..Default::default()
    };
    let back = delivery_status::tracked(&r, Some(&status)).unwrap();
    assert_eq!(
        (back.canary.id, back.stages, back.looked_at_ms),
        (t.canary.id, t.stages, t.looked_at_ms)
    );
}

#[test]
fn a_failed_send_makes_delivering_unknown_with_the_cause() {
    let (status, _) = after(
        None,
        Step::Failed("CloudWatchLogs.PutLogEvents: access denied".into()),
        &Evidence::default(),
        SENT,
    );
    let (s, why, message) = delivering(&status);
    assert_eq!((s, why), ("Unknown", reason::VERIFY_FAILED));
    assert!(message.contains("access denied"));
}
