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
    let raw = parse_prefix(e, "prefix", &d.prefix, PrefixKind::Delivery);
    let error = parse_prefix(
        e,
        "errorOutputPrefix",
        &d.error_output_prefix,
        PrefixKind::Error,
    );
    // The rules below read both prefixes; one that does not parse is reported already.
    let (Some(raw), Some(error)) = (raw, error) else {
        return;
    };
    validate_expressions(e, d, &raw, &error);
    validate_evaluated_length(e, d);
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

/// `spec.delivery.<field>` on its own: length, no leading slash, and Firehose's grammar.
fn parse_prefix<'a>(
    e: &mut Errors,
    field: &str,
    value: &'a str,
    kind: PrefixKind,
) -> Option<Prefix<'a>> {
    let path = format!("spec.delivery.{field}");
    e.length(&path, value, 1, 1024);
    if value.starts_with('/') {
        e.push(
            &path,
            quoted(value),
            "S3 keys do not start with '/'; remove the leading slash",
        );
    }
    Prefix::parse(value, kind)
        .map_err(|problem| e.push(&path, quoted(value), problem.to_string()))
        .ok()
}

/// The expressions the layout allows: none with Hive (it writes its own partitions), and with
/// Flat the error type in the error prefix once either prefix has expressions.
fn validate_expressions(e: &mut Errors, d: &Delivery, raw: &Prefix, error: &Prefix) {
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
        return;
    }
    let why = if error.has_error_output_type() {
        return;
    } else if raw.has_expressions() {
        "Firehose requires an error prefix containing !{firehose:error-output-type} when the prefix uses expressions"
    } else if error.has_expressions() {
        "Firehose requires !{firehose:error-output-type} in an error prefix that uses expressions; add it, e.g. errors/!{firehose:error-output-type}/"
    } else {
        return;
    };
    e.push(
        "spec.delivery.errorOutputPrefix",
        quoted(&d.error_output_prefix),
        why,
    );
}

/// What Firehose receives (the prefixes with the layout's partitions) evaluates to at most 512
/// characters.
fn validate_evaluated_length(e: &mut Errors, d: &Delivery) {
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
}
