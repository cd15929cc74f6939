//! Changes that would lose logs, against the emulator: refused with the reason and nothing
//! written unless `spec.acknowledge` names what is given up; a bucket that holds nothing loses
//! nothing, so its changes go ahead.

use crate::common;

use common::moto::*;
use pitagora::engine::{EngineError, Progress};
use pitagora::read::Hints;
use pitagora::resources::ResourceKind;
use pitagora::spec::LogPipelineSpec;

async fn try_converge(m: &Moto, spec: &LogPipelineSpec) -> Result<(), EngineError> {
    let pipeline = m.pipeline(spec).await;
    m.engine
        .converge(&pipeline, &Hints::default(), &mut |_| {})
        .await
        .map(|_| ())
}

/// The minimal pipeline converged, with an object in its bucket when `holding`; its bucket.
async fn converged_minimal(m: &Moto, holding: bool) -> String {
    m.log_groups(&["/ecs/orders"]).await;
    let d = m
        .converged(&m.spec("sources:\n  logGroups: [/ecs/orders]\n"))
        .await;
    if holding {
        put_object(&m.c, &d.names.bucket, "raw/2026/12/03/10/a", "a log line").await;
    }
    d.names.bucket
}

fn renamed(m: &Moto, acknowledge: Option<&str>) -> LogPipelineSpec {
    let mut yaml = format!(
        "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  bucketName: pitagora-orders-v2-{}\n",
        m.account
    );
    if let Some(old) = acknowledge {
        yaml.push_str(&format!("acknowledge:\n  replaceBucket: {old}\n"));
    }
    m.spec(&yaml)
}

#[tokio::test]
async fn a_new_bucket_name_while_the_bucket_holds_objects_is_refused_and_nothing_written() {
    let m = Moto::new().await;
    let old = converged_minimal(&m, true).await;
    let before = m.calls();
    let err = try_converge(&m, &renamed(&m, None)).await.unwrap_err();
    assert_eq!(err.label(), "DestructiveChange", "{err}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("spec.acknowledge.replaceBucket: {old}")),
        "{text}"
    );
    assert_eq!(m.writes_since(&before), ops(&[]));
    assert!(bucket_exists(&m.c, &old).await);
}

#[tokio::test]
async fn with_the_old_bucket_acknowledged_the_new_bucket_is_made() {
    let m = Moto::new().await;
    let old = converged_minimal(&m, true).await;
    try_converge(&m, &renamed(&m, Some(&old))).await.unwrap();
    assert!(bucket_exists(&m.c, &format!("pitagora-orders-v2-{}", m.account)).await);
    // Retained, with its objects.
    assert!(bucket_exists(&m.c, &old).await);
}

#[tokio::test]
async fn a_new_bucket_name_while_the_bucket_is_empty_goes_ahead() {
    let m = Moto::new().await;
    converged_minimal(&m, false).await;
    try_converge(&m, &renamed(&m, None)).await.unwrap();
    assert!(bucket_exists(&m.c, &format!("pitagora-orders-v2-{}", m.account)).await);
}

#[tokio::test]
async fn deleting_with_deletion_policy_delete_a_bucket_holding_objects_is_refused() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\nstorage:\n  deletionPolicy: Delete\n");
    let d = m.converged(&spec).await;
    put_object(&m.c, &d.names.bucket, "raw/2026/12/03/10/a", "a log line").await;
    let before = m.calls();
    let pipeline = m.pipeline(&spec).await;
    let err = m
        .engine
        .delete(&pipeline, &Hints::default(), &mut |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.label(), "DestructiveChange", "{err}");
    assert!(
        err.to_string().contains(&format!(
            "spec.acknowledge.deleteObjects: {}",
            d.names.bucket
        )),
        "{err}"
    );
    assert_eq!(m.writes_since(&before), ops(&[]));
    assert!(bucket_exists(&m.c, &d.names.bucket).await);
    assert!(stream_exists(&m.c, &d.names.stream).await);
}

/// Another writer moved the stack to the bucket of an earlier spec, which then received logs,
/// while an apply of the renamed spec ran from a check made before: its first pass (the
/// stream's buffering) found nothing to refuse; the second, planned after it, would leave that
/// bucket behind. It is refused exactly like a first pass: shown, then not written.
#[tokio::test]
async fn a_destructive_change_first_planned_in_the_second_pass_is_shown_and_refused_unwritten() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let first = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    let renamed = renamed(&m, None);
    let d = m.converged(&renamed).await;
    change_buffer_size(&m.outsider().await, &d.names.stream, 64).await;
    let planned_before = m.check(&renamed).await;
    let old = m.converged(&first).await.names.bucket;
    put_object(&m.c, &old, "raw/2026/12/03/10/a", "a log line").await;

    let before = m.calls();
    let mut shown = Vec::new();
    let done = m
        .engine
        .execute(planned_before, &Hints::default(), &mut |p| {
            shown.push(match p {
                Progress::Plan { pass, plan } => format!("plan {pass}: {:?}", kinds(plan)),
                Progress::Outcome { pass, outcome } => {
                    format!("outcome {pass}: {}", outcome.action.kind)
                }
            })
        })
        .await
        .unwrap();

    assert_eq!(
        shown,
        [
            "plan 1: [DeliveryStream]",
            "outcome 1: DeliveryStream",
            &format!("plan 2: {:?}", kinds(&done.remaining)),
        ]
    );
    assert!(
        kinds(&done.remaining).contains(&ResourceKind::Stack),
        "{shown:?}"
    );
    assert_eq!(done.passes.len(), 1);
    let [reason] = done.refused.as_slice() else {
        panic!("one refusal expected: {:?}", done.refused);
    };
    assert!(
        reason.contains(&format!("spec.acknowledge.replaceBucket: {old}")),
        "{reason}"
    );
    assert_eq!(
        m.writes_since(&before),
        ops(&[("Firehose.UpdateDestination", 1)])
    );
}

/// The kinds of `plan`'s writes, in order.
fn kinds(plan: &pitagora::plan::Plan) -> Vec<ResourceKind> {
    plan.writes().map(|a| a.kind).collect()
}
