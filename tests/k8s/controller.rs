//! The controller end to end: a real Kubernetes API server (kubectl as a user would), moto for
//! AWS, and `pitagora run`'s controller in-process with the ServiceAccount's RBAC permissions.

use crate::common;

use common::kube::*;
use common::moto::*;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

const MINIMAL: &str = "sources:\n  logGroups: [/ecs/orders]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_converges_aws_and_reports_ready() {
    install();
    let ns = namespace("ready");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", MINIMAL)),
    );
    until(LONG, "Ready=True", || async {
        (condition(&ns, "orders", "Ready") == "True").then_some(())
    })
    .await;
    let n = names(&m, &ns, "orders");
    assert_eq!(stream_buffer_size(&m.c, &n.stream).await, Some(5));
    let table = kubectl_ok(&["get", "lp", "-n", &ns], None);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "STAGE", "READY", "DELIVERING", "DRIFT", "AGE"]
    );
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..5], ["orders", "New", "True", "True", "0"]);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_spec_is_applied_and_its_generation_observed() {
    install();
    let ns = namespace("update");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", MINIMAL)),
    );
    until(LONG, "Ready=True", || async {
        (condition(&ns, "orders", "Ready") == "True").then_some(())
    })
    .await;
    let changed = format!("{MINIMAL}delivery:\n  buffering:\n    sizeMiB: 64\n");
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", &changed)),
    );
    until(LONG, "observedGeneration 2", || async {
        (jsonpath(&ns, "orders", "{.status.observedGeneration}") == "2").then_some(())
    })
    .await;
    let n = names(&m, &ns, "orders");
    assert_eq!(stream_buffer_size(&m.c, &n.stream).await, Some(64));
    assert_eq!(condition(&ns, "orders", "Ready"), "True");
    assert!(
        events(&ns, "Updated")
            .iter()
            .any(|e| e.contains("BufferingHints.SizeInMBs")),
        "{:?}",
        events(&ns, "Updated")
    );
    ctl.stop().await;
}

// ---- Drift, invalid specs, deletion, restarts, leader election, RBAC and metrics ----

use aws_sdk_firehose::types::BufferingHints;
use k8s_openapi::jiff::Timestamp;

/// `MINIMAL` with `drift:` settings (`policy`, `checkIntervalSeconds`).
fn with_drift(policy: &str, interval: u32) -> String {
    format!("{MINIMAL}drift:\n  policy: {policy}\n  checkIntervalSeconds: {interval}\n")
}

/// Someone changes the stream's buffering size through the AWS API (a complete
/// `UpdateDestination`, with a call counter that is not pitagora's); the interval stays 300 s.
async fn change_buffer_size_out_of_band(m: &Moto, stream: &str, size: i32) {
    update_stream_destination(&m.outsider().await, stream, |u| {
        u.buffering_hints(
            BufferingHints::builder()
                .size_in_mbs(size)
                .interval_in_seconds(300)
                .build(),
        )
    })
    .await;
    assert_eq!(stream_buffer_size(&m.c, stream).await, Some(size));
}

/// Applies `spec` as `orders` in `ns` and waits until it is `Ready=True`.
async fn apply_ready(ns: &str, spec: &str) {
    kubectl_ok(&["apply", "-f", "-"], Some(&pipeline(ns, "orders", spec)));
    until(LONG, "Ready=True", || async {
        (condition(ns, "orders", "Ready") == "True").then_some(())
    })
    .await;
}

fn timestamp(text: &str) -> Timestamp {
    text.parse()
        .unwrap_or_else(|e| panic!("{text:?} is a timestamp: {e}"))
}

/// The names of the account's stacks (not deleted), sorted.
async fn stack_names(m: &Moto) -> Vec<String> {
    let out = m.c.cfn.describe_stacks().send().await.unwrap();
    let mut names: Vec<String> = out
        .stacks()
        .iter()
        .filter(|s| s.stack_status().map(|s| s.as_str()) != Some("DELETE_COMPLETE"))
        .filter_map(|s| s.stack_name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// The names of the account's delivery streams, sorted.
async fn stream_names(m: &Moto) -> Vec<String> {
    let out = m.c.firehose.list_delivery_streams().send().await.unwrap();
    let mut names = out.delivery_stream_names().to_vec();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_band_drift_is_corrected_at_the_check_interval_without_any_trigger() {
    install();
    let ns = namespace("interval");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    apply_ready(&ns, &with_drift("Correct", 30)).await;
    let first_check = timestamp(&jsonpath(&ns, "orders", "{.status.lastCheckTime}"));
    let n = names(&m, &ns, "orders");

    change_buffer_size_out_of_band(&m, &n.stream, 64).await;
    // The interval (30 s, +10 % jitter) from the last check, plus a margin.
    until(
        Duration::from_secs(45),
        "the buffering size back at 5 MiB",
        || async { (stream_buffer_size(&m.c, &n.stream).await == Some(5)).then_some(()) },
    )
    .await;

    // Nothing triggered it: no spec change, no requested check.
    assert_eq!(jsonpath(&ns, "orders", "{.metadata.generation}"), "1");
    assert_eq!(
        jsonpath(&ns, "orders", "{.status.lastHandledReconcileAt}"),
        ""
    );
    let corrected = until(LONG, "a DriftCorrected event", || async {
        let notes = events(&ns, "DriftCorrected");
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(
        corrected
            .iter()
            .any(|e| e.contains(&n.stream) && e.contains("BufferingHints.SizeInMBs")),
        "{corrected:?}"
    );
    // It was the interval's check, not a check loop: at least ~30 s (less the jitter and the
    // status' whole-second precision) after the previous one.
    let second_check = timestamp(&jsonpath(&ns, "orders", "{.status.lastCheckTime}"));
    let between = second_check.duration_since(first_check).as_secs();
    assert!((25..=45).contains(&between), "checks {between} s apart");
    assert_eq!(condition(&ns, "orders", "Ready"), "True");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconcile_requested_at_annotation_triggers_an_immediate_check() {
    install();
    let ns = namespace("requested");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    apply_ready(&ns, &with_drift("Correct", 3600)).await;
    let n = names(&m, &ns, "orders");
    change_buffer_size_out_of_band(&m, &n.stream, 64).await;

    let requested = Timestamp::now().to_string();
    request_reconcile(&ns, "orders", &requested);
    until(
        Duration::from_secs(10),
        "the buffering size back at 5 MiB",
        || async { (stream_buffer_size(&m.c, &n.stream).await == Some(5)).then_some(()) },
    )
    .await;
    until(LONG, "lastHandledReconcileAt", || async {
        let handled = jsonpath(&ns, "orders", "{.status.lastHandledReconcileAt}");
        (!handled.is_empty()).then_some(())
    })
    .await;
    assert_eq!(
        jsonpath(&ns, "orders", "{.status.lastHandledReconcileAt}"),
        requested
    );
    assert!(
        events(&ns, "DriftCorrected")
            .iter()
            .any(|e| e.contains("BufferingHints.SizeInMBs")),
        "{:?}",
        events(&ns, "DriftCorrected")
    );
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_policy_reports_drift_in_status_and_an_event_and_writes_nothing_but_canaries() {
    install();
    let ns = namespace("report");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    apply_ready(&ns, &with_drift("Correct", 3600)).await;
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", &with_drift("Report", 3600))),
    );
    until(LONG, "observedGeneration 2, in sync", || async {
        (jsonpath(&ns, "orders", "{.status.observedGeneration}") == "2"
            && condition(&ns, "orders", "Ready") == "True")
            .then_some(())
    })
    .await;
    let n = names(&m, &ns, "orders");

    let before = m.calls();
    change_buffer_size_out_of_band(&m, &n.stream, 64).await;
    let requested = Timestamp::now().to_string();
    request_reconcile(&ns, "orders", &requested);
    until(LONG, "Drifted=True after the requested check", || async {
        (jsonpath(&ns, "orders", "{.status.lastHandledReconcileAt}") == requested
            && condition(&ns, "orders", "Drifted") == "True")
            .then_some(())
    })
    .await;

    let count: i64 = jsonpath(&ns, "orders", "{.status.driftCount}")
        .parse()
        .unwrap();
    assert!(count > 0, "driftCount {count}");
    let fields = jsonpath(&ns, "orders", "{.status.drift[*].field}");
    assert!(fields.contains("BufferingHints.SizeInMBs"), "{fields}");
    let detected = until(LONG, "a DriftDetected event", || async {
        let notes = events(&ns, "DriftDetected");
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(
        detected
            .iter()
            .any(|e| e.contains("BufferingHints.SizeInMBs")),
        "{detected:?}"
    );
    // The requested check sent a canary (verification's one write, made whatever the policy);
    // nothing else was written.
    assert_eq!(
        m.writes_since(&before),
        ops(&[("CloudWatchLogs.PutLogEvents", 1)]),
        "report-only pipeline wrote to AWS"
    );
    assert_eq!(stream_buffer_size(&m.c, &n.stream).await, Some(64));
    assert!(events(&ns, "DriftCorrected").is_empty());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_apply_of_a_spec_the_crd_schema_rejects_fails_naming_the_field() {
    install();
    let ns = namespace("schema");
    for (spec, path) in [
        (
            format!("{MINIMAL}delivery:\n  buffering:\n    sizeMiB: 500\n"),
            "spec.delivery.buffering.sizeMiB",
        ),
        (
            format!("{MINIMAL}delivery:\n  recordFormat: JSON\n"),
            "spec.delivery.recordFormat",
        ),
    ] {
        let out = kubectl(&["apply", "-f", "-"], Some(&pipeline(&ns, "orders", &spec)));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{path}: kubectl apply succeeded");
        assert!(stderr.contains(path), "{path}: {stderr}");
        assert!(!pipeline_exists(&ns, "orders"), "{path}: the object exists");
    }
    assert_eq!(
        kubectl_ok(&["get", "lp", "-n", &ns, "-o", "name"], None),
        ""
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_semantically_invalid_spec_is_reported_as_invalid_spec_without_any_aws_call() {
    install();
    let ns = namespace("invalid");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let before = m.calls();
    let ctl = start(&m, settings(&ns, None)).await;
    // `/aws/` matches the pipeline's own error log group /aws/kinesisfirehose/<stream>.
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(
            &ns,
            "orders",
            "sources:\n  logGroupPrefixes: [/aws/]\n",
        )),
    );
    until(LONG, "Ready=False with reason InvalidSpec", || async {
        (condition(&ns, "orders", "Ready") == "False"
            && condition_field(&ns, "orders", "Ready", "reason") == "InvalidSpec")
            .then_some(())
    })
    .await;
    let message = condition_field(&ns, "orders", "Ready", "message");
    assert!(
        message.contains("spec.sources.logGroupPrefixes"),
        "{message}"
    );
    let invalid = until(LONG, "an InvalidSpec event", || async {
        let notes = events(&ns, "InvalidSpec");
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(
        invalid
            .iter()
            .any(|e| e.contains("spec.sources.logGroupPrefixes")),
        "{invalid:?}"
    );
    let calls = m.calls().since(&before);
    assert_eq!(calls.writes(), 0, "{calls:?}");
    assert_eq!(calls.total(), 0, "{calls:?}");
    assert_eq!(stream_names(&m).await, Vec::<String>::new());
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_converged_pipeline_changed_to_an_invalid_spec_keeps_its_aws_resources_untouched() {
    install();
    let ns = namespace("invalid-change");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    apply_ready(&ns, MINIMAL).await;
    let n = names(&m, &ns, "orders");
    let writes = m.writes();

    // A valid change (the buffering) together with an invalid one (the recursive prefix).
    let invalid = "sources:\n  logGroups: [/ecs/orders]\n  logGroupPrefixes: [/aws/]\n\
                   delivery:\n  buffering:\n    sizeMiB: 64\n";
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", invalid)),
    );
    until(LONG, "generation 2 observed as InvalidSpec", || async {
        (jsonpath(&ns, "orders", "{.status.observedGeneration}") == "2"
            && condition_field(&ns, "orders", "Ready", "reason") == "InvalidSpec")
            .then_some(())
    })
    .await;
    assert_eq!(condition(&ns, "orders", "Ready"), "False");
    assert_eq!(m.writes(), writes, "an invalid spec was written to AWS");
    assert_eq!(stream_buffer_size(&m.c, &n.stream).await, Some(5));
    assert_eq!(filter_names(&m.c, "/ecs/orders").await, [n.filter.as_str()]);
    assert!(stack_exists(&m.c, &n.stack).await);
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_delete_removes_the_aws_resources_then_the_finalizer_and_retains_the_bucket() {
    install();
    let ns = namespace("delete");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    apply_ready(&ns, MINIMAL).await;
    let n = names(&m, &ns, "orders");
    assert_eq!(
        jsonpath(&ns, "orders", "{.metadata.finalizers}"),
        "[\"pitagora.dev/cleanup\"]"
    );
    assert!(stream_exists(&m.c, &n.stream).await);
    assert!(stack_exists(&m.c, &n.stack).await);
    assert_eq!(filter_names(&m.c, "/ecs/orders").await, [n.filter.as_str()]);
    assert!(bucket_exists(&m.c, &n.bucket).await);

    kubectl_ok(&["delete", "lp", "-n", &ns, "orders", "--wait=false"], None);
    until(LONG, "the LogPipeline gone", || async {
        (!pipeline_exists(&ns, "orders")).then_some(())
    })
    .await;
    assert!(!stream_exists(&m.c, &n.stream).await, "stream left");
    assert_eq!(
        filter_names(&m.c, "/ecs/orders").await,
        Vec::<String>::new()
    );
    assert!(!stack_exists(&m.c, &n.stack).await, "stack left");
    assert!(bucket_exists(&m.c, &n.bucket).await, "bucket not retained");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_controller_killed_mid_way_is_succeeded_by_one_that_converges_without_duplicates() {
    install();
    let ns = namespace("restart");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let n = names(&m, &ns, "orders");
    let first = start(&m, settings(&ns, None)).await;
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", MINIMAL)),
    );
    until(LONG, "the stack", || async {
        stack_exists(&m.c, &n.stack).await.then_some(())
    })
    .await;
    first.kill();
    // Mid-way: the first controller never got as far as its first status write.
    assert_eq!(jsonpath(&ns, "orders", "{.status.resources}"), "");

    let second = start(&m, settings(&ns, None)).await;
    until(LONG, "Ready=True", || async {
        (condition(&ns, "orders", "Ready") == "True").then_some(())
    })
    .await;
    assert_eq!(stack_names(&m).await, [n.stack.as_str()]);
    assert_eq!(stream_names(&m).await, [n.stream.as_str()]);
    assert_eq!(filter_names(&m.c, "/ecs/orders").await, [n.filter.as_str()]);
    assert_eq!(stream_buffer_size(&m.c, &n.stream).await, Some(5));
    second.stop().await;
}

/// Waits until `/readyz` of `ctl` answers 200.
async fn until_ready(ctl: &Running, what: &str) {
    until(LONG, what, || async {
        (ctl.get("/readyz").await.0 == 200).then_some(())
    })
    .await;
}

/// The value of an unlabelled sample of `ctl`'s `/metrics`.
async fn scrape(ctl: &Running, series: &str) -> Option<f64> {
    let (status, body) = ctl.get("/metrics").await;
    assert_eq!(status, 200, "{body}");
    metric(&body, series)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_replicas_exactly_one_leads_and_the_standby_never_reconciles() {
    install();
    let ns = namespace("leader");
    let lease = format!("pitagora-{ns}");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let a = start(&m, settings(&ns, Some((&lease, "replica-a")))).await;
    let b = start(&m, settings(&ns, Some((&lease, "replica-b")))).await;
    let holder = until(LONG, "a lease holder", || async {
        let h = lease_holder(&lease);
        (!h.is_empty()).then_some(h)
    })
    .await;
    let (leader, standby) = match holder.as_str() {
        "replica-a" => (&a, &b),
        "replica-b" => (&b, &a),
        other => panic!("unexpected holder {other:?}"),
    };
    until_ready(leader, "the leader ready").await;
    until_ready(standby, "the standby ready").await;

    apply_ready(&ns, MINIMAL).await;
    assert_eq!(lease_holder(&lease), holder, "the lease changed hands");
    assert_eq!(scrape(leader, "pitagora_leader").await, Some(1.0));
    assert!(scrape(leader, "pitagora_reconciles_total").await >= Some(1.0));
    assert_eq!(scrape(standby, "pitagora_leader").await, Some(0.0));
    assert_eq!(
        scrape(standby, "pitagora_reconciles_total").await,
        Some(0.0)
    );
    assert_eq!(standby.get("/readyz").await.0, 200);
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_leader_dies_the_standby_takes_over_within_the_lease_duration() {
    install();
    let ns = namespace("takeover");
    let lease = format!("pitagora-{ns}");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let a = start(&m, settings(&ns, Some((&lease, "replica-a")))).await;
    until(LONG, "replica-a leading", || async {
        (lease_holder(&lease) == "replica-a").then_some(())
    })
    .await;
    let b = start(&m, settings(&ns, Some((&lease, "replica-b")))).await;
    until_ready(&b, "the standby ready").await;
    apply_ready(&ns, MINIMAL).await;
    assert_eq!(scrape(&b, "pitagora_reconciles_total").await, Some(0.0));

    a.kill();
    // The lease lasts 3 s (settings); the standby tries every second; 4 s of margin.
    until(
        Duration::from_secs(3 + 4),
        "replica-b holding the lease",
        || async { (lease_holder(&lease) == "replica-b").then_some(()) },
    )
    .await;
    until(LONG, "replica-b's leader gauge", || async {
        (scrape(&b, "pitagora_leader").await == Some(1.0)).then_some(())
    })
    .await;

    // The new leader acts on a change.
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(
            &ns,
            "orders",
            &format!("{MINIMAL}delivery:\n  buffering:\n    sizeMiB: 64\n"),
        )),
    );
    let n = names(&m, &ns, "orders");
    until(LONG, "generation 2 applied by replica-b", || async {
        (jsonpath(&ns, "orders", "{.status.observedGeneration}") == "2"
            && stream_buffer_size(&m.c, &n.stream).await == Some(64))
        .then_some(())
    })
    .await;
    assert!(scrape(&b, "pitagora_reconciles_total").await >= Some(1.0));
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_stopped_gracefully_releases_the_lease_at_once() {
    install();
    let ns = namespace("release");
    let lease = format!("pitagora-{ns}");
    let m = Moto::new().await;
    let a = start(&m, settings(&ns, Some((&lease, "replica-a")))).await;
    until(LONG, "replica-a leading", || async {
        (lease_holder(&lease) == "replica-a").then_some(())
    })
    .await;
    until_ready(&a, "the leader ready").await;
    let b = start(&m, settings(&ns, Some((&lease, "replica-b")))).await;
    until_ready(&b, "the standby ready").await;

    a.stop().await;
    let holder = lease_holder(&lease);
    assert!(
        holder.is_empty() || holder == "replica-b",
        "still held by {holder:?} after a graceful stop"
    );
    // Released: the standby's next attempt (every third of the 3 s lease) takes it.
    until(
        Duration::from_secs(3),
        "replica-b holding the lease",
        || async { (lease_holder(&lease) == "replica-b").then_some(()) },
    )
    .await;
    b.stop().await;
    assert_eq!(lease_holder(&lease), "", "replica-b kept the lease");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_identity_is_not_admin_and_may_not_read_secrets_or_config_maps() {
    use k8s_openapi::api::core::v1::{ConfigMap, Secret};
    use kube::Api;
    use kube::api::ListParams;
    install();
    let ns = namespace("rbac");
    let client = controller_client().await;
    let status = |r: Result<(), kube::Error>| match r {
        Ok(()) => 200,
        Err(kube::Error::Api(s)) => s.code,
        Err(e) => panic!("{e}"),
    };
    let lp = ListParams::default();
    for (what, code) in [
        (
            "secrets, all namespaces",
            status(Api::<Secret>::all(client.clone()).list(&lp).await.map(drop)),
        ),
        (
            "secrets in the test namespace",
            status(
                Api::<Secret>::namespaced(client.clone(), &ns)
                    .list(&lp)
                    .await
                    .map(drop),
            ),
        ),
        (
            "secrets in pitagora-system",
            status(
                Api::<Secret>::namespaced(client.clone(), "pitagora-system")
                    .list(&lp)
                    .await
                    .map(drop),
            ),
        ),
        (
            "config maps, all namespaces",
            status(
                Api::<ConfigMap>::all(client.clone())
                    .list(&lp)
                    .await
                    .map(drop),
            ),
        ),
        (
            "config maps in the test namespace",
            status(
                Api::<ConfigMap>::namespaced(client.clone(), &ns)
                    .list(&lp)
                    .await
                    .map(drop),
            ),
        ),
    ] {
        assert_eq!(code, 403, "listing {what}");
    }
    // The same identity does what the controller needs.
    let pipelines = Api::<pitagora::spec::LogPipeline>::all(client.clone())
        .list(&lp)
        .await
        .map(drop);
    assert_eq!(status(pipelines), 200, "listing LogPipelines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_answers_and_metrics_expose_reconciles_durations_aws_calls_and_drift() {
    install();
    let ns = namespace("metrics");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    // The endpoint is bound as the controller starts, before it has reconciled anything.
    until(LONG, "/healthz 200", || async {
        (ctl.get("/healthz").await.0 == 200).then_some(())
    })
    .await;
    assert_eq!(
        metric(&ctl.get("/metrics").await.1, "pitagora_reconciles_total"),
        Some(0.0)
    );
    apply_ready(&ns, MINIMAL).await;
    // A report-only pipeline with nothing in AWS: every resource is drift, none is created.
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "audit", &with_drift("Report", 3600))),
    );
    until(LONG, "audit Drifted=True", || async {
        (condition(&ns, "audit", "Drifted") == "True").then_some(())
    })
    .await;
    let drift: f64 = jsonpath(&ns, "audit", "{.status.driftCount}")
        .parse()
        .unwrap();

    let (status, body) = ctl.get("/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok"));
    let (status, body) = ctl.get("/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metric(&body, "pitagora_reconciles_total") >= Some(2.0),
        "{body}"
    );
    assert!(
        metric(&body, "pitagora_reconcile_duration_seconds_count") >= Some(2.0),
        "{body}"
    );
    assert!(
        metric(&body, "pitagora_reconcile_duration_seconds_sum") > Some(0.0),
        "{body}"
    );
    let firehose = metrics_with_prefix(&body, "pitagora_aws_calls_total{service=\"Firehose\",");
    assert!(
        firehose.iter().any(|(s, n)| s
            .contains("operation=\"CreateDeliveryStream\",outcome=\"ok\"")
            && *n >= 1.0),
        "{body}"
    );
    let audit = metrics_with_prefix(
        &body,
        &format!("pitagora_drift_items{{namespace=\"{ns}\",name=\"audit\","),
    );
    assert!(
        audit
            .iter()
            .any(|(s, n)| s.contains("kind=\"DeliveryStream\"") && *n == 1.0),
        "{body}"
    );
    assert_eq!(audit.iter().map(|(_, n)| n).sum::<f64>(), drift, "{body}");
    let orders = metrics_with_prefix(
        &body,
        &format!("pitagora_drift_items{{namespace=\"{ns}\",name=\"orders\","),
    );
    assert_eq!(orders, [], "in sync, no drift items");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_deleted_after_a_crash_before_its_first_status_still_has_its_aws_resources_removed()
 {
    install();
    let ns = namespace("crash-delete");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let n = names(&m, &ns, "orders");
    let first = start(&m, settings(&ns, None)).await;
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", MINIMAL)),
    );
    until(LONG, "the stack", || async {
        stack_exists(&m.c, &n.stack).await.then_some(())
    })
    .await;
    first.kill();
    // The crash came before the first status: nothing in the object says what exists in AWS.
    assert_eq!(jsonpath(&ns, "orders", "{.status.resources}"), "");
    assert_eq!(
        jsonpath(&ns, "orders", "{.metadata.finalizers}"),
        "[\"pitagora.dev/cleanup\"]"
    );

    kubectl_ok(&["delete", "lp", "-n", &ns, "orders", "--wait=false"], None);
    let second = start(&m, settings(&ns, None)).await;
    until(LONG, "the LogPipeline gone", || async {
        (!pipeline_exists(&ns, "orders")).then_some(())
    })
    .await;
    assert_eq!(stack_names(&m).await, Vec::<String>::new(), "stack left");
    assert_eq!(stream_names(&m).await, Vec::<String>::new(), "stream left");
    assert_eq!(
        filter_names(&m.c, "/ecs/orders").await,
        Vec::<String>::new()
    );
    assert!(bucket_exists(&m.c, &n.bucket).await, "bucket not retained");
    second.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_that_was_only_ever_invalid_is_deleted_without_any_aws_call() {
    install();
    let ns = namespace("invalid-delete");
    let m = Moto::new().await;
    let before = m.calls();
    let ctl = start(&m, settings(&ns, None)).await;
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(
            &ns,
            "orders",
            "sources:\n  logGroupPrefixes: [/aws/]\n",
        )),
    );
    until(LONG, "Ready=False with reason InvalidSpec", || async {
        (condition_field(&ns, "orders", "Ready", "reason") == "InvalidSpec").then_some(())
    })
    .await;
    kubectl_ok(&["delete", "lp", "-n", &ns, "orders", "--wait=false"], None);
    until(LONG, "the LogPipeline gone", || async {
        (!pipeline_exists(&ns, "orders")).then_some(())
    })
    .await;
    let calls = m.calls().since(&before);
    assert_eq!(calls.total(), 0, "{calls:?}");
    ctl.stop().await;
}

/// A minimal pipeline whose stream does not buffer, with `policy`.
fn unbuffered(policy: &str) -> String {
    format!(
        "{MINIMAL}delivery:\n  buffering:\n    intervalSeconds: 0\ndrift:\n  policy: {policy}\n  checkIntervalSeconds: 3600\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_stopped_at_the_subscription_sets_delivering_false_and_its_return_true() {
    install();
    let ns = namespace("delivering");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", &unbuffered("Correct"))),
    );
    until(LONG, "Delivering=True", || async {
        (condition(&ns, "orders", "Delivering") == "True").then_some(())
    })
    .await;
    let latency = jsonpath(
        &ns,
        "orders",
        "{.status.delivery.canary.stages[0].latencyMs}",
    );
    assert!(latency.parse::<i64>().is_ok(), "latencyMs {latency:?}");

    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", &unbuffered("Report"))),
    );
    until(LONG, "observedGeneration 2", || async {
        (jsonpath(&ns, "orders", "{.status.observedGeneration}") == "2").then_some(())
    })
    .await;
    let canary_group = remove_canary_filter(&m, &ns, "orders").await;
    request_reconcile(&ns, "orders", &Timestamp::now().to_string());
    until(LONG, "Delivering=False", || async {
        (condition(&ns, "orders", "Delivering") == "False").then_some(())
    })
    .await;
    let message = condition_field(&ns, "orders", "Delivering", "message");
    assert!(
        message.contains("stopped at cloudwatch-logs → firehose"),
        "{message}"
    );
    assert_eq!(
        jsonpath(&ns, "orders", "{.status.delivery.failingStage}"),
        "cloudwatch-logs → firehose"
    );
    let failed = until(LONG, "a DeliveryFailed event", || async {
        let notes = events(&ns, "DeliveryFailed");
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(failed[0].contains(&canary_group), "{failed:?}");

    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", &unbuffered("Correct"))),
    );
    until(LONG, "the filter restored", || async {
        (jsonpath(&ns, "orders", "{.status.observedGeneration}") == "3"
            && condition(&ns, "orders", "Ready") == "True")
            .then_some(())
    })
    .await;
    request_reconcile(&ns, "orders", &Timestamp::now().to_string());
    until(LONG, "Delivering=True again", || async {
        (condition(&ns, "orders", "Delivering") == "True").then_some(())
    })
    .await;
    until(LONG, "a DeliveryRestored event", || async {
        (!events(&ns, "DeliveryRestored").is_empty()).then_some(())
    })
    .await;
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_firehose_could_not_process_are_a_loss_signal_in_status_and_an_event() {
    install();
    let ns = namespace("loss");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let ctl = start(&m, settings(&ns, None)).await;
    apply_ready(&ns, &with_drift("Correct", 3600)).await;
    let n = names(&m, &ns, "orders");
    put_object(
        &m.outsider().await,
        &n.bucket,
        "errors/processing-failed/2026/12/02/17/failed-1",
        "{}",
    )
    .await;
    request_reconcile(&ns, "orders", &Timestamp::now().to_string());
    let kinds = until(LONG, "a loss signal in status", || async {
        let kinds = jsonpath(&ns, "orders", "{.status.delivery.lossSignals[*].kind}");
        (!kinds.is_empty()).then_some(kinds)
    })
    .await;
    assert_eq!(kinds, "ErrorObjects");
    let resource = jsonpath(&ns, "orders", "{.status.delivery.lossSignals[0].resource}");
    assert!(resource.contains("processing-failed"), "{resource}");
    let detected = until(LONG, "a LossDetected event", || async {
        let notes = events(&ns, "LossDetected");
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(detected[0].contains("processing-failed"), "{detected:?}");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_manifests_are_accepted_by_the_api_server_and_read_the_tenancy_file() {
    install();
    let repo = env!("CARGO_MANIFEST_DIR");
    let manifests = format!("{repo}/manifests");
    // Every object of the kustomization, the NetworkPolicy and the ConfigMaps included, as the
    // API server would store it (the namespace exists: install() applied it).
    let out = kubectl_ok(&["apply", "-k", &manifests, "--dry-run=server"], None);
    for object in [
        "networkpolicy.networking.k8s.io/pitagora",
        "deployment.apps/pitagora",
        "configmap/pitagora-tenancy-",
        "configmap/pitagora-accounts-",
    ] {
        assert!(out.contains(object), "{object} in:\n{out}");
    }
    // The Deployment reads each ConfigMap it mounts, and each text is a valid file of its flag.
    let rendered = kubectl_ok(&["kustomize", &manifests], None);
    let docs: Vec<serde_json::Value> = rendered
        .split("\n---\n")
        .map(|d| serde_saphyr::from_str(d).unwrap())
        .collect();
    let of_kind = |kind: &str| docs.iter().find(|d| d["kind"] == kind).unwrap();
    let pod = &of_kind("Deployment")["spec"]["template"]["spec"];
    let args: Vec<&str> = pod["containers"][0]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // The text of the ConfigMap mounted where `flag`'s file is.
    let mounted = |flag: &str| -> String {
        let file = args[args.iter().position(|a| *a == flag).unwrap() + 1];
        let (dir, key) = file.rsplit_once('/').unwrap();
        let mounts = pod["containers"][0]["volumeMounts"].as_array().unwrap();
        let mount = mounts.iter().find(|m| m["mountPath"] == dir).unwrap();
        let volumes = pod["volumes"].as_array().unwrap();
        let volume = volumes.iter().find(|v| v["name"] == mount["name"]).unwrap();
        let config_map = docs
            .iter()
            .find(|d| {
                d["kind"] == "ConfigMap" && d["metadata"]["name"] == volume["configMap"]["name"]
            })
            .unwrap();
        config_map["data"][key].as_str().unwrap().to_owned()
    };
    let tenancy = pitagora::spec::Tenancy::parse(&mounted("--tenancy")).unwrap();
    assert!(!tenancy.is_single_tenant());
    // As shipped, no namespace is mapped to another account.
    let accounts = pitagora::spec::Accounts::parse(&mounted("--accounts")).unwrap();
    assert_eq!(accounts.roles().count(), 0);
    // The NetworkPolicy selects the controller's pods and opens only their port.
    let policy = of_kind("NetworkPolicy");
    assert_eq!(
        policy["spec"]["podSelector"]["matchLabels"],
        of_kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    );
    assert_eq!(
        policy["spec"]["ingress"][0]["ports"][0]["port"],
        pod["containers"][0]["ports"][0]["containerPort"]
    );
}
