//! The `LogPipeline` API: types and defaults ([`types`]), the offline check against the CRD's
//! OpenAPI schema ([`schema`]), the semantic rules that OpenAPI cannot express ([`validate`]) and
//! the grammars AWS defines for values passed to it verbatim ([`grammar`]),
//! the validated value every later stage takes ([`validate::valid_spec`]), the legacy fluentd
//! path and the cutover from it ([`legacy`]), and the status ([`status`]).

pub mod accounts;
pub mod delivery;
pub mod fluentd_policy;
pub mod grammar;
pub mod legacy;
pub mod patterns;
pub mod reach;
pub mod schema;
pub mod status;
pub mod tenancy;
pub mod types;
pub mod validate;

pub use accounts::{AccountRole, Accounts, AccountsError};
pub use fluentd_policy::FluentdPolicy;
pub use legacy::*;
pub use status::*;
pub use tenancy::{Tenancy, TenancyError};
pub use types::*;
pub use validate::{FieldError, InvalidSpec, ValidSpec, validate, validate_in};

use crate::names::PipelineId;
use kube::ResourceExt;

/// The partitions of the `Hive` layout: Firehose's arrival time, in UTC.
pub const HIVE_PARTITIONS: &str = "dt=!{timestamp:yyyy-MM-dd}/hour=!{timestamp:HH}/";

impl LogPipelineSpec {
    /// Every Lambda function the spec wires in, as (field path, ARN as written): the transform
    /// and each subscriber.
    pub fn functions(&self) -> impl Iterator<Item = (String, &str)> {
        let transform = self
            .transform
            .iter()
            .map(|t| ("spec.transform.lambdaArn".to_owned(), t.lambda_arn.as_str()));
        let subscribers = self.fanout.iter().flat_map(|f| {
            f.subscribers.iter().enumerate().map(|(i, s)| {
                (
                    format!("spec.fanout.subscribers[{i}].lambdaArn"),
                    s.lambda_arn.as_str(),
                )
            })
        });
        transform.chain(subscribers)
    }

    /// The compression in effect: the explicit one, else `GZIP` for NDJSON and envelopes, and
    /// `UNCOMPRESSED` for raw CloudWatch Logs envelopes (already gzip).
    pub fn compression(&self) -> Compression {
        self.delivery
            .compression
            .unwrap_or(match self.delivery.record_format {
                RecordFormat::Ndjson | RecordFormat::Envelope => Compression::Gzip,
                RecordFormat::Raw => Compression::Uncompressed,
            })
    }

    /// The S3 prefix Firehose writes under, with the layout's partitions.
    pub fn object_prefix(&self) -> String {
        self.delivery.object_prefix()
    }

    /// The S3 prefix of records Firehose could not process or deliver, with the layout's
    /// partitions.
    pub fn error_prefix(&self) -> String {
        self.delivery.error_prefix()
    }

    /// The cutover stage in effect: the explicit one, else `Legacy` while a legacy path is
    /// declared (nothing changes for it until the user moves on) and `New` otherwise.
    pub fn cutover_stage(&self) -> CutoverStage {
        self.cutover.stage.unwrap_or(if self.legacy.is_some() {
            CutoverStage::Legacy
        } else {
            CutoverStage::New
        })
    }

    /// Whether drift is only reported, never corrected.
    pub fn report_only(&self) -> bool {
        self.drift.policy == DriftPolicy::Report
    }

    /// The prefix under which the fan-out topic is notified: the transform's output when there is
    /// a transform, else the raw delivery prefix.
    pub fn fanout_source_prefix(&self) -> &str {
        match &self.transform {
            Some(t) => &t.output_prefix,
            None => &self.delivery.prefix,
        }
    }
}

impl Delivery {
    /// The S3 prefix Firehose writes under, with the layout's partitions.
    pub fn object_prefix(&self) -> String {
        match self.layout {
            Layout::Flat => self.prefix.clone(),
            Layout::Hive => format!("{}{HIVE_PARTITIONS}", self.prefix),
        }
    }

    /// The S3 prefix of records Firehose could not process or deliver, with the layout's
    /// partitions (Firehose requires the error type there once the prefix has expressions).
    pub fn error_prefix(&self) -> String {
        match self.layout {
            Layout::Flat => self.error_output_prefix.clone(),
            Layout::Hive => format!(
                "{}!{{firehose:error-output-type}}/{HIVE_PARTITIONS}",
                self.error_output_prefix
            ),
        }
    }
}

impl LogPipeline {
    /// `namespace/name`, with `default_namespace` for documents that have none.
    pub fn id(&self, default_namespace: &str) -> PipelineId {
        PipelineId::new(
            self.namespace()
                .unwrap_or_else(|| default_namespace.to_owned()),
            self.name_any(),
        )
    }
}
