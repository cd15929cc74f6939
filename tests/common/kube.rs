//! The Kubernetes peer for end-to-end tests: a real kube-apiserver (scripts/kube.sh), used with
//! `kubectl` exactly as a user would, and pitagora's controller run in-process with the
//! ServiceAccount identity of manifests/rbac.yaml (never as admin).

use super::moto::Moto;
use kube::config::{KubeConfigOptions, Kubeconfig};
use pitagora::controller::{self, Settings, leader::LeaseConfig};
use std::future::Future;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The kubeconfig of the test API server; fails with instructions when it is not running.
pub fn kubeconfig() -> PathBuf {
    std::env::var_os("KUBECONFIG").map(PathBuf::from).expect(
        "these tests need the local API server: run them with scripts/test.sh, or start it with \
         `scripts/kube.sh start` and `eval \"$(scripts/kube.sh env)\"`",
    )
}

/// Runs `kubectl` (admin) with `args`; stdin from `input` when given.
pub fn kubectl(args: &[&str], input: Option<&str>) -> Output {
    let mut cmd = Command::new("kubectl");
    cmd.env("KUBECONFIG", kubeconfig()).args(args);
    let output = match input {
        None => cmd.output(),
        Some(text) => {
            use std::io::Write;
            cmd.stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = cmd.spawn().expect("kubectl runs");
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            child.wait_with_output()
        }
    };
    output.expect("kubectl runs")
}

/// Runs `kubectl`, panicking with its output unless it succeeds; returns stdout.
pub fn kubectl_ok(args: &[&str], input: Option<&str>) -> String {
    let out = kubectl(args, input);
    assert!(
        out.status.success(),
        "kubectl {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Installs the CRD and the controller's namespace, ServiceAccount and RBAC (once per process).
pub fn install() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let repo = env!("CARGO_MANIFEST_DIR");
        for file in [
            "manifests/namespace.yaml",
            "crds/logpipeline.yaml",
            "manifests/serviceaccount.yaml",
            "manifests/rbac.yaml",
        ] {
            kubectl_ok(
                &[
                    "apply",
                    "--server-side",
                    "--force-conflicts",
                    "-f",
                    &format!("{repo}/{file}"),
                ],
                None,
            );
        }
        kubectl_ok(
            &[
                "wait",
                "--for",
                "condition=established",
                "crd/logpipelines.pitagora.dev",
                "--timeout=60s",
            ],
            None,
        );
    });
}

/// A LogPipeline document named `namespace/name` with `spec` (YAML, indented for it).
pub fn pipeline(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{}",
        spec.lines().map(|l| format!("  {l}\n")).collect::<String>()
    )
}

/// The AWS names of the pipeline `namespace/name` in `m`'s account.
pub fn names(m: &Moto, namespace: &str, name: &str) -> pitagora::names::Names {
    let id = pitagora::names::PipelineId::new(namespace, name);
    pitagora::names::Names::derive(
        &id,
        &pitagora::arn::AwsTarget::new(m.account.clone(), super::moto::REGION),
        None,
        None,
    )
}

/// Someone removes the pipeline's filter from its canary log group (by hand, outside pitagora):
/// canaries then stop at the subscription. Returns the canary group's name.
pub async fn remove_canary_filter(m: &Moto, namespace: &str, name: &str) -> String {
    let n = names(m, namespace, name);
    let canary_group = format!("{}{}", pitagora::names::CANARY_LOG_GROUP_ROOT, n.stream);
    m.outsider()
        .await
        .logs
        .delete_subscription_filter()
        .log_group_name(&canary_group)
        .filter_name(&n.filter)
        .send()
        .await
        .unwrap();
    canary_group
}

/// A fresh namespace for one test.
pub fn namespace(label: &str) -> String {
    let account = super::moto::fresh_account();
    let name = format!("t-{label}-{}", &account[6..]);
    kubectl_ok(&["create", "namespace", &name], None);
    name
}

/// A client with the controller's ServiceAccount identity (the `pitagora-local-sa` context).
pub async fn controller_client() -> kube::Client {
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(kubeconfig()).expect("kubeconfig reads"),
        &KubeConfigOptions {
            context: Some("pitagora-local-sa".into()),
            ..KubeConfigOptions::default()
        },
    )
    .await
    .expect("the ServiceAccount context exists");
    kube::Client::try_from(config).expect("client builds")
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A controller running in-process; stops (releasing its lease) when [`Running::stop`] is called,
/// or is killed (no release, as a crash) when dropped or [`Running::kill`]ed.
pub struct Running {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), controller::RunError>>>,
    /// Its HTTP address.
    pub http: std::net::SocketAddr,
}

impl Running {
    /// Graceful shutdown; waits for it. A controller still running 20 s later fails the test
    /// here, rather than as whatever it should have done on its way out (release its lease).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let joined = tokio::time::timeout(Duration::from_secs(20), task)
                .await
                .expect("the controller did not stop within 20 s of a graceful stop");
            if let Err(e) = joined
                && e.is_panic()
            {
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }

    /// Abrupt end, as a crashed process: nothing is released.
    pub fn kill(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// GETs a path of the controller's HTTP endpoint: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let Ok(mut s) = tokio::net::TcpStream::connect(self.http).await else {
            return (0, String::new());
        };
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        s.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        let _ = s.read_to_string(&mut response).await;
        let status = response
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = response
            .split("\r\n\r\n")
            .nth(1)
            .unwrap_or_default()
            .to_owned();
        (status, body)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Settings for a test controller watching `namespace`, with its own lease when `lease` names one.
pub fn settings(namespace: &str, lease: Option<(&str, &str)>) -> Settings {
    Settings {
        namespace: Some(namespace.to_owned()),
        concurrency: 2,
        http_addr: std::net::SocketAddr::from(([127, 0, 0, 1], free_port())),
        lease: lease.map(|(name, identity)| LeaseConfig {
            namespace: "pitagora-system".into(),
            name: name.to_owned(),
            identity: identity.to_owned(),
            duration: Duration::from_secs(3),
        }),
        shards: 1,
        max_error_backoff: Duration::from_secs(2),
        // Canaries in tests arrive at once (moto writes synchronously): give up quickly.
        canary_margin: Duration::from_secs(3),
        reporter: "pitagora".into(),
        instance: lease
            .map(|(_, i)| i.to_owned())
            .unwrap_or_else(|| "test".into()),
        events: false,
    }
}

/// Starts the controller with `m`'s AWS account and the ServiceAccount identity.
pub async fn start(m: &Moto, settings: Settings) -> Running {
    start_with(m.engine.clone(), settings).await
}

/// Starts the controller with `engine` (e.g. `m.engine` with a source allow-list) and the
/// ServiceAccount identity.
pub async fn start_with(engine: pitagora::engine::Engine, settings: Settings) -> Running {
    let client = controller_client().await;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let http = settings.http_addr;
    let task = tokio::spawn(async move {
        controller::run(client, engine, settings, async {
            let _ = stopped.await;
        })
        .await
    });
    Running {
        stop: Some(stop),
        task: Some(task),
        http,
    }
}

/// Polls `check` every 100 ms until it returns `Some`, or fails after `timeout` with `what`.
pub async fn until<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A LogPipeline's field by JSONPath, via kubectl (empty when absent).
pub fn jsonpath(namespace: &str, name: &str, path: &str) -> String {
    let out = kubectl(
        &[
            "get",
            "lp",
            "-n",
            namespace,
            name,
            "-o",
            &format!("jsonpath={path}"),
        ],
        None,
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A condition's status of a LogPipeline (`True`, `False`, `Unknown`, or empty).
pub fn condition(namespace: &str, name: &str, type_: &str) -> String {
    jsonpath(
        namespace,
        name,
        &format!("{{.status.conditions[?(@.type==\"{type_}\")].status}}"),
    )
}

/// Every event (events.k8s.io) in `namespace` with `reason`, as JSON.
fn events_json(namespace: &str, reason: &str) -> Vec<serde_json::Value> {
    let out = kubectl_ok(
        &["get", "events.events.k8s.io", "-n", namespace, "-o", "json"],
        None,
    );
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let items = list["items"].as_array().cloned().unwrap_or_default();
    items
        .into_iter()
        .filter(|e| e["reason"] == reason)
        .collect()
}

/// The notes of a LogPipeline's events with `reason`.
pub fn events(namespace: &str, reason: &str) -> Vec<String> {
    events_json(namespace, reason)
        .iter()
        .map(|e| e["note"].as_str().unwrap_or_default().to_owned())
        .collect()
}

// ---- Added for the drift, deletion, restart, leader-election, RBAC and metrics tests ----

/// A field (`reason`, `message`, `status`, …) of a LogPipeline's condition (empty when absent).
pub fn condition_field(namespace: &str, name: &str, type_: &str, field: &str) -> String {
    jsonpath(
        namespace,
        name,
        &format!("{{.status.conditions[?(@.type==\"{type_}\")].{field}}}"),
    )
}

/// Whether the LogPipeline exists (as seen by `kubectl get`; panics on errors other than
/// "not found").
pub fn pipeline_exists(namespace: &str, name: &str) -> bool {
    let out = kubectl(&["get", "lp", "-n", namespace, name, "-o", "name"], None);
    if out.status.success() {
        return true;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("NotFound") || stderr.contains("not found"),
        "kubectl get lp -n {namespace} {name}: {stderr}"
    );
    false
}

/// Sets the annotation that requests an immediate check to `value`, as a user would.
pub fn request_reconcile(namespace: &str, name: &str, value: &str) {
    kubectl_ok(
        &[
            "annotate",
            "lp",
            "-n",
            namespace,
            name,
            &format!("{}={value}", controller::RECONCILE_REQUESTED_AT),
            "--overwrite",
        ],
        None,
    );
}

/// The holder of a leader Lease in `pitagora-system` (empty when it is free or absent).
pub fn lease_holder(lease: &str) -> String {
    let out = kubectl(
        &[
            "get",
            "lease",
            "-n",
            "pitagora-system",
            lease,
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
        None,
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The value of one sample of a Prometheus text exposition, by its exact series (name and
/// labels as rendered, e.g. `pitagora_leader` or `pitagora_drift_items{namespace="a",…}`).
pub fn metric(body: &str, series: &str) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.rsplit_once(' ').filter(|(s, _)| *s == series))
        .and_then(|(_, v)| v.parse().ok())
}

/// The samples of a Prometheus text exposition whose series starts with `prefix`, as
/// `(series, value)`.
pub fn metrics_with_prefix(body: &str, prefix: &str) -> Vec<(String, f64)> {
    body.lines()
        .filter(|l| !l.starts_with('#') && l.starts_with(prefix))
        .filter_map(|l| l.rsplit_once(' '))
        .filter_map(|(s, v)| Some((s.to_owned(), v.parse().ok()?)))
        .collect()
}

/// `(object, reporting instance)` of every event with `reason` in `namespace`: which replica
/// acted on which pipeline.
pub fn event_instances(namespace: &str, reason: &str) -> Vec<(String, String)> {
    events_json(namespace, reason)
        .iter()
        .map(|e| {
            let object = e["regarding"]["name"].as_str().unwrap_or_default();
            let instance = e["reportingInstance"].as_str().unwrap_or_default();
            (object.to_owned(), instance.to_owned())
        })
        .collect()
}

/// Settings of replica `identity` dividing `shards` shards named after `lease`.
pub fn sharded(namespace: &str, lease: &str, identity: &str, shards: u32) -> Settings {
    Settings {
        shards,
        ..settings(namespace, Some((lease, identity)))
    }
}
