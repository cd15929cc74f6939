//! The alerts and the dashboard of manifests/monitoring/: the rules pass `promtool check rules`
//! and their unit tests (rules.test.yaml) pass `promtool test rules`; the PrometheusRule holds
//! the same groups as the plain rules file; the dashboard is a well-formed Grafana dashboard; and
//! every `pitagora_…` metric a rule or a panel queries is one the controller exports, as its
//! own registry names them.
//!
//! Needs `promtool` (Debian's `prometheus` package: scripts/tools.sh install).

use crate::common;

use common::markdown::headings;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use pitagora::aws::CallCounter;
use pitagora::aws::calls::{CallKey, Outcome};
use pitagora::controller::delivery_status::Settled;
use pitagora::controller::metrics::Metrics;
use pitagora::delivery::progress::CanaryRoute;
use pitagora::delivery::signals::{Signal, SignalKind};
use pitagora::names::PipelineId;
use pitagora::resources::ResourceKind;
use pitagora::spec::{DriftPolicy, Layout, LogPipelineStatus};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

const PROMTOOL: &str = "promtool";
const RULES: &str = "manifests/monitoring/rules.yaml";
const RULES_TEST: &str = "manifests/monitoring/rules.test.yaml";
const PROMETHEUS_RULE: &str = "manifests/monitoring/prometheusrule.yaml";
const DASHBOARD: &str = "manifests/monitoring/dashboard.json";
/// Where each alert's `runbook` annotation points: a section of this page.
const RUNBOOK: &str = "docs/operating.md";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_saphyr::from_str(&read(path)).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap_or_else(|e| panic!("{DASHBOARD}: {e}"))
}

/// Runs promtool with `args` in the repository; fails with instructions when it is missing.
fn promtool(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut command = Command::new(PROMTOOL);
    command.args(args).current_dir(root());
    command.stdin(std::process::Stdio::piped());
    command.stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => panic!(
            "this test needs promtool ({e}): run scripts/tools.sh install (Debian's prometheus package)"
        ),
    };
    {
        use std::io::Write;
        let mut input = child.stdin.take().expect("stdin");
        if let Some(text) = stdin {
            input
                .write_all(text.as_bytes())
                .expect("writing to promtool");
        }
    }
    let out = child.wait_with_output().expect("promtool runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every rule of the rules file.
fn rules() -> Vec<Value> {
    let rules = yaml(RULES);
    let groups = rules["groups"].as_array().expect("groups");
    groups
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules").clone())
        .collect()
}

/// Every panel of the dashboard, those inside rows too.
fn panels(dashboard: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        out.push(p.clone());
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner.iter().cloned());
        }
    }
    out
}

/// The `pitagora_…` metric names `expr` reads.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let re = regex::Regex::new(r"\bpitagora_[a-zA-Z0-9_]+").unwrap();
    re.find_iter(expr).map(|m| m.as_str().to_owned()).collect()
}

/// The controller's registry with a series in every family: the text names only families that
/// have one. A family added to the controller and read by a rule or a panel is filled here too.
fn metrics() -> Metrics {
    let calls = CallCounter::default();
    let m = Metrics::new(calls.clone());
    calls.count(CallKey {
        service: "Firehose".into(),
        operation: "DescribeDeliveryStream".into(),
        outcome: Outcome::Ok,
    });
    calls.count_throttle("Firehose", "DescribeDeliveryStream");
    m.reconciled(std::time::Duration::from_millis(120), Some("AwsError"));
    m.set_leader(true);
    m.set_shards_held(0);
    let sweep = pitagora::aws::budget::Sweep {
        time: std::time::Duration::from_secs(2000),
        bottleneck: Some("CloudWatchLogs.DescribeSubscriptionFilters".into()),
    };
    m.set_sweep(&sweep, 0.25);
    let id = PipelineId::new("team", "orders");
    let status = LogPipelineStatus {
        conditions: vec![Condition {
            type_: "Delivering".into(),
            status: "True".into(),
            reason: "CanaryDelivered".into(),
            message: String::new(),
            observed_generation: None,
            last_transition_time: Time(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
        }],
        ..Default::default()
    };
    m.conditions(&id, Some(&status));
    m.drift_checked(&id, DriftPolicy::Correct, true);
    m.drift("team", "orders", &[ResourceKind::Stack]);
    let signal = Signal {
        kind: SignalKind::DeliveryErrors,
        resource: "/ecs/orders".into(),
        value: 3.0,
        message: String::new(),
    };
    m.loss_signals("team", "orders", &[signal]);
    let settled = Settled {
        stage: "raw",
        outcome: "Delivered",
        latency_ms: Some(310_000),
    };
    m.canary("team", "orders", &settled);
    let route = CanaryRoute {
        log_group: "/pitagora/canary".into(),
        bucket: "logs".into(),
        raw_prefix: "raw/".into(),
        processed_prefix: None,
        layout: Layout::Flat,
        buffer_interval_ms: 300_000,
        interval_ms: 300_000,
        margin_ms: 120_000,
        paths: Vec::new(),
    };
    m.canary_deadlines(&id, Some(&route));
    m
}

/// The names a scrape of the controller's registry has samples under: each family its `# TYPE`
/// line names, with the suffixes its type adds.
fn exported_names() -> BTreeSet<String> {
    let text = metrics().render();
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let (name, kind) = rest.split_once(' ').expect("# TYPE name type");
        let suffixes: &[&str] = match kind {
            "counter" => &["_total", "_created"],
            "histogram" => &["_bucket", "_sum", "_count", "_created"],
            "gaugehistogram" => &["_bucket", "_gsum", "_gcount"],
            "summary" => &["", "_sum", "_count", "_created"],
            "info" => &["_info"],
            _ => &[""],
        };
        names.extend(suffixes.iter().map(|s| format!("{name}{s}")));
    }
    assert!(names.len() > 10, "too few families in:\n{text}");
    names
}

#[test]
fn the_rules_pass_promtool_check_rules() {
    let (ok, out) = promtool(&["check", "rules", RULES], None);
    assert!(ok, "promtool check rules {RULES}:\n{out}");
}

#[test]
fn the_rules_pass_their_unit_tests() {
    let (ok, out) = promtool(&["test", "rules", RULES_TEST], None);
    assert!(ok, "promtool test rules {RULES_TEST}:\n{out}");
}

#[test]
fn the_prometheus_rule_holds_the_groups_of_the_rules_file() {
    let rule = yaml(PROMETHEUS_RULE);
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(rule["kind"], "PrometheusRule");
    assert!(rule["metadata"]["name"].is_string(), "metadata.name");
    assert_eq!(
        rule["spec"]["groups"],
        yaml(RULES)["groups"],
        "{PROMETHEUS_RULE} and {RULES} must hold the same groups"
    );
}

#[test]
fn every_alert_has_a_severity_a_summary_a_description_and_a_runbook() {
    let rules = rules();
    assert_eq!(
        rules.len(),
        7,
        "the alerts docs/operating.md's table lists, one rule each"
    );
    let sections = headings(&read(RUNBOOK));
    for rule in &rules {
        let name = rule["alert"].as_str().expect("alerting rules only");
        assert!(
            ["critical", "warning"].contains(&rule["labels"]["severity"].as_str().unwrap_or("")),
            "{name}: severity"
        );
        for key in ["summary", "description"] {
            let text = rule["annotations"][key].as_str().unwrap_or("");
            assert!(
                text.contains("$labels") || name == "PitagoraNoLeader",
                "{name}: {key}"
            );
        }
        let runbook = rule["annotations"]["runbook"].as_str().unwrap_or("");
        let anchor = runbook.strip_prefix(&format!("{RUNBOOK}#"));
        assert!(
            anchor.is_some_and(|a| sections.contains(a)),
            "{name}: runbook {runbook:?} is not a section of {RUNBOOK}"
        );
    }
}

#[test]
fn the_dashboard_is_a_grafana_dashboard_of_queried_panels() {
    let d = dashboard();
    assert!(
        d["schemaVersion"].as_u64().unwrap_or(0) >= 36,
        "schemaVersion"
    );
    assert!(d["uid"].is_string() && d["title"].is_string());
    let variables = d["templating"]["list"].as_array().expect("templating");
    let variable = |name: &str| variables.iter().find(|v| v["name"] == name);
    let datasource = variable("datasource").expect("a datasource variable");
    assert_eq!(datasource["type"], "datasource");
    assert_eq!(datasource["query"], "prometheus");
    for name in ["namespace", "pipeline"] {
        let v = variable(name).unwrap_or_else(|| panic!("a {name} variable"));
        let query = v["definition"].as_str().unwrap_or("");
        assert!(query.starts_with("label_values("), "{name}: {query}");
    }
    let mut ids = BTreeSet::new();
    for p in panels(&d).iter().filter(|p| p["type"] != "row") {
        let title = p["title"].as_str().expect("a title");
        assert!(ids.insert(p["id"].as_u64().expect("an id")), "{title}: id");
        assert_eq!(p["datasource"]["uid"], "${datasource}", "{title}");
        let targets = p["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no targets");
        for t in targets {
            assert!(
                !t["expr"].as_str().unwrap_or("").trim().is_empty(),
                "{title}"
            );
            assert!(t["refId"].is_string(), "{title}: refId");
        }
        let grid = &p["gridPos"];
        assert!(
            grid["w"].as_u64().is_some_and(|w| w <= 24),
            "{title}: width"
        );
    }
    assert!(ids.len() >= 8, "too few panels");
}

#[test]
fn every_metric_a_rule_or_a_panel_reads_is_one_the_controller_exports() {
    let exported = exported_names();
    let mut queries: Vec<(String, String)> = rules()
        .iter()
        .map(|r| {
            (
                r["alert"].as_str().unwrap().to_owned(),
                r["expr"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let d = dashboard();
    for p in panels(&d) {
        for t in p["targets"].as_array().into_iter().flatten() {
            queries.push((
                p["title"].to_string(),
                t["expr"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    for v in d["templating"]["list"].as_array().unwrap() {
        if let Some(q) = v["definition"].as_str() {
            queries.push((v["name"].to_string(), q.to_owned()));
        }
    }
    let mut read = BTreeSet::new();
    for (whose, expr) in &queries {
        for name in metric_names(expr) {
            assert!(
                exported.contains(&name),
                "{whose} reads {name}, which the controller does not export; it exports {exported:#?}"
            );
            read.insert(name);
        }
    }
    // The figures the alerts are built on are all read somewhere.
    for name in [
        "pitagora_pipeline_condition",
        "pitagora_drift_checks",
        "pitagora_aws_throttles_total",
        "pitagora_canary_deadline_seconds",
    ] {
        assert!(read.contains(name), "nothing reads {name}");
    }
}

/// `promtool check metrics` reads the classic text format, where a counter's samples are named
/// as its family; in OpenMetrics (what the controller serves) the family `x` has samples `x_total`,
/// so promtool finds no help for them. Only that is forgiven.
#[test]
fn the_exported_text_passes_promtool_check_metrics() {
    let text = metrics().render();
    let (_, out) = promtool(&["check", "metrics"], Some(&text));
    let counters: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let problems: Vec<&str> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter(|l| {
            let counter = l
                .strip_suffix(" no help text")
                .and_then(|n| n.strip_suffix("_total"));
            !counter.is_some_and(|c| counters.contains(c))
        })
        .collect();
    assert!(
        problems.is_empty(),
        "promtool check metrics:\n{out}\n--- the text:\n{text}"
    );
}
