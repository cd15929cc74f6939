//! Reading delivered objects back, specified without AWS: every record format Firehose writes
//! for pitagora (NDJSON lines, envelope lines, raw envelopes back to back in several gzip
//! members), compressed or not, decodes to the same log events; control messages are counted,
//! not taken for events; decompression is bounded; the canary survives every format.

use flate2::Compression;
use flate2::write::GzEncoder;
use pitagora::delivery::canary::{Canary, MARKER};
use pitagora::delivery::records::{DeliveredEvent, RecordsError, decode};
use proptest::prelude::*;
use serde_json::json;
use std::io::Write;

const LIMIT: u64 = 64 << 20;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A CloudWatch Logs envelope of `messages` from `/ecs/orders`, ids `<first>`, `<first+1>`, ….
fn envelope(first: usize, messages: &[&str]) -> String {
    let events: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"id": (first + i).to_string(), "timestamp": 1_000 + i as i64, "message": m}))
        .collect();
    json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/ecs/orders",
        "logStream": "web-1",
        "subscriptionFilters": ["f"],
        "logEvents": events,
    })
    .to_string()
}

fn messages(events: &[DeliveredEvent]) -> Vec<&str> {
    events.iter().map(|e| e.message.as_str()).collect()
}

#[test]
fn ndjson_lines_decode_to_one_event_per_line_without_ids() {
    let object = gzip(b"first line\n{\"level\":\"info\"}\nthird\n");
    let d = decode(&object, LIMIT).unwrap();
    assert_eq!(
        messages(&d.events),
        ["first line", "{\"level\":\"info\"}", "third"]
    );
    assert!(
        d.events
            .iter()
            .all(|e| e.id.is_none() && e.log_group.is_none())
    );
}

#[test]
fn uncompressed_ndjson_decodes_the_same() {
    let d = decode(b"a\nb\n", LIMIT).unwrap();
    assert_eq!(messages(&d.events), ["a", "b"]);
}

#[test]
fn envelope_lines_keep_ids_timestamps_group_and_stream() {
    let text = format!("{}\n{}\n", envelope(1, &["a", "b"]), envelope(3, &["c"]));
    let d = decode(&gzip(text.as_bytes()), LIMIT).unwrap();
    assert_eq!(messages(&d.events), ["a", "b", "c"]);
    let e = &d.events[2];
    assert_eq!(e.id.as_deref(), Some("3"));
    assert_eq!(e.timestamp_ms, Some(1_000));
    assert_eq!(e.log_group.as_deref(), Some("/ecs/orders"));
    assert_eq!(e.log_stream.as_deref(), Some("web-1"));
}

#[test]
fn raw_envelopes_in_several_gzip_members_back_to_back_decode_whole() {
    // Raw: each record is its own gzip member, concatenated without a delimiter.
    let mut object = gzip(envelope(1, &["a"]).as_bytes());
    object.extend(gzip(envelope(2, &["b", "c"]).as_bytes()));
    let d = decode(&object, LIMIT).unwrap();
    assert_eq!(messages(&d.events), ["a", "b", "c"]);
}

#[test]
fn envelopes_back_to_back_on_one_line_decode_whole() {
    let text = format!("{}{}", envelope(1, &["a"]), envelope(2, &["b"]));
    let d = decode(text.as_bytes(), LIMIT).unwrap();
    assert_eq!(messages(&d.events), ["a", "b"]);
}

#[test]
fn control_messages_are_counted_and_hold_no_events() {
    let control = json!({"messageType": "CONTROL_MESSAGE", "logGroup": "", "logStream": "",
        "logEvents": [{"id": "", "timestamp": 1, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}]});
    let text = format!("{control}\n{}\n", envelope(1, &["a"]));
    let d = decode(text.as_bytes(), LIMIT).unwrap();
    assert_eq!(d.control_messages, 1);
    assert_eq!(messages(&d.events), ["a"]);
}

#[test]
fn a_json_message_that_is_not_an_envelope_is_a_message() {
    let line = r#"{"logEvents":"not a list","level":"warn"}"#;
    let d = decode(line.as_bytes(), LIMIT).unwrap();
    assert_eq!(messages(&d.events), [line]);
}

#[test]
fn an_object_that_decompresses_beyond_the_bound_is_refused() {
    let object = gzip(&vec![b'x'; 10_000]);
    assert_eq!(
        decode(&object, 1_000),
        Err(RecordsError::TooLarge { limit: 1_000 })
    );
}

#[test]
fn an_object_that_starts_like_gzip_but_is_not_is_an_error() {
    let e = decode(&[0x1f, 0x8b, 0, 1, 2, 3], LIMIT).unwrap_err();
    assert!(matches!(e, RecordsError::Gzip(_)), "{e:?}");
}

#[test]
fn binary_that_is_not_text_is_an_error() {
    assert_eq!(
        decode(&[0xff, 0xfe, 0x00], LIMIT),
        Err(RecordsError::NotText)
    );
}

// ---- The canary ---------------------------------------------------------------------------

fn canary() -> Canary {
    Canary {
        id: "c-42".into(),
        pipeline: "team-a/orders".into(),
        sent_at_ms: 1_796_220_077_748,
    }
}

#[test]
fn a_canary_message_carries_the_marker_first_and_parses_back() {
    let message = canary().message();
    assert!(
        message.starts_with(&format!("{{\"{MARKER}\":true,")),
        "{message}"
    );
    assert_eq!(Canary::parse(&message), Some(canary()));
}

#[test]
fn a_message_with_the_marker_false_or_missing_is_not_a_canary() {
    let unmarked = json!({"id": "c-42", "pipeline": "team-a/orders", "sentAtMs": 1});
    let mut marked_false = unmarked.clone();
    marked_false[MARKER] = json!(false);
    assert_eq!(Canary::parse(&unmarked.to_string()), None);
    assert_eq!(Canary::parse(&marked_false.to_string()), None);
    assert_eq!(Canary::parse("plain text"), None);
}

#[test]
fn the_canary_is_found_in_every_format() {
    let message = canary().message();
    let line = format!("{message}\n");
    let objects = [
        gzip(line.as_bytes()),
        gzip(format!("{}\n", envelope(7, &["other", &message])).as_bytes()),
        gzip(envelope(7, &[&message]).as_bytes()),
    ];
    for object in objects {
        let d = decode(&object, LIMIT).unwrap();
        let found: Vec<Canary> = d.canaries().map(|(c, _)| c).collect();
        assert_eq!(found, [canary()]);
    }
}

proptest! {
    #[test]
    fn any_messages_decode_the_same_from_every_format(
        list in proptest::collection::vec("[^\n\r]{1,40}", 1..20)
    ) {
        // NDJSON cannot carry a message that is blank or itself an envelope; Firehose's
        // extraction would not produce one either.
        prop_assume!(list.iter().all(|m| !m.trim().is_empty() && !m.contains("logEvents")));
        let refs: Vec<&str> = list.iter().map(String::as_str).collect();
        let ndjson = gzip(format!("{}\n", list.join("\n")).as_bytes());
        let lines = gzip(format!("{}\n", envelope(0, &refs)).as_bytes());
        let raw = gzip(envelope(0, &refs).as_bytes());
        for object in [ndjson, lines, raw] {
            let d = decode(&object, LIMIT).unwrap();
            let got: Vec<&str> = d.events.iter().map(|e| e.message.as_str()).collect();
            prop_assert_eq!(&got, &refs);
        }
    }
}

#[test]
fn an_envelope_whose_event_ids_are_numbers_still_decodes() {
    let text = r#"{"messageType":"DATA_MESSAGE","logGroup":"/g","logStream":"s","logEvents":[{"id":0,"timestamp":1,"message":"m"}]}"#;
    let d = decode(text.as_bytes(), LIMIT).unwrap();
    assert_eq!(d.events[0].id.as_deref(), Some("0"));
    assert_eq!(d.events[0].message, "m");
}
