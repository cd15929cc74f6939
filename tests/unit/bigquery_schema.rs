//! docs/bigquery-envelope-schema.json, the BigQuery table schema of the `Envelope` record
//! format, stays true to the envelope: it parses as a BigQuery schema, names every field that
//! src/delivery/records.rs reads from an envelope, and loads the envelope moto delivers.

use crate::common;

use serde_json::Value;
use std::collections::BTreeSet;

fn schema() -> Vec<Value> {
    let text = std::fs::read_to_string(common::repo_path("docs/bigquery-envelope-schema.json"))
        .expect("the schema file exists");
    serde_json::from_str(&text).expect("the schema is a JSON array of fields")
}

/// Every field's path (`logEvents.id`), with its type and mode.
fn fields(list: &[Value], parent: &str, out: &mut Vec<(String, String, String)>) {
    for f in list {
        let name = f["name"].as_str().expect("every field has a name");
        let path = if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        };
        let text = |key: &str| f[key].as_str().unwrap_or("NULLABLE").to_owned();
        out.push((path.clone(), text("type"), text("mode")));
        if let Some(nested) = f["fields"].as_array() {
            fields(nested, &path, out);
        }
    }
}

fn schema_fields() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    fields(&schema(), "", &mut out);
    out
}

/// The fields of a struct in records.rs, camelCased as serde renames them.
fn struct_fields(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("struct {name} {{"))
        .unwrap_or_else(|| panic!("struct {name} in records.rs"));
    let body = &source[start..source[start..].find('}').map(|e| start + e).unwrap()];
    let field = regex::Regex::new(r"(?m)^\s+([a-z_]+):").unwrap();
    field
        .captures_iter(body)
        .map(|c| {
            let mut parts = c[1].split('_');
            let first = parts.next().unwrap().to_owned();
            parts.fold(first, |acc, p| acc + &p[..1].to_uppercase() + &p[1..])
        })
        .collect()
}

#[test]
fn the_schema_types_every_field_with_a_bigquery_type_and_mode() {
    let types = ["STRING", "INTEGER", "RECORD"];
    for (path, ty, mode) in schema_fields() {
        assert!(types.contains(&ty.as_str()), "{path}: {ty}");
        assert!(
            ["NULLABLE", "REPEATED"].contains(&mode.as_str()),
            "{path}: {mode}"
        );
    }
}

#[test]
fn the_schema_holds_the_envelope_with_repeated_log_events() {
    let got: BTreeSet<(String, String, String)> = schema_fields().into_iter().collect();
    let want: BTreeSet<(String, String, String)> = [
        ("messageType", "STRING", "NULLABLE"),
        ("owner", "STRING", "NULLABLE"),
        ("logGroup", "STRING", "NULLABLE"),
        ("logStream", "STRING", "NULLABLE"),
        ("subscriptionFilters", "STRING", "REPEATED"),
        ("logEvents", "RECORD", "REPEATED"),
        ("logEvents.id", "STRING", "NULLABLE"),
        ("logEvents.timestamp", "INTEGER", "NULLABLE"),
        ("logEvents.message", "STRING", "NULLABLE"),
    ]
    .into_iter()
    .map(|(p, t, m)| (p.to_owned(), t.to_owned(), m.to_owned()))
    .collect();
    assert_eq!(got, want);
}

#[test]
fn the_schema_names_every_envelope_field_the_reader_reads() {
    let source = std::fs::read_to_string(common::repo_path("src/delivery/records.rs")).unwrap();
    let paths: BTreeSet<String> = schema_fields().into_iter().map(|(p, _, _)| p).collect();
    let envelope = struct_fields(&source, "Envelope");
    let event = struct_fields(&source, "EnvelopeEvent");
    assert!(envelope.contains(&"logEvents".to_owned()), "{envelope:?}");
    let read = envelope
        .into_iter()
        .chain(event.into_iter().map(|f| format!("logEvents.{f}")));
    for field in read {
        assert!(
            paths.contains(&field),
            "{field} is read but not in the schema"
        );
    }
}

#[test]
fn an_envelope_as_delivered_has_exactly_the_schemas_top_level_fields() {
    // The envelope moto writes (see tests/aws/delivery.rs), with ids as AWS sends them.
    let envelope = serde_json::json!({
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "/ecs/orders",
        "logStream": "web-1",
        "subscriptionFilters": ["pitagora-team-a-orders"],
        "logEvents": [{"id": "3719", "timestamp": 1_796_220_077_748_i64, "message": "hello"}],
    });
    let top: BTreeSet<&str> = envelope
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let schema = schema();
    let names: BTreeSet<&str> = schema.iter().filter_map(|f| f["name"].as_str()).collect();
    assert_eq!(top, names);
    let line = format!("{envelope}\n");
    let decoded = pitagora::delivery::records::decode(line.as_bytes(), 1 << 20).unwrap();
    assert_eq!(decoded.events[0].id.as_deref(), Some("3719"));
}
