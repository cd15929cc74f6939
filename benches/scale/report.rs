//! The benchmark's output: `BENCHMARKS.md` (tables for a reader) and `benchmarks/scale.json`
//! (every figure, for tools), both at the repository's root.

use super::measure::Cost;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write;

/// The rate achieved by one operation.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpRate {
    pub calls: usize,
    /// Requests per second from its first to its last request.
    pub achieved: Option<f64>,
    /// Most requests in any one second.
    pub busiest_second: usize,
    /// The limit configured for it.
    pub limit: f64,
}

/// One measured row.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Row {
    pub name: String,
    pub pipelines: usize,
    pub groups_per_pipeline: usize,
    /// `lifted` or `aws` (AWS's default quotas with headroom).
    pub limits: String,
    pub cost: Cost,
    /// Calls by `Service.Operation` (in-process rows).
    pub calls: BTreeMap<String, u64>,
    /// All calls, where only a total is known (the binary's report).
    pub total_calls: Option<u64>,
    pub writes: u64,
    pub rates: BTreeMap<String, OpRate>,
    /// The commit measured (runs of some sizes only keep the other sizes' rows).
    #[serde(default)]
    pub commit: String,
    /// Figures of a row's own (the controller's).
    #[serde(default)]
    pub extra: BTreeMap<String, f64>,
}

impl Row {
    pub fn new(n: usize, groups: usize, limits: &str) -> Self {
        Self {
            pipelines: n,
            groups_per_pipeline: groups,
            limits: limits.into(),
            ..Self::default()
        }
    }

    pub fn named(&self, name: &str) -> Self {
        Self {
            name: name.into(),
            ..self.clone()
        }
    }

    pub fn with_rates(mut self, rates: BTreeMap<String, OpRate>) -> Self {
        self.rates = rates;
        self
    }

    fn total(&self) -> u64 {
        self.total_calls
            .unwrap_or_else(|| self.calls.values().sum())
    }

    fn per_pipeline(&self, calls: u64) -> f64 {
        calls as f64 / self.pipelines.max(1) as f64
    }

    /// The emulator's CPU over the wall time: near 100 % means it was the bottleneck.
    fn emulator_busy(&self) -> f64 {
        100.0 * self.cost.emulator_cpu_s / self.cost.wall_s.max(1e-9)
    }
}

/// What every figure was measured on.
pub type Environment = BTreeMap<String, String>;

/// The measured figures, as `benchmarks/scale.json` holds them.
#[derive(Serialize, Deserialize)]
struct Figures {
    environment: Environment,
    rows: Vec<Row>,
}

fn root() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// What the run measures, read before it starts (the binaries are built from this state).
pub fn start() -> Environment {
    environment()
}

/// Writes both files. Rows of earlier runs that this run did not measure again are kept.
pub fn write(environment: Environment, rows: &[Row]) {
    let key = |r: &Row| {
        (
            r.name.clone(),
            r.pipelines,
            r.groups_per_pipeline,
            r.limits.clone(),
        )
    };
    let fresh: std::collections::BTreeSet<_> = rows.iter().map(key).collect();
    let mut all: Vec<Row> = std::fs::read_to_string(root().join("benchmarks/scale.json"))
        .ok()
        .and_then(|j| serde_json::from_str::<Figures>(&j).ok())
        .map(|f| {
            f.rows
                .into_iter()
                .filter(|r| !fresh.contains(&key(r)))
                .collect()
        })
        .unwrap_or_default();
    all.extend(rows.iter().map(|r| Row {
        commit: environment["commit"].clone(),
        ..r.clone()
    }));
    all.sort_by_key(|r| {
        (
            r.name.clone(),
            r.limits.clone(),
            r.pipelines,
            r.groups_per_pipeline,
        )
    });
    let figures = Figures {
        environment,
        rows: all,
    };
    std::fs::create_dir_all(root().join("benchmarks")).expect("benchmarks/");
    std::fs::write(
        root().join("benchmarks/scale.json"),
        serde_json::to_string_pretty(&figures).expect("JSON") + "\n",
    )
    .expect("benchmarks/scale.json");
    render();
}

/// Writes `BENCHMARKS.md` from `benchmarks/scale.json` and the texts beside this file (so a
/// text can change without measuring again: `PITAGORA_BENCH_RENDER=1 scripts/bench.sh`).
pub fn render() {
    let json = std::fs::read_to_string(root().join("benchmarks/scale.json"))
        .expect("benchmarks/scale.json: run the benchmark first");
    let figures: Figures = serde_json::from_str(&json).expect("benchmarks/scale.json parses");
    let md = markdown(&figures.environment, &figures.rows);
    std::fs::write(root().join("BENCHMARKS.md"), md).expect("BENCHMARKS.md");
    eprintln!("bench: wrote BENCHMARKS.md from benchmarks/scale.json");
}

/// A text beside this file, e.g. `intro.md`.
fn text(name: &str) -> String {
    std::fs::read_to_string(root().join("benches/scale").join(name)).expect("a bench text")
}

fn environment() -> Environment {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")?
                .split_once(':')
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_total = std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:").map(|m| m.trim().to_owned()))
        .unwrap_or_default();
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no", "--", "."])
        .args([":!BENCHMARKS.md", ":!benchmarks"])
        .output()
        .is_ok_and(|o| !o.stdout.is_empty());
    let commit = format!(
        "{commit}{}",
        if dirty {
            " (with uncommitted changes)"
        } else {
            ""
        }
    );
    let emulator = std::env::var("PITAGORA_BENCH_EMULATOR").unwrap_or_else(|_| "moto".into());
    [
        ("cpu", format!("{model}, {cores} cores")),
        ("memory", mem_total),
        ("commit", commit),
        ("emulator", emulator),
        ("date", utc_now()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The time (UTC) from `date`, which every machine here has.
fn utc_now() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

fn markdown(env: &Environment, rows: &[Row]) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# Benchmarks\n");
    let _ = writeln!(
        md,
        "Written by `scripts/bench.sh` (benches/scale/); every figure is also in \
         `benchmarks/scale.json`, with the commit it was measured at. Machine: {}, {}. Last \
         run: commit {}, {}. Emulator: {} on loopback.\n",
        env["cpu"], env["memory"], env["commit"], env["date"], env["emulator"]
    );
    let _ = writeln!(md, "{}", text("intro.md"));
    section(&mut md, rows, "converge from empty", "Converge from empty");
    section(
        &mut md,
        rows,
        "steady sweep, batched",
        "A steady-state sweep, batched (what `drift` and the controller do)",
    );
    section(
        &mut md,
        rows,
        "steady sweep, each alone",
        "A steady-state sweep, each pipeline reading alone",
    );
    operations(&mut md, rows);
    section(
        &mut md,
        rows,
        "one out-of-band change",
        "One out-of-band change among N: found and corrected",
    );
    writes(&mut md, rows, "one out-of-band change");
    events(&mut md, rows);
    rates(&mut md, rows);
    section(
        &mut md,
        rows,
        "pitagora drift -f DIR",
        "The CI path: `pitagora drift -f DIR` (the binary)",
    );
    controller(&mut md, rows);
    let _ = writeln!(md, "{}", text("pending.md"));
    md
}

fn section(md: &mut String, rows: &[Row], name: &str, title: &str) {
    let _ = writeln!(md, "## {title}\n");
    let _ = writeln!(
        md,
        "| pipelines | log groups each | limits | wall s | pipelines/s | AWS calls per pipeline | writes | CPU s (pitagora) | CPU s (emulator) | emulator busy | peak RSS MiB | commit |"
    );
    let _ = writeln!(
        md,
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    );
    for r in rows.iter().filter(|r| r.name == name) {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {:.1} | {:.1} | {:.1} | {} | {:.1} | {:.1} | {:.0} % | {:.1} | {} |",
            r.pipelines,
            r.groups_per_pipeline,
            r.limits,
            r.cost.wall_s,
            r.pipelines as f64 / r.cost.wall_s.max(1e-9),
            r.per_pipeline(r.total()),
            r.writes,
            r.cost.cpu_s,
            r.cost.emulator_cpu_s,
            r.emulator_busy(),
            r.cost.peak_rss_mib,
            r.commit,
        );
    }
    let _ = writeln!(md);
}

/// Calls per pipeline by operation in a steady sweep, batched and alone, at the largest size.
fn operations(md: &mut String, rows: &[Row]) {
    let Some(n) = rows.iter().map(|r| r.pipelines).max() else {
        return;
    };
    let _ = writeln!(
        md,
        "## Reads per pipeline per check, by operation ({n} pipelines, limits lifted)\n"
    );
    let _ = writeln!(
        md,
        "| operation | batched, 1 group | alone, 1 group | batched, 10 groups | alone, 10 groups |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    let find = |name: &str, g: usize| {
        rows.iter().find(|r| {
            r.name == name && r.pipelines == n && r.groups_per_pipeline == g && r.limits == "lifted"
        })
    };
    let columns = [
        find("steady sweep, batched", 1),
        find("steady sweep, each alone", 1),
        find("steady sweep, batched", 10),
        find("steady sweep, each alone", 10),
    ];
    let ops: std::collections::BTreeSet<&String> = columns
        .iter()
        .flatten()
        .flat_map(|r| r.calls.keys())
        .collect();
    for op in ops {
        let cells: Vec<String> = columns
            .iter()
            .map(|c| {
                c.map_or("–".into(), |r| {
                    format!("{:.2}", r.per_pipeline(*r.calls.get(op).unwrap_or(&0)))
                })
            })
            .collect();
        let _ = writeln!(md, "| {op} | {} |", cells.join(" | "));
    }
    let _ = writeln!(md);
}

/// The write operations of `name`'s rows.
fn writes(md: &mut String, rows: &[Row], name: &str) {
    for r in rows.iter().filter(|r| r.name == name) {
        let w: Vec<String> = r
            .calls
            .iter()
            .filter(|(op, _)| {
                pitagora::aws::calls::is_write(op.split_once('.').map_or(op.as_str(), |(_, o)| o))
            })
            .map(|(op, n)| format!("{op} × {n}"))
            .collect();
        let _ = writeln!(
            md,
            "- {} pipelines × {} groups: writes {}",
            r.pipelines,
            r.groups_per_pipeline,
            w.join(", ")
        );
    }
    let _ = writeln!(md);
}

/// The controller's rows.
fn controller(md: &mut String, rows: &[Row]) {
    let _ = writeln!(
        md,
        "## The controller: `pitagora run` against the real API server\n"
    );
    let _ = writeln!(md, "{}", text("controller.md"));
    let _ = writeln!(
        md,
        "| pipelines | all Ready after s | CPU s until then | peak RSS MiB | of it, peak own data MiB | binary's pages MiB | CPU s per sweep | apply → first write s | after a restart s | commit |"
    );
    let _ = writeln!(md, "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in rows.iter().filter(|r| r.name == "pitagora run") {
        let x = |k: &str| r.extra.get(k).copied().unwrap_or(f64::NAN);
        let mib = |k: &str| match r.extra.get(k) {
            Some(v) => format!("{v:.1}"),
            None => "–".into(),
        };
        let _ = writeln!(
            md,
            "| {} | {:.0} | {:.1} | {:.1} | {} | {} | {:.2} | {:.2} | {:.2} | {} |",
            r.pipelines,
            r.cost.wall_s,
            r.cost.cpu_s,
            r.cost.peak_rss_mib,
            mib("peak_anon_mib"),
            mib("rss_file_mib"),
            x("cpu_s_per_sweep"),
            x("apply_to_first_write_s"),
            x("apply_to_first_write_after_restart_s"),
            r.commit,
        );
    }
    let _ = writeln!(md);
}

/// The rate achieved per operation at AWS's default limits.
fn rates(md: &mut String, rows: &[Row]) {
    let _ = writeln!(
        md,
        "## Rate achieved per operation at AWS's default limits\n"
    );
    let _ = writeln!(md, "{}", text("rates.md"));
    for r in rows.iter().filter(|r| !r.rates.is_empty()) {
        let _ = writeln!(
            md,
            "**{}, {} pipelines** ({:.1} s)\n",
            r.name, r.pipelines, r.cost.wall_s
        );
        let _ = writeln!(
            md,
            "| operation | calls | achieved /s | busiest second | limit /s | achieved / limit |"
        );
        let _ = writeln!(md, "|---|---:|---:|---:|---:|---:|");
        for (op, o) in r.rates.iter().filter(|(_, o)| o.calls >= 20) {
            let achieved = o.achieved.map_or("–".into(), |a| format!("{a:.2}"));
            let share = o
                .achieved
                .map_or("–".into(), |a| format!("{:.0} %", 100.0 * a / o.limit));
            let _ = writeln!(
                md,
                "| {op} | {} | {achieved} | {} | {} | {share} |",
                o.calls, o.busiest_second, o.limit
            );
        }
        let _ = writeln!(md);
    }
}

/// Changes as events: change → correction with and without an event, the sweep within the
/// budget, and the calls per hour.
fn events(md: &mut String, rows: &[Row]) {
    let _ = writeln!(md, "## Changes as events, within the quota budget\n");
    let _ = writeln!(md, "{}", text("events.md"));
    let _ = writeln!(
        md,
        "| pipelines | limits | full sweep s | controller's estimate s | change → correction, no event, s | change → correction with an event, median s | max s | changes told | AWS calls per hour | commit |"
    );
    let _ = writeln!(md, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for r in rows.iter().filter(|r| r.name == "changes as events") {
        let x = |k: &str| r.extra.get(k).copied().unwrap_or(f64::NAN);
        // Rows measured before the estimate was recorded show none.
        let estimate = r
            .extra
            .get("sweep_estimate_s")
            .map_or("–".to_owned(), |s| format!("{s:.0}"));
        let _ = writeln!(
            md,
            "| {} | {} | {:.0} | {estimate} | {:.0} | {:.1} | {:.1} | {:.0} | {:.0} | {} |",
            r.pipelines,
            r.limits,
            x("sweep_s"),
            x("untold_change_to_correction_s"),
            x("told_change_to_correction_median_s"),
            x("told_change_to_correction_max_s"),
            x("told_changes"),
            x("calls_per_hour"),
            r.commit,
        );
    }
    let _ = writeln!(md);
}
