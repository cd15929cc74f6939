//! The CloudWatch Logs destinations the remote sources deliver through, live: one per source
//! region, in the pipeline's account. Each is compared field by field: its target and role
//! (written back with `PutDestination`) and its access policy, statement by statement (written
//! back whole with `PutDestinationPolicy`: the destination is pitagora's alone, so a widened
//! principal such as `*` is drift, named at its deepest differing field), and its tags: only
//! pitagora's own keys, which `PutDestination` sets at creation alone, so one changed or removed
//! by hand is drift written back with `TagResource` (others' tags are never touched). A
//! destination of the pipeline's name that its tags give to another owner (or to none, without
//! `adoptExisting`) is a conflict, never written or deleted.

use super::diff::{self, Changes};
use super::normalize::tags_missing;
use super::ownership::ownership_conflict;
use super::{Builder, Change, Op, Step};
use crate::arn;
use crate::desired::{Desired, DestinationSpec};
use crate::observed::{Observed, ObservedDestination};
use crate::resources::ResourceKind;
use serde_json::Value;

const KIND: ResourceKind = ResourceKind::Destination;
/// The field the access policy's differences are named under.
const POLICY: &str = "accessPolicy";

/// Plans every destination of `d` (none while the stream is someone else's: a destination would
/// deliver into it).
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed, stream_foreign: bool) {
    if stream_foreign {
        return;
    }
    for want in &d.destinations {
        let Some(live) = o.destinations.get(&want.region) else {
            create(b, want);
            continue;
        };
        match ownership_conflict(d, &live.tags) {
            None => update(b, want, live),
            Some((cause, reason)) => b.conflict(KIND, &want.destination.name, cause, reason),
        }
    }
    let declared = |region: &String| d.destinations.iter().any(|w| w.region == *region);
    let dropped = o.destinations.iter().filter(|(r, _)| !declared(r));
    remove(b, d, dropped, "no remote source is in its region any more");
}

/// A source region without its destination: create it with its policy.
fn create(b: &mut Builder, want: &DestinationSpec) {
    let name = &want.destination.name;
    b.push(
        Op::Create,
        KIND,
        name,
        vec![Change {
            field: "destinationName".into(),
            spec_field: Some("spec.sources.remote".into()),
            desired: Some(name.clone()),
            actual: None,
        }],
        format!(
            "remote sources in {} deliver only through a CloudWatch Logs destination there, which does not exist",
            want.region
        ),
        Step::PutDestination {
            destination: want.clone(),
            fields: true,
            policy: true,
            tags: false,
        },
    );
}

/// A destination that differs from the spec: write back what differs, keeping what
/// `drift.ignore` accepts as it is live.
fn update(b: &mut Builder, want: &DestinationSpec, live: &ObservedDestination) {
    let name = &want.destination.name;
    let mut fields = Changes::default();
    let (d, a) = (&want.destination, &live.destination);
    fields.field(
        "targetArn",
        None,
        &arn::normalize(&d.target_arn),
        &arn::normalize(&a.target_arn),
    );
    fields.field(
        "roleArn",
        None,
        &arn::normalize(&d.role_arn),
        &arn::normalize(&a.role_arn),
    );
    let mut policy = Changes::default();
    let null = Value::Null;
    let mut pw = diff::policy_form(d.access_policy.as_ref().unwrap_or(&null));
    let ph = diff::policy_form(a.access_policy.as_ref().unwrap_or(&null));
    diff::json(POLICY, &pw, &ph, &mut policy);
    let mut tags = Changes::default();
    tags.tags(&want.tags, &live.tags);
    if fields.0.is_empty() && policy.0.is_empty() && tags.0.is_empty() {
        return;
    }
    let mut write = want.clone();
    let ignored = |field: &str| b.ignores(KIND, name, field, None);
    if ignored("targetArn") {
        write.destination.target_arn = a.target_arn.clone();
    }
    if ignored("roleArn") {
        write.destination.role_arn = a.role_arn.clone();
    }
    diff::keep(POLICY, &mut pw, &ph, &ignored);
    write.destination.access_policy = Some(diff::policy_document(&pw));
    // Only the tags that are written: an ignored one keeps its live value.
    write.tags.retain(|k, _| !ignored(&format!("Tags.{k}")));
    let step = Step::PutDestination {
        fields: !fields.0.is_empty(),
        policy: !policy.0.is_empty(),
        tags: !tags_missing(&write.tags, &live.tags).is_empty(),
        destination: write,
    };
    let changes = [fields.0, policy.0, tags.0].concat();
    b.push(
        Op::Update,
        KIND,
        name,
        changes,
        "destination differs from the spec",
        step,
    );
}

/// Every destination of the pipeline that exists and is its own, removed after the remote
/// filters delivering through it; another owner's is left in place, as a conflict.
pub(super) fn delete(b: &mut Builder, d: &Desired, o: &Observed, reason: &str) {
    remove(b, d, o.destinations.iter(), reason);
}

/// Removes each of `live` that is the pipeline's (`reason`: why); another owner's is a conflict.
fn remove<'a>(
    b: &mut Builder,
    d: &Desired,
    live: impl Iterator<Item = (&'a String, &'a ObservedDestination)>,
    reason: &str,
) {
    for (region, live) in live {
        let name = &live.destination.name;
        if let Some((cause, why)) = ownership_conflict(d, &live.tags) {
            b.conflict(KIND, name, cause, format!("left in place: {why}"));
            continue;
        }
        let step = Step::DeleteDestination {
            region: region.clone(),
            name: name.clone(),
        };
        b.push(Op::Delete, KIND, name, Vec::new(), reason, step);
    }
}
