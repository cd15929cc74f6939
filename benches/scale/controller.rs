//! The controller row: `pitagora run` (the binary) against the real API server with N
//! `LogPipeline`s applied by `kubectl`, its AWS the emulator's default account. Measured: the
//! time until every pipeline is Ready, its peak RSS and CPU, the CPU of one check of every
//! pipeline (a sweep) in a steady state, and how long a newly applied pipeline waits for its
//! stack — with the others' checks going on, and right after a restart, when every pipeline is
//! queued at once.

use super::measure::{Cost, PeakSampler, cpu_seconds, status_mib};
use super::report::Row;
use super::world::{self, World};
use pitagora::aws::rate::SERVICES;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Seconds between two checks of a pipeline in this row.
const INTERVAL: u64 = 120;

fn kubectl(args: &[&str], input: Option<&str>) -> String {
    let mut cmd = Command::new("kubectl");
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    if input.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("kubectl runs");
    if let Some(text) = input {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(text.as_bytes())
            .expect("kubectl reads");
    }
    let out = child.wait_with_output().expect("kubectl ends");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// How many pipelines of `namespace` are Ready.
fn ready(namespace: &str) -> usize {
    let json = kubectl(&["get", "lp", "-n", namespace, "-o", "json"], None);
    let list: serde_json::Value = serde_json::from_str(&json).expect("a list");
    let items = list["items"].as_array().cloned().unwrap_or_default();
    items
        .iter()
        .filter(|lp| {
            lp["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
        .count()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The controller, started as a user runs it (one replica, limits lifted).
fn start(namespace: &str, port: u16) -> Child {
    let lifted: Vec<String> = SERVICES
        .iter()
        .flat_map(|s| ["--rate-limit".to_owned(), format!("{s}=100000")])
        .collect();
    let log = std::fs::File::create(std::env::temp_dir().join("pitagora-bench-controller.log"))
        .expect("a log file");
    // PITAGORA_BENCH_WRAP (e.g. `heaptrack -o /tmp/ctl`) runs it under a profiler: the memory
    // figures of such a run are the wrapper's, so its rows are for reading, not for keeping.
    let wrap = std::env::var("PITAGORA_BENCH_WRAP").unwrap_or_default();
    let mut words = wrap.split_whitespace();
    let mut cmd = match words.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(words).arg(env!("CARGO_BIN_EXE_pitagora"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_pitagora")),
    };
    cmd.args([
        "run",
        "--leader-election=false",
        "--watch-namespace",
        namespace,
    ])
    .args([
        "--http-addr",
        &format!("127.0.0.1:{port}"),
        "--concurrency",
        "8",
    ])
    .args(&lifted)
    .env("AWS_REGION", world::REGION)
    .stdout(Stdio::null())
    .stderr(log)
    .spawn()
    .expect("pitagora run starts")
}

/// `pitagora_reconciles_total` from the controller's metrics.
fn reconciles(port: u16) -> f64 {
    let body = Command::new("curl")
        .args(["-sf", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    body.lines()
        .find_map(|l| l.strip_prefix("pitagora_reconciles_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Polls `done` every 2 s (listing 1,000 objects is work for the API server and kubectl, not
/// to be measured) until it holds or `deadline` passes; the time it took.
fn wait(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) -> f64 {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < deadline,
            "bench: {what} not within {deadline:?}"
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    started.elapsed().as_secs_f64()
}

/// Applies one more pipeline, `name`, and waits for its stack: the time from `kubectl apply`
/// to its first AWS write (the stack is the first resource it creates).
async fn time_to_first_write(w: &World, namespace: &str, name: &str) -> f64 {
    let c = w.outsider().await;
    let group = format!("{}/{name}/g00", w.root);
    c.logs
        .create_log_group()
        .log_group_name(&group)
        .send()
        .await
        .expect("its group");
    let doc = format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: {name}\n  \
         namespace: {namespace}\nspec:\n  region: {}\n  sources:\n    logGroupPrefixes: \
         [{}/{name}/]\n",
        world::REGION,
        w.root
    );
    let id = pitagora::names::PipelineId::new(namespace, name);
    let target = pitagora::arn::AwsTarget::new(&w.account, world::REGION);
    let stack = pitagora::names::Names::derive(&id, &target, None, None).stack;
    let started = Instant::now();
    kubectl(&["apply", "-f", "-"], Some(&doc));
    let deadline = Duration::from_secs(600);
    loop {
        let described = c.cfn.describe_stacks().stack_name(&stack).send().await;
        if described.is_ok() {
            return started.elapsed().as_secs_f64();
        }
        assert!(
            started.elapsed() < deadline,
            "bench: {name}'s stack never came"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The controller rows for `n` pipelines (skipped without an API server).
pub async fn rows(n: usize) -> Vec<Row> {
    if std::env::var_os("KUBECONFIG").is_none() {
        eprintln!("bench: no KUBECONFIG (run under scripts/with-kube.sh): controller rows skipped");
        return Vec::new();
    }
    let mut w = World::in_account(super::cli::DEFAULT_ACCOUNT.into(), n, 1);
    w.root = "/benchctl".into();
    w.create_groups().await;
    let namespace = format!("benchctl-{n}-{}", std::process::id());
    let crd = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/logpipeline.yaml");
    kubectl(&["apply", "-f", crd], None);
    kubectl(&["create", "namespace", &namespace], None);
    let extra = format!("  drift:\n    checkIntervalSeconds: {INTERVAL}\n");
    let docs: Vec<String> = (0..n)
        .map(|i| world::document(&namespace, &w.root, i, &extra))
        .collect();
    kubectl(&["apply", "-f", "-"], Some(&docs.join("---\n")));

    let port = free_port();
    let mut controller = start(&namespace, port);
    let pid = controller.id().to_string();
    // Its own data (anonymous memory), apart from the binary's code pages RSS also counts.
    let anon = PeakSampler::start(pid.clone(), "RssAnon:");
    let converge_s = wait("every pipeline Ready", Duration::from_secs(3600), || {
        ready(&namespace) == n
    });
    let converge_cpu = cpu_seconds(&pid);
    let new_while_checking = time_to_first_write(&w, &namespace, "urgent-a").await;

    // One interval of steady checks: the CPU of checking every pipeline once.
    let (cpu0, rec0) = (cpu_seconds(&pid), reconciles(port));
    std::thread::sleep(Duration::from_secs(INTERVAL));
    let (cpu1, rec1) = (cpu_seconds(&pid), reconciles(port));
    let per_sweep = (cpu1 - cpu0) * n as f64 / (rec1 - rec0).max(1.0);
    let (peak, peak_anon) = (status_mib(&pid, "VmHWM:"), anon.stop());
    let file = status_mib(&pid, "RssFile:");
    stop(&mut controller);

    // A restart queues every pipeline at once; a new one still goes first.
    let mut controller = start(&namespace, port);
    let anon = PeakSampler::start(controller.id().to_string(), "RssAnon:");
    let after_restart = time_to_first_write(&w, &namespace, "urgent-b").await;
    let peak_after = status_mib(&controller.id().to_string(), "VmHWM:");
    let peak_anon_after = anon.stop();
    stop(&mut controller);
    kubectl(&["delete", "namespace", &namespace, "--wait=false"], None);

    let mut row = Row::new(n, 1, "lifted").named("pitagora run");
    row.cost = Cost {
        wall_s: converge_s,
        cpu_s: converge_cpu,
        emulator_cpu_s: 0.0,
        peak_rss_mib: peak.max(peak_after),
    };
    row.extra.insert("cpu_s_per_sweep".into(), per_sweep);
    row.extra
        .insert("peak_anon_mib".into(), peak_anon.max(peak_anon_after));
    row.extra.insert("rss_file_mib".into(), file);
    row.extra
        .insert("reconciles_in_interval".into(), rec1 - rec0);
    row.extra
        .insert("apply_to_first_write_s".into(), new_while_checking);
    row.extra
        .insert("apply_to_first_write_after_restart_s".into(), after_restart);
    vec![row]
}

/// Stops the controller as Kubernetes does (SIGTERM) and reaps it.
fn stop(controller: &mut Child) {
    // SAFETY: kill has no memory effects; the pid is our child's.
    unsafe { libc::kill(controller.id() as libc::pid_t, libc::SIGTERM) };
    let _ = controller.wait();
}
