//! The figures of a pipeline's state, for alerts: its conditions (one series per condition type
//! and status, kube-state-metrics style), how many checks in a row found drift, and how long a
//! canary may take at each stage; and forgetting every figure of a pipeline.

use super::{CanaryLabels, Metrics, OutcomeLabels};
use crate::controller::reasons::condition;
use crate::delivery::progress::{CanaryRoute, Stage};
use crate::names::PipelineId;
use crate::spec::{DriftPolicy, LogPipelineStatus};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;

/// The condition types the controller writes, each exported.
pub const CONDITION_TYPES: [&str; 6] = [
    condition::READY,
    condition::SYNCED,
    condition::DRIFTED,
    condition::DELIVERING,
    condition::CUTOVER_BLOCKED,
    condition::STALLED,
];
/// A condition's statuses.
pub const CONDITION_STATUSES: [&str; 3] = ["True", "False", "Unknown"];
const STAGES: [Stage; 2] = [Stage::Raw, Stage::Processed];
const OUTCOMES: [&str; 3] = ["Delivered", "Missing", "Inconclusive"];

/// Labels of a pipeline's condition.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ConditionLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The condition type, e.g. `Delivering`.
    pub r#type: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
}

/// Labels of a pipeline's drift checks.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DriftCheckLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The spec's drift policy: `Correct` or `Report`.
    pub policy: String,
}

type Deadline = Gauge<f64, AtomicU64>;
/// Per `(namespace, name)`: the policy last exported and the checks in a row that found drift.
type Streaks = HashMap<(String, String), (&'static str, i64)>;

/// The families of a pipeline's state, registered with the others.
pub(super) struct Families {
    conditions: Family<ConditionLabels, Gauge>,
    drift_checks: Family<DriftCheckLabels, Gauge>,
    deadlines: Family<CanaryLabels, Deadline>,
    /// Consecutive checks that found drift, per pipeline.
    streaks: Mutex<Streaks>,
}

impl Families {
    /// Registers the families in `registry`.
    pub(super) fn register(registry: &mut Registry) -> Self {
        let families = Self {
            conditions: Family::default(),
            drift_checks: Family::default(),
            deadlines: Family::default(),
            streaks: Mutex::default(),
        };
        registry.register(
            "pipeline_condition",
            "1 for the status a pipeline's condition has, 0 for the other two, by condition type",
            families.conditions.clone(),
        );
        registry.register(
            "drift_checks",
            "Checks in a row that found drift standing after them (0 after one that found none)",
            families.drift_checks.clone(),
        );
        registry.register(
            "canary_deadline_seconds",
            "How long after sending a canary may take to reach a stage before it counts as missing",
            families.deadlines.clone(),
        );
        families
    }
}

fn policy_label(policy: DriftPolicy) -> &'static str {
    match policy {
        DriftPolicy::Correct => "Correct",
        DriftPolicy::Report => "Report",
    }
}

fn key(id: &PipelineId) -> (String, String) {
    (id.namespace.clone(), id.name.clone())
}

impl Metrics {
    /// Sets a pipeline's conditions from its status: per condition type the controller writes,
    /// the series of its status is 1 and the other two 0; a type the status lacks has none.
    pub fn conditions(&self, id: &PipelineId, status: Option<&LogPipelineStatus>) {
        let conditions = status.map_or(&[][..], |s| &s.conditions[..]);
        for type_ in CONDITION_TYPES {
            let current = conditions.iter().find(|c| c.type_ == type_);
            for status in CONDITION_STATUSES {
                let labels = ConditionLabels {
                    namespace: id.namespace.clone(),
                    name: id.name.clone(),
                    r#type: type_.to_owned(),
                    status: status.to_owned(),
                };
                match current {
                    Some(c) => {
                        let value = i64::from(c.status == status);
                        self.pipeline.conditions.get_or_create(&labels).set(value);
                    }
                    None => {
                        self.pipeline.conditions.remove(&labels);
                    }
                }
            }
        }
    }

    /// Counts a check of a pipeline: one more in a row when drift stood after it (`drifted`),
    /// else back to 0.
    pub fn drift_checked(&self, id: &PipelineId, policy: DriftPolicy, drifted: bool) {
        let policy = policy_label(policy);
        let mut streaks = self
            .pipeline
            .streaks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let streak = streaks.entry(key(id)).or_insert((policy, 0));
        if streak.0 != policy {
            self.pipeline.drift_checks.remove(&DriftCheckLabels {
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                policy: streak.0.to_owned(),
            });
            streak.0 = policy;
        }
        streak.1 = if drifted { streak.1 + 1 } else { 0 };
        self.pipeline
            .drift_checks
            .get_or_create(&DriftCheckLabels {
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                policy: policy.to_owned(),
            })
            .set(streak.1);
    }

    /// Sets how long a pipeline's canary may take to reach each stage of `route` (from sending,
    /// as its latency is measured); stages it does not go to, or no route, have none.
    pub fn canary_deadlines(&self, id: &PipelineId, route: Option<&CanaryRoute>) {
        let stages = route.map(CanaryRoute::stages).unwrap_or_default();
        for stage in STAGES {
            let labels = CanaryLabels {
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                stage: stage.label().to_owned(),
            };
            match route.filter(|_| stages.contains(&stage)) {
                Some(route) => {
                    let ms = route.deadline_ms(stage, 0, None);
                    self.pipeline
                        .deadlines
                        .get_or_create(&labels)
                        .set(ms as f64 / 1000.0);
                }
                None => {
                    self.pipeline.deadlines.remove(&labels);
                }
            }
        }
    }

    /// Removes every figure of a pipeline (deleted, or acted on by another replica).
    pub fn forget(&self, id: &PipelineId) {
        let (namespace, name) = (id.namespace.as_str(), id.name.as_str());
        self.conditions(id, None);
        self.canary_deadlines(id, None);
        self.drift(namespace, name, &[]);
        self.loss_signals(namespace, name, &[]);
        let streak = self
            .pipeline
            .streaks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&key(id));
        if let Some((policy, _)) = streak {
            self.pipeline.drift_checks.remove(&DriftCheckLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                policy: policy.to_owned(),
            });
        }
        for stage in STAGES {
            let stage = stage.label().to_owned();
            let canary = CanaryLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                stage: stage.clone(),
            };
            self.canary_latency.remove(&canary);
            for outcome in OUTCOMES {
                self.canary_outcomes.remove(&OutcomeLabels {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    stage: stage.clone(),
                    outcome: outcome.to_owned(),
                });
            }
        }
    }
}
