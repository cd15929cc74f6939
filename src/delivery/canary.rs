//! The canary event: one JSON log line that pitagora writes into the pipeline's own canary log
//! group and then looks for in S3. It carries a marker field, so that the transform and the
//! subscribers can recognise it and drop or pass it, a unique id, the pipeline and the time.
//!
//! ```json
//! {"pitagora.dev/canary":true,"id":"…","pipeline":"team-a/orders","sentAtMs":1796220077748}
//! ```

use serde::{Deserialize, Serialize};

/// The marker field every canary event carries, set to `true`.
pub const MARKER: &str = "pitagora.dev/canary";

/// A canary event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Canary {
    /// Unique per canary.
    pub id: String,
    /// `<namespace>/<name>` of the pipeline it proves.
    pub pipeline: String,
    /// When it was sent, in milliseconds since the Unix epoch (the log event's timestamp too).
    pub sent_at_ms: i64,
}

/// The wire form: the marker first, then the fields.
#[derive(Serialize, Deserialize)]
struct Wire {
    #[serde(rename = "pitagora.dev/canary")]
    marker: bool,
    #[serde(flatten)]
    canary: Canary,
}

impl Canary {
    /// The log message to write.
    pub fn message(&self) -> String {
        let wire = Wire {
            marker: true,
            canary: self.clone(),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The canary a log message is, if it is one (the marker set to `true`).
    pub fn parse(message: &str) -> Option<Canary> {
        let message = message.trim_end();
        if !message.starts_with('{') || !message.contains(MARKER) {
            return None;
        }
        serde_json::from_str::<Wire>(message)
            .ok()
            .filter(|w| w.marker)
            .map(|w| w.canary)
    }
}

impl Canary {
    /// A new canary of `pipeline` sent at `sent_at_ms`; `nonce` is any number that differs
    /// between callers sending at the same millisecond (the shell passes the clock's nanoseconds
    /// and the process id).
    pub fn new(pipeline: &str, sent_at_ms: i64, nonce: u64) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{pipeline}\n{sent_at_ms}\n{nonce}"));
        let id: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Self {
            id,
            pipeline: pipeline.to_owned(),
            sent_at_ms,
        }
    }
}
