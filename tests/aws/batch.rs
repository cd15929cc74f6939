//! Batched observation, specified against moto: checks that share their list reads (one
//! `DescribeStacks` walk, one `DescribeLogGroups` walk per prefix, one `GetResources` walk for
//! tags) plan exactly as checks that read alone, and a pipeline that wrote sees its own writes.

use crate::common;

use common::moto::*;
use pitagora::aws::CallStats;
use pitagora::desired::Pipeline;
use pitagora::engine::Engine;
use pitagora::names::PipelineId;
use pitagora::plan::Check;
use pitagora::read::{Hints, all_lookups};
use std::time::Duration;

/// An engine on `m`'s account whose checks share their reads for as long as a test runs.
fn batched(m: &Moto) -> Engine {
    Engine::new(m.aws.clone()).with_batched_reads(Duration::from_secs(600))
}

async fn place(m: &Moto, name: &str, yaml: &str) -> Pipeline {
    let id = PipelineId::new("team-a", name);
    m.engine.prepare(&id, &m.spec(yaml)).await.unwrap()
}

async fn check(engine: &Engine, p: &Pipeline) -> Check {
    engine.check(p, &Hints::default()).await.unwrap()
}

async fn converge(m: &Moto, p: &Pipeline) {
    let done = m
        .engine
        .converge(p, &Hints::default(), &mut |_| {})
        .await
        .unwrap();
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
}

/// Calls of `operation` between two snapshots.
fn count(after: &CallStats, before: &CallStats, operation: &str) -> u64 {
    after.since(before).of(operation)
}

/// Five pipelines in one account: `exact` names a group under `prefixed`'s prefix, `fanout`
/// has a topic, `absent` was never applied and `deleted` lost its stack out of band. Out of
/// band too: `exact` lost its filter, `prefixed`'s stream a tag value, and `fanout`'s error log
/// group its owner tag (so the tag walk does not list it).
async fn world(m: &Moto) -> Vec<Pipeline> {
    m.log_groups(&["/ecs/orders", "/ecs/payments", "/lambda/jobs", "/other/x"])
        .await;
    let exact = place(m, "exact", "sources:\n  logGroups: [/ecs/orders]\n").await;
    let prefixed = place(m, "prefixed", "sources:\n  logGroupPrefixes: [/ecs/]\n").await;
    let fanout = place(
        m,
        "fanout",
        "sources:\n  logGroups: [/lambda/jobs]\nfanout:\n  subscribers: []\n",
    )
    .await;
    let absent = place(m, "absent", "sources:\n  logGroups: [/other/x]\n").await;
    let deleted = place(m, "deleted", "sources:\n  logGroups: [/other/x]\n").await;
    for p in [&exact, &prefixed, &fanout, &deleted] {
        converge(m, p).await;
    }
    let outsider = m.outsider().await;
    let names = &exact.names();
    outsider
        .logs
        .delete_subscription_filter()
        .log_group_name("/ecs/orders")
        .filter_name(&names.filter)
        .send()
        .await
        .unwrap();
    outsider
        .cfn
        .delete_stack()
        .stack_name(&deleted.names().stack)
        .send()
        .await
        .unwrap();
    outsider
        .firehose
        .tag_delivery_stream()
        .delivery_stream_name(&prefixed.names().stream)
        .tags(
            aws_sdk_firehose::types::Tag::builder()
                .key(pitagora::names::MANAGED_BY_TAG.0)
                .value("someone-else")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let error_group = pitagora::desired::build(&fanout).error_log_group.arn;
    outsider
        .logs
        .untag_resource()
        .resource_arn(error_group)
        .tag_keys(pitagora::names::OWNER_TAG)
        .send()
        .await
        .unwrap();
    vec![exact, prefixed, fanout, absent, deleted]
}

#[tokio::test]
async fn batched_checks_plan_exactly_as_checks_that_read_alone() {
    let m = Moto::new().await;
    let pipelines = world(&m).await;
    let engine = batched(&m);
    let mut alone = Vec::new();
    for p in &pipelines {
        alone.push(check(&m.engine, p).await);
    }
    for p in &pipelines {
        let shared = check(&engine, p).await;
        let own = alone.remove(0);
        assert_eq!(shared.plan, own.plan, "{}", p.id());
        assert_eq!(shared.observed, own.observed, "{}", p.id());
    }
    // The changes are seen, not only equal: a tag to restore, an owner to ask about.
    let [_, prefixed, fanout, ..] = &pipelines[..] else {
        unreachable!()
    };
    assert!(!check(&engine, prefixed).await.plan.in_sync());
    let fanout = check(&engine, fanout).await;
    assert_eq!(
        fanout.plan.ownership_conflicts().count(),
        1,
        "{:#?}",
        fanout.plan
    );
}

#[tokio::test]
async fn a_batch_walks_the_stacks_once_and_each_announced_prefix_once() {
    let m = Moto::new().await;
    let pipelines = world(&m).await;
    let engine = batched(&m);
    let batch = engine
        .batch(&pitagora::arn::AwsTarget::new(&m.account, REGION))
        .unwrap();
    for p in &pipelines {
        batch.expect_prefixes(all_lookups(&pitagora::desired::build(p), &Hints::default()));
    }
    let before = m.calls();
    for p in &pipelines {
        check(&engine, p).await;
    }
    let after = m.calls();
    assert_eq!(count(&after, &before, "DescribeStacks"), 1, "one page");
    // `/ecs/` (covering `/ecs/orders` and the canary groups under it), `/lambda/jobs`,
    // `/other/x`, pitagora's error groups and the root of canary groups of pipelines
    // without prefixes: five walks for five pipelines' 13 lookups.
    assert_eq!(count(&after, &before, "DescribeLogGroups"), 5);
    // Tags: one walk for every pipeline's log groups and streams; only the error group that
    // lost its owner tag (absent from the walk) is read on its own.
    assert_eq!(count(&after, &before, "GetResources"), 1);
    assert_eq!(count(&after, &before, "ListTagsForDeliveryStream"), 0);
    assert_eq!(count(&after, &before, "ListTagsForResource"), 1);

    let before = m.calls();
    for p in &pipelines {
        check(&m.engine, p).await;
    }
    let alone = m.calls();
    assert_eq!(count(&alone, &before, "DescribeStacks"), 5);
    assert!(count(&alone, &before, "DescribeLogGroups") > 10);
}

#[tokio::test]
async fn a_lookup_under_a_prefix_not_announced_still_shares_its_walk_once_walked() {
    let m = Moto::new().await;
    let pipelines = world(&m).await;
    let engine = batched(&m);
    let (exact, prefixed) = (&pipelines[0], &pipelines[1]);
    check(&engine, prefixed).await;
    let before = m.calls();
    let shared = check(&engine, exact).await;
    // One walk: the root of canary groups, which `prefixed` did not need; `/ecs/orders` is
    // served by the `/ecs/` walk.
    assert_eq!(count(&m.calls(), &before, "DescribeLogGroups"), 1);
    assert_eq!(shared.plan, check(&m.engine, exact).await.plan);
}

#[tokio::test]
async fn a_pipeline_that_wrote_reads_its_own_writes_within_the_batch() {
    let m = Moto::new().await;
    m.log_groups(&["/ecs/orders"]).await;
    let p = place(&m, "orders", "sources:\n  logGroups: [/ecs/orders]\n").await;
    let engine = batched(&m);
    assert!(
        !check(&engine, &p).await.plan.in_sync(),
        "nothing exists yet"
    );
    let done = engine
        .converge(&p, &Hints::default(), &mut |_| {})
        .await
        .unwrap();
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    let again = check(&engine, &p).await;
    assert!(again.plan.in_sync(), "{:#?}", again.plan);
    assert!(again.observed.stack.is_some());
}

/// `orders` converged and listed by a batched engine's stack walk, then `payments` converged
/// by another engine after that walk: the batch says `payments` has no stack.
async fn changed_after_the_walk(m: &Moto) -> (Engine, Pipeline, Pipeline) {
    m.log_groups(&["/ecs/orders", "/ecs/payments"]).await;
    let orders = place(m, "orders", "sources:\n  logGroups: [/ecs/orders]\n").await;
    let payments = place(m, "payments", "sources:\n  logGroups: [/ecs/payments]\n").await;
    converge(m, &orders).await;
    let engine = batched(m);
    assert!(check(&engine, &orders).await.plan.in_sync());
    converge(m, &payments).await;
    assert!(check(&engine, &payments).await.observed.stack.is_none());
    (engine, orders, payments)
}

#[tokio::test]
async fn a_batch_answers_as_of_when_it_was_taken_and_the_next_one_sees_what_changed() {
    let m = Moto::new().await;
    let (_, orders, payments) = changed_after_the_walk(&m).await;
    let renewing = Engine::new(m.aws.clone()).with_batched_reads(Duration::ZERO);
    assert!(check(&renewing, &orders).await.plan.in_sync());
    assert!(check(&renewing, &payments).await.plan.in_sync());
}

#[tokio::test]
async fn a_routes_log_group_its_team_created_costs_no_tag_read_in_a_batch_and_plans_as_alone() {
    let m = Moto::new().await;
    m.route_world().await;
    let p = place(&m, "routes", ROUTES).await;
    converge(&m, &p).await;
    let engine = batched(&m);
    let batch = engine
        .batch(&pitagora::arn::AwsTarget::new(&m.account, REGION))
        .unwrap();
    batch.expect_prefixes(all_lookups(
        &pitagora::desired::build(&p),
        &Hints::default(),
    ));

    let before = m.calls();
    let shared = check(&engine, &p).await;
    let after = m.calls();
    // pitagora's groups and stream come with the tag walk; the team's `/ecs/orders` is not read.
    assert_eq!(count(&after, &before, "GetResources"), 1);
    assert_eq!(count(&after, &before, "ListTagsForResource"), 0);
    let alone = check(&m.engine, &p).await;
    assert!(shared.plan.in_sync(), "{:#?}", shared.plan);
    assert!(alone.plan.in_sync(), "{:#?}", alone.plan);
}

#[tokio::test]
async fn a_check_told_of_a_change_by_an_event_reads_directly_what_its_batch_listed_before() {
    let m = Moto::new().await;
    let (engine, _, payments) = changed_after_the_walk(&m).await;
    let told = Hints {
        direct: true,
        ..Hints::default()
    };
    let fresh = engine.check(&payments, &told).await.unwrap();
    assert!(fresh.plan.in_sync(), "{:#?}", fresh.plan);
}

#[tokio::test]
async fn a_check_announces_its_lookups_so_its_canary_group_costs_no_walk_of_its_own() {
    let m = Moto::new().await;
    m.log_groups(&["/bench/p1/a", "/bench/p2/a"]).await;
    let mut pipelines = Vec::new();
    for i in 1..=2 {
        let yaml = format!("sources:\n  logGroupPrefixes: [/bench/p{i}/]\n");
        let p = place(&m, &format!("p{i}"), &yaml).await;
        converge(&m, &p).await;
        pipelines.push(p);
    }
    let engine = batched(&m);
    check(&engine, &pipelines[0]).await;
    // The second check walks its prefix once; its canary group under it comes from that walk.
    let before = m.calls();
    assert!(check(&engine, &pipelines[1]).await.plan.in_sync());
    assert_eq!(count(&m.calls(), &before, "DescribeLogGroups"), 1);
}
