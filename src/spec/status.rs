//! What the controller reports on a `LogPipeline`: its status subresource. Written only by the
//! controller (server-side apply, field manager `pitagora`), computed as a value in
//! [`crate::controller::status`].

use crate::resources::ResourceKind;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the controller last saw and did.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogPipelineStatus {
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// `Ready`, `Synced` and `Drifted` conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,

    /// The cutover stage in effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,

    /// The AWS resources of this pipeline and their state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 300))]
    pub resources: Vec<ResourceStatus>,

    /// Number of drift items found by the last check (the list below may be shorter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_count: Option<i32>,

    /// The drift items found by the last check, at most 50.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub drift: Vec<DriftItem>,

    /// When AWS was last compared with this spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_check_time: Option<Time>,

    /// The last value of the `pitagora.dev/reconcile-requested-at` annotation that was acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,

    /// Whether logs arrive: the last canary and what became of it at each stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryStatus>,

    /// The cutover from the legacy path: each route's stage in effect and what holds a move
    /// back (only with `spec.legacy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover: Option<CutoverStatus>,
}

/// What `apply` does (or would do) about a difference.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DriftAction {
    /// Create the missing resource.
    Create,
    /// Change the resource in place.
    Update,
    /// Remove the resource (or this pipeline's part of it).
    Delete,
    /// Nothing: a human must act.
    Conflict,
    /// Nothing yet: the resource is mid-operation in AWS.
    Wait,
}

impl DriftAction {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftAction::Create => "Create",
            DriftAction::Update => "Update",
            DriftAction::Delete => "Delete",
            DriftAction::Conflict => "Conflict",
            DriftAction::Wait => "Wait",
        }
    }
}

impl fmt::Display for DriftAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for DriftAction {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DriftItem {
    /// Resource kind, e.g. `DeliveryStream`.
    pub kind: ResourceKind,
    /// Resource name (a subscription filter's is its log group's).
    pub resource: String,
    /// The AWS field, e.g. `BufferingHints.SizeInMBs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The spec field that sets it, e.g. `spec.delivery.buffering.sizeMiB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec_field: Option<String>,
    /// Value the spec asks for (absent: should not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired: Option<String>,
    /// Value found (absent: does not exist).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actual: Option<String>,
    /// What `apply` does (or would do).
    pub action: DriftAction,
    /// Why.
    pub reason: String,
    /// For ignored items: the rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignored_by: Option<String>,
}

/// The cutover as the controller carries it out.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CutoverStatus {
    /// The stage `spec.cutover.stage` asks for.
    pub requested: String,
    /// The pipeline's stage in effect: the lowest of its routes' (its subscribers serve them
    /// all).
    pub stage: String,
    /// Each route's stage.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub routes: Vec<RouteCutover>,
    /// What holds a requested move back (empty: every requested stage is in effect).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 101))]
    pub blocked: Vec<CutoverBlock>,
    /// Canaries in a row that reached every stage within `cutover.maxDeliverySeconds`.
    #[serde(default)]
    pub proven_canaries: i32,
    /// The id of the canary last counted in `provenCanaries`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted_canary: Option<String>,
    /// When a loss signal was last seen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_loss_signal_time: Option<Time>,
    /// The last move forced by the `pitagora.dev/force-cutover` annotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forced: Option<ForcedCutover>,
    /// The hash of the fluentd configuration last written (the reload annotation's value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_hash: Option<String>,
}

/// One fluentd route's stage.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RouteCutover {
    /// The route's tag pattern.
    pub r#match: String,
    /// Its log group.
    pub log_group: String,
    /// The stage asked for (the route's own, else the pipeline's).
    pub requested: String,
    /// The stage in effect.
    pub stage: String,
    /// Since when `stage` is in effect.
    pub since: Time,
    /// Since when fluentd is told to write this route to CloudWatch Logs (unset at `Legacy`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sending_since: Option<Time>,
    /// When the route's log group was first seen receiving events after `sendingSince`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receiving_since: Option<Time>,
}

/// A requested move that does not take effect yet.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CutoverBlock {
    /// The route's tag pattern (empty for a pipeline without routes).
    pub route: String,
    /// The stage it is held back from.
    pub stage: String,
    /// The unmet check: `NotDelivering`, `TooFewCanaries`, `LossSignals`, `ShadowWindow` or
    /// `NoIncomingEvents`.
    pub check: String,
    /// What is unmet, with figures.
    pub message: String,
}

/// A move made without its checks.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ForcedCutover {
    /// The annotation's value: why.
    pub reason: String,
    /// The stage forced into effect.
    pub stage: String,
    /// When.
    pub at: Time,
}

/// Delivery as the canaries prove it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryStatus {
    /// The last canary sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<CanaryStatus>,
    /// Canaries in a row that reached every stage.
    #[serde(default)]
    pub consecutive_successes: i32,
    /// Canaries in a row that did not.
    #[serde(default)]
    pub consecutive_failures: i32,
    /// The link where the last failed canary stopped, e.g. `cloudwatch-logs → firehose`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_stage: Option<String>,
    /// When the last canary that reached every stage was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivered_time: Option<Time>,
    /// What the delivery metrics and the error prefix said at the last check, at most 20.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub loss_signals: Vec<LossSignal>,
}

/// Evidence that logs were lost or delayed.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LossSignal {
    /// `DeliveryErrors`, `DeliveryThrottling`, `NotForwarded`, `ThrottledRecords`,
    /// `DataFreshness`, `DeliveryToS3Failing` or `ErrorObjects`.
    pub kind: String,
    /// A source log group, the delivery stream, or an error type.
    pub resource: String,
    /// The figure behind it (events, records, seconds, a ratio, objects).
    pub value: f64,
    /// What it means.
    pub message: String,
}

/// One canary and its stages.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CanaryStatus {
    /// Its unique id (the `id` field of the canary event).
    pub id: String,
    /// When it was written to the canary log group.
    pub sent_at: Time,
    /// When it was last looked for.
    pub looked_at: Time,
    /// Each stage it is looked for at, in order.
    #[schemars(length(max = 4))]
    pub stages: Vec<StageStatus>,
    /// Each remote source's path (`spec.sources.remote`), proven by a canary of its own sent
    /// with this one into that source's canary log group and looked for under the raw prefix.
    /// The fields above are the pipeline's own canary group's path.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub paths: Vec<PathStatus>,
}

/// A remote source's path and where its canary stands.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PathStatus {
    /// The path, `<account>/<region> → destination`.
    pub path: String,
    /// Its canary's id (the `id` field of the canary event).
    pub id: String,
    /// `Waiting`, `Delivered`, `Missing` or `Inconclusive`, under the raw prefix; `NotSent`
    /// when it could not be sent.
    pub state: String,
    /// Why it could not be sent (`NotSent`), e.g. no role for its account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// When the object holding it was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_at: Option<Time>,
    /// Milliseconds from sending to `foundAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<i64>,
    /// When the last canary of this path that arrived was sent (this one or an earlier one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_delivered_time: Option<Time>,
    /// When it counts as missing if not found.
    pub deadline: Time,
}

/// A canary at one stage.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StageStatus {
    /// The link that ends at this stage, e.g. `firehose → s3 raw/`.
    pub stage: String,
    /// `raw` or `processed`.
    pub target: String,
    /// `Waiting`, `Delivered`, `Missing` or `Inconclusive`.
    pub state: String,
    /// When the object holding it was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_at: Option<Time>,
    /// Milliseconds from sending to `foundAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<i64>,
    /// The object it was found in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
    /// When it counts as missing if not found.
    pub deadline: Time,
}

/// One AWS resource of a pipeline.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStatus {
    /// Resource kind, e.g. `Stack`, `DeliveryStream`, `SubscriptionFilter`.
    pub kind: ResourceKind,
    /// Resource name (for a subscription filter: its log group's name; for the bucket's
    /// notifications and lifecycle: the bucket's; for a topic subscription: the subscriber's, or
    /// the endpoint of one the spec does not declare).
    pub name: String,
    /// `InSync`, `Drifted`, `Pending` or `Conflict`.
    pub state: String,
}

/// The status time of `ms` milliseconds since the epoch (the epoch itself when out of range).
pub fn time_at_ms(ms: i64) -> Time {
    Time(
        k8s_openapi::jiff::Timestamp::from_millisecond(ms)
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH),
    )
}

/// Milliseconds since the epoch of a status time.
pub fn ms_of(t: &Time) -> i64 {
    t.0.as_millisecond()
}

/// Conditions keyed by `type`, so server-side apply merges them one by one.
fn conditions_schema(generator: &mut SchemaGenerator) -> Schema {
    let mut schema = generator.subschema_for::<Vec<Condition>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!(["type"]),
    );
    schema
}
