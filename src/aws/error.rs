//! Typed AWS errors and the retry policy.
//!
//! Throttling, 5xx, timeouts, connection failures and AWS's eventual consistency (a role that
//! is not assumable yet, a stream that cannot take a test message yet) are retried with jittered
//! exponential backoff up to a deadline. Validation and access errors are not retried: they are
//! reported at once with AWS's own message.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod retry;
mod text;
pub use retry::RetryPolicy;
use text::{body_excerpt, error_chain};
pub use text::{printable, printable_bytes};

/// An AWS call that failed, classified. Variant names are stable labels (metrics, events).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// AWS asked us to slow down, and kept asking until the deadline.
    #[error("{operation}: throttled by AWS: {message}")]
    Throttled {
        /// `Service.Operation`.
        operation: String,
        /// AWS's message.
        message: String,
    },
    /// 5xx, timeouts or connection failures, until the deadline.
    #[error("{operation}: AWS is unreachable or failing: {message}")]
    Unavailable {
        /// `Service.Operation`.
        operation: String,
        /// What happened.
        message: String,
    },
    /// An answer that is not what the operation returns (a body the SDK cannot read, with a
    /// status that does not say the server failed): a proxy, an emulator or an endpoint that is
    /// not this service. Asking again gets the same answer, so it is not retried.
    #[error("{operation}: the answer is not {operation}'s: {message}")]
    Unreadable {
        /// `Service.Operation`.
        operation: String,
        /// The status, what the SDK could not read, and the start of the body.
        message: String,
    },
    /// HTTP 404 with no AWS error in it: the endpoint does not serve this operation at all (an
    /// emulator without this service or its protocol, e.g. moto and CloudWatch's metrics; a
    /// proxy; an endpoint that is not this service). Asking again gets the same answer, so it
    /// is not retried.
    #[error("{operation}: the endpoint does not serve it (HTTP {status}: {answer})")]
    NotServed {
        /// `Service.Operation`.
        operation: String,
        /// The status (404).
        status: u16,
        /// The start of the body.
        answer: String,
    },
    /// No answer came within a question's whole time (attempts and retries included): the
    /// endpoint takes connections and never answers (a half-open connection, a stuck proxy, a
    /// firewall that drops packets).
    #[error("{operation}: no answer from {endpoint} within {seconds} s")]
    NoAnswer {
        /// `Service.Operation`.
        operation: String,
        /// Where the question was sent.
        endpoint: String,
        /// The question's whole time.
        seconds: u64,
    },
    /// AWS has not caught up yet (IAM propagation, a stream still activating), until the deadline.
    #[error("{operation}: not ready: {message}")]
    NotReady {
        /// `Service.Operation`.
        operation: String,
        /// AWS's message.
        message: String,
    },
    /// The credentials may not do this.
    #[error("{operation}: access denied: {message}")]
    AccessDenied {
        /// `Service.Operation`.
        operation: String,
        /// AWS's message.
        message: String,
    },
    /// The resource does not exist.
    #[error("{operation}: not found: {message}")]
    NotFound {
        /// `Service.Operation`.
        operation: String,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// Someone else changed the resource at the same time, until the deadline.
    #[error("{operation}: concurrent modification: {message}")]
    Conflict {
        /// `Service.Operation`.
        operation: String,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// AWS refused the request as invalid (or for a reason no retry fixes).
    #[error("{operation}: {code}: {message}")]
    Rejected {
        /// `Service.Operation`.
        operation: String,
        /// AWS's error code.
        code: String,
        /// AWS's message.
        message: String,
    },
    /// A stack operation ended in a failed state.
    #[error("stack {stack} is {status}: {reason}")]
    StackFailed {
        /// Stack name.
        stack: String,
        /// Final status.
        status: String,
        /// Why, from the stack's status reason or its first failed event.
        reason: String,
    },
    /// CloudFormation cannot act through the service role pitagora passes on stack operations:
    /// the role does not exist, CloudFormation may not assume it, or the caller may not pass it.
    #[error(
        "{operation}: CloudFormation cannot act through the service role {role}: {message}; create the role with the template `pitagora iam-policies cloudformation-template` prints (manifests/aws/iam.cloudformation.yaml), or name another with --cloudformation-role-arn (PITAGORA_CLOUDFORMATION_ROLE_ARN)"
    )]
    ServiceRole {
        /// `Service.Operation`.
        operation: String,
        /// The role's ARN.
        role: String,
        /// AWS's message.
        message: String,
    },
    /// Waiting for a resource to settle took longer than allowed.
    #[error("{what} did not settle within {seconds} s (last seen: {state})")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline.
        seconds: u64,
        /// The last state seen.
        state: String,
    },
    /// A remote source's account for which no credentials were given: the engine acts in
    /// another account only through the accounts file's role there.
    #[error(
        "no credentials for account {account}: list it in the accounts file (--accounts) with the role pitagora assumes there"
    )]
    NoRole {
        /// The account.
        account: String,
    },
    /// A request could not be built from the desired state (a bug).
    #[error("cannot build the {0} request: {1}")]
    Build(String, String),
}

impl AwsError {
    /// Stable label for metrics and events.
    pub fn label(&self) -> &'static str {
        match self {
            AwsError::Throttled { .. } => "Throttled",
            AwsError::Unavailable { .. } => "Unavailable",
            AwsError::Unreadable { .. } => "Unreadable",
            AwsError::NotServed { .. } => "NotServed",
            AwsError::NoAnswer { .. } => "NoAnswer",
            AwsError::NotReady { .. } => "NotReady",
            AwsError::AccessDenied { .. } => "AccessDenied",
            AwsError::NotFound { .. } => "NotFound",
            AwsError::Conflict { .. } => "Conflict",
            AwsError::Rejected { .. } => "Rejected",
            AwsError::StackFailed { .. } => "StackFailed",
            AwsError::ServiceRole { .. } => "ServiceRole",
            AwsError::Timeout { .. } => "Timeout",
            AwsError::NoRole { .. } => "NoRole",
            AwsError::Build(..) => "Build",
        }
    }

    /// Whether trying again later can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            AwsError::Throttled { .. }
                | AwsError::Unavailable { .. }
                | AwsError::NoAnswer { .. }
                | AwsError::NotReady { .. }
                | AwsError::Conflict { .. }
        )
    }

    /// Whether a create found the resource already there (a retry after a crash, or a race
    /// with another writer): the caller goes on as if it had created it.
    pub fn is_already_exists(&self) -> bool {
        matches!(self, AwsError::Rejected { code, .. } if code == "ResourceAlreadyExistsException")
    }

    /// Whether this is "the resource does not exist".
    pub fn is_not_found(&self) -> bool {
        matches!(self, AwsError::NotFound { .. })
    }

    /// AWS's error code, where there is one.
    pub fn code(&self) -> Option<&str> {
        match self {
            AwsError::NotFound { code, .. }
            | AwsError::Conflict { code, .. }
            | AwsError::Rejected { code, .. } => Some(code),
            _ => None,
        }
    }
}

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "Throttled",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "SlowDown",
    "ProvisionedThroughputExceededException",
];
const ACCESS: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "UnauthorizedOperation",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "ExpiredToken",
    "ExpiredTokenException",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
];
const NOT_FOUND: &[&str] = &[
    "ResourceNotFoundException",
    "NoSuchBucket",
    "NotFound",
    "NotFoundException",
    "NoSuchEntity",
    "NoSuchLifecycleConfiguration",
    // SQS: the query protocol's code, and the JSON protocol's.
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
];
const CONFLICT: &[&str] = &[
    "ConcurrentModificationException",
    "OperationAbortedException",
    "OperationAborted",
];
/// Messages of AWS's eventual consistency right after roles or streams are created.
const NOT_READY: &[&str] = &[
    "unable to assume role",
    "is not authorized to perform: sts:AssumeRole",
    "Could not deliver test message",
    "role defined for the function cannot be assumed",
];

/// Firehose answers a control-plane call over its rate with `LimitExceededException` "Rate
/// exceeded"; the same code for a quota (streams per account, filters per log group) is final.
fn is_rate_limit(code: &str, message: &str) -> bool {
    code == "LimitExceededException" && message.to_ascii_lowercase().contains("rate exceeded")
}

/// Whether an error answer (AWS's `code`, the HTTP `status`, AWS's `message`) is throttling: how
/// [`classify`] tells [`AwsError::Throttled`], and how the call counter counts throttled answers.
pub fn is_throttling(code: &str, status: u16, message: &str) -> bool {
    THROTTLING.contains(&code) || status == 429 || is_rate_limit(code, message)
}

/// AWS's error codes for a request the server gave up waiting for (the AWS SDKs' transient
/// errors): sending it again can succeed.
const TRANSIENT: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// Whether an HTTP error status says the server cannot answer now but may later, so the same
/// request is worth sending again: 500, 502, 503 and 504 (the statuses the AWS SDKs retry),
/// 408 (the server gave up waiting for the request), 429 (throttling), and a 5xx HTTP does not
/// define (HTTP treats an unknown status as its class's x00). The 5xx statuses that say the
/// request will never succeed as sent are final: 501 Not Implemented (an operation or feature
/// the endpoint does not serve), 505 HTTP Version Not Supported, 506 Variant Also Negotiates,
/// 508 Loop Detected, 510 Not Extended and 511 Network Authentication Required (a captive
/// proxy). Every other 4xx is final too: the request itself is refused.
pub fn is_transient_status(status: u16) -> bool {
    match status {
        408 | 429 => true,
        501 | 505 | 506 | 508 | 510 | 511 => false,
        500..=599 => true,
        _ => false,
    }
}

/// HTTP's name of a final 5xx status (see [`is_transient_status`]), for messages.
fn final_status_name(status: u16) -> &'static str {
    match status {
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        506 => "Variant Also Negotiates",
        508 => "Loop Detected",
        510 => "Not Extended",
        511 => "Network Authentication Required",
        _ => "",
    }
}

/// The status of an answer that, naming no AWS error, says the endpoint has no such operation
/// ([`AwsError::NotServed`]); AWS's own 404s always name one (`NoSuchBucket`,
/// `ResourceNotFoundException`, S3's `NotFound` for a HEAD...).
const NOT_SERVED: u16 = 404;

/// Classifies an SDK error of `operation` (`Service.Operation`).
pub fn classify<E>(
    operation: &str,
    err: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let operation = operation.to_owned();
    match &err {
        SdkError::ServiceError(service)
            if service.err().code().is_none() && service.raw().status().as_u16() == NOT_SERVED =>
        {
            AwsError::NotServed {
                operation,
                status: NOT_SERVED,
                answer: body_excerpt(service.raw()),
            }
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let code = printable(service.err().code().unwrap_or("Unknown"));
            let mut message = printable(service.err().message().unwrap_or_default());
            if message.is_empty() {
                // An answer the SDK could not read: show what the server said.
                message = format!(
                    "HTTP {status}, unreadable answer: {}",
                    body_excerpt(service.raw())
                );
            }
            service_error(operation, status, code, message)
        }
        // What the SDK could not parse, and what the server said (e.g. an HTML error page): a
        // server failing for now (see `is_transient_status`) may answer properly next time;
        // anything else will not.
        SdkError::ResponseError(r) if r.raw().status().as_u16() == NOT_SERVED => {
            AwsError::NotServed {
                operation,
                status: NOT_SERVED,
                answer: body_excerpt(r.raw()),
            }
        }
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            let message = format!(
                "unreadable response (HTTP {status}): {}: {}",
                printable(&error_chain(&err)),
                body_excerpt(r.raw())
            );
            if is_transient_status(status) {
                AwsError::Unavailable { operation, message }
            } else {
                AwsError::Unreadable { operation, message }
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => AwsError::Unavailable {
            operation,
            message: error_chain(&err),
        },
        _ => AwsError::Build(operation, error_chain(&err)),
    }
}

/// The error of an answer AWS gave with `status`, `code` and `message` (already printable).
fn service_error(operation: String, status: u16, code: String, message: String) -> AwsError {
    let c = code.as_str();
    if is_throttling(c, status, &message) {
        AwsError::Throttled { operation, message }
    } else if ACCESS.contains(&c) {
        AwsError::AccessDenied { operation, message }
    } else if NOT_FOUND.contains(&c) {
        AwsError::NotFound {
            operation,
            code,
            message,
        }
    } else if CONFLICT.contains(&c) {
        AwsError::Conflict {
            operation,
            code,
            message,
        }
    } else if NOT_READY.iter().any(|m| message.contains(m)) {
        AwsError::NotReady { operation, message }
    } else if is_transient_status(status) || TRANSIENT.contains(&c) {
        AwsError::Unavailable {
            operation,
            message: format!("HTTP {status} {code}: {message}"),
        }
    } else if status >= 500 {
        AwsError::Rejected {
            operation,
            code,
            message: format!(
                "HTTP {status} {}, final (not retried): {message}",
                final_status_name(status)
            ),
        }
    } else {
        AwsError::Rejected {
            operation,
            code,
            message,
        }
    }
}

/// [`send`] bounded as a whole by `deadline` (see [`RetryPolicy::run_within`]); `endpoint`
/// names where the question goes, for the error of a question never answered.
pub async fn send_within<T, E, F, Fut>(
    policy: &RetryPolicy,
    deadline: Duration,
    endpoint: &str,
    operation: &str,
    mut send: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let no_answer = AwsError::NoAnswer {
        operation: operation.to_owned(),
        endpoint: endpoint.to_owned(),
        seconds: deadline.as_secs(),
    };
    policy
        .run_within(deadline, no_answer, || {
            let attempt = Box::pin(send());
            async move { attempt.await.map_err(|e| classify(operation, e)) }
        })
        .await
}

/// Sends one SDK call (`send` builds and sends it afresh on each attempt) with `policy`'s
/// retries, classifying failures; `operation` names it (`Service.Operation`).
pub async fn send<T, E, F, Fut>(
    policy: &RetryPolicy,
    operation: &str,
    send: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    send_limited(policy, None, operation, send).await
}

/// [`send`], each attempt first waiting for its slot of `limiter` in its region (`limiter`'s
/// second part); a throttled answer slows the operation down.
pub async fn send_limited<T, E, F, Fut>(
    policy: &RetryPolicy,
    limiter: Option<(&super::rate::RateLimiter, &str)>,
    operation: &str,
    mut send: F,
) -> Result<T, AwsError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>>,
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let waited = AtomicU64::new(0);
    policy
        .run_waiting(&waited, || {
            // Boxed: SDK futures are tens of KiB; nested inline they overflow a thread's stack.
            let attempt = Box::pin(send());
            let waited = &waited;
            async move {
                if let Some((limiter, region)) = limiter {
                    let queued = tokio::time::Instant::now();
                    limiter.acquire(region, operation).await;
                    let ms = u64::try_from(queued.elapsed().as_millis()).unwrap_or(u64::MAX);
                    waited.fetch_add(ms, Ordering::Relaxed);
                }
                let result = attempt.await.map_err(|e| classify(operation, e));
                if let (Err(AwsError::Throttled { .. }), Some((limiter, region))) =
                    (&result, limiter)
                {
                    limiter.throttled(region, operation, std::time::Instant::now());
                }
                result
            }
        })
        .await
}
