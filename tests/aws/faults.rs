//! Convergence under faults, against the real emulator behind a fault-injecting proxy
//! (tests/common/faults.rs): throttling in each service's own protocol, 500s, 503s, dropped
//! connections, delays, answers that never come, and writes whose answer is lost. Each
//! scenario ends with AWS exactly as a fault-free run leaves it: nothing duplicated, nothing
//! orphaned.

use crate::common;

use common::faults::{CREATES, Fault, FaultProxy, Rule, When};
use common::inventory::{assert_same, inventory};
use common::moto::*;
use pitagora::engine::{Converged, EngineError};
use pitagora::names::PipelineId;
use pitagora::read::Hints;
use std::time::Duration;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};

/// Pipelines per scenario.
const PIPELINES: usize = 20;
/// Share of calls faulted in the rate scenarios.
const RATE: f64 = 0.2;

/// Scenarios driving the emulator at once. One emulator answers every scenario: with all nine
/// at once on two cores its answers outgrow the 2 s attempt timeout, the timeouts become
/// retries, and the retries more load. That tests the machine, not pitagora.
static SCENARIOS: Semaphore = Semaphore::const_new(2);

async fn scenario_slot() -> SemaphorePermit<'static> {
    SCENARIOS.acquire().await.expect("never closed")
}

/// The scenario's pipelines: every other one with a fan-out to a subscriber (a topic, a
/// subscription, a bucket notification, a Lambda permission), every fourth with a transform.
fn pipelines(m: &Moto) -> Vec<(PipelineId, pitagora::spec::LogPipelineSpec)> {
    (0..PIPELINES)
        .map(|i| {
            let mut yaml = format!("sources:\n  logGroups: [/app/p{i:02}]\n");
            if i % 4 == 3 {
                yaml.push_str(
                    "transform:\n  lambdaArn: arn:aws:lambda:eu-west-1:{account}:function:log-enricher\n",
                );
            }
            if i % 2 == 1 {
                yaml.push_str(
                    "fanout:\n  subscribers:\n    - name: es\n      lambdaArn: arn:aws:lambda:eu-west-1:{account}:function:es-forwarder\n",
                );
            }
            (PipelineId::new("team-f", format!("p{i:02}")), m.spec(&yaml))
        })
        .collect()
}

/// The source log groups and the user's functions the pipelines name.
async fn fixtures(m: &Moto) {
    let groups: Vec<String> = (0..PIPELINES).map(|i| format!("/app/p{i:02}")).collect();
    let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
    m.log_groups(&groups).await;
    m.lambda_functions(&["log-enricher", "es-forwarder"]).await;
}

/// Converges every pipeline at once; each one's outcome.
async fn converge_all(m: &Moto) -> Vec<Result<Converged, EngineError>> {
    let specs = pipelines(m);
    let runs = specs.iter().map(|(id, spec)| async move {
        let pipeline = m.engine.prepare(id, spec).await?;
        m.engine
            .converge(&pipeline, &Hints::default(), &mut |_| {})
            .await
    });
    futures::future::join_all(runs).await
}

/// Asserts that every pipeline converged: every action succeeded and AWS matches its spec.
fn assert_converged(outcomes: &[Result<Converged, EngineError>]) {
    for (i, outcome) in outcomes.iter().enumerate() {
        let done = outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("pipeline p{i:02}: {e}"));
        assert!(
            done.applied().all(|r| r.succeeded()),
            "p{i:02}: {:#?}",
            done.passes
        );
        assert!(done.remaining.in_sync(), "p{i:02}: {:#?}", done.remaining);
    }
}

/// Settings under faults: an attempt that gets no answer is given up after 2 s, and a call
/// keeps retrying for 20 s (a fifth of calls failing needs a few attempts now and then).
fn fault_settings() -> pitagora::aws::AwsSettings {
    let mut settings = test_settings();
    settings.attempt_timeout = Duration::from_secs(2);
    settings.retry.total = Duration::from_secs(20);
    settings
}

/// An account reached through a fresh fault proxy (no faults yet), with the fixtures made.
async fn behind_proxy(seed: u64) -> (FaultProxy, Moto) {
    let account = fresh_account();
    let proxy = FaultProxy::start(&endpoint(), &account, seed).await;
    let m = Moto::at(&proxy.endpoint, account, Vec::new(), fault_settings()).await;
    fixtures(&m).await;
    (proxy, m)
}

/// What the pipelines leave in an account without any fault, computed once per run.
async fn fault_free() -> &'static Vec<String> {
    static REFERENCE: OnceCell<Vec<String>> = OnceCell::const_new();
    REFERENCE
        .get_or_init(|| async {
            let m = Moto::new().await;
            fixtures(&m).await;
            assert_converged(&converge_all(&m).await);
            inventory(&m.outsider().await, &m.account).await
        })
        .await
}

/// A fifth of all calls get `fault`; then, without faults, one more pass converges every
/// pipeline and AWS holds exactly what a fault-free run leaves.
async fn converges_through(fault: Fault, seed: u64) {
    let _slot = scenario_slot().await;
    let reference = fault_free().await;
    let (proxy, m) = behind_proxy(seed).await;
    proxy.set_rules(vec![Rule::new(fault, When::Rate(RATE))]);
    let _under_faults = converge_all(&m).await;
    let injected = proxy.injected().get(&fault).copied().unwrap_or(0);
    assert!(injected >= 20, "only {injected} {fault:?} injected");
    eprintln!(
        "{fault:?}: {injected} of {} calls faulted",
        proxy.seen().len()
    );
    proxy.set_rules(Vec::new());
    // Without faults nothing is held, so the pass waits for answers as long as any other test.
    let calm = Moto::at(
        &proxy.endpoint,
        m.account.clone(),
        Vec::new(),
        test_settings(),
    )
    .await;
    assert_converged(&converge_all(&calm).await);
    let now = inventory(&m.outsider().await, &m.account).await;
    assert_same(
        &now,
        reference,
        &format!("{:?}", proxy.injected_by_operation()),
    );
}

#[tokio::test]
async fn throttling_in_each_services_protocol_is_waited_out() {
    converges_through(Fault::Throttle, 1).await;
}

#[tokio::test]
async fn internal_errors_are_retried() {
    converges_through(Fault::InternalError, 2).await;
}

#[tokio::test]
async fn service_unavailable_is_retried() {
    converges_through(Fault::Unavailable, 3).await;
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    converges_through(Fault::Reset, 4).await;
}

#[tokio::test]
async fn slow_answers_are_waited_for() {
    converges_through(Fault::Delay, 5).await;
}

#[tokio::test]
async fn answers_that_never_come_are_given_up_and_asked_again() {
    converges_through(Fault::Timeout, 6).await;
}

#[tokio::test]
async fn writes_whose_answer_was_lost_are_not_made_twice() {
    converges_through(Fault::LostAnswer, 7).await;
}

#[tokio::test]
async fn losing_the_answer_of_every_create_leaves_no_duplicate() {
    let _slot = scenario_slot().await;
    let reference = fault_free().await;
    let (proxy, m) = behind_proxy(8).await;
    proxy.set_rules(vec![
        Rule::new(Fault::LostAnswer, When::FirstOfEach).operations(CREATES),
    ]);
    // Every create is answered only on its second sending, yet one pass converges.
    assert_converged(&converge_all(&m).await);
    let lost = proxy.injected_by_operation();
    eprintln!("lost answers: {}", lost.values().sum::<u64>());
    for op in [
        "cloudformation:CreateStack",
        "firehose:CreateDeliveryStream",
        "logs:PutSubscriptionFilter",
        "logs:CreateLogGroup",
        "sns:Subscribe",
        "s3:PutBucketNotificationConfiguration",
    ] {
        assert!(
            lost.get(op).copied().unwrap_or(0) > 0,
            "no {op} lost: {lost:?}; seen: {:?}",
            proxy.seen_by_operation()
        );
    }
    let now = inventory(&m.outsider().await, &m.account).await;
    assert_same(
        &now,
        reference,
        &format!("{:?}", proxy.injected_by_operation()),
    );
}

#[tokio::test]
async fn a_call_whose_answer_never_comes_fails_after_the_retry_window_not_never() {
    let account = fresh_account();
    let proxy = FaultProxy::start(&endpoint(), &account, 9).await;
    let mut settings = test_settings();
    settings.attempt_timeout = Duration::from_millis(500);
    settings.retry.total = Duration::from_secs(2);
    let m = Moto::at(&proxy.endpoint, account, Vec::new(), settings).await;
    proxy.set_rules(vec![
        Rule::new(Fault::Timeout, When::Always).service("firehose"),
    ]);
    let c = m.c.clone();
    let call = c.send("Firehose.ListDeliveryStreams", || {
        c.firehose.list_delivery_streams().send()
    });
    // Without a per-attempt bound this would wait for the proxy's hold (a minute) per attempt.
    let err = tokio::time::timeout(Duration::from_secs(15), call)
        .await
        .expect("the call gave up within its retry window")
        .unwrap_err();
    assert_eq!(err.label(), "Unavailable", "{err}");
    let attempts = proxy.injected().get(&Fault::Timeout).copied().unwrap_or(0);
    assert!(attempts >= 2, "{attempts} attempts");
}
