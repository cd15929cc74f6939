//! A canary per path against moto: a pipeline in `eu-west-1` with a remote source in
//! `us-east-1` of its own account. Converging creates both canary groups (the pipeline's own and
//! the remote source's, each carrying its filter); a canary step sends a canary into each and
//! finds each under `raw/` with its own latency; the remote group's filter removed by hand
//! leaves that path's canary missing and named, while the pipeline's own path still delivers;
//! deleting the pipeline removes the remote canary group; a source account the controller has no
//! role for any more fails its own path, named with the cause, while the other path's canary
//! still arrives. moto delivers through the destination
//! (the launcher's correction 6) and synchronously, so a canary that can arrive is there at once.

use crate::common;

use aws_sdk_s3::config::SharedInterceptor;
use common::moto::*;
use pitagora::aws::{Aws, RegionClients};
use pitagora::controller::delivery_status::{self, Step};
use pitagora::delivery::canary::Canary;
use pitagora::delivery::progress::{Evidence, Outcome, Stage, StageState, Tracked};
use pitagora::desired::Desired;
use pitagora::resources::ResourceKind;

const SOURCE_REGION: &str = "us-east-1";

/// `/ecs/orders` here, and every group under `/ecs/` in [`SOURCE_REGION`].
const REMOTE: &str = r#"
sources:
  logGroups: [/ecs/orders]
  remote:
    - region: us-east-1
      logGroupPrefixes: [/ecs/]
"#;

/// The retention of `group` in `c`'s region, if it exists (`Some(None)`: no retention).
async fn retention_of(c: &RegionClients, group: &str) -> Option<Option<i32>> {
    let out = (c.logs.describe_log_groups())
        .log_group_name_prefix(group)
        .send()
        .await
        .unwrap();
    out.log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group))
        .map(|g| g.retention_in_days())
}

async fn converged(m: &Moto) -> Desired {
    m.log_groups(&["/ecs/orders"]).await;
    m.converged(&m.spec(REMOTE)).await
}

/// The remote path's canary group.
fn remote_group(d: &Desired) -> String {
    let g = d.remote[0].canary_log_group.as_ref().expect("verify is on");
    g.name.clone()
}

/// A canary step now through the engine: a canary into each path's group, looked for at once.
async fn canary_step(m: &Moto, d: &Desired) -> Tracked {
    let route = d.canary_route.as_ref().expect("verify is on");
    let now = now_ms();
    let canary = Canary::new("team-a/orders", now, 1);
    (m.engine)
        .send_canary(&d.id.namespace, &d.target.region, route, canary, now)
        .await
        .unwrap()
}

#[tokio::test]
async fn converging_creates_the_remote_canary_group_in_its_region_with_its_filter() {
    let m = Moto::new().await;
    let d = converged(&m).await;
    let there = m.outsider_in(SOURCE_REGION).await;
    let group = remote_group(&d);
    assert_eq!(group, format!("/ecs/{}-canary", d.names.stream));
    assert_eq!(retention_of(&there, &group).await, Some(Some(1)));
    assert_eq!(
        filters_on(&there, &group).await,
        [(d.names.filter.clone(), d.destinations[0].arn.clone())]
    );
    let own = d.canary_log_group.as_ref().unwrap();
    assert_eq!(
        retention_of(&m.outsider().await, &own.name).await,
        Some(Some(1))
    );
    assert_eq!(
        retention_of(&there, &own.name).await,
        None,
        "not in the source region"
    );
}

#[tokio::test]
async fn a_canary_step_finds_each_paths_canary_in_raw_with_its_own_latency() {
    let m = Moto::new().await;
    let d = converged(&m).await;
    let tracked = canary_step(&m, &d).await;
    assert_eq!(tracked.outcome(), Outcome::Delivered, "{tracked:?}");
    let [path] = &tracked.paths[..] else {
        panic!("one remote path: {:?}", tracked.paths)
    };
    assert_eq!(
        path.path.name(),
        format!("{}/{SOURCE_REGION} → destination", m.account)
    );
    assert_ne!(path.canary.id, tracked.canary.id);
    let own = tracked.found_at(Stage::Raw).unwrap() - tracked.canary.sent_at_ms;
    let remote = path.latency_ms().expect("the remote path's canary arrived");
    for latency in [own, remote] {
        assert!((-2_000..10_000).contains(&latency), "{latency}");
    }
    assert!(tracked.settled());
}

#[tokio::test]
async fn a_remote_canary_group_without_its_filter_is_the_failing_path_named_while_the_own_path_delivers()
 {
    let m = Moto::new().await;
    let d = converged(&m).await;
    let there = m.outsider_in(SOURCE_REGION).await;
    (there.logs.delete_subscription_filter())
        .log_group_name(remote_group(&d))
        .filter_name(&d.names.filter)
        .send()
        .await
        .unwrap();
    let route = d.canary_route.clone().unwrap();
    let mut tracked = canary_step(&m, &d).await;
    assert_eq!(
        tracked.outcome(),
        Outcome::Delivered,
        "the own path delivers"
    );
    assert_eq!(tracked.paths[0].state, StageState::Waiting);
    let overdue = route.deadline_ms(Stage::Raw, tracked.canary.sent_at_ms, None);
    (m.engine)
        .look_for_canary(
            &d.id.namespace,
            &d.target.region,
            &route,
            &mut tracked,
            overdue,
        )
        .await
        .unwrap();
    assert_eq!(tracked.paths[0].state, StageState::Missing);

    let step = Step::Looked {
        tracked,
        sent: false,
    };
    let check = m.check(&m.spec(REMOTE)).await;
    let resources = pitagora::report::resources(&check);
    let seen = (resources.iter()).map(|r| (r.kind, r.name.as_str(), r.state.as_str()));
    let evidence = Evidence::from_resources(&route, seen);
    let u = delivery_status::update(&route, None, step, &evidence, None, overdue);
    let c = u.condition.expect("a Delivering condition");
    assert_eq!(c.status, "False");
    let place = format!("{}/{SOURCE_REGION}", m.account);
    let named = format!(
        "{place} → destination (RemoteSubscriptionFilter {place}:{} is",
        remote_group(&d)
    );
    assert!(c.message.contains(&named), "{}", c.message);
    assert_eq!(u.status.failing_stage, None, "the own path is not failing");
}

#[tokio::test]
async fn deleting_the_pipeline_removes_the_remote_canary_group() {
    let m = Moto::new().await;
    let d = converged(&m).await;
    let done = m.deleted(&m.spec(REMOTE)).await;
    assert!(done.complete(), "{:#?}", done.readback);
    let deleted: Vec<_> = (done.plan.actions.iter())
        .filter(|a| a.kind == ResourceKind::RemoteCanaryLogGroup)
        .map(|a| (a.op, a.name.clone()))
        .collect();
    let name = format!("{}/{SOURCE_REGION}:{}", m.account, remote_group(&d));
    assert_eq!(deleted, [(pitagora::plan::Op::Delete, name)]);
    let there = m.outsider_in(SOURCE_REGION).await;
    assert_eq!(retention_of(&there, &remote_group(&d)).await, None);
}

/// A controller in an account of its own whose accounts file gives it `source`'s role and lets
/// team-a take `source`'s `/ecs/` groups in the source region, and the engine over it (as
/// `tests/aws/accounts.rs` builds them).
async fn controller_reaching(source: &str) -> (String, pitagora::engine::Engine) {
    let own = fresh_account();
    let file = format!(
        "accounts:\n  - id: \"{source}\"\n    roleArn: arn:aws:iam::{source}:role/pitagora/pitagora-access\n    externalId: pitagora-test\nnamespaces:\n  team-a:\n    sources:\n      - {{account: \"{source}\", regions: [{SOURCE_REGION}], logGroupPrefixes: [/ecs/]}}\n"
    );
    let accounts = pitagora::spec::Accounts::parse(&file).unwrap();
    let header = SharedInterceptor::new(MotoAccount(own.clone()));
    let aws = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![header])
        .with_assumed_interceptors(Vec::new());
    let engine = pitagora::engine::Engine::new(std::sync::Arc::new(aws)).with_accounts(accounts);
    (own, engine)
}

/// `account`'s clients as the tests' header reaches them.
async fn aws_of(account: &str) -> Aws {
    let header = SharedInterceptor::new(MotoAccount(account.to_owned()));
    Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![header])
}

/// A pipeline converged by a controller reaching `source` (see [`controller_reaching`]), whose
/// remote sources are `remote` (YAML list items) beside `/ecs/orders` of its own account: that
/// account, the engine, and the desired state.
async fn converged_reaching(
    source: &str,
    remote: &str,
) -> (String, pitagora::engine::Engine, Desired) {
    use pitagora::read::Hints;
    let (own, engine) = controller_reaching(source).await;
    (aws_of(&own)
        .await
        .region(common::REGION)
        .logs
        .create_log_group())
    .log_group_name("/ecs/orders")
    .send()
    .await
    .unwrap();
    let spec = common::spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\n  remote:\n{remote}"
    ));
    let pipeline = engine.prepare(&pipeline_id(), &spec).await.unwrap();
    let done = (engine.converge(&pipeline, &Hints::default(), &mut |_| {}))
        .await
        .unwrap();
    assert!(done.applied().all(|r| r.succeeded()), "{:#?}", done.passes);
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    (own, engine, done.desired)
}

#[tokio::test]
async fn a_source_account_gets_its_canary_group_and_its_canary_arrives_with_its_own_latency() {
    let b = fresh_account();
    let remote =
        format!("    - {{account: \"{b}\", region: {SOURCE_REGION}, logGroupPrefixes: [/ecs/]}}\n");
    let (_, engine, d) = converged_reaching(&b, &remote).await;
    let in_b = aws_of(&b).await.region(SOURCE_REGION);
    assert_eq!(retention_of(&in_b, &remote_group(&d)).await, Some(Some(1)));

    let route = d.canary_route.as_ref().unwrap();
    let now = now_ms();
    let canary = Canary::new("team-a/orders", now, 1);
    let tracked = (engine.send_canary(&d.id.namespace, &d.target.region, route, canary, now))
        .await
        .unwrap();
    assert_eq!(tracked.outcome(), Outcome::Delivered, "{tracked:?}");
    assert_eq!(
        tracked.paths[0].path.name(),
        format!("{b}/{SOURCE_REGION} → destination")
    );
    assert!(tracked.paths[0].latency_ms().is_some(), "{tracked:?}");
}

#[tokio::test]
async fn a_source_account_left_without_a_role_fails_its_path_alone_while_the_other_paths_canary_arrives()
 {
    const OTHER_REGION: &str = "us-west-2";
    let b = fresh_account();
    let remote = format!(
        "    - {{account: \"{b}\", region: {SOURCE_REGION}, logGroupPrefixes: [/ecs/]}}\n    - {{region: {OTHER_REGION}, logGroupPrefixes: [/ecs/]}}\n"
    );
    let (own, _, d) = converged_reaching(&b, &remote).await;
    // The same controller once its accounts file no longer gives it b's role.
    let without_b = pitagora::engine::Engine::new(std::sync::Arc::new(aws_of(&own).await));
    let route = d.canary_route.as_ref().unwrap();
    let now = now_ms();
    let canary = Canary::new("team-a/orders", now, 1);
    let tracked = (without_b.send_canary(&d.id.namespace, &d.target.region, route, canary, now))
        .await
        .expect("one path failing to send fails only that path");
    assert_eq!(tracked.outcome(), Outcome::Delivered, "{tracked:?}");
    let states: Vec<(String, &str)> = (tracked.paths.iter())
        .map(|p| (p.path.name(), p.state.label()))
        .collect();
    assert_eq!(
        states,
        [
            (format!("{b}/{SOURCE_REGION} → destination"), "NotSent"),
            (format!("{own}/{OTHER_REGION} → destination"), "Delivered"),
        ]
    );
    let step = Step::Looked {
        tracked,
        sent: true,
    };
    let u = delivery_status::update(route, None, step, &Evidence::default(), None, now);
    let message = u.condition.expect("a Delivering condition").message;
    let named = format!(
        "{b}/{SOURCE_REGION} → destination: could not send the canary: no credentials for account {b}"
    );
    assert!(message.contains(&named), "{message}");
    assert!(
        !message.contains(OTHER_REGION),
        "only the failing path: {message}"
    );
}
