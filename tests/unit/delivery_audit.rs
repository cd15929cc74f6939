//! The completeness audit's comparison, specified without AWS: logged events (what
//! FilterLogEvents returns per source group) against delivered events (what the window's
//! objects decode to, with each object's stored time). Exact by event id for the formats that
//! keep ids; by count, per pipeline, for NDJSON; canaries never count; lists are bounded.

use pitagora::delivery::audit::{
    Audit, Exactness, Inputs, LATENESS_MARGIN_MS, Logged, MAX_LISTED_IDS, Source, StoredObject,
    Window, compare,
};
use pitagora::delivery::canary::Canary;
use pitagora::delivery::records::{Decoded, DeliveredEvent};
use pitagora::spec::RecordFormat;

const MINUTE: i64 = 60_000;
/// The window: 10:00 to 11:00 on some day, in milliseconds.
const SINCE: i64 = 1_800_000_000_000;
const UNTIL: i64 = SINCE + 60 * MINUTE;
/// A 5-minute buffering interval.
const BUFFERING: i64 = 5 * MINUTE;

/// `group`'s logged events `(id, timestamp)`.
fn source(group: &str, events: &[(&str, i64)]) -> Source {
    Source {
        place: None,
        log_group: group.into(),
        subscribed: true,
        events: events
            .iter()
            .filter_map(|(id, ts)| Logged::new(*id, *ts, "a log line"))
            .collect(),
    }
}

fn event(group: Option<&str>, id: Option<&str>, ts: Option<i64>, message: &str) -> DeliveredEvent {
    DeliveredEvent {
        id: id.map(str::to_owned),
        timestamp_ms: ts,
        log_group: group.map(str::to_owned),
        log_stream: Some("web-1".into()),
        message: message.into(),
    }
}

/// An object stored at `stored_ms` holding `group`'s events `(id, timestamp)`, as an envelope
/// decodes.
fn object(stored_ms: i64, group: &str, events: &[(&str, i64)]) -> StoredObject {
    let events = events
        .iter()
        .map(|(id, ts)| event(Some(group), Some(id), Some(*ts), "a log line"))
        .collect();
    StoredObject::new(
        stored_ms,
        Decoded {
            events,
            control_messages: 0,
        },
    )
}

fn audit(exactness: Exactness, sources: &[Source], objects: &[StoredObject]) -> Audit {
    compare(&Inputs {
        exactness,
        window: Window {
            since_ms: SINCE,
            until_ms: UNTIL,
        },
        buffering_ms: BUFFERING,
        now_ms: UNTIL + 2 * 60 * MINUTE,
        sources,
        objects,
        unreadable_objects: 0,
    })
}

fn by_id(sources: &[Source], objects: &[StoredObject]) -> Audit {
    audit(Exactness::ById, sources, objects)
}

#[test]
fn envelope_and_raw_are_audited_by_id_and_ndjson_by_count() {
    assert_eq!(Exactness::of(RecordFormat::Envelope), Exactness::ById);
    assert_eq!(Exactness::of(RecordFormat::Raw), Exactness::ById);
    assert_eq!(Exactness::of(RecordFormat::Ndjson), Exactness::ByCount);
}

#[test]
fn every_logged_event_delivered_once_in_time_is_complete() {
    let a = by_id(
        &[source(
            "/ecs/orders",
            &[("1", SINCE), ("2", SINCE + MINUTE)],
        )],
        &[object(
            SINCE + 2 * MINUTE,
            "/ecs/orders",
            &[("1", SINCE), ("2", SINCE + MINUTE)],
        )],
    );
    assert!(a.complete());
    let t = &a.totals;
    assert_eq!((t.logged, t.delivered, t.missing), (2, 2, 0));
    assert_eq!((t.duplicated, t.late, t.unexpected), (Some(0), Some(0), 0));
}

#[test]
fn missing_events_are_named_by_id_in_their_group_oldest_first() {
    let a = by_id(
        &[
            source(
                "/ecs/orders",
                &[("3", SINCE + 2), ("1", SINCE), ("2", SINCE + 1)],
            ),
            source("/ecs/payments", &[("9", SINCE)]),
        ],
        &[object(SINCE, "/ecs/orders", &[("2", SINCE + 1)])],
    );
    assert!(!a.complete());
    assert_eq!(a.totals.missing, 3);
    let orders = &a.groups[0];
    assert_eq!(orders.log_group, "/ecs/orders");
    assert_eq!(orders.missing_ids, ["1", "3"]);
    assert_eq!(a.groups[1].missing_ids, ["9"]);
}

#[test]
fn the_same_id_in_two_groups_is_two_events() {
    // moto numbers events from 0 in every group.
    let a = by_id(
        &[
            source("/ecs/orders", &[("0", SINCE)]),
            source("/ecs/payments", &[("0", SINCE)]),
        ],
        &[object(SINCE, "/ecs/orders", &[("0", SINCE)])],
    );
    assert_eq!(a.totals.missing, 1);
    assert_eq!(a.groups[1].log_group, "/ecs/payments");
    assert_eq!(a.groups[1].missing_ids, ["0"]);
}

#[test]
fn an_event_delivered_twice_is_a_duplicate_and_not_missing() {
    let delivered = [("1", SINCE), ("2", SINCE)];
    let a = by_id(
        &[source("/ecs/orders", &delivered)],
        &[
            object(SINCE, "/ecs/orders", &delivered),
            object(SINCE + MINUTE, "/ecs/orders", &delivered[..1]),
        ],
    );
    assert!(a.complete());
    assert_eq!(a.totals.delivered, 2);
    assert_eq!(a.totals.duplicated, Some(1));
}

#[test]
fn an_event_first_stored_after_its_time_plus_buffering_and_margin_is_late() {
    let allowed = SINCE + BUFFERING + LATENESS_MARGIN_MS;
    let a = by_id(
        &[source(
            "/ecs/orders",
            &[("on-time", SINCE), ("late", SINCE)],
        )],
        &[
            object(allowed, "/ecs/orders", &[("on-time", SINCE)]),
            object(allowed + 1, "/ecs/orders", &[("late", SINCE)]),
        ],
    );
    assert!(a.complete(), "late is delivered");
    assert_eq!(a.totals.late, Some(1));
}

#[test]
fn a_late_event_with_an_earlier_copy_on_time_is_not_late() {
    let a = by_id(
        &[source("/ecs/orders", &[("1", SINCE)])],
        &[
            object(SINCE + 60 * MINUTE, "/ecs/orders", &[("1", SINCE)]),
            object(SINCE + MINUTE, "/ecs/orders", &[("1", SINCE)]),
        ],
    );
    assert_eq!(a.totals.late, Some(0));
    assert_eq!(a.totals.duplicated, Some(1));
}

#[test]
fn events_outside_the_window_count_on_neither_side() {
    let a = by_id(
        &[source(
            "/ecs/orders",
            &[("before", SINCE - 1), ("1", SINCE), ("end", UNTIL)],
        )],
        &[object(
            SINCE,
            "/ecs/orders",
            &[("1", SINCE), ("older", SINCE - MINUTE), ("after", UNTIL)],
        )],
    );
    assert_eq!(a.totals.logged, 1);
    assert!(a.complete());
    assert_eq!(a.totals.unexpected, 0);
}

#[test]
fn delivered_events_that_were_not_logged_are_unexpected_not_missing() {
    let a = by_id(
        &[source("/ecs/orders", &[("1", SINCE)])],
        &[
            object(SINCE, "/ecs/orders", &[("1", SINCE), ("unfiltered", SINCE)]),
            object(SINCE, "/other/app", &[("5", SINCE)]),
        ],
    );
    assert!(a.complete());
    assert_eq!(a.groups[0].counts.unexpected, 1);
    assert_eq!(
        a.totals.unexpected, 2,
        "the other group's event counts in the totals"
    );
}

#[test]
fn canary_events_count_on_neither_side() {
    let canary = Canary {
        id: "c-1".into(),
        pipeline: "team-a/orders".into(),
        sent_at_ms: SINCE,
    }
    .message();
    assert_eq!(Logged::new("7", SINCE, &canary), None);
    let delivered = StoredObject::new(
        SINCE,
        Decoded {
            events: vec![event(Some("/ecs/orders"), Some("7"), Some(SINCE), &canary)],
            control_messages: 0,
        },
    );
    assert!(delivered.events.is_empty());
}

#[test]
fn missing_ids_are_listed_up_to_the_bound_and_the_rest_counted() {
    let ids: Vec<String> = (0..MAX_LISTED_IDS + 5).map(|i| format!("{i:04}")).collect();
    let events: Vec<(&str, i64)> = ids.iter().map(|id| (id.as_str(), SINCE)).collect();
    let a = by_id(&[source("/ecs/orders", &events)], &[]);
    let g = &a.groups[0];
    assert_eq!(g.missing_ids.len(), MAX_LISTED_IDS);
    assert_eq!(g.missing_ids_not_listed, 5);
    assert_eq!(g.counts.missing, (MAX_LISTED_IDS + 5) as u64);
}

#[test]
fn ndjson_is_compared_by_count_in_pipeline_totals_only() {
    let logged = [("1", SINCE), ("2", SINCE), ("3", SINCE)];
    let lines = StoredObject::new(
        SINCE + MINUTE,
        Decoded {
            events: vec![
                event(None, None, None, "line one"),
                event(None, None, None, "line two"),
            ],
            control_messages: 0,
        },
    );
    let a = audit(
        Exactness::ByCount,
        &[source("/ecs/orders", &logged)],
        &[lines],
    );
    assert_eq!(a.exactness, Exactness::ByCount);
    assert!(a.groups.is_empty());
    let t = &a.totals;
    assert_eq!((t.logged, t.delivered, t.missing), (3, 2, 1));
    assert_eq!((t.duplicated, t.late), (None, None));
}

#[test]
fn by_count_lines_without_a_time_count_when_their_object_was_stored_in_the_allowance() {
    let stored_until = UNTIL + BUFFERING + LATENESS_MARGIN_MS;
    let line = |stored| {
        StoredObject::new(
            stored,
            Decoded {
                events: vec![event(None, None, None, "line")],
                control_messages: 0,
            },
        )
    };
    let a = audit(
        Exactness::ByCount,
        &[source("/ecs/orders", &[("1", SINCE)])],
        &[line(SINCE - 1), line(stored_until - 1), line(stored_until)],
    );
    assert_eq!(a.totals.delivered, 1);
}

#[test]
fn by_count_more_delivered_than_logged_is_unexpected() {
    let a = audit(
        Exactness::ByCount,
        &[source("/ecs/orders", &[("1", SINCE)])],
        &[object(SINCE, "/ecs/orders", &[("1", SINCE), ("1", SINCE)])],
    );
    assert!(a.complete());
    assert_eq!(a.totals.unexpected, 1);
}

#[test]
fn a_window_that_ended_within_the_lateness_allowance_is_not_settled() {
    let settles_at = UNTIL + BUFFERING + LATENESS_MARGIN_MS;
    let at = |now_ms| {
        compare(&Inputs {
            exactness: Exactness::ById,
            window: Window {
                since_ms: SINCE,
                until_ms: UNTIL,
            },
            buffering_ms: BUFFERING,
            now_ms,
            sources: &[],
            objects: &[],
            unreadable_objects: 0,
        })
        .settled
    };
    assert!(!at(settles_at - 1));
    assert!(at(settles_at));
}

#[test]
fn the_audit_serialises_to_its_documented_shape() {
    let a = by_id(&[source("/ecs/orders", &[("1", SINCE)])], &[]);
    let json = serde_json::to_value(&a).unwrap();
    let keys = |v: &serde_json::Value| -> Vec<String> {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(
        keys(&json),
        [
            "exactness",
            "groups",
            "objectsRead",
            "objectsUnreadable",
            "settled",
            "totals",
            "window"
        ]
    );
    assert_eq!(json["exactness"], "byId");
    assert_eq!(
        keys(&json["totals"]),
        [
            "delivered",
            "duplicated",
            "late",
            "logged",
            "missing",
            "unexpected"
        ]
    );
    assert_eq!(
        keys(&json["groups"][0]),
        [
            "delivered",
            "duplicated",
            "late",
            "logGroup",
            "logged",
            "missing",
            "missingIds",
            "missingIdsNotListed",
            "subscribed",
            "unexpected"
        ]
    );
    assert_eq!(json["window"]["sinceMs"], SINCE);
}

/// A remote source's place, as the audit names it.
const PLACE: &str = "222222222222/us-east-1";

/// `group`'s logged events in the remote source's [`PLACE`].
fn remote_source(group: &str, events: &[(&str, i64)]) -> Source {
    Source {
        place: Some(PLACE.into()),
        ..source(group, events)
    }
}

#[test]
fn a_remote_places_groups_are_audited_with_their_place_after_the_pipelines_own() {
    let a = by_id(
        &[
            remote_source("/b/app", &[("3", SINCE), ("4", SINCE + 1)]),
            source("/ecs/orders", &[("1", SINCE), ("2", SINCE + 1)]),
        ],
        &[
            object(SINCE, "/ecs/orders", &[("1", SINCE), ("2", SINCE + 1)]),
            object(SINCE, "/b/app", &[("3", SINCE)]),
        ],
    );
    let groups: Vec<_> = (a.groups.iter())
        .map(|g| (g.place.as_deref(), g.log_group.as_str(), g.counts.delivered))
        .collect();
    assert_eq!(
        groups,
        [(None, "/ecs/orders", 2), (Some(PLACE), "/b/app", 1)]
    );
    assert_eq!(a.groups[1].missing_ids, ["4"]);
    assert_eq!((a.totals.logged, a.totals.missing), (4, 1));
}

#[test]
fn a_group_of_the_same_name_in_two_places_is_told_apart_by_its_event_ids() {
    let a = by_id(
        &[
            source("/app", &[("10", SINCE)]),
            remote_source("/app", &[("20", SINCE)]),
        ],
        &[object(SINCE, "/app", &[("10", SINCE)])],
    );
    let missing: Vec<_> = (a.groups.iter())
        .map(|g| (g.place.as_deref(), g.missing_ids.clone()))
        .collect();
    assert_eq!(
        missing,
        [(None, vec![]), (Some(PLACE), vec!["20".to_owned()])]
    );
}

#[test]
fn the_json_names_a_remote_groups_place_and_leaves_it_out_for_the_pipelines_own() {
    let a = by_id(
        &[source("/ecs/orders", &[]), remote_source("/b/app", &[])],
        &[],
    );
    let json = serde_json::to_value(&a.groups).unwrap();
    assert_eq!(json[0].get("place"), None);
    assert_eq!(json[1]["place"], PLACE);
    assert_eq!(json[1]["logGroup"], "/b/app");
}
