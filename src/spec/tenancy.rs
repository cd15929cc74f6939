//! Tenancy: which log groups each namespace's pipelines may subscribe. A cluster shared by
//! teams gives the controller an allow-list of log-group name prefixes per namespace
//! (`--source-allow-list FILE`), so a team cannot point a pipeline at another team's logs:
//! a source outside its prefixes is an invalid spec, refused before AWS is asked anything.
//!
//! ```yaml
//! # namespace: [log-group name prefixes its pipelines may subscribe]
//! team-a: [/ecs/team-a/, /aws/lambda/team-a-]
//! team-b: [/ecs/team-b/]
//! "*": [/shared/]          # every namespace, besides its own entries
//! ```
//!
//! Without a list every namespace may subscribe any log group (one team per cluster). With one,
//! a namespace it does not name may subscribe only the `"*"` prefixes.

use super::types::LogPipelineSpec;
use super::validate::FieldError;
use crate::names::PipelineId;
use std::collections::BTreeMap;

/// The key of the prefixes every namespace may use.
pub const EVERY_NAMESPACE: &str = "*";

/// The allow-list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tenancy {
    prefixes: BTreeMap<String, Vec<String>>,
}

/// Why an allow-list file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenancyError {
    /// Not a YAML map of namespace to a list of strings.
    #[error("not a map of namespace to a list of log-group name prefixes: {0}")]
    Shape(String),
    /// A prefix that would allow every log group.
    #[error(
        "namespace {namespace}: prefix {prefix:?} allows every log group; name the tenant's own prefix"
    )]
    Prefix {
        /// The namespace.
        namespace: String,
        /// The prefix.
        prefix: String,
    },
}

impl Tenancy {
    /// Parses the allow-list file's text.
    pub fn parse(text: &str) -> Result<Self, TenancyError> {
        let prefixes: BTreeMap<String, Vec<String>> =
            serde_saphyr::from_str(text).map_err(|e| TenancyError::Shape(e.to_string()))?;
        for (namespace, list) in &prefixes {
            if let Some(prefix) = list.iter().find(|p| p.is_empty() || *p == "/") {
                return Err(TenancyError::Prefix {
                    namespace: namespace.clone(),
                    prefix: prefix.clone(),
                });
            }
        }
        Ok(Self { prefixes })
    }

    /// The prefixes pipelines of `namespace` may subscribe.
    pub fn allowed(&self, namespace: &str) -> Vec<&str> {
        [namespace, EVERY_NAMESPACE]
            .iter()
            .filter_map(|ns| self.prefixes.get(*ns))
            .flatten()
            .map(String::as_str)
            .collect()
    }

    /// Every source of `spec` outside what pipeline `id`'s namespace may subscribe.
    pub fn check(&self, id: &PipelineId, spec: &LogPipelineSpec) -> Vec<FieldError> {
        let allowed = self.allowed(&id.namespace);
        let permitted = |name: &str| allowed.iter().any(|p| name.starts_with(p));
        let fix = if allowed.is_empty() {
            format!(
                "namespace {} may subscribe no log group (it is not in the controller's \
                 --source-allow-list); ask the cluster's administrators to add it",
                id.namespace
            )
        } else {
            format!(
                "namespace {} may subscribe only log groups under {} (the controller's \
                 --source-allow-list)",
                id.namespace,
                allowed.join(", ")
            )
        };
        let sources = &spec.sources;
        let groups = sources
            .log_groups
            .iter()
            .enumerate()
            .map(|(i, g)| (format!("spec.sources.logGroups[{i}]"), g));
        let prefixes = sources
            .log_group_prefixes
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("spec.sources.logGroupPrefixes[{i}]"), p));
        groups
            .chain(prefixes)
            .filter(|(_, name)| !permitted(name))
            .map(|(path, name)| FieldError::new(path, format!("{name:?}"), fix.clone()))
            .collect()
    }
}
