//! Ownership, specified: pitagora never updates or deletes what another owner holds; untagged
//! same-named resources are adopted only when the spec says so. Deleting a pipeline removes only
//! its own resources and retains the bucket unless told otherwise.

use crate::common;

use common::*;
use pitagora::names::OWNER_TAG;
use pitagora::observed::Observed;
use pitagora::plan::{Op, Step, Target, plan, plan_delete};
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
        Target::Aws(Step::UpdateStream {
            tags: true,
            destination: false,
            ..
        })
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
        Target::Aws(Step::DeleteStack {
            empty_bucket: None,
            ..
        })
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
        Target::Aws(Step::DeleteStack { empty_bucket: Some(b), .. }) if *b == d.names.bucket
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
            Target::Aws(Step::DeleteFilter { name, .. }) => assert_eq!(*name, d.names.filter),
            Target::Aws(Step::PutNotifications {
                entries,
                managed_ids,
                ..
            }) => {
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

/// The log groups the example beside fluentd routes into.
const ROUTE_GROUPS: [&str; 2] = ["/ecs/payments-api", "/ecs/payments-worker"];

/// The example beside fluentd, converged from an account where its routes' log groups did not
/// exist (pitagora created them).
fn routes_converged() -> (pitagora::desired::Desired, Observed) {
    let d = desired(&beside_fluentd_spec());
    let o = converge(&d, world_with_groups(&[]));
    (d, o)
}

#[test]
fn a_missing_route_log_group_is_created_with_the_routes_retention_and_pitagoras_tags_before_its_filter()
 {
    let mut spec = beside_fluentd_spec();
    spec.legacy
        .as_mut()
        .unwrap()
        .fluentd
        .log_group_retention_days = 14;
    let d = desired(&spec);
    let p = plan(&d, &world_with_groups(&[ROUTE_GROUPS[0]]));
    let on_worker: Vec<(usize, Op, ResourceKind)> = p
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| a.name == ROUTE_GROUPS[1])
        .map(|(i, a)| (i, a.op, a.kind))
        .collect();
    let [
        (create, Op::Create, ResourceKind::RouteLogGroup),
        (put, Op::Create, ResourceKind::SubscriptionFilter),
    ] = on_worker[..]
    else {
        panic!("expected the group's creation, then its filter: {on_worker:?}");
    };
    assert!(create < put);
    let Target::Aws(Step::CreateRouteLogGroup(group)) = &p.actions[create].step else {
        panic!("{:?}", p.actions[create].step);
    };
    assert_eq!(group.retention_days, 14);
    assert_eq!(group.tags, d.tags, "the owner and managed-by tags");
    assert!(p.actions[create].reason.contains("fluentd"));
    assert!(
        p.actions.iter().all(|a| a.op != Op::Conflict),
        "a missing route log group is no missing source: {:#?}",
        p.actions
    );
}

#[test]
fn a_route_log_group_pitagora_did_not_create_for_this_pipeline_is_left_alone_whatever_its_retention()
 {
    let (d, converged) = routes_converged();
    let owner = |v: &str| (OWNER_TAG.to_owned(), v.to_owned());
    let managed = || {
        (
            "app.kubernetes.io/managed-by".to_owned(),
            "pitagora".to_owned(),
        )
    };
    for (case, tags) in [
        ("the team's, untagged", Tags::new()),
        (
            "the team's, tagged its own way",
            [("team".to_owned(), "payments".to_owned())].into(),
        ),
        (
            "another pipeline's",
            [owner("team-b/payments"), managed()].into(),
        ),
        (
            "this pipeline's owner tag without managed-by",
            [owner("team-a/orders")].into(),
        ),
    ] {
        let mut o = converged.clone();
        let group = o.route_log_groups.get_mut(ROUTE_GROUPS[1]).unwrap();
        *group = pitagora::observed::ObservedLogGroup {
            retention_days: None,
            tags,
        };
        let p = plan(&d, &o);
        assert!(p.in_sync(), "{case}: {:#?}", p.actions);
    }
}

#[test]
fn deleting_keeps_the_route_log_groups_and_says_so() {
    let (d, o) = routes_converged();
    let p = plan_delete(&d, &o);
    assert!(
        p.actions
            .iter()
            .all(|a| a.kind != ResourceKind::RouteLogGroup),
        "{:#?}",
        p.actions
    );
    for group in ROUTE_GROUPS {
        let filter = p
            .actions
            .iter()
            .find(|a| a.kind == ResourceKind::SubscriptionFilter && a.name == group)
            .expect("the route group's filter is removed");
        assert!(filter.reason.contains("kept"), "{}", filter.reason);
    }
    let stack = p.actions.last().unwrap();
    assert_eq!(stack.kind, ResourceKind::Stack);
    assert!(
        stack.reason.contains(&format!(
            "({}, {}) are kept",
            ROUTE_GROUPS[0], ROUTE_GROUPS[1]
        )),
        "{}",
        stack.reason
    );
}
