//! Prometheus metrics of the controller (`/metrics`): reconciles and failures by error label,
//! reconcile duration, drift items by pipeline and resource kind, AWS calls by service,
//! operation and outcome, throttled AWS answers, canary latency and outcomes by pipeline and
//! stage, each pipeline's state (conditions, checks in a row that found drift, canary
//! deadlines; in `metrics/pipeline.rs`), whether this replica leads, and how long a full sweep
//! takes under the quota budget.

mod events;
mod pipeline;

pub use pipeline::{CONDITION_STATUSES, CONDITION_TYPES, ConditionLabels, DriftCheckLabels};

use crate::aws::{CallCounter, CallStats, ThrottleStats};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Mutex;
use std::time::Duration;

/// Labels of a failed reconcile.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// The error's stable label, e.g. `AwsError`, `InvalidSpec`.
    pub error: String,
}

/// Labels of a pipeline's drift items.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DriftLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Resource kind.
    pub kind: String,
}

/// Labels of AWS calls.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AwsLabels {
    /// Service, e.g. `Firehose`.
    pub service: String,
    /// Operation.
    pub operation: String,
    /// `ok`, `client_error`, `server_error`, `no_response`.
    pub outcome: String,
}

/// Labels of throttled AWS answers.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ThrottleLabels {
    /// Service, e.g. `Firehose`.
    pub service: String,
    /// Operation.
    pub operation: String,
}

/// Labels of the sweep time.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SweepLabels {
    /// The operation whose budget bounds the sweep (`none` without limits).
    pub bottleneck: String,
}

/// A gauge of seconds or a ratio.
type Real = Gauge<f64, std::sync::atomic::AtomicU64>;

/// Labels of a canary at a stage.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CanaryLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `raw` or `processed`.
    pub stage: String,
}

/// Labels of a canary's outcome at a stage.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// `raw` or `processed`.
    pub stage: String,
    /// `Delivered`, `Missing` or `Inconclusive`.
    pub outcome: String,
}

/// Labels of a pipeline's loss signals.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SignalLabels {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The signal's kind, e.g. `DeliveryErrors`.
    pub signal: String,
}

fn latency_histogram() -> Histogram {
    // 1 s … ~68 min: from zero buffering to the 900 s maximum and well past it.
    Histogram::new(exponential_buckets(1.0, 2.0, 13))
}

type LatencyFamily = Family<CanaryLabels, Histogram, fn() -> Histogram>;

/// Registers the canary latency and outcome families.
fn canary_families(registry: &mut Registry) -> (LatencyFamily, Family<OutcomeLabels, Counter>) {
    let latency = LatencyFamily::new_with_constructor(latency_histogram);
    let outcomes = Family::<OutcomeLabels, Counter>::default();
    registry.register(
        "canary_latency_seconds",
        "From sending a canary to storing the object that holds it, by stage",
        latency.clone(),
    );
    registry.register(
        "canary_outcomes",
        "Canaries settled at a stage, by outcome",
        outcomes.clone(),
    );
    (latency, outcomes)
}

/// Registers the sweep time and the budget.
fn sweep_gauges(registry: &mut Registry) -> (Family<SweepLabels, Real>, Real) {
    let seconds = Family::<SweepLabels, Real>::default();
    let budget = Real::default();
    registry.register(
        "sweep_seconds",
        "How long a full sweep of the pipelines takes under the quota budget, by the operation that bounds it",
        seconds.clone(),
    );
    registry.register(
        "sweep_budget_ratio",
        "The share of each AWS operation's rate limit routine checks may use (--sweep-budget)",
        budget.clone(),
    );
    (seconds, budget)
}

/// The metrics.
pub struct Metrics {
    events: events::Families,
    canary_latency: LatencyFamily,
    canary_outcomes: Family<OutcomeLabels, Counter>,
    registry: Registry,
    reconciles: Counter,
    failures: Family<ErrorLabels, Counter>,
    duration: Histogram,
    drift: Family<DriftLabels, Gauge>,
    loss_signals: Family<SignalLabels, Gauge>,
    aws_calls: Family<AwsLabels, Counter>,
    throttles: Family<ThrottleLabels, Counter>,
    leader: Gauge,
    shards_held: Gauge,
    sweep_seconds: Family<SweepLabels, Real>,
    sweep_budget: Real,
    pipeline: pipeline::Families,
    calls: CallCounter,
    exported: Mutex<(CallStats, ThrottleStats)>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Registers every metric; AWS call counts are read from `calls` at each scrape.
    pub fn new(calls: CallCounter) -> Self {
        let mut registry = Registry::with_prefix("pitagora");
        let reconciles = Counter::default();
        let failures = Family::<ErrorLabels, Counter>::default();
        let duration = Histogram::new(exponential_buckets(0.05, 2.0, 12));
        let drift = Family::<DriftLabels, Gauge>::default();
        let aws_calls = Family::<AwsLabels, Counter>::default();
        let loss_signals = Family::<SignalLabels, Gauge>::default();
        registry.register(
            "loss_signals",
            "Loss signals found by the last check, by kind",
            loss_signals.clone(),
        );
        let leader = Gauge::default();
        let (canary_latency, canary_outcomes) = canary_families(&mut registry);
        registry.register("reconciles", "Reconciles run", reconciles.clone());
        registry.register(
            "reconcile_failures",
            "Reconciles that failed, by error",
            failures.clone(),
        );
        registry.register(
            "reconcile_duration_seconds",
            "Duration of reconciles",
            duration.clone(),
        );
        registry.register(
            "drift_items",
            "Drift items found by the last check",
            drift.clone(),
        );
        registry.register(
            "aws_calls",
            "AWS calls by service, operation and outcome",
            aws_calls.clone(),
        );
        let throttles = Family::<ThrottleLabels, Counter>::default();
        registry.register(
            "aws_throttles",
            "AWS answers that are throttling (every attempt), by service and operation",
            throttles.clone(),
        );
        registry.register(
            "leader",
            "1 when this replica holds the leader lease",
            leader.clone(),
        );
        let shards_held = Gauge::default();
        registry.register(
            "shards_held",
            "Shards this replica holds and acts on (with --shards above 1)",
            shards_held.clone(),
        );
        let (sweep_seconds, sweep_budget) = sweep_gauges(&mut registry);
        let pipeline = pipeline::Families::register(&mut registry);
        let events = events::Families::register(&mut registry);
        Self {
            events,
            canary_latency,
            canary_outcomes,
            registry,
            reconciles,
            failures,
            duration,
            drift,
            loss_signals,
            aws_calls,
            throttles,
            leader,
            shards_held,
            sweep_seconds,
            sweep_budget,
            pipeline,
            calls,
            exported: Mutex::default(),
        }
    }

    /// Records a reconcile: its duration and, if it failed, the error's label.
    pub fn reconciled(&self, elapsed: Duration, error: Option<&str>) {
        self.reconciles.inc();
        self.duration.observe(elapsed.as_secs_f64());
        if let Some(error) = error {
            self.failures
                .get_or_create(&ErrorLabels {
                    error: error.to_owned(),
                })
                .inc();
        }
    }

    /// Sets a pipeline's drift items per resource kind (kinds without items go to 0).
    pub fn drift(&self, namespace: &str, name: &str, kinds: &[crate::resources::ResourceKind]) {
        for kind in crate::resources::ResourceKind::ALL {
            let n = kinds.iter().filter(|k| **k == kind).count();
            let labels = DriftLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                kind: kind.as_str().to_owned(),
            };
            if n > 0 {
                self.drift.get_or_create(&labels).set(n as i64);
            } else {
                self.drift.remove(&labels);
            }
        }
    }

    /// Sets the loss-signal figures of a pipeline: kinds the last check did not find go.
    pub fn loss_signals(
        &self,
        namespace: &str,
        name: &str,
        signals: &[crate::delivery::signals::Signal],
    ) {
        for kind in crate::delivery::signals::SignalKind::ALL {
            let n = signals.iter().filter(|s| s.kind == kind).count();
            let labels = SignalLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                signal: kind.label().to_owned(),
            };
            if n > 0 {
                self.loss_signals.get_or_create(&labels).set(n as i64);
            } else {
                self.loss_signals.remove(&labels);
            }
        }
    }

    /// Records a canary stage that settled.
    pub fn canary(&self, namespace: &str, name: &str, s: &super::delivery_status::Settled) {
        self.canary_outcomes
            .get_or_create(&OutcomeLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                stage: s.stage.to_owned(),
                outcome: s.outcome.to_owned(),
            })
            .inc();
        if let Some(ms) = s.latency_ms {
            self.canary_latency
                .get_or_create(&CanaryLabels {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    stage: s.stage.to_owned(),
                })
                .observe(ms.max(0) as f64 / 1000.0);
        }
    }

    /// Sets the leader gauge.
    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// Sets the number of shards held.
    pub fn set_shards_held(&self, held: usize) {
        self.shards_held
            .set(i64::try_from(held).unwrap_or(i64::MAX));
    }

    /// Sets how long a full sweep takes under `budget` of each operation's rate.
    pub fn set_sweep(&self, sweep: &crate::aws::budget::Sweep, budget: f64) {
        let labels = SweepLabels {
            bottleneck: sweep.bottleneck.clone().unwrap_or_else(|| "none".into()),
        };
        // One series: the bottleneck of the last estimate.
        self.sweep_seconds.clear();
        self.sweep_seconds
            .get_or_create(&labels)
            .set(sweep.time.as_secs_f64());
        self.sweep_budget.set(budget);
    }

    /// Brings the AWS call and throttle counters up to the call counter's totals.
    fn export_calls(&self) {
        let (calls, throttles) = (self.calls.snapshot(), self.calls.throttles());
        let mut exported = self.exported.lock().unwrap_or_else(|p| p.into_inner());
        for (key, n) in &calls.since(&exported.0).0 {
            self.aws_calls
                .get_or_create(&AwsLabels {
                    service: key.service.clone(),
                    operation: key.operation.clone(),
                    outcome: key.outcome.as_str().to_owned(),
                })
                .inc_by(*n);
        }
        for ((service, operation), n) in &throttles {
            let before = exported.1.get(&(service.clone(), operation.clone()));
            let labels = ThrottleLabels {
                service: service.clone(),
                operation: operation.clone(),
            };
            self.throttles
                .get_or_create(&labels)
                .inc_by(n - before.copied().unwrap_or(0));
        }
        *exported = (calls, throttles);
    }

    /// The metrics in the Prometheus text format.
    pub fn render(&self) -> String {
        self.export_calls();
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String");
        out
    }
}

#[cfg(test)]
mod tests;
