//! A drift item: one difference between a spec and AWS, the one shape the plan's differences
//! take in the CI report, the controller's status, its events and its metrics.

use crate::plan::{Action, Op, Plan};
use crate::resources::ResourceKind;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

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

impl From<Op> for DriftAction {
    fn from(op: Op) -> Self {
        match op {
            Op::Create => DriftAction::Create,
            Op::Update => DriftAction::Update,
            Op::Delete => DriftAction::Delete,
            Op::Conflict => DriftAction::Conflict,
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

fn items_of(action: &Action) -> Vec<DriftItem> {
    let item = |field: Option<String>, spec_field: Option<String>, desired, actual| DriftItem {
        kind: action.kind,
        resource: action.name.clone(),
        field,
        spec_field,
        desired,
        actual,
        action: action.op.into(),
        reason: action.reason.clone(),
        ignored_by: None,
    };
    if action.changes.is_empty() {
        return vec![item(None, None, None, None)];
    }
    action
        .changes
        .iter()
        .map(|c| {
            let (field, spec) = (Some(c.field.clone()), c.spec_field.clone());
            item(field, spec, c.desired.clone(), c.actual.clone())
        })
        .collect()
}

/// A plan's drift items: one per changed field (or per action without fields), then one per
/// resource waiting in AWS.
pub fn items(plan: &Plan) -> Vec<DriftItem> {
    let mut items: Vec<DriftItem> = plan.actions.iter().flat_map(items_of).collect();
    items.extend(plan.pending.iter().map(|p| DriftItem {
        kind: p.kind,
        resource: p.name.clone(),
        field: None,
        spec_field: None,
        desired: None,
        actual: None,
        action: DriftAction::Wait,
        reason: p.reason.clone(),
        ignored_by: None,
    }));
    items
}

/// The items `drift.ignore` accepted in `plan`, each naming its rule.
pub fn ignored_items(plan: &Plan) -> Vec<DriftItem> {
    plan.ignored
        .iter()
        .map(|i| DriftItem {
            kind: i.kind,
            resource: i.name.clone(),
            field: i.change.as_ref().map(|c| c.field.clone()),
            spec_field: i.change.as_ref().and_then(|c| c.spec_field.clone()),
            desired: i.change.as_ref().and_then(|c| c.desired.clone()),
            actual: i.change.as_ref().and_then(|c| c.actual.clone()),
            action: i.op.into(),
            reason: "accepted by an ignore rule".into(),
            ignored_by: Some(i.rule.clone()),
        })
        .collect()
}
