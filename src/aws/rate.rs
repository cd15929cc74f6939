//! Client-side rate limits per AWS operation, per region, shared by every worker of a process,
//! so that many pipelines checked at once stay within the control-plane quotas instead of
//! provoking throttling and its retries. AWS's quotas are per operation (Firehose's
//! `DescribeDeliveryStream` and `UpdateDestination` are each a hard 5 per second), so one
//! operation waiting never slows another.
//!
//! Requests of one operation are spaced at least `1 / rate` apart, without a burst: at 4 per
//! second, no one-second window ever holds more than 5. A caller reserves the earliest free slot
//! and sleeps once until it (no polling). A throttled answer halves that operation's rate (once
//! per slot, so a burst of throttled answers in flight counts once); the rate then recovers
//! linearly to its limit over [`RECOVERY`].
//!
//! Two classes of request (see [`super::budget`]): a *routine* request also passes a second
//! schedule per operation, at the rate times the budget, so routine work alone never uses more
//! than the budget; a *priority* request takes any free slot of the operation's schedule, also
//! one between routine requests reserved later, so it uses the rest. Both fill one schedule,
//! whose slots stay `1 / rate` apart: together they never exceed the limit. Throttling lowers
//! the rate both schedules derive from.

use super::budget::{Budget, Class};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a throttled operation takes to recover from its lowest rate to its limit.
pub const RECOVERY: Duration = Duration::from_secs(30);
/// The lowest a throttled operation's rate falls, as a fraction of its limit.
pub const FLOOR: f64 = 1.0 / 16.0;

/// The services pitagora calls, as operation names spell them (`Service.Operation`).
pub const SERVICES: [&str; 12] = [
    "CloudFormation",
    "CloudWatch",
    "CloudWatchLogs",
    "EventBridge",
    "Firehose",
    "IAM",
    "Lambda",
    "ResourceGroupsTaggingAPI",
    "S3",
    "SNS",
    "SQS",
    "STS",
];

/// Requests per second allowed for `operation` (`Service.Operation`) by default: AWS's
/// published quotas with about 20 % headroom, or 4 where no quota is published.
pub fn default_rate(operation: &str) -> f64 {
    let (service, op) = operation.split_once('.').unwrap_or((operation, ""));
    match (service, op) {
        // 5 per second per log stream; each canary writes its own pipeline's stream.
        ("CloudWatchLogs", "PutLogEvents") => 40.0,
        ("CloudWatchLogs", "CreateLogStream") => 40.0,
        ("CloudWatchLogs", "GetLogEvents") => 8.0,
        // GetMetricData: 50 per second.
        ("CloudWatch", _) => 40.0,
        // The Lambda control plane: 15 per second.
        ("Lambda", _) => 12.0,
        ("SNS", _) => 20.0,
        ("S3", _) => 50.0,
        ("IAM", _) => 10.0,
        ("STS", _) => 20.0,
        // SQS's standard queues take nearly unlimited requests; EventBridge's control plane
        // (PutRule, PutTargets, DescribeRule...) about 50 per second.
        ("SQS", _) => 50.0,
        ("EventBridge", _) => 40.0,
        // Firehose's control plane: a hard 5 per second per operation; CloudWatch Logs' other
        // APIs about 5; CloudFormation publishes none and asks for backoff.
        _ => 4.0,
    }
}

/// Why a rate-limit setting is not usable.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LimitsError {
    /// The key names no service pitagora calls.
    #[error(
        "{key:?} is not a service or Service.Operation pitagora calls; services: {}",
        SERVICES.join(", ")
    )]
    UnknownService { key: String },
    /// The rate is not a positive number.
    #[error("{key}: {rate} is not a rate; give requests per second above 0, e.g. 4 or 0.5")]
    BadRate { key: String, rate: String },
    /// A `--rate-limit` value without `=`.
    #[error("{0:?}: expected KEY=RATE, e.g. Firehose.DescribeDeliveryStream=8")]
    Syntax(String),
    /// The file is not a YAML map of keys to rates.
    #[error("rate limits file: {0}")]
    File(String),
}

/// The limits in force: AWS's defaults, overridden per service (`Firehose`) or per operation
/// (`Firehose.DescribeDeliveryStream`), or none at all.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Limits {
    overrides: BTreeMap<String, f64>,
    off: bool,
    /// The share routine requests may use; `None`: [`super::budget::DEFAULT_BUDGET`].
    budget: Option<Budget>,
}

impl Limits {
    /// AWS's defaults.
    pub fn aws() -> Self {
        Self::default()
    }

    /// No limits (an emulator in tests).
    pub fn unlimited() -> Self {
        Self {
            overrides: BTreeMap::new(),
            off: true,
            budget: None,
        }
    }

    /// These limits with routine requests at `budget` of every rate.
    pub fn with_budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// The share of every rate routine requests may use.
    pub fn budget(&self) -> Budget {
        self.budget.unwrap_or_default()
    }

    /// These limits with `key` (`Service` or `Service.Operation`) at `rate` per second.
    pub fn with(mut self, key: &str, rate: f64) -> Result<Self, LimitsError> {
        let service = key.split('.').next().unwrap_or(key);
        if !SERVICES.contains(&service) {
            return Err(LimitsError::UnknownService {
                key: key.to_owned(),
            });
        }
        if !(rate.is_finite() && rate > 0.0) {
            return Err(LimitsError::BadRate {
                key: key.to_owned(),
                rate: rate.to_string(),
            });
        }
        self.overrides.insert(key.to_owned(), rate);
        Ok(self)
    }

    /// These limits with a `KEY=RATE` setting (the `--rate-limit` flag).
    pub fn with_setting(self, setting: &str) -> Result<Self, LimitsError> {
        let (key, rate) = setting
            .split_once('=')
            .ok_or_else(|| LimitsError::Syntax(setting.to_owned()))?;
        let parsed = rate
            .trim()
            .parse::<f64>()
            .map_err(|_| LimitsError::BadRate {
                key: key.trim().to_owned(),
                rate: rate.trim().to_owned(),
            })?;
        self.with(key.trim(), parsed)
    }

    /// These limits with every setting of a YAML map `{KEY: RATE}` (the `--rate-limits` file).
    pub fn with_file(mut self, text: &str) -> Result<Self, LimitsError> {
        let map: BTreeMap<String, f64> =
            serde_saphyr::from_str(text).map_err(|e| LimitsError::File(e.to_string()))?;
        for (key, rate) in map {
            self = self.with(&key, rate)?;
        }
        Ok(self)
    }

    /// Requests per second for `operation`: its own setting, else its service's, else AWS's
    /// default; infinite when limits are off.
    pub fn rate(&self, operation: &str) -> f64 {
        if self.off {
            return f64::INFINITY;
        }
        let service = operation.split('.').next().unwrap_or(operation);
        self.overrides
            .get(operation)
            .or_else(|| self.overrides.get(service))
            .copied()
            .unwrap_or_else(|| default_rate(operation))
    }
}

/// One operation's schedule.
#[derive(Clone, Debug)]
struct Bucket {
    /// The configured rate.
    limit: f64,
    /// The rate now (lower after throttling).
    rate: f64,
    /// The slots reserved, from a little before now on (by either class).
    slots: BTreeSet<Instant>,
    /// No request goes before this (set by throttling).
    not_before: Instant,
    /// The earliest time the next routine request may go.
    routine_next: Instant,
    /// When `rate` was last changed.
    adjusted: Instant,
    /// When it was last halved.
    throttled: Option<Instant>,
}

fn seconds(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

impl Bucket {
    fn new(limit: f64, now: Instant) -> Self {
        Self {
            limit,
            rate: limit,
            slots: BTreeSet::new(),
            not_before: now,
            routine_next: now,
            adjusted: now,
            throttled: None,
        }
    }

    /// Raises the rate towards the limit for the time since it was last changed.
    fn recover(&mut self, now: Instant) {
        if self.rate < self.limit {
            let elapsed = now.saturating_duration_since(self.adjusted).as_secs_f64();
            let step = self.limit * (1.0 - FLOOR) * elapsed / RECOVERY.as_secs_f64();
            self.rate = (self.rate + step).min(self.limit);
            self.adjusted = now;
        }
    }

    /// The earliest time from `earliest` on at least `gap` from every reserved slot.
    fn fit(&self, earliest: Instant, gap: Duration) -> Instant {
        let mut at = earliest;
        for &slot in self
            .slots
            .range(earliest.checked_sub(gap).unwrap_or(earliest)..)
        {
            if slot >= at + gap {
                break;
            }
            if slot + gap > at {
                at = slot + gap;
            }
        }
        at
    }

    /// Reserves the earliest slot for a request of `class` asked for at `now`, at `share` of
    /// the rate (routine requests at `budget` of that too).
    fn reserve(&mut self, class: Class, now: Instant, share: f64, budget: Budget) -> Instant {
        self.recover(now);
        // Slots older than the widest gap (the rate at its floor) can no longer be in the way.
        let widest = seconds(1.0 / (self.limit * FLOOR * share));
        while self.slots.first().is_some_and(|s| *s + widest < now) {
            self.slots.pop_first();
        }
        let earliest = match class {
            Class::Priority => now.max(self.not_before),
            Class::Routine => now.max(self.not_before).max(self.routine_next),
        };
        let slot = self.fit(earliest, seconds(1.0 / (self.rate * share)));
        if class == Class::Routine {
            self.routine_next = slot + seconds(1.0 / (self.rate * share * budget.get()));
        }
        self.slots.insert(slot);
        slot
    }
}

/// The schedules of every (region, operation), shared by a process's clients.
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    limits: Limits,
    /// The part of every limit this process may use (replicas sharing an account's quota by
    /// shards use theirs: shards held over shards).
    share: Mutex<f64>,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(Limits::aws())
    }
}

/// The bucket key: IAM is global, everything else per region.
fn key(region: &str, operation: &str) -> String {
    if operation.starts_with("IAM.") {
        format!("global/{operation}")
    } else {
        format!("{region}/{operation}")
    }
}

impl RateLimiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            limits,
            share: Mutex::new(1.0),
        }
    }

    /// Uses `share` (above 0, at most 1) of every limit from now on.
    pub fn set_share(&self, share: f64) {
        let share = if share > 0.0 { share.min(1.0) } else { 1.0 };
        *self.share.lock().unwrap_or_else(|p| p.into_inner()) = share;
    }

    fn share(&self) -> f64 {
        *self.share.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// No limits (tests against an emulator).
    pub fn unlimited() -> Self {
        Self::new(Limits::unlimited())
    }

    /// The limits it enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn bucket<'a>(
        buckets: &'a mut HashMap<String, Bucket>,
        limits: &Limits,
        region: &str,
        operation: &str,
        now: Instant,
    ) -> Option<&'a mut Bucket> {
        let limit = limits.rate(operation);
        if limit.is_infinite() {
            return None;
        }
        Some(
            buckets
                .entry(key(region, operation))
                .or_insert_with(|| Bucket::new(limit, now)),
        )
    }

    /// Reserves a slot of `operation` in `region` for a request of the current task's class
    /// (see [`super::budget::class`]) asked for at `now`: how long to wait for it.
    pub fn reserve(&self, region: &str, operation: &str, now: Instant) -> Duration {
        self.reserve_as(super::budget::class(), region, operation, now)
    }

    /// [`RateLimiter::reserve`] for a request of `class`.
    pub fn reserve_as(
        &self,
        class: Class,
        region: &str,
        operation: &str,
        now: Instant,
    ) -> Duration {
        let share = self.share();
        let budget = self.limits.budget();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(b) = Self::bucket(&mut buckets, &self.limits, region, operation, now) else {
            return Duration::ZERO;
        };
        b.reserve(class, now, share, budget) - now
    }

    /// Records that AWS throttled `operation` in `region` at `now`: its rate halves (at most
    /// once per slot), down to [`FLOOR`] of its limit.
    pub fn throttled(&self, region: &str, operation: &str, now: Instant) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let Some(b) = Self::bucket(&mut buckets, &self.limits, region, operation, now) else {
            return;
        };
        b.recover(now);
        let interval = Duration::from_secs_f64(1.0 / b.rate);
        if b.throttled
            .is_some_and(|at| now.saturating_duration_since(at) < interval)
        {
            return;
        }
        b.rate = (b.rate / 2.0).max(b.limit * FLOOR);
        b.adjusted = now;
        b.throttled = Some(now);
        b.not_before = b.not_before.max(now + seconds(1.0 / b.rate));
    }

    /// The rate of `operation` in `region` now: its limit until it is throttled, times this
    /// process's share.
    pub fn rate_now(&self, region: &str, operation: &str, now: Instant) -> f64 {
        let share = self.share();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        match Self::bucket(&mut buckets, &self.limits, region, operation, now) {
            Some(b) => {
                b.recover(now);
                b.rate * share
            }
            None => f64::INFINITY,
        }
    }

    /// Waits for a slot of `operation` (`Service.Operation`) in `region`.
    pub async fn acquire(&self, region: &str, operation: &str) {
        let wait = self.reserve(region, operation, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}
