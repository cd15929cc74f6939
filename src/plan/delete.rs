//! Deleting a pipeline: the removal of everything it owns, one function per resource kind,
//! called in reverse dependency order in [`plan_delete`].

use super::notifications::managed_notification_ids;
use super::ownership::{foreign, ownership_conflict};
use super::stack::{StackState, stack_state};
use super::{Builder, Op, Plan, Step};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::ResourceKind;
use crate::spec::DeletionPolicy;

const DELETED: &str = "pipeline deleted";

/// Plans the removal of everything `d`'s pipeline owns, in reverse dependency order.
/// Retained: the bucket and the error log group unless `deletionPolicy: Delete`, the lifecycle
/// rules of a retained bucket, the fluentd routes' log groups (always: they hold the routes' logs;
/// said in the reasons of the filters' and the stack's deletions), and anything owned by someone
/// else (reported as a conflict).
pub fn plan_delete(d: &Desired, o: &Observed) -> Plan {
    let mut b = Builder::new(d);
    let remove = matches!(d.deletion_policy, DeletionPolicy::Delete);
    delete_filters(&mut b, d, o);
    super::remote_filters::delete(&mut b, d, o, DELETED);
    super::destinations::delete(&mut b, d, o, DELETED);
    delete_subscriptions(&mut b, d, o);
    delete_notifications(&mut b, d, o);
    delete_permissions(&mut b, d, o);
    delete_stream(&mut b, d, o);
    if remove {
        delete_error_log_group(&mut b, d, o);
    }
    delete_canary_log_group(&mut b, d, o);
    super::remote_canary::delete(&mut b, d, o, DELETED);
    delete_stack(&mut b, d, o, remove);
    b.finish(false)
}

/// This pipeline's filter on every log group that has it.
fn delete_filters(b: &mut Builder, d: &Desired, o: &Observed) {
    for (group, filters) in &o.log_groups {
        if let Some(f) = filters.iter().find(|f| f.name == d.filters.filter.name) {
            let step = Step::DeleteFilter {
                log_group: group.clone(),
                name: f.name.clone(),
            };
            let kind = ResourceKind::SubscriptionFilter;
            let reason = if d.route_log_groups.iter().any(|g| &g.name == group) {
                ROUTE_GROUP_KEPT
            } else {
                DELETED
            };
            b.push(Op::Delete, kind, group, Vec::new(), reason, step);
        }
    }
}

const ROUTE_GROUP_KEPT: &str = "pipeline deleted; the log group itself is kept: a fluentd route writes into it and it holds logs";

/// The routes' log groups that exist, which the deletion keeps, in words (empty: none).
fn kept_route_groups(o: &Observed) -> String {
    if o.route_log_groups.is_empty() {
        return String::new();
    }
    let names: Vec<&str> = o.route_log_groups.keys().map(String::as_str).collect();
    format!(
        "; the fluentd routes' log groups ({}) are kept with their logs: pitagora never deletes them",
        names.join(", ")
    )
}

/// The topic's Lambda subscriptions, when the stack (and so the topic) is this pipeline's.
fn delete_subscriptions(b: &mut Builder, d: &Desired, o: &Observed) {
    let stack_ours = o.stack.as_ref().is_some_and(|s| !foreign(d, &s.tags));
    let Some(topic) = o.topic.as_ref().filter(|_| stack_ours) else {
        return;
    };
    for s in topic
        .subscriptions
        .iter()
        .filter(|s| s.subscription.protocol == "lambda")
    {
        let step = Step::Unsubscribe { arn: s.arn.clone() };
        let (kind, name) = (ResourceKind::TopicSubscription, &s.subscription.endpoint);
        b.push(Op::Delete, kind, name, Vec::new(), DELETED, step);
    }
}

/// The statements pitagora restored under its own id in the wired functions' policies
/// (CloudFormation removes its own with the stack; the functions are the user's and stay).
fn delete_permissions(b: &mut Builder, d: &Desired, o: &Observed) {
    for p in &d.held.permissions {
        let id = &p.permission.statement_id;
        let statements = o.functions.get(&p.function).into_iter().flatten();
        if statements.into_iter().any(|s| &s.statement_id == id) {
            let step = Step::RemovePermission {
                function: p.function.clone(),
                statement_id: id.clone(),
            };
            let kind = ResourceKind::LambdaPermission;
            b.push(Op::Delete, kind, &p.function, Vec::new(), DELETED, step);
        }
    }
}

/// This pipeline's entries in the bucket's notifications; the others' stay.
fn delete_notifications(b: &mut Builder, d: &Desired, o: &Observed) {
    let Some(bucket) = &o.bucket else { return };
    let managed = managed_notification_ids(d);
    if bucket.notifications.iter().any(|n| managed.contains(&n.id)) {
        let step = Step::PutNotifications {
            bucket: d.names.bucket.clone(),
            entries: Vec::new(),
            managed_ids: managed,
        };
        let kind = ResourceKind::BucketNotification;
        b.push(Op::Delete, kind, &d.names.bucket, Vec::new(), DELETED, step);
    }
}

/// The delivery stream, unless it is someone else's or already being deleted.
fn delete_stream(b: &mut Builder, d: &Desired, o: &Observed) {
    let Some(s) = &o.stream else { return };
    let (kind, name) = (ResourceKind::DeliveryStream, &d.stream.name);
    match ownership_conflict(d, &s.tags) {
        None if s.status != "DELETING" => {
            let step = Step::DeleteStream { name: name.clone() };
            b.push(Op::Delete, kind, name, Vec::new(), DELETED, step);
        }
        None => b.pending(kind, name, "stream is DELETING"),
        Some((cause, reason)) => b.conflict(kind, name, cause, format!("left in place: {reason}")),
    }
}

/// The canary log group (it holds only canaries, whatever the deletion policy), unless it is
/// someone else's.
fn delete_canary_log_group(b: &mut Builder, d: &Desired, o: &Observed) {
    let (Some(g), Some(want)) = (&o.canary_log_group, &d.canary_log_group) else {
        return;
    };
    let (kind, name) = (ResourceKind::CanaryLogGroup, &want.name);
    match ownership_conflict(d, &g.tags) {
        None => {
            let step = Step::DeleteLogGroup { name: name.clone() };
            b.push(Op::Delete, kind, name, Vec::new(), DELETED, step);
        }
        Some((cause, reason)) => b.conflict(kind, name, cause, format!("left in place: {reason}")),
    }
}

/// The error log group (`storage.deletionPolicy: Delete` only), unless it is someone else's.
fn delete_error_log_group(b: &mut Builder, d: &Desired, o: &Observed) {
    let Some(g) = &o.error_log_group else { return };
    let (kind, name) = (ResourceKind::ErrorLogGroup, &d.error_log_group.name);
    match ownership_conflict(d, &g.tags) {
        None => b.push(
            Op::Delete,
            kind,
            name,
            Vec::new(),
            "pipeline deleted (storage.deletionPolicy: Delete)",
            Step::DeleteLogGroup { name: name.clone() },
        ),
        Some((cause, reason)) => b.conflict(kind, name, cause, format!("left in place: {reason}")),
    }
}

/// The stack, emptying the bucket first when `remove` (`deletionPolicy: Delete`); waits for an
/// operation in progress and leaves someone else's stack in place.
fn delete_stack(b: &mut Builder, d: &Desired, o: &Observed, remove: bool) {
    let Some(s) = &o.stack else { return };
    let (kind, name) = (ResourceKind::Stack, &d.stack.name);
    match (ownership_conflict(d, &s.tags), stack_state(&s.status)) {
        (Some((cause, reason)), _) => {
            b.conflict(kind, name, cause, format!("left in place: {reason}"))
        }
        (None, StackState::Absent) => {}
        (None, StackState::InProgress) if s.status == "DELETE_IN_PROGRESS" => {
            b.pending(kind, name, "stack is DELETE_IN_PROGRESS")
        }
        (None, StackState::InProgress) => {
            b.pending(kind, name, format!("{}: waiting to delete", s.status))
        }
        (None, _) => b.push(
            Op::Delete,
            kind,
            name,
            Vec::new(),
            format!(
                "{}{}",
                if remove {
                    "pipeline deleted; storage.deletionPolicy: Delete removes the bucket and its objects"
                } else {
                    "pipeline deleted; the bucket and its objects are retained"
                },
                kept_route_groups(o)
            ),
            Step::DeleteStack {
                name: name.clone(),
                empty_bucket: remove.then(|| d.names.bucket.clone()),
                role_arn: d.stack.role_arn.clone(),
            },
        ),
    }
}
