//! Reads that are not repeated while nothing changed, specified against moto: a stack's template
//! is read again when the stack was updated, and the plans are the same as an engine that reads
//! everything afresh; pitagora's own write to a stack makes it read that stack's template again,
//! whatever the stack's `LastUpdatedTime` says. (moto reports no `LastUpdatedTime`, so an updated
//! stack is never cached there; a proxy gives its stacks one that stays still. Which stacks are
//! cached is specified on SDK values in `src/aws/cloudformation.rs`.)

use crate::common;

use common::faults::FaultProxy;
use common::moto::*;
use pitagora::aws::Aws;
use pitagora::engine::Engine;
use pitagora::read::Hints;
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

/// `LastUpdatedTime` of every stack a [`still_update_time`] answer lists.
const STILL: &str = "2026-01-01T00:00:00Z";
const STILL_MS: i64 = 1_767_225_600_000;

/// The stack name of `spec`'s pipeline.
async fn stack_name_of(m: &Moto, spec: &pitagora::spec::LogPipelineSpec) -> String {
    m.desired_state(spec).await.names.stack
}

/// A DescribeStacks answer whose stacks all report [`STILL`] as their `LastUpdatedTime`,
/// whatever happened to them: a server that does not move it after an update (moto reports
/// none at all, so it never shows a cached template outliving an update).
fn still_update_time(answer: &str) -> String {
    let without = regex::Regex::new("<LastUpdatedTime>[^<]*</LastUpdatedTime>")
        .unwrap()
        .replace_all(answer, "");
    without.replace(
        "</CreationTime>",
        &format!("</CreationTime><LastUpdatedTime>{STILL}</LastUpdatedTime>"),
    )
}

#[tokio::test]
async fn a_stack_whose_update_time_stays_still_is_read_again_after_pitagoras_own_update() {
    let account = fresh_account();
    let proxy = FaultProxy::start(&endpoint(), &account, 1).await;
    proxy.edit_answers("DescribeStacks", still_update_time);
    let m = Moto::at(&proxy.endpoint, account, Vec::new(), test_settings()).await;
    m.log_groups(&["/ecs/orders"]).await;
    m.converged(&m.spec("sources:\n  logGroups: [/ecs/orders]\n"))
        .await;
    // Two updates: the first leaves UPDATE_COMPLETE and the still time, as the second does.
    let fanout = "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers: []\n";
    m.converged(&m.spec(fanout)).await;
    let deletable = m.spec(&format!("{fanout}storage:\n  deletionPolicy: Delete\n"));
    let done = m.converge(&deletable).await;

    let described =
        m.c.cfn
            .describe_stacks()
            .stack_name(&stack_name_of(&m, &deletable).await);
    let described = described.send().await.unwrap();
    let updated = described.stacks()[0].last_updated_time().unwrap();
    assert_eq!(
        updated.to_millis().unwrap(),
        STILL_MS,
        "the proxy holds the time still"
    );
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    let check = m.check(&deletable).await;
    let stack = check.observed.stack.as_ref().unwrap();
    assert_eq!(stack.status, "UPDATE_COMPLETE");
    let template = stack.template.as_ref().unwrap();
    assert_eq!(template["Resources"]["Bucket"]["DeletionPolicy"], "Delete");
    // Cached again once read after the write.
    let before = m.calls();
    assert!(m.check(&deletable).await.plan.in_sync());
    assert_eq!(m.calls().since(&before).of(GET_TEMPLATE), 0);
}
