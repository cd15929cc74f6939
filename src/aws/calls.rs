//! Every AWS call pitagora makes passes through [`CallCounter`], an SDK interceptor that counts
//! calls by service, operation and outcome. Tests assert on it ("a second apply writes nothing"),
//! benchmarks report it, the CLI prints it and the controller exports it as a metric. It also
//! counts the answers that are throttling, by service and operation: every attempt, the SDK's
//! own retries included, which pitagora's retry layer never sees. And it counts the calls made
//! as routine (see [`super::budget`]), by operation: what a routine check costs, measured.

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
    // `Filter`: CloudWatch Logs' FilterLogEvents (the audit's read of the logged events).
    // `Receive`: SQS's ReceiveMessage (taking changes from pitagora's own queue). `Assume`:
    // STS's AssumeRole hands out credentials and changes nothing in the account.
    const READS: &[&str] = &[
        "Describe", "Get", "List", "Head", "Filter", "Receive", "Assume",
    ];
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

/// Throttled answers by `(service, operation)`.
pub type ThrottleStats = BTreeMap<(String, String), u64>;

/// The interceptor. Clones share their counts.
#[derive(Clone, Debug, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<CallKey, u64>>>,
    throttles: Arc<Mutex<ThrottleStats>>,
    routine: Arc<Mutex<BTreeMap<String, u64>>>,
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

    /// Counts a call.
    pub fn count(&self, key: CallKey) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(key)
            .or_default() += 1;
    }

    /// Counts a throttled answer of `operation` of `service`.
    pub fn count_throttle(&self, service: &str, operation: &str) {
        *self
            .throttles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((service.to_owned(), operation.to_owned()))
            .or_default() += 1;
    }

    /// Counts a call of `operation` (`Service.Operation`) made as routine.
    pub fn count_routine(&self, operation: &str) {
        *self
            .routine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(operation.to_owned())
            .or_default() += 1;
    }

    /// The calls made as routine so far, by `Service.Operation`.
    pub fn routine(&self) -> BTreeMap<String, u64> {
        self.routine
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The throttled answers so far, by `(service, operation)`.
    pub fn throttles(&self) -> ThrottleStats {
        self.throttles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Whether an answer is AWS throttling: 429, or an error whose code (the `x-amzn-ErrorType`
/// header, a JSON body's `__type` or `code`, an XML body's `<Code>`) and message
/// [`super::error::is_throttling`] calls so.
pub fn is_throttling_answer(status: u16, error_type: Option<&str>, body: &[u8]) -> bool {
    if status < 400 {
        return false;
    }
    let body = String::from_utf8_lossy(&body[..body.len().min(8192)]);
    let code = answer_code(error_type, &body).unwrap_or_default();
    super::error::is_throttling(&code, status, &body)
}

/// The error code an answer names (see [`is_throttling_answer`]), without its namespace.
fn answer_code(error_type: Option<&str>, body: &str) -> Option<String> {
    let code = match error_type {
        Some(t) => t.split(':').next().unwrap_or(t).to_owned(),
        None => match serde_json::from_str::<serde_json::Value>(body) {
            Ok(json) => {
                let code = json.get("__type").or_else(|| json.get("code"))?;
                code.as_str()?.to_owned()
            }
            Err(_) => {
                let start = body.find("<Code>")? + "<Code>".len();
                let end = start + body[start..].find("</Code>")?;
                body[start..end].to_owned()
            }
        },
    };
    let code = code.rsplit('#').next().unwrap_or(&code);
    Some(code.trim().to_owned())
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
        let throttled = context.response().is_some_and(|r| {
            let body = r.body().bytes().unwrap_or_default();
            is_throttling_answer(
                r.status().as_u16(),
                r.headers().get("x-amzn-errortype"),
                body,
            )
        });
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
        tracing::trace!(service = %key.service, operation = %key.operation, outcome = outcome.as_str(), throttled, "aws call");
        if throttled {
            self.count_throttle(&key.service, &key.operation);
        }
        // The interceptor runs inside the call's future, on the task that made it.
        if super::budget::class() == super::budget::Class::Routine {
            self.count_routine(&format!("{}.{}", key.service, key.operation));
        }
        self.count(key);
        Ok(())
    }
}

#[cfg(test)]
mod throttling {
    use super::is_throttling_answer as throttling;

    #[test]
    fn a_json_error_code_or_header_that_is_throttling_counts() {
        let firehose = br#"{"__type":"LimitExceededException","message":"Rate exceeded"}"#;
        assert!(throttling(400, None, firehose));
        let logs = br#"{"__type":"com.amazonaws.logs#ThrottlingException","message":"slow"}"#;
        assert!(throttling(400, None, logs));
        assert!(throttling(
            400,
            Some("ThrottlingException:http://internal/"),
            b""
        ));
        assert!(throttling(429, None, b"<html>Too Many Requests</html>"));
    }

    #[test]
    fn an_xml_error_code_that_is_throttling_counts() {
        let query = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>";
        assert!(throttling(400, None, query));
        let s3 = b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
        assert!(throttling(503, None, s3));
    }

    #[test]
    fn other_answers_do_not_count() {
        let quota = br#"{"__type":"LimitExceededException","message":"streams per account"}"#;
        assert!(!throttling(400, None, quota));
        assert!(!throttling(
            403,
            None,
            b"<Error><Code>AccessDenied</Code></Error>"
        ));
        assert!(!throttling(500, None, b"internal error"));
        assert!(!throttling(
            200,
            None,
            br#"{"__type":"ThrottlingException"}"#
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::is_write;

    #[test]
    fn reads_are_told_from_writes_by_their_operation() {
        for read in [
            "DescribeStacks",
            "GetTemplate",
            "ListTagsForResource",
            "HeadObject",
            "FilterLogEvents",
            "GetMetricData",
        ] {
            assert!(!is_write(read), "{read}");
        }
        for write in [
            "UpdateStack",
            "PutLogEvents",
            "CreateLogStream",
            "DeleteObjects",
        ] {
            assert!(is_write(write), "{write}");
        }
    }
}
