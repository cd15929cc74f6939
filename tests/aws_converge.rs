//! Convergence against a real AWS-protocol server (moto), through the real SDK: from nothing to
//! the full chain, every resource checked through its own API; a second apply writes nothing.

mod common;

use common::moto::*;
use pitagora::observe::Hints;

#[tokio::test]
async fn from_empty_apply_converges_the_full_chain() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders", "/ecs/payments", "/other/app"])
        .await;
    m.lambda_functions(FULL_CHAIN_FUNCTIONS).await;
    let spec = m.spec(FULL_CHAIN);
    let pipeline = m.engine.prepare(&pipeline_id(), &spec).await.unwrap();
    let done = m
        .engine
        .converge(&pipeline, &Hints::default(), &mut |_| {})
        .await
        .unwrap();
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    assert!(
        done.applied.iter().all(|r| r.succeeded()),
        "{:#?}",
        done.applied
    );
}

/// Two applies of one pipeline at once: the second planned the stack's creation before the
/// first created it. Its creation finds the stack there, waits, and finds it updated by the
/// first apply's second step: it says so, and the next check finds nothing left to do.
#[tokio::test]
async fn an_apply_whose_stack_another_apply_created_meanwhile_says_so_and_the_next_check_converges()
{
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    let planned_before = m.check(&spec).await;
    m.converged(&spec).await;

    let done = m
        .engine
        .execute(planned_before, &Hints::default(), &mut |_| {})
        .await
        .unwrap();

    let failed: Vec<String> = done
        .applied
        .iter()
        .flat_map(|r| &r.outcomes)
        .filter_map(|o| o.result.as_ref().err().map(ToString::to_string))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:#?}");
    let d = m.desired_state(&spec).await;
    assert_eq!(
        failed[0],
        format!(
            "CloudFormation.CreateStack: concurrent modification: another writer changed stack {} meanwhile (another `pitagora apply` of this pipeline, or a change by hand): it is UPDATE_COMPLETE, not CREATE_COMPLETE; nothing failed, and the next check converges",
            d.stack.name
        )
    );
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
}
