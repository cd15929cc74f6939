//! Shared fixtures: specs, identities, desired state and converged observed state.
#![allow(dead_code)] // each test binary uses a different subset

pub mod binary;
pub mod canned;
pub mod controller;
pub mod events;
pub mod faults;
pub mod fluentd;
pub mod inventory;
pub mod kube;
pub mod markdown;
pub mod moto;
pub mod out_of_band;
pub mod relay;
pub mod report;

use pitagora::desired::{self, Desired};
use pitagora::names::PipelineId;
use pitagora::observed::Observed;
use pitagora::spec::{LogPipeline, LogPipelineSpec};
use std::path::PathBuf;

/// The account every fixture lives in (moto's default account).
pub const ACCOUNT: &str = "123456789012";
/// The region of fixtures whose spec names none.
pub const REGION: &str = "eu-west-1";

/// `team-a/orders`.
pub fn id() -> PipelineId {
    PipelineId::new("team-a", "orders")
}

/// A spec parsed from YAML (the `spec:` body only).
pub fn spec(yaml: &str) -> LogPipelineSpec {
    serde_saphyr::from_str(yaml).expect("fixture spec parses")
}

/// One exact log group, everything else defaulted.
pub fn minimal_spec() -> LogPipelineSpec {
    spec("sources:\n  logGroups: [/ecs/orders]\n")
}

/// The path of a file in `examples/`.
pub fn example_path(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(file)
}

/// A pipeline from `examples/`.
pub fn example(file: &str) -> LogPipeline {
    let text = std::fs::read_to_string(example_path(file)).expect("example exists");
    serde_saphyr::from_str(&text).expect("example parses")
}

/// The example beside fluentd as `id()` (team-a/orders) has it: its ConfigMap key named after
/// that namespace, as validation requires (the key is not part of any rendered text).
pub fn beside_fluentd_spec() -> LogPipelineSpec {
    let mut spec = example("beside-fluentd.yaml").spec;
    let legacy = spec.legacy.as_mut().expect("the example has a legacy path");
    legacy
        .fluentd
        .config
        .as_mut()
        .expect("and a ConfigMap key")
        .key = "team-a.payments.conf".into();
    spec
}

/// The full chain of `examples/full-chain.yaml`: prefix sources, transform, fan-out with two
/// subscribers (one with a filter policy), retention and transition.
pub fn full_chain_spec() -> LogPipelineSpec {
    example("full-chain.yaml").spec
}

/// Desired state of `team-a/orders` with `spec`.
pub fn desired(spec: &LogPipelineSpec) -> Desired {
    desired::from_spec(&id(), spec, ACCOUNT, REGION).expect("fixture spec is valid")
}

/// An observed world holding only these (empty) source log groups.
pub fn world_with_groups(groups: &[&str]) -> Observed {
    Observed {
        log_groups: groups
            .iter()
            .map(|g| ((*g).to_owned(), Vec::new()))
            .collect(),
        ..Observed::default()
    }
}

/// `world` after executing plans in the in-memory model until nothing is left to do; panics if
/// that takes more than three rounds or the model refuses a step.
#[cfg(feature = "model")]
pub fn converge(d: &Desired, mut world: Observed) -> Observed {
    for _ in 0..3 {
        let p = pitagora::plan::plan(d, &world);
        if p.writes().next().is_none() {
            return world;
        }
        pitagora::aws_model::execute_plan(&mut world, &p).expect("the model accepts the plan");
    }
    panic!(
        "no convergence after three rounds: {:#?}",
        pitagora::plan::plan(d, &world)
    );
}

/// Changes the observed stream's buffer size, as someone editing the stream by hand would.
pub fn set_buffer_size(o: &mut Observed, size_mib: i32) {
    o.stream
        .as_mut()
        .expect("the stream exists")
        .destination
        .as_mut()
        .expect("it delivers to S3")
        .buffering
        .size_mib = size_mib;
}

/// A converged world for `d`, whose sources are `groups`.
#[cfg(feature = "model")]
pub fn converged(d: &Desired, groups: &[&str]) -> Observed {
    converge(d, world_with_groups(groups))
}

/// The ARN of Lambda function `function` in the fixture account and region.
pub fn lambda_arn(function: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}")
}

/// One exact log group and a transform (`log-enricher`, output `processed/`); no fan-out.
pub fn transform_only_spec() -> LogPipelineSpec {
    spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\ntransform:\n  lambdaArn: {}\n",
        lambda_arn("log-enricher")
    ))
}

/// One exact log group and a fan-out to `es-forwarder` (no filter policy) and `slack-notifier`
/// (filter policy on `processed/alerts/`); no transform.
pub fn fanout_only_spec() -> LogPipelineSpec {
    spec(&format!(
        "sources:
  logGroups: [/ecs/orders]
fanout:
  subscribers:
    - name: es-forwarder
      lambdaArn: {}
    - name: slack-notifier
      lambdaArn: {}
      filterPolicy:
        Records:
          s3:
            object:
              key:
                - prefix: processed/alerts/
",
        lambda_arn("es-forwarder"),
        lambda_arn("slack-notifier")
    ))
}

/// Desired state of `team-a/orders` with `spec`, or why there is none.
pub fn try_desired(spec: &LogPipelineSpec) -> Result<Desired, desired::InvalidSpec> {
    desired::from_spec(&id(), spec, ACCOUNT, REGION)
}

// ---- Fixtures for the spec, names and CLI suites ----

/// Semantic validation of `spec` as the pipeline `team-a/orders`.
pub fn validation_errors(spec: &LogPipelineSpec) -> Vec<pitagora::spec::FieldError> {
    pitagora::spec::validate(&id(), spec)
}

/// The path of a file in the repository.
pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// One document of the malformed corpus (`tests/corpus/malformed/`).
pub struct Malformed {
    /// Its path.
    pub path: PathBuf,
    /// The field it must be rejected for (its `# expect: PATH` line).
    pub expect: String,
    /// Whether kubectl can send it to the API server: not when a `# reaches the API server: no
    /// (why)` line says so (kubectl refuses it first, without naming the field).
    pub reaches_api_server: bool,
    /// Its text.
    pub text: String,
}

/// Every document of the malformed corpus, in file order.
pub fn malformed_corpus() -> Vec<Malformed> {
    let dir = repo_path("tests/corpus/malformed");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let expect = text
                .lines()
                .find_map(|l| l.strip_prefix("# expect: "))
                .unwrap_or_else(|| panic!("{}: no `# expect:` line", path.display()))
                .to_owned();
            let reaches_api_server = !text
                .lines()
                .any(|l| l.starts_with("# reaches the API server: no"));
            Malformed {
                path,
                expect,
                reaches_api_server,
                text,
            }
        })
        .collect()
}

/// A fresh, empty directory under the system's temp dir, unique to this call (process id and a
/// counter), so parallel tests never share one. Remove it with [`remove_scratch_dir`].
pub fn scratch_dir(label: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir =
        std::env::temp_dir().join(format!("pitagora-test-{label}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir can be created");
    dir
}

/// Best-effort removal of a [`scratch_dir`].
pub fn remove_scratch_dir(dir: &std::path::Path) {
    let _ = std::fs::remove_dir_all(dir);
}
