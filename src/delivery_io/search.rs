//! Looking for one canary under one prefix of the bucket: list the hours the canary can be in
//! (from when it was sent until now), read the objects stored since it was sent, oldest first,
//! within a byte budget, and decode each until the canary's id shows up.

use crate::aws::{AwsError, RegionClients};
use crate::delivery::keys::{self, Listed};
use crate::delivery::records;
use crate::spec::Layout;

/// Bytes read per search, at most: a busy bucket makes a search inconclusive, not endless.
pub const DEFAULT_BUDGET: u64 = 64 << 20;

/// Where to look.
#[derive(Clone, Debug)]
pub struct Search<'a> {
    pub bucket: &'a str,
    /// The static prefix Firehose (or the transform) writes under, e.g. `raw/`.
    pub prefix: &'a str,
    pub layout: Layout,
    pub canary_id: &'a str,
    pub sent_at_ms: i64,
    pub now_ms: i64,
    /// Bytes to read at most.
    pub budget: u64,
}

/// What a search found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// In the object `key`, stored `latency_ms` after the canary was sent.
    Yes { key: String, latency_ms: i64 },
    /// Not in any object stored since it was sent.
    No { objects: usize },
    /// Not in the objects read, but more were stored than the budget allows.
    Inconclusive { bytes: u64 },
}

/// Looks for the canary; an object that cannot be decoded is skipped (it is someone's data,
/// not the canary's carrier).
pub async fn find(c: &RegionClients, s: &Search<'_>) -> Result<Found, AwsError> {
    let mut listed = Vec::new();
    for prefix in keys::hour_prefixes(s.prefix, s.layout, s.sent_at_ms, s.now_ms) {
        listed.extend(list(c, s.bucket, &prefix).await?);
    }
    let selection = keys::select(&listed, s.sent_at_ms - CLOCK_SKEW_MS, s.budget);
    for key in &selection.keys {
        let bytes = read(c, s.bucket, key).await?;
        let Ok(decoded) = records::decode(&bytes, s.budget) else {
            continue;
        };
        if decoded
            .canaries()
            .any(|(canary, _)| canary.id == s.canary_id)
        {
            let stored = listed
                .iter()
                .find(|o| &o.key == key)
                .map_or(s.now_ms, |o| o.last_modified_ms);
            return Ok(Found::Yes {
                key: key.clone(),
                latency_ms: (stored - s.sent_at_ms).max(0),
            });
        }
    }
    Ok(if selection.truncated {
        Found::Inconclusive {
            bytes: selection.bytes,
        }
    } else {
        Found::No {
            objects: selection.keys.len(),
        }
    })
}

/// S3's last-modified times have one-second resolution, and the controller's clock may be a
/// little ahead: objects stored up to this much before the send are read too.
const CLOCK_SKEW_MS: i64 = 2_000;

/// Every object under `prefix` (shared with the audit).
pub(crate) async fn list(
    c: &RegionClients,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<Listed>, AwsError> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .send("S3.ListObjectsV2", || {
                c.s3.list_objects_v2()
                    .bucket(bucket)
                    .prefix(prefix)
                    .set_continuation_token(token.clone())
                    .send()
            })
            .await?;
        for o in page.contents() {
            out.push(Listed {
                key: o.key().unwrap_or_default().to_owned(),
                last_modified_ms: o
                    .last_modified()
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or(0),
                size: o.size().unwrap_or(0).max(0) as u64,
            });
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => return Ok(out),
        }
    }
}

pub(crate) async fn read(c: &RegionClients, bucket: &str, key: &str) -> Result<Vec<u8>, AwsError> {
    let out = c
        .send("S3.GetObject", || {
            c.s3.get_object().bucket(bucket).key(key).send()
        })
        .await?;
    // The connection failed while the body streamed: as transient as a failed request.
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| AwsError::Unavailable {
            operation: "S3.GetObject".into(),
            message: e.to_string(),
        })?;
    Ok(body.into_bytes().to_vec())
}
