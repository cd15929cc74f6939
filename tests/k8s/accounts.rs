//! Many accounts on the real API server: the `pitagora run` binary with `--accounts FILE`, a
//! pipeline built in a central account A from log groups of two source accounts B and C, in two
//! regions. Every account is fresh per test. The binary acts with moto's default account (its
//! requests carry no account header); moto's STS `AssumeRole` gives credentials acting in the
//! role's account (it checks no trust policy), so each account's part lands where the accounts
//! file says, and nowhere else. The test looks and writes with moto's account header.

use crate::common;

use aws_sdk_s3::config::SharedInterceptor;
use common::kube::*;
use common::moto::*;
use pitagora::arn::AwsTarget;
use pitagora::aws::{Aws, RegionClients};
use pitagora::names::{Names, PipelineId};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(120);

/// The pipeline's region, and the other one a source account is read in.
const HOME: &str = REGION;
const OTHER: &str = "us-east-1";

/// Three fresh accounts: A holds pipelines, B and C hold source log groups.
struct World {
    a: String,
    b: String,
    c: String,
}

impl World {
    fn new() -> Self {
        Self {
            a: fresh_account(),
            b: fresh_account(),
            c: fresh_account(),
        }
    }

    /// The `accounts:` list of the file: each account with its role and external ID.
    fn accounts(&self) -> String {
        let mut text = String::from("accounts:\n");
        for (name, id) in [
            ("log-archive", &self.a),
            ("sandbox", &self.b),
            ("staging", &self.c),
        ] {
            text.push_str(&format!(
                "  - id: \"{id}\"\n    name: {name}\n    roleArn: arn:aws:iam::{id}:role/pitagora/pitagora-access\n    externalId: pitagora-k8s-test\n"
            ));
        }
        text
    }
}

/// `account`'s clients in `region`, by moto's header (the test's view, not pitagora's).
async fn clients(account: &str, region: &str) -> RegionClients {
    let header = SharedInterceptor::new(MotoAccount(account.to_owned()));
    let aws = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![header]);
    aws.region(region).as_ref().clone()
}

/// Creates `group` in `account` and `region`.
async fn log_group(account: &str, region: &str, group: &str) {
    (clients(account, region).await.logs.create_log_group())
        .log_group_name(group)
        .send()
        .await
        .unwrap();
}

/// The names of the destinations `account` holds in `region`.
async fn destination_names(account: &str, region: &str) -> Vec<String> {
    let c = clients(account, region).await;
    let out = c.logs.describe_destinations().send().await.unwrap();
    let mut names: Vec<String> = out
        .destinations()
        .iter()
        .filter_map(|d| d.destination_name().map(str::to_owned))
        .collect();
    names.sort();
    names
}

/// A `pitagora run` process; killed when dropped.
struct Controller(Child);

impl Controller {
    /// The binary watching `namespace` with the accounts file `accounts`, with the
    /// ServiceAccount's identity and AWS at moto (its default account).
    fn spawn(namespace: &str, accounts: &Path) -> Self {
        let log = std::env::temp_dir().join(format!("pitagora-k8s-accounts-{namespace}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_pitagora"))
            .args(["run", "--watch-namespace", namespace])
            .args(["--leader-election", "false", "--max-error-backoff", "2"])
            .args(["--http-addr", &format!("127.0.0.1:{}", free_port())])
            .arg("--accounts")
            .arg(accounts)
            .env("KUBECONFIG", service_account_kubeconfig())
            .env("AWS_ENDPOINT_URL", endpoint())
            .env("AWS_REGION", HOME)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("RUST_LOG", "info")
            .env_remove("AWS_PROFILE")
            .env_remove("PITAGORA_ACCOUNTS")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("the pitagora binary runs");
        Self(child)
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The test API server's kubeconfig, switched to the ServiceAccount's context.
fn service_account_kubeconfig() -> PathBuf {
    let text = std::fs::read_to_string(kubeconfig()).unwrap();
    let text = text.replace(
        "current-context: pitagora-local\n",
        "current-context: pitagora-local-sa\n",
    );
    let path = std::env::temp_dir().join(format!("pitagora-sa-{}.kubeconfig", fresh_account()));
    std::fs::write(&path, text).unwrap();
    path
}

/// Writes an accounts file for this test; its path.
fn accounts_file(text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("pitagora-accounts-{}.yaml", fresh_account()));
    std::fs::write(&path, text).unwrap();
    path
}

/// The pipeline `namespace/orders` taking `/<namespace>/payments` of B in [`OTHER`] and
/// `/<namespace>/billing` of C in [`HOME`].
fn remote_spec(w: &World, namespace: &str) -> String {
    format!(
        "sources:\n  remote:\n    - account: \"{b}\"\n      region: {OTHER}\n      logGroups: [/{namespace}/payments]\n    - account: \"{c}\"\n      region: {HOME}\n      logGroups: [/{namespace}/billing]\n",
        b = w.b,
        c = w.c,
    )
}

/// The filters on `group` of `account` in `region`, as `(name, destination ARN)`.
async fn filters(account: &str, region: &str, group: &str) -> Vec<(String, String)> {
    filters_on(&clients(account, region).await, group).await
}

/// Writes `message` as one event of `group` (stream `web-1`) in `account` and `region`.
async fn put_event(account: &str, region: &str, group: &str, message: &str) {
    put_batches(
        &clients(account, region).await,
        group,
        "web-1",
        &[&[message]],
    )
    .await;
}

/// Whether an object under `raw/` of `bucket` (account A, [`HOME`]) holds `message`.
async fn bucket_holds(a: &RegionClients, bucket: &str, message: &str) -> bool {
    for key in object_keys(a, bucket, "raw/").await {
        if common::moto::gunzipped(object_bytes(a, bucket, &key).await).contains(message) {
            return true;
        }
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipeline_in_a_central_account_takes_groups_of_two_source_accounts_and_deleting_removes_every_accounts_part()
 {
    install();
    let ns = namespace("acct");
    let w = World::new();
    let (payments, billing) = (format!("/{ns}/payments"), format!("/{ns}/billing"));
    log_group(&w.b, OTHER, &payments).await;
    log_group(&w.c, HOME, &billing).await;
    let file = accounts_file(&format!(
        "{}namespaces:\n  {ns}:\n    account: \"{a}\"\n    sources:\n      - account: \"{b}\"\n        regions: [{OTHER}]\n        logGroupPrefixes: [/{ns}/]\n      - account: \"{c}\"\n        regions: [{HOME}]\n        logGroupPrefixes: [/{ns}/]\n",
        w.accounts(),
        a = w.a,
        b = w.b,
        c = w.c,
    ));
    let _ctl = Controller::spawn(&ns, &file);
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(&ns, "orders", &remote_spec(&w, &ns))),
    );
    until(LONG, "Ready", || async {
        (condition(&ns, "orders", "Ready") == "True").then_some(())
    })
    .await;

    // A holds one destination per source region, named after the stream and the region; each
    // source group carries a filter to its region's destination.
    let id = PipelineId::new(&ns, "orders");
    let names = Names::derive(&id, &AwsTarget::new(w.a.clone(), HOME), None, None);
    let destination = |region: &str| format!("{}-{region}", names.stream);
    let arn = |region: &str| {
        format!(
            "arn:aws:logs:{region}:{}:destination:{}",
            w.a,
            destination(region)
        )
    };
    for region in [HOME, OTHER] {
        assert_eq!(destination_names(&w.a, region).await, [destination(region)]);
    }
    let [(_, to)] = &filters(&w.b, OTHER, &payments).await[..] else {
        panic!("one filter on B's {payments}");
    };
    assert_eq!(to, &arn(OTHER));
    let [(_, to)] = &filters(&w.c, HOME, &billing).await[..] else {
        panic!("one filter on C's {billing}");
    };
    assert_eq!(to, &arn(HOME));
    // Nothing of the pipeline in the source accounts' other parts or the controller's account.
    for (account, region) in [(&w.b, HOME), (&w.b, OTHER), (&w.c, HOME), (&w.c, OTHER)] {
        assert_eq!(
            destination_names(account, region).await,
            Vec::<String>::new()
        );
    }
    let own = clients(DEFAULT_ACCOUNT, HOME).await;
    assert!(!stream_exists(&own, &names.stream).await);

    // An event of B's group (in the other region) reaches A's bucket.
    let message = format!("payment accepted {}", fresh_account());
    put_event(&w.b, OTHER, &payments, &message).await;
    let a = clients(&w.a, HOME).await;
    until(LONG, "B's event in A's bucket", || async {
        bucket_holds(&a, &names.bucket, &message)
            .await
            .then_some(())
    })
    .await;

    kubectl_ok(
        &["delete", "lp", "-n", &ns, "orders", "--timeout=120s"],
        None,
    );
    until(LONG, "every account's part removed", || async {
        let left = [
            filters(&w.b, OTHER, &payments).await.len(),
            filters(&w.c, HOME, &billing).await.len(),
            destination_names(&w.a, HOME).await.len(),
            destination_names(&w.a, OTHER).await.len(),
        ];
        (left == [0; 4]).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_mapped_to_one_account_cannot_subscribe_a_group_of_another() {
    install();
    let ns = namespace("acct-b");
    let w = World::new();
    let billing = format!("/{ns}/billing");
    log_group(&w.c, HOME, &billing).await;
    // The namespace's pipelines live in B and may take only B's own groups.
    let file = accounts_file(&format!(
        "{}namespaces:\n  {ns}:\n    account: \"{b}\"\n    sources:\n      - account: \"{b}\"\n        regions: [{OTHER}]\n        logGroupPrefixes: [/{ns}/]\n",
        w.accounts(),
        b = w.b,
    ));
    let _ctl = Controller::spawn(&ns, &file);
    let spec = format!(
        "sources:\n  remote:\n    - account: \"{c}\"\n      region: {HOME}\n      logGroups: [{billing}]\n",
        c = w.c,
    );
    kubectl_ok(&["apply", "-f", "-"], Some(&pipeline(&ns, "grab", &spec)));
    let message = until(LONG, "InvalidSpec for grab", || async {
        (condition_field(&ns, "grab", "Ready", "reason") == "InvalidSpec")
            .then(|| condition_field(&ns, "grab", "Ready", "message"))
    })
    .await;
    assert!(message.contains("spec.sources.remote[0]"), "{message}");
    assert!(message.contains(&w.c), "{message}");
    assert_eq!(filters(&w.c, HOME, &billing).await, Vec::new());
    for region in [HOME, OTHER] {
        assert_eq!(destination_names(&w.b, region).await, Vec::<String>::new());
    }
}
