//! The completeness audit end to end against moto, through the real SDK: a converged pipeline,
//! a few `put_log_events` calls into its source group (moto writes one object per call), then
//! the audit of the window compares FilterLogEvents with the objects read back.

use crate::common;

use common::moto::*;
use pitagora::aws::Places;
use pitagora::delivery::audit::{Audit, Exactness, Window};
use pitagora::delivery_io::audit::{AuditError, Request, audit};

const ENVELOPE: &str =
    "sources:\n  logGroups: [/ecs/orders]\ndelivery:\n  recordFormat: Envelope\n";
const NDJSON: &str = "sources:\n  logGroups: [/ecs/orders]\ndelivery:\n  recordFormat: NDJSON\n";

/// `/ecs/orders` and a pipeline of `spec` on it, converged, then three calls of two events
/// each; the bucket, and when the events were sent.
async fn delivered(m: &Moto, spec: &str) -> (String, i64) {
    m.log_groups(&["/ecs/orders"]).await;
    let d = m.converged(&m.spec(spec)).await;
    let since = now_ms() - 1_000;
    let batches: &[&[&str]] = &[&["a1", "a2"], &["b1", "b2"], &["c1", "c2"]];
    put_batches(&m.outsider().await, "/ecs/orders", "web-1", batches).await;
    (d.names.bucket, since)
}

/// The pipeline's own account only: these pipelines have no remote sources.
fn places(m: &Moto) -> Places {
    Places::new(&m.account, m.aws.clone())
}

/// The request the CLI makes for `spec` over `[since, now + 1 s)`.
async fn request(m: &Moto, spec: &str, since: i64) -> Request {
    let spec = m.spec(spec);
    let (pipeline, check) = (m.pipeline(&spec).await, m.check(&spec).await);
    let until = now_ms() + 1_000;
    let window = Window {
        since_ms: since,
        until_ms: until,
    };
    Request::new(&pipeline, &check, window, until)
}

async fn audited(m: &Moto, spec: &str, since: i64) -> Audit {
    audit(&places(m), &request(m, spec, since).await, &mut |_| {})
        .await
        .unwrap()
}

/// The keys of the objects moto wrote under `raw/`, oldest first by name.
async fn raw_objects(m: &Moto, bucket: &str) -> Vec<String> {
    let keys = object_keys(&m.c, bucket, "raw/").await;
    assert_eq!(
        keys.len(),
        3,
        "one object per put_log_events call: {keys:?}"
    );
    keys
}

#[tokio::test]
async fn every_event_put_into_the_source_group_is_found_delivered_by_id() {
    let m = Moto::new().await;
    let (_, since) = delivered(&m, ENVELOPE).await;
    let a = audited(&m, ENVELOPE, since).await;
    assert_eq!(a.exactness, Exactness::ById);
    assert!(a.complete(), "{a:#?}");
    let t = &a.totals;
    assert_eq!(
        (t.logged, t.delivered, t.duplicated, t.unexpected),
        (6, 6, Some(0), 0)
    );
    assert_eq!(a.objects_read, 3);
}

#[tokio::test]
async fn the_canary_log_group_is_not_a_source_of_the_audit() {
    let m = Moto::new().await;
    let (_, since) = delivered(&m, ENVELOPE).await;
    let spec = m.spec(ENVELOPE);
    let check = m.check(&spec).await;
    let canary = check
        .desired
        .canary_log_group
        .as_ref()
        .unwrap()
        .name
        .clone();
    assert!(check.observed.log_groups.contains_key(&canary));
    let r = request(&m, ENVELOPE, since).await;
    let groups: Vec<_> = (r.groups.iter())
        .map(|g| (g.place.clone(), g.name.as_str(), g.subscribed))
        .collect();
    assert_eq!(groups, [(None, "/ecs/orders", true)]);
}

#[tokio::test]
async fn a_deleted_object_makes_exactly_its_events_missing() {
    let m = Moto::new().await;
    let (bucket, since) = delivered(&m, ENVELOPE).await;
    let lost = raw_objects(&m, &bucket).await[1].clone();
    let mut lost_ids = object_event_ids(&m.c, &bucket, &lost).await;
    delete_object(&m.c, &bucket, &lost).await;

    let a = audited(&m, ENVELOPE, since).await;
    assert!(!a.complete());
    let orders = &a.groups[0];
    let mut missing = orders.missing_ids.clone();
    missing.sort();
    lost_ids.sort();
    assert_eq!(missing, lost_ids);
    assert_eq!((orders.counts.logged, orders.counts.delivered), (6, 4));
}

#[tokio::test]
async fn an_object_stored_twice_makes_its_events_duplicates() {
    let m = Moto::new().await;
    let (bucket, since) = delivered(&m, ENVELOPE).await;
    let first = raw_objects(&m, &bucket).await[0].clone();
    copy_object(&m.c, &bucket, &first, &format!("{first}-redelivered")).await;

    let a = audited(&m, ENVELOPE, since).await;
    assert!(a.complete());
    assert_eq!(a.totals.duplicated, Some(2));
    assert_eq!(a.totals.delivered, 6);
}

#[tokio::test]
async fn an_ndjson_pipeline_is_audited_by_count_in_totals() {
    let m = Moto::new().await;
    let (_, since) = delivered(&m, NDJSON).await;
    let a = audited(&m, NDJSON, since).await;
    assert_eq!(a.exactness, Exactness::ByCount);
    assert!(a.groups.is_empty());
    assert_eq!((a.totals.logged, a.totals.delivered), (6, 6));
    assert_eq!(a.totals.duplicated, None);
}

#[tokio::test]
async fn a_window_with_more_events_than_the_bound_is_refused() {
    let m = Moto::new().await;
    let (_, since) = delivered(&m, ENVELOPE).await;
    let mut r = request(&m, ENVELOPE, since).await;
    r.max_events = 5;
    let e = audit(&places(&m), &r, &mut |_| {}).await.unwrap_err();
    assert!(matches!(e, AuditError::TooManyEvents { limit: 5 }), "{e}");
    assert!(e.to_string().contains("narrow the window"), "{e}");
}

#[tokio::test]
async fn a_window_whose_objects_exceed_the_byte_budget_is_refused() {
    let m = Moto::new().await;
    let (_, since) = delivered(&m, ENVELOPE).await;
    let mut r = request(&m, ENVELOPE, since).await;
    r.byte_budget = 10;
    let e = audit(&places(&m), &r, &mut |_| {}).await.unwrap_err();
    assert!(
        matches!(e, AuditError::TooManyBytes { limit: 10, .. }),
        "{e}"
    );
}
