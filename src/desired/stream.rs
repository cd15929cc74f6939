//! The Firehose delivery stream: Direct PUT into the bucket, with the record processors the
//! record format needs and error logging to the pipeline's own log group.

use super::Pipeline;
use crate::names::{ERROR_LOG_STREAM, ROLE_PATH};
use crate::resources::*;
use crate::spec::RecordFormat;
use serde::Serialize;

/// A Firehose delivery stream (Direct PUT, extended S3 destination).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamSpec {
    /// Stream name.
    pub name: String,
    /// Stream ARN.
    pub arn: String,
    /// The S3 destination, complete: updates always send all of it.
    pub destination: S3Destination,
    /// Tags.
    pub tags: Tags,
}

/// The Firehose processors that turn CloudWatch Logs records into one log event per line:
/// gunzip the record, extract the log events' messages, end each with a newline.
pub fn ndjson_processors() -> Vec<Processor> {
    vec![
        Processor::new("Decompression", &[("CompressionFormat", "GZIP")]),
        Processor::new(
            "CloudWatchLogProcessing",
            &[("DataMessageExtraction", "true")],
        ),
        Processor::new("AppendDelimiterToRecord", &[]),
    ]
}

/// The Firehose processors that turn CloudWatch Logs records into one envelope per line: gunzip
/// the record, end it with a newline; the envelope (log group, stream, event ids) is kept.
pub fn envelope_processors() -> Vec<Processor> {
    vec![
        Processor::new("Decompression", &[("CompressionFormat", "GZIP")]),
        Processor::new("AppendDelimiterToRecord", &[]),
    ]
}

/// The stream of `p`, tagged with `tags`.
pub(super) fn build(p: &Pipeline, tags: &Tags) -> StreamSpec {
    let (spec, target, names) = (p.spec(), p.target(), p.names());
    let processors = match spec.delivery.record_format {
        RecordFormat::Ndjson => ndjson_processors(),
        RecordFormat::Envelope => envelope_processors(),
        RecordFormat::Raw => Vec::new(),
    };
    StreamSpec {
        name: names.stream.clone(),
        arn: target.stream_arn(&names.stream),
        destination: S3Destination {
            bucket_arn: target.bucket_arn(&names.bucket),
            role_arn: target.role_arn(ROLE_PATH, &names.delivery_role),
            prefix: spec.object_prefix(),
            error_output_prefix: spec.error_prefix(),
            buffering: BufferingHints {
                size_mib: spec.delivery.buffering.size_mib,
                interval_seconds: spec.delivery.buffering.interval_seconds,
            },
            compression: spec.compression().as_aws_str().to_owned(),
            kms_key_arn: None,
            processing_enabled: !processors.is_empty(),
            processors,
            cloudwatch_logging: CloudWatchLogging {
                enabled: true,
                log_group: names.error_log_group.clone(),
                log_stream: ERROR_LOG_STREAM.to_owned(),
            },
        },
        tags: tags.clone(),
    }
}
