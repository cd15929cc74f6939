//! Reading the loss signals' evidence: the delivery metrics in one GetMetricData call (paged),
//! and the objects under the error prefix. What they mean is decided in
//! [`crate::delivery::signals`].

use super::search::list;
use crate::aws::{AwsError, RegionClients};
use crate::delivery::keys::Listed;
use crate::delivery::signals::{MetricQuery, PERIOD_S, Results};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};

fn query(q: &MetricQuery) -> MetricDataQuery {
    let metric = Metric::builder()
        .namespace(q.namespace)
        .metric_name(q.metric)
        .set_dimensions(Some(
            q.dimensions
                .iter()
                .map(|(name, value)| Dimension::builder().name(*name).value(value).build())
                .collect(),
        ))
        .build();
    MetricDataQuery::builder()
        .id(&q.id)
        .metric_stat(
            MetricStat::builder()
                .metric(metric)
                .period(PERIOD_S)
                .stat(q.stat)
                .build(),
        )
        .return_data(true)
        .build()
}

/// The datapoints of `queries` between `from_ms` and `to_ms`, oldest first, by query id (a
/// metric nobody published has none).
pub async fn metrics(
    c: &RegionClients,
    queries: &[MetricQuery],
    from_ms: i64,
    to_ms: i64,
) -> Result<Results, AwsError> {
    let mut out = Results::new();
    if queries.is_empty() {
        return Ok(out);
    }
    let built: Vec<MetricDataQuery> = queries.iter().map(query).collect();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .send("CloudWatch.GetMetricData", || {
                c.cloudwatch
                    .get_metric_data()
                    .set_metric_data_queries(Some(built.clone()))
                    .start_time(DateTime::from_millis(from_ms))
                    .end_time(DateTime::from_millis(to_ms))
                    .scan_by(ScanBy::TimestampAscending)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        for r in page.metric_data_results() {
            let points = out
                .entry(r.id().unwrap_or_default().to_owned())
                .or_default();
            let times = r.timestamps().iter().map(|t| t.to_millis().unwrap_or(0));
            points.extend(times.zip(r.values().iter().copied()));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    // Pages continue a query's datapoints; keep each series in time order whatever the paging.
    for points in out.values_mut() {
        points.sort_by_key(|(t, _)| *t);
    }
    Ok(out)
}

/// The objects under `error_prefix` stored since `since_ms`. The whole prefix is listed: it
/// holds only what failed, so it stays small unless delivery fails at scale.
pub async fn error_objects(
    c: &RegionClients,
    bucket: &str,
    error_prefix: &str,
    since_ms: i64,
) -> Result<Vec<Listed>, AwsError> {
    let mut listed = list(c, bucket, error_prefix).await?;
    listed.retain(|o| o.last_modified_ms >= since_ms);
    Ok(listed)
}
