//! Reading back the objects Firehose wrote, whatever the record format: gzip-compressed or not
//! (several gzip members concatenated, as `Raw` delivers them, included), one log message per
//! line (`NDJSON`), one CloudWatch Logs envelope per line (`Envelope`), or envelopes back to back
//! without a delimiter (`Raw`). Decompression is bounded, so a hostile or huge object cannot
//! exhaust memory.

use super::canary::Canary;
use serde::Deserialize;
use std::io::Read;

/// One log event read back from S3. The envelope formats keep where it came from and its id;
/// `NDJSON` keeps only the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveredEvent {
    /// CloudWatch Logs event id.
    pub id: Option<String>,
    /// Event time, milliseconds since the Unix epoch.
    pub timestamp_ms: Option<i64>,
    /// Source log group.
    pub log_group: Option<String>,
    /// Source log stream.
    pub log_stream: Option<String>,
    /// The message.
    pub message: String,
}

/// What one object holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// The log events, in order.
    pub events: Vec<DeliveredEvent>,
    /// CloudWatch Logs `CONTROL_MESSAGE` envelopes (sent when a filter is created; no events).
    pub control_messages: usize,
}

impl Decoded {
    /// The canary events among the events.
    pub fn canaries(&self) -> impl Iterator<Item = (Canary, &DeliveredEvent)> {
        self.events
            .iter()
            .filter_map(|e| Canary::parse(&e.message).map(|c| (c, e)))
    }
}

/// Why an object could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordsError {
    /// Decompressed, it is larger than the bound.
    #[error("the object decompresses to more than {limit} bytes")]
    TooLarge { limit: u64 },
    /// It starts like gzip but is not.
    #[error("the object is not valid gzip: {0}")]
    Gzip(String),
    /// It is not text.
    #[error("the object is not UTF-8 text")]
    NotText,
}

/// A CloudWatch Logs subscription envelope; `messageType` and `logEvents` are what tell it from
/// a log message that happens to be JSON.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope {
    message_type: String,
    #[serde(default)]
    log_group: Option<String>,
    #[serde(default)]
    log_stream: Option<String>,
    log_events: Vec<EnvelopeEvent>,
}

#[derive(Deserialize)]
struct EnvelopeEvent {
    /// A string of digits from AWS; some emulators send a number.
    #[serde(default)]
    id: Option<serde_json::Value>,
    #[serde(default)]
    timestamp: Option<i64>,
    message: String,
}

/// The events of an object's `bytes`, decompressing at most `limit` bytes.
pub fn decode(bytes: &[u8], limit: u64) -> Result<Decoded, RecordsError> {
    let text = text(bytes, limit)?;
    let mut decoded = Decoded::default();
    for line in text.split('\n') {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match envelopes(line) {
            Some(list) => list.into_iter().for_each(|e| add(&mut decoded, e)),
            None => decoded.events.push(DeliveredEvent {
                id: None,
                timestamp_ms: None,
                log_group: None,
                log_stream: None,
                message: line.to_owned(),
            }),
        }
    }
    Ok(decoded)
}

/// The object as text: gunzipped (every member) when it starts with gzip's magic bytes.
fn text(bytes: &[u8], limit: u64) -> Result<String, RecordsError> {
    let raw = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .take(limit.saturating_add(1))
            .read_to_end(&mut out)
            .map_err(|e| RecordsError::Gzip(e.to_string()))?;
        out
    } else {
        bytes.to_vec()
    };
    if raw.len() as u64 > limit {
        return Err(RecordsError::TooLarge { limit });
    }
    String::from_utf8(raw).map_err(|_| RecordsError::NotText)
}

/// The envelopes `line` consists of (one, or several back to back), or `None` when it is
/// anything else: a log message.
fn envelopes(line: &str) -> Option<Vec<Envelope>> {
    if !line.trim_start().starts_with('{') || !line.contains("\"logEvents\"") {
        return None;
    }
    let list: Result<Vec<Envelope>, _> = serde_json::Deserializer::from_str(line)
        .into_iter::<Envelope>()
        .collect();
    list.ok().filter(|l| !l.is_empty())
}

fn add(decoded: &mut Decoded, e: Envelope) {
    if e.message_type == "CONTROL_MESSAGE" {
        decoded.control_messages += 1;
        return;
    }
    for event in e.log_events {
        let id = event.id.and_then(|v| match v {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        decoded.events.push(DeliveredEvent {
            id,
            timestamp_ms: event.timestamp,
            log_group: e.log_group.clone(),
            log_stream: e.log_stream.clone(),
            message: event.message,
        });
    }
}
