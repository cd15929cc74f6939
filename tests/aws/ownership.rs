//! Ownership against a real AWS-protocol server (moto), through the real SDK: what belongs to
//! someone else — another filter on a source log group, another entry in the bucket's
//! notification configuration, a delivery stream with pitagora's name — is never changed or
//! removed, by apply or by delete; an untagged same-named stream is adopted only when the spec
//! says so.

use crate::common;

use common::moto::*;
use pitagora::names::OWNER_TAG;
use pitagora::plan::{ConflictKind, Op};
use pitagora::resources::ResourceKind;
use pitagora::spec::LogPipelineSpec;
use std::collections::BTreeMap;

/// Every current and future `/ecs/` log group, everything else defaulted.
const ECS_PREFIX: &str = "sources:\n  logGroupPrefixes: [/ecs/]\n";

const FOREIGN_FILTER: &str = "team-b-shipper";
const FOREIGN_STREAM: &str = "team-b-stream";

/// Someone else's delivery stream; its ARN.
async fn foreign_stream(m: &Moto) -> String {
    create_stream(
        &m.outsider().await,
        &m.account,
        FOREIGN_STREAM,
        "arn:aws:s3:::team-b-bucket",
        &[],
    )
    .await;
    format!(
        "arn:aws:firehose:{REGION}:{}:deliverystream/{FOREIGN_STREAM}",
        m.account
    )
}

/// Write operations on Firehose among `writes`.
fn firehose_writes(writes: &BTreeMap<String, u64>) -> Vec<&str> {
    writes
        .keys()
        .map(String::as_str)
        .filter(|op| op.starts_with("Firehose."))
        .collect()
}

/// The ECS-prefix pipeline converged over `/ecs/orders` (which carries a foreign filter) and
/// `/ecs/payments`.
async fn converged_beside_a_foreign_filter(m: &Moto) -> (LogPipelineSpec, String) {
    m.log_groups(&["/ecs/orders", "/ecs/payments"]).await;
    let foreign = foreign_stream(m).await;
    put_filter(
        &m.outsider().await,
        "/ecs/orders",
        FOREIGN_FILTER,
        "",
        &foreign,
        None,
    )
    .await;
    let spec = m.spec(ECS_PREFIX);
    m.converged(&spec).await;
    (spec, foreign)
}

#[tokio::test]
async fn a_foreign_subscription_filter_survives_apply() {
    let m = Moto::new().await;
    let (spec, foreign) = converged_beside_a_foreign_filter(&m).await;
    let d = m.desired_state(&spec).await;
    assert_eq!(
        filters_on(&m.c, "/ecs/orders").await,
        [
            (d.names.filter.clone(), d.stream.arn.clone()),
            (FOREIGN_FILTER.to_owned(), foreign),
        ]
    );
}

#[tokio::test]
async fn a_foreign_subscription_filter_survives_delete() {
    let m = Moto::new().await;
    let (spec, foreign) = converged_beside_a_foreign_filter(&m).await;
    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    assert_eq!(
        filters_on(&m.c, "/ecs/orders").await,
        [(FOREIGN_FILTER.to_owned(), foreign)]
    );
    assert_eq!(filters_on(&m.c, "/ecs/payments").await, []);
}

/// Someone else's queue notification on `exports/`.
fn audit_queue(m: &Moto) -> (String, String, String) {
    (
        "audit-export".to_owned(),
        format!("arn:aws:sqs:{REGION}:{}:audit", m.account),
        "exports/".to_owned(),
    )
}

#[tokio::test]
async fn a_foreign_bucket_notification_survives_an_apply_that_rewrites_the_configuration() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let (id, arn, prefix) = audit_queue(&m);
    // Someone replaces the whole configuration with their own entry, dropping ours.
    set_notifications(
        &m.outsider().await,
        &d.names.bucket,
        &[],
        Some((&id, &arn, &prefix)),
    )
    .await;

    let before = m.calls();
    let done = m.converge(&spec).await;
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    assert_eq!(
        m.writes_since(&before),
        ops(&[("S3.PutBucketNotificationConfiguration", 1)])
    );
    let mut expected = vec![
        id.clone(),
        d.names.transform_notification_id.clone(),
        d.names.fanout_notification_id.clone(),
    ];
    expected.sort();
    assert_eq!(notification_ids(&m.c, &d.names.bucket).await, expected);
    assert_eq!(
        queue_notifications(&m.c, &d.names.bucket).await,
        [(id, arn, prefix)]
    );
}

#[tokio::test]
async fn a_foreign_bucket_notification_survives_delete() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let (id, arn, prefix) = audit_queue(&m);
    set_notifications(
        &m.outsider().await,
        &d.names.bucket,
        &[
            &d.names.transform_notification_id,
            &d.names.fanout_notification_id,
        ],
        Some((&id, &arn, &prefix)),
    )
    .await;

    let (_, report) = m.delete(&spec).await;
    assert!(report.succeeded(), "{report:#?}");
    // The bucket is retained; only our entries left it.
    assert_eq!(notification_ids(&m.c, &d.names.bucket).await, [id.as_str()]);
    assert_eq!(
        queue_notifications(&m.c, &d.names.bucket).await,
        [(id, arn, prefix)]
    );
}

#[tokio::test]
async fn a_log_group_created_later_under_a_source_prefix_gets_its_filter_on_the_next_converge() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec(ECS_PREFIX);
    let d = m.converged(&spec).await;
    m.log_groups(&["/ecs/shipping"]).await;

    let check = m.check(&spec).await;
    assert_eq!(
        actions(&check.plan),
        [(
            Op::Create,
            ResourceKind::SubscriptionFilter,
            "/ecs/shipping".to_owned()
        )]
    );
    let before = m.calls();
    let done = m.converge(&spec).await;
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    assert_eq!(
        m.writes_since(&before),
        ops(&[("CloudWatchLogs.PutSubscriptionFilter", 1)])
    );
    assert_eq!(
        filters_on(&m.c, "/ecs/shipping").await,
        [(d.names.filter.clone(), d.stream.arn.clone())]
    );
}

#[tokio::test]
async fn a_full_log_group_is_a_conflict_once_aws_refuses_one_more_and_nothing_is_removed() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders", "/ecs/payments"]).await;
    let foreign = foreign_stream(&m).await;
    let outsider = m.outsider().await;
    for name in ["team-b-shipper", "team-c-audit"] {
        put_filter(&outsider, "/ecs/orders", name, "", &foreign, None).await;
    }
    let spec = m.spec(ECS_PREFIX);
    let d = m.desired_state(&spec).await;

    let before = m.calls();
    let done = m.converge(&spec).await;
    let writes = m.writes_since(&before);

    let conflicts: Vec<(ResourceKind, &str)> = done
        .remaining
        .conflicts()
        .map(|a| (a.kind, a.name.as_str()))
        .collect();
    assert_eq!(
        conflicts,
        [(ResourceKind::SubscriptionFilter, "/ecs/orders")]
    );
    let reason = &done.remaining.conflicts().next().unwrap().reason;
    assert!(
        reason.contains("team-b-shipper") && reason.contains("team-c-audit"),
        "{reason}"
    );
    assert_eq!(writes.get("CloudWatchLogs.DeleteSubscriptionFilter"), None);
    // The third filter on /ecs/orders is tried once: AWS's refusal is how pitagora learns the
    // limit (moto's is two, AWS's five); /ecs/payments and the canary group get theirs.
    assert_eq!(
        writes.get("CloudWatchLogs.PutSubscriptionFilter"),
        Some(&3),
        "{writes:?}"
    );
    assert_eq!(
        filter_names(&m.c, "/ecs/orders").await,
        ["team-b-shipper", "team-c-audit"]
    );
    let again = m.check(&spec).await.plan;
    assert!(
        again.writes().all(|a| a.name != "/ecs/orders"),
        "{again:#?}"
    );
    assert_eq!(
        filters_on(&m.c, "/ecs/payments").await,
        [(d.names.filter.clone(), d.stream.arn.clone())]
    );
}

#[tokio::test]
async fn a_stream_with_our_name_tagged_for_another_pipeline_is_a_conflict_and_never_written() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec(ECS_PREFIX);
    let d = m.desired_state(&spec).await;
    create_stream(
        &m.outsider().await,
        &m.account,
        &d.stream.name,
        &d.stream.destination.bucket_arn,
        &[(OWNER_TAG, "other/pipeline")],
    )
    .await;

    let before = m.calls();
    let done = m.converge(&spec).await;
    let writes = m.writes_since(&before);

    let conflicts: Vec<(ResourceKind, &str)> = done
        .remaining
        .conflicts()
        .map(|a| (a.kind, a.name.as_str()))
        .collect();
    assert_eq!(
        conflicts,
        [(ResourceKind::DeliveryStream, d.stream.name.as_str())]
    );
    let reason = &done.remaining.conflicts().next().unwrap().reason;
    assert!(reason.contains("other/pipeline"), "{reason}");
    assert_eq!(firehose_writes(&writes), Vec::<&str>::new(), "{writes:?}");
    assert_eq!(stream_buffer_size(&m.c, &d.stream.name).await, Some(1));
    assert_eq!(
        stream_tags(&m.c, &d.stream.name).await,
        BTreeMap::from([(OWNER_TAG.to_owned(), "other/pipeline".to_owned())])
    );
    // Nor is any log group subscribed to it: its records would land in the other pipeline.
    assert_eq!(filters_on(&m.c, "/ecs/orders").await, []);
}

#[tokio::test]
async fn an_untagged_stream_with_our_name_is_a_conflict_without_adopt_existing() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec(ECS_PREFIX);
    let d = m.desired_state(&spec).await;
    create_stream(
        &m.outsider().await,
        &m.account,
        &d.stream.name,
        &d.stream.destination.bucket_arn,
        &[],
    )
    .await;

    let before = m.calls();
    let done = m.converge(&spec).await;
    let writes = m.writes_since(&before);

    let conflicts: Vec<(ResourceKind, &str)> = done
        .remaining
        .conflicts()
        .map(|a| (a.kind, a.name.as_str()))
        .collect();
    assert_eq!(
        conflicts,
        [(ResourceKind::DeliveryStream, d.stream.name.as_str())]
    );
    let reason = &done.remaining.conflicts().next().unwrap().reason;
    assert!(reason.contains("adoptExisting"), "{reason}");
    assert_eq!(firehose_writes(&writes), Vec::<&str>::new(), "{writes:?}");
    assert_eq!(stream_buffer_size(&m.c, &d.stream.name).await, Some(1));
    assert_eq!(stream_tags(&m.c, &d.stream.name).await, BTreeMap::new());
    assert_eq!(filters_on(&m.c, "/ecs/orders").await, []);
}

#[tokio::test]
async fn an_untagged_stream_with_our_name_is_adopted_with_adopt_existing() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let mut spec = m.spec(ECS_PREFIX);
    spec.adopt_existing = true;
    let d = m.desired_state(&spec).await;
    create_stream(
        &m.outsider().await,
        &m.account,
        &d.stream.name,
        &d.stream.destination.bucket_arn,
        &[],
    )
    .await;

    let check = m.check(&spec).await;
    let adopt = check
        .plan
        .actions
        .iter()
        .find(|a| a.kind == ResourceKind::DeliveryStream)
        .expect("the stream is planned");
    assert_eq!(adopt.op, Op::Update);

    let before = m.calls();
    let done = m.converge(&spec).await;
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    let writes = m.writes_since(&before);
    assert_eq!(
        firehose_writes(&writes),
        ["Firehose.TagDeliveryStream", "Firehose.UpdateDestination"],
        "{writes:?}"
    );
    assert_eq!(writes["Firehose.UpdateDestination"], 1);
    assert_eq!(stream_tags(&m.c, &d.stream.name).await, d.stream.tags);
    assert_eq!(
        stream_buffer_size(&m.c, &d.stream.name).await,
        Some(d.stream.destination.buffering.size_mib)
    );
}

/// Someone's topic `name`, tagged as `tags` say, with `subscriber` (a Lambda ARN) subscribed
/// and a policy of their own; its ARN.
async fn foreign_topic(m: &Moto, name: &str, tags: &[(&str, &str)], subscriber: &str) -> String {
    let c = m.outsider().await;
    let tags: Vec<aws_sdk_sns::types::Tag> = tags
        .iter()
        .map(|(k, v)| {
            aws_sdk_sns::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .unwrap()
        })
        .collect();
    let arn = c
        .sns
        .create_topic()
        .name(name)
        .set_tags(Some(tags))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_owned();
    c.sns
        .subscribe()
        .topic_arn(&arn)
        .protocol("lambda")
        .endpoint(subscriber)
        .send()
        .await
        .unwrap();
    arn
}

/// A pipeline whose fan-out names the topic `name`, with one subscriber of its own.
fn naming_topic(m: &Moto, name: &str, ours: &str) -> LogPipelineSpec {
    m.spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  topicName: {name}\n  subscribers:\n    - name: ours\n      lambdaArn: {ours}\n"
    ))
}

/// Converges `spec` and asserts the stack is the one conflict, whose reason contains `why`, and
/// that nothing at all was written.
async fn refused_for_the_topic(m: &Moto, spec: &LogPipelineSpec, why: &str) {
    let before = m.calls();
    let done = m.converge(spec).await;
    let writes = m.writes_since(&before);
    let conflicts: Vec<(ResourceKind, &str)> = done
        .remaining
        .conflicts()
        .map(|a| (a.kind, a.reason.as_str()))
        .collect();
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0].0, ResourceKind::Stack);
    for part in [why, "spec.fanout.topicName"] {
        assert!(conflicts[0].1.contains(part), "{}", conflicts[0].1);
    }
    assert_eq!(writes, BTreeMap::new());
}

#[tokio::test]
async fn a_topic_the_spec_names_that_another_pipeline_owns_is_a_conflict_and_left_untouched() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let arns = m.lambda_functions(&["team-b-es", "team-a-es"]).await;
    let topic = "pitagora-team-b-billing-events";
    let arn = foreign_topic(&m, topic, &[(OWNER_TAG, "team-b/billing")], &arns[0]).await;
    let spec = naming_topic(&m, topic, &arns[1]);

    refused_for_the_topic(&m, &spec, "team-b/billing").await;
    // The owner's subscriber is still there, and ours was never added.
    assert_eq!(
        lambda_subscribers(&m.c, &arn).await,
        Some(vec![arns[0].clone()])
    );
}

#[tokio::test]
async fn an_untagged_topic_the_spec_names_is_a_conflict_without_adopt_existing() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let arns = m.lambda_functions(&["someones-es", "team-a-es"]).await;
    let topic = "pitagora-shared-events";
    let arn = foreign_topic(&m, topic, &[], &arns[0]).await;
    let spec = naming_topic(&m, topic, &arns[1]);

    refused_for_the_topic(&m, &spec, "adoptExisting").await;
    assert_eq!(
        lambda_subscribers(&m.c, &arn).await,
        Some(vec![arns[0].clone()])
    );
}

#[tokio::test]
async fn the_pipelines_own_topic_costs_no_tag_read_once_the_stack_holds_it() {
    let m = Moto::new().await;
    let (spec, _) = m.full_chain().await;
    let before = m.calls();
    let plan = check_reads_only(&m, &spec).await;
    assert!(plan.in_sync(), "{plan:#?}");
    let calls = m.calls().since(&before);
    assert_eq!(calls.of("SNS.ListTagsForResource"), 0, "{calls:?}");
}

#[tokio::test]
async fn a_function_of_another_account_is_refused_before_anything_is_read() {
    let m = Moto::new().await;
    let spec = m.spec(
        "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers:\n    - name: theirs\n      lambdaArn: arn:aws:lambda:eu-west-1:999999999999:function:billing-es\n",
    );
    let before = m.calls();
    let e = m.engine.prepare(&pipeline_id(), &spec).await.unwrap_err();
    let calls = m.calls().since(&before);
    match e {
        pitagora::engine::EngineError::InvalidSpec(invalid) => {
            assert_eq!(invalid.0.len(), 1, "{invalid}");
            assert_eq!(invalid.0[0].path, "spec.fanout.subscribers[0].lambdaArn");
            assert!(invalid.0[0].message.contains("999999999999"), "{invalid}");
        }
        other => panic!("{other:?}"),
    }
    // Only the question of which account this is; nothing of the pipeline read or written.
    assert!(calls.total() <= 1, "{calls:?}");
    assert_eq!(calls.writes(), 0, "{calls:?}");
}

/// Someone else makes a bucket with the name the pipeline's bucket would have, tagged with
/// `tags`, before the pipeline's stack exists.
async fn foreign_bucket(m: &Moto, name: &str, tags: &[(&str, &str)]) {
    let outsider = m.outsider().await;
    common::moto::create_bucket(&outsider.s3, name).await;
    if tags.is_empty() {
        return;
    }
    let tag = |(k, v): &(&str, &str)| {
        aws_sdk_s3::types::Tag::builder()
            .key(*k)
            .value(*v)
            .build()
            .unwrap()
    };
    let tagging = aws_sdk_s3::types::Tagging::builder()
        .set_tag_set(Some(tags.iter().map(tag).collect()))
        .build()
        .unwrap();
    outsider
        .s3
        .put_bucket_tagging()
        .bucket(name)
        .tagging(tagging)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_bucket_of_someone_else_holding_the_pipelines_bucket_name_is_foreign_naming_how_to_choose_another()
 {
    for (case, tags, whose) in [
        ("untagged", &[][..], format!("it has no {OWNER_TAG} tag")),
        (
            "another pipeline's",
            &[(OWNER_TAG, "team-b/orders")][..],
            format!("it carries {OWNER_TAG}=team-b/orders"),
        ),
    ] {
        let m = Moto::new().await;
        m.log_groups(&["/ecs/orders"]).await;
        let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
        let d = m.desired_state(&spec).await;
        foreign_bucket(&m, &d.names.bucket, tags).await;

        let before = m.calls();
        let plan = check_reads_only(&m, &spec).await;

        let conflict = only_action(&plan);
        assert_eq!(
            (conflict.conflict(), conflict.kind, conflict.name.as_str()),
            (
                Some(ConflictKind::ForeignBucket),
                ResourceKind::Stack,
                d.stack.name.as_str()
            ),
            "{case}"
        );
        for part in [
            format!(
                "bucket {} exists and is not this pipeline's",
                d.names.bucket
            ),
            whose,
            "spec.storage.bucketName".to_owned(),
            "pitagora-".to_owned(),
        ] {
            assert!(
                conflict.reason.contains(&part),
                "{case}: {}",
                conflict.reason
            );
        }
        assert!(
            !conflict.reason.contains("import"),
            "{case}: {}",
            conflict.reason
        );
        assert_eq!(m.calls().since(&before).of("GetBucketTagging"), 1, "{case}");
    }
}
