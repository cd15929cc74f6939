//! The cutover from fluentd end to end: a real API server (kubectl as a user would, the
//! controller with its ServiceAccount's RBAC plus manifests/fluentd-access.yaml), moto for AWS,
//! and CloudWatch's metrics from the canned-answer server. Each stage's ConfigMap key (parsed
//! as fluentd would) and SNS subscriptions, the gate, the rollback's order of writes, the force
//! annotation, conflicts and hand edits.

use crate::common;

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents, SharedInterceptor};
use common::canned::{self, CloudWatchTo};
use common::fluentd::routes;
use common::kube::*;
use common::moto::*;
use k8s_openapi::jiff::Timestamp;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LONG: Duration = Duration::from_secs(45);
const NAME: &str = "payments";
const MAP: &str = "fluentd-pitagora-routes";
/// The pipeline's key in namespace `ns`: a namespace writes only keys named after it.
fn key(ns: &str) -> String {
    format!("{ns}.payments.conf")
}

/// The cluster's own fluentd configuration, already in the ConfigMap: it must stay untouched.
const MAIN_CONF: &str = "@include /etc/fluent/pitagora/*.conf\n";

/// A namespace with fluentd's side: the controller's access (manifests/fluentd-access.yaml),
/// the fluentd DaemonSet, and the ConfigMap holding the cluster's own key.
fn fluentd_namespace(label: &str) -> String {
    let ns = bare_namespace(label);
    let map = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {MAP}\ndata:\n  fluent.conf: |\n    {}",
        MAIN_CONF
    );
    kubectl_ok(&["create", "-n", &ns, "-f", "-"], Some(&map));
    ns
}

/// [`fluentd_namespace`] without the ConfigMap.
fn bare_namespace(label: &str) -> String {
    install();
    let ns = namespace(label);
    let access = format!(
        "{}/manifests/fluentd-access.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    kubectl_ok(&["apply", "-n", &ns, "-f", &access], None);
    let daemonset = "apiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: fluentd\nspec:\n  selector:\n    matchLabels: {app: fluentd}\n  template:\n    metadata:\n      labels: {app: fluentd}\n    spec:\n      containers:\n        - name: fluentd\n          image: fluent/fluentd:v1.17\n";
    kubectl_ok(&["apply", "-n", &ns, "-f", "-"], Some(daemonset));
    ns
}

/// The route log groups of the test in namespace `ns` (its own, whatever the account).
fn groups(ns: &str) -> [String; 2] {
    [format!("/ecs/{ns}-api"), format!("/ecs/{ns}-worker")]
}

/// The pipeline beside fluentd at `stage` with drift `policy`, its consumer `lambda`.
fn spec(ns: &str, stage: &str, policy: &str, lambda: &str) -> String {
    let [api, worker] = groups(ns);
    let key = key(ns);
    format!(
        "sources:\n  logGroups: [{api}, {worker}]\n\
         delivery:\n  buffering:\n    intervalSeconds: 0\n\
         fanout:\n  subscribers:\n    - name: es-forwarder\n      lambdaArn: {lambda}\n\
         legacy:\n  fluentd:\n    target:\n      host: aggregator.{ns}.svc\n\
         \x20   config:\n      namespace: {ns}\n      name: {MAP}\n      key: {key}\n\
         \x20   reload:\n      kind: DaemonSet\n      name: fluentd\n\
         \x20   routes:\n      - match: app.payments.api.**\n        logGroup: {api}\n\
         \x20     - match: app.payments.worker.**\n        logGroup: {worker}\n\
         cutover:\n  stage: {stage}\n  requiredSuccesses: 1\n  shadowWindowSeconds: 0\n\
         drift:\n  policy: {policy}\n  checkIntervalSeconds: 3600\n"
    )
}

/// AWS in moto, CloudWatch's metrics from a canned server that says both route groups receive
/// events (`extra` interceptors first).
struct World {
    m: Moto,
    lambda: String,
    ns: String,
    ctl: Running,
    _metrics: canned::Canned,
}

async fn world(label: &str, extra: Vec<SharedInterceptor>) -> World {
    world_in(fluentd_namespace(label), extra, None).await
}

/// A world in namespace `ns`, in its own AWS account unless `account` names one.
async fn world_in(ns: String, extra: Vec<SharedInterceptor>, account: Option<&str>) -> World {
    let server = canned::serve().await;
    let now = Timestamp::now().as_millisecond();
    let receiving = vec![(now - 60_000, 5.0), (now, 5.0), (now + 600_000, 5.0)];
    *server.body.lock().unwrap() =
        canned::metric_data(&[("in0", receiving.clone()), ("in1", receiving)]);
    let mut interceptors = extra;
    interceptors.push(SharedInterceptor::new(CloudWatchTo(server.url.clone())));
    let m = match account {
        Some(account) => Moto::in_account(account.to_owned(), interceptors).await,
        None => Moto::with_interceptors(interceptors).await,
    };
    let [api, worker] = groups(&ns);
    m.log_groups(&[api.as_str(), worker.as_str()]).await;
    let lambda = m.lambda_functions(&["es-forwarder"]).await.remove(0);
    let ctl = start(&m, settings(&ns, None)).await;
    World {
        m,
        lambda,
        ns,
        ctl,
        _metrics: server,
    }
}

impl World {
    fn apply(&self, stage: &str, policy: &str) {
        let doc = pipeline(&self.ns, NAME, &spec(&self.ns, stage, policy, &self.lambda));
        kubectl_ok(&["apply", "-f", "-"], Some(&doc));
    }

    fn field(&self, path: &str) -> String {
        jsonpath(&self.ns, NAME, path)
    }

    /// Waits until `check` holds, requesting a check every two seconds (each one also sends a
    /// canary), as a user annotating the pipeline would; on timeout, says where the cutover
    /// stands.
    async fn checked_until<T>(&self, what: &str, mut check: impl FnMut(&Self) -> Option<T>) -> T {
        let deadline = Instant::now() + LONG;
        let mut next = Instant::now();
        loop {
            if let Some(found) = check(self) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {LONG:?} waiting for {what}; status.cutover: {}; conditions: {}",
                self.field("{.status.cutover}"),
                self.field("{.status.conditions}")
            );
            if Instant::now() >= next {
                request_reconcile(&self.ns, NAME, &Timestamp::now().to_string());
                next = Instant::now() + Duration::from_secs(2);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits for `CutoverBlocked=True`, checks its reason, and returns its message.
    async fn blocked(&self, reason: &str) -> String {
        self.checked_until("CutoverBlocked=True", |w| {
            (condition(&w.ns, NAME, "CutoverBlocked") == "True").then_some(())
        })
        .await;
        assert_eq!(
            condition_field(&self.ns, NAME, "CutoverBlocked", "reason"),
            reason
        );
        condition_field(&self.ns, NAME, "CutoverBlocked", "message")
    }

    async fn at_stage(&self, stage: &str) {
        self.checked_until(&format!("stage {stage} in effect"), |w| {
            (w.field("{.status.cutover.stage}") == stage).then_some(())
        })
        .await;
    }

    async fn subscribers(&self) -> Vec<String> {
        let n = names(&self.m, &self.ns, NAME);
        let topic =
            pitagora::arn::AwsTarget::new(self.m.account.clone(), REGION).topic_arn(&n.topic);
        lambda_subscribers(&self.m.c, &topic)
            .await
            .unwrap_or_default()
    }
}

/// The ConfigMap's data.
fn data(ns: &str) -> serde_json::Value {
    let out = kubectl_ok(&["get", "configmap", "-n", ns, MAP, "-o", "json"], None);
    serde_json::from_str::<serde_json::Value>(&out).unwrap()["data"].clone()
}

/// The pipeline's key, parsed as fluentd would: each route's stores (`!` = ignore_error).
fn shapes(ns: &str) -> Vec<Vec<String>> {
    let text = data(ns)[key(ns)].as_str().unwrap_or_default().to_owned();
    routes(&text).iter().map(|r| r.shape()).collect()
}

/// Someone edits the pipeline's key by hand (`kubectl patch`), changing the aggregator's port:
/// (the text pitagora had rendered, the edited text).
fn edit_key_by_hand(ns: &str) -> (String, String) {
    let rendered = data(ns)[key(ns)].as_str().unwrap().to_owned();
    let edited = rendered.replace("port 24224", "port 24225");
    let patch = serde_json::json!({ "data": { key(ns): edited } }).to_string();
    kubectl_ok(
        &[
            "patch",
            "configmap",
            "-n",
            ns,
            MAP,
            "--type",
            "merge",
            "-p",
            &patch,
        ],
        None,
    );
    (rendered, edited)
}

/// The DaemonSet's reload annotation for the key.
fn reload_annotation(ns: &str) -> String {
    let path = format!(
        "jsonpath={{.spec.template.metadata.annotations.fluentd\\.pitagora\\.dev/{}}}",
        key(ns).replace('.', "\\.")
    );
    kubectl_ok(
        &["get", "daemonset", "-n", ns, "fluentd", "-o", &path],
        None,
    )
}

fn shape(stores: &[&str]) -> Vec<Vec<String>> {
    vec![stores.iter().map(|s| s.to_string()).collect(); 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shadow_writes_both_stores_with_cloudwatch_ignore_error_rolls_fluentd_and_subscribes_nobody()
 {
    let w = world("shadow", Vec::new()).await;
    w.apply("Shadow", "Correct");
    w.at_stage("Shadow").await;
    assert_eq!(shapes(&w.ns), shape(&["!cloudwatch_logs", "forward"]));
    assert_eq!(
        data(&w.ns)["fluent.conf"],
        MAIN_CONF,
        "the cluster's own key is untouched"
    );
    let hash = w.field("{.status.cutover.configHash}");
    assert!(hash.starts_with("sha256:"), "{hash:?}");
    assert_eq!(reload_annotation(&w.ns), hash);
    assert_eq!(
        w.subscribers().await,
        Vec::<String>::new(),
        "consumers wait for Primary"
    );
    let table = kubectl_ok(&["get", "lp", "-n", &w.ns], None);
    let row: Vec<&str> = table.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(row[..2], [NAME, "Shadow"], "{table}");
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn primary_takes_effect_once_delivering_swaps_ignore_error_and_subscribes_the_consumers() {
    let w = world("primary", Vec::new()).await;
    w.apply("Primary", "Correct");
    w.at_stage("Primary").await;
    assert_eq!(condition(&w.ns, NAME, "Delivering"), "True");
    assert_eq!(shapes(&w.ns), shape(&["!forward", "cloudwatch_logs"]));
    assert_eq!(w.subscribers().await, std::slice::from_ref(&w.lambda));
    let advanced = events(&w.ns, "CutoverAdvanced");
    assert!(
        advanced.iter().any(|n| n.contains("→ Primary")),
        "{advanced:?}"
    );
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_is_blocked_while_the_canary_fails_and_takes_effect_once_delivery_is_restored() {
    let w = world("blocked", Vec::new()).await;
    w.apply("Primary", "Correct");
    w.at_stage("Primary").await;
    // The canary's subscription filter removed by hand, kept removed by Report.
    w.apply("Primary", "Report");
    remove_canary_filter(&w.m, &w.ns, NAME).await;
    w.checked_until("Delivering=False", |w| {
        (condition(&w.ns, NAME, "Delivering") == "False").then_some(())
    })
    .await;
    w.apply("New", "Report");
    let message = w.blocked("NotDelivering").await;
    assert!(
        message.contains("delivery fails at cloudwatch-logs → firehose"),
        "{message}"
    );
    assert_eq!(w.field("{.status.cutover.blocked[0].stage}"), "New");
    assert_eq!(
        shapes(&w.ns),
        shape(&["!forward", "cloudwatch_logs"]),
        "the legacy route stays"
    );
    let blocked = until(LONG, "a CutoverBlocked event", || async {
        let notes = events(&w.ns, "CutoverBlocked");
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(
        blocked
            .iter()
            .any(|n| n.contains("held before New: NotDelivering")),
        "{blocked:?}"
    );

    w.apply("New", "Correct");
    w.at_stage("New").await;
    assert_eq!(shapes(&w.ns), shape(&["cloudwatch_logs"]));
    assert_eq!(condition(&w.ns, NAME, "CutoverBlocked"), "False");
    assert!(
        w.field("{.status.cutover.provenCanaries}")
            .parse::<i32>()
            .unwrap()
            >= 1
    );
    let before_new = events(&w.ns, "CutoverBlocked")
        .into_iter()
        .filter(|n| n.contains("held before New"))
        .count();
    assert_eq!(before_new, 1, "said once");
    w.ctl.stop().await;
}

/// Records the fluentd key as it stands whenever SNS is asked to unsubscribe.
#[derive(Debug, Clone)]
struct KeyAtUnsubscribe {
    ns: Arc<Mutex<String>>,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Intercept for KeyAtUnsubscribe {
    fn name(&self) -> &'static str {
        "test::KeyAtUnsubscribe"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let body = context.request().body().bytes().unwrap_or_default();
        if String::from_utf8_lossy(body).contains("Action=Unsubscribe") {
            let ns = self.ns.lock().unwrap().clone();
            let text = data(&ns)[key(&ns)].as_str().unwrap_or_default().to_owned();
            self.seen.lock().unwrap().push(text);
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_back_is_immediate_and_the_legacy_store_is_written_before_the_consumers_are_unsubscribed()
 {
    let spy = KeyAtUnsubscribe {
        ns: Arc::default(),
        seen: Arc::default(),
    };
    let w = world("rollback", vec![SharedInterceptor::new(spy.clone())]).await;
    *spy.ns.lock().unwrap() = w.ns.clone();
    w.apply("New", "Correct");
    w.at_stage("New").await;
    assert_eq!(w.subscribers().await, std::slice::from_ref(&w.lambda));

    w.apply("Shadow", "Correct");
    w.at_stage("Shadow").await;
    assert_eq!(shapes(&w.ns), shape(&["!cloudwatch_logs", "forward"]));
    assert_eq!(w.subscribers().await, Vec::<String>::new());
    let seen = spy.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one consumer unsubscribed");
    let at_unsubscribe: Vec<Vec<String>> = routes(&seen[0]).iter().map(|r| r.shape()).collect();
    assert_eq!(
        at_unsubscribe,
        shape(&["!cloudwatch_logs", "forward"]),
        "fluentd was already writing the legacy store when the consumers were unsubscribed"
    );
    let back = events(&w.ns, "CutoverRolledBack");
    assert!(back.iter().any(|n| n.contains("New → Shadow")), "{back:?}");
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_cutover_skips_the_checks_and_is_recorded_in_status_and_an_event() {
    let w = world("forced", Vec::new()).await;
    w.apply("Legacy", "Correct");
    w.at_stage("Legacy").await;
    assert_eq!(
        shapes(&w.ns),
        shape(&["forward"]),
        "Legacy: the aggregator only"
    );
    assert_eq!(w.subscribers().await, Vec::<String>::new());
    // New needs 1000 canaries: only the annotation, set with the move, can take it there.
    let doc = pipeline(
        &w.ns,
        NAME,
        &spec(&w.ns, "New", "Correct", &w.lambda)
            .replace("requiredSuccesses: 1\n", "requiredSuccesses: 1000\n"),
    )
    .replace(
        &format!("  name: {NAME}\n"),
        &format!(
            "  name: {NAME}\n  annotations:\n    pitagora.dev/force-cutover: aggregator disk full\n"
        ),
    );
    kubectl_ok(&["apply", "-f", "-"], Some(&doc));
    w.at_stage("New").await;
    assert_eq!(shapes(&w.ns), shape(&["cloudwatch_logs"]));
    assert_eq!(
        w.field("{.status.cutover.forced.reason}"),
        "aggregator disk full"
    );
    assert_eq!(w.field("{.status.cutover.forced.stage}"), "New");
    let forced = events(&w.ns, "CutoverForced");
    assert!(forced[0].contains("aggregator disk full"), "{forced:?}");
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_applied_by_another_manager_is_a_conflict_and_left_with_every_other_key() {
    let w = world("conflict", Vec::new()).await;
    let theirs = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {MAP}\n  namespace: {}\ndata:\n  {}: \"# the platform team's\\n\"\n",
        w.ns,
        key(&w.ns)
    );
    kubectl_ok(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "platform-gitops",
            "-f",
            "-",
        ],
        Some(&theirs),
    );
    w.apply("Shadow", "Correct");
    let message = w.blocked("FluentdConflict").await;
    assert!(message.contains("platform-gitops"), "{message}");
    assert_eq!(data(&w.ns)[key(&w.ns)], "# the platform team's\n");
    assert_eq!(data(&w.ns)["fluent.conf"], MAIN_CONF);
    assert_eq!(reload_annotation(&w.ns), "", "nothing rolled");
    let kinds = w.field("{.status.resources[?(@.kind==\"FluentdRoutes\")].state}");
    assert_eq!(kinds, "Conflict");
    w.ctl.stop().await;
}

/// Adds `data` (key: text) to the ConfigMap as a user would (`kubectl patch`, an update).
fn patch_keys(ns: &str, data: serde_json::Value) {
    let patch = serde_json::json!({ "data": data }).to_string();
    kubectl_ok(
        &[
            "patch",
            "configmap",
            "-n",
            ns,
            MAP,
            "--type",
            "merge",
            "-p",
            &patch,
        ],
        None,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_overlapping_another_pipelines_key_is_a_conflict_naming_that_key() {
    let w = world("overlap", Vec::new()).await;
    let theirs = "# pitagora.dev/pipeline: other/everything\n<match app.payments.**>\n  @type copy\n</match>\n";
    patch_keys(
        &w.ns,
        serde_json::json!({ "other.everything.conf": theirs }),
    );
    w.apply("Shadow", "Correct");
    let message = w.blocked("FluentdConflict").await;
    assert!(message.contains("other.everything.conf"), "{message}");
    assert!(message.contains("app.payments.api.**"), "{message}");
    assert!(data(&w.ns).get(key(&w.ns)).is_none(), "nothing written");
    assert_eq!(data(&w.ns)["other.everything.conf"], theirs);
    assert_eq!(reload_annotation(&w.ns), "", "nothing rolled");
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_holding_what_pitagora_never_wrote_is_a_conflict_and_left_as_it_is() {
    let w = world("foreign", Vec::new()).await;
    let theirs = "<match app.**>\n  @type null\n</match>\n";
    patch_keys(&w.ns, serde_json::json!({ key(&w.ns): theirs }));
    w.apply("Shadow", "Correct");
    let message = w.blocked("FluentdConflict").await;
    assert!(message.contains("did not render"), "{message}");
    assert_eq!(data(&w.ns)[key(&w.ns)], theirs);
    assert_eq!(reload_annotation(&w.ns), "", "nothing rolled");
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_key_edited_by_hand_is_drift_and_written_back() {
    let w = world("edited", Vec::new()).await;
    w.apply("Shadow", "Correct");
    w.at_stage("Shadow").await;
    let (rendered, _) = edit_key_by_hand(&w.ns);
    w.checked_until("the key written back", |w| {
        (data(&w.ns)[key(&w.ns)].as_str() == Some(rendered.as_str())).then_some(())
    })
    .await;
    let corrected = until(LONG, "a DriftCorrected event", || async {
        let notes = events(&w.ns, "DriftCorrected");
        let ours: Vec<String> = notes
            .into_iter()
            .filter(|n| n.contains("FluentdRoutes"))
            .collect();
        (!ours.is_empty()).then_some(ours)
    })
    .await;
    assert!(corrected[0].contains("port 24225"), "{corrected:?}");
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_route_with_its_own_stage_moves_alone_and_the_pipeline_stays_at_the_lowest() {
    let w = world("perroute", Vec::new()).await;
    let worker = &groups(&w.ns)[1];
    let own = spec(&w.ns, "Legacy", "Correct", &w.lambda).replace(
        &format!("logGroup: {worker}\n"),
        &format!("logGroup: {worker}\n        stage: Shadow\n"),
    );
    kubectl_ok(&["apply", "-f", "-"], Some(&pipeline(&w.ns, NAME, &own)));
    w.checked_until("the worker route at Shadow", |w| {
        (w.field("{.status.cutover.routes[1].stage}") == "Shadow").then_some(())
    })
    .await;
    assert_eq!(w.field("{.status.cutover.routes[0].stage}"), "Legacy");
    assert_eq!(w.field("{.status.cutover.stage}"), "Legacy");
    assert_eq!(
        shapes(&w.ns),
        [
            vec!["forward".to_owned()],
            vec!["!cloudwatch_logs".to_owned(), "forward".to_owned()]
        ]
    );
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_controller_may_write_only_the_named_config_map_and_daemon_set_of_a_granted_namespace()
{
    let ns = fluentd_namespace("fluentdrbac");
    let other = namespace("nofluentd");
    let sa = "system:serviceaccount:pitagora-system:pitagora";
    let can = |args: &[&str]| {
        let mut full = vec!["auth", "can-i"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["--as", sa]);
        String::from_utf8_lossy(&kubectl(&full, None).stdout)
            .trim()
            .to_owned()
    };
    assert_eq!(
        can(&["patch", &format!("configmap/{MAP}"), "-n", &ns]),
        "yes"
    );
    assert_eq!(can(&["get", &format!("configmap/{MAP}"), "-n", &ns]), "yes");
    assert_eq!(
        can(&["patch", "configmap/kube-root-ca.crt", "-n", &ns]),
        "no"
    );
    assert_eq!(can(&["get", "configmap/other", "-n", &ns]), "no");
    assert_eq!(can(&["list", "configmaps", "-n", &ns]), "no");
    assert_eq!(can(&["patch", "daemonset/fluentd", "-n", &ns]), "yes");
    assert_eq!(can(&["patch", "daemonset/kube-proxy", "-n", &ns]), "no");
    assert_eq!(can(&["get", "secrets", "-n", &ns]), "no");
    assert_eq!(
        can(&["patch", &format!("configmap/{MAP}"), "-n", &other]),
        "no"
    );
    assert_eq!(can(&["create", "configmaps", "-n", &other]), "no");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pitagora_drift_compares_at_the_stages_in_effect_and_reports_a_hand_edited_key() {
    // In moto's default account: the one the `pitagora` binary reaches.
    let ns = fluentd_namespace("clidrift");
    let w = world_in(ns, Vec::new(), Some(DEFAULT_ACCOUNT)).await;
    // Primary asked for, held at Shadow: without verification delivery is never proven.
    let held = spec(&w.ns, "Primary", "Correct", &w.lambda).replace(
        "    intervalSeconds: 0\n",
        "    intervalSeconds: 0\n  verify:\n    enabled: false\n",
    );
    let doc = pipeline(&w.ns, NAME, &held);
    kubectl_ok(&["apply", "-f", "-"], Some(&doc));
    let message = w.blocked("NotDelivering").await;
    assert!(message.contains("Primary"), "{message}");
    assert_eq!(w.field("{.status.cutover.stage}"), "Shadow");
    w.ctl.stop().await;
    let dir = common::scratch_dir("clidrift");
    let file = dir.join("payments.yaml");
    std::fs::write(&file, &doc).unwrap();
    let file = file.to_string_lossy().into_owned();

    // At the stages in effect, nothing differs: no subscription is missing, the key is Shadow's.
    let before = common::binary::against_moto(&["drift", "-f", &file]);
    common::binary::assert_exit(&before, 0);

    let (_, edited) = edit_key_by_hand(&w.ns);
    let after = common::binary::against_moto(&["drift", "-f", &file, "--format", "json"]);
    common::binary::assert_exit(&after, 2);
    let report: serde_json::Value =
        serde_json::from_str(&common::binary::stdout(&after)).expect("a JSON report");
    let items: Vec<&serde_json::Value> = report["pipelines"][0]["items"]
        .as_array()
        .expect("drift items")
        .iter()
        .collect();
    assert_eq!(items.len(), 1, "only the key: {items:?}");
    assert_eq!(items[0]["kind"], "FluentdRoutes");
    assert_eq!(items[0]["actual"], "port 24225");
    assert_eq!(items[0]["desired"], "port 24224");
    assert!(
        items[0]["field"]
            .as_str()
            .unwrap()
            .starts_with(&format!("data[{}] line ", key(&w.ns)))
    );
    assert_eq!(
        data(&w.ns)[key(&w.ns)].as_str().unwrap(),
        edited,
        "drift writes nothing"
    );
    common::remove_scratch_dir(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_config_map_is_created_holding_only_the_pipelines_key() {
    let w = world_in(bare_namespace("nomap"), Vec::new(), None).await;
    w.apply("Shadow", "Correct");
    w.at_stage("Shadow").await;
    let keys: Vec<String> = data(&w.ns).as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, [key(&w.ns)]);
    assert_eq!(shapes(&w.ns), shape(&["!cloudwatch_logs", "forward"]));
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_target_that_does_not_exist_blocks_the_move_naming_the_field() {
    let w = world("noreload", Vec::new()).await;
    kubectl_ok(&["delete", "daemonset", "-n", &w.ns, "fluentd"], None);
    w.apply("Shadow", "Correct");
    let message = w.blocked("FluentdFailed").await;
    assert!(
        message.contains("spec.legacy.fluentd.reload.name"),
        "{message}"
    );
    assert_eq!(
        w.field("{.status.cutover.stage}"),
        "Legacy",
        "a stage fluentd was not told to load is not in effect"
    );
    assert_eq!(w.subscribers().await, Vec::<String>::new());
    let failed = until(LONG, "a FluentdFailed event", || async {
        let notes = events(&w.ns, "FluentdFailed");
        (!notes.is_empty()).then_some(notes)
    })
    .await;
    assert!(failed[0].contains("does not exist"), "{failed:?}");
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_move_back_with_the_key_ignored_keeps_the_new_path_as_it_was() {
    let w = world("ignoredback", Vec::new()).await;
    w.apply("Primary", "Correct");
    w.at_stage("Primary").await;
    assert_eq!(w.subscribers().await, std::slice::from_ref(&w.lambda));
    let ignoring = spec(&w.ns, "Shadow", "Correct", &w.lambda)
        + "  ignore:\n    - kind: FluentdRoutes\n      reason: the platform team edits it\n";
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&w.ns, NAME, &ignoring)),
    );
    let message = w.blocked("ReportOnly").await;
    assert!(message.contains("FluentdRoutes"), "{message}");
    // fluentd was not told to go back, so the consumers stay on the new path.
    assert_eq!(shapes(&w.ns), shape(&["!forward", "cloudwatch_logs"]));
    assert_eq!(w.subscribers().await, std::slice::from_ref(&w.lambda));
    assert_eq!(w.field("{.status.cutover.stage}"), "Primary");
    w.ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_routes_missing_log_group_is_created_and_subscribed_by_the_time_fluentd_is_told_to_write_into_it()
 {
    let w = world("route-group", Vec::new()).await;
    let [_, worker] = groups(&w.ns);
    w.m.outsider()
        .await
        .logs
        .delete_log_group()
        .log_group_name(&worker)
        .send()
        .await
        .unwrap();
    w.apply("Shadow", "Correct");
    w.at_stage("Shadow").await;
    // The key routes the worker's logs into the group: it exists, kept 30 days, as pitagora's,
    // with the pipeline's filter.
    assert_eq!(shapes(&w.ns), shape(&["!cloudwatch_logs", "forward"]));
    let (retention, tags) = retention_and_tags(&w.m.c.logs, &worker).await;
    assert_eq!(retention, Some(30));
    assert_eq!(
        tags.get("app.kubernetes.io/managed-by").map(String::as_str),
        Some("pitagora")
    );
    let filter = names(&w.m, &w.ns, NAME).filter;
    assert_eq!(filter_names(&w.m.c, &worker).await, [filter]);
    w.ctl.stop().await;
}
