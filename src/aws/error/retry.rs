//! How long and how often pitagora's own layer retries an AWS call.

use super::AwsError;
use backon::{ExponentialBuilder, Retryable};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long and how often to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// First delay.
    pub min_delay: Duration,
    /// Largest delay.
    pub max_delay: Duration,
    /// Give up once this much time was spent waiting.
    pub total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            total: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries: for calls inside an outer retry loop.
    pub fn once() -> Self {
        Self {
            min_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            total: Duration::ZERO,
        }
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_jitter()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_total_delay(Some(self.total))
            .without_max_times()
    }

    /// Runs `call` until it succeeds, fails for good, or the policy's time is spent.
    pub async fn run<T, F, Fut>(&self, call: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        self.run_waiting(&AtomicU64::new(0), call).await
    }

    /// [`RetryPolicy::run`], where the policy's time counts the attempts as well as the waits
    /// between them — a server that takes each request and never answers costs the policy's
    /// time, not one attempt timeout per retry — but not the time `waited` says the attempts
    /// spent queued in the rate limiter (milliseconds), which is the schedule's, not a fault's.
    pub async fn run_waiting<T, F, Fut>(&self, waited: &AtomicU64, call: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let started = tokio::time::Instant::now();
        let spent = || {
            started
                .elapsed()
                .saturating_sub(Duration::from_millis(waited.load(Ordering::Relaxed)))
        };
        call.retry(self.backoff())
            .sleep(tokio::time::sleep)
            .when(|e| e.is_retryable() && spent() < self.total)
            .notify(|e, after| tracing::warn!(error = %e, label = e.label(), retry_in_ms = after.as_millis() as u64, "retrying AWS call"))
            .await
    }
}

impl RetryPolicy {
    /// [`RetryPolicy::run`] bounded as a whole by `deadline`, attempts included: an attempt
    /// that hangs is cut off there too. At the deadline it ends with the last failure seen, or
    /// `no_answer` when no attempt has ended yet.
    pub async fn run_within<T, F, Fut>(
        &self,
        deadline: Duration,
        no_answer: AwsError,
        mut call: F,
    ) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let last = std::sync::Mutex::new(None);
        let attempts = self.run(|| {
            let attempt = call();
            let last = &last;
            async move {
                let result = attempt.await;
                if let Err(e) = &result {
                    *last.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.clone());
                }
                result
            }
        });
        match tokio::time::timeout(deadline, attempts).await {
            Ok(result) => result,
            Err(_) => Err(last
                .into_inner()
                .unwrap_or_else(|p| p.into_inner())
                .unwrap_or(no_answer)),
        }
    }
}
