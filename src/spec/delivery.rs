//! The `LogPipeline` API's delivery settings (`spec.delivery`): Firehose buffering, record
//! format, compression, key layout and the delivery canary. Part of [`super::types`], which
//! re-exports them; the same rules for doc comments and defaults apply.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Firehose → S3 delivery settings.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    /// Firehose buffering hints: an object is written when either limit is reached.
    #[serde(default)]
    pub buffering: Buffering,

    /// Compression of the objects Firehose writes. Default: `GZIP` for `NDJSON`, `UNCOMPRESSED` for
    /// `Raw` (CloudWatch Logs records are already gzip-compressed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<Compression>,

    /// Layout of the S3 objects. `NDJSON` (default): one log event per line — Firehose decompresses
    /// the CloudWatch Logs records, extracts the log events and appends a newline to each, so no
    /// record is concatenated to the next and no gzip member is hidden behind another. `Envelope`:
    /// one CloudWatch Logs envelope per line (log group, stream, event ids and timestamps kept:
    /// for audits and analytics). `Raw`: the CloudWatch Logs gzip envelopes exactly as delivered
    /// (each object is then a multi-member gzip stream that many readers silently truncate after
    /// the first member).
    #[serde(default)]
    pub record_format: RecordFormat,

    /// Key layout under the prefixes. `Flat` (default): Firehose's `YYYY/MM/DD/HH/`. `Hive`:
    /// `dt=YYYY-MM-DD/hour=HH/` (partitions that BigQuery, Athena and Spark read), and errors
    /// under `<errorOutputPrefix><error-output-type>/dt=…/hour=…/`. The time is the arrival
    /// time at Firehose, in UTC.
    #[serde(default)]
    pub layout: Layout,

    /// How the controller proves that logs arrive: a canary event sent through the chain and
    /// looked for in S3.
    #[serde(default)]
    pub verify: Verify,

    /// S3 key prefix of delivered objects. Firehose appends `YYYY/MM/DD/HH/`. Default: `raw/`.
    #[serde(default = "default_raw_prefix")]
    #[schemars(length(min = 1, max = 1024))]
    pub prefix: String,

    /// S3 key prefix of records Firehose could not process or deliver. Default: `errors/`.
    #[serde(default = "default_error_output_prefix")]
    #[schemars(length(min = 1, max = 1024))]
    pub error_output_prefix: String,
}

impl Default for Delivery {
    fn default() -> Self {
        Self {
            buffering: Buffering::default(),
            compression: None,
            record_format: RecordFormat::default(),
            layout: Layout::default(),
            verify: Verify::default(),
            prefix: default_raw_prefix(),
            error_output_prefix: default_error_output_prefix(),
        }
    }
}

/// Key layout of the delivered objects.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum Layout {
    /// Firehose's default: `<prefix>YYYY/MM/DD/HH/`.
    #[default]
    Flat,
    /// Hive partitions: `<prefix>dt=YYYY-MM-DD/hour=HH/`.
    Hive,
}

/// Delivery verification by a canary.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Verify {
    /// Send a canary through the chain and look for it in S3. Default: true.
    #[serde(default = "default_true")]
    pub enabled: bool,

    /// Seconds between canaries, 60–86400. Default: 300.
    #[serde(default = "default_verify_interval_seconds")]
    #[schemars(range(min = 60, max = 86400))]
    pub interval_seconds: i32,
}

impl Default for Verify {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_seconds: default_verify_interval_seconds(),
        }
    }
}

/// Firehose buffering hints (AWS ranges).
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Buffering {
    /// Buffer size in MiB, 1–128. Default: 5.
    #[serde(rename = "sizeMiB", default = "default_buffer_size_mib")]
    #[schemars(range(min = 1, max = 128))]
    pub size_mib: i32,

    /// Buffer interval in seconds, 0–900 (0 delivers within seconds). Default: 300.
    #[serde(default = "default_buffer_interval_seconds")]
    #[schemars(range(min = 0, max = 900))]
    pub interval_seconds: i32,
}

impl Default for Buffering {
    fn default() -> Self {
        Self {
            size_mib: default_buffer_size_mib(),
            interval_seconds: default_buffer_interval_seconds(),
        }
    }
}

/// Compression of the objects Firehose writes. Default: `GZIP` for `NDJSON`, `UNCOMPRESSED` for
/// `Raw` (CloudWatch Logs records are already gzip-compressed).
// (An optional enum field shows its type's description in the CRD, so it lives here.)
#[derive(Clone, Copy, Debug, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum Compression {
    /// No compression.
    #[serde(rename = "UNCOMPRESSED")]
    Uncompressed,
    /// gzip.
    #[serde(rename = "GZIP")]
    Gzip,
    /// zip.
    #[serde(rename = "ZIP")]
    Zip,
    /// Snappy (framed).
    Snappy,
    /// Hadoop-compatible Snappy.
    #[serde(rename = "HADOOP_SNAPPY")]
    HadoopSnappy,
}

impl Compression {
    /// The value AWS uses.
    pub fn as_aws_str(self) -> &'static str {
        match self {
            Compression::Uncompressed => "UNCOMPRESSED",
            Compression::Gzip => "GZIP",
            Compression::Zip => "ZIP",
            Compression::Snappy => "Snappy",
            Compression::HadoopSnappy => "HADOOP_SNAPPY",
        }
    }
}

/// Layout of the objects written to S3.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq, Hash)]
pub enum RecordFormat {
    /// One log event per line (newline-delimited), decompressed and extracted by Firehose.
    #[default]
    #[serde(rename = "NDJSON")]
    Ndjson,
    /// One CloudWatch Logs envelope per line, decompressed by Firehose, nothing extracted.
    Envelope,
    /// CloudWatch Logs gzip envelopes as delivered.
    Raw,
}

fn default_raw_prefix() -> String {
    "raw/".to_owned()
}

fn default_error_output_prefix() -> String {
    "errors/".to_owned()
}

fn default_buffer_size_mib() -> i32 {
    5
}

fn default_buffer_interval_seconds() -> i32 {
    300
}

fn default_verify_interval_seconds() -> i32 {
    300
}

fn default_true() -> bool {
    true
}
