//! The stack's bucket policy, live: every statement pitagora declares present and unchanged.
//! Statements of other owners are kept and listed as accepted, unless `storage.bucketPolicy:
//! Exclusive` makes the policy pitagora's alone. The write re-reads the policy and replaces only
//! pitagora's statements ([`merge`]), so others' statements survive a race.

use super::diff::{self, Changes};
use super::ignore::Ignored;
use super::stack::{live, rewrites};
use super::{Builder, Change, Op, Step};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::ResourceKind;
use serde_json::{Value, json};

const KIND: ResourceKind = ResourceKind::BucketPolicy;

/// The rule foreign statements are accepted under, in words.
const SHARED: &str = "another owner's statement: kept (spec.storage.bucketPolicy: Shared)";

/// A statement's `Sid`.
fn sid(statement: &Value) -> Option<&str> {
    statement.get("Sid").and_then(Value::as_str)
}

/// The policy with `statements` (pitagora's, by `Sid`) in place of those with the same ids, and
/// other statements kept unless `exclusive`.
pub fn merge(actual: Option<&Value>, statements: &[Value], exclusive: bool) -> Value {
    let ours: Vec<&str> = statements.iter().filter_map(sid).collect();
    let mut merged: Vec<Value> = match actual.map(|a| &a["Statement"]) {
        Some(Value::Array(list)) if !exclusive => list
            .iter()
            .filter(|s| sid(s).is_none_or(|id| !ours.contains(&id)))
            .cloned()
            .collect(),
        Some(one @ Value::Object(_))
            if !exclusive && sid(one).is_none_or(|id| !ours.contains(&id)) =>
        {
            vec![one.clone()]
        }
        _ => Vec::new(),
    };
    merged.extend(statements.iter().cloned());
    json!({"Version": "2012-10-17", "Statement": merged})
}

/// Plans the bucket policy.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let Some(bucket) = o.bucket.as_ref().filter(|_| live(o, d, "BucketPolicy")) else {
        return;
    };
    let name = &d.names.bucket;
    let exclusive = d.held.bucket_policy_exclusive;
    let want = diff::policy_form(&json!({"Statement": d.held.bucket_policy}));
    let have = bucket
        .policy
        .as_ref()
        .map(diff::policy_form)
        .unwrap_or_else(|| json!({"Statement": {}}));
    let (want, have) = (&want["Statement"], &have["Statement"]);
    if rewrites(o, d, "BucketPolicy", "PolicyDocument") {
        b.overwrites(KIND, name, "PolicyDocument");
    }
    let mut changes = Changes::default();
    let mut write = Vec::new();
    for (key, statement) in want.as_object().into_iter().flatten() {
        let field = format!("PolicyDocument.Statement{key}");
        let mut statement = statement.clone();
        match have.get(key) {
            Some(found) => {
                diff::json(&field, &statement, found, &mut changes);
                diff::keep(&field, &mut statement, found, &|f| {
                    b.ignores(KIND, name, f, None)
                });
            }
            None => {
                changes.presence(&field, None, Some(diff::text(&statement)), None);
                // An ignored missing statement stays missing.
                if b.ignores(KIND, name, &field, None) {
                    continue;
                }
            }
        }
        write.push(statement);
    }
    for (key, found) in have.as_object().into_iter().flatten() {
        if want.get(key).is_some() {
            continue;
        }
        let change = Change {
            field: format!("PolicyDocument.Statement{key}"),
            spec_field: Some("spec.storage.bucketPolicy".into()),
            desired: None,
            actual: Some(diff::text(found)),
        };
        if exclusive {
            // An exclusive write replaces the whole policy: an ignored statement goes with it.
            if b.ignores(KIND, name, &change.field, change.spec_field.as_deref()) {
                write.push(found.clone());
            }
            changes.0.push(change);
        } else {
            b.accept(Ignored {
                kind: KIND,
                name: name.clone(),
                op: Op::Update,
                change: Some(change),
                rule: SHARED.into(),
            });
        }
    }
    if changes.0.is_empty() {
        return;
    }
    b.push(
        Op::Update,
        KIND,
        name,
        changes.0,
        "bucket policy differs from the stack's template",
        Step::PutBucketPolicy {
            bucket: name.clone(),
            statements: write,
            exclusive,
        },
    );
}
