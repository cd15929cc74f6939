//! JUnit XML, the format CI systems show in their test tabs: one suite per pipeline, one test
//! case for the pipeline and one per resource; drift is a failure, an unreachable AWS or an
//! invalid spec an error, an ignored difference a skipped case.

use super::{DriftReport, PipelineReport, Resource, ResourceState, Status};
use crate::spec::DriftItem;
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

fn describe(i: &DriftItem) -> String {
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
    let mut all = Counts::default();
    for p in &r.pipelines {
        let suite = Suite::of(p);
        let c = suite.counts;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n{}  </testsuite>\n",
            escape(&p.id()),
            c.tests,
            c.failures,
            c.errors,
            c.skipped,
            suite.cases
        );
        all.add(c);
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"pitagora drift\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">\n{suites}</testsuites>\n",
        all.tests, all.failures, all.errors, all.skipped
    )
}

/// Test cases by outcome, for a suite's and the whole report's attributes.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    tests: usize,
    failures: usize,
    errors: usize,
    skipped: usize,
}

impl Counts {
    fn add(&mut self, other: Counts) {
        self.tests += other.tests;
        self.failures += other.failures;
        self.errors += other.errors;
        self.skipped += other.skipped;
    }
}

/// One pipeline's suite: its test cases as XML, and their counts.
struct Suite {
    class: String,
    cases: String,
    counts: Counts,
}

impl Suite {
    /// The pipeline's case, then (when it could be checked) one case per resource and one per
    /// ignored item.
    fn of(p: &PipelineReport) -> Self {
        let id = p.id();
        let mut suite = Suite {
            class: escape(&format!("pitagora.drift.{id}")),
            cases: String::new(),
            counts: Counts::default(),
        };
        let name = escape(&format!("LogPipeline {id}"));
        if p.status == Status::Error {
            suite.error(&name, p.error.as_deref().unwrap_or("error"));
            return suite;
        }
        if p.status == Status::Drifted {
            let text: Vec<String> = p.items.iter().map(describe).collect();
            let message = format!("{} drift items", p.items.len());
            suite.failure(&name, &message, &text.join("\n"));
        } else {
            suite.pass(&name);
        }
        for res in &p.resources {
            suite.resource(p, res);
        }
        for i in &p.ignored {
            suite.ignored(i);
        }
        suite
    }

    /// A resource passes unless it is out of sync with items of its own; its failure message is
    /// its first item.
    fn resource(&mut self, p: &PipelineReport, res: &Resource) {
        let name = escape(&format!("{} {}", res.kind, res.name));
        let mine: Vec<String> = p
            .items
            .iter()
            .filter(|i| i.kind == res.kind && i.resource == res.name)
            .map(describe)
            .collect();
        if res.state == ResourceState::InSync || mine.is_empty() {
            self.pass(&name);
        } else {
            self.failure(&name, &mine[0], &mine.join("\n"));
        }
    }

    /// An ignored difference is a skipped case naming its rule.
    fn ignored(&mut self, i: &DriftItem) {
        self.counts.tests += 1;
        self.counts.skipped += 1;
        let name = escape(&format!(
            "{} {} {} (ignored)",
            i.kind,
            i.resource,
            i.field.as_deref().unwrap_or_default()
        ));
        let message = format!("ignored: {}", i.ignored_by.as_deref().unwrap_or_default());
        let _ = writeln!(
            self.cases,
            "    <testcase classname=\"{}\" name=\"{name}\">\n      <skipped message=\"{}\"/>\n    </testcase>",
            self.class,
            escape(&message)
        );
    }

    /// A passing case; `name` is escaped already.
    fn pass(&mut self, name: &str) {
        self.counts.tests += 1;
        let _ = writeln!(
            self.cases,
            "    <testcase classname=\"{}\" name=\"{name}\"/>",
            self.class
        );
    }

    /// A drift case; `name` is escaped already, `message` and `text` are escaped here.
    fn failure(&mut self, name: &str, message: &str, text: &str) {
        self.counts.tests += 1;
        self.counts.failures += 1;
        let _ = writeln!(
            self.cases,
            "    <testcase classname=\"{}\" name=\"{name}\">\n      <failure message=\"{}\" type=\"drift\">{}</failure>\n    </testcase>",
            self.class,
            escape(message),
            escape(text)
        );
    }

    /// A pipeline that could not be checked; `name` is escaped already.
    fn error(&mut self, name: &str, message: &str) {
        self.counts.tests += 1;
        self.counts.errors += 1;
        let _ = writeln!(
            self.cases,
            "    <testcase classname=\"{}\" name=\"{name}\">\n      <error message=\"{}\" type=\"error\">{}</error>\n    </testcase>",
            self.class,
            escape(message),
            escape(message)
        );
    }
}
