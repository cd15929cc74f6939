//! The `audit` command: for each pipeline, the events CloudWatch Logs holds for the window
//! compared with those delivered to S3 (see [`crate::delivery_io::audit`]), printed as text or as
//! JSON (docs/audit.md). Pipelines are audited one after the other: each holds its window's
//! events in memory.

use super::{AuditArgs, AwsArgs, CliError, Exit, Files, TextOrJson, Time, apply::prepare};
use crate::delivery::audit::{Audit, Counts, Exactness, GroupAudit, Window};
use crate::delivery_io::audit::{self, Progress, Request};
use crate::engine::Engine;
use crate::load::Loaded;
use crate::read::Hints;
use crate::report::text;
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// The version of the JSON shape; changes that break readers bump it.
const JSON_VERSION: u32 = 1;

/// `--since`/`--until`: an RFC 3339 timestamp, or a duration ago (`90m`, `2h`, `1d`, `30s`).
pub(super) fn parse_time(text: &str) -> Result<Time, String> {
    let unit_ms = match text.chars().last() {
        Some('s') => Some(1_000),
        Some('m') => Some(60_000),
        Some('h') => Some(3_600_000),
        Some('d') => Some(86_400_000),
        _ => None,
    };
    // The unit is one ASCII character, so the amount is the text before it.
    let amount = unit_ms.and_then(|_| text[..text.len() - 1].parse::<i64>().ok());
    if let (Some(unit), Some(n)) = (unit_ms, amount) {
        return n
            .checked_mul(unit)
            .filter(|ms| *ms >= 0)
            .map(Time::Ago)
            .ok_or_else(|| format!("{text:?}: duration out of range"));
    }
    text.parse::<Timestamp>()
        .map(|t| Time::At(t.as_millisecond()))
        .map_err(|_| {
            format!("{text:?}: expected an RFC 3339 timestamp or a duration ago like 90m, 2h, 1d")
        })
}

/// One pipeline's outcome.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    /// `<namespace>/<name>`.
    pipeline: String,
    /// The file (and document) it came from.
    source: String,
    /// `complete`, `missing` or `error`.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audit: Option<Audit>,
}

/// The JSON document.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report<'a> {
    version: u32,
    since: String,
    until: String,
    pipelines: &'a [Outcome],
}

/// `audit`: exits 0 (complete), 2 (events missing) or 1 (any error).
pub(super) async fn audit(
    files: &Files,
    aws: &AwsArgs,
    options: &AuditArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let now_ms = Timestamp::now().as_millisecond();
    let window = Window {
        since_ms: options.since.resolve(now_ms),
        until_ms: options.until.map_or(now_ms, |t| t.resolve(now_ms)),
    };
    if window.since_ms >= window.until_ms {
        writeln!(err, "error: --since must be before --until (or now)")?;
        return Ok(Exit::Error);
    }
    let Some((report, engine)) = prepare(files, aws, err).await? else {
        return Ok(Exit::Error);
    };
    let mut outcomes = Vec::new();
    for p in &report.pipelines {
        let result = audit_one(&engine, p, window, now_ms, options.max_events).await;
        if let Err(e) = &result {
            writeln!(err, "LogPipeline {}: error: {e}", p.id())?;
        }
        outcomes.push(outcome(p, result));
    }
    match options.format {
        TextOrJson::Text => write_text(&outcomes, window, out)?,
        TextOrJson::Json => write_json(&outcomes, window, out)?,
    }
    writeln!(err, "{}", text::calls(&engine.aws().calls().snapshot()))?;
    Ok(exit(&outcomes))
}

/// Audits one pipeline, with a progress line on a terminal.
async fn audit_one(
    engine: &Engine,
    p: &Loaded,
    window: Window,
    now_ms: i64,
    max_events: usize,
) -> Result<Audit, String> {
    let pipeline = engine
        .resolve(p.valid.clone())
        .await
        .map_err(|e| e.to_string())?;
    let check = engine
        .check(&pipeline, &Hints::default())
        .await
        .map_err(|e| e.to_string())?;
    let mut request = Request::new(&pipeline, &check, window, now_ms);
    request.max_events = max_events;
    // Each source group is read in its account and region: a remote source's with the
    // accounts file's role there.
    let places = engine.places_for(&check.desired);
    let terminal = std::io::stderr().is_terminal();
    let id = p.id().to_string();
    let mut show = |step: Progress| {
        if terminal {
            let _ = write!(std::io::stderr(), "\r\x1b[2K{}", progress_line(&id, step));
        }
    };
    let result = audit::audit(&places, &request, &mut show).await;
    if terminal {
        let _ = write!(std::io::stderr(), "\r\x1b[2K");
    }
    result.map_err(|e| e.to_string())
}

fn progress_line(id: &str, step: Progress) -> String {
    match step {
        Progress::Logged { events, groups, of } => {
            format!(
                "LogPipeline {id}: {events} events read from CloudWatch Logs ({groups}/{of} groups)"
            )
        }
        Progress::Read { objects, of } => {
            format!("LogPipeline {id}: {objects}/{of} objects read from S3")
        }
    }
}

fn outcome(p: &Loaded, result: Result<Audit, String>) -> Outcome {
    let (status, error, audit) = match result {
        Ok(a) if a.complete() => ("complete", None, Some(a)),
        Ok(a) => ("missing", None, Some(a)),
        Err(e) => ("error", Some(e), None),
    };
    Outcome {
        pipeline: p.id().to_string(),
        source: p.source.clone(),
        status,
        error,
        audit,
    }
}

/// Errors exit 1 whatever else was found: an audit that failed is never "complete".
fn exit(outcomes: &[Outcome]) -> Exit {
    if outcomes.iter().any(|o| o.status == "error") {
        Exit::Error
    } else if outcomes.iter().any(|o| o.status == "missing") {
        Exit::Missing
    } else {
        Exit::Ok
    }
}

fn rfc3339(ms: i64) -> String {
    Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

fn write_json(outcomes: &[Outcome], w: Window, out: &mut dyn Write) -> Result<(), CliError> {
    let report = Report {
        version: JSON_VERSION,
        since: rfc3339(w.since_ms),
        until: rfc3339(w.until_ms),
        pipelines: outcomes,
    };
    let json =
        serde_json::to_string_pretty(&report).map_err(|e| CliError::Serialise(e.to_string()))?;
    writeln!(out, "{json}")?;
    Ok(())
}

fn write_text(outcomes: &[Outcome], w: Window, out: &mut dyn Write) -> Result<(), CliError> {
    let (since, until) = (rfc3339(w.since_ms), rfc3339(w.until_ms));
    writeln!(out, "audit of events from {since} to {until}")?;
    for o in outcomes {
        let Some(a) = &o.audit else {
            writeln!(out, "LogPipeline {}: error", o.pipeline)?;
            continue;
        };
        write_audit(&o.pipeline, a, out)?;
    }
    Ok(())
}

fn write_audit(pipeline: &str, a: &Audit, out: &mut dyn Write) -> Result<(), CliError> {
    let t = &a.totals;
    let status = if a.complete() {
        "complete".to_owned()
    } else {
        format!("{} events missing", t.missing)
    };
    let how = match a.exactness {
        Exactness::ById => "by event id",
        Exactness::ByCount => {
            "by count: the NDJSON record format keeps no event ids, so pipeline totals only"
        }
    };
    writeln!(
        out,
        "LogPipeline {pipeline}: {status} — {} of {} logged events delivered ({how})",
        t.delivered, t.logged
    )?;
    writeln!(out, "  total: {}", counts(t))?;
    for g in &a.groups {
        write_group(g, out)?;
    }
    if a.objects_unreadable > 0 {
        writeln!(
            out,
            "  note: {} of the window's objects could not be read; their events count as missing",
            a.objects_unreadable
        )?;
    }
    if !a.settled {
        writeln!(
            out,
            "  note: the window ended less than the buffering interval plus {} min ago: events \
             still buffered count as missing",
            crate::delivery::audit::LATENESS_MARGIN_MS / 60_000
        )?;
    }
    Ok(())
}

fn write_group(g: &GroupAudit, out: &mut dyn Write) -> Result<(), CliError> {
    let filter = if g.subscribed {
        ""
    } else {
        " (does not carry the pipeline's subscription filter)"
    };
    // A remote source's group is named as its filter is in plans: `<account>/<region>:<group>`.
    let name = match &g.place {
        Some(place) => format!("{place}:{}", g.log_group),
        None => g.log_group.clone(),
    };
    writeln!(out, "  {name}{filter}: {}", counts(&g.counts))?;
    if !g.missing_ids.is_empty() {
        let more = match g.missing_ids_not_listed {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        writeln!(out, "    missing ids: {}{more}", g.missing_ids.join(", "))?;
    }
    Ok(())
}

fn counts(c: &Counts) -> String {
    let mut parts = vec![
        format!("{} logged", c.logged),
        format!("{} delivered", c.delivered),
        format!("{} missing", c.missing),
    ];
    if let Some(n) = c.duplicated {
        parts.push(format!("{n} duplicated"));
    }
    if let Some(n) = c.late {
        parts.push(format!("{n} late"));
    }
    parts.push(format!("{} unexpected", c.unexpected));
    parts.join(", ")
}
