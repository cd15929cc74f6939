//! Drift against a real AWS-protocol server (moto), through the real SDK. With the full chain
//! converged, each change made out of band through the AWS API is (a) reported by `check`, naming
//! the changed field, without a single write, and (b) corrected by `converge` with exactly the
//! writes it needs, after which AWS matches the spec again. [`CASES`] states these as rows
//! (common::out_of_band runs them); the tests below them are the changes that are not drift, the
//! deleted stack, and the policies that write nothing.

use crate::common;

use aws_sdk_firehose::types as fh;
use common::moto::*;
use common::out_of_band::{Case, Changes::*, Given::*, Value::*, at, run_all};
use pitagora::desired::Desired;
use pitagora::plan::Op;
use pitagora::resources::ResourceKind::{self, *};
use pitagora::spec::{DeletionPolicy, DriftPolicy};

/// Every row in its own account, all at once; a failure names its row.
#[tokio::test]
async fn each_change_made_by_hand_is_reported_at_its_field_and_corrected_by_its_writes() {
    run_all(CASES).await;
}

const CASES: &[Case] = &[
    Case {
        name: "changed buffering size is reported and restored by one update destination",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let o = m.outsider().await;
                update_stream_destination(&o, &d.stream.name, |u| {
                    u.buffering_hints(
                        fh::BufferingHints::builder()
                            .size_in_mbs(64)
                            .interval_in_seconds(60)
                            .build(),
                    )
                })
                .await;
                None
            })
        },
        action: (Op::Update, DeliveryStream, "{stream}"),
        changes: Exactly(&[at("BufferingHints.SizeInMBs", Is("16"), Is("64"))]),
        writes: &[("Firehose.UpdateDestination", 1)],
        then: Some(|m, d| {
            Box::pin(async move {
                assert_eq!(stream_buffer_size(&m.c, &d.stream.name).await, Some(16));
            })
        }),
    },
    Case {
        name: "removed processors are reported as processing disabled and restored",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let o = m.outsider().await;
                update_stream_destination(&o, &d.stream.name, |u| {
                    u.processing_configuration(
                        fh::ProcessingConfiguration::builder()
                            .enabled(false)
                            .set_processors(Some(Vec::new()))
                            .build(),
                    )
                })
                .await;
                None
            })
        },
        action: (Op::Update, DeliveryStream, "{stream}"),
        changes: Exactly(&[at(
            "ProcessingConfiguration.Enabled",
            Is("true"),
            Is("false"),
        )]),
        writes: &[("Firehose.UpdateDestination", 1)],
        then: None,
    },
    Case {
        name: "one removed processor is reported as the processor list and restored",
        given: FullChain,
        perturb: |m, d| Box::pin(remove_delimiter_processor(m, d)),
        action: (Op::Update, DeliveryStream, "{stream}"),
        changes: Exactly(&[at("ProcessingConfiguration.Processors", Any, Any)]),
        writes: &[("Firehose.UpdateDestination", 1)],
        then: None,
    },
    Case {
        name: "changed compression is reported and restored",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let o = m.outsider().await;
                update_stream_destination(&o, &d.stream.name, |u| {
                    u.compression_format(fh::CompressionFormat::Uncompressed)
                })
                .await;
                None
            })
        },
        action: (Op::Update, DeliveryStream, "{stream}"),
        changes: Exactly(&[at("CompressionFormat", Is("GZIP"), Is("UNCOMPRESSED"))]),
        writes: &[("Firehose.UpdateDestination", 1)],
        then: None,
    },
    Case {
        name: "a deleted stream is reported and created again with its tags",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let firehose = m.outsider().await.firehose;
                let deleted = firehose.delete_delivery_stream();
                let deleted = deleted.delivery_stream_name(&d.stream.name);
                deleted.send().await.unwrap();
                None
            })
        },
        action: (Op::Create, DeliveryStream, "{stream}"),
        changes: Unexamined,
        // The filters still point at the stream's ARN, which the new stream has again.
        writes: &[("Firehose.CreateDeliveryStream", 1)],
        then: Some(|m, d| {
            Box::pin(async move {
                assert_eq!(stream_tags(&m.c, &d.stream.name).await, d.stream.tags);
            })
        }),
    },
    Case {
        name: "a deleted filter is reported on its group and put once",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let logs = m.outsider().await.logs;
                let deleted = logs
                    .delete_subscription_filter()
                    .log_group_name("/ecs/orders");
                deleted.filter_name(&d.names.filter).send().await.unwrap();
                None
            })
        },
        action: (Op::Create, SubscriptionFilter, "/ecs/orders"),
        changes: Exactly(&[at("filterName", Is("{filter}"), Absent)]),
        writes: &[("CloudWatchLogs.PutSubscriptionFilter", 1)],
        then: Some(|m, d| Box::pin(orders_filter_is_pitagoras(m, d))),
    },
    Case {
        name: "a changed filter pattern is reported and put again",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let f = &d.filters.filter;
                let o = m.outsider().await;
                let (role, to) = (f.role_arn.as_deref(), &f.destination_arn);
                put_filter(&o, "/ecs/payments", &f.name, "ERROR", to, role).await;
                None
            })
        },
        action: (Op::Update, SubscriptionFilter, "/ecs/payments"),
        changes: Exactly(&[at("filterPattern", Is(""), Is("ERROR"))]),
        writes: &[("CloudWatchLogs.PutSubscriptionFilter", 1)],
        then: None,
    },
    Case {
        name: "a changed filter destination is reported and put again",
        given: FullChain,
        perturb: |m, d| Box::pin(send_orders_elsewhere(m, d)),
        action: (Op::Update, SubscriptionFilter, "/ecs/orders"),
        changes: Exactly(&[at("destinationArn", Is("{stream_arn}"), Is("{by_hand}"))]),
        writes: &[("CloudWatchLogs.PutSubscriptionFilter", 1)],
        then: Some(|m, d| Box::pin(orders_filter_is_pitagoras(m, d))),
    },
    Case {
        name: "a removed notification is reported by its id and put back",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let transform = d.names.transform_notification_id.as_str();
                let o = m.outsider().await;
                set_notifications(&o, &d.names.bucket, &[transform], None).await;
                None
            })
        },
        action: (Op::Update, BucketNotification, "{bucket}"),
        changes: Exactly(&[at(
            "NotificationConfiguration[{fanout_notification}]",
            Any,
            Absent,
        )]),
        writes: &[("S3.PutBucketNotificationConfiguration", 1)],
        then: Some(|m, d| {
            Box::pin(async move {
                let names = &d.names;
                let mut ours = vec![
                    names.transform_notification_id.clone(),
                    names.fanout_notification_id.clone(),
                ];
                ours.sort();
                assert_eq!(notification_ids(&m.c, &names.bucket).await, ours);
            })
        }),
    },
    Case {
        name: "a removed subscription is reported by subscriber and subscribed again",
        given: FullChain,
        perturb: |m, d| {
            Box::pin(async move {
                let topic = &d.topic.as_ref().unwrap().arn;
                let o = m.outsider().await;
                let arn = subscription_arn(&o, topic, &es_forwarder(m)).await;
                o.sns
                    .unsubscribe()
                    .subscription_arn(arn)
                    .send()
                    .await
                    .unwrap();
                None
            })
        },
        action: (Op::Create, TopicSubscription, "es-forwarder"),
        changes: Exactly(&[at(
            "Endpoint",
            Is("arn:aws:lambda:eu-west-1:{account}:function:es-forwarder"),
            Absent,
        )]),
        writes: &[("SNS.Subscribe", 1)],
        then: Some(|m, d| {
            Box::pin(async move {
                let topic = &d.topic.as_ref().unwrap().arn;
                let subscribers = lambda_subscribers(&m.c, topic).await.unwrap();
                assert!(subscribers.contains(&es_forwarder(m)), "{subscribers:?}");
            })
        }),
    },
    Case {
        name: "a changed lifecycle expiration is reported by rule id and restored",
        given: FullChain,
        perturb: |m, d| Box::pin(expire_after_365_days(m, d)),
        action: (Op::Update, BucketLifecycle, "{bucket}"),
        changes: Exactly(&[at(
            "Rules[{lifecycle_rule}].Expiration.Days",
            Is("400"),
            Is("365"),
        )]),
        writes: &[("S3.PutBucketLifecycleConfiguration", 1)],
        then: Some(|m, d| {
            Box::pin(async move {
                let rule = d.names.lifecycle_rule_id.clone();
                let rules = lifecycle_rules(&m.c, &d.names.bucket).await;
                assert_eq!(rules, [(rule, Some(400))]);
            })
        }),
    },
    Case {
        name: "a retention changed by hand on a route log group pitagora created is drift and corrected",
        given: Routes,
        perturb: |m, _| {
            Box::pin(async move {
                let logs = m.outsider().await.logs;
                let put = logs.put_retention_policy().log_group_name("/ecs/payments");
                put.retention_in_days(3653).send().await.unwrap();
                None
            })
        },
        action: (Op::Update, RouteLogGroup, "/ecs/payments"),
        changes: Exactly(&[at("retentionInDays", Is("14"), Is("3653"))]),
        writes: &[("CloudWatchLogs.PutRetentionPolicy", 1)],
        then: Some(|m, _| {
            Box::pin(async move {
                let retention = retention_and_tags(&m.c.logs, "/ecs/payments").await.0;
                assert_eq!(retention, Some(14));
            })
        }),
    },
];

async fn remove_delimiter_processor(m: &Moto, d: &Desired) -> Option<String> {
    update_stream_destination(&m.outsider().await, &d.stream.name, |u| {
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
    None
}

/// Points the `/ecs/orders` filter at someone else's stream; that stream's ARN.
async fn send_orders_elsewhere(m: &Moto, d: &Desired) -> Option<String> {
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
    Some(elsewhere)
}

/// Our lifecycle rule as the spec has it (transition to GLACIER_IR after 30 days), but expiring
/// after 365 days instead of 400.
async fn expire_after_365_days(m: &Moto, d: &Desired) -> Option<String> {
    use aws_sdk_s3::types as s3;
    let changed = s3::LifecycleRule::builder()
        .id(&d.names.lifecycle_rule_id)
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
    None
}

/// `/ecs/orders` has pitagora's filter, to pitagora's stream, and no other.
async fn orders_filter_is_pitagoras(m: &Moto, d: &Desired) {
    assert_eq!(
        filters_on(&m.c, "/ecs/orders").await,
        [(d.filters.filter.name.clone(), d.stream.arn.clone())]
    );
}

/// The fan-out's `es-forwarder` function in [`FULL_CHAIN`].
fn es_forwarder(m: &Moto) -> String {
    format!(
        "arn:aws:lambda:{REGION}:{}:function:es-forwarder",
        m.account
    )
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
