//! The controller under crashes and faults: the `pitagora run` binary (SIGKILLed as a crashed
//! pod would be) against the real API server, with AWS behind the fault-injecting proxy. A
//! controller killed right after any write of a create or a delete is succeeded by one that
//! finishes the job with nothing duplicated or orphaned; a dropped API server connection is
//! re-established; one pipeline denied by IAM does not hold up the others.

use crate::common;

use common::faults::{Fault, FaultProxy, Rule, When};
use common::inventory::{assert_same, inventory};
use common::kube::*;
use common::moto::*;
use common::relay::Relay;
use pitagora::names::PipelineId;
use pitagora::read::Hints;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(120);

/// One source group and a fan-out to one subscriber: every kind of write pitagora makes.
const SPEC: &str = "sources:\n  logGroups: [/ecs/orders]\nfanout:\n  subscribers:\n    - name: es\n      lambdaArn: arn:aws:lambda:eu-west-1:{account}:function:es-forwarder\n";

/// A `pitagora run` process; SIGKILLed when dropped.
struct Controller {
    child: Child,
    log: PathBuf,
}

impl Controller {
    /// The binary watching `namespace`, with AWS at `aws` and the API server as `kubeconfig`
    /// says, with the ServiceAccount's identity.
    fn spawn(namespace: &str, aws: &str, kubeconfig: &std::path::Path) -> Self {
        let log = std::env::temp_dir().join(format!(
            "pitagora-k8s-faults-{namespace}-{}.log",
            fresh_account()
        ));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_pitagora"))
            .args([
                "run",
                "--watch-namespace",
                namespace,
                "--leader-election",
                "false",
                "--http-addr",
                &format!("127.0.0.1:{}", free_port()),
                "--canary-margin",
                "3",
                "--max-error-backoff",
                "2",
                // The fixtures' log groups are not named after the test's namespace.
                "--single-tenant",
            ])
            .env("KUBECONFIG", kubeconfig)
            .env("AWS_ENDPOINT_URL", aws)
            .env("AWS_REGION", REGION)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .env_remove("AWS_PROFILE")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("the pitagora binary runs");
        Self { child, log }
    }

    /// SIGKILL, as a node losing the pod: nothing is flushed or released.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// What it logged (shown when a scenario fails).
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The test API server's kubeconfig with the ServiceAccount's context, and `server` instead of
/// its address when given (a relay in front of it).
fn controller_kubeconfig(server: Option<&str>) -> PathBuf {
    let text = std::fs::read_to_string(kubeconfig()).unwrap();
    let mut text = text.replace(
        "current-context: pitagora-local\n",
        "current-context: pitagora-local-sa\n",
    );
    if let Some(server) = server {
        let original = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("server: "))
            .unwrap()
            .to_owned();
        text = text.replace(&original, server);
    }
    let path = std::env::temp_dir().join(format!("pitagora-sa-{}.kubeconfig", fresh_account()));
    std::fs::write(&path, text).unwrap();
    path
}

/// An account behind a fresh proxy, with the source group and the subscriber function.
async fn world() -> (FaultProxy, Moto) {
    let account = fresh_account();
    let proxy = FaultProxy::start(&endpoint(), &account, 11).await;
    let m = Moto::at(&proxy.endpoint, account, Vec::new(), test_settings()).await;
    m.log_groups(&["/ecs/orders"]).await;
    m.lambda_functions(&["es-forwarder"]).await;
    (proxy, m)
}

/// What `namespace/orders` leaves in an account without any fault: converged, or converged
/// then deleted.
async fn reference(namespace: &str, deleted: bool) -> Vec<String> {
    let r = Moto::new().await;
    r.log_groups(&["/ecs/orders"]).await;
    r.lambda_functions(&["es-forwarder"]).await;
    let pipeline = r
        .engine
        .prepare(&PipelineId::new(namespace, "orders"), &r.spec(SPEC))
        .await
        .unwrap();
    let done = r
        .engine
        .converge(&pipeline, &Hints::default(), &mut |_| {})
        .await
        .unwrap();
    assert!(done.remaining.in_sync(), "{:#?}", done.remaining);
    if deleted {
        r.engine
            .delete(&pipeline, &Hints::default(), &mut |_| {})
            .await
            .unwrap();
    }
    inventory(&r.outsider().await, &r.account).await
}

/// Waits (up to [`LONG`]) until `holds`; fails with `what` and the controller's log.
async fn until_holds(what: &str, ctl: &Controller, holds: impl Fn() -> bool) {
    let held = tokio::time::timeout(LONG, async {
        while !holds() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await;
    assert!(held.is_ok(), "{what} not within {LONG:?}:\n{}", ctl.log());
}

/// `kubectl apply` of `namespace/orders` with [`SPEC`] in `m`'s account.
fn apply_orders(namespace: &str, m: &Moto) {
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(
            namespace,
            "orders",
            &SPEC.replace("{account}", &m.account),
        )),
    );
}

async fn until_ready(namespace: &str, ctl: &Controller) {
    until_holds("Ready", ctl, || {
        condition(namespace, "orders", "Ready") == "True"
    })
    .await;
}

/// The controller is killed right after AWS accepted `operation` of a create (its answer
/// never came); a new one converges, and AWS holds exactly what a fault-free run leaves.
async fn killed_after_create_step(operation: &str) {
    install();
    let ns = namespace("crash");
    let (proxy, m) = world().await;
    let kubeconfig = controller_kubeconfig(None);
    proxy.set_rules(vec![
        Rule::new(Fault::Stall, When::Always).operations(&[operation]),
    ]);
    let first = Controller::spawn(&ns, &proxy.endpoint, &kubeconfig);
    apply_orders(&ns, &m);
    proxy.until_injected(operation, Fault::Stall, LONG).await;
    first.kill9();
    proxy.set_rules(Vec::new());
    let second = Controller::spawn(&ns, &proxy.endpoint, &kubeconfig);
    until_ready(&ns, &second).await;
    assert_same(
        &inventory(&m.outsider().await, &m.account).await,
        &reference(&ns, false).await,
        &second.log(),
    );
}

/// The controller is killed right after AWS accepted `operation` of a delete; a new one
/// finishes it, and AWS holds exactly what a fault-free delete leaves (the bucket retained).
async fn killed_after_delete_step(operation: &str) {
    install();
    let ns = namespace("crashdel");
    let (proxy, m) = world().await;
    let kubeconfig = controller_kubeconfig(None);
    let first = Controller::spawn(&ns, &proxy.endpoint, &kubeconfig);
    apply_orders(&ns, &m);
    until_ready(&ns, &first).await;
    proxy.set_rules(vec![
        Rule::new(Fault::Stall, When::Always).operations(&[operation]),
    ]);
    kubectl_ok(
        &["delete", "logpipeline", "orders", "-n", &ns, "--wait=false"],
        None,
    );
    proxy.until_injected(operation, Fault::Stall, LONG).await;
    first.kill9();
    proxy.set_rules(Vec::new());
    let second = Controller::spawn(&ns, &proxy.endpoint, &kubeconfig);
    until_holds("deleted", &second, || !pipeline_exists(&ns, "orders")).await;
    assert_same(
        &inventory(&m.outsider().await, &m.account).await,
        &reference(&ns, true).await,
        &second.log(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_creating_the_stack_a_new_controller_converges_without_duplicates() {
    killed_after_create_step("CreateStack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_stacks_second_step_a_new_controller_converges_without_duplicates() {
    killed_after_create_step("UpdateStack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_creating_the_stream_a_new_controller_converges_without_duplicates() {
    killed_after_create_step("CreateDeliveryStream").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_putting_a_filter_a_new_controller_converges_without_duplicates() {
    killed_after_create_step("PutSubscriptionFilter").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_the_bucket_notification_a_new_controller_converges_without_duplicates() {
    killed_after_create_step("PutBucketNotificationConfiguration").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_subscribing_a_new_controller_converges_without_duplicates() {
    killed_after_create_step("Subscribe").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_creating_the_canary_group_a_new_controller_converges_without_duplicates() {
    killed_after_create_step("CreateLogGroup").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_deleting_a_filter_a_new_controller_finishes_the_delete() {
    killed_after_delete_step("DeleteSubscriptionFilter").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_removing_the_bucket_notification_a_new_controller_finishes_the_delete() {
    killed_after_delete_step("PutBucketNotificationConfiguration").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_deleting_the_canary_group_a_new_controller_finishes_the_delete() {
    killed_after_delete_step("DeleteLogGroup").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_deleting_the_stream_a_new_controller_finishes_the_delete() {
    killed_after_delete_step("DeleteDeliveryStream").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_after_deleting_the_stack_a_new_controller_finishes_the_delete() {
    killed_after_delete_step("DeleteStack").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_api_server_connection_is_reestablished_and_new_pipelines_are_seen() {
    install();
    let ns = namespace("relay");
    let (proxy, m) = world().await;
    m.log_groups(&["/ecs/payments"]).await;
    let server: std::net::SocketAddr = std::fs::read_to_string(kubeconfig())
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("server: https://"))
        .unwrap()
        .parse()
        .unwrap();
    let relay = Relay::start(server).await;
    let kubeconfig = controller_kubeconfig(Some(&format!("https://{}", relay.addr)));
    let ctl = Controller::spawn(&ns, &proxy.endpoint, &kubeconfig);
    apply_orders(&ns, &m);
    until_ready(&ns, &ctl).await;
    // Mid-watch: every connection the controller holds (its watch among them) closes.
    assert!(relay.cut() > 0, "the controller held no connection");
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(
            &ns,
            "payments",
            "sources:\n  logGroups: [/ecs/payments]\n",
        )),
    );
    until_holds("the new pipeline Ready", &ctl, || {
        condition(&ns, "payments", "Ready") == "True"
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_on_one_pipeline_does_not_hold_up_the_others() {
    install();
    let ns = namespace("denied");
    let (proxy, m) = world().await;
    let groups = ["/ecs/a", "/ecs/b", "/ecs/c", "/ecs/denied"];
    m.log_groups(&groups).await;
    // Every call that names the denied pipeline's source group fails as IAM would.
    proxy.set_rules(vec![
        Rule::new(Fault::AccessDenied, When::Always).mentioning("/ecs/denied"),
    ]);
    let kubeconfig = controller_kubeconfig(None);
    let ctl = Controller::spawn(&ns, &proxy.endpoint, &kubeconfig);
    for name in ["denied", "a", "b", "c"] {
        kubectl_ok(
            &["apply", "-f", "-"],
            Some(&pipeline(
                &ns,
                name,
                &format!("sources:\n  logGroups: [/ecs/{name}]\n"),
            )),
        );
    }
    until_holds("the others Ready", &ctl, || {
        ["a", "b", "c"]
            .iter()
            .all(|n| condition(&ns, n, "Ready") == "True")
    })
    .await;
    // The denied one says why, in its own status.
    assert_eq!(condition(&ns, "denied", "Synced"), "False", "{}", ctl.log());
    let message = condition_field(&ns, "denied", "Synced", "message");
    assert!(message.contains("access denied"), "{message}");
}
