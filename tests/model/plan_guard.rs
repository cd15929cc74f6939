//! Which plans would lose logs or delivery, and when the spec's `acknowledge` consents
//! (`plan::guard`, pure; whether a bucket holds objects is asked by the engine: aws_guard.rs).

use crate::common;

use common::*;
use pitagora::desired::Desired;
use pitagora::observed::Observed;
use pitagora::plan::guard::{Loss, change_losses, delete_losses};
use pitagora::plan::{plan, plan_delete};

/// `team-a/orders` converged with its derived bucket, the stack reporting that bucket as its
/// output (as CloudFormation does).
fn converged_with_bucket(d: &Desired) -> Observed {
    let mut o = converged(d, &["/ecs/orders", "/ecs/other"]);
    o.stack
        .as_mut()
        .unwrap()
        .outputs
        .insert("BucketName".into(), d.names.bucket.clone());
    o
}

#[test]
fn a_new_bucket_name_would_leave_the_stacks_bucket_behind() {
    let before = desired(&minimal_spec());
    let o = converged_with_bucket(&before);
    let after = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  bucketName: pitagora-orders-logs-v2\n",
    ));
    let losses = change_losses(&after, &o, &plan(&after, &o));
    assert_eq!(
        losses,
        [Loss::ReplaceBucket {
            old: before.names.bucket.clone(),
            new: "pitagora-orders-logs-v2".into()
        }]
    );
    assert!(losses[0].reason().contains(&format!(
        "spec.acknowledge.replaceBucket: {}",
        before.names.bucket
    )));
}

#[test]
fn acknowledging_the_old_bucket_by_name_consents_and_another_name_does_not() {
    let before = desired(&minimal_spec());
    let o = converged_with_bucket(&before);
    let with_ack = |bucket: &str| {
        desired(&spec(&format!(
            "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  bucketName: pitagora-orders-logs-v2\nacknowledge:\n  replaceBucket: {bucket}\n"
        )))
    };
    let right = with_ack(&before.names.bucket);
    assert_eq!(change_losses(&right, &o, &plan(&right, &o)), []);
    let stale = with_ack("orders-logs-v1");
    assert_eq!(change_losses(&stale, &o, &plan(&stale, &o)).len(), 1);
}

#[test]
fn other_changes_to_the_stack_lose_nothing() {
    let before = desired(&minimal_spec());
    let o = converged_with_bucket(&before);
    let after = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  retentionDays: 30\n",
    ));
    let p = plan(&after, &o);
    assert!(p.writes().next().is_some(), "the change is planned");
    assert_eq!(change_losses(&after, &o, &p), []);
}

#[test]
fn deleting_with_deletion_policy_delete_would_delete_the_objects_unless_acknowledged() {
    let d = desired(&spec(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  deletionPolicy: Delete\n",
    ));
    let o = converged_with_bucket(&d);
    assert_eq!(
        delete_losses(&d, &plan_delete(&d, &o)),
        [Loss::DeleteObjects {
            bucket: d.names.bucket.clone()
        }]
    );
    let acked = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  deletionPolicy: Delete\nacknowledge:\n  deleteObjects: {}\n",
        d.names.bucket
    )));
    assert_eq!(delete_losses(&acked, &plan_delete(&acked, &o)), []);
}

#[test]
fn deleting_a_pipeline_that_retains_its_bucket_loses_nothing() {
    let d = desired(&minimal_spec());
    let o = converged_with_bucket(&d);
    assert_eq!(delete_losses(&d, &plan_delete(&d, &o)), []);
}

#[test]
fn moving_every_source_to_groups_that_do_not_exist_would_stop_delivery() {
    let before = desired(&spec("sources:\n  logGroups: [/ecs/orders]\n"));
    let o = converged_with_bucket(&before);
    let after = desired(&spec("sources:\n  logGroups: [/ecs/typo]\n"));
    let p = plan(&after, &o);
    assert_eq!(change_losses(&after, &o, &p), [Loss::StopDelivery]);
    let acked = desired(&spec(
        "sources:\n  logGroups: [/ecs/typo]\nacknowledge:\n  stopDelivery: true\n",
    ));
    assert_eq!(change_losses(&acked, &o, &plan(&acked, &o)), []);
}

#[test]
fn moving_to_another_existing_group_keeps_delivery() {
    let before = desired(&spec("sources:\n  logGroups: [/ecs/orders]\n"));
    let o = converged_with_bucket(&before);
    let after = desired(&spec("sources:\n  logGroups: [/ecs/other]\n"));
    assert_eq!(change_losses(&after, &o, &plan(&after, &o)), []);
}
