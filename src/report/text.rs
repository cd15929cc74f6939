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
        change(
            out,
            &c.field,
            c.spec_field.as_deref(),
            &c.actual,
            &c.desired,
        );
    }
}

/// One differing field: `field [spec field]: found actual, want desired`.
fn change(
    out: &mut String,
    field: &str,
    spec_field: Option<&str>,
    actual: &Option<String>,
    desired: &Option<String>,
) {
    let spec = spec_field.map(|s| format!(" [{s}]")).unwrap_or_default();
    let (desired, actual) = crate::drift::shorten_pair(show(desired), show(actual), 200);
    let _ = writeln!(out, "      {field}{spec}: found {actual}, want {desired}");
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

/// A one-line summary of AWS calls, e.g. `34 AWS calls (0 writes)`, `1 AWS call (1 write)`.
pub fn calls(stats: &CallStats) -> String {
    format!(
        "{} ({})",
        super::plural(stats.total(), "AWS call"),
        super::plural(stats.writes(), "write")
    )
}

/// Colours for a terminal (ANSI), or none.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Colours when `on`.
    pub fn new(on: bool) -> Self {
        Self { on }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

/// Groups consecutive items of the same resource.
fn by_resource(items: &[super::DriftItem]) -> Vec<(&super::DriftItem, Vec<&super::DriftItem>)> {
    let mut groups: Vec<(&super::DriftItem, Vec<&super::DriftItem>)> = Vec::new();
    for item in items {
        match groups.last_mut() {
            Some((first, rest))
                if first.kind == item.kind
                    && first.resource == item.resource
                    && first.action == item.action =>
            {
                rest.push(item)
            }
            _ => groups.push((item, vec![item])),
        }
    }
    groups
}

/// A whole drift report for a terminal or a log.
pub fn report(r: &super::DriftReport, style: Style) -> String {
    use super::Status;
    let mut out = String::new();
    for p in &r.pipelines {
        let status = match p.status {
            Status::InSync => style.paint("32", "in sync"),
            Status::Drifted => style.paint("31;1", "drifted"),
            Status::Error => style.paint("33;1", "error"),
        };
        let region = p
            .region
            .as_deref()
            .map(|r| format!(", {r}"))
            .unwrap_or_default();
        let _ = write!(
            out,
            "LogPipeline {} ({}{region}): {status}",
            p.id(),
            p.source
        );
        if let Some(e) = &p.error {
            let _ = writeln!(out, ": {e}");
            continue;
        }
        match p.items.len() {
            0 => out.push('\n'),
            n => {
                let _ = writeln!(out, ", {n} item{}", if n == 1 { "" } else { "s" });
            }
        }
        for (first, items) in by_resource(&p.items) {
            let _ = writeln!(
                out,
                "  {} {} {}: {}",
                style.paint("1", first.action.as_str()),
                first.kind,
                first.resource,
                first.reason
            );
            for i in items.iter().filter(|i| i.field.is_some()) {
                let field = i.field.as_deref().unwrap_or_default();
                change(
                    &mut out,
                    field,
                    i.spec_field.as_deref(),
                    &i.actual,
                    &i.desired,
                );
            }
        }
        for i in &p.ignored {
            let field = i
                .field
                .as_deref()
                .map(|f| format!(" {f}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  {} {} {}{field} ({})",
                style.paint("2", "ignored"),
                i.kind,
                i.resource,
                i.ignored_by.as_deref().unwrap_or_default()
            );
        }
    }
    let t = &r.totals;
    let _ = writeln!(
        out,
        "{}; {} ignored; {} ({})",
        t.verdicts(),
        t.ignored,
        super::plural(t.aws_calls, "AWS call"),
        super::plural(t.aws_writes, "write")
    );
    out
}

/// What a read-back after a delete found: each resource kept on purpose, then each leftover,
/// one line each with why (nothing when nothing remains).
pub fn readback(r: &crate::plan::Readback) -> String {
    let mut out = String::new();
    for k in &r.kept {
        let _ = writeln!(out, "  = Kept     {} {}: {}", k.kind, k.name, k.why);
    }
    for l in &r.leftovers {
        let _ = writeln!(out, "  ! Remains  {} {}: {}", l.kind, l.name, l.why);
    }
    out
}
