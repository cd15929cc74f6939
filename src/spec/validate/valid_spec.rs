//! The validated pipeline: the only way past validation. Every later stage (desired state, the
//! engine, the controller, the CLI) takes a [`ValidSpec`], so a spec is validated once per
//! reconcile and once per command, and nothing downstream can act on one that failed.

use super::{FieldError, validate_in};
use crate::names::PipelineId;
use crate::spec::types::{IgnoreRule, LogPipelineSpec};
use std::fmt;

/// A spec that cannot be acted on; every problem is listed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct InvalidSpec(pub Vec<FieldError>);

impl fmt::Display for InvalidSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid LogPipeline spec ({} errors)", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// A pipeline's identity and spec that passed every rule, with the region it lives in when one
/// is known (the spec's own, else the default it was validated for: the region-bound rules ran
/// against that region).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSpec {
    id: PipelineId,
    spec: LogPipelineSpec,
    region: Option<String>,
}

impl ValidSpec {
    /// Validates `spec` as pipeline `id`, placed in `default_region` when the spec names none.
    pub fn new(
        id: PipelineId,
        spec: LogPipelineSpec,
        default_region: Option<&str>,
    ) -> Result<Self, InvalidSpec> {
        let errors = validate_in(&id, &spec, default_region);
        if !errors.is_empty() {
            return Err(InvalidSpec(errors));
        }
        let region = spec
            .region
            .clone()
            .or_else(|| default_region.map(str::to_owned));
        Ok(Self { id, spec, region })
    }

    /// The pipeline's identity.
    pub fn id(&self) -> &PipelineId {
        &self.id
    }

    /// The spec.
    pub fn spec(&self) -> &LogPipelineSpec {
        &self.spec
    }

    /// The region, when the spec or the default names one.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// Adds ignore rules from outside the spec (a repository's ignore file, whose rules were
    /// checked when it was read). They only ever remove differences from reports.
    pub fn add_ignore_rules(&mut self, rules: impl IntoIterator<Item = IgnoreRule>) {
        self.spec.drift.ignore.extend(rules);
    }
}
