//! Convergence against a real AWS-protocol server (moto), through the real SDK: from nothing to
//! the full chain, every resource checked through its own API; a second apply writes nothing.

use crate::common;

use common::moto::*;
use pitagora::desired::Desired;
use pitagora::plan::Op;
use pitagora::read::Hints;
use pitagora::resources::ResourceKind;

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
    assert!(done.applied().all(|r| r.succeeded()), "{:#?}", done.passes);
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
        .applied()
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

/// The actions one apply pass executed on `group`, in order.
fn applied_on(report: &pitagora::apply::ApplyReport, group: &str) -> Vec<(Op, ResourceKind)> {
    report
        .outcomes
        .iter()
        .filter(|o| o.action.name == group)
        .map(|o| (o.action.op, o.action.kind))
        .collect()
}

#[tokio::test]
async fn apply_creates_a_routes_missing_log_group_with_its_retention_and_tags_and_subscribes_it_in_the_same_pass()
 {
    let m = Moto::new().await;
    let spec = m.route_world().await;
    let done = m.converge(&spec).await;
    assert!(done.applied().all(|r| r.succeeded()), "{:#?}", done.passes);
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    assert_eq!(
        applied_on(&done.passes[0].applied, "/ecs/payments"),
        [
            (Op::Create, ResourceKind::RouteLogGroup),
            (Op::Create, ResourceKind::SubscriptionFilter),
        ]
    );
    let (retention, tags) = retention_and_tags(&m.c.logs, "/ecs/payments").await;
    assert_eq!(retention, Some(14));
    assert_eq!(tags, done.desired.tags);
    assert_eq!(
        filter_names(&m.c, "/ecs/payments").await,
        std::slice::from_ref(&done.desired.names.filter)
    );
}

#[tokio::test]
async fn apply_leaves_a_routes_log_group_its_team_created_as_it_is_but_for_the_filter() {
    let m = Moto::new().await;
    let spec = m.route_world().await;
    let done = m.converge(&spec).await;
    assert!(done.applied().all(|r| r.succeeded()), "{:#?}", done.passes);
    let on_orders: Vec<(Op, ResourceKind)> = done
        .applied()
        .flat_map(|r| applied_on(r, "/ecs/orders"))
        .collect();
    assert_eq!(on_orders, [(Op::Create, ResourceKind::SubscriptionFilter)]);
    assert_eq!(
        retention_and_tags(&m.c.logs, "/ecs/orders").await,
        (Some(7), Default::default())
    );
}

/// Converges `namespace/name` reading `groups`; returns its desired state.
async fn converged_as(m: &Moto, namespace: &str, name: &str, groups: &[&str]) -> Desired {
    let id = pitagora::names::PipelineId::new(namespace, name);
    let spec = m.spec(&format!("sources:\n  logGroups: [{}]\n", groups.join(", ")));
    let pipeline = m.engine.prepare(&id, &spec).await.unwrap();
    let done = m
        .engine
        .converge(&pipeline, &Hints::default(), &mut |_| {})
        .await
        .unwrap();
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    done.desired
}

/// `/ecs/crowded` holding two filters, moto's limit (AWS's is five: moto shows a limit pitagora
/// does not know beforehand), both of other pitagora pipelines; `/ecs/orders` empty.
async fn crowded(m: &Moto) -> [Desired; 2] {
    m.log_groups(&["/ecs/orders", "/ecs/crowded"]).await;
    [
        converged_as(m, "team-b", "audit", &["/ecs/crowded"]).await,
        converged_as(m, "team-c", "metrics", &["/ecs/crowded"]).await,
    ]
}

#[tokio::test]
async fn a_filter_aws_refuses_names_the_filters_in_the_way_and_the_next_plan_knows_the_limit() {
    let m = Moto::new().await;
    let [audit, metrics] = crowded(&m).await;
    let spec = m.spec("sources:\n  logGroups: [/ecs/orders, /ecs/crowded]\n");

    let done = m.converge(&spec).await;

    // Nothing said two filters were the limit: the put was tried, and AWS's refusal names them.
    let error = done
        .applied()
        .flat_map(|r| r.errors())
        .next()
        .expect("AWS refused the third filter")
        .to_string();
    for part in [
        "LimitExceededException",
        "/ecs/crowded holds 2 subscription filters",
        &format!(
            "{}: pitagora pipeline team-b-audit",
            audit.filters.filter.name
        ),
        &format!(
            "{}: pitagora pipeline team-c-metrics",
            metrics.filters.filter.name
        ),
    ] {
        assert!(error.contains(part), "{part:?} in {error}");
    }
    let conflict = done
        .remaining
        .conflicts()
        .find(|a| a.name == "/ecs/crowded")
        .expect("the full group is a conflict now");
    assert!(
        conflict
            .reason
            .contains("2 per group, as AWS answered (LimitExceededException) on /ecs/crowded"),
        "{}",
        conflict.reason
    );
    let again = m.check(&spec).await.plan;
    assert!(
        again.writes().all(|a| a.name != "/ecs/crowded"),
        "{again:#?}"
    );
}

#[tokio::test]
async fn once_aws_showed_the_limit_a_new_pipeline_whose_every_source_is_full_writes_nothing() {
    let m = Moto::new().await;
    crowded(&m).await;
    // Another pipeline's refused filter teaches the engine the limit.
    let teacher = m.spec("sources:\n  logGroups: [/ecs/orders, /ecs/crowded]\n");
    let taught = m.converge(&teacher).await;
    assert!(taught.applied().any(|r| !r.succeeded()));

    let before = m.calls();
    let id = pitagora::names::PipelineId::new("team-d", "late");
    let spec = m.spec("sources:\n  logGroups: [/ecs/crowded]\n");
    let pipeline = m.engine.prepare(&id, &spec).await.unwrap();
    let done = m
        .engine
        .converge(&pipeline, &Hints::default(), &mut |_| {})
        .await
        .unwrap();

    assert_eq!(m.writes_since(&before), ops(&[]));
    assert!(!stack_exists(&m.c, &done.desired.stack.name).await);
    let refusal = done
        .remaining
        .conflicts()
        .find(|a| a.conflict() == Some(pitagora::plan::ConflictKind::NoFreeFilterSlot))
        .expect("refused");
    assert_eq!(refusal.kind, ResourceKind::Stack);
    assert!(
        refusal.reason.contains("/ecs/crowded holds 2"),
        "{}",
        refusal.reason
    );
}
