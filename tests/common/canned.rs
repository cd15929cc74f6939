//! A canned-answer server for the one AWS protocol moto does not serve: CloudWatch's Smithy
//! RPCv2 CBOR (GetMetricData). It answers every request with one CBOR body and counts them; an
//! interceptor sends the CloudWatch client's requests to it, every other service's to moto.

use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A CBOR value, as much of it as a GetMetricData answer needs.
pub enum Cbor {
    Text(String),
    Float(f64),
    /// An epoch-seconds timestamp (tag 1).
    Time(f64),
    Array(Vec<Cbor>),
    Map(Vec<(&'static str, Cbor)>),
}

fn head(out: &mut Vec<u8>, major: u8, len: u64) {
    let m = major << 5;
    match len {
        0..=23 => out.push(m | len as u8),
        24..=0xff => out.extend([m | 24, len as u8]),
        0x100..=0xffff => {
            out.push(m | 25);
            out.extend((len as u16).to_be_bytes());
        }
        _ => {
            out.push(m | 26);
            out.extend((len as u32).to_be_bytes());
        }
    }
}

impl Cbor {
    /// The encoding.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Cbor::Text(t) => {
                head(out, 3, t.len() as u64);
                out.extend(t.as_bytes());
            }
            Cbor::Float(f) => {
                out.push(0xfb);
                out.extend(f.to_be_bytes());
            }
            Cbor::Time(seconds) => {
                out.push(0xc1);
                Cbor::Float(*seconds).encode(out);
            }
            Cbor::Array(items) => {
                head(out, 4, items.len() as u64);
                items.iter().for_each(|i| i.encode(out));
            }
            Cbor::Map(entries) => {
                head(out, 5, entries.len() as u64);
                for (k, v) in entries {
                    Cbor::Text((*k).to_owned()).encode(out);
                    v.encode(out);
                }
            }
        }
    }
}

/// A GetMetricData answer: one series per `(query id, [(epoch ms, value)])`.
pub fn metric_data(series: &[(&str, Vec<(i64, f64)>)]) -> Vec<u8> {
    let results = series
        .iter()
        .map(|(id, points)| {
            Cbor::Map(vec![
                ("Id", Cbor::Text((*id).to_owned())),
                ("Label", Cbor::Text((*id).to_owned())),
                (
                    "Timestamps",
                    Cbor::Array(
                        points
                            .iter()
                            .map(|(t, _)| Cbor::Time(*t as f64 / 1000.0))
                            .collect(),
                    ),
                ),
                (
                    "Values",
                    Cbor::Array(points.iter().map(|(_, v)| Cbor::Float(*v)).collect()),
                ),
                ("StatusCode", Cbor::Text("Complete".into())),
            ])
        })
        .collect();
    let mut out = Vec::new();
    Cbor::Map(vec![("MetricDataResults", Cbor::Array(results))]).encode(&mut out);
    out
}

/// A running canned server: its address, the answer it gives (set it before the call), how
/// many requests it answered, and the region each was signed for (in order).
pub struct Canned {
    pub url: String,
    pub body: Arc<Mutex<Vec<u8>>>,
    pub requests: Arc<AtomicUsize>,
    pub regions: Arc<Mutex<Vec<String>>>,
}

/// The region of a SigV4 `Authorization` header's credential scope
/// (`Credential=<key>/<date>/<region>/<service>/aws4_request`).
fn signed_region(headers: &axum::http::HeaderMap) -> String {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok());
    let scope = authorization
        .and_then(|a| a.split_once("Credential="))
        .map(|(_, s)| s);
    let region = scope.and_then(|s| s.split('/').nth(2));
    region.unwrap_or_default().to_owned()
}

/// Serves the body of [`Canned::body`] as an RPCv2 CBOR answer to every request, on a free
/// loopback port.
pub async fn serve() -> Canned {
    let requests = Arc::new(AtomicUsize::new(0));
    let body = Arc::new(Mutex::new(metric_data(&[])));
    let regions = Arc::new(Mutex::new(Vec::new()));
    let (counted, answer, signed) = (requests.clone(), body.clone(), regions.clone());
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let (counted, answer) = (counted.clone(), answer.clone());
        signed.lock().unwrap().push(signed_region(&headers));
        async move {
            counted.fetch_add(1, Ordering::SeqCst);
            let body = answer.lock().unwrap().clone();
            (
                [
                    ("smithy-protocol", "rpc-v2-cbor"),
                    ("content-type", "application/cbor"),
                ],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Canned {
        url,
        body,
        requests,
        regions,
    }
}

/// Sends CloudWatch's requests (the RPCv2 CBOR ones) to `base` instead of moto.
#[derive(Debug, Clone)]
pub struct CloudWatchTo(pub String);

impl Intercept for CloudWatchTo {
    fn name(&self) -> &'static str {
        "test::CloudWatchTo"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let request = context.request_mut();
        if request.headers().get("smithy-protocol") == Some("rpc-v2-cbor") {
            let path = request
                .uri()
                .splitn(4, '/')
                .nth(3)
                .unwrap_or_default()
                .to_owned();
            request.set_uri(format!("{}/{path}", self.0))?;
        }
        Ok(())
    }
}
