//! The CI path: `pitagora drift -f DIR` over N converged pipelines, run as a user runs it, with
//! its wall time, CPU and peak RSS read from the kernel when it exits.

use super::measure::{Cost, cpu_seconds, moto_pid};
use super::report::Row;
use super::world::{self, World};
use pitagora::aws::Limits;
use pitagora::aws::rate::SERVICES;
use pitagora::engine::Engine;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The account a `pitagora` binary reaches in the emulator (no account header).
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// `pitagora drift` over `n` files, at AWS's default limits and with limits lifted.
pub async fn drift(n: usize) -> Vec<Row> {
    let w = World::in_account(DEFAULT_ACCOUNT.into(), n, 1);
    w.create_groups().await;
    let engine = Engine::new(w.aws(Limits::unlimited()).await);
    super::converge(
        &engine,
        &w.pipelines(&engine).await,
        Row::new(n, 1, "lifted"),
    )
    .await;
    let dir = std::env::temp_dir().join(format!("pitagora-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch folder");
    for i in 0..n {
        std::fs::write(
            dir.join(format!("p{i:04}.yaml")),
            world::document("bench", &w.root, i, ""),
        )
        .expect("a file");
    }
    let lifted: Vec<String> = SERVICES
        .iter()
        .flat_map(|s| ["--rate-limit".to_owned(), format!("{s}=100000")])
        .collect();
    let rows = vec![
        run(
            &dir,
            &[],
            Row::new(n, 1, "aws").named("pitagora drift -f DIR"),
        ),
        run(
            &dir,
            &lifted,
            Row::new(n, 1, "lifted").named("pitagora drift -f DIR"),
        ),
    ];
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

/// Runs the binary once; the row with its cost and the calls its report counted.
// Reaped by `wait4` (for its resource usage), not by `Child::wait`.
#[allow(clippy::zombie_processes)]
fn run(dir: &std::path::Path, extra: &[String], row: Row) -> Row {
    let emulator = moto_pid();
    let emulator_cpu = emulator.as_deref().map_or(0.0, cpu_seconds);
    let started = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_pitagora"))
        .args(["drift", "--format", "json", "--log-format", "json", "-f"])
        .arg(dir)
        .args(extra)
        .env("AWS_REGION", world::REGION)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("pitagora runs");
    let pid = child.id() as libc::pid_t;
    let output = std::thread::spawn(move || {
        let mut out = String::new();
        let mut stdout = child.stdout.expect("piped");
        std::io::Read::read_to_string(&mut stdout, &mut out).expect("its report");
        out
    });
    let (status, usage) = wait4(pid);
    let wall = started.elapsed().as_secs_f64();
    let report: serde_json::Value =
        serde_json::from_str(&output.join().expect("read")).expect("a JSON report");
    assert_eq!(status, 0, "in sync: {}", report["totals"]);
    let totals = &report["totals"];
    let mut row = row;
    row.cost = Cost {
        wall_s: wall,
        cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        emulator_cpu_s: emulator.as_deref().map_or(0.0, cpu_seconds) - emulator_cpu,
        peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
    };
    row.total_calls = totals["awsCalls"].as_u64();
    row.writes = totals["awsWrites"].as_u64().unwrap_or(0);
    row
}

/// Waits for `pid`; its exit code and resource usage.
fn wait4(pid: libc::pid_t) -> (i32, libc::rusage) {
    let mut status = 0;
    // SAFETY: an all-zero rusage is valid; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child, not waited for elsewhere (Child::wait is never called).
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4: {}", std::io::Error::last_os_error());
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage)
}

fn seconds(t: libc::timeval) -> f64 {
    t.tv_sec as f64 + t.tv_usec as f64 / 1e6
}
