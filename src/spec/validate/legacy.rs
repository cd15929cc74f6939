//! Validation of `spec.legacy` and `spec.cutover`: the fluentd target or verbatim store (parsed
//! as fluentd configuration, [`store`]), the ConfigMap key and the reload, the routes against the
//! sources, and the cutover's thresholds. Everything rendered into fluentd's configuration is
//! checked here, so that no spec value can break out of its directive.
//!
//! The ConfigMap is shared by every tenant of the cluster and loaded by the node-level fluentd,
//! so the rules that hold for every operator keep one tenant from harming the others or the
//! fluentd pods: a namespace writes only keys named after it, a route takes only tags under a
//! fixed first part (never every tag), and a verbatim store holds one output's configuration
//! with no code, no include and no buffer path shared with another route. What an operator
//! chooses (which output plugins, which ConfigMaps) is [`crate::spec::fluentd_policy`].

mod store;

use super::{Errors, quoted};
use crate::names::PipelineId;
use crate::spec::grammar::fluentd_match::TagPattern;
use crate::spec::legacy::*;
use crate::spec::patterns::*;
use crate::spec::types::LogPipelineSpec;
use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

static MATCH: LazyLock<Regex> = LazyLock::new(|| Regex::new(FLUENTD_MATCH_PATTERN).unwrap());
static HOST: LazyLock<Regex> = LazyLock::new(|| Regex::new(HOST_PATTERN).unwrap());
static KEY: LazyLock<Regex> = LazyLock::new(|| Regex::new(CONFIGMAP_KEY_PATTERN).unwrap());
static SIZE: LazyLock<Regex> = LazyLock::new(|| Regex::new(FLUENTD_SIZE_PATTERN).unwrap());
static PATH: LazyLock<Regex> = LazyLock::new(|| Regex::new(ABSOLUTE_PATH_PATTERN).unwrap());
static LOG_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(LOG_GROUP_NAME_PATTERN).unwrap());

impl Errors {
    /// `value` at `path` must match `re` (the schema's `pattern`); an empty value is left to the
    /// length check, so that one bad value is one error.
    fn pattern(&mut self, path: &str, value: &str, re: &Regex, pattern: &str) {
        if !value.is_empty() && !re.is_match(value) {
            let expected = describe_pattern(pattern).unwrap_or(pattern);
            self.push(path, quoted(value), format!("must be {expected}"));
        }
    }
}

/// `spec.legacy` and `spec.cutover`.
pub(super) fn validate_legacy_and_cutover(e: &mut Errors, id: &PipelineId, spec: &LogPipelineSpec) {
    if let Some(legacy) = &spec.legacy {
        validate_fluentd(e, id, spec, &legacy.fluentd);
    }
    let c = &spec.cutover;
    if let Some(stage) = c.stage
        && stage != CutoverStage::New
        && spec.legacy.is_none()
    {
        e.push(
            "spec.cutover.stage",
            stage.as_str(),
            "needs spec.legacy (the path being migrated from); declare spec.legacy.fluentd or use stage New",
        );
    }
    let s = " seconds";
    e.range(
        "spec.cutover.requiredSuccesses",
        c.required_successes,
        1,
        1000,
        "",
    );
    e.range(
        "spec.cutover.maxDeliverySeconds",
        c.max_delivery_seconds,
        60,
        86400,
        s,
    );
    e.range(
        "spec.cutover.shadowWindowSeconds",
        c.shadow_window_seconds,
        0,
        604800,
        s,
    );
    e.range(
        "spec.cutover.incomingDeadlineSeconds",
        c.incoming_deadline_seconds,
        60,
        86400,
        s,
    );
}

fn validate_fluentd(e: &mut Errors, id: &PipelineId, spec: &LogPipelineSpec, f: &FluentdLegacy) {
    let at = "spec.legacy.fluentd";
    match (&f.target, &f.store) {
        (Some(t), None) => validate_target(e, t),
        (None, Some(store)) => store::validate_store(e, store, &f.cloud_watch_buffer.path),
        (Some(_), Some(_)) => e.push(
            format!("{at}.store"),
            "<set>",
            "set either spec.legacy.fluentd.target or spec.legacy.fluentd.store, not both",
        ),
        (None, None) => e.push(
            format!("{at}.target"),
            "<unset>",
            "the legacy output is missing: set target (host and port of the aggregator) or store (a verbatim fluentd <store> body)",
        ),
    }
    validate_cloudwatch_buffer(e, f);
    if let Some(config) = &f.config {
        validate_config(e, id, config);
        match &f.reload {
            Some(reload) => validate_reload(e, reload),
            None => e.push(
                format!("{at}.reload"),
                "<unset>",
                "required with config, or fluentd never picks up a stage change: name the DaemonSet (or Deployment) that mounts the ConfigMap, or set kind: None when your cluster reloads fluentd itself",
            ),
        }
    }
    if !LOG_RETENTION_DAYS.contains(&f.log_group_retention_days) {
        e.push(
            format!("{at}.logGroupRetentionDays"),
            f.log_group_retention_days,
            "is not a retention CloudWatch Logs accepts; use one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653 days",
        );
    }
    let mut seen = BTreeSet::new();
    for (i, route) in f.routes.iter().enumerate() {
        let path = format!("{at}.routes[{i}]");
        validate_match(e, &format!("{path}.match"), &route.r#match);
        if !seen.insert(route.r#match.as_str()) {
            e.push(
                format!("{path}.match"),
                quoted(&route.r#match),
                "is the match of an earlier route: fluentd would send these tags by the first one only; merge the routes",
            );
        }
        if !is_source(spec, &route.log_group) {
            e.push(
                format!("{path}.logGroup"),
                quoted(&route.log_group),
                "is not one of this pipeline's sources, so these logs would never reach the new path; add it to spec.sources.logGroups or a matching prefix",
            );
        }
        if let Some(stream) = &route.log_stream {
            e.length(&format!("{path}.logStream"), stream, 1, 512);
            e.pattern(
                &format!("{path}.logStream"),
                stream,
                &LOG_NAME,
                LOG_GROUP_NAME_PATTERN,
            );
        }
    }
}

fn is_source(spec: &LogPipelineSpec, group: &str) -> bool {
    spec.sources.log_groups.iter().any(|g| g == group)
        || spec
            .sources
            .log_group_prefixes
            .iter()
            .any(|p| group.starts_with(p.as_str()))
}

fn validate_target(e: &mut Errors, t: &FluentdTarget) {
    let at = "spec.legacy.fluentd.target";
    e.length(&format!("{at}.host"), &t.host, 1, 253);
    e.pattern(&format!("{at}.host"), &t.host, &HOST, HOST_PATTERN);
    e.range(&format!("{at}.port"), t.port, 1, 65535, "");
    let b = &t.buffer;
    buffer_dir(
        e,
        &format!("{at}.buffer"),
        &BufferDir {
            path: &b.path,
            flush_interval_seconds: b.flush_interval_seconds,
            chunk_limit_size: &b.chunk_limit_size,
            total_limit_size: &b.total_limit_size,
        },
    );
}

/// The settings a store's buffer directory shares with every other.
struct BufferDir<'a> {
    path: &'a str,
    flush_interval_seconds: i32,
    chunk_limit_size: &'a str,
    total_limit_size: &'a str,
}

/// A buffer's directory (each route's buffer is a directory inside it), flush interval and sizes
/// at `at`.
fn buffer_dir(e: &mut Errors, at: &str, b: &BufferDir) {
    let path = format!("{at}.path");
    e.pattern(&path, b.path, &PATH, ABSOLUTE_PATH_PATTERN);
    if PATH.is_match(b.path)
        && let Some(problem) = path_problem(b.path)
    {
        e.push(
            path,
            quoted(b.path),
            format!(
                "{problem}: each route's buffer is a directory inside this one, and fluentd's other buffers and files must stay out of reach; write the directory itself, e.g. /var/log/fluentd-buffers/pitagora"
            ),
        );
    }
    e.range(
        &format!("{at}.flushIntervalSeconds"),
        b.flush_interval_seconds,
        1,
        3600,
        " seconds",
    );
    let chunk = format!("{at}.chunkLimitSize");
    let total = format!("{at}.totalLimitSize");
    e.pattern(&chunk, b.chunk_limit_size, &SIZE, FLUENTD_SIZE_PATTERN);
    e.pattern(&total, b.total_limit_size, &SIZE, FLUENTD_SIZE_PATTERN);
    if let (Some(c), Some(t)) = (
        size_bytes(b.chunk_limit_size),
        size_bytes(b.total_limit_size),
    ) && c > t
    {
        e.push(
            chunk,
            quoted(b.chunk_limit_size),
            format!(
                "is larger than {total} ({}): a chunk must fit in the buffer; lower it or raise the total",
                b.total_limit_size
            ),
        );
    }
}

/// The CloudWatch store's buffer, and its directory apart from the legacy store's: fluentd
/// refuses two outputs sharing a buffer path, and a store would resume the other's chunks.
fn validate_cloudwatch_buffer(e: &mut Errors, f: &FluentdLegacy) {
    let at = "spec.legacy.fluentd.cloudWatchBuffer";
    let b = &f.cloud_watch_buffer;
    buffer_dir(
        e,
        at,
        &BufferDir {
            path: &b.path,
            flush_interval_seconds: b.flush_interval_seconds,
            chunk_limit_size: &b.chunk_limit_size,
            total_limit_size: &b.total_limit_size,
        },
    );
    if let Some(t) = &f.target
        && t.buffer.kind == BufferKind::File
        && nested(&b.path, &t.buffer.path)
    {
        e.push(
            format!("{at}.path"),
            quoted(&b.path),
            format!(
                "overlaps spec.legacy.fluentd.target.buffer.path ({}): each store needs a directory of its own, neither inside the other; e.g. /var/log/fluentd-buffers/pitagora-cloudwatch",
                t.buffer.path
            ),
        );
    }
}

/// Whether the directories `a` and `b` are the same or one is inside the other.
fn nested(a: &str, b: &str) -> bool {
    let a = a.trim_end_matches('/');
    let b = b.trim_end_matches('/');
    let inside = |x: &str, y: &str| x.strip_prefix(y).is_some_and(|rest| rest.starts_with('/'));
    a == b || inside(a, b) || inside(b, a)
}

/// The bytes of a fluentd size (`8m`), when it is one (above zero).
fn size_bytes(size: &str) -> Option<u128> {
    if !SIZE.is_match(size) {
        return None;
    }
    let (digits, shift) = match size.as_bytes().last()? {
        b'k' => (&size[..size.len() - 1], 10),
        b'm' => (&size[..size.len() - 1], 20),
        b'g' => (&size[..size.len() - 1], 30),
        b't' => (&size[..size.len() - 1], 40),
        _ => (size, 0),
    };
    digits.parse::<u128>().ok()?.checked_mul(1 << shift)
}

/// Why an absolute path does not name the directory it spells: a `.` or `..` segment, or an
/// empty one (`//`); a single trailing `/` is allowed.
fn path_problem(path: &str) -> Option<&'static str> {
    let inner = path.strip_prefix('/')?;
    let inner = inner.strip_suffix('/').unwrap_or(inner);
    if inner.is_empty() {
        return None;
    }
    inner.split('/').find_map(|segment| match segment {
        ".." => Some("has a '..' segment, which climbs out of the directory"),
        "." => Some("has a '.' segment"),
        "" => Some("has an empty segment ('//')"),
        _ => None,
    })
}

/// A route's `match`: fluentd's tag grammar, and a pattern that takes only this team's tags.
fn validate_match(e: &mut Errors, path: &str, pattern: &str) {
    let before = e.0.len();
    e.length(path, pattern, 1, 256);
    if e.0.len() > before {
        return;
    }
    let parsed = match TagPattern::parse(pattern) {
        Ok(parsed) => parsed,
        Err(err) => return e.push(path, quoted(pattern), err.to_string()),
    };
    if !MATCH.is_match(pattern) {
        return e.pattern(path, pattern, &MATCH, FLUENTD_MATCH_PATTERN);
    }
    if let Some(all) = parsed.catch_all() {
        e.push(
            path,
            quoted(pattern),
            format!(
                "{all} matches every tag: the node-level fluentd is shared, and its first matching route takes the logs, so this route would take every team's logs; match your own tags, e.g. app.orders.**"
            ),
        );
    } else if let Some(alternative) = parsed.unanchored() {
        e.push(
            path,
            quoted(pattern),
            format!(
                "{alternative} does not begin with a fixed tag part, so it would take other teams' logs that end the same way; begin with your own tag, e.g. app.orders.**"
            ),
        );
    }
}

fn validate_config(e: &mut Errors, id: &PipelineId, c: &FluentdConfig) {
    let at = "spec.legacy.fluentd.config";
    e.pattern(
        &format!("{at}.namespace"),
        &c.namespace,
        &super::DNS_LABEL,
        DNS_LABEL_PATTERN,
    );
    e.length(&format!("{at}.namespace"), &c.namespace, 1, 63);
    e.pattern(
        &format!("{at}.name"),
        &c.name,
        &super::DNS_SUBDOMAIN,
        DNS_SUBDOMAIN_PATTERN,
    );
    e.length(&format!("{at}.name"), &c.name, 1, 253);
    let key = format!("{at}.key");
    e.pattern(&key, &c.key, &KEY, CONFIGMAP_KEY_PATTERN);
    e.length(&key, &c.key, 1, 63);
    let own = format!("{}.", id.namespace);
    if KEY.is_match(&c.key) && !c.key.starts_with(&own) {
        e.push(
            key,
            quoted(&c.key),
            format!(
                "must begin with {own} (this pipeline's namespace and a dot), e.g. {own}{}.conf: the ConfigMap is shared by every namespace's pipelines, and a namespace writes only keys named after it",
                id.name
            ),
        );
    }
}

fn validate_reload(e: &mut Errors, r: &FluentdReload) {
    let at = "spec.legacy.fluentd.reload";
    match (&r.kind, &r.name) {
        (ReloadKind::None, _) => {}
        (kind, None) => e.push(
            format!("{at}.name"),
            "<unset>",
            format!("required with kind {kind:?}: the name of the {kind:?} that runs fluentd"),
        ),
        (_, Some(name)) => e.pattern(
            &format!("{at}.name"),
            name,
            &super::DNS_SUBDOMAIN,
            DNS_SUBDOMAIN_PATTERN,
        ),
    }
    if let Some(ns) = &r.namespace {
        e.pattern(
            &format!("{at}.namespace"),
            ns,
            &super::DNS_LABEL,
            DNS_LABEL_PATTERN,
        );
    }
}
