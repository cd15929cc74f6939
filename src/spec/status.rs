//! What the controller reports on a `LogPipeline`: its status subresource. Written only by the
//! controller (server-side apply, field manager `pitagora`), computed as a value in
//! [`crate::controller::status`].

use crate::drift::DriftItem;
use crate::resources::ResourceKind;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Serialize};

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
