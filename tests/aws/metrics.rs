//! The loss signals' metric half through the real SDK: GetMetricData's request and answer in
//! CloudWatch's Smithy RPCv2 CBOR protocol, which moto does not serve, against a canned-answer
//! server (tests/common/canned.rs); every other call goes to moto as usual.

use crate::common;

use aws_sdk_s3::config::SharedInterceptor;
use common::canned::{self, CloudWatchTo};
use common::moto::*;
use pitagora::delivery::signals::{self, SignalKind};
use pitagora::delivery_io::metric_batch::combined_id;
use std::sync::atomic::Ordering;

/// A pipeline on two groups, converged in moto, with CloudWatch answered by a canned server.
async fn setup() -> (
    Moto,
    canned::Canned,
    pitagora::desired::Desired,
    Vec<String>,
) {
    let server = canned::serve().await;
    let redirect = SharedInterceptor::new(CloudWatchTo(server.url.clone()));
    let m = Moto::with_interceptors(vec![redirect]).await;
    m.log_groups(&["/ecs/orders", "/ecs/payments"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders, /ecs/payments]\n");
    m.converged(&spec).await;
    let check = m.check(&spec).await;
    let groups = check
        .observed
        .groups_with_filter(&check.desired.filters.filter.name);
    (m, server, check.desired, groups)
}

/// The id of the query for `metric` (of `group`, when given) in the engine's call.
fn query_id(
    d: &pitagora::desired::Desired,
    groups: &[String],
    metric: &str,
    group: Option<&str>,
) -> String {
    signals::queries(&d.signal_pipeline(), groups)
        .into_iter()
        .find(|q| {
            q.metric == metric
                && group.is_none_or(|g| {
                    q.dimensions
                        .iter()
                        .any(|(n, v)| *n == "LogGroupName" && v == g)
                })
        })
        .unwrap_or_else(|| panic!("no query for {metric} {group:?}"))
        .id
}

#[tokio::test]
async fn delivery_errors_answered_for_a_source_group_are_a_signal_naming_the_group() {
    let (m, server, d, groups) = setup().await;
    let id = query_id(&d, &groups, "DeliveryErrors", Some("/ecs/payments"));
    let now = now_ms();
    *server.body.lock().unwrap() = canned::metric_data(&[(&id, vec![(now - 180_000, 7.0)])]);

    let found = m.engine.metric_signals(&d, &groups, now).await.unwrap();

    let found: Vec<(SignalKind, &str, f64)> = found
        .iter()
        .map(|s| (s.kind, s.resource.as_str(), s.value))
        .collect();
    assert_eq!(found, [(SignalKind::DeliveryErrors, "/ecs/payments", 7.0)]);
    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "one GetMetricData call"
    );
}

#[tokio::test]
async fn throttled_records_answered_for_the_stream_are_a_signal_naming_the_stream() {
    let (m, server, d, groups) = setup().await;
    let id = query_id(&d, &groups, "ThrottledRecords", None);
    let now = now_ms();
    *server.body.lock().unwrap() = canned::metric_data(&[(&id, vec![(now - 240_000, 3.0)])]);

    let found = m.engine.metric_signals(&d, &groups, now).await.unwrap();

    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind, SignalKind::ThrottledRecords);
    assert_eq!(found[0].resource, d.names.stream);
}

#[tokio::test]
async fn quiet_metrics_are_no_signal() {
    let (m, _server, d, groups) = setup().await;
    let found = m
        .engine
        .metric_signals(&d, &groups, now_ms())
        .await
        .unwrap();
    assert_eq!(found, vec![]);
}

#[tokio::test]
async fn loss_reads_of_pipelines_checked_together_share_one_call_and_each_sees_only_its_own() {
    let (m, server, d, groups) = setup().await;
    let id = pitagora::names::PipelineId::new("team-b", "billing");
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    let other = pitagora::desired::build(&m.engine.prepare(&id, &spec).await.unwrap());
    let other_groups = vec!["/ecs/orders".to_owned()];
    let engine = pitagora::engine::Engine::new(m.aws.clone())
        .with_batched_reads(std::time::Duration::from_secs(600));
    let mine = query_id(&d, &groups, "ThrottledRecords", None);
    let theirs = query_id(&other, &other_groups, "ThrottledRecords", None);
    assert_eq!(mine, theirs, "each pipeline's read names its queries alike");
    let now = now_ms();
    *server.body.lock().unwrap() = canned::metric_data(&[
        (&combined_id(0, &mine), vec![(now - 240_000, 3.0)]),
        (&combined_id(1, &theirs), vec![(now - 240_000, 5.0)]),
    ]);

    // Polled in order: the first read opens the group, the second joins it.
    let (first, second) = tokio::join!(
        engine.metric_signals(&d, &groups, now),
        engine.metric_signals(&other, &other_groups, now)
    );

    assert_eq!(
        server.requests.load(Ordering::SeqCst),
        1,
        "one call for both"
    );
    let seen = |found: Vec<signals::Signal>| -> Vec<(SignalKind, String, f64)> {
        found
            .into_iter()
            .map(|s| (s.kind, s.resource, s.value))
            .collect()
    };
    assert_eq!(
        seen(first.unwrap()),
        [(SignalKind::ThrottledRecords, d.names.stream.clone(), 3.0)]
    );
    assert_eq!(
        seen(second.unwrap()),
        [(
            SignalKind::ThrottledRecords,
            other.names.stream.clone(),
            5.0
        )]
    );
}
