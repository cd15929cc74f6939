//! Client-side rate limits per AWS service, so that many pipelines checked at once stay within
//! the control-plane quotas (Firehose's are a hard 5 requests per second per operation;
//! CloudWatch Logs' and CloudFormation's are of the same order) instead of provoking throttling
//! and its retries. A token bucket per service, shared by every client of a process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Requests per second allowed for a service (also the burst size).
pub fn default_rate(service: &str) -> f64 {
    match service {
        // Hard quota of 5/s per operation; stay under it.
        "Firehose" => 4.0,
        "CloudWatchLogs" | "CloudFormation" => 4.0,
        "STS" => 10.0,
        _ => 10.0,
    }
}

struct Bucket {
    tokens: f64,
    rate: f64,
    last: Instant,
}

/// Token buckets by service.
pub struct RateLimiter {
    buckets: Mutex<HashMap<String, Bucket>>,
    rate: fn(&str) -> f64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").finish_non_exhaustive()
    }
}

impl Default for RateLimiter {
    fn default() -> Self {
        Self::new(default_rate)
    }
}

impl RateLimiter {
    /// Limits with `rate(service)` requests per second.
    pub fn new(rate: fn(&str) -> f64) -> Self {
        Self {
            buckets: Mutex::new(HashMap::new()),
            rate,
        }
    }

    /// No limits (tests against an emulator).
    pub fn unlimited() -> Self {
        Self::new(|_| f64::INFINITY)
    }

    /// How long to wait before the next request to `service`; takes its token.
    fn reserve(&self, service: &str) -> Duration {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let rate = (self.rate)(service);
        if rate.is_infinite() {
            return Duration::ZERO;
        }
        let bucket = buckets.entry(service.to_owned()).or_insert(Bucket {
            tokens: rate,
            rate,
            last: now,
        });
        let elapsed = now.duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * bucket.rate).min(bucket.rate);
        bucket.last = now;
        bucket.tokens -= 1.0;
        if bucket.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-bucket.tokens / bucket.rate)
        }
    }

    /// Waits for a token of `service` (the part of `Service.Operation` before the dot).
    pub async fn acquire(&self, operation: &str) {
        let service = operation.split('.').next().unwrap_or(operation);
        let wait = self.reserve(service);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_requests_are_spaced_by_the_rate() {
        let limiter = RateLimiter::new(|_| 4.0);
        let waits: Vec<Duration> = (0..6).map(|_| limiter.reserve("Firehose")).collect();
        assert!(waits[..4].iter().all(|w| w.is_zero()), "{waits:?}");
        // The 5th waits about a quarter second, the 6th about half.
        assert!((waits[4].as_secs_f64() - 0.25).abs() < 0.05, "{waits:?}");
        assert!((waits[5].as_secs_f64() - 0.5).abs() < 0.05, "{waits:?}");
    }

    #[test]
    fn services_have_separate_buckets() {
        let limiter = RateLimiter::new(|_| 1.0);
        assert!(limiter.reserve("Firehose").is_zero());
        assert!(limiter.reserve("S3").is_zero());
        assert!(!limiter.reserve("Firehose").is_zero());
    }
}
