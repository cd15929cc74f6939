//! A fault-injecting proxy between the SDK and the emulator (moto cannot inject faults).
//!
//! It listens on loopback, names each request's service (the SigV4 credential scope) and
//! operation (`X-Amz-Target`, the query protocol's `Action`, or S3's and Lambda's method and
//! path), and either forwards it to moto or injects a fault: the service's own throttling
//! error in its own protocol, a 500 or 503, a connection closed without an answer, a delay, an
//! answer that never comes, or — the hardest case for idempotency — forwarding the request and
//! then losing the answer. Rules choose the fault per service and operation, at a rate or on
//! the first sight of each distinct request. It also puts requests into one moto account, so
//! a `pitagora` binary pointed at it gets an account of its own. It can also edit the answers
//! of one operation (an emulator's answer made into another server's, e.g. a stack whose
//! `LastUpdatedTime` stays still).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::collections::{BTreeMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to a request instead of (or besides) forwarding it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    /// The service's throttling error, in its protocol.
    Throttle,
    /// HTTP 500 with the service's internal-failure error.
    InternalError,
    /// HTTP 503 with the service's unavailable error.
    Unavailable,
    /// The connection closed without an answer.
    Reset,
    /// Forwarded after [`DELAY`].
    Delay,
    /// No answer until the client gives up ([`HOLD`]), then the connection closes.
    Timeout,
    /// Forwarded (the write happens), then the connection closes without the answer.
    LostAnswer,
    /// Forwarded, then no answer for [`HOLD`]: the caller is stuck right after the write (where
    /// a crash test kills it).
    Stall,
    /// The service's access-denied error, in its protocol.
    AccessDenied,
    /// Not forwarded (nothing happens), yet answered as done: an operation without a result in
    /// the query protocol (e.g. CloudFormation's `DeleteStack`), a server claiming a write it
    /// did not make.
    Pretend,
}

/// How long a [`Fault::Delay`] holds a request before forwarding it.
pub const DELAY: Duration = Duration::from_millis(300);
/// How long a [`Fault::Timeout`] holds a request (longer than any client waits).
pub const HOLD: Duration = Duration::from_secs(60);

/// When a rule applies to a request it matches.
#[derive(Clone, Copy, Debug)]
pub enum When {
    /// To this fraction of them (a seeded draw: the same run, the same choices).
    Rate(f64),
    /// To the first sight of each distinct request (service, operation, path and body): its
    /// retry passes. With [`Fault::LostAnswer`]: every write happens once, its answer is lost.
    FirstOfEach,
    /// To all of them.
    Always,
}

/// One rule: a fault for the requests it matches.
#[derive(Clone, Debug)]
pub struct Rule {
    service: Option<String>,
    operations: Option<Vec<String>>,
    only_body: Option<String>,
    fault: Fault,
    when: When,
}

impl Rule {
    /// `fault` for every request, `when`.
    pub fn new(fault: Fault, when: When) -> Self {
        Self {
            service: None,
            operations: None,
            only_body: None,
            fault,
            when,
        }
    }

    /// Only requests to `service` (the credential scope's name: `logs`, `firehose`,
    /// `cloudformation`, `s3`, `sns`, `iam`, `lambda`, `sts`, `tagging`).
    pub fn service(mut self, service: &str) -> Self {
        self.service = Some(service.to_owned());
        self
    }

    /// Only these operations (e.g. `CreateStack`, `PutSubscriptionFilter`).
    pub fn operations(mut self, operations: &[&str]) -> Self {
        self.operations = Some(operations.iter().map(|o| (*o).to_owned()).collect());
        self
    }

    /// Only requests whose path or body contains `text` (e.g. one pipeline's name).
    pub fn mentioning(mut self, text: &str) -> Self {
        self.only_body = Some(text.to_owned());
        self
    }

    fn matches(&self, call: &Call) -> bool {
        self.service.as_ref().is_none_or(|s| *s == call.service)
            && self
                .operations
                .as_ref()
                .is_none_or(|ops| ops.contains(&call.operation))
            && self
                .only_body
                .as_ref()
                .is_none_or(|t| call.text.contains(t.as_str()))
    }
}

/// A request as the proxy saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The credential scope's service.
    pub service: String,
    /// The operation.
    pub operation: String,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
}

/// The operations pitagora's writes use: what a lost answer on a create must not duplicate.
pub const CREATES: &[&str] = &[
    "CreateStack",
    "UpdateStack",
    "CreateDeliveryStream",
    "PutSubscriptionFilter",
    "CreateLogGroup",
    "Subscribe",
    "PutBucketNotificationConfiguration",
    "AddPermission",
    "PutBucketLifecycleConfiguration",
    "PutRetentionPolicy",
    "TagResource",
    "TagDeliveryStream",
];

#[derive(Default)]
struct Plan {
    rules: Vec<Rule>,
    rng: u64,
    seen_first: HashSet<u64>,
    log: Vec<Seen>,
}

/// A change to an answer's body.
pub type Edit = fn(&str) -> String;

struct Shared {
    upstream: String,
    account: String,
    client: Client<HttpConnector, Full<Bytes>>,
    plan: Mutex<Plan>,
    /// By operation: how its answers are changed before the client gets them, and the operation
    /// that must have been seen first, if any.
    edits: Mutex<BTreeMap<String, (Edit, Option<String>)>>,
}

/// The proxy; stops when dropped.
pub struct FaultProxy {
    /// Its endpoint (`http://127.0.0.1:PORT`), for the SDK or `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// A proxy to `upstream` putting every request into moto's `account`; no faults yet.
    pub async fn start(upstream: &str, account: &str, seed: u64) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            account: account.to_owned(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            plan: Mutex::new(Plan {
                rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
                ..Plan::default()
            }),
            edits: Mutex::default(),
        });
        let task = tokio::spawn(serve(listener, shared.clone()));
        Self {
            endpoint,
            shared,
            task,
        }
    }

    /// Replaces the rules (an empty list: forward everything).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        self.shared.plan.lock().unwrap().rules = rules;
    }

    /// Changes every answer of `operation` (e.g. `DescribeStacks`) with `edit` from now on.
    pub fn edit_answers(&self, operation: &str, edit: Edit) {
        self.shared
            .edits
            .lock()
            .unwrap()
            .insert(operation.to_owned(), (edit, None));
    }

    /// Changes the answers of `operation` with `edit` once a request of `after` has been seen
    /// (e.g. `DescribeStacks` once a `DeleteStack` was).
    pub fn edit_answers_after(&self, operation: &str, edit: Edit, after: &str) {
        self.shared
            .edits
            .lock()
            .unwrap()
            .insert(operation.to_owned(), (edit, Some(after.to_owned())));
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.plan.lock().unwrap().log.clone()
    }

    /// Waits (up to `timeout`) until a request of `operation` has been met with `fault`.
    pub async fn until_injected(&self, operation: &str, fault: Fault, timeout: Duration) {
        let deadline = std::time::Instant::now() + timeout;
        while !self
            .seen()
            .iter()
            .any(|s| s.operation == operation && s.fault == Some(fault))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "no {operation} met with {fault:?} within {timeout:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Faults injected so far, by kind.
    pub fn injected(&self) -> BTreeMap<Fault, u64> {
        let mut out = BTreeMap::new();
        for s in self.seen() {
            if let Some(f) = s.fault {
                *out.entry(f).or_default() += 1;
            }
        }
        out
    }

    /// Requests seen so far, by `service:operation`.
    pub fn seen_by_operation(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in self.seen() {
            *out.entry(format!("{}:{}", s.service, s.operation))
                .or_default() += 1;
        }
        out
    }

    /// Faults injected so far, by `service:operation`.
    pub fn injected_by_operation(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for s in self.seen().into_iter().filter(|s| s.fault.is_some()) {
            *out.entry(format!("{}:{}", s.service, s.operation))
                .or_default() += 1;
        }
        out
    }
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| handle(shared.clone(), req));
            // An injected Reset/LostAnswer ends the connection with an error: nothing to log.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by the fault proxy")
    }
}

impl std::error::Error for Dropped {}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Dropped> {
    let (parts, body) = req.into_parts();
    let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
    let call = Call::of(&parts, &body);
    let fault = shared.decide(&call);
    match fault {
        Some(Fault::Throttle) => Ok(call.throttled()),
        Some(Fault::InternalError) => Ok(call.server_error(StatusCode::INTERNAL_SERVER_ERROR)),
        Some(Fault::Unavailable) => Ok(call.server_error(StatusCode::SERVICE_UNAVAILABLE)),
        Some(Fault::Reset) => Err(Dropped),
        Some(Fault::Timeout) => {
            tokio::time::sleep(HOLD).await;
            Err(Dropped)
        }
        Some(Fault::Delay) => {
            tokio::time::sleep(DELAY).await;
            shared.forward(parts, body).await
        }
        Some(Fault::LostAnswer) => {
            shared.forward(parts, body).await?;
            Err(Dropped)
        }
        Some(Fault::Stall) => {
            shared.forward(parts, body).await?;
            tokio::time::sleep(HOLD).await;
            Err(Dropped)
        }
        Some(Fault::AccessDenied) => Ok(call.denied()),
        Some(Fault::Pretend) => Ok(call.pretended()),
        None => {
            let answer = shared.forward(parts, body).await?;
            let edit = shared.edits.lock().unwrap().get(&call.operation).cloned();
            Ok(match edit {
                Some((edit, after)) if after.as_deref().is_none_or(|op| shared.has_seen(op)) => {
                    edited(answer, edit).await
                }
                _ => answer,
            })
        }
    }
}

/// `answer` with its body changed by `edit`.
async fn edited(answer: Response<Full<Bytes>>, edit: Edit) -> Response<Full<Bytes>> {
    let (mut parts, body) = answer.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = edit(&String::from_utf8_lossy(&body));
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    Response::from_parts(parts, Full::new(Bytes::from(body)))
}

impl Shared {
    /// Whether a request of `operation` came.
    fn has_seen(&self, operation: &str) -> bool {
        let plan = self.plan.lock().unwrap();
        plan.log.iter().any(|s| s.operation == operation)
    }

    fn decide(&self, call: &Call) -> Option<Fault> {
        let mut plan = self.plan.lock().unwrap();
        let mut chosen = None;
        for i in 0..plan.rules.len() {
            let rule = &plan.rules[i];
            if !rule.matches(call) {
                continue;
            }
            let (fault, when) = (rule.fault, rule.when);
            let hit = match when {
                When::Always => true,
                When::Rate(p) => next_unit(&mut plan.rng) < p,
                When::FirstOfEach => plan.seen_first.insert(call.key),
            };
            if hit {
                chosen = Some(fault);
                break;
            }
        }
        plan.log.push(Seen {
            service: call.service.clone(),
            operation: call.operation.clone(),
            fault: chosen,
        });
        chosen
    }

    async fn forward(
        &self,
        parts: hyper::http::request::Parts,
        body: Bytes,
    ) -> Result<Response<Full<Bytes>>, Dropped> {
        let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let mut req = Request::builder()
            .method(parts.method)
            .uri(format!("{}{path}", self.upstream));
        for (name, value) in &parts.headers {
            req = req.header(name, value);
        }
        if !parts.headers.contains_key("x-moto-account-id") {
            req = req.header("x-moto-account-id", &self.account);
        }
        let req = req.body(Full::new(body)).map_err(|_| Dropped)?;
        let answer = self.client.request(req).await.map_err(|_| Dropped)?;
        let (mut parts, body) = answer.into_parts();
        let body = body.collect().await.map_err(|_| Dropped)?.to_bytes();
        // The body is whole now: hyper frames it again.
        parts.headers.remove(hyper::header::TRANSFER_ENCODING);
        parts.headers.remove(hyper::header::CONNECTION);
        Ok(Response::from_parts(parts, Full::new(body)))
    }
}

/// A uniform draw in [0, 1) from a xorshift generator.
fn next_unit(state: &mut u64) -> f64 {
    let mut x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// A request, named.
struct Call {
    service: String,
    operation: String,
    /// Path and body as text, for [`Rule::mentioning`].
    text: String,
    /// Identity of the request (service, operation, path, body) for [`When::FirstOfEach`].
    key: u64,
}

impl Call {
    fn of(parts: &hyper::http::request::Parts, body: &Bytes) -> Self {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
        };
        // Credential=AKID/20261203/eu-west-1/logs/aws4_request
        let service = header("authorization")
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split('/').nth(3))
            .unwrap_or("unknown")
            .to_owned();
        let body_text = String::from_utf8_lossy(body);
        let target = header("x-amz-target");
        let path = parts.uri.path();
        let query = parts.uri.query().unwrap_or_default();
        let operation = if let Some((_, op)) = target.rsplit_once('.') {
            op.to_owned()
        } else if let Some(action) =
            form_value(&body_text, "Action").or(form_value(query, "Action"))
        {
            action
        } else if service == "s3" {
            s3_operation(parts.method.as_str(), path, query)
        } else if service == "lambda" {
            lambda_operation(parts.method.as_str(), path)
        } else {
            format!("{} {path}", parts.method)
        };
        let text = format!("{} {}", percent_decode(&parts.uri.to_string()), body_text);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        // The SDK writes maps (tags) in any order: a retry is the same request in JSON terms.
        let canonical = serde_json::from_slice::<serde_json::Value>(body)
            .map(|v| canonical_json(&v))
            .unwrap_or_else(|_| body_text.clone().into_owned());
        (&service, &operation, parts.uri.to_string(), canonical).hash(&mut hasher);
        Self {
            service,
            operation,
            text,
            key: hasher.finish(),
        }
    }

    /// The service's throttling answer, in its protocol.
    fn throttled(&self) -> Response<Full<Bytes>> {
        match self.service.as_str() {
            "s3" => xml_answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>fault</RequestId></Error>".into(),
            ),
            "logs" => json_error(StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded"),
            "firehose" => json_error(StatusCode::BAD_REQUEST, "LimitExceededException", "Rate exceeded"),
            "tagging" => json_error(StatusCode::BAD_REQUEST, "ThrottledException", "Rate exceeded"),
            "lambda" => json_error(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsException", "Rate exceeded"),
            "sns" => query_error(StatusCode::BAD_REQUEST, "Throttled", "Rate exceeded"),
            _ => query_error(StatusCode::BAD_REQUEST, "Throttling", "Rate exceeded"),
        }
    }

    /// The service's access-denied answer.
    fn denied(&self) -> Response<Full<Bytes>> {
        let message = format!(
            "not authorized to perform: {}:{}",
            self.service, self.operation
        );
        match self.service.as_str() {
            "s3" => xml_answer(
                StatusCode::FORBIDDEN,
                format!(
                    "<Error><Code>AccessDenied</Code><Message>{message}</Message><RequestId>fault</RequestId></Error>"
                ),
            ),
            "logs" | "firehose" | "tagging" | "lambda" => {
                json_error(StatusCode::BAD_REQUEST, "AccessDeniedException", &message)
            }
            _ => query_error(StatusCode::FORBIDDEN, "AccessDenied", &message),
        }
    }

    /// The query protocol's answer of an operation that returns nothing but its metadata.
    fn pretended(&self) -> Response<Full<Bytes>> {
        let op = &self.operation;
        xml_answer(
            StatusCode::OK,
            format!(
                "<{op}Response><ResponseMetadata><RequestId>pretended</RequestId></ResponseMetadata></{op}Response>"
            ),
        )
    }

    /// The service's answer for a failure on its side.
    fn server_error(&self, status: StatusCode) -> Response<Full<Bytes>> {
        let code = if status == StatusCode::SERVICE_UNAVAILABLE {
            "ServiceUnavailable"
        } else {
            "InternalFailure"
        };
        match self.service.as_str() {
            "s3" => xml_answer(
                status,
                format!(
                    "<Error><Code>{code}</Code><Message>injected</Message><RequestId>fault</RequestId></Error>"
                ),
            ),
            "logs" | "firehose" | "tagging" | "lambda" => json_error(status, code, "injected"),
            _ => query_error(status, code, "injected"),
        }
    }
}

fn json_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amzn-errortype", code)
        .body(Full::new(Bytes::from(format!(
            r#"{{"__type":"{code}","message":"{message}"}}"#
        ))))
        .unwrap()
}

fn query_error(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let kind = if status.is_server_error() {
        "Receiver"
    } else {
        "Sender"
    };
    xml_answer(
        status,
        format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>fault</RequestId></ErrorResponse>"
        ),
    )
}

fn xml_answer(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "text/xml")
        .body(Full::new(Bytes::from(body)))
        .unwrap()
}

/// `value` as text with every object's keys sorted.
fn canonical_json(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", canonical_json(v)))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        serde_json::Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", inner.join(","))
        }
        other => other.to_string(),
    }
}

/// A form or query parameter's value.
fn form_value(text: &str, key: &str) -> Option<String> {
    text.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| percent_decode(v))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// S3's REST operations by method, path depth and sub-resource.
fn s3_operation(method: &str, path: &str, query: &str) -> String {
    let object = path.trim_matches('/').contains('/');
    let sub = query
        .split('&')
        .map(|kv| kv.split('=').next().unwrap_or_default())
        .find(|k| {
            !k.is_empty()
                && !matches!(
                    *k,
                    "list-type"
                        | "prefix"
                        | "continuation-token"
                        | "max-keys"
                        | "x-id"
                        | "encoding-type"
                        | "start-after"
                        | "delimiter"
                )
        });
    let verb = match method {
        "GET" => "Get",
        "PUT" => "Put",
        "DELETE" => "Delete",
        "HEAD" => "Head",
        _ => "Post",
    };
    match (object, sub) {
        (false, Some("delete")) => "DeleteObjects".into(),
        (false, Some("notification")) => format!("{verb}BucketNotificationConfiguration"),
        (false, Some("lifecycle")) => format!("{verb}BucketLifecycleConfiguration"),
        (false, Some(sub)) => {
            let mut chars = sub.chars();
            let first = chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .unwrap_or_default();
            format!("{verb}Bucket{first}{}", chars.as_str())
        }
        (false, None) if path == "/" => "ListBuckets".into(),
        (false, None) => match method {
            "PUT" => "CreateBucket".into(),
            "GET" => "ListObjectsV2".into(),
            _ => format!("{verb}Bucket"),
        },
        (true, _) => format!("{verb}Object"),
    }
}

/// Lambda's REST operations pitagora uses, by method and path.
fn lambda_operation(method: &str, path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("POST", [_, "functions", _, "policy"]) => "AddPermission".into(),
        ("GET", [_, "functions", _, "policy"]) => "GetPolicy".into(),
        ("DELETE", [_, "functions", _, "policy", _]) => "RemovePermission".into(),
        ("GET", [_, "functions", _]) => "GetFunction".into(),
        ("POST", [_, "functions"]) => "CreateFunction".into(),
        _ => format!("{method} {path}"),
    }
}
