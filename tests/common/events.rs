//! CloudTrail's records of calls, put on an account's default EventBridge bus as CloudTrail
//! would: moto emits none of its own, so tests make a change, then put its record.

use super::REGION;
use super::moto::Moto;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use serde_json::{Value, json};

/// Someone who is not pitagora.
pub const PERSON: &str = "arn:aws:iam::123456789012:user/alice";

/// CloudTrail's record of `name` on `source` (e.g. `logs.amazonaws.com`) with `params`, made in
/// `m`'s account and [`REGION`] by `actor` now (whole seconds, as CloudTrail writes them), with
/// the event id `id`.
pub fn cloudtrail(
    m: &Moto,
    source: &str,
    name: &str,
    params: Value,
    actor: &str,
    id: &str,
) -> Value {
    let now = k8s_openapi::jiff::Timestamp::now();
    let second = k8s_openapi::jiff::Timestamp::from_second(now.as_second()).unwrap();
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": actor, "accountId": m.account},
        "eventTime": second.to_string(),
        "eventSource": source,
        "eventName": name,
        "awsRegion": REGION,
        "requestParameters": params,
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "recipientAccountId": m.account
    })
}

/// Puts `details` on `m`'s default bus as "AWS API Call via CloudTrail" events (10 per call).
pub async fn inject(m: &Moto, details: &[Value]) {
    let c = m.outsider().await;
    for chunk in details.chunks(10) {
        let entries: Vec<PutEventsRequestEntry> = chunk
            .iter()
            .map(|d| {
                let source = d["eventSource"].as_str().unwrap_or_default();
                let service = source.split('.').next().unwrap_or_default();
                PutEventsRequestEntry::builder()
                    .source(format!("aws.{service}"))
                    .detail_type("AWS API Call via CloudTrail")
                    .detail(d.to_string())
                    .build()
            })
            .collect();
        let out = c
            .events
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_entry_count(), 0, "moto took every event");
    }
}
