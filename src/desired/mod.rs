//! Desired state: what AWS should hold for one pipeline. Pure: a validated [`Pipeline`] (spec,
//! identity, account and region) in, plain values out; one file per resource kind (`template.rs`
//! for the CloudFormation stack, `stream.rs`, `filters.rs`, `remote.rs` (the destinations and
//! the remote sources' filters), `bucket.rs`, `topic.rs`).

mod bucket;
mod filters;
mod fluentd;
mod held;
pub mod iam_policies;
mod pipeline;
mod remote;
mod stream;
pub mod template;
mod topic;

use crate::delivery::progress::CanaryRoute;
use crate::delivery::signals;
pub use crate::spec::InvalidSpec;
pub use filters::FilterSpec;
pub use fluentd::FluentdSpec;
pub use held::{HeldPermission, HeldRole, HeldSpec, statement_id};
pub use pipeline::{NoRegion, Pipeline};
pub use remote::{DestinationSpec, RemoteSpec, SUBSCRIBE_ACTION};
pub use stream::{StreamSpec, ndjson_processors};
pub use topic::TopicSpec;

use crate::arn::AwsTarget;
use crate::names::{CANARY_LOG_GROUP_ROOT, MANAGED_BY_TAG, Names, OWNER_TAG, PipelineId};
use crate::resources::*;
use crate::spec::grammar::prefix::static_prefix;
use crate::spec::{self, CutoverStage, DeletionPolicy, LogPipelineSpec};
use serde::Serialize;

/// Days Firehose error logs are kept.
pub const ERROR_LOG_RETENTION_DAYS: i32 = 30;
/// The S3 event every pitagora notification reacts to.
pub const OBJECT_CREATED: &str = "s3:ObjectCreated:*";
/// Capabilities the stack needs (it creates IAM roles with fixed names).
pub const STACK_CAPABILITIES: &[&str] = &["CAPABILITY_NAMED_IAM"];

/// Everything AWS should hold for one pipeline.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Desired {
    /// The pipeline.
    pub id: PipelineId,
    /// Account and region.
    pub target: AwsTarget,
    /// Every derived name.
    pub names: Names,
    /// Tags every taggable resource carries; the owner tag identifies the pipeline.
    pub tags: Tags,
    /// `drift.policy: Report`: plans are computed but never executed.
    pub report_only: bool,
    /// Untagged same-named resources may be adopted.
    pub adopt_existing: bool,
    /// Differences the team accepts (`drift.ignore`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<spec::IgnoreRule>,
    /// `storage.deletionPolicy`: what deleting the pipeline does to the bucket.
    pub deletion_policy: DeletionPolicy,
    /// What the spec consents to lose (`spec.acknowledge`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acknowledge: Option<spec::Acknowledge>,
    /// The cutover stage in effect.
    pub stage: CutoverStage,
    /// The CloudFormation stack.
    pub stack: StackSpec,
    /// What the stack's resources should hold live (read from its template).
    pub held: HeldSpec,
    /// The Firehose error-logging log group.
    pub error_log_group: LogGroupSpec,
    /// pitagora's canary log group (`delivery.verify.enabled`), a source of the pipeline.
    pub canary_log_group: Option<LogGroupSpec>,
    /// The log groups the fluentd routes write into (`legacy.fluentd.routes[].logGroup`, each
    /// once, sorted), sources of the pipeline: created when missing, with
    /// `logGroupRetentionDays`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub route_log_groups: Vec<LogGroupSpec>,
    /// Where the delivery canary goes and is looked for (`None`: verification is off).
    #[serde(skip)]
    pub canary_route: Option<CanaryRoute>,
    /// The Firehose delivery stream.
    pub stream: StreamSpec,
    /// The subscription filters: one per selected log group.
    pub filters: FilterSpec,
    /// The CloudWatch Logs destinations the remote sources deliver through: one per source
    /// region, sorted by region.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<DestinationSpec>,
    /// The remote sources (`spec.sources.remote`): per account and region, the groups and the
    /// filter they carry.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub remote: Vec<RemoteSpec>,
    /// This pipeline's entries in the bucket's notification configuration.
    pub notifications: Vec<Notification>,
    /// This pipeline's rules in the bucket's lifecycle configuration (none without retention or
    /// transition).
    pub lifecycle: Vec<LifecycleRule>,
    /// The fan-out topic and its Lambda subscriptions (none before `Primary`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<TopicSpec>,
    /// The fluentd routes (`legacy.fluentd`): a cluster resource, printed by
    /// `render --only fluentd`.
    #[serde(skip)]
    pub fluentd: Option<FluentdSpec>,
}

impl Desired {
    /// What the loss-signal rules need of this pipeline.
    pub fn signal_pipeline(&self) -> signals::Pipeline<'_> {
        let destination = &self.stream.destination;
        signals::Pipeline {
            stream: &self.stream.name,
            filter_name: &self.filters.filter.name,
            filter_pattern: &self.filters.filter.pattern,
            buffer_interval_s: i64::from(destination.buffering.interval_seconds),
            bucket: &self.names.bucket,
            error_prefix: static_prefix(&destination.error_output_prefix),
        }
    }
}

/// A CloudFormation stack.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StackSpec {
    /// Stack name.
    pub name: String,
    /// The template, as JSON.
    pub template: serde_json::Value,
    /// Stack tags (CloudFormation propagates them to the resources that support tags).
    pub tags: Tags,
    /// The service role CloudFormation creates, updates and deletes the stack's resources with
    /// (passed on every stack operation: pitagora never writes a stack without it).
    pub role_arn: String,
}

/// A log group pitagora owns or creates: the error-logging group, the canary group, the routes'
/// groups.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogGroupSpec {
    /// Log group name.
    pub name: String,
    /// Log group ARN (without the `:*` suffix).
    pub arn: String,
    /// Retention in days.
    pub retention_days: i32,
    /// Tags.
    pub tags: Tags,
}

/// Days the canary log group keeps its events: they only prove delivery.
pub const CANARY_RETENTION_DAYS: i32 = 1;

/// The name of `p`'s canary log group: under the first selected prefix, so that the canary also
/// proves that new groups under the prefix are picked up, else under `/pitagora/canary/` (and
/// then a source of the pipeline by name).
pub fn canary_log_group_name(p: &Pipeline) -> String {
    let stream = &p.names().stream;
    match p.spec().sources.log_group_prefixes.first() {
        Some(prefix) => format!("{prefix}{stream}-canary"),
        None => format!("{CANARY_LOG_GROUP_ROOT}{stream}"),
    }
}

fn canary_log_group(p: &Pipeline, tags: &Tags) -> Option<LogGroupSpec> {
    p.spec().delivery.verify.enabled.then(|| {
        let name = canary_log_group_name(p);
        LogGroupSpec {
            arn: p.target().log_group_arn(&name),
            name,
            retention_days: CANARY_RETENTION_DAYS,
            tags: tags.clone(),
        }
    })
}

/// The distinct log groups of `p`'s fluentd routes, sorted by name.
fn route_log_groups(p: &Pipeline, tags: &Tags) -> Vec<LogGroupSpec> {
    let Some(legacy) = &p.spec().legacy else {
        return Vec::new();
    };
    let fluentd = &legacy.fluentd;
    let names: std::collections::BTreeSet<&str> = fluentd
        .routes
        .iter()
        .map(|r| r.log_group.as_str())
        .collect();
    names
        .into_iter()
        .map(|name| LogGroupSpec {
            name: name.to_owned(),
            arn: p.target().log_group_arn(name),
            retention_days: fluentd.log_group_retention_days,
            tags: tags.clone(),
        })
        .collect()
}

fn canary_route(p: &Pipeline, remote: &[RemoteSpec]) -> Option<CanaryRoute> {
    let d = &p.spec().delivery;
    d.verify.enabled.then(|| CanaryRoute {
        log_group: canary_log_group_name(p),
        bucket: p.names().bucket.clone(),
        raw_prefix: static_prefix(&d.prefix).to_owned(),
        processed_prefix: p.spec().transform.as_ref().map(|t| t.output_prefix.clone()),
        layout: d.layout,
        buffer_interval_ms: i64::from(d.buffering.interval_seconds) * 1000,
        interval_ms: i64::from(d.verify.interval_seconds) * 1000,
        margin_ms: crate::delivery::progress::RAW_MARGIN_MS,
        paths: remote
            .iter()
            .filter_map(|r| {
                Some(crate::delivery::paths::RemotePath {
                    place: r.place.clone(),
                    log_group: r.canary_log_group.as_ref()?.name.clone(),
                })
            })
            .collect(),
    })
}

/// The desired state of `p`. Pure and infallible: `p` passed validation.
pub fn build(p: &Pipeline) -> Desired {
    let (id, spec, names) = (p.id(), p.spec(), p.names());
    let tags: Tags = [
        (OWNER_TAG.to_owned(), id.owner_tag_value()),
        (MANAGED_BY_TAG.0.to_owned(), MANAGED_BY_TAG.1.to_owned()),
    ]
    .into();
    let template = template::build(p);
    let destinations = remote::destinations(p, &tags);
    let remote = remote::sources(p, &destinations, &tags);
    Desired {
        canary_route: canary_route(p, &remote),
        remote,
        destinations,
        held: held::build(p, &template),
        stack: StackSpec {
            name: names.stack.clone(),
            template,
            tags: tags.clone(),
            role_arn: p.cloudformation_role_arn(),
        },
        error_log_group: LogGroupSpec {
            name: names.error_log_group.clone(),
            arn: p.target().log_group_arn(&names.error_log_group),
            retention_days: ERROR_LOG_RETENTION_DAYS,
            tags: tags.clone(),
        },
        canary_log_group: canary_log_group(p, &tags),
        route_log_groups: route_log_groups(p, &tags),
        stream: stream::build(p, &tags),
        filters: filters::build(p),
        notifications: bucket::notifications(p),
        lifecycle: bucket::lifecycle(p),
        topic: topic::build(p),
        fluentd: fluentd::build(p),
        id: id.clone(),
        report_only: spec.report_only(),
        adopt_existing: spec.adopt_existing,
        ignore: spec.drift.ignore.clone(),
        deletion_policy: spec.storage.deletion_policy,
        acknowledge: spec.acknowledge.clone(),
        stage: p.stages().pipeline,
        target: p.target().clone(),
        names: names.clone(),
        tags,
    }
}

/// Validates `spec` as `id`, places it in `account_id` (and `default_region` unless the spec
/// names one) and computes its desired state: for callers that hold a bare spec (render, tests).
pub fn from_spec(
    id: &PipelineId,
    spec: &LogPipelineSpec,
    account_id: &str,
    default_region: &str,
) -> Result<Desired, InvalidSpec> {
    Ok(build(&Pipeline::from_spec(
        id,
        spec,
        account_id,
        default_region,
    )?))
}
