//! Drift against a real AWS-protocol server (moto), through the real SDK. With the full chain
//! converged, each change made out of band through the AWS API is (a) reported by `check`, naming
//! the changed field, without a single write, and (b) corrected by `converge` with exactly the
//! writes it needs, after which AWS matches the spec again.

use crate::common;

use aws_sdk_firehose::types as fh;
use common::moto::*;
use pitagora::plan::Op;
use pitagora::resources::ResourceKind;
use pitagora::spec::{DeletionPolicy, DriftPolicy};

#[tokio::test]
async fn changed_buffering_size_is_reported_and_restored_by_one_update_destination() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    update_stream_destination(&m.outsider().await, &d.stream.name, |u| {
        u.buffering_hints(
            fh::BufferingHints::builder()
                .size_in_mbs(64)
                .interval_in_seconds(60)
                .build(),
        )
    })
    .await;

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (
            Op::Update,
            ResourceKind::DeliveryStream,
            d.stream.name.as_str()
        )
    );
    assert_eq!(changed_fields(a), ["BufferingHints.SizeInMBs"]);
    assert_eq!(a.changes[0].desired.as_deref(), Some("16"));
    assert_eq!(a.changes[0].actual.as_deref(), Some("64"));

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("Firehose.UpdateDestination", 1)])
    );
    assert_eq!(stream_buffer_size(&m.c, &d.stream.name).await, Some(16));
}

#[tokio::test]
async fn removed_processors_are_reported_as_processing_disabled_and_restored() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    update_stream_destination(&m.outsider().await, &d.stream.name, |u| {
        u.processing_configuration(
            fh::ProcessingConfiguration::builder()
                .enabled(false)
                .set_processors(Some(Vec::new()))
                .build(),
        )
    })
    .await;

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!((a.op, a.kind), (Op::Update, ResourceKind::DeliveryStream));
    assert_eq!(changed_fields(a), ["ProcessingConfiguration.Enabled"]);

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("Firehose.UpdateDestination", 1)])
    );
}

#[tokio::test]
async fn one_removed_processor_is_reported_as_the_processor_list_and_restored() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let outsider = m.outsider().await;
    update_stream_destination(&outsider, &d.stream.name, |u| {
        let mut processing = u.get_processing_configuration().clone().unwrap();
        processing
            .processors
            .as_mut()
            .unwrap()
            .retain(|p| p.r#type() != &fh::ProcessorType::AppendDelimiterToRecord);
        assert_eq!(processing.processors().len(), 2, "one processor removed");
        u.processing_configuration(processing)
    })
    .await;

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!((a.op, a.kind), (Op::Update, ResourceKind::DeliveryStream));
    assert_eq!(changed_fields(a), ["ProcessingConfiguration.Processors"]);

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("Firehose.UpdateDestination", 1)])
    );
}

#[tokio::test]
async fn changed_compression_is_reported_and_restored() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    update_stream_destination(&m.outsider().await, &d.stream.name, |u| {
        u.compression_format(fh::CompressionFormat::Uncompressed)
    })
    .await;

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!((a.op, a.kind), (Op::Update, ResourceKind::DeliveryStream));
    assert_eq!(changed_fields(a), ["CompressionFormat"]);
    assert_eq!(a.changes[0].desired.as_deref(), Some("GZIP"));
    assert_eq!(a.changes[0].actual.as_deref(), Some("UNCOMPRESSED"));

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("Firehose.UpdateDestination", 1)])
    );
}

#[tokio::test]
async fn a_deleted_stream_is_reported_and_created_again() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    m.outsider()
        .await
        .firehose
        .delete_delivery_stream()
        .delivery_stream_name(&d.stream.name)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    assert_eq!(
        actions(&plan),
        [(
            Op::Create,
            ResourceKind::DeliveryStream,
            d.stream.name.clone()
        )]
    );

    // The filters still point at the stream's ARN, which the new stream has again.
    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("Firehose.CreateDeliveryStream", 1)])
    );
    assert_eq!(stream_tags(&m.c, &d.stream.name).await, d.stream.tags);
}

#[tokio::test]
async fn a_deleted_filter_is_reported_on_its_group_and_put_once() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    m.outsider()
        .await
        .logs
        .delete_subscription_filter()
        .log_group_name("/ecs/orders")
        .filter_name(&d.names.filter)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (Op::Create, ResourceKind::SubscriptionFilter, "/ecs/orders")
    );
    assert_eq!(changed_fields(a), ["filterName"]);

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("CloudWatchLogs.PutSubscriptionFilter", 1)])
    );
    assert_eq!(
        filters_on(&m.c, "/ecs/orders").await,
        [(d.names.filter.clone(), d.stream.arn.clone())]
    );
}

#[tokio::test]
async fn a_changed_filter_pattern_is_reported_and_put_again() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let f = &d.filters.filter;
    put_filter(
        &m.outsider().await,
        "/ecs/payments",
        &f.name,
        "ERROR",
        &f.destination_arn,
        f.role_arn.as_deref(),
    )
    .await;

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (
            Op::Update,
            ResourceKind::SubscriptionFilter,
            "/ecs/payments"
        )
    );
    assert_eq!(changed_fields(a), ["filterPattern"]);
    assert_eq!(a.changes[0].desired.as_deref(), Some(""));
    assert_eq!(a.changes[0].actual.as_deref(), Some("ERROR"));

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("CloudWatchLogs.PutSubscriptionFilter", 1)])
    );
}

#[tokio::test]
async fn a_changed_filter_destination_is_reported_and_put_again() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let outsider = m.outsider().await;
    create_stream(
        &outsider,
        &m.account,
        "someone-elses-stream",
        "arn:aws:s3:::someone-elses-bucket",
        &[],
    )
    .await;
    let elsewhere = format!(
        "arn:aws:firehose:{REGION}:{}:deliverystream/someone-elses-stream",
        m.account
    );
    let f = &d.filters.filter;
    put_filter(
        &outsider,
        "/ecs/orders",
        &f.name,
        &f.pattern,
        &elsewhere,
        f.role_arn.as_deref(),
    )
    .await;

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (Op::Update, ResourceKind::SubscriptionFilter, "/ecs/orders")
    );
    assert_eq!(changed_fields(a), ["destinationArn"]);
    assert_eq!(a.changes[0].actual.as_deref(), Some(elsewhere.as_str()));

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("CloudWatchLogs.PutSubscriptionFilter", 1)])
    );
    assert_eq!(
        filters_on(&m.c, "/ecs/orders").await,
        [(f.name.clone(), d.stream.arn.clone())]
    );
}

#[tokio::test]
async fn a_removed_notification_is_reported_by_its_id_and_put_back() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let (transform, fanout) = (
        &d.names.transform_notification_id,
        &d.names.fanout_notification_id,
    );
    set_notifications(&m.outsider().await, &d.names.bucket, &[transform], None).await;

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (
            Op::Update,
            ResourceKind::BucketNotification,
            d.names.bucket.as_str()
        )
    );
    assert_eq!(
        changed_fields(a),
        [format!("NotificationConfiguration[{fanout}]")]
    );

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("S3.PutBucketNotificationConfiguration", 1)])
    );
    let mut ours = vec![transform.clone(), fanout.clone()];
    ours.sort();
    assert_eq!(notification_ids(&m.c, &d.names.bucket).await, ours);
}

#[tokio::test]
async fn a_foreign_notification_is_not_drift_and_converge_leaves_it_in_place() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let (transform, fanout) = (
        &d.names.transform_notification_id,
        &d.names.fanout_notification_id,
    );
    let queue = format!("arn:aws:sqs:{REGION}:{}:audit", m.account);
    set_notifications(
        &m.outsider().await,
        &d.names.bucket,
        &[transform, fanout],
        Some(("audit-export", &queue, "exports/")),
    )
    .await;

    let plan = check_reads_only(&m, &spec).await;
    assert!(plan.in_sync(), "{:#?}", plan);

    assert_eq!(correct(&m, &spec).await, ops(&[]));
    assert!(
        notification_ids(&m.c, &d.names.bucket)
            .await
            .contains(&"audit-export".to_owned())
    );
}

#[tokio::test]
async fn a_removed_subscription_is_reported_by_subscriber_and_subscribed_again() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let topic = &d.topic.as_ref().unwrap().arn;
    let es = format!(
        "arn:aws:lambda:{REGION}:{}:function:es-forwarder",
        m.account
    );
    let outsider = m.outsider().await;
    let arn = subscription_arn(&outsider, topic, &es).await;
    outsider
        .sns
        .unsubscribe()
        .subscription_arn(arn)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (Op::Create, ResourceKind::TopicSubscription, "es-forwarder")
    );
    assert_eq!(changed_fields(a), ["Endpoint"]);
    assert_eq!(a.changes[0].desired.as_deref(), Some(es.as_str()));

    assert_eq!(correct(&m, &spec).await, ops(&[("SNS.Subscribe", 1)]));
    assert!(lambda_subscribers(&m.c, topic).await.unwrap().contains(&es));
}

#[tokio::test]
async fn a_changed_lifecycle_expiration_is_reported_by_rule_id_and_restored() {
    use aws_sdk_s3::types as s3;
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let rule = &d.names.lifecycle_rule_id;
    // Our rule as the spec has it (transition to GLACIER_IR after 30 days), but expiring after
    // 365 days instead of 400.
    let changed = s3::LifecycleRule::builder()
        .id(rule)
        .filter(s3::LifecycleRuleFilter::builder().prefix("").build())
        .status(s3::ExpirationStatus::Enabled)
        .expiration(s3::LifecycleExpiration::builder().days(365).build())
        .transitions(
            s3::Transition::builder()
                .days(30)
                .storage_class(s3::TransitionStorageClass::GlacierIr)
                .build(),
        )
        .build()
        .unwrap();
    m.outsider()
        .await
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(&d.names.bucket)
        .lifecycle_configuration(
            s3::BucketLifecycleConfiguration::builder()
                .rules(changed)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (
            Op::Update,
            ResourceKind::BucketLifecycle,
            d.names.bucket.as_str()
        )
    );
    assert_eq!(
        changed_fields(a),
        [format!("Rules[{rule}].Expiration.Days")]
    );
    assert_eq!(a.changes[0].desired.as_deref(), Some("400"));
    assert_eq!(a.changes[0].actual.as_deref(), Some("365"));

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("S3.PutBucketLifecycleConfiguration", 1)])
    );
    assert_eq!(
        lifecycle_rules(&m.c, &d.names.bucket).await,
        [(rule.clone(), Some(400))]
    );
}

#[tokio::test]
async fn a_deleted_stack_with_its_bucket_retained_is_a_conflict_and_nothing_is_written() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    put_object(
        &m.c,
        &d.names.bucket,
        "raw/2026/11/27/00/kept",
        "a log line",
    )
    .await;
    m.outsider()
        .await
        .cfn
        .delete_stack()
        .stack_name(&d.stack.name)
        .send()
        .await
        .unwrap();
    // moto deletes the stack's resources at once and keeps the bucket (DeletionPolicy: Retain).
    assert!(!stack_exists(&m.c, &d.stack.name).await);
    assert!(bucket_exists(&m.c, &d.names.bucket).await);

    // CloudFormation cannot create a bucket that exists, so the stack cannot simply be created
    // again: a human decides (import the bucket, or move its objects and delete it). Nothing
    // that depends on the stack (the topic's subscriptions) is attempted meanwhile.
    let plan = check_reads_only(&m, &spec).await;
    assert_eq!(
        actions(&plan),
        [(Op::Conflict, ResourceKind::Stack, d.stack.name.clone())]
    );
    let reason = &plan.actions[0].reason;
    assert!(reason.contains(&d.names.bucket), "{reason}");
    assert!(reason.contains("import"), "{reason}");

    let before = m.calls();
    let done = m.converge(&spec).await;
    assert_eq!(m.writes_since(&before), ops(&[]));
    assert_eq!(
        done.remaining.conflicts().count(),
        1,
        "{:#?}",
        done.remaining
    );
    assert_eq!(
        object_keys(&m.c, &d.names.bucket, "raw/").await,
        ["raw/2026/11/27/00/kept"]
    );
}

#[tokio::test]
async fn a_deleted_stack_whose_bucket_went_with_it_is_created_again_with_the_bucket_setup() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders", "/ecs/payments", "/other/app"])
        .await;
    m.lambda_functions(FULL_CHAIN_FUNCTIONS).await;
    let mut spec = m.spec(FULL_CHAIN);
    spec.storage.deletion_policy = DeletionPolicy::Delete;
    let d = m.converged(&spec).await;
    m.outsider()
        .await
        .cfn
        .delete_stack()
        .stack_name(&d.stack.name)
        .send()
        .await
        .unwrap();
    assert!(!bucket_exists(&m.c, &d.names.bucket).await);

    let plan = check_reads_only(&m, &spec).await;
    let kinds: Vec<(Op, ResourceKind)> = plan.actions.iter().map(|a| (a.op, a.kind)).collect();
    assert_eq!(
        kinds,
        [
            (Op::Create, ResourceKind::Stack),
            (Op::Create, ResourceKind::BucketNotification),
            (Op::Create, ResourceKind::BucketLifecycle),
            (Op::Create, ResourceKind::TopicSubscription),
            (Op::Create, ResourceKind::TopicSubscription),
        ]
    );

    // The stack is created bucket first: the bucket alone, then the rest as an update.
    let mut expected = vec![
        ("CloudFormation.CreateStack", 1),
        ("CloudFormation.UpdateStack", 1),
        ("S3.PutBucketLifecycleConfiguration", 1),
        ("S3.PutBucketNotificationConfiguration", 1),
        ("SNS.Subscribe", 2),
    ];
    expected.extend(moto_stack_corrections(true));
    assert_eq!(correct(&m, &spec).await, ops(&expected));
}

#[tokio::test]
async fn a_second_converge_after_convergence_makes_no_write() {
    let m = Moto::new().await;
    let (spec, _) = m.full_chain().await;
    let before = m.calls();
    let done = m.converge(&spec).await;
    assert!(done.initial.in_sync(), "{:#?}", done.initial);
    assert!(done.passes.is_empty(), "{:#?}", done.passes);
    assert_eq!(m.writes_since(&before), ops(&[]));
}

#[tokio::test]
async fn report_policy_never_writes_even_with_drift_present() {
    let m = Moto::new().await;
    let (mut spec, d) = m.full_chain().await;
    update_stream_destination(&m.outsider().await, &d.stream.name, |u| {
        u.compression_format(fh::CompressionFormat::Uncompressed)
    })
    .await;
    spec.drift.policy = DriftPolicy::Report;

    let before = m.calls();
    let done = m.converge(&spec).await;
    assert_eq!(m.writes_since(&before), ops(&[]));
    assert_eq!(m.calls().writes(), before.writes());
    assert!(done.initial.report_only);
    assert!(done.passes.is_empty(), "{:#?}", done.passes);
    let a = only_action(&done.remaining);
    assert_eq!((a.op, a.kind), (Op::Update, ResourceKind::DeliveryStream));
    assert_eq!(changed_fields(a), ["CompressionFormat"]);
}

#[tokio::test]
async fn a_retention_changed_by_hand_on_a_route_log_group_pitagora_created_is_drift_and_corrected()
{
    let m = Moto::new().await;
    let spec = m.route_world().await;
    m.converged(&spec).await;
    m.outsider()
        .await
        .logs
        .put_retention_policy()
        .log_group_name("/ecs/payments")
        .retention_in_days(3653)
        .send()
        .await
        .unwrap();

    let plan = check_reads_only(&m, &spec).await;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (Op::Update, ResourceKind::RouteLogGroup, "/ecs/payments")
    );
    assert_eq!(changed_fields(a), ["retentionInDays"]);

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("CloudWatchLogs.PutRetentionPolicy", 1)])
    );
    assert_eq!(
        retention_and_tags(&m.c.logs, "/ecs/payments").await.0,
        Some(14)
    );
}

#[tokio::test]
async fn a_retention_changed_on_a_routes_log_group_its_team_created_is_no_drift() {
    let m = Moto::new().await;
    let spec = m.route_world().await;
    m.converged(&spec).await;
    m.outsider()
        .await
        .logs
        .put_retention_policy()
        .log_group_name("/ecs/orders")
        .retention_in_days(1)
        .send()
        .await
        .unwrap();

    assert!(check_reads_only(&m, &spec).await.in_sync());
    assert_eq!(
        retention_and_tags(&m.c.logs, "/ecs/orders").await.0,
        Some(1)
    );
}
