//! What an operator sees from the cluster alone, on the real API server with kubectl: the binary
//! installed as `kubectl-pitagora` is a kubectl plugin (`kubectl pitagora status`), and
//! `kubectl get lp -o wide` shows delivery latency, the last delivery, the failing link and
//! Synced. No controller and no AWS: the status is written as the controller would write it.

use crate::common;

use common::kube::*;
use std::process::Command;

const STATUS: &str = r#"{"status": {
  "observedGeneration": 1,
  "stage": "New",
  "driftCount": 1,
  "drift": [{"kind": "DeliveryStream", "resource": "team-a-orders", "field": "BufferingHints.IntervalInSeconds",
             "desired": "300", "actual": "60", "action": "Update", "reason": "differs from the spec"}],
  "conditions": [
    {"type": "Ready", "status": "True", "reason": "InSync", "message": "", "lastTransitionTime": "2026-12-03T10:00:00Z"},
    {"type": "Synced", "status": "True", "reason": "InSync", "message": "", "lastTransitionTime": "2026-12-03T10:00:00Z"},
    {"type": "Delivering", "status": "False", "reason": "CanaryMissing", "message": "stopped at cloudwatch-logs → firehose", "lastTransitionTime": "2026-12-03T10:00:00Z"}
  ],
  "delivery": {
    "consecutiveSuccesses": 0,
    "consecutiveFailures": 3,
    "failingStage": "cloudwatch-logs → firehose",
    "lastDeliveredTime": "2026-12-03T09:00:00Z",
    "canary": {"id": "c-1", "sentAt": "2026-12-03T10:00:00Z", "lookedAt": "2026-12-03T10:10:00Z",
      "stages": [{"stage": "firehose → s3 raw/", "target": "raw", "state": "Missing",
                  "latencyMs": 61400, "deadline": "2026-12-03T10:07:00Z"}]}
  }
}}"#;

/// A pipeline with the status above, in a fresh namespace.
fn reported_pipeline() -> String {
    install();
    let ns = namespace("operating");
    let doc = pipeline(&ns, "orders", "sources:\n  logGroups: [/ecs/orders]\n");
    kubectl_ok(&["apply", "-f", "-"], Some(&doc));
    kubectl_ok(
        &[
            "patch",
            "lp",
            "orders",
            "-n",
            &ns,
            "--subresource=status",
            "--type=merge",
            "-p",
            STATUS,
        ],
        None,
    );
    ns
}

/// `kubectl pitagora ARGS…` with the binary on the PATH as `kubectl-pitagora`.
fn kubectl_plugin(args: &[&str]) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("pitagora-plugin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let link = dir.join("kubectl-pitagora");
    if !link.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_pitagora"), &link).unwrap();
    }
    let path = format!("{}:{}", dir.display(), std::env::var("PATH").unwrap());
    Command::new("kubectl")
        .arg("pitagora")
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .env("PATH", path)
        .output()
        .expect("kubectl runs")
}

#[test]
fn kubectl_pitagora_status_shows_stage_delivery_and_drift_from_the_cluster() {
    let ns = reported_pipeline();
    let o = kubectl_plugin(&["status", "-n", &ns]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let row: Vec<&str> = out
        .lines()
        .find(|l| l.contains("orders"))
        .unwrap_or_else(|| panic!("{out}"))
        .split_whitespace()
        .collect();
    assert_eq!(
        &row[..5],
        [ns.as_str(), "orders", "New", "True", "False"],
        "{out}"
    );
    assert!(out.contains("61s"), "latency: {out}");
    assert!(
        out.contains("delivery stops at cloudwatch-logs → firehose (3 canaries in a row)"),
        "{out}"
    );
    assert!(
        out.contains("drift DeliveryStream team-a-orders BufferingHints.IntervalInSeconds: want 300, found 60"),
        "{out}"
    );
}

#[test]
fn kubectl_pitagora_status_of_a_missing_pipeline_fails_naming_it() {
    let ns = reported_pipeline();
    let o = kubectl_plugin(&["status", "-n", &ns, "payments"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("\"payments\" not found"),
        "{o:?}"
    );
}

#[test]
fn kubectl_get_wide_shows_latency_last_delivery_failing_link_and_synced() {
    let ns = reported_pipeline();
    let out = kubectl_ok(&["get", "lp", "-n", &ns, "-o", "wide"], None);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    for column in ["LATENCY-MS", "LAST-DELIVERED", "FAILING-LINK", "SYNCED"] {
        assert!(header.contains(&column), "{out}");
    }
    assert!(out.contains("61400"), "{out}");
    assert!(out.contains("cloudwatch-logs"), "{out}");
    let narrow = kubectl_ok(&["get", "lp", "-n", &ns], None);
    assert!(!narrow.contains("LATENCY-MS"), "{narrow}");
}
