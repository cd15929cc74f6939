//! Deleting a pipeline against a real AWS-protocol server (moto), through the real SDK: its
//! filters, subscriptions, notifications, stream and stack go; the bucket (with its objects)
//! and the error log group stay unless `storage.deletionPolicy: Delete`; deleting twice is a
//! no-op; afterwards a check plans the pipeline from scratch.

use crate::common;

use common::faults::{Fault, FaultProxy, Rule, When};
use common::moto::*;
use pitagora::plan::{ConflictKind, Op, Target};
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
            Target::Aws(pitagora::plan::Step::DeleteStack {
                empty_bucket: Some(_),
                ..
            })
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
    // Deleting objects needs the spec's consent, naming the bucket (tests/aws/guard.rs).
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

// ---- reading back what a delete left ---------------------------------------------------------

/// `(kind, name)` of each remaining resource.
fn listed(remaining: &[pitagora::plan::Remaining]) -> Vec<(&str, &str)> {
    let mut listed: Vec<(&str, &str)> = remaining
        .iter()
        .map(|r| (r.kind.as_str(), r.name.as_str()))
        .collect();
    listed.sort();
    listed
}

#[tokio::test]
async fn a_complete_delete_reads_back_only_what_the_spec_keeps() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    let d = m.converged(&spec).await;

    let done = m.deleted(&spec).await;

    let found = done.readback.as_ref().unwrap();
    assert_eq!(found.leftovers, [], "{found:#?}");
    assert_eq!(
        listed(&found.kept),
        [
            ("AWS::S3::Bucket", d.names.bucket.as_str()),
            ("ErrorLogGroup", d.error_log_group.name.as_str()),
        ]
    );
    assert!(done.complete());
}

#[tokio::test]
async fn a_deleted_full_chain_leaves_no_permission_statement_in_the_users_functions() {
    let m = Moto::new().await;
    let (spec, _) = m.full_chain().await;

    let done = m.deleted(&spec).await;

    assert!(done.applied.succeeded(), "{:#?}", done.applied);
    let found = done.readback.as_ref().unwrap();
    assert_eq!(found.leftovers, [], "{found:#?}");
    assert!(done.complete());
}

#[tokio::test]
async fn permission_statements_a_stack_said_deleted_left_in_the_users_functions_are_leftovers() {
    let (_proxy, m) = a_stack_deletion_that_deletes_nothing().await;
    let (spec, _) = m.full_chain().await;

    let done = m.deleted(&spec).await;

    assert!(done.applied.succeeded(), "{:#?}", done.applied);
    let found = done.readback.as_ref().unwrap();
    let permissions: Vec<_> = found
        .leftovers
        .iter()
        .filter(|l| l.kind == "AWS::Lambda::Permission")
        .collect();
    assert_eq!(permissions.len(), 3, "{found:#?}");
    for (function, logical_id) in [
        ("log-enricher", "TransformPermission"),
        ("es-forwarder", "SubscriberEsForwarderPermission"),
        ("slack-notifier", "SubscriberSlackNotifierPermission"),
    ] {
        assert!(
            permissions.iter().any(|l| l
                .name
                .ends_with(&format!(":function:{function} ({logical_id})"))),
            "{function}: {found:#?}"
        );
    }
    assert!(!done.complete());
}

#[tokio::test]
async fn the_routes_log_groups_are_read_back_as_kept_not_as_leftovers() {
    let m = Moto::new().await;
    let spec = m.route_world().await;
    m.converged(&spec).await;

    let done = m.deleted(&spec).await;

    let found = done.readback.as_ref().unwrap();
    assert_eq!(found.leftovers, [], "{found:#?}");
    let routes: Vec<(&str, &str)> = listed(&found.kept)
        .into_iter()
        .filter(|(kind, _)| *kind == "RouteLogGroup")
        .collect();
    assert_eq!(
        routes,
        [
            ("RouteLogGroup", "/ecs/orders"),
            ("RouteLogGroup", "/ecs/payments")
        ]
    );
    assert!(done.complete());
}

#[tokio::test]
async fn a_role_the_stacks_template_retains_by_a_change_outside_pitagora_is_a_leftover_saying_so() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    let d = m.converged(&spec).await;
    // Someone gives the role `DeletionPolicy: Retain` in the stack (moto honours it).
    let mut template = d.stack.template.clone();
    template["Resources"]["DeliveryRole"]["DeletionPolicy"] = "Retain".into();
    m.c.cfn
        .update_stack()
        .stack_name(&d.stack.name)
        .template_body(template.to_string())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();

    let done = m.deleted(&spec).await;

    assert!(done.applied.succeeded(), "{:#?}", done.applied);
    assert!(!stack_exists(&m.c, &d.stack.name).await);
    let found = done.readback.as_ref().unwrap();
    assert_eq!(
        listed(&found.leftovers),
        [("AWS::IAM::Role", d.names.delivery_role.as_str())]
    );
    assert!(
        found.leftovers[0]
            .why
            .contains("the stack's template retains it (DeletionPolicy: Retain)"),
        "{}",
        found.leftovers[0].why
    );
    assert_eq!(
        listed(&found.kept),
        [
            ("AWS::S3::Bucket", d.names.bucket.as_str()),
            ("ErrorLogGroup", d.error_log_group.name.as_str()),
        ]
    );
    assert!(!done.complete());
}

/// A DescribeStacks answer whose stacks all say DELETE_COMPLETE.
fn all_deleted(answer: &str) -> String {
    regex::Regex::new("<StackStatus>[^<]*</StackStatus>")
        .unwrap()
        .replace_all(answer, "<StackStatus>DELETE_COMPLETE</StackStatus>")
        .into_owned()
}

/// moto deletes a stack's resources faithfully, so it cannot show a `DELETE_COMPLETE` stack
/// whose resources stay: the fault proxy makes it so, answering `DeleteStack` without passing it
/// on and, from then on, every stack as `DELETE_COMPLETE`, while moto keeps every resource.
async fn a_stack_deletion_that_deletes_nothing() -> (FaultProxy, Moto) {
    let account = fresh_account();
    let proxy = FaultProxy::start(&endpoint(), &account, 3).await;
    let m = Moto::at(&proxy.endpoint, account, Vec::new(), test_settings()).await;
    proxy.set_rules(vec![
        Rule::new(Fault::Pretend, When::Always)
            .service("cloudformation")
            .operations(&["DeleteStack"]),
    ]);
    proxy.edit_answers_after("DescribeStacks", all_deleted, "DeleteStack");
    (proxy, m)
}

#[tokio::test]
async fn a_stack_said_deleted_whose_resources_stay_is_not_deleted_and_each_leftover_is_named() {
    let (_proxy, m) = a_stack_deletion_that_deletes_nothing().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\nstorage:\n  deletionPolicy: Delete\n");
    let d = m.converged(&spec).await;

    let done = m.deleted(&spec).await;

    // Every call answered as done, the stack's included.
    assert!(done.applied.succeeded(), "{:#?}", done.applied);
    let found = done.readback.as_ref().unwrap();
    assert_eq!(
        listed(&found.leftovers),
        [
            ("AWS::IAM::Role", d.names.delivery_role.as_str()),
            ("AWS::IAM::Role", d.names.logs_role.as_str()),
            ("AWS::S3::Bucket", d.names.bucket.as_str()),
        ]
    );
    for left in &found.leftovers {
        assert!(
            left.why
                .contains("CloudFormation reported the stack deleted, yet it is there"),
            "{left:?}"
        );
    }
    assert_eq!(
        found.kept,
        [],
        "storage.deletionPolicy: Delete keeps nothing"
    );
    assert!(!done.complete());
}

#[tokio::test]
async fn deleting_again_finds_what_the_first_delete_left() {
    let (_proxy, m) = a_stack_deletion_that_deletes_nothing().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    let d = m.converged(&spec).await;
    assert!(!m.deleted(&spec).await.complete());

    let again = m.deleted(&spec).await;

    assert_eq!(again.plan.writes().count(), 0, "{:#?}", again.plan);
    let found = again.readback.as_ref().unwrap();
    assert_eq!(
        listed(&found.leftovers),
        [
            ("AWS::IAM::Role", d.names.delivery_role.as_str()),
            ("AWS::IAM::Role", d.names.logs_role.as_str()),
        ]
    );
    assert!(!again.complete());
}
