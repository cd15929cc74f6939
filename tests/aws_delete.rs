//! Deleting a pipeline against a real AWS-protocol server (moto), through the real SDK: its
//! filters, subscriptions, notifications, stream and stack go; the bucket (with its objects)
//! and the error log group stay unless `storage.deletionPolicy: Delete`; deleting twice is a
//! no-op; afterwards a check plans the pipeline from scratch.

mod common;

use common::moto::*;
use pitagora::plan::{ConflictKind, Op};
use pitagora::resources::ResourceKind;
use pitagora::spec::{Acknowledge, DeletionPolicy, LogPipelineSpec};

/// The full chain with `storage.deletionPolicy: Delete`, converged.
async fn full_chain_deleting_storage(m: &Moto) -> (LogPipelineSpec, pitagora::desired::Desired) {
    m.log_groups(&["/ecs/orders", "/ecs/payments", "/other/app"])
        .await;
    m.lambda_functions(FULL_CHAIN_FUNCTIONS).await;
    let mut spec = m.spec(FULL_CHAIN);
    spec.storage.deletion_policy = DeletionPolicy::Delete;
    let d = m.converged(&spec).await;
    (spec, d)
}

#[tokio::test]
async fn delete_removes_filters_subscriptions_our_notifications_the_stream_and_the_stack() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let topic = d.topic.as_ref().unwrap().arn.clone();

    let before = m.calls();
    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(
        m.writes_since(&before),
        ops(&[
            ("CloudFormation.DeleteStack", 1),
            // The canary group goes, with its filter, whatever the deletion policy.
            ("CloudWatchLogs.DeleteLogGroup", 1),
            ("CloudWatchLogs.DeleteSubscriptionFilter", 3),
            ("Firehose.DeleteDeliveryStream", 1),
            ("S3.PutBucketNotificationConfiguration", 1),
            ("SNS.Unsubscribe", 2),
        ])
    );
    for group in ["/ecs/orders", "/ecs/payments", "/other/app"] {
        assert_eq!(filters_on(&m.c, group).await, [], "{group}");
    }
    assert!(!stream_exists(&m.c, &d.stream.name).await);
    assert!(!stack_exists(&m.c, &d.stack.name).await);
    assert_eq!(
        lambda_subscribers(&m.c, &topic).await,
        None,
        "topic deleted"
    );
    assert_eq!(
        notification_ids(&m.c, &d.names.bucket).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn by_default_the_bucket_is_retained_with_its_objects_and_its_lifecycle() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    put_object(&m.c, &d.names.bucket, "raw/2026/11/27/10/a", "a log line").await;
    put_object(
        &m.c,
        &d.names.bucket,
        "processed/2026/11/27/10/a",
        "enriched",
    )
    .await;

    let (plan, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    assert!(
        plan.actions.iter().all(|a| !matches!(
            a.step,
            pitagora::plan::Step::DeleteStack {
                empty_bucket: Some(_),
                ..
            }
        )),
        "{plan:#?}"
    );
    assert!(bucket_exists(&m.c, &d.names.bucket).await);
    assert_eq!(
        object_keys(&m.c, &d.names.bucket, "").await,
        ["processed/2026/11/27/10/a", "raw/2026/11/27/10/a"]
    );
    assert_eq!(
        lifecycle_rules(&m.c, &d.names.bucket).await,
        [(d.names.lifecycle_rule_id.clone(), Some(400))]
    );
}

#[tokio::test]
async fn by_default_the_error_log_group_is_retained() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    assert!(log_group_exists(&m.c, &d.error_log_group.name).await);

    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    assert!(log_group_exists(&m.c, &d.error_log_group.name).await);
}

#[tokio::test]
async fn with_deletion_policy_delete_the_error_log_group_is_deleted() {
    let m = Moto::new().await;
    let (spec, d) = full_chain_deleting_storage(&m).await;
    assert!(log_group_exists(&m.c, &d.error_log_group.name).await);

    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    assert!(!log_group_exists(&m.c, &d.error_log_group.name).await);
}

#[tokio::test]
async fn with_deletion_policy_delete_a_bucket_with_objects_is_emptied_and_deleted() {
    let m = Moto::new().await;
    let (spec, d) = full_chain_deleting_storage(&m).await;
    for key in ["raw/2026/11/27/10/a", "raw/2026/11/27/10/b", "errors/x"] {
        put_object(&m.c, &d.names.bucket, key, "a log line").await;
    }
    // Deleting objects needs the spec's consent, naming the bucket (tests/aws_guard.rs).
    let mut spec = spec;
    spec.acknowledge = Some(Acknowledge {
        delete_objects: Some(d.names.bucket.clone()),
        ..Acknowledge::default()
    });

    let before = m.calls();
    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    let writes = m.writes_since(&before);
    assert_eq!(writes.get("S3.DeleteObjects"), Some(&1), "{writes:?}");
    assert_eq!(
        writes.get("CloudFormation.DeleteStack"),
        Some(&1),
        "{writes:?}"
    );
    assert!(!bucket_exists(&m.c, &d.names.bucket).await);
}

#[tokio::test]
async fn deleting_an_already_deleted_pipeline_is_a_no_op() {
    let m = Moto::new().await;
    let (spec, _) = m.full_chain().await;
    let (_, first) = m.delete(&spec).await;
    assert!(first.succeeded(), "{first:#?}");

    let before = m.calls();
    let (plan, second) = m.delete(&spec).await;
    assert!(plan.actions.is_empty(), "{plan:#?}");
    assert!(second.outcomes.is_empty(), "{second:#?}");
    assert_eq!(m.writes_since(&before), ops(&[]));
}

#[tokio::test]
async fn after_delete_with_deletion_policy_delete_check_plans_every_creation_again() {
    let m = Moto::new().await;
    let (spec, d) = full_chain_deleting_storage(&m).await;
    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");

    let check = m.check(&spec).await;
    let canary = d.canary_log_group.as_ref().unwrap().name.clone();
    assert!(
        check.plan.actions.iter().all(|a| a.op == Op::Create),
        "{:#?}",
        check.plan
    );
    assert_eq!(
        actions(&check.plan),
        [
            (Op::Create, ResourceKind::Stack, d.stack.name.clone()),
            (
                Op::Create,
                ResourceKind::ErrorLogGroup,
                d.error_log_group.name.clone()
            ),
            (Op::Create, ResourceKind::CanaryLogGroup, canary.clone()),
            (
                Op::Create,
                ResourceKind::DeliveryStream,
                d.stream.name.clone()
            ),
            (
                Op::Create,
                ResourceKind::BucketNotification,
                d.names.bucket.clone()
            ),
            (
                Op::Create,
                ResourceKind::BucketLifecycle,
                d.names.bucket.clone()
            ),
            (
                Op::Create,
                ResourceKind::TopicSubscription,
                "es-forwarder".to_owned()
            ),
            (
                Op::Create,
                ResourceKind::TopicSubscription,
                "slack-notifier".to_owned()
            ),
            (
                Op::Create,
                ResourceKind::SubscriptionFilter,
                "/ecs/orders".to_owned()
            ),
            (
                Op::Create,
                ResourceKind::SubscriptionFilter,
                "/ecs/payments".to_owned()
            ),
            (Op::Create, ResourceKind::SubscriptionFilter, canary),
        ]
    );
}

#[tokio::test]
async fn after_delete_with_the_bucket_retained_check_reports_the_retained_bucket() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");

    let check = m.check(&spec).await;
    let conflicts: Vec<(ResourceKind, &str)> = check
        .plan
        .conflicts()
        .map(|a| (a.kind, a.name.as_str()))
        .collect();
    assert_eq!(conflicts, [(ResourceKind::Stack, d.stack.name.as_str())]);
    let conflict = check.plan.conflicts().next().unwrap();
    // The bucket carries the pipeline's owner tag: it is its own, to import.
    assert_eq!(conflict.conflict(), Some(ConflictKind::OrphanedBucket));
    assert!(
        conflict.reason.contains(&d.names.bucket),
        "{}",
        conflict.reason
    );
    assert!(conflict.reason.contains("import"), "{}", conflict.reason);
}

/// The statement ids in `function`'s resource policy (none without a policy).
async fn statement_ids(m: &Moto, function: &str) -> Vec<String> {
    let Ok(out) = m.c.lambda.get_policy().function_name(function).send().await else {
        return Vec::new();
    };
    let doc: serde_json::Value = serde_json::from_str(out.policy().unwrap_or("{}")).unwrap();
    doc["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["Sid"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn delete_removes_the_permission_statements_pitagora_restored_and_keeps_the_function() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let function = spec.transform.as_ref().unwrap().lambda_arn.clone();
    for sid in statement_ids(&m, &function).await {
        m.c.lambda
            .remove_permission()
            .function_name(&function)
            .statement_id(sid)
            .send()
            .await
            .unwrap();
    }
    correct(&m, &spec).await;
    let ours = pitagora::desired::statement_id(&d.stack.name, "TransformPermission");
    assert_eq!(
        statement_ids(&m, &function).await,
        std::slice::from_ref(&ours)
    );

    let before = m.calls();
    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(m.writes_since(&before)["Lambda.RemovePermission"], 1);
    assert!(!statement_ids(&m, &function).await.contains(&ours));
    let still_there = m.c.lambda.get_function().function_name(&function).send();
    assert!(still_there.await.is_ok(), "the function is the user's");
}

#[tokio::test]
async fn delete_keeps_the_routes_log_groups_and_says_so() {
    let m = Moto::new().await;
    let spec = m.route_world().await;
    let d = m.converged(&spec).await;

    let before = m.calls();
    let (plan, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    // Only the canary group goes.
    let canary = usize::from(d.canary_log_group.is_some()) as u64;
    assert_eq!(
        m.writes_since(&before)
            .get("CloudWatchLogs.DeleteLogGroup")
            .copied()
            .unwrap_or(0),
        canary
    );
    for group in ["/ecs/payments", "/ecs/orders"] {
        assert!(log_group_exists(&m.c, group).await, "{group}");
        assert_eq!(filters_on(&m.c, group).await, [], "{group}");
    }
    let stack = plan
        .actions
        .iter()
        .find(|a| a.kind == ResourceKind::Stack)
        .expect("the stack is deleted");
    assert!(
        stack
            .reason
            .contains("log groups (/ecs/orders, /ecs/payments) are kept"),
        "{}",
        stack.reason
    );
}
