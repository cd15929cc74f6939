//! `pitagora status` — also `kubectl pitagora status` when the binary is installed as
//! `kubectl-pitagora` on the PATH: what the controller last wrote into each `LogPipeline`'s status
//! (stage, readiness, delivery, the last canary, drift items), read from the cluster alone; no
//! AWS credentials are needed. Rendering is a pure function of the objects and the time.

use super::CliError;
use crate::spec::{LogPipeline, LogPipelineStatus};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use std::fmt::Write as _;
use std::io::Write;

/// Which pipelines to show.
#[derive(Debug, Clone)]
pub struct Selection {
    /// One namespace (`None`: the kubeconfig's, or every namespace with `all`).
    pub namespace: Option<String>,
    /// Every namespace.
    pub all: bool,
    /// One pipeline by name.
    pub name: Option<String>,
}

/// Reads the selected pipelines and prints their status.
pub async fn status(which: &Selection, out: &mut dyn Write) -> Result<super::Exit, CliError> {
    let client = kube::Client::try_default().await.map_err(CliError::Kube)?;
    let api: Api<LogPipeline> = match (&which.namespace, which.all) {
        (_, true) => Api::all(client),
        (Some(ns), false) => Api::namespaced(client, ns),
        (None, false) => Api::default_namespaced(client),
    };
    let mut pipelines = match &which.name {
        Some(name) => match api.get_opt(name).await.map_err(CliError::Kube)? {
            Some(p) => vec![p],
            None => return Err(CliError::NotFound(name.clone())),
        },
        None => {
            api.list(&ListParams::default())
                .await
                .map_err(CliError::Kube)?
                .items
        }
    };
    pipelines.sort_by_key(|p| (p.metadata.namespace.clone(), p.metadata.name.clone()));
    out.write_all(render(&pipelines, Timestamp::now()).as_bytes())?;
    Ok(super::Exit::Ok)
}

/// The status table and, under it, what needs a look: where delivery stopped, loss signals,
/// drift items, blocked cutovers, the last error.
pub fn render(pipelines: &[LogPipeline], now: Timestamp) -> String {
    if pipelines.is_empty() {
        return "No LogPipelines found.\n".into();
    }
    let mut rows = vec![
        [
            "NAMESPACE",
            "NAME",
            "STAGE",
            "READY",
            "DELIVERING",
            "LAST CANARY",
            "LATENCY",
            "DRIFT",
        ]
        .map(String::from),
    ];
    let mut notes = String::new();
    for p in pipelines {
        let ns = p.metadata.namespace.clone().unwrap_or_default();
        let name = p.metadata.name.clone().unwrap_or_default();
        let s = p.status.clone().unwrap_or_default();
        rows.push([
            ns.clone(),
            name.clone(),
            s.stage.clone().unwrap_or_else(|| "-".into()),
            condition(&s, "Ready"),
            condition(&s, "Delivering"),
            last_canary(&s, now),
            latency(&s),
            s.drift_count.unwrap_or(0).to_string(),
        ]);
        notes.push_str(&details(&format!("{ns}/{name}"), &s));
    }
    let mut text = table(&rows);
    if !notes.is_empty() {
        text.push('\n');
        text.push_str(&notes);
    }
    text
}

fn condition(s: &LogPipelineStatus, kind: &str) -> String {
    s.conditions
        .iter()
        .find(|c| c.type_ == kind)
        .map(|c| c.status.clone())
        .unwrap_or_else(|| "-".into())
}

/// The last canary: how long ago it was sent, and what became of it.
fn last_canary(s: &LogPipelineStatus, now: Timestamp) -> String {
    let Some(canary) = s.delivery.as_ref().and_then(|d| d.canary.as_ref()) else {
        return "-".into();
    };
    let state = if canary.stages.iter().all(|st| st.state == "Delivered") {
        "Delivered"
    } else if let Some(st) = canary.stages.iter().find(|st| st.state != "Delivered") {
        st.state.as_str()
    } else {
        "-"
    };
    let secs = now.as_second() - canary.sent_at.0.as_second();
    format!("{} ago, {state}", ago(secs))
}

fn latency(s: &LogPipelineStatus) -> String {
    s.delivery
        .as_ref()
        .and_then(|d| d.canary.as_ref())
        .and_then(|c| c.stages.first())
        .and_then(|st| st.latency_ms)
        .map(|ms| format!("{}s", (ms + 500) / 1000))
        .unwrap_or_else(|| "-".into())
}

fn ago(secs: i64) -> String {
    match secs.max(0) {
        s @ 0..=119 => format!("{s}s"),
        120..=7199 => format!("{}m", secs / 60),
        7200..=172_799 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// The lines under the table about one pipeline: only what needs a look.
fn details(who: &str, s: &LogPipelineStatus) -> String {
    let mut text = String::new();
    for c in s.conditions.iter().filter(|c| {
        (c.type_ == "Ready" || c.type_ == "Synced") && c.status == "False"
            || c.type_ == "CutoverBlocked" && c.status == "True"
    }) {
        let _ = writeln!(text, "{who}: {} {}: {}", c.type_, c.reason, c.message);
    }
    if let Some(d) = &s.delivery {
        if let Some(link) = &d.failing_stage {
            let _ = writeln!(
                text,
                "{who}: delivery stops at {link} ({} canaries in a row)",
                d.consecutive_failures
            );
        }
        for signal in &d.loss_signals {
            let _ = writeln!(
                text,
                "{who}: loss signal {} on {}: {}",
                signal.kind, signal.resource, signal.message
            );
        }
    }
    for item in &s.drift {
        let field = item.field.as_deref().unwrap_or("(resource)");
        let _ = writeln!(
            text,
            "{who}: drift {} {} {field}: want {}, found {} ({})",
            item.kind,
            item.resource,
            item.desired.as_deref().unwrap_or("(absent)"),
            item.actual.as_deref().unwrap_or("(absent)"),
            item.action.as_str()
        );
    }
    let listed = s.drift.len() as i32;
    if s.drift_count.unwrap_or(0) > listed {
        let more = s.drift_count.unwrap_or(0) - listed;
        let _ = writeln!(text, "{who}: … and {more} more drift items");
    }
    text
}

/// Columns padded to their widest cell, two spaces apart.
fn table(rows: &[[String; 8]]) -> String {
    let widths: Vec<usize> = (0..8)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        let _ = writeln!(text, "{}", cells.join("  ").trim_end());
    }
    text
}
