//! The `verify` command: one canary per pipeline now, waited for at each stage, then a per-stage
//! result with latencies, and the loss signals of the last minutes (metrics, error objects).
//! Exit 0 when every canary reached every stage and no loss signal showed, 1 otherwise.

use super::{AwsArgs, CliError, Exit, Files, VerifyFormat, engine, print_problems, probe};
use crate::aws::AwsError;
use crate::delivery::canary::Canary;
use crate::delivery::progress::{CanaryRoute, Evidence, Outcome, StageState, Tracked, stopped_at};
use crate::engine::{Engine, EngineError, LossReadError};
use crate::load::{self, Loaded};
use crate::read::Hints;
use crate::report;
use futures::StreamExt;
use k8s_openapi::jiff::Timestamp;
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// How often a waiting canary is looked for again (the controller polls less often).
const POLL: Duration = Duration::from_secs(5);

/// `verify`'s options.
#[derive(Clone, Debug)]
pub(super) struct Options {
    /// Longest wait (default: each stage's deadline).
    pub timeout: Option<Duration>,
    /// Output format.
    pub format: VerifyFormat,
    /// Pipelines verified at once.
    pub concurrency: u16,
}

/// One pipeline's verification.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
struct Verified {
    pipeline: String,
    source: String,
    delivered: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    canary: Option<CanaryOut>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stages: Vec<StageOut>,
    /// Each remote source's path, proven by a canary of its own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    paths: Vec<PathOut>,
    /// The link where the canary stopped, or the remote paths whose canary did not arrive.
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_at: Option<String>,
    /// Why, when pitagora's check saw a cause.
    #[serde(skip_serializing_if = "Option::is_none")]
    cause: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// The chain, for the Markdown picture.
    #[serde(skip)]
    chain: Option<report::Chain>,
    /// What the delivery metrics and the error prefix say over the last minutes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    loss_signals: Vec<crate::spec::LossSignal>,
    /// Why they could not be read (the canary's verdict stands without them).
    #[serde(skip_serializing_if = "Option::is_none")]
    loss_signals_error: Option<String>,
    /// That error's stable label (e.g. `NotServed`: the endpoint serves no CloudWatch metrics).
    #[serde(skip_serializing_if = "Option::is_none")]
    loss_signals_error_label: Option<&'static str>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct CanaryOut {
    id: String,
    sent_at: String,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct StageOut {
    stage: String,
    target: &'static str,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    object: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct PathOut {
    path: String,
    id: String,
    state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<i64>,
}

#[derive(Serialize)]
struct Output<'a> {
    pipelines: &'a [Verified],
    delivered: usize,
    failed: usize,
}

/// `verify`: sends, waits, reports; exit 0 only when every stage of every pipeline delivered
/// and no loss signal showed.
pub(super) async fn verify(
    files: &Files,
    aws: &AwsArgs,
    options: &Options,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<Exit, CliError> {
    let engine = engine(aws).await?;
    let region = engine.default_region();
    let loaded = load::load_paths(&files.paths, files.defaults(region.as_deref()))?;
    let invalid = print_problems(&loaded, err)?;
    let reachable = probe(&engine, &loaded.pipelines).await;
    let total = loaded.pipelines.len();
    let progress = std::io::stderr().is_terminal() && total > 0;
    let mut done = 0;
    let results: Vec<Verified> = futures::stream::iter(&loaded.pipelines)
        .map(|p| {
            let (engine, reachable) = (&engine, &reachable);
            async move {
                match reachable {
                    Ok(()) => one(engine, p, options.timeout).await,
                    Err(e) => failed(p, e.to_string()),
                }
            }
        })
        .buffered(usize::from(options.concurrency))
        .inspect(|_| {
            done += 1;
            if progress {
                let _ = write!(std::io::stderr(), "\rcanaries settled: {done}/{total}");
            }
        })
        .collect()
        .await;
    if progress {
        let _ = writeln!(std::io::stderr());
    }
    let delivered = results.iter().filter(|r| r.delivered).count();
    let lossy = results.iter().any(|r| !r.loss_signals.is_empty());
    match options.format {
        VerifyFormat::Json => {
            let output = Output {
                pipelines: &results,
                delivered,
                failed: results.len() - delivered,
            };
            let json = serde_json::to_string_pretty(&output)
                .map_err(|e| CliError::Serialise(e.to_string()))?;
            writeln!(out, "{json}")?;
        }
        VerifyFormat::Text => {
            for r in &results {
                write_text(r, out)?;
            }
        }
        VerifyFormat::Markdown => {
            for r in &results {
                write_markdown(r, out)?;
            }
        }
    }
    writeln!(
        err,
        "{}",
        report::text::calls(&engine.aws().calls().snapshot())
    )?;
    Ok(
        if invalid || lossy || delivered < results.len() || results.is_empty() {
            Exit::Error
        } else {
            Exit::Ok
        },
    )
}

fn failed(p: &Loaded, error: String) -> Verified {
    Verified {
        pipeline: p.id().to_string(),
        source: p.source.clone(),
        error: Some(error),
        ..Verified::default()
    }
}

/// Verifies one pipeline: check (for the route and the evidence), send, wait, report.
async fn one(engine: &Engine, p: &Loaded, timeout: Option<Duration>) -> Verified {
    match sent_and_waited(engine, p, timeout).await {
        Ok(v) => v,
        Err(e) => failed(p, e.to_string()),
    }
}

async fn sent_and_waited(
    engine: &Engine,
    p: &Loaded,
    timeout: Option<Duration>,
) -> Result<Verified, EngineError> {
    let pipeline = engine.resolve(p.valid.clone()).await?;
    let check = engine.check(&pipeline, &Hints::default()).await?;
    let Some(route) = check.desired.canary_route.clone() else {
        return Ok(failed(
            p,
            "delivery.verify.enabled is false: there is no canary log group to send to".into(),
        ));
    };
    let resources = report::resources(&check);
    let evidence = Evidence::from_resources(
        &route,
        resources
            .iter()
            .map(|r| (r.kind, r.name.as_str(), r.state.as_str())),
    );
    let region = &check.desired.target.region;
    let now = now_ms();
    let nonce = u64::from(std::process::id()) << 32
        | u64::from(Timestamp::now().subsec_nanosecond() as u32);
    let canary = Canary::new(&p.id().to_string(), now, nonce);
    let mut tracked = engine
        .send_canary(&p.id().namespace, region, &route, canary, now)
        .await?;
    let give_up = timeout.map(|t| now + t.as_millis() as i64);
    while !tracked.settled() {
        let now = now_ms();
        let deadline = tracked.in_flight(&route).next_deadline_ms.unwrap_or(now);
        let until = give_up.map_or(deadline, |g| g.min(deadline));
        if give_up.is_some_and(|g| now >= g) {
            break;
        }
        let wait = (until - now).clamp(0, POLL.as_millis() as i64);
        tokio::time::sleep(Duration::from_millis(wait as u64)).await;
        engine
            .look_for_canary(&p.id().namespace, region, &route, &mut tracked, now_ms())
            .await?;
    }
    let mut verified = result(p, &route, &tracked, &evidence);
    let groups = check.observed.signal_sources(&check.desired);
    let now = now_ms();
    let since = now - crate::delivery::signals::WINDOW_MS;
    let read = engine
        .loss_signals(&check.desired, &groups, since, now)
        .await;
    verified.loss_signals = read.signals.iter().map(Into::into).collect();
    if !read.errors.is_empty() {
        let each: Vec<String> = read.errors.iter().map(unread).collect();
        verified.loss_signals_error = Some(each.join("; "));
        verified.loss_signals_error_label = read.errors.first().map(LossReadError::label);
    }
    let mut chain = report::chain(&check);
    chain.canary_stopped_at = stopped_link(&tracked, &evidence).map(|l| l.label());
    verified.chain = Some(chain);
    Ok(verified)
}

/// Why a part of the loss signals was not read, in words, led by the remote source's place
/// when it was one's: an endpoint without CloudWatch's metrics (an emulator) is named as such,
/// not as the answer it gave.
fn unread(e: &LossReadError) -> String {
    let why = match e.aws() {
        AwsError::NotServed {
            operation, status, ..
        } if operation.starts_with("CloudWatch.") => format!(
            "the endpoint does not serve CloudWatch metrics ({operation} answered HTTP {status})"
        ),
        other => other.to_string(),
    };
    match e.place() {
        Some(place) => format!("{place}: {why}"),
        None => why,
    }
}

/// The link where a canary stopped, or would have if it is still waiting (`--timeout` ran out).
fn stopped_link(t: &Tracked, evidence: &Evidence) -> Option<crate::delivery::progress::Link> {
    t.stages
        .iter()
        .find(|(_, s)| !matches!(s, StageState::Delivered { .. }))
        .map(|(stage, _)| stopped_at(*stage, evidence))
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

fn result(p: &Loaded, route: &CanaryRoute, t: &Tracked, evidence: &Evidence) -> Verified {
    let stages = t
        .stages
        .iter()
        .map(|(stage, state)| StageOut {
            stage: route.stage_name(*stage),
            target: stage.label(),
            state: state.label(),
            latency_ms: t.found_at(*stage).map(|at| at - t.canary.sent_at_ms),
            object: match state {
                StageState::Delivered { object, .. } => Some(object.clone()),
                _ => None,
            },
        })
        .collect();
    // A stage still waiting when `--timeout` ran out stopped the canary as much as a missing one.
    let link = stopped_link(t, evidence);
    let paths: Vec<PathOut> = (t.paths.iter())
        .map(|p| PathOut {
            path: p.path.name(),
            id: p.canary.id.clone(),
            state: p.state.label(),
            latency_ms: p.latency_ms(),
        })
        .collect();
    let undelivered: Vec<&str> = (paths.iter())
        .filter(|p| p.latency_ms.is_none())
        .map(|p| p.path.as_str())
        .collect();
    // The own path's link first; else the remote paths whose canary did not arrive.
    let stopped = match link {
        Some(l) => Some(route.link_name(l)),
        None if !undelivered.is_empty() => Some(undelivered.join(", ")),
        None => None,
    };
    Verified {
        pipeline: p.id().to_string(),
        source: p.source.clone(),
        delivered: t.outcome() == Outcome::Delivered && undelivered.is_empty(),
        paths,
        canary: Some(CanaryOut {
            id: t.canary.id.clone(),
            sent_at: Timestamp::from_millisecond(t.canary.sent_at_ms)
                .map(|ts| ts.to_string())
                .unwrap_or_default(),
        }),
        stages,
        stopped_at: stopped,
        cause: match (link, &evidence.subscription_broken) {
            (Some(crate::delivery::progress::Link::Subscription), Some(e)) => Some(e.clone()),
            (Some(_), _) => None,
            // The remote paths whose canary did not arrive, where the check saw why (or why it
            // could not be sent).
            (None, _) => Some(
                (t.paths.iter())
                    .filter(|p| p.latency_ms().is_none())
                    .filter_map(|p| {
                        (p.not_sent()).or_else(|| evidence.paths_broken.get(&p.path.key()).cloned())
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
            )
            .filter(|c| !c.is_empty()),
        },
        ..Verified::default()
    }
}

fn write_text(r: &Verified, out: &mut dyn Write) -> Result<(), CliError> {
    if let Some(e) = &r.error {
        writeln!(out, "LogPipeline {} ({}): error: {e}", r.pipeline, r.source)?;
        return Ok(());
    }
    let verdict = if r.delivered {
        "delivered".to_owned()
    } else {
        let at = r.stopped_at.as_deref().unwrap_or("?");
        match &r.cause {
            Some(cause) => format!("NOT DELIVERED: stopped at {at} ({cause})"),
            None => format!("NOT DELIVERED: stopped at {at}"),
        }
    };
    writeln!(out, "LogPipeline {} ({}): {verdict}", r.pipeline, r.source)?;
    if let Some(c) = &r.canary {
        writeln!(out, "  canary {} sent at {}", c.id, c.sent_at)?;
    }
    let width = r
        .stages
        .iter()
        .map(|s| s.stage.chars().count())
        .max()
        .unwrap_or(0);
    for s in &r.stages {
        let detail = match (s.latency_ms, &s.object) {
            (Some(ms), Some(object)) => {
                format!("delivered after {:.1} s  {object}", ms as f64 / 1000.0)
            }
            _ => s.state.to_lowercase(),
        };
        writeln!(out, "  {:<width$}  {detail}", s.stage)?;
    }
    for p in &r.paths {
        let detail = match p.latency_ms {
            Some(ms) => format!("delivered after {:.1} s", ms as f64 / 1000.0),
            None => p.state.to_lowercase(),
        };
        writeln!(out, "  {}  canary {}  {detail}", p.path, p.id)?;
    }
    for l in &r.loss_signals {
        writeln!(out, "  LOSS {} {}: {}", l.kind, l.resource, l.message)?;
    }
    match &r.loss_signals_error {
        Some(e) => writeln!(out, "  loss signals not read: {e}")?,
        None if r.loss_signals.is_empty() => writeln!(
            out,
            "  loss signals: none in the last {} min (delivery metrics, error objects)",
            crate::delivery::signals::WINDOW_MS / 60_000
        )?,
        None => {}
    }
    Ok(())
}

fn write_markdown(r: &Verified, out: &mut dyn Write) -> Result<(), CliError> {
    let verdict = match (&r.error, r.delivered) {
        (Some(e), _) => format!("error: {e}"),
        (None, true) => "delivered".to_owned(),
        (None, false) => format!(
            "**not delivered**: stopped at {}{}",
            r.stopped_at.as_deref().unwrap_or("?"),
            r.cause
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        ),
    };
    writeln!(out, "### LogPipeline {}: {verdict}\n", r.pipeline)?;
    if let Some(c) = &r.canary {
        writeln!(
            out,
            "Canary `{}` sent at {} from `{}`.\n",
            c.id, c.sent_at, r.source
        )?;
        writeln!(
            out,
            "| stage | state | latency | object |\n|---|---|---|---|"
        )?;
        for s in &r.stages {
            let latency = s
                .latency_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                .unwrap_or_default();
            let object = s
                .object
                .as_deref()
                .map(|o| format!("`{o}`"))
                .unwrap_or_default();
            writeln!(out, "| {} | {} | {latency} | {object} |", s.stage, s.state)?;
        }
        for p in &r.paths {
            let latency = p
                .latency_ms
                .map(|ms| format!("{:.1} s", ms as f64 / 1000.0))
                .unwrap_or_default();
            writeln!(out, "| {} | {} | {latency} | |", p.path, p.state)?;
        }
        writeln!(out)?;
    }
    if let Some(chain) = &r.chain {
        writeln!(
            out,
            "```mermaid\n{}```\n",
            report::mermaid::flowchart(chain)
        )?;
    }
    Ok(())
}
