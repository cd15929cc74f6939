//! Loss signals, the pure side: which CloudWatch metrics reveal logs lost or delayed on the way
//! (one query per metric, each with an id), and what their values and the objects under the
//! error prefix say. The I/O that fetches them is in [`crate::delivery_io::signals`].
//!
//! Left out on purpose: comparing Firehose's `IncomingRecords` with `DeliveryToS3.Records`.
//! Records wait in Firehose's buffer for up to 900 s, longer than a short window, and the
//! record processors change how many records come out (message extraction splits one envelope
//! into many), so the two sums differ on a healthy stream.

use crate::arn::AwsTarget;
use crate::delivery::keys::{self, Listed};
use crate::spec::LossSignal;
use std::collections::BTreeMap;

/// Seconds per datapoint: CloudWatch Logs publishes one-minute metrics.
pub const PERIOD_S: i32 = 60;
/// How far back the metrics are read.
pub const WINDOW_MS: i64 = 15 * 60_000;
/// Datapoints newer than this may still be incomplete (CloudWatch Logs and Firehose publish
/// with a delay, and not at the same moment): comparisons between two metrics skip them.
pub const SETTLE_MS: i64 = 2 * 60_000;
/// How much older than the buffering interval the oldest undelivered record may be before it
/// counts as delayed: the write to S3 and its retries take time too.
pub const FRESHNESS_MARGIN_S: f64 = 120.0;
/// `DeliveryToS3.Success` below 1 at this many datapoints in a row, the newest included:
/// failing for that long, not one retry.
pub const SUSTAINED_DATAPOINTS: usize = 3;
/// GetMetricData takes at most this many queries per call.
pub const MAX_QUERIES: usize = 500;
/// So that one pipeline's queries fit in a call: the stream's 3 and 4 per source group.
pub const MAX_SOURCE_GROUPS: usize = 120;
/// CloudWatch Logs' `DestinationType` dimension for a Firehose subscription. A remote source's
/// filter names a CloudWatch Logs destination whose target is the same stream: its metrics are
/// read with the same dimension, in the source account and region.
pub const DESTINATION_TYPE: &str = "Firehose";

/// What a signal says. Variant names are stable labels (metrics, status, JSON).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SignalKind {
    /// Events the subscription got an error for from Firehose: not delivered.
    DeliveryErrors,
    /// Events the subscription was throttled on (retried for up to 24 h, then lost).
    DeliveryThrottling,
    /// Fewer events forwarded than logged, with an empty filter pattern (which forwards all).
    NotForwarded,
    /// Records Firehose refused for its throughput limits.
    ThrottledRecords,
    /// The oldest record not yet in S3 is older than the buffering interval allows.
    DataFreshness,
    /// Every recent write to S3 failed.
    DeliveryToS3Failing,
    /// Objects under the error prefix: records Firehose or the transform could not deliver.
    ErrorObjects,
}

impl SignalKind {
    /// Every kind.
    pub const ALL: [SignalKind; 7] = [
        SignalKind::DeliveryErrors,
        SignalKind::DeliveryThrottling,
        SignalKind::NotForwarded,
        SignalKind::ThrottledRecords,
        SignalKind::DataFreshness,
        SignalKind::DeliveryToS3Failing,
        SignalKind::ErrorObjects,
    ];

    /// Stable label.
    pub fn label(self) -> &'static str {
        match self {
            SignalKind::DeliveryErrors => "DeliveryErrors",
            SignalKind::DeliveryThrottling => "DeliveryThrottling",
            SignalKind::NotForwarded => "NotForwarded",
            SignalKind::ThrottledRecords => "ThrottledRecords",
            SignalKind::DataFreshness => "DataFreshness",
            SignalKind::DeliveryToS3Failing => "DeliveryToS3Failing",
            SignalKind::ErrorObjects => "ErrorObjects",
        }
    }
}

/// Evidence that logs were lost or delayed.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    pub kind: SignalKind,
    /// What it is about: a source log group, the stream, or an error type.
    pub resource: String,
    /// The figure behind it (events, records, seconds, a ratio, objects).
    pub value: f64,
    pub message: String,
}

impl From<&Signal> for LossSignal {
    fn from(s: &Signal) -> Self {
        LossSignal {
            kind: s.kind.label().to_owned(),
            resource: s.resource.clone(),
            value: s.value,
            message: s.message.clone(),
        }
    }
}

/// What a query measures, and of what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Measure {
    /// `AWS/Logs` per subscription of `group`.
    DeliveryErrors {
        group: String,
    },
    DeliveryThrottling {
        group: String,
    },
    Forwarded {
        group: String,
    },
    /// `AWS/Logs` per log group.
    Incoming {
        group: String,
    },
    /// `AWS/Firehose` per stream.
    ThrottledRecords,
    Freshness,
    Success,
}

/// One metric to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricQuery {
    /// Unique in the call; starts with a lower-case letter, as GetMetricData requires.
    pub id: String,
    pub namespace: &'static str,
    pub metric: &'static str,
    /// Name and value of each dimension.
    pub dimensions: Vec<(&'static str, String)>,
    /// `Sum`, `Maximum` or `Average`.
    pub stat: &'static str,
    pub measure: Measure,
}

/// One datapoint: its timestamp (ms since the epoch) and value.
pub type Datapoint = (i64, f64);

/// The datapoints of each query, by query id (oldest first).
pub type Results = BTreeMap<String, Vec<Datapoint>>;

/// The source groups whose subscription metrics a read covers: the pipeline's own, in its
/// account and region (read with the stream's metrics), and each remote source's in its place.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sources {
    /// The groups carrying the pipeline's filter in its own account and region.
    pub home: Vec<String>,
    /// Per remote source's account and region, the groups carrying the filter there.
    pub remote: Vec<(AwsTarget, Vec<String>)>,
}

impl From<Vec<String>> for Sources {
    /// Only the pipeline's own groups.
    fn from(home: Vec<String>) -> Self {
        Self {
            home,
            remote: Vec::new(),
        }
    }
}

/// What the rules need to know about the pipeline.
#[derive(Clone, Debug)]
pub struct Pipeline<'a> {
    pub stream: &'a str,
    pub filter_name: &'a str,
    /// An empty pattern forwards every event: only then must forwarded equal incoming.
    pub filter_pattern: &'a str,
    pub buffer_interval_s: i64,
    pub bucket: &'a str,
    /// The static part of the error prefix, e.g. `errors/`.
    pub error_prefix: &'a str,
}

/// The metric queries of `p` in its own account and region: the stream's, and those of its
/// source groups there (at most [`MAX_SOURCE_GROUPS`], the first in order; the rest are not
/// read).
pub fn queries(p: &Pipeline<'_>, source_groups: &[String]) -> Vec<MetricQuery> {
    let stream = || vec![("DeliveryStreamName", p.stream.to_owned())];
    let firehose = |id: &str, metric, stat, measure| MetricQuery {
        id: id.to_owned(),
        namespace: "AWS/Firehose",
        metric,
        dimensions: stream(),
        stat,
        measure,
    };
    let mut out = vec![
        firehose(
            "throttled",
            "ThrottledRecords",
            "Sum",
            Measure::ThrottledRecords,
        ),
        firehose(
            "freshness",
            "DeliveryToS3.DataFreshness",
            "Maximum",
            Measure::Freshness,
        ),
        firehose(
            "success",
            "DeliveryToS3.Success",
            "Average",
            Measure::Success,
        ),
    ];
    out.extend(group_queries(p, source_groups));
    out
}

/// The subscription queries of `source_groups` alone (at most [`MAX_SOURCE_GROUPS`]): what a
/// remote source's account and region publish, where CloudWatch Logs runs its filters. The
/// stream's metrics are the pipeline's own account's ([`queries`]).
pub fn group_queries(p: &Pipeline<'_>, source_groups: &[String]) -> Vec<MetricQuery> {
    let mut out = Vec::new();
    for (i, group) in source_groups.iter().take(MAX_SOURCE_GROUPS).enumerate() {
        let subscription = || {
            vec![
                ("LogGroupName", group.clone()),
                ("DestinationType", DESTINATION_TYPE.to_owned()),
                ("FilterName", p.filter_name.to_owned()),
            ]
        };
        let logs = |suffix: &str, metric, dimensions, measure| MetricQuery {
            id: format!("g{i}_{suffix}"),
            namespace: "AWS/Logs",
            metric,
            dimensions,
            stat: "Sum",
            measure,
        };
        let g = || group.clone();
        out.push(logs(
            "errors",
            "DeliveryErrors",
            subscription(),
            Measure::DeliveryErrors { group: g() },
        ));
        out.push(logs(
            "throttling",
            "DeliveryThrottling",
            subscription(),
            Measure::DeliveryThrottling { group: g() },
        ));
        if p.filter_pattern.trim().is_empty() {
            out.push(logs(
                "forwarded",
                "ForwardedLogEvents",
                subscription(),
                Measure::Forwarded { group: g() },
            ));
            out.push(logs(
                "incoming",
                "IncomingLogEvents",
                vec![("LogGroupName", g())],
                Measure::Incoming { group: g() },
            ));
        }
    }
    out
}

/// The signals of a remote source's place (`<account>/<region>`, see
/// [`crate::desired::RemoteSpec::key`]) named with it: the resource as the remote filter is
/// named in plans (`<account>/<region>:<group>`), the message led by the place, so that a
/// group of the same name in two places is never taken for the other.
pub fn at_place(place: &str, signals: Vec<Signal>) -> Vec<Signal> {
    signals
        .into_iter()
        .map(|s| Signal {
            resource: format!("{place}:{}", s.resource),
            message: format!("{place}: {}: {}", s.kind.label(), s.message),
            ..s
        })
        .collect()
}

/// The window read at `now_ms`: the last [`WINDOW_MS`], its end rounded up to a whole minute
/// (datapoints are per minute, so nothing is lost) so that every read within one minute asks
/// for the same window and can share a call.
pub fn window(now_ms: i64) -> (i64, i64) {
    let minute = i64::from(PERIOD_S) * 1000;
    let to = now_ms + (minute - now_ms.rem_euclid(minute)) % minute;
    (to - WINDOW_MS, to)
}

fn sum(points: &[Datapoint]) -> f64 {
    points.iter().map(|(_, v)| v).sum()
}

fn settled_sum(points: &[Datapoint], now_ms: i64) -> f64 {
    points
        .iter()
        .filter(|(t, _)| *t + SETTLE_MS <= now_ms)
        .map(|(_, v)| v)
        .sum()
}

/// The signals the metric values say, one per rule that fires, in query order.
pub fn evaluate(
    p: &Pipeline<'_>,
    queries: &[MetricQuery],
    results: &Results,
    now_ms: i64,
) -> Vec<Signal> {
    let values = |id: &str| results.get(id).map(Vec::as_slice).unwrap_or_default();
    let mut out = Vec::new();
    for q in queries {
        let points = values(&q.id);
        let signal = match &q.measure {
            Measure::DeliveryErrors { group } => positive(points).map(|n| Signal {
                kind: SignalKind::DeliveryErrors,
                resource: group.clone(),
                value: n,
                message: format!(
                    "{n} events of {group} got an error from Firehose {} (filter {}): not delivered",
                    p.stream, p.filter_name
                ),
            }),
            Measure::DeliveryThrottling { group } => positive(points).map(|n| Signal {
                kind: SignalKind::DeliveryThrottling,
                resource: group.clone(),
                value: n,
                message: format!(
                    "{n} events of {group} were throttled by Firehose {} (retried, lost after 24 h)",
                    p.stream
                ),
            }),
            Measure::Incoming { group } => {
                not_forwarded(p, group, points, values(&forwarded_id(&q.id)), now_ms)
            }
            Measure::ThrottledRecords => positive(points).map(|n| Signal {
                kind: SignalKind::ThrottledRecords,
                resource: p.stream.to_owned(),
                value: n,
                message: format!("Firehose {} throttled {n} records", p.stream),
            }),
            Measure::Freshness => stale(p, points),
            Measure::Success => failing(p, points),
            Measure::Forwarded { .. } => None,
        };
        out.extend(signal);
    }
    out
}

/// The forwarded query next to an incoming one (`g3_incoming` → `g3_forwarded`).
fn forwarded_id(incoming_id: &str) -> String {
    incoming_id.replace("_incoming", "_forwarded")
}

fn positive(points: &[Datapoint]) -> Option<f64> {
    let n = sum(points);
    (n > 0.0).then_some(n)
}

fn not_forwarded(
    p: &Pipeline<'_>,
    group: &str,
    incoming: &[Datapoint],
    forwarded: &[Datapoint],
    now_ms: i64,
) -> Option<Signal> {
    let (logged, sent) = (
        settled_sum(incoming, now_ms),
        settled_sum(forwarded, now_ms),
    );
    (logged > sent).then(|| Signal {
        kind: SignalKind::NotForwarded,
        resource: group.to_owned(),
        value: logged - sent,
        message: format!(
            "{group} logged {logged} events but filter {} forwarded {sent}: {} were not sent to Firehose",
            p.filter_name,
            logged - sent
        ),
    })
}

fn stale(p: &Pipeline<'_>, points: &[Datapoint]) -> Option<Signal> {
    let oldest = points.iter().map(|(_, v)| *v).fold(f64::NAN, f64::max);
    let limit = p.buffer_interval_s as f64 + FRESHNESS_MARGIN_S;
    (oldest > limit).then(|| Signal {
        kind: SignalKind::DataFreshness,
        resource: p.stream.to_owned(),
        value: oldest,
        message: format!(
            "the oldest record in Firehose {} waited {oldest} s, more than the {} s buffering \
             interval plus {FRESHNESS_MARGIN_S} s: delivery to S3 is behind",
            p.stream, p.buffer_interval_s
        ),
    })
}

fn failing(p: &Pipeline<'_>, points: &[Datapoint]) -> Option<Signal> {
    if points.len() < SUSTAINED_DATAPOINTS {
        return None;
    }
    let recent = &points[points.len() - SUSTAINED_DATAPOINTS..];
    let worst = recent.iter().map(|(_, v)| *v).fold(f64::NAN, f64::max);
    (worst < 1.0).then(|| Signal {
        kind: SignalKind::DeliveryToS3Failing,
        resource: p.stream.to_owned(),
        value: worst,
        message: format!(
            "Firehose {}'s writes to S3 failed at each of the last {SUSTAINED_DATAPOINTS} \
             datapoints (success at most {worst}): records wait, and expire after 24 h",
            p.stream
        ),
    })
}

/// One signal per error type among the objects under the error prefix stored since `since_ms`,
/// with their count.
pub fn error_objects(p: &Pipeline<'_>, listed: &[Listed], since_ms: i64) -> Vec<Signal> {
    let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
    for o in listed.iter().filter(|o| o.last_modified_ms >= since_ms) {
        if let Some(kind) = keys::error_type(p.error_prefix, &o.key) {
            *counts.entry(kind).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .map(|(error_type, n)| Signal {
            kind: SignalKind::ErrorObjects,
            resource: error_type.to_owned(),
            value: n as f64,
            message: format!(
                "{n} objects with {error_type} under s3://{}/{}: these logs did not reach consumers",
                p.bucket, p.error_prefix
            ),
        })
        .collect()
}
