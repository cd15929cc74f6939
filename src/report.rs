//! Human-readable rendering of plans and apply outcomes (the CLI's text output).

use crate::apply::ActionOutcome;
use crate::aws::CallStats;
use crate::plan::{Action, Op, Plan};
use std::fmt::Write;

fn symbol(op: Op) -> &'static str {
    match op {
        Op::Create => "+",
        Op::Update => "~",
        Op::Delete => "-",
        Op::Conflict => "!",
    }
}

fn show(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(absent)")
}

/// One action with its changes, indented.
pub fn action(out: &mut String, a: &Action) {
    let _ = writeln!(
        out,
        "  {} {:<8} {} {}: {}",
        symbol(a.op),
        a.op.as_str(),
        a.kind,
        a.name,
        a.reason
    );
    for c in &a.changes {
        let spec = c
            .spec_field
            .as_deref()
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "      {}{spec}: found {}, want {}",
            c.field,
            truncate(show(&c.actual), 200),
            truncate(show(&c.desired), 200)
        );
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// A plan: a headline, then each action and each pending resource.
pub fn plan(p: &Plan, headline: &str) -> String {
    let mut out = String::new();
    if p.in_sync() {
        let _ = writeln!(out, "LogPipeline {}: in sync", p.pipeline);
        return out;
    }
    let _ = writeln!(
        out,
        "LogPipeline {}: {headline} ({} action{}{}{})",
        p.pipeline,
        p.actions.len(),
        if p.actions.len() == 1 { "" } else { "s" },
        match p.conflicts().count() {
            0 => String::new(),
            n => format!(", {n} conflict{}", if n == 1 { "" } else { "s" }),
        },
        if p.report_only { ", report only" } else { "" },
    );
    for a in &p.actions {
        action(&mut out, a);
    }
    for pending in &p.pending {
        let _ = writeln!(
            out,
            "  … Pending  {} {}: {}",
            pending.kind, pending.name, pending.reason
        );
    }
    out
}

/// One line for an executed action.
pub fn outcome(o: &ActionOutcome) -> String {
    let a = &o.action;
    let seconds = o.elapsed_ms as f64 / 1000.0;
    match &o.result {
        Ok(detail) => format!(
            "  ✓ {} {} {} ({seconds:.1} s): {detail}",
            a.op, a.kind, a.name
        ),
        Err(e) => format!("  ✗ {} {} {} ({seconds:.1} s): {e}", a.op, a.kind, a.name),
    }
}

/// A one-line summary of AWS calls.
pub fn calls(stats: &CallStats) -> String {
    format!("{} AWS calls ({} writes)", stats.total(), stats.writes())
}
