//! JUnit XML, the format CI systems show in their test tabs: one suite per pipeline, one test
//! case for the pipeline and one per resource; drift is a failure, an unreachable AWS or an
//! invalid spec an error, an ignored difference a skipped case.

use super::{DriftReport, Item, ResourceState, Status};
use std::fmt::Write;

/// Escapes text for XML attributes and content.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

fn describe(i: &Item) -> String {
    match &i.field {
        Some(f) => format!(
            "{} {}: {f}: found {}, want {} ({}: {})",
            i.kind,
            i.resource,
            i.actual.as_deref().unwrap_or("(absent)"),
            i.desired.as_deref().unwrap_or("(absent)"),
            i.action,
            i.reason
        ),
        None => format!("{} {}: {}: {}", i.kind, i.resource, i.action, i.reason),
    }
}

/// The report as JUnit XML.
pub fn render(r: &DriftReport) -> String {
    let mut suites = String::new();
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for p in &r.pipelines {
        let id = p.id();
        let class = escape(&format!("pitagora.drift.{id}"));
        let mut cases = String::new();
        let (mut t, mut f, mut e, mut s) = (1, 0, 0, 0);
        match p.status {
            Status::Error => {
                e += 1;
                let msg = p.error.as_deref().unwrap_or("error");
                let _ = writeln!(
                    cases,
                    "    <testcase classname=\"{class}\" name=\"{}\">\n      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>",
                    escape(&format!("LogPipeline {id}")),
                    escape(msg),
                    escape(msg)
                );
            }
            status => {
                let _ = write!(
                    cases,
                    "    <testcase classname=\"{class}\" name=\"{}\"",
                    escape(&format!("LogPipeline {id}"))
                );
                if status == Status::Drifted {
                    f += 1;
                    let text: Vec<String> = p.items.iter().map(describe).collect();
                    let _ = writeln!(
                        cases,
                        ">\n      <failure message=\"{}\" type=\"drift\">{}</failure>\n    </testcase>",
                        escape(&format!("{} drift items", p.items.len())),
                        escape(&text.join("\n"))
                    );
                } else {
                    cases.push_str("/>\n");
                }
                for res in &p.resources {
                    t += 1;
                    let name = escape(&format!("{} {}", res.kind, res.name));
                    let mine: Vec<&Item> = p
                        .items
                        .iter()
                        .filter(|i| i.kind == res.kind && i.resource == res.name)
                        .collect();
                    if res.state == ResourceState::InSync || mine.is_empty() {
                        let _ = writeln!(
                            cases,
                            "    <testcase classname=\"{class}\" name=\"{name}\"/>"
                        );
                        continue;
                    }
                    f += 1;
                    let text: Vec<String> = mine.iter().map(|i| describe(i)).collect();
                    let _ = writeln!(
                        cases,
                        "    <testcase classname=\"{class}\" name=\"{name}\">\n      <failure message=\"{}\" type=\"drift\">{}</failure>\n    </testcase>",
                        escape(&text[0]),
                        escape(&text.join("\n"))
                    );
                }
                for i in &p.ignored {
                    t += 1;
                    s += 1;
                    let name = escape(&format!(
                        "{} {} {} (ignored)",
                        i.kind,
                        i.resource,
                        i.field.as_deref().unwrap_or_default()
                    ));
                    let _ = writeln!(
                        cases,
                        "    <testcase classname=\"{class}\" name=\"{name}\">\n      <skipped message=\"{}\"/>\n    </testcase>",
                        escape(&format!(
                            "ignored: {}",
                            i.ignored_by.as_deref().unwrap_or_default()
                        ))
                    );
                }
            }
        }
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{t}\" failures=\"{f}\" errors=\"{e}\" skipped=\"{s}\">\n{cases}  </testsuite>\n",
            escape(&id)
        );
        tests += t;
        failures += f;
        errors += e;
        skipped += s;
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pitagora drift\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n{suites}</testsuites>\n"
    )
}
