//! A verbatim `spec.legacy.fluentd.store`: the body of one `<store>`, rendered once per route
//! into the ConfigMap every tenant shares and the node-level fluentd loads. It may hold one output
//! plugin's configuration and nothing that reaches beyond it: no `@include` (a file of the node or
//! a URL), no directive other than the sections an output's body holds, no Ruby `#{…}` (fluentd
//! runs it in double-quoted strings), no plugin that runs commands, no `@id` (fluentd refuses a
//! configuration where two plugins share one, and the store is rendered once per route), and file
//! buffers only under a path unique to the route (`{{route}}`), which stays where it is written.
//! Which output plugins are allowed is the operator's choice
//! ([`crate::spec::fluentd_policy::FluentdPolicy`]).

use super::super::Errors;
use super::path_problem;
use crate::spec::cutover::ROUTE_PLACEHOLDER;
use crate::spec::grammar::fluentd::{self, Directive};

/// Output plugins no operator may allow in a store: they run commands on the fluentd pods.
const COMMAND_PLUGINS: &[&str] = &["exec", "exec_filter"];

/// Sections an output's body may hold, each with the sections it may hold in turn.
const SECTIONS: &[(&str, &[&str])] = &[
    ("buffer", &[]),
    // A secondary is an output of its own that writes the primary's chunks: it has no buffer
    // (nor a secondary) of its own.
    (
        "secondary",
        &[
            "format",
            "inject",
            "server",
            "service_discovery",
            "security",
            "auth",
        ],
    ),
    ("format", &[]),
    ("inject", &[]),
    ("server", &[]),
    ("service_discovery", &["server"]),
    ("security", &[]),
    ("auth", &[]),
];

/// fluentd's own buffer plugins.
const BUFFER_TYPES: &[&str] = &["memory", "file", "file_single"];

const PATH: &str = "spec.legacy.fluentd.store";

pub(super) fn validate_store(e: &mut Errors, store: &str) {
    let before = e.0.len();
    e.length(PATH, store, 1, 16384);
    if e.0.len() > before {
        return;
    }
    if let Some(line) = store.lines().position(|l| l.contains("#{")) {
        return e.push(
            PATH,
            "<text>",
            format!(
                "line {}: #{{…}} is Ruby code fluentd runs on its pods, shared by every team; write the value itself",
                line + 1
            ),
        );
    }
    let body = match fluentd::parse(store) {
        Ok(body) => body,
        Err(err) => {
            return e.push(
                PATH,
                "<text>",
                format!("is not valid fluentd configuration: {err}"),
            );
        }
    };
    let types: Vec<&fluentd::Param> = body.params.iter().filter(|p| p.key == "@type").collect();
    match types.as_slice() {
        [] => e.push(
            PATH,
            "<text>",
            "names no output: a <store> body needs @type (e.g. @type forward)",
        ),
        [one] => refuse_command(e, one.line, &one.value),
        [_, second, ..] => e.push(
            PATH,
            "<text>",
            format!(
                "line {}: a second @type; a store holds one output plugin's configuration",
                second.line
            ),
        ),
    }
    walk(e, &body, None);
}

fn refuse_command(e: &mut Errors, line: usize, kind: &str) {
    if COMMAND_PLUGINS.contains(&kind) {
        e.push(
            PATH,
            format!("@type {kind}"),
            format!(
                "line {line}: {kind} runs commands on the fluentd pods, which every team shares; send to your aggregator with @type forward"
            ),
        );
    }
}

/// Checks `d` (the body when `parent` is `None`, else a section inside `parent`) and what it
/// holds.
fn walk(e: &mut Errors, d: &Directive, parent: Option<&str>) {
    let at = |line: usize| format!("line {line}");
    if let Some(include) = d.includes.first() {
        e.push(
            PATH,
            format!("@include {include}"),
            "@include pulls configuration from outside the spec (a file of the node or a URL) into the fluentd every team shares; write the store's body in full",
        );
    }
    if let Some(id) = d.params.iter().find(|p| p.key == "@id") {
        e.push(
            PATH,
            format!("@id {}", id.value),
            format!(
                "{}: the store is rendered once per route, and fluentd refuses to start when two plugins share an @id; remove it",
                at(id.line)
            ),
        );
    }
    let allowed: Vec<&str> = match parent {
        None => SECTIONS.iter().map(|(name, _)| *name).collect(),
        Some(p) => SECTIONS
            .iter()
            .find(|(name, _)| *name == p)
            .map(|(_, inner)| inner.to_vec())
            .unwrap_or_default(),
    };
    for child in &d.directives {
        if !allowed.contains(&child.name.as_str()) {
            let inside = parent.map_or("a <store>".to_owned(), |p| format!("<{p}>"));
            let expected = if allowed.is_empty() {
                "it holds parameters only".to_owned()
            } else {
                format!("expected sections such as {}", allowed.join(", "))
            };
            e.push(
                PATH,
                format!("<{}>", child.name),
                format!(
                    "{}: <{}> cannot appear inside {inside}; {expected}",
                    at(child.line),
                    child.name
                ),
            );
            continue;
        }
        match child.name.as_str() {
            "buffer" => buffer(e, child),
            "secondary" => {
                if let Some(kind) = child.param("@type") {
                    refuse_command(e, child.line, kind);
                }
            }
            _ => {}
        }
        walk(e, child, Some(&child.name));
    }
}

/// A `<buffer>`: one of fluentd's buffer plugins; a file buffer's path unique to the route.
fn buffer(e: &mut Errors, b: &Directive) {
    let kind = b.param("@type").unwrap_or("memory");
    if !BUFFER_TYPES.contains(&kind) {
        return e.push(
            PATH,
            format!("@type {kind}"),
            format!(
                "line {}: not one of fluentd's buffer plugins ({})",
                b.line,
                BUFFER_TYPES.join(", ")
            ),
        );
    }
    if kind == "memory" {
        return;
    }
    let Some(path) = b.params.iter().find(|p| p.key == "path") else {
        return e.push(
            PATH,
            "<buffer>",
            format!(
                "line {}: a {kind} buffer needs a path with {ROUTE_PLACEHOLDER}, e.g. path /var/log/fluentd-buffers/{ROUTE_PLACEHOLDER}",
                b.line
            ),
        );
    };
    let value = &path.value;
    let problem = if !value.contains(ROUTE_PLACEHOLDER) {
        Some(format!(
            "does not hold {ROUTE_PLACEHOLDER}: the store is rendered for every route, and other pipelines' routes share the fluentd, which refuses to start when two outputs use one buffer path"
        ))
    } else {
        let sample = value.replace(ROUTE_PLACEHOLDER, "route");
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-');
        if !sample.starts_with('/') || !sample.chars().all(allowed) {
            Some("is not an absolute path of letters, digits and . _ - /".to_owned())
        } else {
            path_problem(&sample).map(str::to_owned)
        }
    };
    if let Some(problem) = problem {
        e.push(
            PATH,
            format!("path {value}"),
            format!(
                "line {}: the buffer path {problem}; write e.g. path /var/log/fluentd-buffers/{ROUTE_PLACEHOLDER}",
                path.line
            ),
        );
    }
}
