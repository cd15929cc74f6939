//! End to end against a real AWS-protocol server (moto), through the real SDK: a log event put
//! into a source log group arrives in the pipeline's bucket under the raw prefix.
//!
//! moto delivers synchronously and ignores Firehose's processors, so the object is the gzip
//! CloudWatch Logs subscription envelope; the test decodes it and asserts on its content.

use crate::common;

use common::moto::*;
use pitagora::delivery_io::search::{DEFAULT_BUDGET, Found, Search, find};
use pitagora::spec::Layout;
use std::io::Read;
use std::time::Duration;

#[tokio::test]
async fn a_log_event_put_into_a_source_group_arrives_in_the_bucket_under_the_raw_prefix() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    let d = m.converged(&spec).await;
    assert_eq!(
        object_keys(&m.c, &d.names.bucket, "").await,
        Vec::<String>::new()
    );

    let app = m.outsider().await;
    app.logs
        .create_log_stream()
        .log_group_name("/ecs/orders")
        .log_stream_name("web-1")
        .send()
        .await
        .unwrap();
    let message = "order 42 shipped to Lisbon";
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    app.logs
        .put_log_events()
        .log_group_name("/ecs/orders")
        .log_stream_name("web-1")
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now_ms)
                .message(message)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let delivered = eventually(Duration::from_secs(10), || async {
        !object_keys(&m.c, &d.names.bucket, "raw/").await.is_empty()
    })
    .await;
    assert!(delivered, "no object under raw/ within 10 s");
    let keys = object_keys(&m.c, &d.names.bucket, "raw/").await;
    assert_eq!(keys.len(), 1, "{keys:?}");

    let gzipped = object_bytes(&m.c, &d.names.bucket, &keys[0]).await;
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_string(&mut json)
        .unwrap();
    let envelope: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(envelope["logGroup"], "/ecs/orders");
    assert_eq!(envelope["logStream"], "web-1");
    let messages: Vec<&str> = envelope["logEvents"]
        .as_array()
        .expect("logEvents is a list")
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert_eq!(messages, [message]);
    assert_eq!(envelope["subscriptionFilters"][0], d.names.filter.as_str());
}

/// A canary of `id` written into `/ecs/orders` of a converged minimal pipeline (the canary log
/// group of its own comes later; the group here stands in for it); when it was sent.
async fn send_canary(m: &Moto, id: &str) -> i64 {
    use pitagora::delivery::canary::Canary;
    let now_ms = now_ms();
    let canary = Canary {
        id: id.into(),
        pipeline: "team-a/orders".into(),
        sent_at_ms: now_ms,
    };
    let app = m.outsider().await;
    app.logs
        .create_log_stream()
        .log_group_name("/ecs/orders")
        .log_stream_name(id)
        .send()
        .await
        .unwrap();
    app.logs
        .put_log_events()
        .log_group_name("/ecs/orders")
        .log_stream_name(id)
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(now_ms)
                .message(canary.message())
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    now_ms
}

/// A converged minimal pipeline on `/ecs/orders`.
async fn minimal(m: &Moto) -> pitagora::desired::Desired {
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    m.converged(&spec).await
}

fn search<'a>(bucket: &'a str, id: &'a str, sent_at_ms: i64, budget: u64) -> Search<'a> {
    Search {
        bucket,
        prefix: "raw/",
        layout: Layout::Flat,
        canary_id: id,
        sent_at_ms,
        now_ms: now_ms(),
        budget,
    }
}

#[tokio::test]
async fn a_canary_sent_through_the_chain_is_found_under_the_raw_prefix_with_its_latency() {
    let m = Moto::new().await;
    let d = minimal(&m).await;
    let sent = send_canary(&m, "canary-1").await;
    let found = eventually_found(&m, &d.names.bucket, "canary-1", sent).await;
    let Found::Yes { key, latency_ms } = found else {
        panic!("{found:?}")
    };
    assert!(key.starts_with("raw/"), "{key}");
    assert!((0..10_000).contains(&latency_ms), "{latency_ms}");
}

/// Searches until found, for at most 10 s (moto delivers at once; the wait covers a busy
/// machine); the last outcome.
async fn eventually_found(m: &Moto, bucket: &str, id: &str, sent: i64) -> Found {
    let once = || async {
        find(&m.c, &search(bucket, id, sent, DEFAULT_BUDGET))
            .await
            .unwrap()
    };
    eventually(Duration::from_secs(10), || async {
        matches!(once().await, Found::Yes { .. })
    })
    .await;
    once().await
}

#[tokio::test]
async fn a_canary_that_was_never_sent_is_not_found_among_the_objects_read() {
    let m = Moto::new().await;
    let d = minimal(&m).await;
    let sent = send_canary(&m, "canary-1").await;
    eventually_found(&m, &d.names.bucket, "canary-1", sent).await;
    let other = find(
        &m.c,
        &search(&d.names.bucket, "never-sent", sent, DEFAULT_BUDGET),
    )
    .await
    .unwrap();
    assert_eq!(other, Found::No { objects: 1 });
}

#[tokio::test]
async fn a_search_whose_budget_is_too_small_is_inconclusive_not_a_failure() {
    let m = Moto::new().await;
    let d = minimal(&m).await;
    let sent = send_canary(&m, "canary-1").await;
    eventually_found(&m, &d.names.bucket, "canary-1", sent).await;
    let tiny = find(&m.c, &search(&d.names.bucket, "canary-1", sent, 1))
        .await
        .unwrap();
    assert_eq!(tiny, Found::Inconclusive { bytes: 0 });
}

/// A canary of the pipeline `d` sent through the engine now.
async fn engine_canary(
    m: &Moto,
    d: &pitagora::desired::Desired,
) -> pitagora::delivery::progress::Tracked {
    use pitagora::delivery::canary::Canary;
    let route = d
        .canary_route
        .as_ref()
        .expect("verification is on by default");
    let now = now_ms();
    let canary = Canary::new("team-a/orders", now, 1);
    m.engine
        .send_canary(&d.id.namespace, &d.target.region, route, canary, now)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_canary_sent_into_the_canary_log_group_reaches_raw_through_the_pipelines_own_filter() {
    use pitagora::delivery::progress::{Outcome, Stage};
    let m = Moto::new().await;
    let d = minimal(&m).await;
    let before = m.calls();
    let tracked = engine_canary(&m, &d).await;
    assert_eq!(tracked.outcome(), Outcome::Delivered, "{tracked:?}");
    let latency = tracked.found_at(Stage::Raw).unwrap() - tracked.canary.sent_at_ms;
    assert!((-2_000..10_000).contains(&latency), "{latency}");
    // Only the canary group is written to: the first canary finds no stream and creates it…
    assert_eq!(
        m.writes_since(&before),
        ops(&[
            ("CloudWatchLogs.CreateLogStream", 1),
            ("CloudWatchLogs.PutLogEvents", 2)
        ])
    );
    // …every later one costs one write.
    let before = m.calls();
    assert_eq!(engine_canary(&m, &d).await.outcome(), Outcome::Delivered);
    assert_eq!(
        m.writes_since(&before),
        ops(&[("CloudWatchLogs.PutLogEvents", 1)])
    );
}

#[tokio::test]
async fn a_canary_group_without_its_filter_stops_the_canary_at_the_subscription() {
    use pitagora::delivery::progress::{Evidence, Link, Outcome, Stage, StageState, stopped_at};
    let m = Moto::new().await;
    let d = minimal(&m).await;
    let route = d.canary_route.clone().unwrap();
    m.c.logs
        .delete_subscription_filter()
        .log_group_name(&route.log_group)
        .filter_name(&d.names.filter)
        .send()
        .await
        .unwrap();
    let check = m
        .check(&m.spec("sources:\n  logGroups: [/ecs/orders]\n"))
        .await;
    let resources = pitagora::report::resources(&check);
    let evidence = Evidence::from_resources(
        &route,
        resources
            .iter()
            .map(|r| (r.kind, r.name.as_str(), r.state.as_str())),
    );
    let mut tracked = engine_canary(&m, &d).await;
    assert_eq!(tracked.outcome(), Outcome::Pending);
    let overdue = tracked.deadline_ms(&route, Stage::Raw);
    m.engine
        .look_for_canary(
            &d.id.namespace,
            &d.target.region,
            &route,
            &mut tracked,
            overdue,
        )
        .await
        .unwrap();
    assert_eq!(
        tracked.outcome(),
        Outcome::Stopped(Stage::Raw, StageState::Missing)
    );
    assert_eq!(stopped_at(Stage::Raw, &evidence), Link::Subscription);
    assert_eq!(
        route.link_name(Link::Subscription),
        "cloudwatch-logs → firehose"
    );
}
