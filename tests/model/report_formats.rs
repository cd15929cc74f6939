//! The drift report's formats, specified without AWS: checks are built from fixtures (converged
//! worlds of the in-memory model, perturbed as someone changing AWS by hand would), and one
//! fixed report — a pipeline in sync, one with several kinds of drift, one with an ignored
//! difference and one that could not be checked — is compared with golden files
//! (`tests/golden/drift-report.*`; `UPDATE_GOLDEN=1` rewrites them). The JSON validates against
//! `docs/drift-report.schema.json`, the JUnit has the shape CI tools read, every Mermaid
//! flowchart passes a small grammar and marks exactly the drifted stages, and Markdown tables
//! keep their columns.

use crate::common;

use common::report::{
    Flowchart, check_flowchart, check_junit_counts, check_table, golden, markdown_tables,
    mermaid_blocks, parse_junit, row_cells, validate_drift_report,
};
use common::{ACCOUNT, REGION, converged, full_chain_spec, spec};
use pitagora::aws::CallStats;
use pitagora::aws::calls::{CallKey, Outcome};
use pitagora::desired::{self, Desired};
use pitagora::names::PipelineId;
use pitagora::observed::Observed;
use pitagora::plan::{Check, plan};
use pitagora::report::{
    self, Chain, ChainSubscriber, DriftReport, Input, Status, junit, markdown, mermaid, text,
};
use pitagora::resources::{ResourceKind, S3Destination, SubscriptionFilter};
use pitagora::spec::{DriftPolicy, IgnoreRule, LogPipelineSpec};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

// ---- The fixed report ------------------------------------------------------------------------

/// When the fixed report was made.
const GENERATED_AT: &str = "2026-03-02T07:45:00Z";
/// The generator the golden files carry (the real one names the crate's version, which would
/// otherwise rewrite the golden JSON at every release; see `the_generator_names_the_crate_version`).
const GENERATOR: &str = "pitagora 0.0.0-golden";
/// The reason of the ignore rule: every character XML escapes, and a pipe (a Markdown cell
/// separator).
const AWKWARD_REASON: &str =
    r#"Q4 load test <OPS-1234> & the SRE team's "black friday" tuning | until April"#;
/// Why the fourth pipeline could not be checked.
const UNREACHABLE: &str = "STS.GetCallerIdentity: AWS is unreachable or failing: dispatch failure: io error: client error (Connect): tcp connect error: Connection refused (os error 111)";

fn desired_of(id: &PipelineId, spec: &LogPipelineSpec) -> Desired {
    desired::from_spec(id, spec, ACCOUNT, REGION).expect("fixture spec is valid")
}

/// A check as the engine makes it: desired, observed, and the plan between them.
fn check(desired: Desired, observed: Observed) -> Check {
    let plan = plan(&desired, &observed);
    Check {
        desired,
        observed,
        plan,
    }
}

fn stream_destination(o: &mut Observed) -> &mut S3Destination {
    o.stream.as_mut().unwrap().destination.as_mut().unwrap()
}

fn foreign_filter(name: &str) -> SubscriptionFilter {
    SubscriptionFilter {
        name: name.into(),
        pattern: String::new(),
        destination_arn: format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"),
        role_arn: None,
        distribution: "ByLogStream".into(),
    }
}

fn orders_id() -> PipelineId {
    PipelineId::new("shop", "orders")
}
fn payments_id() -> PipelineId {
    PipelineId::new("shop", "payments")
}
fn audit_id() -> PipelineId {
    PipelineId::new("platform", "audit")
}
fn billing_id() -> PipelineId {
    PipelineId::new("platform", "billing")
}

/// `shop/orders`: the full chain (ECS prefix, transform, fan-out to two subscribers), converged.
fn in_sync_check() -> Check {
    let d = desired_of(&orders_id(), &full_chain_spec());
    let o = converged(&d, &["/ecs/orders", "/ecs/payments", "/other/app"]);
    check(d, o)
}

/// `shop/payments`: the full chain, converged, then changed by hand: the stream's buffer size
/// (16 → 64 MiB), the filter of `/ecs/payments` deleted, the fan-out notification removed, the
/// stack mid-update, and a new group `/ecs/crowded` that already has two foreign filters (a
/// conflict: AWS refused a third on another group).
fn drifted_check() -> Check {
    let d = desired_of(&payments_id(), &full_chain_spec());
    let mut o = converged(&d, &["/ecs/orders", "/ecs/payments"]);
    stream_destination(&mut o).buffering.size_mib = 64;
    o.log_groups.get_mut("/ecs/payments").unwrap().clear();
    let fanout = d.names.fanout_notification_id.clone();
    o.bucket
        .as_mut()
        .unwrap()
        .notifications
        .retain(|n| n.id != fanout);
    o.stack.as_mut().unwrap().status = "UPDATE_IN_PROGRESS".into();
    o.filter_limit = pitagora::observed::FilterLimit::refused("/ecs/busy", 2);
    o.log_groups.insert(
        "/ecs/crowded".into(),
        vec![
            foreign_filter("audit-shipper"),
            foreign_filter("metrics-export"),
        ],
    );
    check(d, o)
}

/// The ignore rule of `platform/audit`.
fn audit_rule() -> IgnoreRule {
    IgnoreRule {
        kind: Some("DeliveryStream".into()),
        name: None,
        field: Some("BufferingHints.IntervalInSeconds".into()),
        reason: Some(AWKWARD_REASON.into()),
    }
}

/// `platform/audit`: one exact group, `drift.policy: Report`, converged, then its buffer
/// interval changed by hand (300 → 900 s), which its `drift.ignore` rule accepts.
fn ignored_check() -> Check {
    let mut s = spec("sources:\n  logGroups: [/app/audit]\n");
    s.drift.policy = DriftPolicy::Report;
    s.drift.ignore.push(audit_rule());
    let d = desired_of(&audit_id(), &s);
    let mut o = converged(&d, &["/app/audit"]);
    stream_destination(&mut o).buffering.interval_seconds = 900;
    check(d, o)
}

/// The AWS calls behind the fixed report: reads only.
fn calls() -> CallStats {
    let key = |service: &str, operation: &str, outcome| CallKey {
        service: service.into(),
        operation: operation.into(),
        outcome,
    };
    CallStats(BTreeMap::from([
        (key("STS", "GetCallerIdentity", Outcome::Ok), 1),
        (key("STS", "GetCallerIdentity", Outcome::NoResponse), 3),
        (key("CloudFormation", "DescribeStacks", Outcome::Ok), 3),
        (key("CloudFormation", "GetTemplate", Outcome::Ok), 3),
        (key("Firehose", "DescribeDeliveryStream", Outcome::Ok), 3),
        (key("Firehose", "ListTagsForDeliveryStream", Outcome::Ok), 3),
        (key("CloudWatchLogs", "DescribeLogGroups", Outcome::Ok), 6),
        (
            key("CloudWatchLogs", "DescribeSubscriptionFilters", Outcome::Ok),
            7,
        ),
        (
            key("S3", "GetBucketNotificationConfiguration", Outcome::Ok),
            3,
        ),
        (key("S3", "GetBucketLifecycleConfiguration", Outcome::Ok), 3),
        (key("SNS", "ListSubscriptionsByTopic", Outcome::Ok), 2),
    ]))
}

/// Reports built from `checks` (each `(source, id, check or error)`), at the fixed time.
fn report_of(
    checks: &[(&str, PipelineId, Result<Check, String>)],
    calls: &CallStats,
) -> DriftReport {
    let inputs: Vec<Input> = checks
        .iter()
        .map(|(source, id, result)| Input {
            source,
            id,
            result: result.as_ref().map_err(Clone::clone),
        })
        .collect();
    report::build(&inputs, calls, Some(GENERATED_AT.into()))
}

/// The fixed report of the golden files.
fn fixed_report() -> DriftReport {
    let mut r = report_of(
        &[
            ("pipelines/shop.yaml#1", orders_id(), Ok(in_sync_check())),
            ("pipelines/shop.yaml#2", payments_id(), Ok(drifted_check())),
            (
                "pipelines/platform/audit.yaml",
                audit_id(),
                Ok(ignored_check()),
            ),
            (
                "pipelines/platform/billing.yaml",
                billing_id(),
                Err(UNREACHABLE.into()),
            ),
        ],
        &calls(),
    );
    r.generator = GENERATOR.into();
    r
}

/// A report of one pipeline.
fn single(id: PipelineId, c: Check) -> DriftReport {
    report_of(&[("pipeline.yaml", id, Ok(c))], &CallStats::default())
}

fn text_of(r: &DriftReport) -> String {
    text::report(r, text::Style::new(false))
}

fn json_of(r: &DriftReport) -> String {
    serde_json::to_string_pretty(r).unwrap() + "\n"
}

// ---- Golden files ----------------------------------------------------------------------------

#[test]
fn the_fixed_report_holds_a_pipeline_of_each_kind() {
    let r = fixed_report();
    let statuses: Vec<(String, Status)> = r.pipelines.iter().map(|p| (p.id(), p.status)).collect();
    assert_eq!(
        statuses,
        [
            ("shop/orders".to_owned(), Status::InSync),
            ("shop/payments".to_owned(), Status::Drifted),
            ("platform/audit".to_owned(), Status::InSync),
            ("platform/billing".to_owned(), Status::Error),
        ]
    );
    let items: BTreeSet<(&str, &str, Option<&str>)> = r.pipelines[1]
        .items
        .iter()
        .map(|i| (i.action.as_str(), i.kind.as_str(), i.field.as_deref()))
        .collect();
    let fanout = desired_of(&payments_id(), &full_chain_spec())
        .names
        .fanout_notification_id;
    let notification = format!("NotificationConfiguration[{fanout}]");
    assert_eq!(
        items,
        BTreeSet::from([
            ("Update", "DeliveryStream", Some("BufferingHints.SizeInMBs")),
            ("Create", "SubscriptionFilter", Some("filterName")),
            ("Update", "BucketNotification", Some(notification.as_str())),
            ("Wait", "Stack", None),
            ("Conflict", "SubscriptionFilter", None),
        ])
    );
    assert!(r.pipelines[0].items.is_empty() && r.pipelines[0].ignored.is_empty());
    assert_eq!(r.pipelines[2].items, []);
    assert_eq!(r.pipelines[2].ignored.len(), 1);
    assert!(r.pipelines[2].report_only);
    assert_eq!(r.pipelines[3].error.as_deref(), Some(UNREACHABLE));
}

#[test]
fn text_report_without_colour_matches_its_golden_file() {
    golden("drift-report.txt", &text_of(&fixed_report()));
}

#[test]
fn markdown_report_matches_its_golden_file() {
    golden("drift-report.md", &markdown::render(&fixed_report()));
}

#[test]
fn json_report_matches_its_golden_file() {
    golden("drift-report.json", &json_of(&fixed_report()));
}

#[test]
fn junit_report_matches_its_golden_file() {
    golden("drift-report.junit.xml", &junit::render(&fixed_report()));
}

// ---- The model ------------------------------------------------------------------------------

#[test]
fn totals_count_pipelines_by_status_with_items_ignored_items_and_calls() {
    let t = fixed_report().totals;
    assert_eq!((t.pipelines, t.in_sync, t.drifted, t.errors), (4, 2, 1, 1));
    assert_eq!((t.items, t.ignored), (5, 1));
    assert_eq!((t.aws_calls, t.aws_writes), (calls().total(), 0));
    assert_eq!(t.aws_calls, 37);
}

#[test]
fn the_calls_line_counts_calls_and_writes_in_the_singular_when_there_is_one() {
    let stats = |reads: u64, writes: u64| {
        let key = |operation: &str| CallKey {
            service: "Firehose".into(),
            operation: operation.into(),
            outcome: Outcome::Ok,
        };
        CallStats(
            [
                (key("DescribeDeliveryStream"), reads),
                (key("UpdateDestination"), writes),
            ]
            .into_iter()
            .filter(|(_, n)| *n > 0)
            .collect(),
        )
    };
    for (reads, writes, line) in [
        (0, 0, "0 AWS calls (0 writes)"),
        (1, 0, "1 AWS call (0 writes)"),
        (0, 1, "1 AWS call (1 write)"),
        (1, 1, "2 AWS calls (1 write)"),
        (30, 4, "34 AWS calls (4 writes)"),
    ] {
        assert_eq!(text::calls(&stats(reads, writes)), line);
    }
}

#[test]
fn apply_heads_a_later_pass_plan_with_its_pass_and_names_a_refused_pass_in_text_and_json() {
    use pitagora::report::apply::{self as shown, Ending};
    let id = PipelineId::new("team-a", "orders");
    assert_eq!(shown::headline(1), "plan");
    assert_eq!(shown::headline(2), "plan, pass 2");
    let reasons = ["spec.acknowledge.replaceBucket: b1".to_owned()];
    assert_eq!(
        shown::refused_text(&id, 2, &reasons),
        "LogPipeline team-a/orders: error: pass 2 refused, nothing of it written (the writes of \
         the passes before it stand): spec.acknowledge.replaceBucket: b1"
    );
    let line: Value = serde_json::from_str(&shown::result_json(
        &id,
        Ending::Refused {
            pass: 2,
            reasons: &reasons,
        },
    ))
    .unwrap();
    assert_eq!(
        line,
        json!({
            "pipeline": "team-a/orders",
            "event": "result",
            "status": "refused",
            "passes": 1,
            "refusedPass": 2,
            "reasons": ["spec.acknowledge.replaceBucket: b1"],
        })
    );
}

#[test]
fn the_generator_names_the_crate_version() {
    let r = report_of(&[], &CallStats::default());
    assert_eq!(
        r.generator,
        format!("pitagora {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn without_a_fixed_time_the_report_is_stamped_now_in_utc() {
    use k8s_openapi::jiff::Timestamp;
    let before = Timestamp::now().as_second();
    let r = report::build(&[], &CallStats::default(), None);
    let after = Timestamp::now().as_second();
    assert!(r.generated_at.ends_with('Z'), "{}", r.generated_at);
    let stamp: Timestamp = r.generated_at.parse().unwrap();
    assert!(
        (before..=after).contains(&stamp.as_second()),
        "{} is not between {before} and {after}",
        r.generated_at
    );
}

// ---- JSON -----------------------------------------------------------------------------------

#[test]
fn json_report_validates_against_the_published_schema() {
    let json = json_of(&fixed_report());
    if let Err(errors) = validate_drift_report(&json) {
        panic!("the JSON report does not validate:\n{errors}\n{json}");
    }
}

/// The fixed report as a JSON value, to break.
fn fixed_json() -> Value {
    serde_json::from_str(&json_of(&fixed_report())).unwrap()
}

#[test]
fn the_schema_names_every_resource_kind_in_order() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(common::repo_path("docs/drift-report.schema.json")).unwrap(),
    )
    .unwrap();
    let kinds: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(schema["$defs"]["kind"]["enum"], json!(kinds));
}

#[test]
fn schema_validation_rejects_a_pipeline_with_an_unknown_status() {
    let mut doc = fixed_json();
    doc["pipelines"][1]["status"] = json!("mostlyFine");
    let errors =
        validate_drift_report(&doc.to_string()).expect_err("an unknown status is rejected");
    assert!(errors.starts_with("pipelines/1/status: "), "{errors}");
}

#[test]
fn schema_validation_checks_formats_rejecting_a_time_that_is_not_rfc3339() {
    let mut doc = fixed_json();
    doc["generatedAt"] = json!("2 March 2026, 07:45");
    let errors = validate_drift_report(&doc.to_string()).expect_err("a bad date-time is rejected");
    assert!(errors.starts_with("generatedAt: "), "{errors}");
}

#[test]
fn schema_validation_rejects_a_missing_total_and_an_unknown_item_field() {
    let mut doc = fixed_json();
    doc["totals"].as_object_mut().unwrap().remove("awsWrites");
    doc["pipelines"][1]["items"][0]["severity"] = json!("high");
    let errors = validate_drift_report(&doc.to_string()).expect_err("both are rejected");
    let paths: Vec<&str> = errors
        .lines()
        .map(|l| l.split(": ").next().unwrap())
        .collect();
    assert_eq!(paths, ["pipelines/1/items/0", "totals"], "{errors}");
}

// ---- JUnit ----------------------------------------------------------------------------------

fn fixed_junit() -> common::report::Element {
    let xml = junit::render(&fixed_report());
    parse_junit(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"))
}

#[test]
fn junit_root_counts_are_the_sums_over_its_suites_and_each_suites_over_its_cases() {
    let root = fixed_junit();
    check_junit_counts(&root).unwrap();
    assert_eq!(
        ["tests", "failures", "errors", "skipped"].map(|a| root.count(a)),
        // Cases: orders 1 + 19 resources (8 of them the stack's own, read live, and 2 the
        // canary group and its filter); payments 1 + 20; audit 1 + 10 + 1 ignored; billing 1.
        // Failures: payments' pipeline case and its five drifted resources.
        [54, 6, 1, 1]
    );
}

#[test]
fn junit_has_one_suite_per_pipeline_each_opening_with_the_pipelines_case() {
    let root = fixed_junit();
    let suites: Vec<(&str, &str)> = root
        .children_named("testsuite")
        .map(|s| (s.attr("name"), s.children[0].attr("name")))
        .collect();
    assert_eq!(
        suites,
        [
            ("shop/orders", "LogPipeline shop/orders"),
            ("shop/payments", "LogPipeline shop/payments"),
            ("platform/audit", "LogPipeline platform/audit"),
            ("platform/billing", "LogPipeline platform/billing"),
        ]
    );
}

#[test]
fn junit_reports_drift_as_failures_an_error_as_error_and_ignored_items_as_skipped() {
    let root = fixed_junit();
    let counts: Vec<[usize; 4]> = root
        .children_named("testsuite")
        .map(|s| ["tests", "failures", "errors", "skipped"].map(|a| s.count(a)))
        .collect();
    assert_eq!(
        counts,
        [[20, 0, 0, 0], [21, 6, 0, 0], [12, 0, 0, 1], [1, 0, 1, 0]]
    );
    let payments = root.children_named("testsuite").nth(1).unwrap();
    let failed: Vec<&str> = payments
        .children
        .iter()
        .filter(|c| c.has("failure"))
        .map(|c| c.attr("name"))
        .collect();
    let d = desired_of(&payments_id(), &full_chain_spec());
    assert_eq!(
        failed,
        [
            "LogPipeline shop/payments".to_owned(),
            format!("Stack {}", d.names.stack),
            format!("DeliveryStream {}", d.names.stream),
            format!("BucketNotification {}", d.names.bucket),
            "SubscriptionFilter /ecs/crowded".to_owned(),
            "SubscriptionFilter /ecs/payments".to_owned(),
        ]
    );
    let billing = root.children_named("testsuite").nth(3).unwrap();
    let error = billing.children[0].children_named("error").next().unwrap();
    assert_eq!(
        (error.attr("message"), error.text.as_str()),
        (UNREACHABLE, UNREACHABLE)
    );
}

#[test]
fn junit_failure_of_a_changed_field_names_the_field_and_both_values() {
    let root = fixed_junit();
    let d = desired_of(&payments_id(), &full_chain_spec());
    let stream = root
        .children_named("testsuite")
        .nth(1)
        .unwrap()
        .children_named("testcase")
        .find(|c| c.attr("name") == format!("DeliveryStream {}", d.names.stream))
        .unwrap();
    let failure = stream.children_named("failure").next().unwrap();
    assert_eq!(failure.attr("type"), "drift");
    assert!(
        failure
            .text
            .contains("BufferingHints.SizeInMBs: found 64, want 16"),
        "{failure:?}"
    );
}

#[test]
fn junit_escapes_xml_special_characters_in_attributes() {
    let xml = junit::render(&fixed_report());
    assert!(
        !xml.contains(AWKWARD_REASON),
        "the raw value is in the XML:\n{xml}"
    );
    let root = parse_junit(&xml).unwrap();
    let audit = root.children_named("testsuite").nth(2).unwrap();
    let skipped = audit
        .children_named("testcase")
        .find_map(|c| c.children_named("skipped").next())
        .expect("a skipped case");
    assert!(
        skipped.attr("message").contains(AWKWARD_REASON),
        "{:?}",
        skipped.attrs
    );
}

#[test]
fn junit_escapes_xml_special_characters_in_text() {
    let awkward = r#"GetCallerIdentity: <Error><Code>Refused</Code></Error> & "retry" won't help"#;
    let r = report_of(
        &[("billing.yaml", billing_id(), Err(awkward.into()))],
        &CallStats::default(),
    );
    let xml = junit::render(&r);
    let root = parse_junit(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let suite = root.children_named("testsuite").next().unwrap();
    let error = suite.children[0].children_named("error").next().unwrap();
    assert_eq!(error.text, awkward);
    assert_eq!(error.attr("message"), awkward);
}

#[test]
fn junit_checker_rejects_what_ci_tools_cannot_read() {
    let case = |body: &str| {
        format!(
            "<?xml version=\"1.0\"?>\n<testsuites tests=\"1\" failures=\"1\" errors=\"0\" skipped=\"0\">\n{body}\n</testsuites>\n"
        )
    };
    let good = case(
        r#"<testsuite name="a" tests="1" failures="1" errors="0" skipped="0"><testcase classname="c" name="n"><failure message="m"/></testcase></testsuite>"#,
    );
    check_junit_counts(&parse_junit(&good).unwrap()).unwrap();
    // A failure outside a test case, an unescaped value, a wrong count, a suite without a name.
    for bad in [
        r#"<testsuite name="a" tests="1" failures="1" errors="0" skipped="0"><failure message="m"/><testcase classname="c" name="n"/></testsuite>"#,
        r#"<testsuite name="a & b" tests="1" failures="1" errors="0" skipped="0"><testcase classname="c" name="n"><failure message="m"/></testcase></testsuite>"#,
        r#"<testsuite name="a <b>" tests="1" failures="1" errors="0" skipped="0"><testcase classname="c" name="n"><failure message="m"/></testcase></testsuite>"#,
    ] {
        assert!(parse_junit(&case(bad)).is_err(), "accepted: {bad}");
    }
    for bad in [
        r#"<testsuite name="a" tests="2" failures="1" errors="0" skipped="0"><testcase classname="c" name="n"><failure message="m"/></testcase></testsuite>"#,
        r#"<testsuite tests="1" failures="1" errors="0" skipped="0"><testcase classname="c" name="n"><failure message="m"/></testcase></testsuite>"#,
        r#"<testsuite name="a" tests="1" failures="0" errors="0" skipped="0"><testcase classname="c" name="n"/></testsuite>"#,
    ] {
        let parsed = parse_junit(&case(bad)).unwrap();
        assert!(check_junit_counts(&parsed).is_err(), "accepted: {bad}");
    }
}

// ---- Mermaid ----------------------------------------------------------------------------------

fn charts(r: &DriftReport) -> Vec<Flowchart> {
    let md = markdown::render(r);
    mermaid_blocks(&md)
        .iter()
        .map(|b| check_flowchart(b).unwrap_or_else(|e| panic!("{e}\n{md}")))
        .collect()
}

fn ids(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn every_checked_pipeline_has_a_flowchart_that_passes_the_grammar() {
    let charts = charts(&fixed_report());
    // Three checked pipelines; the one in error has no chain to draw.
    assert_eq!(charts.len(), 3);
    let full = [
        "sources",
        "filters",
        "stream",
        "bucket",
        "transform",
        "topic",
        "sub0",
        "sub1",
    ];
    let minimal = ["sources", "filters", "stream", "bucket"];
    let node_ids = |c: &Flowchart| c.nodes.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>();
    assert_eq!(node_ids(&charts[0]), full);
    assert_eq!(node_ids(&charts[1]), full);
    assert_eq!(node_ids(&charts[2]), minimal);
}

#[test]
fn the_flowchart_follows_the_chain_from_log_groups_to_subscribers() {
    let chart = &charts(&fixed_report())[0];
    let edge = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    let edges: BTreeSet<(String, String)> = chart.edges.iter().cloned().collect();
    assert_eq!(
        edges,
        BTreeSet::from([
            edge("sources", "filters"),
            edge("filters", "stream"),
            edge("stream", "bucket"),
            edge("bucket", "transform"),
            edge("transform", "topic"),
            edge("topic", "sub0"),
            edge("topic", "sub1"),
        ])
    );
    assert_eq!(chart.label("sources"), Some("log groups: /ecs/*"));
    assert_eq!(
        chart.label("filters"),
        Some("subscription filters on 2 groups")
    );
    assert_eq!(chart.label("transform"), Some("Lambda log-enricher"));
    assert_eq!(chart.label("sub1"), Some("Lambda slack-notifier"));
}

#[test]
fn the_flowchart_marks_exactly_the_drifted_stages() {
    let charts = charts(&fixed_report());
    // payments: filters (one missing, one conflict), the stream, and the bucket side (the stack
    // mid-update and a notification) with what hangs off the bucket; not the subscribers.
    assert_eq!(charts[0].drifted, ids(&[]));
    assert_eq!(
        charts[1].drifted,
        ids(&[
            "sources",
            "filters",
            "stream",
            "bucket",
            "transform",
            "topic"
        ])
    );
    // An ignored difference marks nothing.
    assert_eq!(charts[2].drifted, ids(&[]));
}

#[test]
fn the_flowchart_of_a_stream_change_marks_only_the_stream() {
    let d = desired_of(&orders_id(), &full_chain_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    stream_destination(&mut o).compression = "UNCOMPRESSED".into();
    let charts = charts(&single(orders_id(), check(d, o)));
    assert_eq!(charts[0].drifted, ids(&["stream"]));
}

#[test]
fn the_flowchart_of_a_changed_subscription_marks_only_that_subscriber() {
    let d = desired_of(&orders_id(), &full_chain_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    let sub = o
        .topic
        .as_mut()
        .unwrap()
        .subscriptions
        .iter_mut()
        .find(|s| s.subscription.filter_policy.is_some())
        .unwrap();
    sub.subscription.filter_policy = Some(json!({"anything": ["else"]}));
    let charts = charts(&single(orders_id(), check(d, o)));
    assert_eq!(charts[0].label("sub1"), Some("Lambda slack-notifier"));
    assert_eq!(charts[0].drifted, ids(&["sub1"]));
}

#[test]
fn flowchart_labels_drop_quotes_and_brackets_of_names() {
    let awkward = r#"a "quoted" [bracketed] {braced} <angled> | piped name"#;
    let chain = Chain {
        sources: vec![awkward.into(), "/b".into(), "/c".into(), "/d".into()],
        filtered_groups: 1,
        filters_drifted: false,
        stream: awkward.into(),
        stream_drifted: true,
        bucket: awkward.into(),
        bucket_drifted: false,
        transform: Some(awkward.into()),
        topic: Some(awkward.into()),
        subscribers: vec![ChainSubscriber {
            name: awkward.into(),
            drifted: true,
        }],
        canary_stopped_at: None,
    };
    let text = mermaid::flowchart(&chain);
    let chart = check_flowchart(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(chart.drifted, ids(&["stream", "sub0"]));
    assert_eq!(
        chart.label("sources"),
        Some(
            r#"log groups: a 'quoted'  bracketed   braced   angled    piped name, /b, /c and 1 more"#
        )
    );
    assert_eq!(
        chart.label("filters"),
        Some("subscription filters on 1 group")
    );
}

#[test]
fn flowchart_grammar_rejects_what_mermaid_would_misread() {
    let ok = "flowchart LR\n  a[\"A\"]\n  b[\"B\"]\n  a --> b\n  classDef drifted fill:#fff\n  class a,b drifted\n";
    assert_eq!(check_flowchart(ok).unwrap().drifted, ids(&["a", "b"]));
    for bad in [
        "graph TD\n  a[\"A\"]\n",
        "flowchart LR\n  a[\"say \"hi\"\"]\n",
        "flowchart LR\n  a[\"x [y]\"]\n",
        "flowchart LR\n  1a[\"A\"]\n",
        "flowchart LR\n  end[\"A\"]\n",
        "flowchart LR\n  a[\"A\"]\n  a[\"again\"]\n",
        "flowchart LR\n  a[\"A\"]\n  a --> b\n",
        "flowchart LR\n  a[\"A\"]\n  class a,b drifted\n",
        "flowchart LR\n  a[\"A\"]\n  a --- a\n",
    ] {
        assert!(check_flowchart(bad).is_err(), "accepted:\n{bad}");
    }
}

// ---- Markdown -------------------------------------------------------------------------------

#[test]
fn markdown_tables_have_as_many_cells_in_every_row_as_in_their_header() {
    let md = markdown::render(&fixed_report());
    let tables = markdown_tables(&md);
    // The summary, payments' items, audit's ignored items.
    assert_eq!(
        tables.iter().map(|t| t.len()).collect::<Vec<_>>(),
        [2 + 4, 2 + 5, 2 + 1]
    );
    for table in &tables {
        check_table(table).unwrap_or_else(|e| panic!("{e}\n{md}"));
    }
}

#[test]
fn markdown_escapes_pipes_in_cells() {
    let md = markdown::render(&fixed_report());
    let tables = markdown_tables(&md);
    let ignored = &tables[2];
    let cells = row_cells(ignored[2]);
    assert_eq!(cells.len(), 3, "{}", ignored[2]);
    assert!(
        cells[2].ends_with(r#"tuning \| until April)"#),
        "{}",
        cells[2]
    );
}

#[test]
fn markdown_escapes_html_in_plain_text_so_values_are_shown_not_read_as_tags() {
    let md = markdown::render(&fixed_report());
    let rule = row_cells(markdown_tables(&md)[2][2]).remove(2);
    assert_eq!(
        rule,
        r#"kind=DeliveryStream field=BufferingHints.IntervalInSeconds (Q4 load test &lt;OPS-1234> &amp; the SRE team's "black friday" tuning \| until April)"#
    );
    assert!(!md.contains("<OPS-1234>"), "{md}");
}

#[test]
fn markdown_keeps_values_in_code_spans_verbatim() {
    let pattern = r#"{ $.latency > 500 && $.path = "<root>" }"#;
    let d = desired_of(&orders_id(), &full_chain_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.log_groups.get_mut("/ecs/orders").unwrap()[0].pattern = pattern.into();
    let md = markdown::render(&single(orders_id(), check(d, o)));
    let row = markdown_tables(&md)[1][2];
    assert_eq!(row_cells(row)[3], format!("`{pattern}`"), "{md}");
}

#[test]
fn markdown_table_checker_splits_on_every_unescaped_pipe() {
    assert_eq!(row_cells(r"| a | `b \| c` | d |"), ["a", r"`b \| c`", "d"]);
    assert_eq!(row_cells("| a | `b | c` |"), ["a", "`b", "c`"]);
    assert!(check_table(&["| a | b |", "|---|---:|", "| x | y |"]).is_ok());
    assert!(check_table(&["| a | b |", "|---|---|", "| x | y | z |"]).is_err());
    assert!(check_table(&["| a | b |", "| x | y |"]).is_err());
}

#[test]
fn markdown_shows_an_error_instead_of_items_for_a_pipeline_that_could_not_be_checked() {
    let md = markdown::render(&fixed_report());
    let billing = md
        .split("### ")
        .find(|s| s.starts_with("`platform/billing`"))
        .unwrap();
    assert!(
        billing.contains(&format!("**Error:** {UNREACHABLE}")),
        "{billing}"
    );
    assert!(
        !billing.contains("```mermaid") && !billing.contains("| Resource |"),
        "{billing}"
    );
}

// ---- Text -------------------------------------------------------------------------------------

#[test]
fn text_without_colour_has_no_escape_sequences() {
    assert!(!text_of(&fixed_report()).contains('\x1b'));
}

#[test]
fn text_with_colour_paints_each_status() {
    let coloured = text::report(&fixed_report(), text::Style::new(true));
    for painted in [
        "\x1b[32min sync\x1b[0m",
        "\x1b[31;1mdrifted\x1b[0m",
        "\x1b[33;1merror\x1b[0m",
    ] {
        assert!(
            coloured.contains(painted),
            "{painted:?} missing:\n{coloured}"
        );
    }
}

fn full_chain_stopped_at(link: Option<&'static str>) -> Chain {
    Chain {
        sources: vec!["/ecs/".into()],
        filtered_groups: 2,
        filters_drifted: false,
        stream: "s".into(),
        stream_drifted: false,
        bucket: "b".into(),
        bucket_drifted: false,
        transform: Some("t".into()),
        topic: Some("topic".into()),
        subscribers: vec![ChainSubscriber {
            name: "es".into(),
            drifted: false,
        }],
        canary_stopped_at: link,
    }
}

#[test]
fn flowchart_marks_the_link_where_the_canary_stopped_and_styles_exactly_that_edge() {
    for (link, edge) in [
        ("subscription", ("filters", "stream")),
        ("firehose", ("stream", "bucket")),
        ("transform", ("bucket", "transform")),
    ] {
        let text = mermaid::flowchart(&full_chain_stopped_at(Some(link)));
        let chart = check_flowchart(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(
            chart.stopped,
            Some((edge.0.to_owned(), edge.1.to_owned())),
            "{text}"
        );
        assert!(text.contains("linkStyle"), "{text}");
    }
}

#[test]
fn flowchart_of_a_delivering_pipeline_marks_no_link() {
    let text = mermaid::flowchart(&full_chain_stopped_at(None));
    let chart = check_flowchart(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(chart.stopped, None);
    assert!(!text.contains("linkStyle"));
}
