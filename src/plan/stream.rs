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
    let name = &d.stream.name;
    let ignored = |field: &str, spec: Option<&str>| {
        b.ignores(ResourceKind::DeliveryStream, name, field, spec)
    };
    let mut want = d.stream.clone();
    let mut changes = Changes::default();
    match &s.destination {
        Some(actual) => {
            compare(
                &canonical(&want.destination),
                &canonical(actual),
                &mut changes,
            );
            // An ignored field is written back as it is: the update changes what it shows.
            keep_live(&mut want.destination, actual, &ignored);
        }
        None => changes.presence(
            "Destination",
            None,
            Some("ExtendedS3".into()),
            Some("another destination type".into()),
        ),
    }
    let destination = changes
        .0
        .iter()
        .any(|c| !ignored(&c.field, c.spec_field.as_deref()));
    want.tags
        .retain(|k, _| !ignored(&format!("Tags.{k}"), None));
    let tags = !normalize::tags_missing(&want.tags, &s.tags).is_empty();
    changes.tags(&d.stream.tags, &s.tags);
    if !changes.0.is_empty() {
        b.push(
            Op::Update,
            ResourceKind::DeliveryStream,
            name,
            changes.0,
            "delivery stream configuration differs from the spec",
            Step::UpdateStream {
                stream: want,
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

/// The destination's compared fields: `(AWS field, spec field, path)`, one list for the
/// comparison and for keeping ignored fields live, so the two never disagree. The processors
/// are compared apart (only when both sides process).
macro_rules! destination_fields {
    ($m:ident) => {
        $m!("BucketARN", Some("spec.storage.bucketName"), bucket_arn);
        $m!("RoleARN", None, role_arn);
        $m!("Prefix", Some("spec.delivery.prefix"), prefix);
        $m!(
            "ErrorOutputPrefix",
            Some("spec.delivery.errorOutputPrefix"),
            error_output_prefix
        );
        $m!(
            "BufferingHints.SizeInMBs",
            Some("spec.delivery.buffering.sizeMiB"),
            buffering.size_mib
        );
        $m!(
            "BufferingHints.IntervalInSeconds",
            Some("spec.delivery.buffering.intervalSeconds"),
            buffering.interval_seconds
        );
        $m!(
            "CompressionFormat",
            Some("spec.delivery.compression"),
            compression
        );
        $m!("EncryptionConfiguration", None, kms_key_arn);
        $m!(
            "ProcessingConfiguration.Enabled",
            Some("spec.delivery.recordFormat"),
            processing_enabled
        );
        $m!("CloudWatchLoggingOptions", None, cloudwatch_logging);
    };
}

const PROCESSORS: (&str, Option<&str>) = (
    "ProcessingConfiguration.Processors",
    Some("spec.delivery.recordFormat"),
);

/// Differences between two canonical S3 destinations.
fn compare(d: &S3Destination, a: &S3Destination, out: &mut Changes) {
    macro_rules! field {
        ($field:expr, $spec:expr, $($path:ident).+) => {
            out.field($field, $spec, &d.$($path).+, &a.$($path).+)
        };
    }
    destination_fields!(field);
    if d.processing_enabled && a.processing_enabled {
        out.field(PROCESSORS.0, PROCESSORS.1, &d.processors, &a.processors);
    }
}

/// `write` with the live value of every field `ignored` accepts.
fn keep_live(
    write: &mut S3Destination,
    live: &S3Destination,
    ignored: &dyn Fn(&str, Option<&str>) -> bool,
) {
    macro_rules! keep {
        ($field:expr, $spec:expr, $($path:ident).+) => {
            if ignored($field, $spec) {
                write.$($path).+ = live.$($path).+.clone();
            }
        };
    }
    destination_fields!(keep);
    if ignored(PROCESSORS.0, PROCESSORS.1) {
        write.processors = live.processors.clone();
    }
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
