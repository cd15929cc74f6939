//! pitagora's own retry layer (`RetryPolicy::run`, `error::send`, `classify`) and its call
//! counter, exercised through the real Firehose SDK client against a small in-process HTTP
//! server that answers canned responses in sequence and counts the requests it receives.
//!
//! moto has no fault injection (no throttling, no 503 on demand), which is why these tests use a
//! canned server instead. The SDK's own retries are disabled, so every retry seen here is
//! pitagora's.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_firehose::config::{Credentials, Region, SharedInterceptor};
use pitagora::aws::calls::{CallKey, Outcome};
use pitagora::aws::error::{classify, send, send_limited, send_within};
use pitagora::aws::{AwsError, CallCounter, CallStats, RetryPolicy};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

// ---- The canned server ---------------------------------------------------------------------------

/// One canned answer.
#[derive(Clone, Debug)]
enum Reply {
    /// An HTTP response.
    Http {
        status: u16,
        content_type: &'static str,
        body: Vec<u8>,
    },
    /// Read the request and never answer (the connection stays open).
    Silence,
}

/// 200 with a JSON body.
fn ok(body: &str) -> Reply {
    Reply::Http {
        status: 200,
        content_type: "application/x-amz-json-1.1",
        body: body.as_bytes().to_vec(),
    }
}

/// A successful `ListDeliveryStreams` answer.
fn listed() -> Reply {
    ok(r#"{"DeliveryStreamNames":["orders"],"HasMoreDeliveryStreams":false}"#)
}

/// An AWS JSON-protocol error: `status` with `{"__type": code, "message": message}`.
fn aws_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::Http {
        status,
        content_type: "application/x-amz-json-1.1",
        body: serde_json::json!({ "__type": code, "message": message })
            .to_string()
            .into_bytes(),
    }
}

/// Firehose's answer to too many requests.
fn throttled() -> Reply {
    aws_error(400, "ThrottlingException", "Rate exceeded")
}

/// What moto and many proxies answer on an internal failure: an HTML page.
fn html_500() -> Reply {
    Reply::Http {
        status: 500,
        content_type: "text/html; charset=utf-8",
        body:
            b"<!doctype html><title>500 Internal Server Error</title><h1>Internal Server Error</h1>"
                .to_vec(),
    }
}

/// A 503 with AWS's error shape.
fn unavailable() -> Reply {
    aws_error(
        503,
        "ServiceUnavailableException",
        "The service is unavailable",
    )
}

/// An in-process HTTP/1.1 server on 127.0.0.1 answering request `n` with `replies[n]` (the
/// last reply repeats once the list is used up), keeping connections alive, counting requests.
struct Canned {
    endpoint: String,
    requests: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
    task: JoinHandle<()>,
}

impl Canned {
    async fn start(replies: Vec<Reply>) -> Self {
        assert!(
            !replies.is_empty(),
            "a canned server needs at least one reply"
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let replies = Arc::new(replies);
        let task = tokio::spawn({
            let (requests, targets) = (requests.clone(), targets.clone());
            async move {
                loop {
                    let Ok((socket, _)) = listener.accept().await else {
                        return;
                    };
                    tokio::spawn(serve_connection(
                        socket,
                        replies.clone(),
                        requests.clone(),
                        targets.clone(),
                    ));
                }
            }
        });
        Self {
            endpoint,
            requests,
            targets,
            task,
        }
    }

    /// Requests received so far.
    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The `X-Amz-Target` header of each request, in order of arrival.
    fn targets(&self) -> Vec<String> {
        self.targets.lock().unwrap().clone()
    }
}

impl Drop for Canned {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve_connection(
    mut socket: TcpStream,
    replies: Arc<Vec<Reply>>,
    requests: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
) {
    let mut buffer = Vec::new();
    loop {
        // Headers.
        let header_end = loop {
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        };
        let head = String::from_utf8_lossy(&buffer[..header_end]).into_owned();
        let header = |name: &str| {
            head.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_owned())
            })
        };
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        // Body.
        while buffer.len() < header_end + length {
            let mut chunk = [0u8; 4096];
            match socket.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
            }
        }
        buffer.drain(..header_end + length);
        targets
            .lock()
            .unwrap()
            .push(header("x-amz-target").unwrap_or_default());
        let n = requests.fetch_add(1, Ordering::SeqCst);
        let reply = &replies[n.min(replies.len() - 1)];
        let Reply::Http {
            status,
            content_type,
            body,
        } = reply
        else {
            // Hold the connection open without answering until the client gives up.
            let mut sink = [0u8; 1024];
            while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
            return;
        };
        let head = format!(
            "HTTP/1.1 {status} Canned\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
             x-amzn-requestid: canned-{n}\r\n\r\n",
            body.len()
        );
        let response = [head.as_bytes(), body].concat();
        if socket.write_all(&response).await.is_err() {
            return;
        }
    }
}

/// An endpoint on which nothing listens (a port that was free a moment ago).
async fn closed_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

// ---- Clients and policies ------------------------------------------------------------------------

/// A real Firehose client for `endpoint`: static credentials, a region, SDK retries off, and
/// `counter` as an interceptor.
async fn firehose_with(
    endpoint: &str,
    counter: &CallCounter,
    timeouts: Option<TimeoutConfig>,
) -> aws_sdk_firehose::Client {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "static"))
        .retry_config(RetryConfig::disabled());
    if let Some(t) = timeouts {
        loader = loader.timeout_config(t);
    }
    let base = loader.load().await;
    let mut config = aws_sdk_firehose::config::Builder::from(&base);
    config.push_interceptor(SharedInterceptor::new(counter.clone()));
    aws_sdk_firehose::Client::from_conf(config.build())
}

async fn firehose(endpoint: &str) -> aws_sdk_firehose::Client {
    firehose_with(endpoint, &CallCounter::default(), None).await
}

/// Retries quickly, with a deadline far beyond what the tests that recover need.
fn patient() -> RetryPolicy {
    RetryPolicy {
        min_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        total: Duration::from_secs(10),
    }
}

/// Gives up after 300 ms of waiting.
fn short() -> RetryPolicy {
    RetryPolicy {
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        total: Duration::from_millis(300),
    }
}

const LIST: &str = "Firehose.ListDeliveryStreams";

/// `ListDeliveryStreams` through pitagora's layer with `policy`.
async fn list(
    client: &aws_sdk_firehose::Client,
    policy: &RetryPolicy,
) -> Result<Vec<String>, AwsError> {
    send(policy, LIST, || client.list_delivery_streams().send())
        .await
        .map(|out| out.delivery_stream_names().to_vec())
}

/// `DescribeDeliveryStream` of `name` through pitagora's layer.
async fn describe(
    client: &aws_sdk_firehose::Client,
    policy: &RetryPolicy,
    name: &str,
) -> Result<(), AwsError> {
    send(policy, "Firehose.DescribeDeliveryStream", || {
        client
            .describe_delivery_stream()
            .delivery_stream_name(name)
            .send()
    })
    .await
    .map(|_| ())
}

// ---- Throttling slows the operation down ---------------------------------------------------------

#[tokio::test]
async fn throttled_answers_halve_that_operations_rate_and_no_other() {
    let server = Canned::start(vec![throttled(), throttled(), listed()]).await;
    let client = firehose(&server.endpoint).await;
    let limiter = pitagora::aws::RateLimiter::new(pitagora::aws::Limits::aws());
    send_limited(&patient(), Some((&limiter, "eu-west-1")), LIST, || {
        client.list_delivery_streams().send()
    })
    .await
    .expect("the third answer succeeds");
    assert_eq!(server.requests(), 3);
    let now = std::time::Instant::now();
    let rate = limiter.rate_now("eu-west-1", LIST, now);
    // Two throttled answers, each in its own slot: 4 → 2 → 1, then recovering.
    assert!((1.0..2.0).contains(&rate), "halved twice: {rate}");
    assert_eq!(
        limiter.rate_now("eu-west-1", "Firehose.DescribeDeliveryStream", now),
        4.0
    );
    assert_eq!(limiter.rate_now("us-east-1", LIST, now), 4.0);
}

// ---- Retried until success -----------------------------------------------------------------------

#[tokio::test]
async fn throttling_twice_then_success_succeeds_after_exactly_three_requests() {
    let server = Canned::start(vec![throttled(), throttled(), listed()]).await;
    let client = firehose(&server.endpoint).await;
    let names = list(&client, &patient()).await.unwrap();
    assert_eq!(names, ["orders"]);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn http_429_with_an_unknown_code_counts_as_throttling_and_is_retried() {
    let server = Canned::start(vec![aws_error(429, "SomethingNew", "slow down"), listed()]).await;
    let client = firehose(&server.endpoint).await;
    assert_eq!(list(&client, &patient()).await.unwrap(), ["orders"]);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn http_500_and_503_then_success_succeeds_after_exactly_three_requests() {
    let server = Canned::start(vec![html_500(), unavailable(), listed()]).await;
    let client = firehose(&server.endpoint).await;
    assert_eq!(list(&client, &patient()).await.unwrap(), ["orders"]);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn a_concurrent_modification_is_retried_until_success() {
    let server = Canned::start(vec![
        aws_error(
            400,
            "ConcurrentModificationException",
            "version id 2 and specified version id 1 do not match",
        ),
        listed(),
    ])
    .await;
    let client = firehose(&server.endpoint).await;
    assert_eq!(list(&client, &patient()).await.unwrap(), ["orders"]);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn eventual_consistency_after_creating_a_role_is_retried_until_success() {
    // AWS's answer while a freshly created role cannot be assumed yet: a validation error code
    // whose message tells it apart from a real mistake.
    let not_yet = aws_error(
        400,
        "InvalidArgumentException",
        "Could not deliver test message to specified Firehose stream.",
    );
    let server = Canned::start(vec![not_yet.clone(), not_yet, listed()]).await;
    let client = firehose(&server.endpoint).await;
    assert_eq!(list(&client, &patient()).await.unwrap(), ["orders"]);
    assert_eq!(server.requests(), 3);
}

#[tokio::test]
async fn an_outer_policy_retries_a_call_whose_inner_policy_is_once() {
    // The shape of read-modify-write loops: each attempt sends once, the outer loop retries.
    let server = Canned::start(vec![throttled(), listed()]).await;
    let client = firehose(&server.endpoint).await;
    let once = RetryPolicy::once();
    let names = patient().run(|| list(&client, &once)).await.unwrap();
    assert_eq!(names, ["orders"]);
    assert_eq!(server.requests(), 2);
}

// ---- Not retried ---------------------------------------------------------------------------------

#[tokio::test]
async fn a_validation_error_is_rejected_at_once_with_aws_code_and_message() {
    let server = Canned::start(vec![
        aws_error(
            400,
            "InvalidArgumentException",
            "BufferingHints.SizeInMBs must be at most 128",
        ),
        listed(),
    ])
    .await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &patient()).await.unwrap_err();
    assert_eq!(
        err,
        AwsError::Rejected {
            operation: LIST.into(),
            code: "InvalidArgumentException".into(),
            message: "BufferingHints.SizeInMBs must be at most 128".into(),
        }
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_rejection_displays_the_operation_the_code_and_aws_message() {
    let server = Canned::start(vec![aws_error(
        400,
        "InvalidArgumentException",
        "Prefix is too long",
    )])
    .await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &patient()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "Firehose.ListDeliveryStreams: InvalidArgumentException: Prefix is too long"
    );
}

#[tokio::test]
async fn firehoses_rate_exceeded_limit_error_is_throttling_and_is_retried() {
    // Firehose's control plane answers a call over its rate with this code and message.
    let server = Canned::start(vec![
        aws_error(400, "LimitExceededException", "Rate exceeded"),
        listed(),
    ])
    .await;
    let client = firehose(&server.endpoint).await;
    assert_eq!(list(&client, &patient()).await.unwrap(), ["orders"]);
    assert_eq!(server.requests(), 2);
}

#[tokio::test]
async fn a_limit_exceeded_error_is_a_quota_and_is_rejected_without_retry() {
    // LimitExceededException means a quota (a third filter on a log group, too many streams),
    // which waiting does not fix: unlike throttling, it is not retried.
    let server = Canned::start(vec![
        aws_error(400, "LimitExceededException", "Resource limit exceeded."),
        listed(),
    ])
    .await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &patient()).await.unwrap_err();
    assert_eq!(err.label(), "Rejected", "{err:?}");
    assert_eq!(err.code(), Some("LimitExceededException"));
    assert!(!err.is_retryable());
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn access_denied_is_returned_at_once_as_access_denied_with_aws_message() {
    let server = Canned::start(vec![
        aws_error(
            400,
            "AccessDeniedException",
            "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: firehose:ListDeliveryStreams",
        ),
        listed(),
    ])
    .await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &patient()).await.unwrap_err();
    assert_eq!(
        err,
        AwsError::AccessDenied {
            operation: LIST.into(),
            message: "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: firehose:ListDeliveryStreams".into(),
        }
    );
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn resource_not_found_is_not_found_returned_at_once() {
    let server = Canned::start(vec![
        aws_error(
            400,
            "ResourceNotFoundException",
            "Firehose orders under account 123456789012 not found.",
        ),
        ok("{}"),
    ])
    .await;
    let client = firehose(&server.endpoint).await;
    let err = describe(&client, &patient(), "orders").await.unwrap_err();
    assert!(err.is_not_found(), "{err:?}");
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn the_once_policy_sends_a_throttled_call_exactly_once() {
    let server = Canned::start(vec![throttled(), listed()]).await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &RetryPolicy::once()).await.unwrap_err();
    assert_eq!(err.label(), "Throttled", "{err:?}");
    assert_eq!(server.requests(), 1);
}

// ---- Giving up at the deadline -------------------------------------------------------------------

/// Asserts that a call that kept failing took the policy's deadline, and not much more: the
/// sleeps add up to at least `total - 2 * max_delay` (each jittered sleep is at most twice
/// `max_delay`, and the next one would have crossed `total`), and to at most `total`.
fn assert_gave_up_at_the_deadline(policy: &RetryPolicy, elapsed: Duration) {
    let floor = policy.total - 2 * policy.max_delay;
    assert!(
        elapsed >= floor,
        "gave up after {elapsed:?}, before the deadline (waits add up to at least {floor:?})"
    );
    assert!(
        elapsed < policy.total + Duration::from_secs(3),
        "gave up after {elapsed:?}, long past the {:?} deadline",
        policy.total
    );
}

#[tokio::test]
async fn a_server_that_keeps_throttling_yields_throttled_at_the_deadline_after_several_requests() {
    let server = Canned::start(vec![throttled()]).await;
    let client = firehose(&server.endpoint).await;
    let policy = short();
    let started = Instant::now();
    let err = list(&client, &policy).await.unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(
        err,
        AwsError::Throttled {
            operation: LIST.into(),
            message: "Rate exceeded".into(),
        }
    );
    assert_gave_up_at_the_deadline(&policy, elapsed);
    // Waits of at most 100 ms adding up to at least 200 ms: at least two waits, three requests.
    assert!(server.requests() >= 3, "{} requests", server.requests());
}

#[tokio::test]
async fn a_server_that_keeps_failing_yields_unavailable_at_the_deadline_after_several_requests() {
    let server = Canned::start(vec![unavailable()]).await;
    let client = firehose(&server.endpoint).await;
    let policy = short();
    let started = Instant::now();
    let err = list(&client, &policy).await.unwrap_err();
    let elapsed = started.elapsed();
    let AwsError::Unavailable { operation, message } = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert_eq!(operation, LIST);
    assert!(
        message.contains("503") && message.contains("The service is unavailable"),
        "{message}"
    );
    assert_gave_up_at_the_deadline(&policy, elapsed);
    assert!(server.requests() >= 3, "{} requests", server.requests());
}

#[tokio::test]
async fn an_unreadable_5xx_answer_is_unavailable_and_shows_what_the_server_said() {
    let server = Canned::start(vec![html_500()]).await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &RetryPolicy::once()).await.unwrap_err();
    let AwsError::Unavailable { message, .. } = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert!(
        message.contains("500") && message.contains("Internal Server Error"),
        "{message}"
    );
}

#[tokio::test]
async fn a_successful_answer_the_sdk_cannot_read_is_unreadable_and_not_asked_again() {
    // The right status, the wrong body: a string where Firehose answers a list.
    let server = Canned::start(vec![ok(
        r#"{"DeliveryStreamNames":"orders","HasMoreDeliveryStreams":false}"#,
    )])
    .await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &short()).await.unwrap_err();
    let AwsError::Unreadable { operation, message } = &err else {
        panic!("expected Unreadable, got {err:?}");
    };
    assert_eq!(operation, LIST);
    assert!(message.contains("HTTP 200"), "{message}");
    assert!(!err.is_retryable());
    assert_eq!(
        server.requests(),
        1,
        "an answer that cannot be read is not retried"
    );
}

#[tokio::test]
async fn a_refused_connection_is_unavailable_naming_the_operation() {
    let client = firehose(&closed_endpoint().await).await;
    let policy = short();
    let started = Instant::now();
    let err = list(&client, &policy).await.unwrap_err();
    let AwsError::Unavailable { operation, message } = &err else {
        panic!("expected Unavailable, got {err:?}");
    };
    assert_eq!(operation, LIST);
    assert!(message.to_lowercase().contains("connect"), "{message}");
    assert_gave_up_at_the_deadline(&policy, started.elapsed());
}

#[tokio::test]
async fn a_server_that_never_answers_is_unavailable_once_the_attempt_times_out() {
    let server = Canned::start(vec![Reply::Silence]).await;
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_millis(200))
        .build();
    let client = firehose_with(&server.endpoint, &CallCounter::default(), Some(timeouts)).await;
    let err = list(&client, &RetryPolicy::once()).await.unwrap_err();
    assert_eq!(err.label(), "Unavailable", "{err:?}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn a_server_that_never_answers_costs_the_policys_time_attempts_included() {
    // Attempts of 300 ms against a policy of one second: about four attempts, where counting
    // only the waits between them (10–50 ms each) would make some thirty.
    let server = Canned::start(vec![Reply::Silence]).await;
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_millis(300))
        .build();
    let client = firehose_with(&server.endpoint, &CallCounter::default(), Some(timeouts)).await;
    let policy = RetryPolicy {
        min_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        total: Duration::from_secs(1),
    };
    let err = list(&client, &policy).await.unwrap_err();
    assert_eq!(err.label(), "Unavailable", "{err:?}");
    let requests = server.requests();
    assert!((2..=5).contains(&requests), "{requests} requests");
}

#[tokio::test]
async fn a_question_bounded_as_a_whole_gives_up_at_its_deadline_naming_the_endpoint() {
    // Each attempt would wait a minute for its answer, and the policy retry for ten seconds:
    // the question's own deadline cuts both.
    let server = Canned::start(vec![Reply::Silence]).await;
    let timeouts = TimeoutConfig::builder()
        .operation_attempt_timeout(Duration::from_secs(60))
        .build();
    let client = firehose_with(&server.endpoint, &CallCounter::default(), Some(timeouts)).await;
    let started = Instant::now();
    let err = send_within(
        &patient(),
        Duration::from_secs(1),
        &server.endpoint,
        LIST,
        || client.list_delivery_streams().send(),
    )
    .await
    .unwrap_err();
    let elapsed = started.elapsed();
    assert_eq!(
        err,
        AwsError::NoAnswer {
            operation: LIST.into(),
            endpoint: server.endpoint.clone(),
            seconds: 1,
        }
    );
    assert_eq!(
        err.to_string(),
        format!("{LIST}: no answer from {} within 1 s", server.endpoint)
    );
    assert!(elapsed < Duration::from_secs(3), "took {elapsed:?}");
}

#[tokio::test]
async fn a_question_bounded_as_a_whole_ends_with_the_last_failure_it_saw() {
    let client = firehose(&closed_endpoint().await).await;
    let err = send_within(&patient(), Duration::from_millis(500), "here", LIST, || {
        client.list_delivery_streams().send()
    })
    .await
    .unwrap_err();
    let AwsError::Unavailable { message, .. } = &err else {
        panic!("expected the refused connection, got {err:?}");
    };
    assert!(message.to_lowercase().contains("connect"), "{message}");
}

/// An answer with `status` and an HTML body, as proxies and emulators send.
fn html(status: u16, title: &str) -> Reply {
    Reply::Http {
        status,
        content_type: "text/html",
        body: format!("<html><title>{title}</title></html>").into_bytes(),
    }
}

#[tokio::test]
async fn a_status_that_says_the_request_never_succeeds_is_final_after_one_request() {
    let cases = [
        (
            aws_error(501, "NotImplemented", "not enabled in this region"),
            "Rejected",
        ),
        (html(501, "501 Not Implemented"), "Unreadable"),
        (
            aws_error(505, "Unknown", "HTTP/1.1 not supported"),
            "Rejected",
        ),
        (html(511, "Network Authentication Required"), "Unreadable"),
        (
            aws_error(400, "InvalidArgumentException", "bad"),
            "Rejected",
        ),
        (html(404, "404 Not Found"), "NotServed"),
    ];
    for (reply, label) in cases {
        let server = Canned::start(vec![reply.clone(), listed()]).await;
        let client = firehose(&server.endpoint).await;
        let err = list(&client, &patient()).await.unwrap_err();
        assert_eq!(err.label(), label, "{reply:?} gave {err:?}");
        assert!(!err.is_retryable(), "{err:?}");
        assert_eq!(server.requests(), 1, "{reply:?} was asked again");
    }
}

#[tokio::test]
async fn a_404_naming_no_aws_error_says_the_endpoint_does_not_serve_the_operation() {
    let server = Canned::start(vec![html(404, "404 Not Found")]).await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &patient()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{LIST}: the endpoint does not serve it (HTTP 404: 404 Not Found)")
    );
}

#[tokio::test]
async fn a_final_5xx_names_its_status() {
    let server = Canned::start(vec![aws_error(501, "NotImplemented", "not here")]).await;
    let client = firehose(&server.endpoint).await;
    let err = list(&client, &patient()).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{LIST}: NotImplemented: HTTP 501 Not Implemented, final (not retried): not here")
    );
}

#[tokio::test]
async fn a_status_that_says_the_server_fails_for_now_is_retried_until_success() {
    for status in [500, 502, 503, 504, 408, 599] {
        for reply in [aws_error(status, "Unknown", "later"), html(status, "later")] {
            let server = Canned::start(vec![reply.clone(), listed()]).await;
            let client = firehose(&server.endpoint).await;
            let streams = list(&client, &patient()).await;
            assert_eq!(streams, Ok(vec!["orders".to_owned()]), "{reply:?}");
            assert_eq!(server.requests(), 2, "{reply:?}");
        }
    }
}

#[tokio::test]
async fn an_unreadable_answers_nul_and_invalid_bytes_are_escaped_in_the_message() {
    let mut body = b"bad\0gate\xff\xfeway \x1b[31mred".to_vec();
    body.extend_from_slice(" caf\u{e9}".as_bytes());
    let cases = [
        Reply::Http {
            status: 403,
            content_type: "application/octet-stream",
            body: body.clone(),
        },
        Reply::Http {
            status: 200,
            content_type: "application/x-amz-json-1.1",
            body,
        },
    ];
    for reply in cases {
        let server = Canned::start(vec![reply.clone()]).await;
        let client = firehose(&server.endpoint).await;
        let text = list(&client, &RetryPolicy::once())
            .await
            .unwrap_err()
            .to_string();
        assert!(
            text.contains(r"bad\0gate\xff\xfeway \x1b[31mred café"),
            "{reply:?} gave {text:?}"
        );
        assert!(
            !text.contains(['\0', '\u{1b}', char::REPLACEMENT_CHARACTER]),
            "{text:?}"
        );
    }
}

// ---- Labels ----------------------------------------------------------------------------------------

#[test]
fn every_error_label_is_its_variant_name() {
    let (op, code, msg) = (
        || "Firehose.X".to_owned(),
        || "Code".to_owned(),
        || "m".to_owned(),
    );
    let errors = [
        AwsError::Throttled {
            operation: op(),
            message: msg(),
        },
        AwsError::Unavailable {
            operation: op(),
            message: msg(),
        },
        AwsError::Unreadable {
            operation: op(),
            message: msg(),
        },
        AwsError::NoAnswer {
            operation: op(),
            endpoint: "http://127.0.0.1:1".into(),
            seconds: 5,
        },
        AwsError::NotReady {
            operation: op(),
            message: msg(),
        },
        AwsError::AccessDenied {
            operation: op(),
            message: msg(),
        },
        AwsError::NotFound {
            operation: op(),
            code: code(),
            message: msg(),
        },
        AwsError::Conflict {
            operation: op(),
            code: code(),
            message: msg(),
        },
        AwsError::Rejected {
            operation: op(),
            code: code(),
            message: msg(),
        },
        AwsError::StackFailed {
            stack: "s".into(),
            status: "ROLLBACK_COMPLETE".into(),
            reason: msg(),
        },
        AwsError::Timeout {
            what: "stack s".into(),
            seconds: 1,
            state: "CREATE_IN_PROGRESS".into(),
        },
        AwsError::Build(op(), msg()),
    ];
    let labels: Vec<&str> = errors.iter().map(AwsError::label).collect();
    assert_eq!(
        labels,
        [
            "Throttled",
            "Unavailable",
            "Unreadable",
            "NoAnswer",
            "NotReady",
            "AccessDenied",
            "NotFound",
            "Conflict",
            "Rejected",
            "StackFailed",
            "Timeout",
            "Build"
        ]
    );
    for e in &errors {
        let debug = format!("{e:?}");
        assert!(
            debug.starts_with(e.label()),
            "label {} is not the variant name of {debug}",
            e.label()
        );
    }
}

#[tokio::test]
async fn classified_answers_carry_the_labels_of_their_variants() {
    let cases = [
        (throttled(), "Throttled"),
        (unavailable(), "Unavailable"),
        (
            aws_error(400, "AccessDeniedException", "no"),
            "AccessDenied",
        ),
        (
            aws_error(400, "ResourceNotFoundException", "gone"),
            "NotFound",
        ),
        (
            aws_error(400, "ConcurrentModificationException", "busy"),
            "Conflict",
        ),
        (
            aws_error(400, "InvalidArgumentException", "bad"),
            "Rejected",
        ),
        (
            aws_error(
                400,
                "InvalidParameterException",
                "Could not deliver test message to specified Firehose stream.",
            ),
            "NotReady",
        ),
    ];
    for (reply, label) in cases {
        let server = Canned::start(vec![reply.clone()]).await;
        let client = firehose(&server.endpoint).await;
        // `classify` directly on the SDK's error, without the retry loop.
        let sdk_error = client.list_delivery_streams().send().await.unwrap_err();
        let err = classify(LIST, sdk_error);
        assert_eq!(err.label(), label, "{reply:?} gave {err:?}");
    }
}

// ---- The call counter ------------------------------------------------------------------------------

fn key(operation: &str, outcome: Outcome) -> CallKey {
    CallKey {
        service: "Firehose".into(),
        operation: operation.into(),
        outcome,
    }
}

fn stats(entries: &[(CallKey, u64)]) -> CallStats {
    CallStats(entries.iter().cloned().collect::<BTreeMap<_, _>>())
}

#[tokio::test]
async fn the_counter_counts_a_successful_call_as_ok_by_service_and_operation() {
    let server = Canned::start(vec![listed()]).await;
    let counter = CallCounter::default();
    let client = firehose_with(&server.endpoint, &counter, None).await;
    list(&client, &patient()).await.unwrap();
    assert_eq!(
        counter.snapshot(),
        stats(&[(key("ListDeliveryStreams", Outcome::Ok), 1)])
    );
}

#[tokio::test]
async fn the_counter_counts_a_4xx_answer_as_client_error() {
    let server = Canned::start(vec![aws_error(400, "InvalidArgumentException", "bad")]).await;
    let counter = CallCounter::default();
    let client = firehose_with(&server.endpoint, &counter, None).await;
    list(&client, &patient()).await.unwrap_err();
    assert_eq!(
        counter.snapshot(),
        stats(&[(key("ListDeliveryStreams", Outcome::ClientError), 1)])
    );
}

#[tokio::test]
async fn the_counter_counts_a_5xx_answer_as_server_error() {
    let server = Canned::start(vec![html_500()]).await;
    let counter = CallCounter::default();
    let client = firehose_with(&server.endpoint, &counter, None).await;
    list(&client, &RetryPolicy::once()).await.unwrap_err();
    assert_eq!(
        counter.snapshot(),
        stats(&[(key("ListDeliveryStreams", Outcome::ServerError), 1)])
    );
}

#[tokio::test]
async fn the_counter_counts_a_refused_connection_as_no_response() {
    let counter = CallCounter::default();
    let client = firehose_with(&closed_endpoint().await, &counter, None).await;
    list(&client, &RetryPolicy::once()).await.unwrap_err();
    assert_eq!(
        counter.snapshot(),
        stats(&[(key("ListDeliveryStreams", Outcome::NoResponse), 1)])
    );
}

#[tokio::test]
async fn the_counter_counts_every_attempt_of_a_retried_call() {
    let server = Canned::start(vec![throttled(), unavailable(), listed()]).await;
    let counter = CallCounter::default();
    let client = firehose_with(&server.endpoint, &counter, None).await;
    list(&client, &patient()).await.unwrap();
    assert_eq!(
        counter.snapshot(),
        stats(&[
            (key("ListDeliveryStreams", Outcome::Ok), 1),
            (key("ListDeliveryStreams", Outcome::ClientError), 1),
            (key("ListDeliveryStreams", Outcome::ServerError), 1),
        ])
    );
    assert_eq!(counter.snapshot().of("ListDeliveryStreams"), 3);
}

#[tokio::test]
async fn writes_count_only_the_operations_that_change_aws() {
    let server = Canned::start(vec![
        listed(),
        ok("{}"),
        ok(r#"{"Tags":[],"HasMoreTags":false}"#),
    ])
    .await;
    let counter = CallCounter::default();
    let client = firehose_with(&server.endpoint, &counter, None).await;
    list(&client, &patient()).await.unwrap();
    send(&patient(), "Firehose.TagDeliveryStream", || {
        client
            .tag_delivery_stream()
            .delivery_stream_name("orders")
            .tags(
                aws_sdk_firehose::types::Tag::builder()
                    .key("team")
                    .value("a")
                    .build()
                    .unwrap(),
            )
            .send()
    })
    .await
    .unwrap();
    send(&patient(), "Firehose.ListTagsForDeliveryStream", || {
        client
            .list_tags_for_delivery_stream()
            .delivery_stream_name("orders")
            .send()
    })
    .await
    .unwrap();
    let snapshot = counter.snapshot();
    assert_eq!(snapshot.total(), 3, "{snapshot:?}");
    assert_eq!(snapshot.writes(), 1, "{snapshot:?}");
    assert_eq!(
        snapshot.write_operations(),
        BTreeMap::from([("Firehose.TagDeliveryStream".to_owned(), 1)])
    );
    assert_eq!(
        server.targets(),
        [
            "Firehose_20150804.ListDeliveryStreams",
            "Firehose_20150804.TagDeliveryStream",
            "Firehose_20150804.ListTagsForDeliveryStream",
        ]
    );
}

#[tokio::test]
async fn calls_since_an_earlier_snapshot_are_only_the_later_ones() {
    let server = Canned::start(vec![listed()]).await;
    let counter = CallCounter::default();
    let client = firehose_with(&server.endpoint, &counter, None).await;
    list(&client, &patient()).await.unwrap();
    let earlier = counter.snapshot();
    list(&client, &patient()).await.unwrap();
    list(&client, &patient()).await.unwrap();
    assert_eq!(
        counter.snapshot().since(&earlier),
        stats(&[(key("ListDeliveryStreams", Outcome::Ok), 2)])
    );
}
