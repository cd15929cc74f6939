//! Sending a canary into the pipeline's own canary log group and looking for it at a stage.
//! Only the canary group is ever written to: application log groups are not touched.

use super::search::{self, Found, Search};
use crate::aws::{AwsError, RegionClients};
use crate::delivery::canary::Canary;
use crate::delivery::progress::{CanaryRoute, Seen, Stage, Tracked};
use aws_sdk_cloudwatchlogs::types::InputLogEvent;

/// The log stream canaries are written to, in the canary log group.
pub const CANARY_STREAM: &str = "pitagora-canary";

/// Writes `canary` as one log event; the canary stream is created the first time (one call per
/// canary afterwards).
pub async fn send(c: &RegionClients, route: &CanaryRoute, canary: &Canary) -> Result<(), AwsError> {
    let event = InputLogEvent::builder()
        .timestamp(canary.sent_at_ms)
        .message(canary.message())
        .build()
        .map_err(|e| AwsError::Build("PutLogEvents".into(), e.to_string()))?;
    let put = || {
        c.send("CloudWatchLogs.PutLogEvents", || {
            c.logs
                .put_log_events()
                .log_group_name(&route.log_group)
                .log_stream_name(CANARY_STREAM)
                .log_events(event.clone())
                .send()
        })
    };
    match put().await {
        Ok(_) => return Ok(()),
        // The group exists (pitagora's plan created it): the stream is what is missing.
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    let created = c
        .send("CloudWatchLogs.CreateLogStream", || {
            c.logs
                .create_log_stream()
                .log_group_name(&route.log_group)
                .log_stream_name(CANARY_STREAM)
                .send()
        })
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.is_already_exists() => {}
        Err(e) => return Err(e),
    }
    put().await.map(drop)
}

/// Looks for `canary` at `stage`, reading at most `budget` bytes.
pub async fn look(
    c: &RegionClients,
    route: &CanaryRoute,
    stage: Stage,
    canary: &Canary,
    now_ms: i64,
    budget: u64,
) -> Result<Seen, AwsError> {
    let found = search::find(
        c,
        &Search {
            bucket: &route.bucket,
            prefix: route.prefix(stage),
            layout: route.layout,
            canary_id: &canary.id,
            sent_at_ms: canary.sent_at_ms,
            now_ms,
            budget,
        },
    )
    .await?;
    Ok(match found {
        Found::Yes { key, latency_ms } => Seen::Found {
            at_ms: canary.sent_at_ms + latency_ms,
            object: key,
        },
        Found::No { .. } => Seen::NotFound,
        Found::Inconclusive { .. } => Seen::Inconclusive,
    })
}

/// Looks for a tracked canary at its waiting stages, in order, stopping at the first stage that
/// does not have it yet, then for each waiting remote path's canary, and records what was seen.
pub async fn advance(
    c: &RegionClients,
    route: &CanaryRoute,
    tracked: &mut Tracked,
    now_ms: i64,
    budget: u64,
) -> Result<(), AwsError> {
    let mut seen = Vec::new();
    for stage in tracked.to_look() {
        let s = look(c, route, stage, &tracked.canary, now_ms, budget).await?;
        let found = matches!(s, Seen::Found { .. });
        seen.push((stage, s));
        if !found {
            break;
        }
    }
    tracked.record(route, &seen, now_ms);
    // Each remote path's canary, under `raw/` of the same bucket.
    let waiting: Vec<_> = tracked.paths_waiting().cloned().collect();
    for p in waiting {
        let path_route = route.for_path(&p.path);
        let s = look(c, &path_route, Stage::Raw, &p.canary, now_ms, budget).await?;
        tracked.record_path(route, &p.path.key(), s, now_ms);
    }
    Ok(())
}
