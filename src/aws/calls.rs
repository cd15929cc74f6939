//! Every AWS call pitagora makes passes through [`CallCounter`], an SDK interceptor that counts
//! calls by service, operation and outcome. Tests assert on it ("a second apply writes nothing"),
//! benchmarks report it, the CLI prints it and the controller exports it as a metric.

use aws_sdk_s3::config::interceptors::FinalizerInterceptorContextRef;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// How a call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Outcome {
    /// 2xx.
    Ok,
    /// 4xx: the request was refused (not found, invalid, denied, throttled).
    ClientError,
    /// 5xx.
    ServerError,
    /// No response: connection failure or timeout.
    NoResponse,
}

impl Outcome {
    /// Stable label.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ClientError => "client_error",
            Outcome::ServerError => "server_error",
            Outcome::NoResponse => "no_response",
        }
    }
}

/// One counter key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CallKey {
    /// Service, e.g. `Firehose`.
    pub service: String,
    /// Operation, e.g. `DescribeDeliveryStream`.
    pub operation: String,
    /// Outcome.
    pub outcome: Outcome,
}

/// Counts of calls, by key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CallStats(pub BTreeMap<CallKey, u64>);

/// Whether an operation changes AWS state (as opposed to reading it).
pub fn is_write(operation: &str) -> bool {
    const READS: &[&str] = &["Describe", "Get", "List", "Head"];
    !READS.iter().any(|p| operation.starts_with(p))
}

impl CallStats {
    /// All calls.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Calls to operations that change AWS state.
    pub fn writes(&self) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| is_write(&k.operation))
            .map(|(_, n)| n)
            .sum()
    }

    /// The write operations called, with their counts, e.g. `Firehose.UpdateDestination`.
    pub fn write_operations(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (k, n) in self.0.iter().filter(|(k, _)| is_write(&k.operation)) {
            *out.entry(format!("{}.{}", k.service, k.operation))
                .or_default() += n;
        }
        out
    }

    /// Calls of one operation, any outcome.
    pub fn of(&self, operation: &str) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.operation == operation)
            .map(|(_, n)| n)
            .sum()
    }

    /// The calls made between `earlier` and `self`.
    pub fn since(&self, earlier: &CallStats) -> CallStats {
        CallStats(
            self.0
                .iter()
                .filter_map(|(k, n)| {
                    let d = n - earlier.0.get(k).copied().unwrap_or(0);
                    (d > 0).then(|| (k.clone(), d))
                })
                .collect(),
        )
    }
}

/// The interceptor. Clones share their counts.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<CallKey, u64>>>,
}

impl CallCounter {
    /// A snapshot of the counts so far.
    pub fn snapshot(&self) -> CallStats {
        CallStats(
            self.counts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
        )
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "pitagora::CallCounter"
    }

    // Counted once per attempt: that is what reaches AWS and what rate limits see.
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The SDK names CloudWatch Logs "CloudWatch Logs": labels use the spelling of
        // pitagora's operation names (`CloudWatchLogs.PutSubscriptionFilter`), without spaces.
        let (service, operation) = cfg
            .load::<Metadata>()
            .map(|m| (m.service().replace(' ', ""), m.name().to_owned()))
            .unwrap_or_else(|| ("unknown".into(), "unknown".into()));
        let outcome = match context.response().map(|r| r.status().as_u16()) {
            Some(200..=399) => Outcome::Ok,
            Some(400..=499) => Outcome::ClientError,
            Some(_) => Outcome::ServerError,
            None => Outcome::NoResponse,
        };
        let key = CallKey {
            service,
            operation,
            outcome,
        };
        tracing::trace!(service = %key.service, operation = %key.operation, outcome = outcome.as_str(), "aws call");
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += 1;
        Ok(())
    }
}
