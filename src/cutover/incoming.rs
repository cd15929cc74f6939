//! Whether fluentd writes a route's log group: its `IncomingLogEvents` since the route started
//! writing to CloudWatch Logs. Pure: the queries and what their answer means; the read is
//! [`crate::engine::Engine::incoming`].

use crate::delivery::signals::{Datapoint, Measure, MetricQuery, Results};
use std::collections::BTreeMap;

/// The query id of the `i`-th group.
fn id(i: usize) -> String {
    format!("in{i}")
}

/// One `IncomingLogEvents` (Sum) query per group, in order.
pub fn queries(groups: &[String]) -> Vec<MetricQuery> {
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| MetricQuery {
            id: id(i),
            namespace: "AWS/Logs",
            metric: "IncomingLogEvents",
            dimensions: vec![("LogGroupName", g.clone())],
            stat: "Sum",
            measure: Measure::Incoming { group: g.clone() },
        })
        .collect()
}

/// Datapoints cover a minute from their timestamp.
const PERIOD_MS: i64 = 60_000;

/// The groups (each with the time since which it should receive) that received events since
/// then, with the start of the first minute that shows some. `results` answers
/// [`queries`] of the same groups in the same order.
pub fn receiving(groups: &[(String, i64)], results: &Results) -> BTreeMap<String, i64> {
    groups
        .iter()
        .enumerate()
        .filter_map(|(i, (g, since))| {
            let points: &[Datapoint] = results.get(&id(i))?;
            // The minute that holds `since` may count: its events may have come after it.
            let (at, _) = points
                .iter()
                .find(|(t, v)| *v > 0.0 && *t + PERIOD_MS > *since)?;
            Some((g.clone(), *at))
        })
        .collect()
}
