//! This pipeline's rule in the bucket's lifecycle configuration (retention and transition),
//! next to the rules of others, which are kept: how it is planned, a rule's canonical form, its
//! description in words and the comparison of the rules by id.

use super::bucket::Reasons;
use super::diff::Changes;
use super::stack::Held;
use super::{Builder, Step};
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
    let desired: Vec<LifecycleRule> = d.lifecycle.iter().map(canonical).collect();
    let actual: Vec<LifecycleRule> = match bucket {
        Held::Unavailable => return,
        Held::Coming => Vec::new(),
        Held::Exists(bk) => bk
            .lifecycle
            .iter()
            .filter(|r| managed.contains(&r.id))
            .map(canonical)
            .collect(),
    };
    let mut changes = Changes::default();
    compare(&desired, &actual, &mut changes);
    REASONS.plan(
        b,
        ResourceKind::BucketLifecycle,
        &d.names.bucket,
        changes.0,
        !actual.is_empty(),
        !desired.is_empty(),
        Step::PutLifecycle {
            bucket: d.names.bucket.clone(),
            rules: keep_live(&desired, &actual, &|field, spec| {
                b.ignores(ResourceKind::BucketLifecycle, &d.names.bucket, field, spec)
            }),
            managed_ids: managed,
        },
    );
}

/// The rules to write: the desired ones, with the live value of every field `ignored` accepts
/// (the fields of [`compare`]); an ignored rule is written as it is, or not at all.
fn keep_live(
    desired: &[LifecycleRule],
    actual: &[LifecycleRule],
    ignored: &dyn Fn(&str, Option<&str>) -> bool,
) -> Vec<LifecycleRule> {
    let retention = Some("spec.storage.retentionDays");
    let mut rules = Vec::new();
    for d in desired {
        let path = format!("Rules[{}]", d.id);
        let mut rule = d.clone();
        match actual.iter().find(|a| a.id == d.id) {
            None if ignored(&path, retention) => continue,
            None => {}
            Some(a) => {
                if ignored(&format!("{path}.Filter.Prefix"), None) {
                    rule.prefix = a.prefix.clone();
                }
                if ignored(&format!("{path}.Status"), None) {
                    rule.enabled = a.enabled;
                }
                if ignored(&format!("{path}.Expiration.Days"), retention) {
                    rule.expiration_days = a.expiration_days;
                }
                if ignored(
                    &format!("{path}.NoncurrentVersionExpiration.NoncurrentDays"),
                    Some("spec.storage.versioning.noncurrentDays"),
                ) {
                    rule.noncurrent_days = a.noncurrent_days;
                }
                if ignored(
                    &format!("{path}.Transitions"),
                    Some("spec.storage.transition"),
                ) {
                    rule.transitions = a.transitions.clone();
                }
            }
        }
        rules.push(rule);
    }
    let unwanted = actual
        .iter()
        .filter(|a| !desired.iter().any(|d| d.id == a.id));
    rules.extend(
        unwanted
            .filter(|a| ignored(&format!("Rules[{}]", a.id), retention))
            .cloned(),
    );
    rules
}

/// A lifecycle rule in canonical form.
fn canonical(r: &LifecycleRule) -> LifecycleRule {
    let mut r = r.clone();
    r.transitions.sort();
    r
}

/// A lifecycle rule in words, e.g. `expire after 400 days; GLACIER_IR after 30 days`.
fn describe(r: &LifecycleRule) -> String {
    let mut parts: Vec<String> = r
        .expiration_days
        .iter()
        .map(|d| format!("expire after {d} days"))
        .collect();
    parts.extend(
        r.transitions
            .iter()
            .map(|t| format!("{} after {} days", t.storage_class, t.days)),
    );
    parts.extend(
        r.noncurrent_days
            .iter()
            .map(|d| format!("expire kept versions after {d} days")),
    );
    if !r.prefix.is_empty() {
        parts.push(format!("under {}", r.prefix));
    }
    if !r.enabled {
        parts.push("disabled".into());
    }
    parts.join("; ")
}

/// Differences between this pipeline's desired and actual lifecycle rules, matched by id.
fn compare(desired: &[LifecycleRule], actual: &[LifecycleRule], out: &mut Changes) {
    for d in desired {
        let path = format!("Rules[{}]", d.id);
        match actual.iter().find(|a| a.id == d.id) {
            None => out.presence(
                &path,
                Some("spec.storage.retentionDays"),
                Some(describe(d)),
                None,
            ),
            Some(a) => {
                out.field(&format!("{path}.Filter.Prefix"), None, &d.prefix, &a.prefix);
                out.field(&format!("{path}.Status"), None, &d.enabled, &a.enabled);
                out.field(
                    &format!("{path}.Expiration.Days"),
                    Some("spec.storage.retentionDays"),
                    &d.expiration_days,
                    &a.expiration_days,
                );
                out.field(
                    &format!("{path}.Transitions"),
                    Some("spec.storage.transition"),
                    &d.transitions,
                    &a.transitions,
                );
                out.field(
                    &format!("{path}.NoncurrentVersionExpiration.NoncurrentDays"),
                    Some("spec.storage.versioning.noncurrentDays"),
                    &d.noncurrent_days,
                    &a.noncurrent_days,
                );
            }
        }
    }
    for a in actual {
        if !desired.iter().any(|d| d.id == a.id) {
            out.presence(
                &format!("Rules[{}]", a.id),
                Some("spec.storage.retentionDays"),
                None,
                Some(describe(a)),
            );
        }
    }
}
