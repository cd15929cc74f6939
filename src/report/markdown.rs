//! Markdown for a CI step summary or a pull-request comment: a summary table, then per
//! pipeline its drift items and a Mermaid picture of its chain.

use super::{DriftReport, PipelineReport, Status, mermaid};
use crate::spec::DriftItem;
use std::fmt::Write;

/// Text as a table cell: pipes escaped, on one line, at most `max` characters.
fn cell(text: &str, max: usize) -> String {
    let one_line: String = text.replace(['\n', '\r'], " ");
    let short: String = if one_line.chars().count() > max {
        format!("{}…", one_line.chars().take(max).collect::<String>())
    } else {
        one_line
    };
    short.replace('|', "\\|")
}

/// Plain text (not code) in a table cell or a paragraph: as [`cell`], with `&` and `<` escaped so
/// values are shown as they are instead of being read as HTML tags, comments or entities.
fn text(text: &str, max: usize) -> String {
    cell(text, max).replace('&', "&amp;").replace('<', "&lt;")
}

/// Text as inline code in a table cell.
fn code(text: &str, max: usize) -> String {
    let c = cell(text, max);
    if c.contains('`') {
        format!("`` {c} ``")
    } else {
        format!("`{c}`")
    }
}

fn status(s: Status) -> &'static str {
    match s {
        Status::InSync => "✅ in sync",
        Status::Drifted => "❌ drifted",
        Status::Error => "⚠️ error",
    }
}

fn drifted_resources(p: &PipelineReport) -> String {
    let mut kinds: Vec<&str> = Vec::new();
    for i in &p.items {
        if !kinds.contains(&i.kind.as_str()) {
            kinds.push(i.kind.as_str());
        }
    }
    if kinds.is_empty() {
        "—".into()
    } else {
        kinds.join(", ")
    }
}

/// The report as Markdown.
pub fn render(r: &DriftReport) -> String {
    let mut out = String::from("## pitagora drift report\n\n");
    summary_table(&mut out, r);
    totals(&mut out, r);
    for p in &r.pipelines {
        pipeline_section(&mut out, p);
    }
    out
}

/// One row per pipeline: its status, the kinds of its drifted resources, its counts.
fn summary_table(out: &mut String, r: &DriftReport) {
    out.push_str(
        "| Pipeline | Status | Drifted resources | Items | Ignored |\n|---|---|---|---:|---:|\n",
    );
    for p in &r.pipelines {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            cell(&p.id(), 120),
            status(p.status),
            cell(&drifted_resources(p), 200),
            p.items.len(),
            p.ignored.len()
        );
    }
}

/// The line under the table: verdicts, items, AWS calls, when.
fn totals(out: &mut String, r: &DriftReport) {
    let t = &r.totals;
    let _ = writeln!(
        out,
        "\n{} · {}, {} ignored · {} ({}) · {}\n",
        t.verdicts(),
        super::plural(t.items as u64, "item"),
        t.ignored,
        super::plural(t.aws_calls, "AWS call"),
        super::plural(t.aws_writes, "write"),
        r.generated_at
    );
}

/// A pipeline's heading, then its error, or its items, ignored items and chain.
fn pipeline_section(out: &mut String, p: &PipelineReport) {
    let _ = writeln!(out, "### `{}` — {}\n", cell(&p.id(), 120), status(p.status));
    let region = p
        .region
        .as_deref()
        .map(|r| format!(" · {r}"))
        .unwrap_or_default();
    let report_only = if p.report_only {
        " · drift.policy: Report"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "<sub>{}{region}{report_only}</sub>\n",
        text(&p.source, 200)
    );
    if let Some(e) = &p.error {
        let _ = writeln!(out, "**Error:** {}\n", text(e, 1000));
        return;
    }
    if !p.items.is_empty() {
        items_table(out, &p.items);
    }
    if !p.ignored.is_empty() {
        ignored_details(out, &p.ignored);
    }
    if let Some(chain) = &p.chain {
        let _ = writeln!(out, "```mermaid\n{}```\n", mermaid::flowchart(chain));
    }
}

/// The drift items: what differs and what `apply` would do about it.
fn items_table(out: &mut String, items: &[DriftItem]) {
    out.push_str(
        "| Resource | Field | Desired | Actual | `apply` would |\n|---|---|---|---|---|\n",
    );
    for i in items {
        let field = match (&i.field, &i.spec_field) {
            (Some(f), Some(s)) => format!("{} ({})", code(f, 120), code(s, 120)),
            (Some(f), None) => code(f, 120),
            _ => "—".into(),
        };
        // Both values cut around their first difference, so the table shows where they differ.
        let (desired, actual) = crate::drift::shorten_pair(
            i.desired.as_deref().unwrap_or_default(),
            i.actual.as_deref().unwrap_or_default(),
            120,
        );
        // Without a field the action speaks for the whole resource.
        let value = |v: &Option<String>, short: &str| match (&i.field, v) {
            (None, _) => "—".to_owned(),
            (Some(_), Some(_)) => code(short, 120),
            (Some(_), None) => "*absent*".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} {} | {field} | {} | {} | **{}**: {} |",
            i.kind,
            code(&i.resource, 120),
            value(&i.desired, &desired),
            value(&i.actual, &actual),
            i.action,
            text(&i.reason, 300)
        );
    }
    out.push('\n');
}

/// The ignored items, folded: each with the rule that ignores it.
fn ignored_details(out: &mut String, ignored: &[DriftItem]) {
    let _ = writeln!(
        out,
        "<details><summary>{} ignored</summary>\n",
        ignored.len()
    );
    out.push_str("| Resource | Field | Rule |\n|---|---|---|\n");
    for i in ignored {
        let _ = writeln!(
            out,
            "| {} {} | {} | {} |",
            i.kind,
            code(&i.resource, 120),
            i.field
                .as_deref()
                .map(|f| code(f, 120))
                .unwrap_or_else(|| "—".into()),
            text(i.ignored_by.as_deref().unwrap_or_default(), 300)
        );
    }
    out.push_str("\n</details>\n\n");
}
