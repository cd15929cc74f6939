//! Firehose ↔ domain values, both directions: a delivery stream's extended S3 destination
//! ([`S3Destination`]) and its tags. Pure functions: `read` reads with them, apply writes with
//! them, so the two cannot disagree on a field.

use super::AwsError;
use super::build::build_error;
use crate::observed::ObservedStream;
use crate::resources::*;
use aws_sdk_firehose::types as fh;

/// AWS's buffer size when a destination names none (Firehose's documented default).
pub const DEFAULT_BUFFER_SIZE_MIB: i32 = 5;
/// AWS's buffer interval when a destination names none (Firehose's documented default).
pub const DEFAULT_BUFFER_INTERVAL_SECONDS: i32 = 300;

/// A described stream as observed, with its tags (listed separately, by another call). Its
/// version and destination ids are not kept: an update re-reads them right before writing.
pub fn observed_stream(desc: &fh::DeliveryStreamDescription, tags: Tags) -> ObservedStream {
    ObservedStream {
        status: desc.delivery_stream_status().as_str().to_owned(),
        destination: desc
            .destinations()
            .first()
            .and_then(|d| d.extended_s3_destination_description())
            .map(destination_from_sdk),
        tags,
    }
}

/// The id of the stream's (only) destination, which `UpdateDestination` names.
pub fn destination_id(desc: &fh::DeliveryStreamDescription) -> String {
    desc.destinations()
        .first()
        .map(|d| d.destination_id().to_owned())
        .unwrap_or_default()
}

/// The managed view of a described extended S3 destination.
pub fn destination_from_sdk(e: &fh::ExtendedS3DestinationDescription) -> S3Destination {
    S3Destination {
        bucket_arn: e.bucket_arn().to_owned(),
        role_arn: e.role_arn().to_owned(),
        prefix: e.prefix().unwrap_or_default().to_owned(),
        error_output_prefix: e.error_output_prefix().unwrap_or_default().to_owned(),
        buffering: buffering_from_sdk(e.buffering_hints()),
        compression: e.compression_format().as_str().to_owned(),
        kms_key_arn: e
            .encryption_configuration()
            .and_then(|c| c.kms_encryption_config())
            .map(|k| k.awskms_key_arn().to_owned()),
        processing_enabled: e
            .processing_configuration()
            .and_then(|p| p.enabled())
            .unwrap_or(false),
        processors: e
            .processing_configuration()
            .map(|p| p.processors().iter().map(processor_from_sdk).collect())
            .unwrap_or_default(),
        cloudwatch_logging: e
            .cloud_watch_logging_options()
            .map(logging_from_sdk)
            .unwrap_or_default(),
    }
}

/// Buffering hints, with AWS's defaults for what the description leaves out.
fn buffering_from_sdk(b: Option<&fh::BufferingHints>) -> BufferingHints {
    BufferingHints {
        size_mib: b
            .and_then(|b| b.size_in_mbs())
            .unwrap_or(DEFAULT_BUFFER_SIZE_MIB),
        interval_seconds: b
            .and_then(|b| b.interval_in_seconds())
            .unwrap_or(DEFAULT_BUFFER_INTERVAL_SECONDS),
    }
}

fn processor_from_sdk(p: &fh::Processor) -> Processor {
    Processor {
        kind: p.r#type().as_str().to_owned(),
        parameters: p
            .parameters()
            .iter()
            .map(|x| {
                (
                    x.parameter_name().as_str().to_owned(),
                    x.parameter_value().to_owned(),
                )
            })
            .collect(),
    }
}

fn logging_from_sdk(l: &fh::CloudWatchLoggingOptions) -> CloudWatchLogging {
    CloudWatchLogging {
        enabled: l.enabled().unwrap_or(false),
        log_group: l.log_group_name().unwrap_or_default().to_owned(),
        log_stream: l.log_stream_name().unwrap_or_default().to_owned(),
    }
}

/// Sets every managed field of `d` on a destination builder. The configuration (create) and
/// the update builders have the same setters but no common trait; this writes them once.
macro_rules! set_destination {
    ($builder:expr, $d:expr) => {{
        let d: &S3Destination = $d;
        $builder
            .bucket_arn(&d.bucket_arn)
            .role_arn(&d.role_arn)
            .prefix(&d.prefix)
            .error_output_prefix(&d.error_output_prefix)
            .buffering_hints(buffering(d))
            .compression_format(fh::CompressionFormat::from(d.compression.as_str()))
            .encryption_configuration(encryption(d)?)
            .processing_configuration(processing(d)?)
            .cloud_watch_logging_options(logging(d))
    }};
}

/// The destination of a new stream (`CreateDeliveryStream`), without S3 backup.
pub fn destination_configuration(
    d: &S3Destination,
) -> Result<fh::ExtendedS3DestinationConfiguration, AwsError> {
    set_destination!(fh::ExtendedS3DestinationConfiguration::builder(), d)
        .s3_backup_mode(fh::S3BackupMode::Disabled)
        .build()
        .map_err(|e| build_error("Firehose.CreateDeliveryStream", e))
}

/// The complete destination for `UpdateDestination`: always every field, since a partial
/// update can drop fields.
pub fn destination_update(d: &S3Destination) -> Result<fh::ExtendedS3DestinationUpdate, AwsError> {
    Ok(set_destination!(fh::ExtendedS3DestinationUpdate::builder(), d).build())
}

fn buffering(d: &S3Destination) -> fh::BufferingHints {
    fh::BufferingHints::builder()
        .size_in_mbs(d.buffering.size_mib)
        .interval_in_seconds(d.buffering.interval_seconds)
        .build()
}

fn encryption(d: &S3Destination) -> Result<fh::EncryptionConfiguration, AwsError> {
    Ok(match &d.kms_key_arn {
        Some(key) => fh::EncryptionConfiguration::builder()
            .kms_encryption_config(
                fh::KmsEncryptionConfig::builder()
                    .awskms_key_arn(key)
                    .build()
                    .map_err(|e| build_error("Firehose encryption", e))?,
            )
            .build(),
        None => fh::EncryptionConfiguration::builder()
            .no_encryption_config(fh::NoEncryptionConfig::NoEncryption)
            .build(),
    })
}

fn processing(d: &S3Destination) -> Result<fh::ProcessingConfiguration, AwsError> {
    let processors = d
        .processors
        .iter()
        .map(processor)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(fh::ProcessingConfiguration::builder()
        .enabled(d.processing_enabled)
        .set_processors(Some(processors))
        .build())
}

fn processor(p: &Processor) -> Result<fh::Processor, AwsError> {
    let mut parameters = Vec::new();
    for (name, value) in &p.parameters {
        parameters.push(
            fh::ProcessorParameter::builder()
                .parameter_name(fh::ProcessorParameterName::from(name.as_str()))
                .parameter_value(value)
                .build()
                .map_err(|e| build_error("Firehose processor", e))?,
        );
    }
    fh::Processor::builder()
        .r#type(fh::ProcessorType::from(p.kind.as_str()))
        .set_parameters(Some(parameters))
        .build()
        .map_err(|e| build_error("Firehose processor", e))
}

fn logging(d: &S3Destination) -> fh::CloudWatchLoggingOptions {
    fh::CloudWatchLoggingOptions::builder()
        .enabled(d.cloudwatch_logging.enabled)
        .log_group_name(&d.cloudwatch_logging.log_group)
        .log_stream_name(&d.cloudwatch_logging.log_stream)
        .build()
}

/// Stream tags as the SDK takes them (creation and `TagDeliveryStream`).
pub fn tags_to_sdk(tags: &Tags) -> Result<Vec<fh::Tag>, AwsError> {
    tags.iter()
        .map(|(k, v)| fh::Tag::builder().key(k).value(v).build())
        .collect::<Result<_, _>>()
        .map_err(|e| build_error("Firehose tags", e))
}

/// One page of listed stream tags as key and value (a tag without a value has an empty one).
pub fn tags_from_sdk(tags: &[fh::Tag]) -> impl Iterator<Item = (String, String)> + '_ {
    tags.iter()
        .map(|t| (t.key().to_owned(), t.value().unwrap_or_default().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn destination() -> S3Destination {
        S3Destination {
            bucket_arn: "arn:aws:s3:::logs".into(),
            role_arn: "arn:aws:iam::123456789012:role/delivery".into(),
            prefix: "logs/".into(),
            error_output_prefix: "errors/".into(),
            buffering: BufferingHints {
                size_mib: 64,
                interval_seconds: 60,
            },
            compression: "GZIP".into(),
            kms_key_arn: Some("arn:aws:kms:eu-west-1:123456789012:key/k".into()),
            processing_enabled: true,
            processors: vec![Processor::new(
                "AppendDelimiterToRecord",
                &[("Delimiter", "\\n")],
            )],
            cloudwatch_logging: CloudWatchLogging {
                enabled: true,
                log_group: "/aws/kinesisfirehose/p".into(),
                log_stream: "DestinationDelivery".into(),
            },
        }
    }

    /// AWS describes a destination with the parts it was updated with.
    fn described(u: &fh::ExtendedS3DestinationUpdate) -> fh::ExtendedS3DestinationDescription {
        fh::ExtendedS3DestinationDescription::builder()
            .bucket_arn(u.bucket_arn().unwrap())
            .role_arn(u.role_arn().unwrap())
            .prefix(u.prefix().unwrap())
            .error_output_prefix(u.error_output_prefix().unwrap())
            .set_buffering_hints(u.buffering_hints().cloned())
            .set_compression_format(u.compression_format().cloned())
            .set_encryption_configuration(u.encryption_configuration().cloned())
            .set_processing_configuration(u.processing_configuration().cloned())
            .set_cloud_watch_logging_options(u.cloud_watch_logging_options().cloned())
            .build()
            .unwrap()
    }

    #[test]
    fn a_destination_reads_back_as_written() {
        let d = destination();
        assert_eq!(
            destination_from_sdk(&described(&destination_update(&d).unwrap())),
            d
        );
    }

    #[test]
    fn an_unencrypted_destination_reads_back_without_a_key() {
        let d = S3Destination {
            kms_key_arn: None,
            processing_enabled: false,
            processors: vec![],
            ..destination()
        };
        assert_eq!(
            destination_from_sdk(&described(&destination_update(&d).unwrap())),
            d
        );
    }

    #[test]
    fn creation_and_update_write_the_same_destination() {
        let d = destination();
        let c = destination_configuration(&d).unwrap();
        let u = destination_update(&d).unwrap();
        assert_eq!(c.bucket_arn(), u.bucket_arn().unwrap());
        assert_eq!(c.role_arn(), u.role_arn().unwrap());
        assert_eq!(c.prefix(), u.prefix());
        assert_eq!(c.error_output_prefix(), u.error_output_prefix());
        assert_eq!(c.buffering_hints(), u.buffering_hints());
        assert_eq!(c.compression_format(), u.compression_format());
        assert_eq!(c.encryption_configuration(), u.encryption_configuration());
        assert_eq!(c.processing_configuration(), u.processing_configuration());
        assert_eq!(
            c.cloud_watch_logging_options(),
            u.cloud_watch_logging_options()
        );
        assert_eq!(c.s3_backup_mode(), Some(&fh::S3BackupMode::Disabled));
    }

    #[test]
    fn missing_buffering_hints_read_as_aws_defaults() {
        let e = fh::ExtendedS3DestinationDescription::builder()
            .bucket_arn("arn:aws:s3:::logs")
            .role_arn("arn:aws:iam::123456789012:role/delivery")
            .compression_format(fh::CompressionFormat::Uncompressed)
            .build()
            .unwrap();
        assert_eq!(
            destination_from_sdk(&e).buffering,
            BufferingHints {
                size_mib: DEFAULT_BUFFER_SIZE_MIB,
                interval_seconds: DEFAULT_BUFFER_INTERVAL_SECONDS,
            }
        );
    }

    #[test]
    fn tags_read_back_as_written() {
        let tags: Tags = [("owner".to_owned(), "p".to_owned())].into();
        let sdk = tags_to_sdk(&tags).unwrap();
        assert_eq!(tags_from_sdk(&sdk).collect::<Tags>(), tags);
    }
}
