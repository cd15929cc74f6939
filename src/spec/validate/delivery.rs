//! Validation of `spec.delivery`: buffering, compression against the record format, the
//! prefixes (expressions, overlap, the layout's own partitions) and the canary's interval.

use super::{Errors, prefixes_overlap, quoted};
use crate::spec::types::*;

/// `spec.delivery`.
pub(super) fn validate_delivery(e: &mut Errors, d: &Delivery) {
    e.range(
        "spec.delivery.buffering.sizeMiB",
        d.buffering.size_mib,
        1,
        128,
        " MiB",
    );
    e.range(
        "spec.delivery.buffering.intervalSeconds",
        d.buffering.interval_seconds,
        0,
        900,
        " seconds",
    );
    e.range(
        "spec.delivery.verify.intervalSeconds",
        d.verify.interval_seconds,
        60,
        86400,
        " seconds",
    );
    if d.record_format == RecordFormat::Raw
        && let Some(c) = d.compression
        && c != Compression::Uncompressed
    {
        e.push(
            "spec.delivery.compression",
            c.as_aws_str(),
            "recordFormat Raw delivers CloudWatch Logs records that are already gzip-compressed; compressing them again makes every object doubly compressed; use UNCOMPRESSED or recordFormat NDJSON",
        );
    }
    validate_prefixes(e, d);
}

/// The two prefixes: length, no leading slash, expressions, the layout's partitions, overlap.
fn validate_prefixes(e: &mut Errors, d: &Delivery) {
    for (field, value) in [
        ("prefix", &d.prefix),
        ("errorOutputPrefix", &d.error_output_prefix),
    ] {
        let path = format!("spec.delivery.{field}");
        e.length(&path, value, 1, 1024);
        if value.starts_with('/') {
            e.push(
                &path,
                quoted(value),
                "S3 keys do not start with '/'; remove the leading slash",
            );
        }
    }
    if d.layout == Layout::Hive {
        for (field, value) in [
            ("prefix", &d.prefix),
            ("errorOutputPrefix", &d.error_output_prefix),
        ] {
            if value.contains("!{") {
                e.push(
                    format!("spec.delivery.{field}"),
                    quoted(value),
                    "layout Hive adds its own partitions (dt=…/hour=…/) after the prefix; remove the expressions, or use layout Flat to write your own",
                );
            }
        }
    } else if d.prefix.contains("!{")
        && !d
            .error_output_prefix
            .contains("!{firehose:error-output-type}")
    {
        e.push(
            "spec.delivery.errorOutputPrefix",
            quoted(&d.error_output_prefix),
            "Firehose requires an error prefix containing !{firehose:error-output-type} when the prefix uses expressions",
        );
    }
    if !d.prefix.is_empty()
        && !d.error_output_prefix.is_empty()
        && prefixes_overlap(&d.prefix, &d.error_output_prefix)
    {
        e.push(
            "spec.delivery.errorOutputPrefix",
            quoted(&d.error_output_prefix),
            format!(
                "overlaps the delivery prefix {:?}: failed records would be processed as logs; use a separate prefix such as errors/",
                d.prefix
            ),
        );
    }
}
