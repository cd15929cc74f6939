//! Validation of `spec.delivery`: buffering, compression against the record format, the
//! prefixes (Firehose's expression grammar, overlap, the layout's own partitions) and the
//! canary's interval.

use super::{Errors, prefixes_overlap, quoted};
use crate::spec::grammar::prefix::{MAX_EVALUATED_LEN, Prefix, PrefixKind};
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

/// The two prefixes: length, no leading slash, Firehose's expression grammar, the layout's
/// partitions, the error type, the evaluated length, overlap.
fn validate_prefixes(e: &mut Errors, d: &Delivery) {
    let mut parsed = Vec::new();
    for (field, value, kind) in [
        ("prefix", &d.prefix, PrefixKind::Delivery),
        (
            "errorOutputPrefix",
            &d.error_output_prefix,
            PrefixKind::Error,
        ),
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
        match Prefix::parse(value, kind) {
            Ok(p) => parsed.push(Some(p)),
            Err(problem) => {
                e.push(&path, quoted(value), problem.to_string());
                parsed.push(None);
            }
        }
    }
    // The rules below read both prefixes; one that does not parse is reported above.
    let (Some(raw), Some(error)) = (&parsed[0], &parsed[1]) else {
        return;
    };
    if d.layout == Layout::Hive {
        for (field, value, p) in [
            ("prefix", &d.prefix, raw),
            ("errorOutputPrefix", &d.error_output_prefix, error),
        ] {
            if p.has_expressions() {
                e.push(
                    format!("spec.delivery.{field}"),
                    quoted(value),
                    "layout Hive adds its own partitions (dt=…/hour=…/) after the prefix; remove the expressions, or use layout Flat to write your own",
                );
            }
        }
    } else if !error.has_error_output_type() {
        let why = if raw.has_expressions() {
            Some(
                "Firehose requires an error prefix containing !{firehose:error-output-type} when the prefix uses expressions",
            )
        } else if error.has_expressions() {
            Some(
                "Firehose requires !{firehose:error-output-type} in an error prefix that uses expressions; add it, e.g. errors/!{firehose:error-output-type}/",
            )
        } else {
            None
        };
        if let Some(why) = why {
            e.push(
                "spec.delivery.errorOutputPrefix",
                quoted(&d.error_output_prefix),
                why,
            );
        }
    }
    // What Firehose receives: the prefixes with the layout's partitions.
    for (field, value, full, kind) in [
        ("prefix", &d.prefix, d.object_prefix(), PrefixKind::Delivery),
        (
            "errorOutputPrefix",
            &d.error_output_prefix,
            d.error_prefix(),
            PrefixKind::Error,
        ),
    ] {
        let least = Prefix::parse(&full, kind).map_or(0, |p| p.min_evaluated_len());
        if least > MAX_EVALUATED_LEN {
            e.push(
                format!("spec.delivery.{field}"),
                quoted(value),
                format!(
                    "evaluates to at least {least} characters (with the layout's partitions); Firehose allows at most {MAX_EVALUATED_LEN} once evaluated: shorten it"
                ),
            );
        }
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
