//! The Firehose delivery stream: how it is planned (created, waited for while Firehose works on
//! it, recreated after a failed creation, or its destination and tags updated), its S3
//! destination's canonical form and the field-by-field comparison of that destination.

use super::diff::Changes;
use super::normalize;
use super::ownership::ownership_conflict;
use super::{Builder, ConflictKind, Op, Step};
use crate::arn;
use crate::desired::Desired;
use crate::observed::{Observed, ObservedStream};
use crate::resources::{CloudWatchLogging, ResourceKind, S3Destination};

/// Processor parameters AWS fills in when they are not given, by processor type.
const PROCESSOR_DEFAULTS: &[(&str, &str, &str)] = &[
    ("AppendDelimiterToRecord", "Delimiter", "\\n"),
    ("CloudWatchLogProcessing", "DataMessageExtraction", "false"),
    ("Lambda", "NumberOfRetries", "3"),
    ("Lambda", "BufferSizeInMBs", "1"),
    ("Lambda", "BufferIntervalInSeconds", "60"),
];

/// Plans the delivery stream.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let name = &d.stream.name;
    let Some(s) = &o.stream else {
        b.push(
            Op::Create,
            ResourceKind::DeliveryStream,
            name,
            Vec::new(),
            "delivery stream does not exist",
            Step::CreateStream(d.stream.clone()),
        );
        return;
    };
    if let Some((cause, reason)) = ownership_conflict(d, &s.tags) {
        b.conflict(ResourceKind::DeliveryStream, name, cause, reason);
        return;
    }
    if !plan_status(b, d, s) {
        update(b, d, s);
    }
}

/// Plans what the stream's status calls for instead of a comparison; false when it is stable.
fn plan_status(b: &mut Builder, d: &Desired, s: &ObservedStream) -> bool {
    let name = &d.stream.name;
    match s.status.as_str() {
        "CREATING" | "DELETING" | "UPDATING" => {
            let reason = format!("stream is {}", s.status);
            b.pending(ResourceKind::DeliveryStream, name, reason);
        }
        "CREATING_FAILED" => {
            b.push(
                Op::Delete,
                ResourceKind::DeliveryStream,
                name,
                Vec::new(),
                "stream creation failed; it must be deleted before it can be created again",
                Step::DeleteStream { name: name.clone() },
            );
            b.push(
                Op::Create,
                ResourceKind::DeliveryStream,
                name,
                Vec::new(),
                "recreate after the failed creation",
                Step::CreateStream(d.stream.clone()),
            );
        }
        "DELETING_FAILED" => b.conflict(
            ResourceKind::DeliveryStream,
            name,
            ConflictKind::StreamDeleteFailed,
            "stream deletion failed; check its encryption key and delete it again",
        ),
        _ => return false,
    }
    true
}

/// A stable stream: update its destination and/or tags where they differ from the spec.
fn update(b: &mut Builder, d: &Desired, s: &ObservedStream) {
    let want = &d.stream;
    let mut changes = Changes::default();
    match &s.destination {
        Some(actual) => compare(
            &canonical(&want.destination),
            &canonical(actual),
            &mut changes,
        ),
        None => changes.presence(
            "Destination",
            None,
            Some("ExtendedS3".into()),
            Some("another destination type".into()),
        ),
    }
    let destination = !changes.0.is_empty();
    let tags = !normalize::tags_missing(&want.tags, &s.tags).is_empty();
    changes.tags(&want.tags, &s.tags);
    if destination || tags {
        b.push(
            Op::Update,
            ResourceKind::DeliveryStream,
            &want.name,
            changes.0,
            "delivery stream configuration differs from the spec",
            Step::UpdateStream {
                stream: want.clone(),
                destination,
                tags,
            },
        );
    }
}

/// A Firehose S3 destination in canonical form.
fn canonical(d: &S3Destination) -> S3Destination {
    let mut d = d.clone();
    d.bucket_arn = arn::normalize(&d.bucket_arn);
    d.role_arn = arn::normalize(&d.role_arn);
    d.compression = d.compression.to_ascii_uppercase();
    if d.compression == "SNAPPY" {
        d.compression = "Snappy".into();
    }
    // Disabled processing is no processing, whatever processors are still listed.
    if !d.processing_enabled {
        d.processors.clear();
    }
    if d.processors.is_empty() {
        d.processing_enabled = false;
    }
    for p in &mut d.processors {
        for value in p.parameters.values_mut() {
            if value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false") {
                *value = value.to_ascii_lowercase();
            }
        }
        let kind = p.kind.clone();
        p.parameters.retain(|name, value| {
            !PROCESSOR_DEFAULTS
                .iter()
                .any(|(k, n, v)| *k == kind && n == name && v == value)
        });
    }
    // Without logging, where it would log is irrelevant.
    if !d.cloudwatch_logging.enabled {
        d.cloudwatch_logging = CloudWatchLogging::default();
    }
    d
}

/// Differences between two canonical S3 destinations.
fn compare(d: &S3Destination, a: &S3Destination, out: &mut Changes) {
    out.field(
        "BucketARN",
        Some("spec.storage.bucketName"),
        &d.bucket_arn,
        &a.bucket_arn,
    );
    out.field("RoleARN", None, &d.role_arn, &a.role_arn);
    out.field("Prefix", Some("spec.delivery.prefix"), &d.prefix, &a.prefix);
    out.field(
        "ErrorOutputPrefix",
        Some("spec.delivery.errorOutputPrefix"),
        &d.error_output_prefix,
        &a.error_output_prefix,
    );
    out.field(
        "BufferingHints.SizeInMBs",
        Some("spec.delivery.buffering.sizeMiB"),
        &d.buffering.size_mib,
        &a.buffering.size_mib,
    );
    out.field(
        "BufferingHints.IntervalInSeconds",
        Some("spec.delivery.buffering.intervalSeconds"),
        &d.buffering.interval_seconds,
        &a.buffering.interval_seconds,
    );
    out.field(
        "CompressionFormat",
        Some("spec.delivery.compression"),
        &d.compression,
        &a.compression,
    );
    out.field(
        "EncryptionConfiguration",
        None,
        &d.kms_key_arn,
        &a.kms_key_arn,
    );
    out.field(
        "ProcessingConfiguration.Enabled",
        Some("spec.delivery.recordFormat"),
        &d.processing_enabled,
        &a.processing_enabled,
    );
    if d.processing_enabled && a.processing_enabled {
        out.field(
            "ProcessingConfiguration.Processors",
            Some("spec.delivery.recordFormat"),
            &d.processors,
            &a.processors,
        );
    }
    out.field(
        "CloudWatchLoggingOptions",
        None,
        &d.cloudwatch_logging,
        &a.cloudwatch_logging,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::{BufferingHints, Processor};

    #[test]
    fn aws_filled_processor_defaults_are_not_drift() {
        let mut observed = S3Destination {
            bucket_arn: "arn:aws:s3:::b".into(),
            role_arn: "arn:aws:iam::1:role/r".into(),
            prefix: "raw/".into(),
            error_output_prefix: "errors/".into(),
            buffering: BufferingHints {
                size_mib: 5,
                interval_seconds: 300,
            },
            compression: "GZIP".into(),
            kms_key_arn: None,
            processing_enabled: true,
            processors: vec![
                Processor::new(
                    "CloudWatchLogProcessing",
                    &[("DataMessageExtraction", "True")],
                ),
                Processor::new("AppendDelimiterToRecord", &[("Delimiter", "\\n")]),
            ],
            cloudwatch_logging: CloudWatchLogging::default(),
        };
        let mut desired = observed.clone();
        desired.processors = vec![
            Processor::new(
                "CloudWatchLogProcessing",
                &[("DataMessageExtraction", "true")],
            ),
            Processor::new("AppendDelimiterToRecord", &[]),
        ];
        assert_eq!(canonical(&observed), canonical(&desired));
        observed.processors[1]
            .parameters
            .insert("Delimiter".into(), ",".into());
        assert_ne!(canonical(&observed), canonical(&desired));
    }
}
