//! End to end against a real AWS-protocol server (moto), through the real SDK: a log event put
//! into a source log group arrives in the pipeline's bucket under the raw prefix.
//!
//! moto delivers synchronously and ignores Firehose's processors, so the object is the gzip
//! CloudWatch Logs subscription envelope; the test decodes it and asserts on its content.

mod common;

use common::moto::*;
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

#[tokio::test]
async fn a_canary_event_put_into_a_source_group_is_found_in_the_delivered_object() {
    use pitagora::delivery::canary::Canary;
    use pitagora::delivery::records::decode;
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    let d = m.converged(&spec).await;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let canary = Canary {
        id: "canary-1".into(),
        pipeline: "team-a/orders".into(),
        sent_at_ms: now_ms,
    };
    let app = m.outsider().await;
    app.logs
        .create_log_stream()
        .log_group_name("/ecs/orders")
        .log_stream_name("canary")
        .send()
        .await
        .unwrap();
    app.logs
        .put_log_events()
        .log_group_name("/ecs/orders")
        .log_stream_name("canary")
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

    let delivered = eventually(Duration::from_secs(10), || async {
        !object_keys(&m.c, &d.names.bucket, "raw/").await.is_empty()
    })
    .await;
    assert!(delivered, "no object under raw/ within 10 s");
    let keys = object_keys(&m.c, &d.names.bucket, "raw/").await;
    let object = object_bytes(&m.c, &d.names.bucket, &keys[0]).await;
    let decoded = decode(&object, 64 << 20).unwrap();
    let found: Vec<_> = decoded.canaries().collect();
    assert_eq!(found.len(), 1, "{decoded:?}");
    let (c, event) = &found[0];
    assert_eq!(c, &canary);
    assert_eq!(event.log_group.as_deref(), Some("/ecs/orders"));
    assert_eq!(event.log_stream.as_deref(), Some("canary"));
}
