//! What the benchmark measures besides AWS calls: wall time, CPU seconds and peak RSS of this
//! process (and CPU of the emulator, to tell when it is the bottleneck), and when each call left,
//! to compute the rate achieved per operation.

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Seconds of CPU (user + system) a process used, from `/proc/<pid>/stat`.
pub fn cpu_seconds(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command.
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// A `VmHWM`-style field of `/proc/<pid>/status`, in MiB.
pub fn status_mib(pid: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The highest value of `field` (`/proc/PID/status`, MiB) of process `pid`, sampled every
/// 100 ms until stopped: Linux keeps a peak of the whole RSS (`VmHWM`) but not of its parts.
pub struct PeakSampler {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<f64>,
}

impl PeakSampler {
    /// Starts sampling.
    pub fn start(pid: String, field: &'static str) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let handle = std::thread::spawn(move || {
            let mut peak = 0.0_f64;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                peak = peak.max(status_mib(&pid, field));
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            peak
        });
        Self { stop, handle }
    }

    /// The highest value seen.
    pub fn stop(self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.join().unwrap_or(0.0)
    }
}

/// Starts a new peak-RSS window for this process (Linux resets `VmHWM` to the current RSS).
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The emulator's process id: the moto_server listening on `AWS_ENDPOINT_URL`'s port.
pub fn moto_pid() -> Option<String> {
    let url = std::env::var("AWS_ENDPOINT_URL").ok()?;
    let port = url.rsplit(':').next()?.trim_end_matches('/').to_owned();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_string_lossy().into_owned();
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let args: Vec<String> = cmd
            .split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let ours = args.iter().any(|a| a.contains("moto_server"))
            && args.windows(2).any(|w| w[0] == "-p" && w[1] == port);
        ours.then_some(pid)
    })
}

/// Wall time, CPU and peak RSS of a measured step.
#[derive(Clone, Copy, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Cost {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub emulator_cpu_s: f64,
    pub peak_rss_mib: f64,
}

/// Measures what runs between [`Meter::start`] and [`Meter::stop`].
pub struct Meter {
    started: Instant,
    cpu: f64,
    emulator: Option<(String, f64)>,
}

impl Meter {
    pub fn start() -> Self {
        reset_peak_rss();
        let emulator = moto_pid().map(|pid| {
            let cpu = cpu_seconds(&pid);
            (pid, cpu)
        });
        Self {
            started: Instant::now(),
            cpu: cpu_seconds("self"),
            emulator,
        }
    }

    pub fn stop(self) -> Cost {
        Cost {
            wall_s: self.started.elapsed().as_secs_f64(),
            cpu_s: cpu_seconds("self") - self.cpu,
            emulator_cpu_s: self
                .emulator
                .map_or(0.0, |(pid, cpu)| cpu_seconds(&pid) - cpu),
            peak_rss_mib: status_mib("self", "VmHWM:"),
        }
    }
}

/// When each request left, by `Service.Operation` (an SDK interceptor; clones share).
#[derive(Clone, Debug, Default)]
pub struct Departures(Arc<Mutex<BTreeMap<String, Vec<Instant>>>>);

impl Departures {
    /// Forgets what was recorded.
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// Per operation: requests, and the rate achieved over the span from its first to its last
    /// request (requests − 1 over the span; `None` for fewer than 2 requests). The busiest
    /// one-second window is returned too: a limiter that never exceeds its rate keeps it at
    /// most the rate (plus one for the window's edge).
    pub fn rates(&self) -> BTreeMap<String, (usize, Option<f64>, usize)> {
        let all = self.0.lock().unwrap();
        all.iter()
            .map(|(op, times)| {
                let n = times.len();
                let span = times.last().zip(times.first()).map(|(l, f)| *l - *f);
                let rate = span
                    .filter(|s| n > 1 && *s > Duration::ZERO)
                    .map(|s| (n - 1) as f64 / s.as_secs_f64());
                (op.clone(), (n, rate, busiest_second(times)))
            })
            .collect()
    }
}

/// The most requests within any one-second window of `times` (sorted).
fn busiest_second(times: &[Instant]) -> usize {
    let mut best = 0;
    let mut start = 0;
    for (end, t) in times.iter().enumerate() {
        while *t - times[start] >= Duration::from_secs(1) {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

impl Intercept for Departures {
    fn name(&self) -> &'static str {
        "bench::Departures"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>() {
            let op = format!("{}.{}", m.service().replace(' ', ""), m.name());
            self.0
                .lock()
                .unwrap()
                .entry(op)
                .or_default()
                .push(Instant::now());
        }
        Ok(())
    }
}
