//! Defaults of the `LogPipeline` spec: what an omitted field means, the derived settings
//! (`compression()`, `cutover_stage()`), and that the CRD schema's defaults (applied by the API
//! server) resolve to the same spec as serde's defaults (applied when reading a file).

use crate::common;

use pitagora::spec::schema::openapi_schema;
use pitagora::spec::*;
use serde_json::{Value, json};

const LAMBDA: &str = "arn:aws:lambda:eu-west-1:123456789012:function:f";

/// A spec read from a JSON document, the way the CLI reads files.
fn from_json(spec: Value) -> LogPipelineSpec {
    serde_json::from_value(spec).expect("spec deserialises")
}

/// The schema of `spec`.
fn spec_schema() -> &'static Value {
    &openapi_schema()["properties"]["spec"]
}

/// Applies the schema's `default`s to `value` the way the API server does: a missing property
/// with a default gets it, then defaulting continues inside every present value.
fn apply_schema_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema["properties"].as_object() {
                for (key, property) in properties {
                    if !map.contains_key(key)
                        && let Some(default) = property.get("default")
                    {
                        map.insert(key.clone(), default.clone());
                    }
                }
                for (key, child) in map.iter_mut() {
                    if let Some(property) = properties.get(key) {
                        apply_schema_defaults(property, child);
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                apply_schema_defaults(&schema["items"], item);
            }
        }
        _ => {}
    }
}

/// Every `(path, default)` declared in `schema`'s properties, recursively (not inside lists).
fn schema_defaults(schema: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    if let Some(properties) = schema["properties"].as_object() {
        for (key, property) in properties {
            let child = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if let Some(default) = property.get("default") {
                out.push((child.clone(), default.clone()));
            }
            schema_defaults(property, &child, out);
        }
    }
}

fn at<'a>(value: &'a Value, dotted: &str) -> &'a Value {
    dotted.split('.').fold(value, |v, key| &v[key])
}

/// A spec that sets only what each optional section requires, so every default shows.
fn sparse_spec_with_every_section() -> Value {
    json!({
        "sources": {"logGroups": ["/ecs/orders"]},
        "transform": {"lambdaArn": LAMBDA},
        "fanout": {},
        "legacy": {"fluentd": {"target": {"host": "fluentd.logging.svc"}}},
        "storage": {"versioning": {}},
        "acknowledge": {},
    })
}

#[test]
fn minimal_spec_buffers_5_mib_or_300_seconds() {
    let spec = common::minimal_spec();
    assert_eq!(spec.delivery.buffering.size_mib, 5);
    assert_eq!(spec.delivery.buffering.interval_seconds, 300);
}

#[test]
fn minimal_spec_writes_ndjson_compressed_with_gzip() {
    let spec = common::minimal_spec();
    assert_eq!(spec.delivery.record_format, RecordFormat::Ndjson);
    assert_eq!(spec.delivery.compression, None);
    assert_eq!(spec.compression(), Compression::Gzip);
}

#[test]
fn minimal_spec_delivers_under_raw_and_errors_under_errors() {
    let spec = common::minimal_spec();
    assert_eq!(spec.delivery.prefix, "raw/");
    assert_eq!(spec.delivery.error_output_prefix, "errors/");
}

#[test]
fn minimal_spec_uses_firehoses_flat_layout() {
    let spec = common::minimal_spec();
    assert_eq!(spec.delivery.layout, Layout::Flat);
    assert_eq!(spec.object_prefix(), "raw/");
    assert_eq!(spec.error_prefix(), "errors/");
}

#[test]
fn minimal_spec_sends_a_canary_every_300_seconds() {
    let spec = common::minimal_spec();
    assert!(spec.delivery.verify.enabled);
    assert_eq!(spec.delivery.verify.interval_seconds, 300);
}

#[test]
fn envelopes_are_compressed_with_gzip_by_default() {
    let mut spec = common::minimal_spec();
    spec.delivery.record_format = RecordFormat::Envelope;
    assert_eq!(spec.compression(), Compression::Gzip);
}

#[test]
fn minimal_spec_retains_the_bucket_with_a_derived_name_and_no_lifecycle() {
    let storage = common::minimal_spec().storage;
    assert_eq!(storage.deletion_policy, DeletionPolicy::Retain);
    assert_eq!(storage.bucket_name, None);
    assert_eq!(storage.retention_days, None);
    assert_eq!(storage.transition, None);
}

#[test]
fn minimal_spec_corrects_drift_every_300_seconds() {
    let spec = common::minimal_spec();
    assert_eq!(spec.drift.policy, DriftPolicy::Correct);
    assert_eq!(spec.drift.check_interval_seconds, 300);
    assert!(!spec.report_only());
}

#[test]
fn minimal_spec_forwards_every_event_distributed_by_log_stream() {
    let sources = common::minimal_spec().sources;
    assert_eq!(sources.filter_pattern, "");
    assert_eq!(sources.distribution, Distribution::ByLogStream);
    assert!(sources.log_group_prefixes.is_empty());
}

#[test]
fn minimal_spec_has_no_region_transform_fanout_legacy_or_adoption() {
    let spec = common::minimal_spec();
    assert_eq!(spec.region, None);
    assert_eq!(spec.transform, None);
    assert_eq!(spec.fanout, None);
    assert_eq!(spec.legacy, None);
    assert_eq!(spec.cutover.stage, None);
    assert!(!spec.adopt_existing);
}

#[test]
fn transform_output_prefix_defaults_to_processed() {
    let spec = from_json(sparse_spec_with_every_section());
    assert_eq!(spec.transform.unwrap().output_prefix, "processed/");
}

#[test]
fn fluentd_port_defaults_to_24224() {
    let spec = from_json(sparse_spec_with_every_section());
    let fluentd = spec.legacy.unwrap().fluentd;
    let target = fluentd.target.expect("a target");
    assert_eq!(target.port, 24224);
    assert!(fluentd.routes.is_empty());
}

#[test]
fn route_log_groups_pitagora_creates_keep_their_events_30_days_by_default() {
    let spec = from_json(sparse_spec_with_every_section());
    assert_eq!(spec.legacy.unwrap().fluentd.log_group_retention_days, 30);
}

#[test]
fn the_schema_allows_exactly_the_retentions_cloudwatch_logs_accepts() {
    let property = ["legacy", "fluentd", "logGroupRetentionDays"]
        .iter()
        .fold(spec_schema(), |node, key| &node["properties"][key]);
    assert_eq!(
        property["enum"],
        json!(pitagora::spec::LOG_RETENTION_DAYS),
        "spec.legacy.fluentd.logGroupRetentionDays"
    );
}

#[test]
fn the_forward_buffer_defaults_to_files_that_retry_for_ever() {
    let spec = from_json(sparse_spec_with_every_section());
    let buffer = spec.legacy.unwrap().fluentd.target.unwrap().buffer;
    assert_eq!(buffer.kind, pitagora::spec::BufferKind::File);
    assert_eq!(buffer.path, "/var/log/fluentd-buffers/pitagora");
    assert_eq!(buffer.flush_interval_seconds, 5);
    assert_eq!(
        (
            buffer.chunk_limit_size.as_str(),
            buffer.total_limit_size.as_str()
        ),
        ("8m", "512m")
    );
    assert!(buffer.retry_forever);
}

#[test]
fn cutover_thresholds_default_to_ten_canaries_within_fifteen_minutes_and_an_hour_of_shadow() {
    let c = from_json(sparse_spec_with_every_section()).cutover;
    assert_eq!(c.required_successes, 10);
    assert_eq!(c.max_delivery_seconds, 900);
    assert_eq!(c.shadow_window_seconds, 3600);
    assert_eq!(c.incoming_deadline_seconds, 600);
}

#[test]
fn fanout_defaults_to_a_derived_topic_without_subscribers() {
    let fanout = from_json(sparse_spec_with_every_section()).fanout.unwrap();
    assert_eq!(fanout.topic_name, None);
    assert!(fanout.subscribers.is_empty());
}

#[test]
fn a_partial_buffering_section_keeps_the_other_default() {
    let spec = common::spec("sources: {logGroups: [/a]}\ndelivery: {buffering: {sizeMiB: 64}}\n");
    assert_eq!(spec.delivery.buffering.size_mib, 64);
    assert_eq!(spec.delivery.buffering.interval_seconds, 300);
    assert_eq!(spec.delivery.prefix, "raw/");
}

#[test]
fn raw_records_are_uncompressed_by_default() {
    let spec = common::spec("sources: {logGroups: [/a]}\ndelivery: {recordFormat: Raw}\n");
    assert_eq!(spec.compression(), Compression::Uncompressed);
}

#[test]
fn explicit_compression_wins_over_the_format_default() {
    let ndjson = common::spec("sources: {logGroups: [/a]}\ndelivery: {compression: ZIP}\n");
    assert_eq!(ndjson.compression(), Compression::Zip);
    let raw = common::spec(
        "sources: {logGroups: [/a]}\ndelivery: {recordFormat: Raw, compression: UNCOMPRESSED}\n",
    );
    assert_eq!(raw.compression(), Compression::Uncompressed);
}

#[test]
fn compression_values_are_spelled_as_aws_spells_them() {
    for (yaml, aws) in [
        ("UNCOMPRESSED", "UNCOMPRESSED"),
        ("GZIP", "GZIP"),
        ("ZIP", "ZIP"),
        ("Snappy", "Snappy"),
        ("HADOOP_SNAPPY", "HADOOP_SNAPPY"),
    ] {
        let spec = common::spec(&format!(
            "sources: {{logGroups: [/a]}}\ndelivery: {{compression: {yaml}}}\n"
        ));
        assert_eq!(spec.compression().as_aws_str(), aws);
    }
}

#[test]
fn cutover_stage_is_new_without_legacy() {
    assert_eq!(common::minimal_spec().cutover_stage(), CutoverStage::New);
}

#[test]
fn cutover_stage_is_legacy_while_a_legacy_path_is_declared() {
    let spec = from_json(sparse_spec_with_every_section());
    assert_eq!(spec.cutover.stage, None);
    assert_eq!(spec.cutover_stage(), CutoverStage::Legacy);
}

#[test]
fn explicit_cutover_stage_wins() {
    for stage in ["Legacy", "Shadow", "Primary", "New"] {
        let mut doc = sparse_spec_with_every_section();
        doc["cutover"] = json!({"stage": stage});
        assert_eq!(from_json(doc).cutover_stage().as_str(), stage);
    }
    let spec = common::spec("sources: {logGroups: [/a]}\ncutover: {stage: New}\n");
    assert_eq!(spec.cutover_stage(), CutoverStage::New);
}

#[test]
fn report_policy_makes_the_pipeline_report_only() {
    let spec = common::spec("sources: {logGroups: [/a]}\ndrift: {policy: Report}\n");
    assert!(spec.report_only());
    assert_eq!(spec.drift.check_interval_seconds, 300);
}

#[test]
fn fanout_is_fed_from_the_transform_output_or_else_the_raw_prefix() {
    assert_eq!(common::minimal_spec().fanout_source_prefix(), "raw/");
    assert_eq!(
        from_json(sparse_spec_with_every_section()).fanout_source_prefix(),
        "processed/"
    );
}

#[test]
fn the_schema_declares_the_documented_defaults() {
    let spec = spec_schema();
    for (field, default) in [
        ("delivery.buffering.sizeMiB", json!(5)),
        ("delivery.buffering.intervalSeconds", json!(300)),
        ("delivery.recordFormat", json!("NDJSON")),
        ("delivery.prefix", json!("raw/")),
        ("delivery.errorOutputPrefix", json!("errors/")),
        ("storage.deletionPolicy", json!("Retain")),
        ("drift.policy", json!("Correct")),
        ("drift.checkIntervalSeconds", json!(300)),
        ("sources.distribution", json!("ByLogStream")),
        ("sources.filterPattern", json!("")),
        ("transform.outputPrefix", json!("processed/")),
        ("legacy.fluentd.target.port", json!(24224)),
        ("legacy.fluentd.logGroupRetentionDays", json!(30)),
        ("adoptExisting", json!(false)),
    ] {
        let property = field
            .split('.')
            .fold(spec, |node, key| &node["properties"][key]);
        assert_eq!(property["default"], default, "spec.{field}");
    }
}

#[test]
fn the_schema_declares_no_default_for_derived_settings() {
    // compression and cutover.stage depend on other fields; a fixed schema default would be
    // wrong for half the specs.
    for field in [
        "delivery.compression",
        "cutover.stage",
        "region",
        "storage.bucketName",
    ] {
        let property = field
            .split('.')
            .fold(spec_schema(), |node, key| &node["properties"][key]);
        assert!(!property.is_null(), "spec.{field} exists");
        assert!(
            property.get("default").is_none(),
            "spec.{field} has a default"
        );
    }
}

#[test]
fn every_schema_default_equals_the_serde_default() {
    let resolved = serde_json::to_value(from_json(sparse_spec_with_every_section())).unwrap();
    let mut defaults = Vec::new();
    schema_defaults(spec_schema(), "", &mut defaults);
    assert!(
        defaults.len() >= 15,
        "only {} defaults found",
        defaults.len()
    );
    for (path, default) in defaults {
        // A section's default object names the fields the API server fills in; the sparse spec
        // may set other fields of it (storage.versioning, to reach the defaults inside).
        let resolved_here = at(&resolved, &path);
        match (&default, resolved_here) {
            (Value::Object(fields), Value::Object(_)) => {
                for (key, value) in fields {
                    assert_eq!(
                        &resolved_here[key], value,
                        "spec.{path}.{key}: the CRD default differs from the serde default"
                    );
                }
            }
            _ => assert_eq!(
                resolved_here, &default,
                "spec.{path}: the CRD default differs from the serde default"
            ),
        }
    }
}

#[test]
fn a_document_defaulted_by_the_api_server_reads_as_the_same_spec_as_the_file() {
    let documents = [
        json!({"sources": {"logGroups": ["/ecs/orders"]}}),
        json!({"sources": {"logGroupPrefixes": ["/ecs/"]}, "delivery": {"buffering": {"sizeMiB": 64}}}),
        json!({"sources": {"logGroups": ["/a"]}, "delivery": {"recordFormat": "Raw"}, "storage": {"retentionDays": 7}}),
        json!({"sources": {"logGroups": ["/a"]}, "drift": {"policy": "Report"}, "cutover": {}}),
        json!({
            "sources": {"logGroups": ["/a"]},
            "transform": {"lambdaArn": LAMBDA},
            "fanout": {"subscribers": [{"name": "es", "lambdaArn": LAMBDA}]},
            "legacy": {"fluentd": {"target": {"host": "fluentd"}, "routes": [{"match": "a.**", "logGroup": "/a"}]}},
        }),
        serde_json::to_value(common::full_chain_spec()).unwrap(),
        serde_json::to_value(common::example("beside-fluentd.yaml").spec).unwrap(),
    ];
    for document in documents {
        let mut stored = document.clone();
        apply_schema_defaults(spec_schema(), &mut stored);
        assert_eq!(
            from_json(stored.clone()),
            from_json(document.clone()),
            "stored by the API server as {stored:#}\nread from a file as {document:#}"
        );
    }
}

#[test]
fn a_spec_survives_a_serialisation_round_trip() {
    for spec in [
        common::minimal_spec(),
        common::full_chain_spec(),
        common::example("beside-fluentd.yaml").spec,
    ] {
        let json = serde_json::to_value(&spec).unwrap();
        assert_eq!(from_json(json), spec);
    }
}
