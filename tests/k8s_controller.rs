//! The controller end to end: a real Kubernetes API server (kubectl as a user would), moto for
//! AWS, and `pitagora run`'s controller in-process with the ServiceAccount's RBAC permissions.

mod common;

use common::kube::*;
use common::moto::*;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(30);

fn pipeline(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{}",
        spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
    )
}

const MINIMAL: &str = "sources:\n  logGroups: [/ecs/orders]\n";

async fn stream_buffer_size(m: &Moto, stream: &str) -> Option<i32> {
    let out =
        m.c.firehose
            .describe_delivery_stream()
            .delivery_stream_name(stream)
            .send()
            .await
            .ok()?;
    out.delivery_stream_description()?
        .destinations()
        .first()?
        .extended_s3_destination_description()?
        .buffering_hints()?
        .size_in_mbs()
}

fn names(m: &Moto, namespace: &str, name: &str) -> pitagora::names::Names {
    let id = pitagora::names::PipelineId::new(namespace, name);
    pitagora::names::Names::derive(
        &id,
        &pitagora::arn::AwsTarget::new(m.account.clone(), REGION),
        None,
        None,
    )
}

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
    assert_eq!(stream_buffer_size(&m, &n.stream).await, Some(5));
    let table = kubectl_ok(&["get", "lp", "-n", &ns], None);
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STAGE", "READY", "DRIFT", "AGE"]);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&row[..4], ["orders", "New", "True", "0"]);
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
    assert_eq!(stream_buffer_size(&m, &n.stream).await, Some(64));
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
