//! This pipeline's rule in the bucket's lifecycle configuration (retention and transition),
//! next to the rules of others, which are kept.

use super::bucket::Reasons;
use super::diff::{self, Changes};
use super::stack::Held;
use super::{Builder, Step, normalize};
use crate::desired::Desired;
use crate::observed::ObservedBucket;
use crate::resources::{LifecycleRule, ResourceKind};

const REASONS: Reasons = Reasons {
    missing: "bucket lifecycle rule for this pipeline is missing",
    unwanted: "bucket lifecycle rule no longer wanted by the spec",
    differs: "bucket lifecycle rule differs from the spec",
};

/// Plans this pipeline's lifecycle rule.
pub(super) fn plan(b: &mut Builder, d: &Desired, bucket: &Held<ObservedBucket>) {
    let managed = vec![d.names.lifecycle_rule_id.clone()];
    let desired: Vec<LifecycleRule> = d.lifecycle.iter().map(normalize::lifecycle_rule).collect();
    let actual: Vec<LifecycleRule> = match bucket {
        Held::Unavailable => return,
        Held::Coming => Vec::new(),
        Held::Exists(bk) => bk
            .lifecycle
            .iter()
            .filter(|r| managed.contains(&r.id))
            .map(normalize::lifecycle_rule)
            .collect(),
    };
    let mut changes = Changes::default();
    diff::lifecycle(&desired, &actual, &mut changes);
    if changes.0.is_empty() {
        return;
    }
    let (op, reason) = REASONS.pick(!actual.is_empty(), !desired.is_empty());
    b.push(
        op,
        ResourceKind::BucketLifecycle,
        &d.names.bucket,
        changes.0,
        reason,
        Step::PutLifecycle {
            bucket: d.names.bucket.clone(),
            rules: d.lifecycle.clone(),
            managed_ids: managed,
        },
    );
}
