//! Reads that are not repeated while nothing changed, specified against moto: a stack's template
//! is read again when the stack was updated, and the plans are the same as an engine that reads
//! everything afresh. (moto reports no `LastUpdatedTime`, so an updated stack is never cached
//! there; which stacks are cached is specified on SDK values in `src/aws/cloudformation.rs`.)

mod common;

use common::moto::*;
use pitagora::aws::Aws;
use pitagora::engine::Engine;
use pitagora::observe::Hints;
use std::sync::Arc;

const GET_TEMPLATE: &str = "GetTemplate";

/// An engine of its own (no reads remembered) on `m`'s account.
async fn fresh_engine(m: &Moto) -> Engine {
    let aws = Aws::from_config(
        sdk_config(&endpoint()).await,
        test_settings(),
        vec![aws_sdk_s3::config::SharedInterceptor::new(MotoAccount(
            m.account.clone(),
        ))],
    );
    Engine::new(Arc::new(aws))
}

#[tokio::test]
async fn repeated_checks_plan_exactly_as_an_engine_that_reads_everything_afresh() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    m.converged(&spec).await;
    let first = m.check(&spec).await;
    let second = m.check(&spec).await;
    assert!(first.plan.in_sync() && second.plan.in_sync());
    let afresh = fresh_engine(&m).await;
    let pipeline = m.pipeline(&spec).await;
    let uncached = afresh.check(&pipeline, &Hints::default()).await.unwrap();
    assert_eq!(afresh.aws().calls().snapshot().of(GET_TEMPLATE), 1);
    assert_eq!(uncached.plan, second.plan);
    assert_eq!(uncached.observed.stack, second.observed.stack);
}

#[tokio::test]
async fn a_stack_updated_since_is_read_again_and_its_new_template_compared() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders]\n");
    m.converged(&spec).await;
    // Adding the fan-out topic updates the stack's template.
    let changed = m.spec("sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers: []\n");
    m.converged(&changed).await;
    let before = m.calls();
    let check = m.check(&changed).await;
    assert!(check.plan.in_sync(), "{:?}", check.plan);
    assert_eq!(
        m.calls().since(&before).of(GET_TEMPLATE),
        1,
        "an updated stack's template is read (moto reports no LastUpdatedTime)"
    );
    let template = check
        .observed
        .stack
        .as_ref()
        .unwrap()
        .template
        .as_ref()
        .unwrap();
    assert!(template["Resources"]["Topic"].is_object(), "{template}");
}
