//! The fluentd routes of one pipeline as configuration text. Pure: the same spec and stages give
//! the same bytes (the reload annotation is their hash).
//!
//! Each route is a `<match>` with `@type copy` and, by its stage, the legacy store, a
//! `cloudwatch_logs` store (fluent-plugin-cloudwatch-logs) or both. The store that is not
//! authoritative comes first and is `ignore_error`, so that its failure never stalls the one
//! that is: the new store at `Shadow`, the legacy one at `Primary`. Each store buffers in its
//! own directory per route (fluentd refuses two outputs sharing a buffer path), retries for ever
//! with a bounded wait, and overflows by the spec's choice only while it is authoritative.

use crate::names::PipelineId;
use crate::spec::{
    BufferKind, CloudWatchBuffer, CutoverStage, FluentdLegacy, FluentdRoute, FluentdTarget,
    OverflowAction,
};
use sha2::{Digest, Sha256};
use std::fmt::Write;

/// The header line that names the pipeline a rendered key belongs to.
pub const OWNER_LINE: &str = "# pitagora.dev/pipeline: ";

pub use crate::spec::ROUTE_PLACEHOLDER;

/// One route and the stage it is rendered at.
#[derive(Clone, Copy, Debug)]
pub struct RouteAt<'a> {
    /// The route.
    pub route: &'a FluentdRoute,
    /// Its stage.
    pub stage: CutoverStage,
}

/// The configuration text of `id`'s routes, each at its stage.
pub fn render(id: &PipelineId, legacy: &FluentdLegacy, region: &str, routes: &[RouteAt]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{OWNER_LINE}{id}");
    let _ = writeln!(
        out,
        "# Rendered by pitagora from LogPipeline {id}: do not edit, changes are reverted.\n\
         # Each route sends its tags to the legacy aggregator, to CloudWatch Logs, or both, by its\n\
         # cutover stage; a store marked ignore_error never holds up the one after it."
    );
    for r in routes {
        out.push('\n');
        let _ = writeln!(
            out,
            "# {} -> {} (stage {})",
            r.route.r#match, r.route.log_group, r.stage
        );
        let _ = writeln!(out, "<match {}>", r.route.r#match);
        out.push_str("  @type copy\n");
        let slug = route_slug(id, r.route);
        let cloudwatch = CloudWatchRoute {
            route: r.route,
            region,
            buffer: &legacy.cloud_watch_buffer,
            slug: &slug,
        };
        // The store that is not authoritative comes first and is ignore_error: copy skips its
        // failure and goes on to the authoritative one, whose failure the input retries.
        match r.stage {
            CutoverStage::Legacy => legacy_store(&mut out, legacy, &slug, true),
            CutoverStage::Shadow => {
                cloudwatch_store(&mut out, &cloudwatch, false);
                legacy_store(&mut out, legacy, &slug, true);
            }
            CutoverStage::Primary => {
                legacy_store(&mut out, legacy, &slug, false);
                cloudwatch_store(&mut out, &cloudwatch, true);
            }
            CutoverStage::New => cloudwatch_store(&mut out, &cloudwatch, true),
        }
        out.push_str("</match>\n");
    }
    out
}

/// `sha256:` and the first 16 hex digits of the text's digest: the reload annotation's value.
pub fn config_hash(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A name unique to the route that survives reordering the routes: the pipeline, the match
/// pattern made path-safe, and a digest of the pattern.
pub fn route_slug(id: &PipelineId, route: &FluentdRoute) -> String {
    let safe: String = route
        .r#match
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => c,
            _ => '_',
        })
        .take(48)
        .collect();
    let digest = Sha256::digest(route.r#match.as_bytes());
    let short: String = digest[..4].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}.{}.{safe}-{short}", id.namespace, id.name)
}

fn store_open(out: &mut String, ignore_error: bool) {
    out.push_str(if ignore_error {
        "  <store ignore_error>\n"
    } else {
        "  <store>\n"
    });
}

/// The longest wait between two retries of a failed flush: with `retry_forever`, fluentd's
/// exponential backoff would otherwise grow without bound, and a store whose peer returned after
/// a day's outage would wait about as long again before it sends.
pub const RETRY_MAX_INTERVAL: &str = "30s";

/// The longest message, in characters, the CloudWatch store sends. fluent-plugin-cloudwatch-logs
/// discards an event above CloudWatch Logs' 256 KB (262,144 bytes with its 26-byte header) and,
/// with it, every later event of the same flush; 65,529 characters stay under that limit even
/// at four bytes each, so an oversized event is cut instead of taking others with it.
pub const MAX_MESSAGE_LENGTH: u32 = 65_529;

fn legacy_store(out: &mut String, legacy: &FluentdLegacy, slug: &str, authoritative: bool) {
    store_open(out, !authoritative);
    match (&legacy.target, &legacy.store) {
        (_, Some(verbatim)) => {
            for line in verbatim.replace(ROUTE_PLACEHOLDER, slug).trim_end().lines() {
                if line.trim().is_empty() {
                    out.push('\n');
                } else {
                    let _ = writeln!(out, "    {}", line.trim_end());
                }
            }
        }
        (Some(target), None) => forward(out, target, slug, authoritative),
        // Validation requires one of the two.
        (None, None) => out.push_str("    @type null\n"),
    }
    out.push_str("  </store>\n");
}

/// The forward store. `ignore_network_errors_at_startup`: fluentd resolves each server when it
/// starts and, without it, exits when the aggregator's name does not resolve — taking every
/// route, the CloudWatch store with them, down with the aggregator's Service or a DNS hiccup.
fn forward(out: &mut String, t: &FluentdTarget, slug: &str, authoritative: bool) {
    let b = &t.buffer;
    let _ = write!(
        out,
        "    @type forward\n    ignore_network_errors_at_startup true\n    <server>\n      host {}\n      port {}\n    </server>\n",
        t.host, t.port
    );
    let path = format!("{}/{slug}", b.path.trim_end_matches('/'));
    let kind = match b.kind {
        BufferKind::File => Some(path.as_str()),
        BufferKind::Memory => None,
    };
    buffer(
        out,
        &Buffer {
            file: kind,
            flush_interval_seconds: b.flush_interval_seconds,
            chunk_limit_size: &b.chunk_limit_size,
            total_limit_size: &b.total_limit_size,
            overflow: overflow(b.overflow_action, authoritative),
            retry_forever: b.retry_forever,
        },
    );
}

/// The CloudWatch Logs store (fluent-plugin-cloudwatch-logs): a file buffer retried for ever,
/// and `put_log_events_disable_retry_limit`, without which the plugin discards a batch
/// CloudWatch Logs throttled 18 times in a row instead of retrying it.
fn cloudwatch_store(out: &mut String, r: &CloudWatchRoute, authoritative: bool) {
    store_open(out, !authoritative);
    let _ = writeln!(
        out,
        "    @type cloudwatch_logs\n    region {}\n    log_group_name {}",
        r.region, r.route.log_group
    );
    match &r.route.log_stream {
        Some(stream) => {
            let _ = writeln!(out, "    log_stream_name {stream}");
        }
        None => out.push_str("    use_tag_as_stream true\n"),
    }
    let _ = writeln!(
        out,
        "    auto_create_stream true\n    put_log_events_disable_retry_limit true\n    max_message_length {MAX_MESSAGE_LENGTH}"
    );
    let b = r.buffer;
    let path = format!("{}/{}", b.path.trim_end_matches('/'), r.slug);
    buffer(
        out,
        &Buffer {
            file: Some(&path),
            flush_interval_seconds: b.flush_interval_seconds,
            chunk_limit_size: &b.chunk_limit_size,
            total_limit_size: &b.total_limit_size,
            overflow: overflow(b.overflow_action, authoritative),
            retry_forever: true,
        },
    );
    out.push_str("  </store>\n");
}

/// One route's CloudWatch store: the route, where it is, and its buffer.
struct CloudWatchRoute<'a> {
    route: &'a FluentdRoute,
    region: &'a str,
    buffer: &'a CloudWatchBuffer,
    slug: &'a str,
}

/// A store's `<buffer>` section.
struct Buffer<'a> {
    /// The file buffer's path; `None`: in memory.
    file: Option<&'a str>,
    flush_interval_seconds: i32,
    chunk_limit_size: &'a str,
    total_limit_size: &'a str,
    overflow: &'static str,
    retry_forever: bool,
}

fn buffer(out: &mut String, b: &Buffer) {
    out.push_str("    <buffer>\n");
    match b.file {
        Some(path) => {
            let _ = writeln!(out, "      @type file\n      path {path}");
        }
        None => out.push_str("      @type memory\n"),
    }
    let _ = write!(
        out,
        "      flush_interval {}s\n      chunk_limit_size {}\n      total_limit_size {}\n      overflow_action {}\n      retry_forever {}\n      retry_max_interval {RETRY_MAX_INTERVAL}\n    </buffer>\n",
        b.flush_interval_seconds,
        b.chunk_limit_size,
        b.total_limit_size,
        b.overflow,
        b.retry_forever
    );
}

/// The `overflow_action` of a store: the spec's choice while it carries the logs; otherwise
/// `throw_exception`, which `ignore_error` skips — `block` would stall the input, and with it the
/// authoritative store after this one.
fn overflow(action: OverflowAction, authoritative: bool) -> &'static str {
    match (authoritative, action) {
        (false, _) | (true, OverflowAction::ThrowException) => "throw_exception",
        (true, OverflowAction::Block) => "block",
        (true, OverflowAction::DropOldestChunk) => "drop_oldest_chunk",
    }
}
