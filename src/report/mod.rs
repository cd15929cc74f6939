//! Drift reports: one model ([`DriftReport`]), rendered as text, Markdown (with a Mermaid
//! picture of each pipeline), JSON (a stable, versioned schema: `docs/drift-report.schema.json`)
//! and JUnit XML. Pure: built from checks already made.

pub mod apply;
pub mod junit;
pub mod markdown;
pub mod mermaid;
pub mod text;

use crate::arn::LambdaArn;
use crate::aws::CallStats;
use crate::drift;
use crate::names::PipelineId;
use crate::plan::{Check, Op, Plan};
use crate::resources::ResourceKind;
use crate::spec::DriftItem;
use serde::Serialize;
use std::collections::BTreeSet;

/// Version of the JSON report's schema; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

/// A drift report over several pipelines.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    /// [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// `pitagora <version>`.
    pub generator: String,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
    /// Counts over all pipelines.
    pub totals: Totals,
    /// One entry per pipeline, in input order.
    pub pipelines: Vec<PipelineReport>,
}

/// Counts over all pipelines.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Pipelines checked.
    pub pipelines: usize,
    /// In sync.
    pub in_sync: usize,
    /// Drifted (differences, conflicts or resources mid-operation).
    pub drifted: usize,
    /// Could not be checked.
    pub errors: usize,
    /// Drift items.
    pub items: usize,
    /// Ignored items.
    pub ignored: usize,
    /// AWS calls made to produce the report.
    pub aws_calls: u64,
    /// Of which writes (a drift check makes none).
    pub aws_writes: u64,
}

/// `n word`, with an `s` unless `n` is 1.
pub fn plural(n: impl Into<u64>, word: &str) -> String {
    let n = n.into();
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

impl Totals {
    /// `3 pipelines: 1 in sync, 1 drifted, 1 error`.
    pub fn verdicts(&self) -> String {
        format!(
            "{}: {} in sync, {} drifted, {}",
            plural(self.pipelines as u64, "pipeline"),
            self.in_sync,
            self.drifted,
            plural(self.errors as u64, "error")
        )
    }
}

/// A pipeline's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// AWS matches the spec (ignored differences aside).
    InSync,
    /// AWS differs.
    Drifted,
    /// The pipeline could not be checked.
    Error,
}

impl Status {
    /// Stable label.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InSync => "in sync",
            Status::Drifted => "drifted",
            Status::Error => "error",
        }
    }
}

/// One pipeline's part of the report.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineReport {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The file (and document) it was read from.
    pub source: String,
    /// Verdict.
    pub status: Status,
    /// What went wrong, for `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Region checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `drift.policy: Report`: pitagora never corrects this pipeline.
    pub report_only: bool,
    /// The differences, one per field (or per resource when no field applies).
    pub items: Vec<DriftItem>,
    /// Differences accepted by ignore rules.
    pub ignored: Vec<DriftItem>,
    /// The pipeline's resources and their state.
    pub resources: Vec<Resource>,
    /// The chain, for pictures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chain: Option<Chain>,
}

impl PipelineReport {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// State of one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ResourceState {
    /// Matches.
    InSync,
    /// Differs; `apply` fixes it.
    Drifted,
    /// Blocked; a human must act.
    Conflict,
    /// Mid-operation in AWS.
    Pending,
}

impl ResourceState {
    /// The name used in status and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceState::InSync => "InSync",
            ResourceState::Drifted => "Drifted",
            ResourceState::Conflict => "Conflict",
            ResourceState::Pending => "Pending",
        }
    }
}

/// One resource of a pipeline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Resource {
    /// Kind.
    pub kind: ResourceKind,
    /// Name.
    pub name: String,
    /// State.
    pub state: ResourceState,
}

/// The stages of a pipeline's chain, each marked when something in it drifted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Chain {
    /// Source selection, e.g. `/ecs/*`, `/app/orders`.
    pub sources: Vec<String>,
    /// Number of log groups carrying the filter (or to carry it).
    pub filtered_groups: usize,
    /// Filters (or sources) drifted.
    pub filters_drifted: bool,
    /// Stream name.
    pub stream: String,
    /// Stream (or its error log group) drifted.
    pub stream_drifted: bool,
    /// Bucket name.
    pub bucket: String,
    /// Stack, bucket notifications or lifecycle drifted.
    pub bucket_drifted: bool,
    /// Transform function name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// Topic name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Subscribers, with whether each drifted.
    pub subscribers: Vec<ChainSubscriber>,
    /// The link where a delivery canary stopped (`subscription`, `firehose`, `transform`), when
    /// the report is of a verification.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub canary_stopped_at: Option<&'static str>,
}

/// A subscriber in a chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChainSubscriber {
    /// Subscriber name.
    pub name: String,
    /// Its subscription drifted.
    pub drifted: bool,
}

/// One pipeline's input to a report.
pub struct Input<'a> {
    /// Where it was read from.
    pub source: &'a str,
    /// Its identity.
    pub id: &'a PipelineId,
    /// The check, or why there is none.
    pub result: Result<&'a Check, String>,
}

/// One pipeline's part of a report: all a report keeps of its check (a large run reports each
/// check as it ends and lets the check go).
pub fn pipeline(input: &Input) -> PipelineReport {
    let mut report = PipelineReport {
        namespace: input.id.namespace.clone(),
        name: input.id.name.clone(),
        source: input.source.to_owned(),
        status: Status::Error,
        error: None,
        region: None,
        report_only: false,
        items: Vec::new(),
        ignored: Vec::new(),
        resources: Vec::new(),
        chain: None,
    };
    let check = match &input.result {
        Ok(check) => *check,
        Err(e) => {
            report.error = Some(e.clone());
            return report;
        }
    };
    let plan = &check.plan;
    report.region = Some(check.desired.target.region.clone());
    report.report_only = plan.report_only;
    report.status = if plan.in_sync() {
        Status::InSync
    } else {
        Status::Drifted
    };
    report.items = drift::items(plan);
    report.ignored = drift::ignored_items(plan);
    report.resources = resources(check);
    report.chain = Some(chain(check));
    report
}

/// The stack's own resources, read live.
fn held_resources(d: &crate::desired::Desired, list: &mut Vec<(ResourceKind, String)>) {
    let held = &d.held;
    if held.bucket_access != Default::default() {
        list.push((ResourceKind::BucketAccess, d.names.bucket.clone()));
    }
    if !held.bucket_policy.is_empty() {
        list.push((ResourceKind::BucketPolicy, d.names.bucket.clone()));
    }
    for role in held.roles.keys() {
        list.push((ResourceKind::Role, role.clone()));
    }
    if let (Some(_), Some(topic)) = (&held.topic_policy, &d.topic) {
        list.push((ResourceKind::TopicPolicy, topic.name.clone()));
    }
    if let (Some(_), Some(topic)) = (&held.topic_key, &d.topic) {
        list.push((ResourceKind::TopicEncryption, topic.name.clone()));
    }
    for p in &held.permissions {
        list.push((ResourceKind::LambdaPermission, p.function.clone()));
    }
}

/// The remote part of the pipeline: its destinations, and its filter's place on every remote
/// group selected (what the controller reads again next time, see [`crate::read::Hints`]).
fn remote_resources(check: &Check, list: &mut Vec<(ResourceKind, String)>) {
    let d = &check.desired;
    for w in &d.destinations {
        list.push((ResourceKind::Destination, w.destination.name.clone()));
    }
    for r in &d.remote {
        let groups = check.observed.remote.get(&r.key());
        for g in groups.into_iter().flat_map(|g| g.keys()) {
            if r.filters.selects(g) {
                let name = r.resource_name(g);
                list.push((ResourceKind::RemoteSubscriptionFilter, name));
            }
        }
    }
}

/// Every resource of a checked pipeline, with its state.
pub fn resources(check: &Check) -> Vec<Resource> {
    let d = &check.desired;
    let mut list: Vec<(ResourceKind, String)> = vec![
        (ResourceKind::Stack, d.stack.name.clone()),
        (ResourceKind::ErrorLogGroup, d.error_log_group.name.clone()),
        (ResourceKind::DeliveryStream, d.stream.name.clone()),
    ];
    if let Some(g) = &d.canary_log_group {
        list.push((ResourceKind::CanaryLogGroup, g.name.clone()));
    }
    for r in &d.remote {
        if let Some(g) = &r.canary_log_group {
            list.push((ResourceKind::RemoteCanaryLogGroup, r.resource_name(&g.name)));
        }
    }
    // A route's log group is the pipeline's only once pitagora created it (the plan acts on a
    // missing one); one its team created is theirs.
    for g in &d.route_log_groups {
        let live = check.observed.route_log_groups.get(&g.name);
        if live.is_some_and(|o| crate::plan::route_group_created_for(d, &o.tags)) {
            list.push((ResourceKind::RouteLogGroup, g.name.clone()));
        }
    }
    held_resources(d, &mut list);
    if !d.notifications.is_empty() {
        list.push((ResourceKind::BucketNotification, d.names.bucket.clone()));
    }
    if !d.lifecycle.is_empty() {
        list.push((ResourceKind::BucketLifecycle, d.names.bucket.clone()));
    }
    for (subscriber, _) in d.topic.iter().flat_map(|t| &t.subscriptions) {
        list.push((ResourceKind::TopicSubscription, subscriber.clone()));
    }
    let groups: BTreeSet<&String> = check
        .observed
        .log_groups
        .keys()
        .filter(|g| d.filters.selects(g))
        .collect();
    list.extend(
        groups
            .into_iter()
            .map(|g| (ResourceKind::SubscriptionFilter, g.clone())),
    );
    remote_resources(check, &mut list);
    for a in &check.plan.actions {
        if !list.iter().any(|(k, n)| *k == a.kind && *n == a.name) {
            list.push((a.kind, a.name.clone()));
        }
    }
    list.into_iter()
        .map(|(kind, name)| {
            let actions: Vec<Op> = check
                .plan
                .actions
                .iter()
                .filter(|a| a.kind == kind && a.name == name)
                .map(|a| a.op)
                .collect();
            let pending = check
                .plan
                .pending
                .iter()
                .any(|p| p.kind == kind && p.name == name);
            let state = if actions.contains(&Op::Conflict) {
                ResourceState::Conflict
            } else if !actions.is_empty() {
                ResourceState::Drifted
            } else if pending {
                ResourceState::Pending
            } else {
                ResourceState::InSync
            };
            Resource { kind, name, state }
        })
        .collect()
}

fn drifted(plan: &Plan, kinds: &[ResourceKind]) -> bool {
    plan.actions.iter().any(|a| kinds.contains(&a.kind))
        || plan.pending.iter().any(|p| kinds.contains(&p.kind))
}

/// Whether the plan acts on the resource `kind` `name`.
fn touches(plan: &Plan, kind: ResourceKind, name: &str) -> bool {
    plan.actions
        .iter()
        .any(|a| a.kind == kind && a.name == name)
}

/// The function whose permission lets the bucket invoke the transform.
fn transform_permission(d: &crate::desired::Desired) -> Option<&str> {
    d.held
        .permissions
        .iter()
        .find(|p| p.spec_field.starts_with("spec.transform"))
        .map(|p| p.function.as_str())
}

/// The chain of a check, for a picture.
pub fn chain(check: &Check) -> Chain {
    let d = &check.desired;
    let plan = &check.plan;
    let function = |arn: &str| {
        LambdaArn::parse(arn)
            .map(|a| a.function.to_owned())
            .unwrap_or_else(|| arn.to_owned())
    };
    let mut sources: Vec<String> = d
        .filters
        .log_group_prefixes
        .iter()
        .map(|p| format!("{p}*"))
        .collect();
    sources.extend(d.filters.log_groups.iter().cloned());
    Chain {
        sources,
        // The user's sources: the canary group is drawn with them, not counted.
        filtered_groups: check
            .observed
            .log_groups
            .keys()
            .filter(|g| d.filters.selects(g) && d.filters.canary.as_ref() != Some(*g))
            .count(),
        // Each role is drawn with the link it lets work: logs → stream, stream → bucket.
        filters_drifted: drifted(
            plan,
            &[
                ResourceKind::SubscriptionFilter,
                ResourceKind::LogGroup,
                ResourceKind::CanaryLogGroup,
                ResourceKind::RouteLogGroup,
            ],
        ) || touches(plan, ResourceKind::Role, &d.names.logs_role),
        stream: d.stream.name.clone(),
        stream_drifted: drifted(
            plan,
            &[ResourceKind::DeliveryStream, ResourceKind::ErrorLogGroup],
        ) || touches(plan, ResourceKind::Role, &d.names.delivery_role),
        bucket: d.names.bucket.clone(),
        bucket_drifted: drifted(
            plan,
            &[
                ResourceKind::Stack,
                ResourceKind::BucketAccess,
                ResourceKind::BucketPolicy,
                ResourceKind::BucketNotification,
                ResourceKind::BucketLifecycle,
                ResourceKind::TopicPolicy,
                ResourceKind::TopicEncryption,
            ],
        ) || transform_permission(d)
            .is_some_and(|f| touches(plan, ResourceKind::LambdaPermission, f)),
        transform: d.notifications.iter().find_map(|n| match &n.target {
            crate::resources::NotificationTarget::Lambda(arn) => Some(function(arn)),
            _ => None,
        }),
        topic: d.topic.as_ref().map(|t| t.name.clone()),
        subscribers: d
            .topic
            .iter()
            .flat_map(|t| &t.subscriptions)
            .map(|(name, subscription)| {
                let drift = touches(plan, ResourceKind::TopicSubscription, name)
                    || touches(plan, ResourceKind::LambdaPermission, &subscription.endpoint);
                ChainSubscriber {
                    name: name.clone(),
                    drifted: drift,
                }
            })
            .collect(),
        canary_stopped_at: None,
    }
}

/// Builds a report; `generated_at` is now unless given (tests fix it).
pub fn build(inputs: &[Input], calls: &CallStats, generated_at: Option<String>) -> DriftReport {
    assemble(inputs.iter().map(pipeline).collect(), calls, generated_at)
}

/// The report of pipelines already reported one by one ([`pipeline`]).
pub fn assemble(
    pipelines: Vec<PipelineReport>,
    calls: &CallStats,
    generated_at: Option<String>,
) -> DriftReport {
    let count = |s: Status| pipelines.iter().filter(|p| p.status == s).count();
    DriftReport {
        schema_version: SCHEMA_VERSION,
        generator: format!("pitagora {}", env!("CARGO_PKG_VERSION")),
        generated_at: generated_at.unwrap_or_else(|| {
            k8s_openapi::jiff::Timestamp::now()
                .strftime("%Y-%m-%dT%H:%M:%SZ")
                .to_string()
        }),
        totals: Totals {
            pipelines: pipelines.len(),
            in_sync: count(Status::InSync),
            drifted: count(Status::Drifted),
            errors: count(Status::Error),
            items: pipelines.iter().map(|p| p.items.len()).sum(),
            ignored: pipelines.iter().map(|p| p.ignored.len()).sum(),
            aws_calls: calls.total(),
            aws_writes: calls.writes(),
        },
        pipelines,
    }
}
