//! A canary per path: beside the pipeline's own canary, one per remote source, each looked for
//! on its own; `Delivering` is True only when every path's canary arrived, and names the paths
//! whose canary did not, or could not be sent (that path alone failing, with the cause).

use pitagora::arn::AwsTarget;
use pitagora::controller::delivery_status::{self, Step};
use pitagora::controller::reasons::{condition, event, reason};
use pitagora::delivery::canary::Canary;
use pitagora::delivery::paths::{RemotePath, path_canary};
use pitagora::delivery::progress::{
    CanaryRoute, Due, Evidence, RAW_MARGIN_MS, Seen, Stage, StageState, Tracked, due,
};
use pitagora::spec::{Layout, LogPipelineStatus};

const SENT: i64 = 1_800_000_000_000;
const BUFFER: i64 = 60_000;
const DEADLINE: i64 = SENT + BUFFER + RAW_MARGIN_MS;

fn path(account: &str, region: &str) -> RemotePath {
    RemotePath {
        place: AwsTarget::new(account, region),
        log_group: "/pitagora/canary/pitagora-team-a-orders".into(),
    }
}

/// A pipeline with its own canary group and two remote paths: A/r1 and B/r2.
fn route() -> CanaryRoute {
    CanaryRoute {
        log_group: "/ecs/pitagora-team-a-orders-canary".into(),
        bucket: "pitagora-team-a-orders".into(),
        raw_prefix: "raw/".into(),
        processed_prefix: None,
        layout: Layout::Flat,
        buffer_interval_ms: BUFFER,
        interval_ms: 300_000,
        margin_ms: RAW_MARGIN_MS,
        paths: vec![path("A", "r1"), path("B", "r2")],
    }
}

fn found(after_ms: i64) -> Seen {
    Seen::Found {
        at_ms: SENT + after_ms,
        object: "raw/x".into(),
    }
}

/// The canary step at `now`: the own canary saw `own`, the paths A/r1 and B/r2 saw theirs.
fn looked(own: Seen, a: Seen, b: Seen, now: i64) -> Tracked {
    let r = route();
    let mut t = Tracked::new(&r, Canary::new("team-a/orders", SENT, 7));
    t.record(&r, &[(Stage::Raw, own)], now);
    t.record_path(&r, "A/r1", a, now);
    t.record_path(&r, "B/r2", b, now);
    t
}

fn after(t: Tracked, now: i64) -> (LogPipelineStatus, delivery_status::Update) {
    let step = Step::Looked {
        tracked: t,
        sent: true,
    };
    let u = delivery_status::update(&route(), None, step, &Evidence::default(), Some(1), now);
    let mut status = LogPipelineStatus {
        delivery: Some(u.status.clone()),
        ..Default::default()
    };
    status.conditions.extend(u.condition.clone());
    (status, u)
}

fn delivering(s: &LogPipelineStatus) -> Option<(String, String, String)> {
    let c = s
        .conditions
        .iter()
        .find(|c| c.type_ == condition::DELIVERING)?;
    Some((c.status.clone(), c.reason.clone(), c.message.clone()))
}

#[test]
fn each_path_has_a_canary_of_its_own_sent_with_the_pipelines() {
    let own = Canary::new("team-a/orders", SENT, 7);
    let t = Tracked::new(&route(), own.clone());
    let ids: Vec<&str> = t.paths.iter().map(|p| p.canary.id.as_str()).collect();
    assert_eq!(ids.len(), 2);
    assert!(
        !ids.contains(&own.id.as_str()) && ids[0] != ids[1],
        "{ids:?}"
    );
    assert!(t.paths.iter().all(|p| p.canary.sent_at_ms == SENT));
    assert_eq!(path_canary(&own, &path("A", "r1")), t.paths[0].canary);
}

#[test]
fn the_delivering_condition_of_every_combination_of_paths() {
    // (own, A/r1, B/r2, when, Delivering's status, what its message names)
    let rows = [
        (
            found(1_000),
            found(2_000),
            found(3_000),
            SENT + 4_000,
            "True",
            "raw/ after 1.0 s",
        ),
        (
            found(1_000),
            found(2_000),
            found(3_000),
            SENT + 4_000,
            "True",
            "A/r1 → destination after 2.0 s",
        ),
        (
            found(1_000),
            found(2_000),
            found(3_000),
            SENT + 4_000,
            "True",
            "B/r2 → destination after 3.0 s",
        ),
        (
            found(1_000),
            found(2_000),
            Seen::NotFound,
            DEADLINE,
            "False",
            "the canaries of B/r2 → destination were not found",
        ),
        (
            found(1_000),
            Seen::NotFound,
            Seen::NotFound,
            DEADLINE,
            "False",
            "A/r1 → destination, B/r2 → destination",
        ),
        // A path still in time keeps the verdict open.
        (
            found(1_000),
            found(2_000),
            Seen::NotFound,
            SENT + 4_000,
            "Unknown",
            "looking for it",
        ),
        // The own path failing is named as it always was.
        (
            Seen::NotFound,
            found(2_000),
            found(3_000),
            DEADLINE,
            "False",
            "stopped at firehose → s3 raw/",
        ),
    ];
    for (own, a, b, now, want, names) in rows {
        let (status, _) = after(looked(own, a, b, now), now);
        let (s, _, message) = delivering(&status).expect("a Delivering condition");
        assert_eq!(s, want, "{message}");
        assert!(message.contains(names), "{names:?} not in {message:?}");
    }
}

#[test]
fn a_late_path_sets_delivering_false_and_publishes_delivery_failed_naming_it() {
    let (status, u) = after(
        looked(found(1_000), found(2_000), Seen::NotFound, DEADLINE),
        DEADLINE,
    );
    let (s, why, _) = delivering(&status).unwrap();
    assert_eq!(
        (s.as_str(), why.as_str()),
        ("False", reason::CANARY_MISSING)
    );
    let failed: Vec<&String> = (u.events.iter())
        .filter(|(_, r, _)| *r == event::DELIVERY_FAILED)
        .map(|(_, _, text)| text)
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains("B/r2 → destination"), "{}", failed[0]);
    assert!(!failed[0].contains("A/r1"), "{}", failed[0]);
}

#[test]
fn the_status_lists_each_paths_state_and_latency() {
    let (_, u) = after(
        looked(found(1_000), found(2_000), Seen::NotFound, DEADLINE),
        DEADLINE,
    );
    let canary = u.status.canary.expect("the canary in status");
    let paths: Vec<(&str, &str, Option<i64>, bool)> = (canary.paths.iter())
        .map(|p| {
            let last = p.last_delivered_time.is_some();
            (p.path.as_str(), p.state.as_str(), p.latency_ms, last)
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("A/r1 → destination", "Delivered", Some(2_000), true),
            ("B/r2 → destination", "Missing", None, false),
        ]
    );
    // The own path's fields keep their meaning: it arrived.
    assert_eq!(u.status.failing_stage, None);
    assert_eq!(u.status.consecutive_successes, 1);
}

#[test]
fn a_path_canary_read_back_from_status_is_the_same_canary() {
    let t = looked(found(1_000), found(2_000), Seen::NotFound, SENT + 4_000);
    let (status, _) = after(t.clone(), SENT + 4_000);
    let back = delivery_status::tracked(&route(), status.delivery.as_ref()).expect("tracked");
    // What the status keeps of each: its id, its state and its latency (not the object).
    let kept = |t: &Tracked| -> Vec<(String, &'static str, Option<i64>)> {
        (t.paths.iter())
            .map(|p| (p.canary.id.clone(), p.state.label(), p.latency_ms()))
            .collect()
    };
    assert_eq!(kept(&back), kept(&t));
}

#[test]
fn a_waiting_path_is_looked_for_again_though_the_own_canary_arrived() {
    let r = route();
    let t = looked(found(1_000), found(2_000), Seen::NotFound, SENT + 4_000);
    assert_eq!(due(&r, Some(t.in_flight(&r)), SENT + 34_000), Due::Look);
    assert!(!t.settled());
}

#[test]
fn a_late_path_is_named_with_what_the_check_saw_of_its_filter_or_destination() {
    use pitagora::resources::ResourceKind;
    let group = "/pitagora/canary/pitagora-team-a-orders";
    let filter = format!("B/r2:{group}");
    // (the resources the check saw out of sync, the cause named beside B/r2, if any)
    let rows = [
        (
            vec![(
                ResourceKind::RemoteSubscriptionFilter,
                filter.as_str(),
                "Missing",
            )],
            Some(format!("RemoteSubscriptionFilter {filter} is Missing")),
        ),
        (
            vec![(
                ResourceKind::Destination,
                "pitagora-team-a-orders-r2",
                "Drifted",
            )],
            Some("Destination pitagora-team-a-orders-r2 is Drifted".to_owned()),
        ),
        // Another path's filter says nothing about B/r2.
        (
            vec![(ResourceKind::RemoteSubscriptionFilter, "A/r1:/x", "Missing")],
            None,
        ),
    ];
    for (resources, cause) in rows {
        let evidence = Evidence::from_resources(&route(), resources);
        assert_eq!(evidence.paths_broken.get("B/r2"), cause.as_ref());
        let t = looked(found(1_000), found(2_000), Seen::NotFound, DEADLINE);
        let step = Step::Looked {
            tracked: t,
            sent: true,
        };
        let u = delivery_status::update(&route(), None, step, &evidence, Some(1), DEADLINE);
        let message = u.condition.unwrap().message;
        let named = match &cause {
            Some(c) => format!("B/r2 → destination ({c})"),
            None => "B/r2 → destination were".to_owned(),
        };
        assert!(message.contains(&named), "{named:?} not in {message:?}");
    }
}

/// What the engine records when A/r1's account has no role: A/r1's canary not sent.
const NO_ROLE: &str = "no credentials for account A";

/// The canary step at `now` in which A/r1's canary could not be sent: the own canary saw `own`,
/// B/r2 saw `b`.
fn a_not_sent(own: Seen, b: Seen, now: i64) -> Tracked {
    let r = route();
    let mut t = Tracked::new(&r, Canary::new("team-a/orders", SENT, 7));
    t.path_not_sent("A/r1", NO_ROLE.into());
    t.record(&r, &[(Stage::Raw, own)], now);
    t.record_path(&r, "A/r1", found(2_000), now);
    t.record_path(&r, "B/r2", b, now);
    t
}

#[test]
fn a_path_whose_canary_could_not_be_sent_fails_alone_and_is_not_looked_for() {
    let t = a_not_sent(found(1_000), found(3_000), SENT + 4_000);
    assert_eq!(t.paths[0].state, StageState::NotSent(NO_ROLE.into()));
    assert_eq!(t.paths[1].latency_ms(), Some(3_000), "B/r2 is looked for");
    let failing: Vec<String> = t.failing_paths().iter().map(|p| p.path.key()).collect();
    assert_eq!(failing, ["A/r1"]);
    assert!(t.settled(), "nothing is left to look for");
}

#[test]
fn delivering_names_the_path_whose_canary_could_not_be_sent_with_the_cause() {
    let unsent = format!("A/r1 → destination: could not send the canary: {NO_ROLE}");
    // (B/r2 saw, when, Delivering's status and reason, what its message names besides A/r1)
    let rows = [
        (
            found(3_000),
            SENT + 4_000,
            "Unknown",
            reason::VERIFY_FAILED,
            None,
        ),
        (
            Seen::NotFound,
            DEADLINE,
            "False",
            reason::CANARY_MISSING,
            Some("the canaries of B/r2 → destination were not found"),
        ),
    ];
    for (b, now, want, why, also) in rows {
        let (status, u) = after(a_not_sent(found(1_000), b, now), now);
        let (s, r, message) = delivering(&status).expect("a Delivering condition");
        assert_eq!((s.as_str(), r.as_str()), (want, why), "{message}");
        assert!(message.contains(&unsent), "{message}");
        match also {
            Some(named) => assert!(message.contains(named), "{message}"),
            None => assert!(!message.contains("B/r2"), "{message}"),
        }
        let failed = u
            .events
            .iter()
            .filter(|(_, r, _)| *r == event::DELIVERY_FAILED);
        assert_eq!(
            failed.count(),
            usize::from(also.is_some()),
            "{:?}",
            u.events
        );
    }
}

#[test]
fn a_path_not_sent_is_kept_in_status_with_its_cause_and_read_back() {
    let t = a_not_sent(found(1_000), Seen::NotFound, SENT + 4_000);
    let (status, u) = after(t.clone(), SENT + 4_000);
    let canary = u.status.canary.expect("the canary in status");
    let a = &canary.paths[0];
    assert_eq!(
        (a.state.as_str(), a.error.as_deref()),
        ("NotSent", Some(NO_ROLE))
    );
    let back = delivery_status::tracked(&route(), status.delivery.as_ref()).expect("tracked");
    assert_eq!(back.paths[0].state, t.paths[0].state);
}
