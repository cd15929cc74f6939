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
use crate::spec::grammar::fluentd::{self, Directive};
use crate::spec::grammar::fluentd_params::{self, Section};
use crate::spec::legacy::ROUTE_PLACEHOLDER;

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

/// Checks the verbatim store `store`; `cloudwatch_dir` is the CloudWatch store's buffer
/// directory, which the store's own buffers must stay out of.
pub(super) fn validate_store(e: &mut Errors, store: &str, cloudwatch_dir: &str) {
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
        [one] => {
            refuse_command(e, one.line, &one.value);
            if one.value == "forward" {
                resolves_at_startup(e, &body);
            }
        }
        [_, second, ..] => e.push(
            PATH,
            "<text>",
            format!(
                "line {}: a second @type; a store holds one output plugin's configuration",
                second.line
            ),
        ),
    }
    let cx = Walk {
        plugin: body.param("@type").unwrap_or(""),
        cloudwatch_dir,
    };
    walk(e, &cx, &body, None);
}

/// What every section of one store is checked against.
struct Walk<'a> {
    /// The store's output plugin.
    plugin: &'a str,
    /// The CloudWatch store's buffer directory.
    cloudwatch_dir: &'a str,
}

/// A forward store must start when its aggregator's name does not resolve: fluentd resolves
/// every `<server>` at start and, without `ignore_network_errors_at_startup true`, exits — and
/// with it every route of every team, the CloudWatch stores included.
fn resolves_at_startup(e: &mut Errors, body: &Directive) {
    if body.param("ignore_network_errors_at_startup") != Some("true") {
        e.push(
            PATH,
            "@type forward",
            "lacks ignore_network_errors_at_startup true: fluentd resolves each <server> host when it starts and exits when one does not resolve (a deleted aggregator Service, a DNS hiccup), taking every route of the shared fluentd down; add the line",
        );
    }
}

/// Each parameter of `d` against what fluentd's plugin for `section` knows.
fn params(e: &mut Errors, d: &Directive, section: Section) {
    for p in &d.params {
        if let Some(problem) = fluentd_params::problem(section, &p.key, &p.value) {
            e.push(
                PATH,
                format!("{} {}", p.key, p.value),
                format!("line {}: {} {problem}", p.line, p.key),
            );
        }
    }
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
fn walk(e: &mut Errors, cx: &Walk, d: &Directive, parent: Option<&str>) {
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
    match (parent, d.name.as_str()) {
        (None, _) => params(e, d, Section::Output(cx.plugin)),
        (Some(_), "buffer") => params(e, d, Section::Buffer(d.param("@type").unwrap_or("memory"))),
        (Some(_), "server") if cx.plugin == "forward" => params(e, d, Section::Server),
        _ => {}
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
            "buffer" => buffer(e, child, cx.cloudwatch_dir),
            "secondary" => {
                if let Some(kind) = child.param("@type") {
                    refuse_command(e, child.line, kind);
                }
            }
            _ => {}
        }
        walk(e, cx, child, Some(&child.name));
    }
}

/// A `<buffer>`: one of fluentd's buffer plugins; a file buffer's path unique to the route and
/// outside the CloudWatch store's buffer directory.
fn buffer(e: &mut Errors, b: &Directive, cloudwatch_dir: &str) {
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
            path_problem(&sample).map(str::to_owned).or_else(|| {
                super::nested(&sample, cloudwatch_dir).then(|| {
                    format!(
                        "shares the CloudWatch store's buffer directory (spec.legacy.fluentd.cloudWatchBuffer.path, {cloudwatch_dir}), where fluentd would find two outputs' chunks"
                    )
                })
            })
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
