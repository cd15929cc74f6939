//! The operator's rules for the legacy fluentd side (`spec.legacy.fluentd`): which ConfigMaps
//! pipelines may write routes into, and which output plugins a verbatim `store` may use.
//!
//! Every tenant's routes go into a ConfigMap the node-level fluentd loads, so what a store may
//! do is the cluster's business. The rules that hold for every cluster are validation's
//! ([`crate::spec::validate`]: one output per store, no `@include`, no `#{…}`, no `exec`, keys
//! named after the namespace, no catch-all route); the ones an operator chooses are here, pure
//! and self-contained, to be embedded in the controller's tenancy configuration and applied with
//! [`FluentdPolicy::check`] after validation:
//!
//! ```yaml
//! configMaps: [logging/fluentd-pitagora-routes]   # "namespace/name"; empty: any the RBAC allows
//! outputPlugins: [forward, secondary_file]         # default: [forward]
//! ```
//!
//! A store's output and each `<secondary>`'s `@type` must be in `outputPlugins`; the
//! ConfigMap of `spec.legacy.fluentd.config` must be in `configMaps` when the list is not empty.
//! Listing `exec` or `exec_filter` allows nothing: validation refuses them for every operator.

use super::grammar::fluentd;
use super::types::LogPipelineSpec;
use super::validate::FieldError;
use crate::names::PipelineId;
use serde::Deserialize;

/// The operator's fluentd rules.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FluentdPolicy {
    /// The ConfigMaps (`namespace/name`) pipelines may write routes into; empty: any the
    /// controller's RBAC allows.
    pub config_maps: Vec<String>,
    /// The output plugins (`@type`) a verbatim store and its `<secondary>` may use.
    pub output_plugins: Vec<String>,
}

impl Default for FluentdPolicy {
    fn default() -> Self {
        Self {
            config_maps: Vec::new(),
            output_plugins: vec!["forward".to_owned()],
        }
    }
}

impl FluentdPolicy {
    /// What `spec` of pipeline `id` does that this policy does not allow; empty when allowed
    /// (and for a pipeline without `legacy.fluentd`). A store that is not fluentd configuration
    /// is validation's error, not repeated here.
    pub fn check(&self, id: &PipelineId, spec: &LogPipelineSpec) -> Vec<FieldError> {
        let Some(legacy) = &spec.legacy else {
            return Vec::new();
        };
        let f = &legacy.fluentd;
        let mut errors = Vec::new();
        if let Some(c) = &f.config {
            let map = format!("{}/{}", c.namespace, c.name);
            if !self.config_maps.is_empty() && !self.config_maps.contains(&map) {
                errors.push(FieldError::new(
                    "spec.legacy.fluentd.config.name",
                    format!("{map:?}"),
                    format!(
                        "pipelines may write fluentd routes only into {} (the controller's fluentd policy); namespace {} may ask the cluster's administrators for another",
                        self.config_maps.join(", "),
                        id.namespace
                    ),
                ));
            }
        }
        if let Some(store) = &f.store
            && let Ok(body) = fluentd::parse(store)
        {
            let secondaries = body
                .children("secondary")
                .filter_map(|s| Some((s.param("@type")?, "<secondary> ")));
            let outputs = body.param("@type").map(|t| (t, "")).into_iter();
            for (kind, section) in outputs.chain(secondaries) {
                if !self.output_plugins.iter().any(|p| p == kind) {
                    errors.push(FieldError::new(
                        "spec.legacy.fluentd.store",
                        format!("{section}@type {kind}"),
                        format!(
                            "the output plugins a store may use here are {} (the controller's fluentd policy); use one of them, or set target instead",
                            self.output_plugins.join(", ")
                        ),
                    ));
                }
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id() -> PipelineId {
        PipelineId::new("team-a", "orders")
    }

    fn spec(fluentd: &str) -> LogPipelineSpec {
        let yaml = format!(
            "sources:\n  logGroups: [/ecs/orders]\nlegacy:\n  fluentd:\n{}",
            fluentd
                .lines()
                .map(|l| format!("    {l}\n"))
                .collect::<String>()
        );
        serde_saphyr::from_str(&yaml).unwrap()
    }

    fn store(body: &str) -> LogPipelineSpec {
        let indented: String = body.lines().map(|l| format!("  {l}\n")).collect();
        spec(&format!("store: |\n{indented}"))
    }

    const FORWARD: &str = "@type forward\n<server>\n  host agg\n</server>\n";

    #[test]
    fn the_default_allows_forward_and_any_config_map() {
        let p = FluentdPolicy::default();
        assert_eq!(p.output_plugins, ["forward"]);
        assert!(p.check(&id(), &store(FORWARD)).is_empty());
        let keyed = spec(
            "target: {host: agg}\nconfig: {namespace: logging, name: any, key: team-a.orders.conf}",
        );
        assert!(p.check(&id(), &keyed).is_empty());
    }

    #[test]
    fn a_store_output_outside_the_list_is_refused_naming_the_store() {
        let errors = FluentdPolicy::default().check(&id(), &store("@type s3\nbucket b\n"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "spec.legacy.fluentd.store");
        assert_eq!(errors[0].value, "@type s3");
        assert!(
            errors[0].message.contains("forward"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn a_secondary_outside_the_list_is_refused_and_allowed_once_listed() {
        let body = format!("{FORWARD}<secondary>\n  @type secondary_file\n</secondary>\n");
        let errors = FluentdPolicy::default().check(&id(), &store(&body));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].value, "<secondary> @type secondary_file");
        let listed = FluentdPolicy {
            output_plugins: vec!["forward".into(), "secondary_file".into()],
            ..FluentdPolicy::default()
        };
        assert!(listed.check(&id(), &store(&body)).is_empty());
    }

    #[test]
    fn a_config_map_outside_a_non_empty_list_is_refused_naming_it() {
        let p = FluentdPolicy {
            config_maps: vec!["logging/fluentd-pitagora-routes".into()],
            ..FluentdPolicy::default()
        };
        let spec_in = |map: &str| {
            spec(&format!(
                "target: {{host: agg}}\nconfig: {{namespace: logging, name: {map}, key: team-a.orders.conf}}"
            ))
        };
        assert!(
            p.check(&id(), &spec_in("fluentd-pitagora-routes"))
                .is_empty()
        );
        let errors = p.check(&id(), &spec_in("fluentd-main"));
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].path, "spec.legacy.fluentd.config.name");
        assert_eq!(errors[0].value, "\"logging/fluentd-main\"");
    }

    #[test]
    fn a_pipeline_without_legacy_or_with_an_unparsable_store_gets_nothing_here() {
        let p = FluentdPolicy::default();
        let plain: LogPipelineSpec =
            serde_saphyr::from_str("sources:\n  logGroups: [/ecs/orders]\n").unwrap();
        assert!(p.check(&id(), &plain).is_empty());
        assert!(p.check(&id(), &store("<buffer>\n")).is_empty());
    }

    #[test]
    fn the_policy_reads_from_camel_case_yaml_with_defaults() {
        let p: FluentdPolicy = serde_saphyr::from_str("configMaps: [logging/routes]\n").unwrap();
        assert_eq!(p.config_maps, ["logging/routes"]);
        assert_eq!(p.output_plugins, ["forward"]);
        let unknown: Result<FluentdPolicy, _> = serde_saphyr::from_str("outputs: [forward]\n");
        assert!(unknown.is_err());
    }
}
