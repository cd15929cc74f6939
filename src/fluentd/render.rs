//! The fluentd routes of one pipeline as configuration text. Pure: the same spec and stages give
//! the same bytes (the reload annotation is their hash).
//!
//! Each route is a `<match>` with `@type copy` and, by its stage, the legacy store, a
//! `cloudwatch_logs` store (fluent-plugin-cloudwatch-logs) or both. The store that is not
//! authoritative comes first and is `ignore_error`, so that its failure never stalls the one
//! that is: the new store at `Shadow`, the legacy one at `Primary`.

use crate::names::PipelineId;
use crate::spec::{
    BufferKind, CutoverStage, FluentdLegacy, FluentdRoute, FluentdTarget, OverflowAction,
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
        // The store that is not authoritative comes first and is ignore_error: copy skips its
        // failure and goes on to the authoritative one, whose failure the input retries.
        match r.stage {
            CutoverStage::Legacy => legacy_store(&mut out, legacy, &slug, false),
            CutoverStage::Shadow => {
                cloudwatch_store(&mut out, r.route, region, true);
                legacy_store(&mut out, legacy, &slug, false);
            }
            CutoverStage::Primary => {
                legacy_store(&mut out, legacy, &slug, true);
                cloudwatch_store(&mut out, r.route, region, false);
            }
            CutoverStage::New => cloudwatch_store(&mut out, r.route, region, false),
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

fn legacy_store(out: &mut String, legacy: &FluentdLegacy, slug: &str, ignore_error: bool) {
    store_open(out, ignore_error);
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
        (Some(target), None) => forward(out, target, slug),
        // Validation requires one of the two.
        (None, None) => out.push_str("    @type null\n"),
    }
    out.push_str("  </store>\n");
}

fn forward(out: &mut String, t: &FluentdTarget, slug: &str) {
    let b = &t.buffer;
    let _ = write!(
        out,
        "    @type forward\n    <server>\n      host {}\n      port {}\n    </server>\n    <buffer>\n",
        t.host, t.port
    );
    match b.kind {
        BufferKind::File => {
            let _ = writeln!(
                out,
                "      @type file\n      path {}/{slug}",
                b.path.trim_end_matches('/')
            );
        }
        BufferKind::Memory => out.push_str("      @type memory\n"),
    }
    let overflow = match b.overflow_action {
        OverflowAction::ThrowException => "throw_exception",
        OverflowAction::Block => "block",
        OverflowAction::DropOldestChunk => "drop_oldest_chunk",
    };
    let _ = write!(
        out,
        "      flush_interval {}s\n      chunk_limit_size {}\n      total_limit_size {}\n      overflow_action {overflow}\n      retry_forever {}\n    </buffer>\n",
        b.flush_interval_seconds, b.chunk_limit_size, b.total_limit_size, b.retry_forever
    );
}

fn cloudwatch_store(out: &mut String, route: &FluentdRoute, region: &str, ignore_error: bool) {
    store_open(out, ignore_error);
    let _ = writeln!(
        out,
        "    @type cloudwatch_logs\n    region {region}\n    log_group_name {}",
        route.log_group
    );
    match &route.log_stream {
        Some(stream) => {
            let _ = writeln!(out, "    log_stream_name {stream}");
        }
        None => out.push_str("    use_tag_as_stream true\n"),
    }
    out.push_str("    auto_create_stream true\n  </store>\n");
}
