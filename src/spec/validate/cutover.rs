//! Validation of `spec.legacy` and `spec.cutover`: the fluentd target or verbatim store (parsed
//! as fluentd configuration), the ConfigMap key and the reload, the routes against the sources,
//! and the cutover's thresholds. Everything rendered into fluentd's configuration is checked
//! here, so that no spec value can break out of its directive.

use super::{Errors, quoted};
use crate::spec::cutover::*;
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
pub(super) fn validate_legacy_and_cutover(e: &mut Errors, spec: &LogPipelineSpec) {
    if let Some(legacy) = &spec.legacy {
        validate_fluentd(e, spec, &legacy.fluentd);
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

fn validate_fluentd(e: &mut Errors, spec: &LogPipelineSpec, f: &FluentdLegacy) {
    let at = "spec.legacy.fluentd";
    match (&f.target, &f.store) {
        (Some(t), None) => validate_target(e, t),
        (None, Some(store)) => validate_store(e, store),
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
    if let Some(config) = &f.config {
        validate_config(e, config);
        match &f.reload {
            Some(reload) => validate_reload(e, reload),
            None => e.push(
                format!("{at}.reload"),
                "<unset>",
                "required with config, or fluentd never picks up a stage change: name the DaemonSet (or Deployment) that mounts the ConfigMap, or set kind: None when your cluster reloads fluentd itself",
            ),
        }
    }
    let mut seen = BTreeSet::new();
    for (i, route) in f.routes.iter().enumerate() {
        let path = format!("{at}.routes[{i}]");
        e.length(&format!("{path}.match"), &route.r#match, 1, 256);
        e.pattern(
            &format!("{path}.match"),
            &route.r#match,
            &MATCH,
            FLUENTD_MATCH_PATTERN,
        );
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
    e.pattern(
        &format!("{at}.buffer.path"),
        &b.path,
        &PATH,
        ABSOLUTE_PATH_PATTERN,
    );
    e.range(
        &format!("{at}.buffer.flushIntervalSeconds"),
        b.flush_interval_seconds,
        1,
        3600,
        " seconds",
    );
    e.pattern(
        &format!("{at}.buffer.chunkLimitSize"),
        &b.chunk_limit_size,
        &SIZE,
        FLUENTD_SIZE_PATTERN,
    );
    e.pattern(
        &format!("{at}.buffer.totalLimitSize"),
        &b.total_limit_size,
        &SIZE,
        FLUENTD_SIZE_PATTERN,
    );
}

fn validate_store(e: &mut Errors, store: &str) {
    let path = "spec.legacy.fluentd.store";
    e.length(path, store, 1, 16384);
    match crate::spec::grammar::fluentd::parse(store) {
        Err(err) => e.push(
            path,
            "<text>",
            format!("is not valid fluentd configuration: {err}"),
        ),
        Ok(body) if body.param("@type").is_none() => e.push(
            path,
            "<text>",
            "names no output: a <store> body needs @type (e.g. @type forward)",
        ),
        Ok(body) => {
            if let Some(d) = body
                .directives
                .iter()
                .find(|d| !crate::spec::grammar::fluentd::STORE_SECTIONS.contains(&d.name.as_str()))
            {
                e.push(
                    path,
                    format!("<{}>", d.name),
                    format!(
                        "line {}: <{}> cannot appear inside a <store>; expected sections such as {}",
                        d.line,
                        d.name,
                        crate::spec::grammar::fluentd::STORE_SECTIONS.join(", ")
                    ),
                );
            }
        }
    }
}

fn validate_config(e: &mut Errors, c: &FluentdConfig) {
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
    e.pattern(&format!("{at}.key"), &c.key, &KEY, CONFIGMAP_KEY_PATTERN);
    e.length(&format!("{at}.key"), &c.key, 1, 63);
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
