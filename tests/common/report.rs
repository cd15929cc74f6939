//! Checkers of the drift report's formats, shared by the pure suite (`model::report_formats`)
//! and the binary's suite (`cli::drift_report`): JSON Schema validation (Python's `jsonschema`,
//! from the moto venv), a JUnit reader that enforces the shape CI tools read, the cells of Markdown
//! tables, and a small grammar of the Mermaid flowcharts pitagora writes.

use quick_xml::events::{BytesStart, Event};
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::LazyLock;

// ---- JSON Schema ----------------------------------------------------------------------------

/// The Python of the moto venv (`scripts/moto.sh install` creates it), which has `jsonschema`.
pub fn venv_python() -> std::path::PathBuf {
    let python = super::repo_path(".venv-moto/bin/python");
    assert!(
        python.exists(),
        "{} is missing: the JSON Schema checks use Python's jsonschema from the moto venv; \
         create it with `scripts/moto.sh install`",
        python.display()
    );
    python
}

/// Validates `document` against the JSON Schema at `schema` (Draft 2020-12, with the format
/// checker, after checking the schema itself). `Err` lists every violation as `path: message`.
pub fn validate_json(schema: &std::path::Path, document: &str) -> Result<(), String> {
    const SCRIPT: &str = r#"
import json, sys
from jsonschema import Draft202012Validator
with open(sys.argv[1]) as f:
    schema = json.load(f)
Draft202012Validator.check_schema(schema)
validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
document = json.load(sys.stdin)
errors = sorted(validator.iter_errors(document), key=lambda e: [str(p) for p in e.absolute_path])
for e in errors:
    print("/".join(str(p) for p in e.absolute_path) or "(root)", ": ", e.message, sep="")
sys.exit(3 if errors else 0)
"#;
    let mut child = Command::new(venv_python())
        .args(["-c", SCRIPT])
        .arg(schema)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the venv's python runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(document.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    match out.status.code() {
        Some(0) => Ok(()),
        // 3: the document is invalid; anything else: the checker itself failed.
        Some(3) => Err(String::from_utf8_lossy(&out.stdout).into_owned()),
        code => panic!(
            "the JSON Schema check failed to run (exit {code:?}):\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// Validates a drift report against `docs/drift-report.schema.json`.
pub fn validate_drift_report(document: &str) -> Result<(), String> {
    validate_json(&super::repo_path("docs/drift-report.schema.json"), document)
}

// ---- Golden files ---------------------------------------------------------------------------

/// Compares `actual` with `tests/golden/<file>`, or writes it there when `UPDATE_GOLDEN=1`.
pub fn golden(file: &str, actual: &str) {
    let path = super::repo_path("tests/golden").join(file);
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        println!("UPDATE_GOLDEN=1: wrote {}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; create it with UPDATE_GOLDEN=1 and the test that renders it",
            path.display()
        )
    });
    if actual != expected {
        let line = actual
            .lines()
            .zip(expected.lines())
            .position(|(a, e)| a != e)
            .unwrap_or_else(|| actual.lines().count().min(expected.lines().count()));
        panic!(
            "{} differs from the rendered report, first at line {}:\n  golden:   {:?}\n  rendered: {:?}\n\
             (if the change is intended, review it and run the test again with UPDATE_GOLDEN=1)\n\
             --- rendered ---\n{actual}",
            path.display(),
            line + 1,
            expected.lines().nth(line),
            actual.lines().nth(line),
        );
    }
}

// ---- JUnit ------------------------------------------------------------------------------------

/// An element of a JUnit document: its attributes (unescaped) and its text (unescaped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element {
    /// Tag name.
    pub tag: String,
    /// Attributes, unescaped.
    pub attrs: BTreeMap<String, String>,
    /// Text content, unescaped.
    pub text: String,
    /// Child elements.
    pub children: Vec<Element>,
}

impl Element {
    /// An attribute's value; panics naming the element when it is missing.
    pub fn attr(&self, name: &str) -> &str {
        self.attrs
            .get(name)
            .unwrap_or_else(|| panic!("<{}> has no {name} attribute: {:?}", self.tag, self.attrs))
    }

    /// A count attribute; panics when it is missing or not a number.
    pub fn count(&self, name: &str) -> usize {
        self.attr(name)
            .parse()
            .unwrap_or_else(|_| panic!("<{}> {name}={:?} is no count", self.tag, self.attr(name)))
    }

    /// The children with this tag.
    pub fn children_named<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.tag == tag)
    }

    /// Whether a child with this tag exists.
    pub fn has(&self, tag: &str) -> bool {
        self.children_named(tag).next().is_some()
    }
}

/// Whether a raw attribute value is escaped: no `<`, and every `&` starts a predefined or
/// numeric character reference.
fn raw_is_escaped(raw: &str) -> bool {
    static REFERENCE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);").unwrap());
    !raw.contains('<')
        && raw
            .match_indices('&')
            .all(|(i, _)| REFERENCE.is_match(&raw[i..]))
}

fn element(start: &BytesStart) -> Result<Element, String> {
    let tag = start.name().as_ref().to_owned();
    let mut attrs = BTreeMap::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| format!("<{tag}>: {e}"))?;
        let key = attr.key.as_ref().to_owned();
        let raw = attr.value.clone().into_owned();
        if !raw_is_escaped(&raw) {
            return Err(format!("<{tag} {key}=\"{raw}\">: the value is not escaped"));
        }
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("<{tag} {key}>: {e}"))?
            .into_owned();
        if attrs.insert(key.clone(), value).is_some() {
            return Err(format!("<{tag}>: attribute {key} twice"));
        }
    }
    Ok(Element {
        tag,
        attrs,
        ..Element::default()
    })
}

/// The children each JUnit element may have; `failure`, `error` and `skipped` hold only text.
fn allowed_children(tag: &str) -> &'static [&'static str] {
    match tag {
        "testsuites" => &["testsuite"],
        "testsuite" => &["testcase"],
        "testcase" => &["failure", "error", "skipped"],
        _ => &[],
    }
}

/// Parses a JUnit report, enforcing the nesting CI tools read: a `testsuites` root holding
/// `testsuite`s holding `testcase`s, with `failure`, `error` and `skipped` only inside test
/// cases; no text outside those three; every attribute value escaped.
pub fn parse_junit(xml: &str) -> Result<Element, String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let open = |stack: &[Element], root: &Option<Element>, e: Element| {
        if root.is_some() {
            return Err(format!("<{}> after the root element", e.tag));
        }
        match stack.last() {
            None if e.tag != "testsuites" => {
                Err(format!("the root is <{}>, not <testsuites>", e.tag))
            }
            Some(parent) if !allowed_children(&parent.tag).contains(&e.tag.as_str()) => {
                Err(format!("<{}> inside <{}>", e.tag, parent.tag))
            }
            _ => Ok(e),
        }
    };
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not well-formed at byte {}: {e}", reader.error_position()))?;
        match event {
            Event::Decl(_) | Event::Comment(_) => {}
            Event::Start(start) => {
                let e = open(&stack, &root, element(&start)?)?;
                stack.push(e);
            }
            Event::Empty(start) => {
                let e = open(&stack, &root, element(&start)?)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            }
            Event::End(_) => {
                let e = stack.pop().ok_or("an end tag without a start")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(e),
                    None => root = Some(e),
                }
            }
            Event::Text(text) => {
                let content = text.xml10_content();
                match stack.last_mut() {
                    Some(e) if allowed_children(&e.tag).is_empty() => e.text.push_str(&content),
                    _ if content.trim().is_empty() => {}
                    Some(e) => return Err(format!("text {content:?} directly inside <{}>", e.tag)),
                    None => return Err(format!("text {content:?} outside the root")),
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&reference)
                        .ok_or_else(|| format!("unknown entity &{};", &*reference))?
                        .to_owned(),
                };
                match stack.last_mut() {
                    Some(e) if allowed_children(&e.tag).is_empty() => e.text.push_str(&resolved),
                    Some(e) => {
                        return Err(format!("text {resolved:?} directly inside <{}>", e.tag));
                    }
                    None => return Err(format!("text {resolved:?} outside the root")),
                }
            }
            Event::Eof => break,
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    if !stack.is_empty() {
        return Err(format!("<{}> is not closed", stack.last().unwrap().tag));
    }
    root.ok_or_else(|| "no root element".to_owned())
}

/// Checks what CI tools add up: each `testsuite` has a `name` and `tests`, `failures`,
/// `errors` and `skipped` equal to its test cases (all, with a `failure`, with an `error`, with
/// a `skipped`), every `testcase` has a `name` and a `classname`, and the root's counts are the
/// sums over its suites.
pub fn check_junit_counts(root: &Element) -> Result<(), String> {
    let mut sums = [0usize; 4];
    const COUNTS: [&str; 4] = ["tests", "failures", "errors", "skipped"];
    for suite in root.children_named("testsuite") {
        let name = suite.attrs.get("name").filter(|n| !n.is_empty());
        let name = name.ok_or_else(|| format!("a testsuite without a name: {:?}", suite.attrs))?;
        let cases: Vec<&Element> = suite.children_named("testcase").collect();
        for case in &cases {
            for attr in ["name", "classname"] {
                if case.attrs.get(attr).is_none_or(|v| v.is_empty()) {
                    return Err(format!(
                        "a testcase of {name} without {attr}: {:?}",
                        case.attrs
                    ));
                }
            }
        }
        let actual = [
            cases.len(),
            cases.iter().filter(|c| c.has("failure")).count(),
            cases.iter().filter(|c| c.has("error")).count(),
            cases.iter().filter(|c| c.has("skipped")).count(),
        ];
        for (i, attr) in COUNTS.iter().enumerate() {
            let declared = suite
                .attrs
                .get(*attr)
                .and_then(|v| v.parse::<usize>().ok())
                .ok_or_else(|| format!("testsuite {name}: no numeric {attr}"))?;
            if declared != actual[i] {
                return Err(format!(
                    "testsuite {name}: {attr}=\"{declared}\" but its test cases say {}",
                    actual[i]
                ));
            }
            sums[i] += declared;
        }
    }
    for (i, attr) in COUNTS.iter().enumerate() {
        let declared = root
            .attrs
            .get(*attr)
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or_else(|| format!("testsuites: no numeric {attr}"))?;
        if declared != sums[i] {
            return Err(format!(
                "testsuites: {attr}=\"{declared}\" but its suites add up to {}",
                sums[i]
            ));
        }
    }
    Ok(())
}

// ---- Markdown tables ----------------------------------------------------------------------

/// The cells of a table row (`| a | b \| c |` → `["a", "b \| c"]`): split on pipes not escaped
/// with a backslash, as GitHub-flavoured Markdown does (also inside code spans).
pub fn row_cells(line: &str) -> Vec<String> {
    let inner = line.trim();
    let inner = inner.strip_prefix('|').unwrap_or(inner);
    let inner = inner
        .strip_suffix('|')
        .filter(|s| !s.ends_with('\\'))
        .unwrap_or(inner);
    let mut cells = vec![String::new()];
    let mut escaped = false;
    for c in inner.chars() {
        match c {
            '|' if !escaped => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
        escaped = c == '\\' && !escaped;
    }
    cells.into_iter().map(|c| c.trim().to_owned()).collect()
}

/// The tables of a Markdown document (outside code fences): each a list of rows (the lines
/// starting with `|`), header first.
pub fn markdown_tables(markdown: &str) -> Vec<Vec<&str>> {
    let mut tables: Vec<Vec<&str>> = Vec::new();
    let mut in_fence = false;
    let mut current: Vec<&str> = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && line.trim_start().starts_with('|') {
            current.push(line);
        } else if !current.is_empty() {
            tables.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        tables.push(current);
    }
    tables
}

/// Checks a table: a header, a delimiter row (`---`, `:--`, `--:`), and every row with as many
/// cells as the header.
pub fn check_table(rows: &[&str]) -> Result<(), String> {
    static DELIMITER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^:?-+:?$").unwrap());
    let header = row_cells(rows.first().ok_or("an empty table")?);
    let delimiter = rows.get(1).ok_or("a table without a delimiter row")?;
    if !row_cells(delimiter).iter().all(|c| DELIMITER.is_match(c)) {
        return Err(format!("not a delimiter row: {delimiter}"));
    }
    for row in rows {
        let n = row_cells(row).len();
        if n != header.len() {
            return Err(format!(
                "{n} cells where the header has {}: {row}",
                header.len()
            ));
        }
    }
    Ok(())
}

/// The bodies of the ```` ```mermaid ```` blocks of a Markdown document.
pub fn mermaid_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim() == "```mermaid" => current = Some(String::new()),
            Some(_) if line.trim() == "```" => blocks.push(current.take().unwrap()),
            Some(body) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "an unclosed mermaid block");
    blocks
}

// ---- Mermaid flowcharts ---------------------------------------------------------------------

/// A flowchart that passed [`check_flowchart`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Flowchart {
    /// Node ids with their labels, in order.
    pub nodes: Vec<(String, String)>,
    /// Edges, in order.
    pub edges: Vec<(String, String)>,
    /// Nodes of class `drifted`.
    pub drifted: BTreeSet<String>,
    /// The edge labelled as where a canary stopped.
    pub stopped: Option<(String, String)>,
}

impl Flowchart {
    /// The label of node `id`.
    pub fn label(&self, id: &str) -> Option<&str> {
        self.nodes
            .iter()
            .find(|(n, _)| n == id)
            .map(|(_, l)| l.as_str())
    }
}

/// Checks the small grammar of pitagora's flowcharts: the first line is `flowchart LR`; every
/// other line is a node `id["label"]` (an id of letters, digits and `_` that is no Mermaid
/// keyword; a label without quotes, brackets, braces, angle brackets or pipes), an edge
/// `a --> b` between declared ids (or `a -->|canary stopped| b`, the link where a canary
/// stopped, then styled by `linkStyle INDEX STYLE`), `classDef NAME STYLE`, or `class ids
/// drifted` naming declared ids.
pub fn check_flowchart(text: &str) -> Result<Flowchart, String> {
    static NODE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"^([A-Za-z][A-Za-z0-9_]*)\["([^"\[\]{}<>|]*)"\]$"#).unwrap());
    static EDGE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^([A-Za-z][A-Za-z0-9_]*) -->(\|canary stopped\|)? ([A-Za-z][A-Za-z0-9_]*)$")
            .unwrap()
    });
    static LINK_STYLE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^linkStyle ([0-9]+) [^\s;]+$").unwrap());
    static CLASS_DEF: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^classDef [A-Za-z][A-Za-z0-9_]* [^\s;]+$").unwrap());
    static CLASS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^class ([A-Za-z][A-Za-z0-9_]*(?:,[A-Za-z][A-Za-z0-9_]*)*) drifted$").unwrap()
    });
    const KEYWORDS: &[&str] = &[
        "end",
        "graph",
        "flowchart",
        "subgraph",
        "class",
        "classDef",
        "click",
        "style",
        "linkStyle",
        "direction",
    ];
    let mut lines = text.lines();
    if lines.next() != Some("flowchart LR") {
        return Err(format!("does not start with `flowchart LR`:\n{text}"));
    }
    let mut chart = Flowchart::default();
    let mut classed: Vec<String> = Vec::new();
    for line in lines {
        let l = line.trim();
        if let Some(m) = NODE.captures(l) {
            let id = m[1].to_owned();
            if KEYWORDS.contains(&id.as_str()) {
                return Err(format!("node id {id:?} is a Mermaid keyword: {line}"));
            }
            if chart.label(&id).is_some() {
                return Err(format!("node {id} declared twice: {line}"));
            }
            chart.nodes.push((id, m[2].to_owned()));
        } else if let Some(m) = EDGE.captures(l) {
            if m.get(2).is_some() {
                chart.stopped = Some((m[1].to_owned(), m[3].to_owned()));
            }
            chart.edges.push((m[1].to_owned(), m[3].to_owned()));
        } else if let Some(m) = LINK_STYLE.captures(l) {
            let index: usize = m[1].parse().map_err(|e| format!("{e}: {line}"))?;
            let stopped = chart.stopped.clone();
            if index >= chart.edges.len() || stopped.as_ref() != Some(&chart.edges[index]) {
                return Err(format!("linkStyle {index} styles no stopped edge: {line}"));
            }
        } else if let Some(m) = CLASS.captures(l) {
            classed.extend(m[1].split(',').map(str::to_owned));
        } else if !CLASS_DEF.is_match(l) {
            return Err(format!(
                "not a node, an edge, a classDef or a class line: {line:?}"
            ));
        }
    }
    for (from, to) in &chart.edges {
        for id in [from, to] {
            if chart.label(id).is_none() {
                return Err(format!("edge {from} --> {to}: {id} is not declared"));
            }
        }
    }
    for id in classed {
        if chart.label(&id).is_none() {
            return Err(format!("class names {id}, which is not declared"));
        }
        chart.drifted.insert(id);
    }
    Ok(chart)
}
