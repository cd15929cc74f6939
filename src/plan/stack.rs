//! The CloudFormation stack: its state machine (create, wait, recreate after a failed creation,
//! update, or hand a stuck state to a human), the bucket it left behind, and whether it holds
//! the bucket and topic the other planners depend on.

use super::diff::{self, Changes};
use super::ownership::{foreign, ownership_conflict};
use super::{Builder, Change, ConflictKind, Op, Step};
use crate::desired::{Desired, STACK_CAPABILITIES};
use crate::names::OWNER_TAG;
use crate::observed::{Observed, ObservedStack};
use crate::resources::ResourceKind;
use serde_json::Value;

/// How the stack stands, as far as planning goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum StackState {
    /// Absent (or deleted): create it.
    Absent,
    /// Stable: compare and update.
    Stable,
    /// An operation is running: wait.
    InProgress,
    /// Creation failed and rolled back (or a change set was never executed): the stack holds
    /// nothing and must be deleted before it can be created again.
    Recreate,
    /// A failed state only a human can resolve.
    Stuck(&'static str),
}

/// The planning state of a stack with this CloudFormation status.
pub(super) fn stack_state(status: &str) -> StackState {
    match status {
        "DELETE_COMPLETE" => StackState::Absent,
        "ROLLBACK_COMPLETE" | "REVIEW_IN_PROGRESS" => StackState::Recreate,
        "CREATE_FAILED" => StackState::Stuck(
            "creation failed with rollback disabled; inspect the stack's events, then delete it so pitagora can create it again",
        ),
        "ROLLBACK_FAILED" => StackState::Stuck(
            "the rollback of a failed creation failed; delete the stack (retaining what cannot be deleted), then pitagora creates it again",
        ),
        "DELETE_FAILED" => StackState::Stuck(
            "a deletion failed; fix the resource named in the stack's events and delete the stack again",
        ),
        "UPDATE_ROLLBACK_FAILED" => StackState::Stuck(
            "an update rollback failed; run `aws cloudformation continue-update-rollback` on the stack",
        ),
        "IMPORT_ROLLBACK_FAILED" => {
            StackState::Stuck("an import rollback failed; resolve it in CloudFormation")
        }
        s if s.ends_with("_IN_PROGRESS") => StackState::InProgress,
        _ => StackState::Stable,
    }
}

/// Whether a resource the stack should hold exists, will be created, or vanished.
pub(super) enum Held<'a, T> {
    /// It exists.
    Exists(&'a T),
    /// The stack does not hold it yet; the planned stack action creates it.
    Coming,
    /// The stack holds it but it is gone (deleted outside pitagora), or the stack is busy.
    Unavailable,
}

/// Whether the observed stack's template holds the resource `logical_id`.
fn stack_holds(o: &Observed, logical_id: &str) -> bool {
    o.stack.as_ref().is_some_and(|s| {
        matches!(
            stack_state(&s.status),
            StackState::Stable | StackState::InProgress | StackState::Stuck(_)
        ) && s
            .template
            .as_ref()
            .is_some_and(|t| t["Resources"].get(logical_id).is_some())
    })
}

/// Whether the stack's resource `logical_id` is compared live: the stack is stable, and both the
/// template it holds and the one the spec asks for declare the resource. A resource the plan's
/// stack action brings, or that the stack's update removes, is not.
pub(super) fn live(o: &Observed, d: &Desired, logical_id: &str) -> bool {
    let stable = o
        .stack
        .as_ref()
        .is_some_and(|s| stack_state(&s.status) == StackState::Stable);
    stable && stack_holds(o, logical_id) && d.stack.template["Resources"].get(logical_id).is_some()
}

/// Whether this plan's stack update writes `property` of the stack's resource `logical_id`: the
/// template the stack holds and the one the spec asks for differ there, and CloudFormation
/// sets the declared value when it updates the resource. A live difference there is shown, not
/// ignored, because the update overwrites it whatever the rules say.
pub(super) fn rewrites(o: &Observed, d: &Desired, logical_id: &str, property: &str) -> bool {
    fn at<'t>(t: &'t Value, logical_id: &str, property: &str) -> Option<&'t Value> {
        t["Resources"][logical_id]["Properties"].get(property)
    }
    let wanted = at(&d.stack.template, logical_id, property);
    o.stack
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .is_some_and(|held| at(held, logical_id, property) != wanted)
}

/// Where the stack's resource `logical_id` (observed as `value`) stands. `stack_acts`: the plan
/// creates or updates the stack, which brings what it does not hold yet.
pub(super) fn held<'a, T>(
    o: &Observed,
    logical_id: &str,
    value: Option<&'a T>,
    stack_acts: bool,
) -> Held<'a, T> {
    match (value, stack_holds(o, logical_id)) {
        (Some(v), _) => Held::Exists(v),
        (None, false) if stack_acts => Held::Coming,
        // Nothing will create it (the stack is a conflict): acting on it could only fail.
        (None, false) => Held::Unavailable,
        (None, true) => Held::Unavailable,
    }
}

/// The stack is gone (or must be recreated) but its retained bucket remains.
pub(super) fn orphaned_bucket(o: &Observed) -> bool {
    o.bucket.is_some()
        && o.stack.as_ref().is_none_or(|s| {
            matches!(
                stack_state(&s.status),
                StackState::Absent | StackState::Recreate
            )
        })
}

fn capabilities() -> Vec<String> {
    STACK_CAPABILITIES.iter().map(|c| (*c).to_owned()).collect()
}

/// Plans the stack's creation.
fn create(b: &mut Builder, d: &Desired, reason: &str) {
    let step = Step::CreateStack {
        name: d.stack.name.clone(),
        template: d.stack.template.clone(),
        tags: d.stack.tags.clone(),
        capabilities: capabilities(),
        role_arn: d.stack.role_arn.clone(),
    };
    let kind = ResourceKind::Stack;
    b.push(Op::Create, kind, &d.stack.name, Vec::new(), reason, step);
}

/// Why the fan-out topic of the spec's name, which exists and the stack does not hold, is not
/// the pipeline's to take: another pipeline's, or untagged without `spec.adoptExisting`.
/// CloudFormation would otherwise adopt it silently (SNS creates topics idempotently), and
/// pitagora would replace its policy and subscriptions, and delete it with the stack.
pub(super) fn foreign_topic(d: &Desired, o: &Observed) -> Option<(ConflictKind, String)> {
    d.topic.as_ref()?;
    let tags = o.topic.as_ref()?.tags.as_ref()?;
    // A derived name carries the pipeline's hash: only a name the spec gives can collide.
    ownership_conflict(d, tags).map(|(cause, reason)| {
        let fix = "; or name another topic in spec.fanout.topicName";
        (cause, format!("topic {} {reason}{fix}", d.names.topic))
    })
}

/// Why the bucket of the pipeline's bucket name, which exists while the stack holds none, is
/// not the one the pipeline's deleted stack retained: it is not tagged as the pipeline's (an
/// untagged one counts as its only with `spec.adoptExisting`). CloudFormation can neither create
/// it nor should it import someone else's: the pipeline needs another name.
pub(super) fn foreign_bucket(d: &Desired, o: &Observed) -> Option<(ConflictKind, String)> {
    let tags = o.bucket.as_ref()?.tags.as_ref()?;
    if !orphaned_bucket(o) || !foreign(d, tags) {
        return None;
    }
    let whose = match tags.get(OWNER_TAG) {
        Some(owner) => format!("it carries {OWNER_TAG}={owner}, LogPipeline {owner}'s"),
        None => format!("it has no {OWNER_TAG} tag, so no stack of this pipeline made it"),
    };
    let name = &d.stack.name;
    Some((
        ConflictKind::ForeignBucket,
        format!(
            "stack {name} cannot be created: bucket {} exists and is not this pipeline's ({whose}); bucket names are global across every AWS account, so someone else holds it; choose another name in spec.storage.bucketName (it must start with `pitagora-`), then pitagora creates the stack",
            d.names.bucket
        ),
    ))
}

/// Plans the stack.
pub(super) fn plan(b: &mut Builder, d: &Desired, o: &Observed) {
    let name = &d.stack.name;
    if let Some((cause, reason)) = foreign_bucket(d, o) {
        return b.conflict(ResourceKind::Stack, name, cause, reason);
    }
    if orphaned_bucket(o) {
        return orphaned_bucket_conflict(b, d);
    }
    if let Some((cause, reason)) = foreign_topic(d, o) {
        return b.conflict(ResourceKind::Stack, name, cause, reason);
    }
    let Some(s) = &o.stack else {
        create(b, d, "stack does not exist");
        return;
    };
    if let Some((cause, reason)) = ownership_conflict(d, &s.tags) {
        return b.conflict(ResourceKind::Stack, name, cause, reason);
    }
    match stack_state(&s.status) {
        StackState::Absent => {
            create(b, d, "stack was deleted");
        }
        StackState::InProgress => b.pending(
            ResourceKind::Stack,
            name,
            format!("{} (operation in progress)", s.status),
        ),
        StackState::Stuck(remedy) => b.conflict(
            ResourceKind::Stack,
            name,
            ConflictKind::StackFailed,
            format!("stack is {}{}; {remedy}", s.status, status_detail(s)),
        ),
        StackState::Recreate => recreate(b, d, s),
        StackState::Stable => {
            update(b, d, s);
            deleted_out_of_band(b, d, o);
        }
    }
}

/// `": <status reason>"`, or nothing when CloudFormation gave none.
fn status_detail(s: &ObservedStack) -> String {
    s.status_reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default()
}

/// CloudFormation cannot create a bucket that exists. A bucket left behind by a deleted stack
/// (it is retained) can only return to a stack by resource import, which a human decides on.
fn orphaned_bucket_conflict(b: &mut Builder, d: &Desired) {
    let name = &d.stack.name;
    b.conflict(
        ResourceKind::Stack,
        name,
        ConflictKind::OrphanedBucket,
        format!(
            "stack {name} does not exist but its bucket {} does (retained when the stack was deleted), and CloudFormation cannot create a bucket that exists; import the bucket into a new stack {name} (CloudFormation resource import), or move its objects away and delete it, then pitagora creates the stack",
            d.names.bucket
        ),
    );
}

/// A failed creation: delete the empty stack, then create it again.
fn recreate(b: &mut Builder, d: &Desired, s: &ObservedStack) {
    let name = &d.stack.name;
    b.push(
        Op::Delete,
        ResourceKind::Stack,
        name,
        vec![Change {
            field: "StackStatus".into(),
            spec_field: None,
            desired: None,
            actual: Some(s.status.clone()),
        }],
        format!(
            "stack is {}{}: its creation failed and it holds no resources; it must be deleted before it can be created again",
            s.status,
            status_detail(s)
        ),
        Step::DeleteStack {
            name: name.clone(),
            empty_bucket: None,
            role_arn: d.stack.role_arn.clone(),
        },
    );
    create(b, d, "recreate after the failed creation");
}

/// A stable stack: update it when its template or tags differ from the spec. What
/// `drift.ignore` accepts keeps the value the stack holds, in the template and the tags alike.
fn update(b: &mut Builder, d: &Desired, s: &ObservedStack) {
    let name = &d.stack.name;
    let ignored = |field: &str| b.ignores(ResourceKind::Stack, name, field, None);
    let mut template = d.stack.template.clone();
    let mut changes = Changes::default();
    match &s.template {
        Some(actual) => {
            diff::json("Template", &d.stack.template, actual, &mut changes);
            diff::keep("Template", &mut template, actual, &ignored);
        }
        None => changes.presence(
            "Template",
            None,
            Some("pitagora's JSON template".into()),
            Some("a template that is not JSON".into()),
        ),
    }
    changes.tags(&d.stack.tags, &s.tags);
    // CloudFormation replaces the stack's tags with the given set: an ignored tag is given as
    // the stack holds it.
    let mut tags = d.stack.tags.clone();
    tags.retain(|k, _| !ignored(&format!("Tags.{k}")));
    for (k, v) in &s.tags {
        if d.stack.tags.contains_key(k) && ignored(&format!("Tags.{k}")) {
            tags.insert(k.clone(), v.clone());
        }
    }
    if changes.0.is_empty() {
        return;
    }
    b.push(
        Op::Update,
        ResourceKind::Stack,
        name,
        changes.0,
        "stack template or tags differ from the spec",
        Step::UpdateStack {
            name: name.clone(),
            template,
            tags,
            capabilities: capabilities(),
            role_arn: d.stack.role_arn.clone(),
        },
    );
}

/// CloudFormation cannot recreate what was deleted behind its back: updating the stack does not
/// notice. Only a human should decide how to restore it.
fn deleted_out_of_band(b: &mut Builder, d: &Desired, o: &Observed) {
    for (logical, what, exists) in [
        ("Bucket", &d.names.bucket, o.bucket.is_some()),
        // Without a fan-out the topic is not read, and the stack update removes it.
        (
            "Topic",
            &d.names.topic,
            o.topic.is_some() || d.topic.is_none(),
        ),
    ] {
        if !exists && stack_holds(o, logical) {
            b.conflict(
                ResourceKind::Stack,
                &d.stack.name,
                ConflictKind::DeletedOutOfBand,
                format!(
                    "{logical} {what} was deleted outside pitagora and CloudFormation cannot recreate it in place; restore it, or delete the pipeline's stack (`pitagora delete`) and apply again"
                ),
            );
        }
    }
}
