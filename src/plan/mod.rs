//! The plan: desired × observed → ordered actions, each with the resource, the differing fields
//! and a reason. Pure. The same value drives correction (`apply`), the CI drift report and the
//! controller's events and status.
//!
//! Rules the plan keeps:
//! - converged state plans nothing: values are compared in canonical form ([`normalize`]);
//! - one out-of-band difference yields the one action that fixes it;
//! - nothing this pipeline does not own is ever updated or deleted: ownership is the
//!   `pitagora.dev/pipeline` tag, the filter name, the notification and lifecycle ids, and the
//!   topic (which only this pipeline publishes to); what would have to be touched to proceed
//!   becomes a [`Op::Conflict`] instead;
//! - actions are ordered by dependency: removals first, in reverse (filters → subscriptions →
//!   lifecycle, notifications → stream → error log group → stack), then creations and updates
//!   forward (stack → error log group → stream → notifications, lifecycle, subscriptions →
//!   filters).

pub mod diff;
pub mod ignore;
pub mod normalize;

use crate::desired::{Desired, LogGroupSpec, STACK_CAPABILITIES, StreamSpec};
use crate::names::{OWNER_TAG, PipelineId};
use crate::observed::{Observed, ObservedBucket, ObservedTopic};
use crate::resources::*;
use diff::Changes;
use serde::Serialize;
use std::fmt;

/// What an action does to its resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Op {
    /// The resource is missing and will be created.
    Create,
    /// The resource differs and will be changed in place.
    Update,
    /// The resource (or this pipeline's part of it) will be removed.
    Delete,
    /// Something blocks convergence that pitagora must not or cannot change by itself; nothing is
    /// executed, a human decides.
    Conflict,
}

impl Op {
    /// Stable name, used in reports, status, events and metrics labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "Create",
            Op::Update => "Update",
            Op::Delete => "Delete",
            Op::Conflict => "Conflict",
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One differing field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    /// The AWS field, e.g. `BufferingHints.SizeInMBs`.
    pub field: String,
    /// The spec field that sets it, e.g. `spec.delivery.buffering.sizeMiB`, where there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec_field: Option<String>,
    /// The value the spec asks for (`None`: should not exist).
    pub desired: Option<String>,
    /// The value found (`None`: does not exist).
    pub actual: Option<String>,
}

/// What executing an action does, with everything it needs. Executors re-read what they must
/// (a stream's version id, a bucket's foreign entries) right before writing.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", tag = "step")]
pub enum Step {
    /// Create the stack.
    CreateStack {
        /// Stack name.
        name: String,
        /// Template.
        template: serde_json::Value,
        /// Stack tags.
        tags: Tags,
        /// Capabilities to acknowledge.
        capabilities: Vec<String>,
    },
    /// Update the stack to this template and tags.
    UpdateStack {
        /// Stack name.
        name: String,
        /// Template.
        template: serde_json::Value,
        /// Stack tags.
        tags: Tags,
        /// Capabilities to acknowledge.
        capabilities: Vec<String>,
    },
    /// Delete the stack; with `empty_bucket`, first delete every object of that bucket (a
    /// `deletionPolicy: Delete` bucket must be empty for CloudFormation to delete it).
    DeleteStack {
        /// Stack name.
        name: String,
        /// Bucket to empty first.
        #[serde(skip_serializing_if = "Option::is_none")]
        empty_bucket: Option<String>,
    },
    /// Create the error log group with its retention and tags.
    CreateLogGroup(LogGroupSpec),
    /// Set the error log group's retention and tags.
    UpdateLogGroup(LogGroupSpec),
    /// Delete the error log group.
    DeleteLogGroup {
        /// Log group name.
        name: String,
    },
    /// Create the delivery stream.
    CreateStream(StreamSpec),
    /// Update the stream: the complete destination (`UpdateDestination` with a fresh version id)
    /// and/or its tags.
    UpdateStream {
        /// The desired stream.
        stream: StreamSpec,
        /// The destination differs.
        destination: bool,
        /// Tags are missing or differ.
        tags: bool,
    },
    /// Delete the delivery stream.
    DeleteStream {
        /// Stream name.
        name: String,
    },
    /// Replace this pipeline's notification entries (those with `managed_ids`) by `entries`,
    /// keeping every other entry of the bucket.
    PutNotifications {
        /// Bucket name.
        bucket: String,
        /// This pipeline's entries.
        entries: Vec<Notification>,
        /// Ids this pipeline owns.
        managed_ids: Vec<String>,
    },
    /// Replace this pipeline's lifecycle rules (those with `managed_ids`) by `rules`, keeping
    /// every other rule of the bucket.
    PutLifecycle {
        /// Bucket name.
        bucket: String,
        /// This pipeline's rules.
        rules: Vec<LifecycleRule>,
        /// Ids this pipeline owns.
        managed_ids: Vec<String>,
    },
    /// Subscribe a Lambda function to the topic.
    Subscribe {
        /// Topic ARN.
        topic_arn: String,
        /// The subscription.
        subscription: TopicSubscription,
    },
    /// Set a subscription's filter policy and scope.
    SetSubscriptionAttributes {
        /// Subscription ARN.
        arn: String,
        /// The desired subscription.
        subscription: TopicSubscription,
    },
    /// Remove a subscription.
    Unsubscribe {
        /// Subscription ARN.
        arn: String,
    },
    /// Create or overwrite this pipeline's subscription filter on a log group.
    PutFilter {
        /// Log group name.
        log_group: String,
        /// The filter.
        filter: SubscriptionFilter,
    },
    /// Delete this pipeline's subscription filter from a log group.
    DeleteFilter {
        /// Log group name.
        log_group: String,
        /// Filter name.
        name: String,
    },
    /// Nothing is executed (conflicts).
    None,
}

/// One planned action.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Action {
    /// What happens.
    pub op: Op,
    /// The kind of resource.
    pub kind: ResourceKind,
    /// The resource's name (a filter's is its log group's name).
    pub name: String,
    /// The differing fields.
    pub changes: Vec<Change>,
    /// Why, for humans.
    pub reason: String,
    /// What executing it does.
    pub step: Step,
}

impl Action {
    /// Whether executing this action writes to AWS.
    pub fn writes(&self) -> bool {
        self.op != Op::Conflict
    }
}

/// A resource that is mid-operation in AWS: nothing to do now, check again soon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pending {
    /// The kind of resource.
    pub kind: ResourceKind,
    /// Its name.
    pub name: String,
    /// What it is waiting for.
    pub reason: String,
}

/// The ordered actions that take AWS from observed to desired.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// The pipeline.
    pub pipeline: PipelineId,
    /// `drift.policy: Report`: the plan is reported, never executed.
    pub report_only: bool,
    /// Actions in execution order.
    pub actions: Vec<Action>,
    /// Resources in the middle of an AWS operation.
    pub pending: Vec<Pending>,
    /// Differences `drift.ignore` accepts: not actions, listed for reports.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<ignore::Ignored>,
}

impl Plan {
    /// No differences and nothing pending: AWS matches the spec.
    pub fn in_sync(&self) -> bool {
        self.actions.is_empty() && self.pending.is_empty()
    }

    /// Actions that would write to AWS.
    pub fn writes(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.writes())
    }

    /// Conflicts: what needs a human.
    pub fn conflicts(&self) -> impl Iterator<Item = &Action> {
        self.actions.iter().filter(|a| a.op == Op::Conflict)
    }

    /// Conflicts over who owns a resource.
    pub fn ownership_conflicts(&self) -> impl Iterator<Item = &Action> {
        self.conflicts().filter(|a| a.reason.contains(OWNER_TAG))
    }
}

/// Who owns a tagged resource, as far as this pipeline is concerned.
fn ownership_conflict(d: &Desired, tags: &Tags) -> Option<String> {
    match tags.get(OWNER_TAG) {
        Some(owner) if *owner == d.id.owner_tag_value() => None,
        Some(owner) => Some(format!(
            "owned by LogPipeline {owner} (tag {OWNER_TAG}); pitagora never modifies another pipeline's resources"
        )),
        None if d.adopt_existing => None,
        None => Some(format!(
            "exists without the {OWNER_TAG} tag, so it may belong to someone else; set spec.adoptExisting: true to adopt it, or remove it"
        )),
    }
}

struct Builder<'a> {
    desired: &'a Desired,
    actions: Vec<Action>,
    pending: Vec<Pending>,
}

impl Builder<'_> {
    fn push(
        &mut self,
        op: Op,
        kind: ResourceKind,
        name: &str,
        changes: Vec<Change>,
        reason: impl Into<String>,
        step: Step,
    ) {
        self.actions.push(Action {
            op,
            kind,
            name: name.to_owned(),
            changes,
            reason: reason.into(),
            step,
        });
    }

    fn conflict(&mut self, kind: ResourceKind, name: &str, reason: impl Into<String>) {
        self.push(Op::Conflict, kind, name, Vec::new(), reason, Step::None);
    }

    fn pending(&mut self, kind: ResourceKind, name: &str, reason: impl Into<String>) {
        self.pending.push(Pending {
            kind,
            name: name.to_owned(),
            reason: reason.into(),
        });
    }

    /// The plan, ordered; `ignoring` applies `drift.ignore` (never to deletions of the pipeline).
    fn finish(mut self, ignoring: bool) -> Plan {
        // Stable: within a phase, actions keep the order they were planned in.
        self.actions.sort_by_key(|a| phase(a.op, a.kind));
        let mut plan = Plan {
            pipeline: self.desired.id.clone(),
            report_only: self.desired.report_only,
            actions: self.actions,
            pending: self.pending,
            ignored: Vec::new(),
        };
        if ignoring {
            plan.ignored = ignore::apply(&mut plan, &self.desired.ignore);
        }
        plan
    }
}

/// Execution order: removals in reverse dependency order, then the rest forward.
fn phase(op: Op, kind: ResourceKind) -> u8 {
    use ResourceKind::*;
    match op {
        Op::Delete => match kind {
            SubscriptionFilter | LogGroup => 0,
            TopicSubscription => 1,
            BucketLifecycle => 2,
            BucketNotification => 3,
            DeliveryStream => 4,
            ErrorLogGroup => 5,
            Stack => 6,
        },
        _ => 10 + kind as u8,
    }
}

/// How the stack stands, as far as planning goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StackState {
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

fn stack_state(status: &str) -> StackState {
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
enum Held<'a, T> {
    /// It exists.
    Exists(&'a T),
    /// The stack does not hold it yet; the planned stack action creates it.
    Coming,
    /// The stack holds it but it is gone (deleted outside pitagora), or the stack is busy.
    Unavailable,
}

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

/// `stack_acts`: the plan creates or updates the stack, which brings what it does not hold yet.
fn held<'a, T>(
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

/// Plans the convergence of `observed` to `desired`.
pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    let mut b = Builder {
        desired,
        actions: Vec::new(),
        pending: Vec::new(),
    };
    plan_stack(&mut b, desired, observed);
    if orphaned_bucket(observed) {
        // Everything else hangs off the stack's roles, topic and permissions: until a human
        // restores the stack, acting on it could only fail or build half a pipeline.
        return b.finish(true);
    }
    plan_error_log_group(&mut b, desired, observed);
    plan_stream(&mut b, desired, observed);
    let stack_acts = b
        .actions
        .iter()
        .any(|a| a.kind == ResourceKind::Stack && matches!(a.op, Op::Create | Op::Update));
    let bucket = held(observed, "Bucket", observed.bucket.as_ref(), stack_acts);
    plan_notifications(&mut b, desired, &bucket);
    plan_lifecycle(&mut b, desired, &bucket);
    plan_subscriptions(
        &mut b,
        desired,
        &held(observed, "Topic", observed.topic.as_ref(), stack_acts),
    );
    plan_filters(&mut b, desired, observed);
    b.finish(true)
}

/// The stack is gone (or must be recreated) but its retained bucket remains.
fn orphaned_bucket(o: &Observed) -> bool {
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

fn plan_stack(b: &mut Builder, d: &Desired, o: &Observed) {
    let name = &d.stack.name;
    let create = Step::CreateStack {
        name: name.clone(),
        template: d.stack.template.clone(),
        tags: d.stack.tags.clone(),
        capabilities: capabilities(),
    };
    // CloudFormation cannot create a bucket that exists. A bucket left behind by a deleted stack
    // (it is retained) can only return to a stack by resource import, which a human decides on.
    let conflict = |b: &mut Builder| {
        b.conflict(
            ResourceKind::Stack,
            name,
            format!(
                "stack {name} does not exist but its bucket {} does (retained when the stack was deleted), and CloudFormation cannot create a bucket that exists; import the bucket into a new stack {name} (CloudFormation resource import), or move its objects away and delete it, then pitagora creates the stack",
                d.names.bucket
            ),
        )
    };
    if orphaned_bucket(o) {
        return conflict(b);
    }
    let Some(s) = &o.stack else {
        b.push(
            Op::Create,
            ResourceKind::Stack,
            name,
            Vec::new(),
            "stack does not exist",
            create,
        );
        return;
    };
    if let Some(reason) = ownership_conflict(d, &s.tags) {
        b.conflict(ResourceKind::Stack, name, reason);
        return;
    }
    let detail = s
        .status_reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    match stack_state(&s.status) {
        StackState::Absent => {
            b.push(
                Op::Create,
                ResourceKind::Stack,
                name,
                Vec::new(),
                "stack was deleted",
                create,
            );
        }
        StackState::InProgress => b.pending(
            ResourceKind::Stack,
            name,
            format!("{} (operation in progress)", s.status),
        ),
        StackState::Stuck(remedy) => b.conflict(
            ResourceKind::Stack,
            name,
            format!("stack is {}{detail}; {remedy}", s.status),
        ),
        StackState::Recreate => {
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
                    "stack is {}{detail}: its creation failed and it holds no resources; it must be deleted before it can be created again",
                    s.status
                ),
                Step::DeleteStack {
                    name: name.clone(),
                    empty_bucket: None,
                },
            );
            b.push(
                Op::Create,
                ResourceKind::Stack,
                name,
                Vec::new(),
                "recreate after the failed creation",
                create,
            );
        }
        StackState::Stable => {
            let mut changes = Changes::default();
            match &s.template {
                Some(actual) => diff::json("Template", &d.stack.template, actual, &mut changes),
                None => changes.presence(
                    "Template",
                    None,
                    Some("pitagora's JSON template".into()),
                    Some("a template that is not JSON".into()),
                ),
            }
            changes.tags(&d.stack.tags, &s.tags);
            if !changes.0.is_empty() {
                b.push(
                    Op::Update,
                    ResourceKind::Stack,
                    name,
                    changes.0,
                    "stack template or tags differ from the spec",
                    Step::UpdateStack {
                        name: name.clone(),
                        template: d.stack.template.clone(),
                        tags: d.stack.tags.clone(),
                        capabilities: capabilities(),
                    },
                );
            }
            // CloudFormation cannot recreate what was deleted behind its back: updating the
            // stack does not notice. Only a human should decide how to restore it.
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
                        name,
                        format!(
                            "{logical} {what} was deleted outside pitagora and CloudFormation cannot recreate it in place; restore it, or delete the pipeline's stack (`pitagora delete`) and apply again"
                        ),
                    );
                }
            }
        }
    }
}

fn plan_error_log_group(b: &mut Builder, d: &Desired, o: &Observed) {
    let want = &d.error_log_group;
    let Some(g) = &o.error_log_group else {
        b.push(
            Op::Create,
            ResourceKind::ErrorLogGroup,
            &want.name,
            Vec::new(),
            "Firehose error log group does not exist",
            Step::CreateLogGroup(want.clone()),
        );
        return;
    };
    if let Some(reason) = ownership_conflict(d, &g.tags) {
        b.conflict(ResourceKind::ErrorLogGroup, &want.name, reason);
        return;
    }
    let mut changes = Changes::default();
    changes.field(
        "retentionInDays",
        None,
        &Some(want.retention_days),
        &g.retention_days,
    );
    changes.tags(&want.tags, &g.tags);
    if !changes.0.is_empty() {
        b.push(
            Op::Update,
            ResourceKind::ErrorLogGroup,
            &want.name,
            changes.0,
            "error log group settings differ",
            Step::UpdateLogGroup(want.clone()),
        );
    }
}

fn plan_stream(b: &mut Builder, d: &Desired, o: &Observed) {
    let want = &d.stream;
    let name = &want.name;
    let create = || Step::CreateStream(want.clone());
    let Some(s) = &o.stream else {
        b.push(
            Op::Create,
            ResourceKind::DeliveryStream,
            name,
            Vec::new(),
            "delivery stream does not exist",
            create(),
        );
        return;
    };
    if let Some(reason) = ownership_conflict(d, &s.tags) {
        b.conflict(ResourceKind::DeliveryStream, name, reason);
        return;
    }
    match s.status.as_str() {
        "CREATING" | "DELETING" | "UPDATING" => {
            b.pending(
                ResourceKind::DeliveryStream,
                name,
                format!("stream is {}", s.status),
            );
            return;
        }
        "CREATING_FAILED" => {
            b.push(
                Op::Delete,
                ResourceKind::DeliveryStream,
                name,
                Vec::new(),
                "stream creation failed; it must be deleted before it can be created again",
                Step::DeleteStream { name: name.clone() },
            );
            b.push(
                Op::Create,
                ResourceKind::DeliveryStream,
                name,
                Vec::new(),
                "recreate after the failed creation",
                create(),
            );
            return;
        }
        "DELETING_FAILED" => {
            b.conflict(
                ResourceKind::DeliveryStream,
                name,
                "stream deletion failed; check its encryption key and delete it again",
            );
            return;
        }
        _ => {}
    }
    let mut changes = Changes::default();
    match &s.destination {
        Some(actual) => diff::destination(
            &normalize::destination(&want.destination),
            &normalize::destination(actual),
            &mut changes,
        ),
        None => changes.presence(
            "Destination",
            None,
            Some("ExtendedS3".into()),
            Some("another destination type".into()),
        ),
    }
    let destination = !changes.0.is_empty();
    let tags = !normalize::tags_missing(&want.tags, &s.tags).is_empty();
    changes.tags(&want.tags, &s.tags);
    if destination || tags {
        b.push(
            Op::Update,
            ResourceKind::DeliveryStream,
            name,
            changes.0,
            "delivery stream configuration differs from the spec",
            Step::UpdateStream {
                stream: want.clone(),
                destination,
                tags,
            },
        );
    }
}

fn managed_notification_ids(d: &Desired) -> Vec<String> {
    vec![
        d.names.transform_notification_id.clone(),
        d.names.fanout_notification_id.clone(),
    ]
}

/// Whether S3 would reject two notification entries as overlapping: they share an event type and
/// their prefix and suffix filters can match the same key.
fn notifications_overlap(a: &Notification, b: &Notification) -> bool {
    let event_overlap = a.events.iter().any(|x| {
        b.events.iter().any(|y| {
            let (x, y) = (x.trim_end_matches('*'), y.trim_end_matches('*'));
            x.starts_with(y) || y.starts_with(x)
        })
    });
    let prefix_overlap = a.prefix.starts_with(&b.prefix) || b.prefix.starts_with(&a.prefix);
    let suffix_overlap = a.suffix.ends_with(&b.suffix) || b.suffix.ends_with(&a.suffix);
    event_overlap && prefix_overlap && suffix_overlap
}

fn plan_notifications(b: &mut Builder, d: &Desired, bucket: &Held<ObservedBucket>) {
    let managed = managed_notification_ids(d);
    let desired: Vec<Notification> = d
        .notifications
        .iter()
        .map(normalize::notification)
        .collect();
    let step = || Step::PutNotifications {
        bucket: d.names.bucket.clone(),
        entries: d.notifications.clone(),
        managed_ids: managed.clone(),
    };
    let actual: Vec<Notification> = match bucket {
        Held::Unavailable => return,
        Held::Coming => Vec::new(),
        Held::Exists(bk) => {
            let (ours, foreign): (Vec<&Notification>, Vec<&Notification>) = bk
                .notifications
                .iter()
                .partition(|n| managed.contains(&n.id));
            let mut blocked = false;
            for want in &desired {
                for other in foreign.iter().map(|n| normalize::notification(n)) {
                    if notifications_overlap(want, &other) {
                        blocked = true;
                        b.conflict(
                            ResourceKind::BucketNotification,
                            &d.names.bucket,
                            format!(
                                "the bucket's notification {:?} overlaps this pipeline's {:?} (same event type, overlapping prefix {:?}); S3 rejects overlapping notifications, so remove or narrow that notification",
                                other.id, want.id, other.prefix
                            ),
                        );
                    }
                }
            }
            if blocked {
                return;
            }
            ours.into_iter().map(normalize::notification).collect()
        }
    };
    let mut changes = Changes::default();
    diff::notifications(&desired, &actual, &mut changes);
    if changes.0.is_empty() {
        return;
    }
    let (op, reason) = match (actual.is_empty(), desired.is_empty()) {
        (true, _) => (
            Op::Create,
            "bucket notifications for this pipeline are missing",
        ),
        (false, true) => (
            Op::Delete,
            "bucket notifications no longer wanted by the spec",
        ),
        (false, false) => (Op::Update, "bucket notifications differ from the spec"),
    };
    b.push(
        op,
        ResourceKind::BucketNotification,
        &d.names.bucket,
        changes.0,
        reason,
        step(),
    );
}

fn plan_lifecycle(b: &mut Builder, d: &Desired, bucket: &Held<ObservedBucket>) {
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
    let (op, reason) = match (actual.is_empty(), desired.is_empty()) {
        (true, _) => (
            Op::Create,
            "bucket lifecycle rule for this pipeline is missing",
        ),
        (false, true) => (
            Op::Delete,
            "bucket lifecycle rule no longer wanted by the spec",
        ),
        (false, false) => (Op::Update, "bucket lifecycle rule differs from the spec"),
    };
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

fn plan_subscriptions(b: &mut Builder, d: &Desired, topic: &Held<ObservedTopic>) {
    // Without a fan-out the stack update deletes the topic, and its subscriptions with it.
    let Some(want) = &d.topic else { return };
    let observed = match topic {
        Held::Unavailable => return,
        Held::Coming => &[][..],
        Held::Exists(t) => &t.subscriptions[..],
    };
    for (subscriber, sub) in &want.subscriptions {
        let want_sub = normalize::subscription(sub);
        let found = observed.iter().find(|o| {
            let o = normalize::subscription(&o.subscription);
            o.protocol == "lambda" && o.endpoint == want_sub.endpoint
        });
        match found {
            None => b.push(
                Op::Create,
                ResourceKind::TopicSubscription,
                subscriber,
                vec![Change {
                    field: "Endpoint".into(),
                    spec_field: Some(format!("spec.fanout.subscribers[{subscriber}].lambdaArn")),
                    desired: Some(want_sub.endpoint.clone()),
                    actual: None,
                }],
                "subscriber is not subscribed to the topic",
                Step::Subscribe {
                    topic_arn: want.arn.clone(),
                    subscription: sub.clone(),
                },
            ),
            Some(found) => {
                let mut changes = Changes::default();
                diff::subscription(
                    subscriber,
                    &want_sub,
                    &normalize::subscription(&found.subscription),
                    &mut changes,
                );
                if !changes.0.is_empty() {
                    b.push(
                        Op::Update,
                        ResourceKind::TopicSubscription,
                        subscriber,
                        changes.0,
                        "subscription filter policy differs from the spec",
                        Step::SetSubscriptionAttributes {
                            arn: found.arn.clone(),
                            subscription: sub.clone(),
                        },
                    );
                }
            }
        }
    }
    // The topic is this pipeline's: Lambda subscriptions it does not declare are drift. Other
    // protocols (an operator's e-mail, a debugging queue) are left alone.
    for o in observed {
        let canonical = normalize::subscription(&o.subscription);
        let declared = want
            .subscriptions
            .iter()
            .any(|(_, s)| normalize::subscription(s).endpoint == canonical.endpoint);
        if canonical.protocol == "lambda" && !declared {
            b.push(
                Op::Delete,
                ResourceKind::TopicSubscription,
                &canonical.endpoint,
                vec![Change {
                    field: "Endpoint".into(),
                    spec_field: Some("spec.fanout.subscribers".into()),
                    desired: None,
                    actual: Some(canonical.endpoint.clone()),
                }],
                "Lambda subscription not declared in spec.fanout.subscribers",
                Step::Unsubscribe { arn: o.arn.clone() },
            );
        }
    }
}

fn plan_filters(b: &mut Builder, d: &Desired, o: &Observed) {
    let want = &d.filters.filter;
    let canonical = normalize::filter(want);
    // Filters deliver into the stream of this pipeline's name. While that stream is someone
    // else's (its conflict is planned), a filter put now would send the group's events there.
    let stream_foreign = o
        .stream
        .as_ref()
        .is_some_and(|s| ownership_conflict(d, &s.tags).is_some());
    for (group, filters) in &o.log_groups {
        let ours = filters.iter().find(|f| f.name == want.name);
        let put = || Step::PutFilter {
            log_group: group.clone(),
            filter: want.clone(),
        };
        match (d.filters.selects(group), ours) {
            (true, Some(actual)) => {
                let mut changes = Changes::default();
                diff::filter(&canonical, &normalize::filter(actual), &mut changes);
                if !changes.0.is_empty() && !stream_foreign {
                    b.push(
                        Op::Update,
                        ResourceKind::SubscriptionFilter,
                        group,
                        changes.0,
                        "subscription filter differs from the spec",
                        put(),
                    );
                }
            }
            (true, None) => {
                let foreign: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
                if foreign.len() >= 2 {
                    b.conflict(
                        ResourceKind::SubscriptionFilter,
                        group,
                        format!(
                            "log group already has two subscription filters ({}), the CloudWatch Logs limit; pitagora never removes others' filters — free a slot or drop this group from the sources",
                            foreign.join(", ")
                        ),
                    );
                } else if !stream_foreign {
                    b.push(
                        Op::Create,
                        ResourceKind::SubscriptionFilter,
                        group,
                        vec![Change {
                            field: "filterName".into(),
                            spec_field: None,
                            desired: Some(want.name.clone()),
                            actual: None,
                        }],
                        "source log group has no subscription filter for this pipeline",
                        put(),
                    );
                }
            }
            (false, Some(actual)) => b.push(
                Op::Delete,
                ResourceKind::SubscriptionFilter,
                group,
                vec![Change {
                    field: "filterName".into(),
                    spec_field: Some("spec.sources".into()),
                    desired: None,
                    actual: Some(actual.name.clone()),
                }],
                "log group is no longer a source of this pipeline",
                Step::DeleteFilter {
                    log_group: group.clone(),
                    name: actual.name.clone(),
                },
            ),
            (false, None) => {}
        }
    }
    for group in &d.filters.log_groups {
        if !o.log_groups.contains_key(group) {
            b.conflict(
                ResourceKind::LogGroup,
                group,
                "source log group does not exist; pitagora subscribes it as soon as it does (create it, or remove it from spec.sources.logGroups)",
            );
        }
    }
}

/// Plans the removal of everything `desired`'s pipeline owns, in reverse dependency order.
/// Retained: the bucket and the error log group unless `deletionPolicy: Delete`, the lifecycle
/// rules of a retained bucket, and anything owned by someone else (reported as a conflict).
pub fn plan_delete(d: &Desired, o: &Observed) -> Plan {
    let mut b = Builder {
        desired: d,
        actions: Vec::new(),
        pending: Vec::new(),
    };
    let remove = matches!(d.deletion_policy, crate::spec::DeletionPolicy::Delete);
    for (group, filters) in &o.log_groups {
        if let Some(f) = filters.iter().find(|f| f.name == d.filters.filter.name) {
            b.push(
                Op::Delete,
                ResourceKind::SubscriptionFilter,
                group,
                Vec::new(),
                "pipeline deleted",
                Step::DeleteFilter {
                    log_group: group.clone(),
                    name: f.name.clone(),
                },
            );
        }
    }
    let stack_ours = o
        .stack
        .as_ref()
        .is_some_and(|s| ownership_conflict(d, &s.tags).is_none());
    if let (Some(topic), true) = (&o.topic, stack_ours) {
        for s in topic
            .subscriptions
            .iter()
            .filter(|s| s.subscription.protocol == "lambda")
        {
            b.push(
                Op::Delete,
                ResourceKind::TopicSubscription,
                &s.subscription.endpoint,
                Vec::new(),
                "pipeline deleted",
                Step::Unsubscribe { arn: s.arn.clone() },
            );
        }
    }
    if let Some(bucket) = &o.bucket {
        let managed = managed_notification_ids(d);
        if bucket.notifications.iter().any(|n| managed.contains(&n.id)) {
            b.push(
                Op::Delete,
                ResourceKind::BucketNotification,
                &d.names.bucket,
                Vec::new(),
                "pipeline deleted",
                Step::PutNotifications {
                    bucket: d.names.bucket.clone(),
                    entries: Vec::new(),
                    managed_ids: managed,
                },
            );
        }
    }
    if let Some(s) = &o.stream {
        match ownership_conflict(d, &s.tags) {
            None if s.status != "DELETING" => b.push(
                Op::Delete,
                ResourceKind::DeliveryStream,
                &d.stream.name,
                Vec::new(),
                "pipeline deleted",
                Step::DeleteStream {
                    name: d.stream.name.clone(),
                },
            ),
            None => b.pending(
                ResourceKind::DeliveryStream,
                &d.stream.name,
                "stream is DELETING",
            ),
            Some(reason) => b.conflict(
                ResourceKind::DeliveryStream,
                &d.stream.name,
                format!("left in place: {reason}"),
            ),
        }
    }
    if let (Some(g), true) = (&o.error_log_group, remove) {
        match ownership_conflict(d, &g.tags) {
            None => b.push(
                Op::Delete,
                ResourceKind::ErrorLogGroup,
                &d.error_log_group.name,
                Vec::new(),
                "pipeline deleted (storage.deletionPolicy: Delete)",
                Step::DeleteLogGroup {
                    name: d.error_log_group.name.clone(),
                },
            ),
            Some(reason) => b.conflict(
                ResourceKind::ErrorLogGroup,
                &d.error_log_group.name,
                format!("left in place: {reason}"),
            ),
        }
    }
    if let Some(s) = &o.stack {
        match (ownership_conflict(d, &s.tags), stack_state(&s.status)) {
            (Some(reason), _) => b.conflict(ResourceKind::Stack, &d.stack.name, format!("left in place: {reason}")),
            (None, StackState::Absent) => {}
            (None, StackState::InProgress) if s.status == "DELETE_IN_PROGRESS" => {
                b.pending(ResourceKind::Stack, &d.stack.name, "stack is DELETE_IN_PROGRESS")
            }
            (None, StackState::InProgress) => {
                b.pending(ResourceKind::Stack, &d.stack.name, format!("{}: waiting to delete", s.status))
            }
            (None, _) => b.push(
                Op::Delete,
                ResourceKind::Stack,
                &d.stack.name,
                Vec::new(),
                if remove {
                    "pipeline deleted; storage.deletionPolicy: Delete removes the bucket and its objects"
                } else {
                    "pipeline deleted; the bucket and its objects are retained"
                },
                Step::DeleteStack {
                    name: d.stack.name.clone(),
                    empty_bucket: remove.then(|| d.names.bucket.clone()),
                },
            ),
        }
    }
    b.finish(false)
}
