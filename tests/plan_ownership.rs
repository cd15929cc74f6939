//! Ownership, specified: pitagora never updates or deletes what another owner holds; untagged
//! same-named resources are adopted only when the spec says so. Deleting a pipeline removes only
//! its own resources and retains the bucket unless told otherwise.

mod common;

use common::*;
use pitagora::names::OWNER_TAG;
use pitagora::observed::Observed;
use pitagora::plan::{Op, Step, plan, plan_delete};
use pitagora::resources::*;

fn foreign_filter() -> SubscriptionFilter {
    SubscriptionFilter {
        name: "team-b-shipper".into(),
        pattern: String::new(),
        destination_arn: "arn:aws:lambda:eu-west-1:123456789012:function:shipper".into(),
        role_arn: None,
        distribution: "ByLogStream".into(),
    }
}

fn foreign_notification() -> Notification {
    Notification {
        id: "audit-export".into(),
        target: NotificationTarget::Queue("arn:aws:sqs:eu-west-1:123456789012:audit".into()),
        events: vec!["s3:ObjectCreated:*".into()],
        prefix: "exports/".into(),
        suffix: String::new(),
    }
}

#[test]
fn a_stream_tagged_for_another_pipeline_is_a_conflict_and_left_alone() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    let stream = o.stream.as_mut().unwrap();
    stream.tags.insert(OWNER_TAG.into(), "team-b/orders".into());
    stream.destination.as_mut().unwrap().buffering.size_mib = 99;
    let p = plan(&d, &o);
    assert_eq!(p.actions.len(), 1);
    assert_eq!(
        (p.actions[0].op, p.actions[0].kind),
        (Op::Conflict, ResourceKind::DeliveryStream)
    );
    assert!(p.actions[0].reason.contains("team-b/orders"));
}

#[test]
fn an_untagged_stream_is_not_adopted_by_default() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.stream.as_mut().unwrap().tags.clear();
    let p = plan(&d, &o);
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].op, Op::Conflict);
    assert!(p.actions[0].reason.contains("adoptExisting"));
}

#[test]
fn an_untagged_stream_is_adopted_with_adopt_existing() {
    let mut spec = minimal_spec();
    spec.adopt_existing = true;
    let d = desired(&spec);
    let mut o = converged(&d, &["/ecs/orders"]);
    o.stream.as_mut().unwrap().tags.clear();
    let p = plan(&d, &o);
    assert_eq!(p.actions.len(), 1);
    assert_eq!(p.actions[0].op, Op::Update);
    assert!(matches!(
        &p.actions[0].step,
        Step::UpdateStream {
            tags: true,
            destination: false,
            ..
        }
    ));
}

#[test]
fn adopt_existing_never_adopts_what_another_pipeline_owns() {
    let mut spec = minimal_spec();
    spec.adopt_existing = true;
    let d = desired(&spec);
    let mut o = converged(&d, &["/ecs/orders"]);
    o.stack
        .as_mut()
        .unwrap()
        .tags
        .insert(OWNER_TAG.into(), "team-c/other".into());
    let p = plan(&d, &o);
    assert_eq!(p.actions.len(), 1);
    assert_eq!(
        (p.actions[0].op, p.actions[0].kind),
        (Op::Conflict, ResourceKind::Stack)
    );
}

#[test]
fn deleting_removes_own_resources_in_reverse_order_and_retains_the_bucket() {
    let d = desired(&full_chain_spec());
    let o = converged(&d, &["/ecs/orders", "/ecs/payments"]);
    let p = plan_delete(&d, &o);
    let order: Vec<(Op, ResourceKind)> = p.actions.iter().map(|a| (a.op, a.kind)).collect();
    use ResourceKind::*;
    assert_eq!(
        order,
        vec![
            // The two source groups' filters and the canary group's.
            (Op::Delete, SubscriptionFilter),
            (Op::Delete, SubscriptionFilter),
            (Op::Delete, SubscriptionFilter),
            (Op::Delete, TopicSubscription),
            (Op::Delete, TopicSubscription),
            (Op::Delete, BucketNotification),
            (Op::Delete, DeliveryStream),
            // The canary group holds only canaries: it goes whatever the deletion policy.
            (Op::Delete, CanaryLogGroup),
            (Op::Delete, Stack),
        ]
    );
    let last = p.actions.last().unwrap();
    assert!(matches!(
        &last.step,
        Step::DeleteStack {
            empty_bucket: None,
            ..
        }
    ));
    assert!(last.reason.contains("retained"));
}

#[test]
fn deleting_with_deletion_policy_delete_empties_the_bucket_and_removes_error_logs() {
    let mut spec = full_chain_spec();
    spec.storage.deletion_policy = pitagora::spec::DeletionPolicy::Delete;
    let d = desired(&spec);
    let o = converged(&d, &["/ecs/orders"]);
    let p = plan_delete(&d, &o);
    assert!(
        p.actions
            .iter()
            .any(|a| a.kind == ResourceKind::ErrorLogGroup && a.op == Op::Delete)
    );
    assert!(matches!(
        &p.actions.last().unwrap().step,
        Step::DeleteStack { empty_bucket: Some(b), .. } if *b == d.names.bucket
    ));
}

#[test]
fn deleting_keeps_foreign_filters_and_notifications() {
    let d = desired(&full_chain_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.log_groups
        .get_mut("/ecs/orders")
        .unwrap()
        .push(foreign_filter());
    o.bucket
        .as_mut()
        .unwrap()
        .notifications
        .push(foreign_notification());
    let p = plan_delete(&d, &o);
    for a in &p.actions {
        match &a.step {
            Step::DeleteFilter { name, .. } => assert_eq!(*name, d.names.filter),
            Step::PutNotifications {
                entries,
                managed_ids,
                ..
            } => {
                assert!(entries.is_empty());
                assert!(!managed_ids.contains(&"audit-export".to_string()));
            }
            _ => {}
        }
    }
    let mut world = o.clone();
    pitagora::aws_model::execute_plan(&mut world, &p).unwrap();
    assert_eq!(world.log_groups["/ecs/orders"], vec![foreign_filter()]);
    assert_eq!(
        world.bucket.unwrap().notifications,
        vec![foreign_notification()]
    );
}

#[test]
fn deleting_leaves_resources_owned_by_others_in_place() {
    let d = desired(&minimal_spec());
    let mut o = converged(&d, &["/ecs/orders"]);
    o.stream
        .as_mut()
        .unwrap()
        .tags
        .insert(OWNER_TAG.into(), "team-b/x".into());
    let p = plan_delete(&d, &o);
    assert!(!p.writes().any(|a| a.kind == ResourceKind::DeliveryStream));
    assert!(
        p.conflicts()
            .any(|a| a.kind == ResourceKind::DeliveryStream)
    );
}

#[test]
fn deleting_an_already_deleted_pipeline_plans_nothing() {
    let d = desired(&full_chain_spec());
    let p = plan_delete(&d, &Observed::default());
    assert!(p.in_sync(), "{:#?}", p);
}

#[test]
fn deleting_twice_in_the_model_is_a_no_op_the_second_time() {
    let d = desired(&full_chain_spec());
    let mut world = converged(&d, &["/ecs/orders"]);
    let p = plan_delete(&d, &world);
    pitagora::aws_model::execute_plan(&mut world, &p).unwrap();
    assert!(world.stack.is_none() && world.stream.is_none());
    assert!(world.bucket.is_some(), "the bucket is retained");
    assert!(plan_delete(&d, &world).in_sync());
}
