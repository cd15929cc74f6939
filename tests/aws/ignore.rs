//! `drift.ignore` against a real AWS-protocol server (moto), through the real SDK: a field an
//! ignore rule accepts keeps its live value when the resource is written for another reason,
//! so the plan shows exactly what `apply` writes (the pure side of the invariant is the
//! property test in `plan_converges`).

use crate::common;

use aws_sdk_firehose::types as fh;
use common::moto::*;
use pitagora::plan::Op;
use pitagora::resources::ResourceKind;
use pitagora::spec::{IgnoreRule, LogPipelineSpec};

fn ignoring(spec: &LogPipelineSpec, kind: &str, field: &str) -> LogPipelineSpec {
    let mut spec = spec.clone();
    spec.drift.ignore.push(IgnoreRule {
        kind: Some(kind.into()),
        name: None,
        field: Some(field.into()),
        reason: Some("tuned by hand".into()),
    });
    spec
}

/// The stream's live prefix and buffering hints (size in MiB, interval in seconds).
async fn stream_destination(m: &Moto, stream: &str) -> (String, i32, i32) {
    let desc = stream_description(&m.outsider().await, stream).await;
    let s3 = desc.destinations()[0]
        .extended_s3_destination_description()
        .unwrap();
    let hints = s3.buffering_hints().unwrap();
    (
        s3.prefix().unwrap_or_default().to_owned(),
        hints.size_in_mbs().unwrap(),
        hints.interval_in_seconds().unwrap(),
    )
}

#[tokio::test]
async fn ignored_buffering_tuned_by_hand_survives_a_prefix_change() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    update_stream_destination(&m.outsider().await, &d.stream.name, |u| {
        u.buffering_hints(
            fh::BufferingHints::builder()
                .size_in_mbs(64)
                .interval_in_seconds(600)
                .build(),
        )
    })
    .await;
    let mut spec = ignoring(&spec, "DeliveryStream", "BufferingHints.*");
    spec.delivery.prefix = "newraw/".into();

    let plan = check_reads_only(&m, &spec).await;
    let stream = plan
        .actions
        .iter()
        .find(|a| a.kind == ResourceKind::DeliveryStream)
        .expect("the stream is updated for its prefix");
    assert_eq!(stream.op, Op::Update);
    assert_eq!(changed_fields(stream), ["Prefix"]);
    let ignored: Vec<_> = plan
        .ignored
        .iter()
        .filter_map(|i| i.change.as_ref().map(|c| c.field.as_str()))
        .collect();
    assert_eq!(
        ignored,
        [
            "BufferingHints.SizeInMBs",
            "BufferingHints.IntervalInSeconds"
        ]
    );

    correct(&m, &spec).await;
    assert_eq!(
        stream_destination(&m, &d.stream.name).await,
        ("newraw/".to_owned(), 64, 600)
    );
}

#[tokio::test]
async fn an_ignored_trust_condition_stays_removed_while_the_widened_policy_is_put_back() {
    let m = Moto::new().await;
    let (spec, d) = m.full_chain().await;
    let role = d.names.delivery_role.clone();
    let iam = m.outsider().await.iam;
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"firehose.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.update_assume_role_policy()
        .role_name(&role)
        .policy_document(trust)
        .send()
        .await
        .unwrap();
    let outsider = m.outsider().await;
    let policy = first_inline_policy(&outsider, &role).await;
    put_role_policy(&outsider, &role, &policy, ALLOW_ALL).await;
    let spec = ignoring(&spec, "Role", "AssumeRolePolicyDocument.*");

    let plan = check_reads_only(&m, &spec).await;
    let a = plan
        .actions
        .iter()
        .find(|a| a.kind == ResourceKind::Role)
        .expect("the role is updated for its policy");
    assert!(
        changed_fields(a)
            .iter()
            .all(|f| f.starts_with(&format!("Policies.{policy}"))),
        "{:?}",
        changed_fields(a)
    );
    assert!(!plan.ignored.is_empty());

    assert_eq!(
        correct(&m, &spec).await,
        ops(&[("IAM.PutRolePolicy", 1)]),
        "the trust policy is not written"
    );
    let live = iam.get_role().role_name(&role).send().await.unwrap();
    let document = live.role().unwrap().assume_role_policy_document().unwrap();
    let live = pitagora::aws::iam::document(document);
    assert!(live["Statement"][0].get("Condition").is_none(), "{live}");
}
