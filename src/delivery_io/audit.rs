//! The completeness audit, the I/O side: the events of each source log group in the window
//! (FilterLogEvents with the pipeline's filter pattern, in the group's account and region: a
//! remote source's with that place's credentials), and the objects stored under the raw prefix
//! from the window's start until its end plus the lateness allowance, decoded. Both sides are
//! bounded; the comparison is [`crate::delivery::audit::compare`].

use super::search;
use crate::arn::AwsTarget;
use crate::aws::{AwsError, Places, RegionClients};
use crate::delivery::audit::{
    self, Audit, Exactness, Inputs, Logged, Source, StoredObject, Window,
};
use crate::delivery::keys::{self, Listed};
use crate::delivery::records;
use crate::desired::{LogGroupSpec, Pipeline};
use crate::observed::RemoteGroups;
use crate::plan::Check;
use crate::spec::Layout;

/// Events read from CloudWatch Logs per audit, at most, by default.
pub const DEFAULT_MAX_EVENTS: usize = 100_000;

/// Stored bytes read from S3 per pipeline, at most.
pub const BYTE_BUDGET: u64 = 512 << 20;

/// Decompressed bytes of one object, at most (Firehose buffers up to 128 MiB).
const OBJECT_LIMIT: u64 = 256 << 20;

/// S3's last-modified times have one-second resolution and clocks drift: objects stored a
/// little before the window's start are read too.
const CLOCK_SKEW_MS: i64 = 2_000;

/// One source log group to audit, and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceGroup {
    /// A remote source's account and region; `None`: the pipeline's own.
    pub place: Option<AwsTarget>,
    pub name: String,
    /// Whether it carries the pipeline's subscription filter.
    pub subscribed: bool,
}

/// What to audit.
#[derive(Clone, Debug)]
pub struct Request {
    /// The pipeline's region, where its bucket is.
    pub region: String,
    pub bucket: String,
    /// The static prefix Firehose writes under, e.g. `raw/`.
    pub prefix: String,
    pub layout: Layout,
    pub exactness: Exactness,
    /// The stream's buffering interval.
    pub buffering_ms: i64,
    /// The source log groups: the pipeline's own, then each remote source's.
    pub groups: Vec<SourceGroup>,
    /// The pipeline's filter pattern (empty: every event).
    pub filter_pattern: String,
    pub window: Window,
    pub now_ms: i64,
    /// Logged events to read at most, over every group.
    pub max_events: usize,
    /// Stored bytes to read at most.
    pub byte_budget: u64,
}

/// The groups of `observed` (one place's, by name, with their filters) to audit at `place`:
/// all but pitagora's `canary` group there.
fn sources_at(
    place: Option<&AwsTarget>,
    observed: &RemoteGroups,
    canary: Option<&LogGroupSpec>,
    filter: &str,
) -> Vec<SourceGroup> {
    let canary = canary.map(|g| g.name.as_str());
    observed
        .iter()
        .filter(|(group, _)| Some(group.as_str()) != canary)
        .map(|(group, filters)| SourceGroup {
            place: place.cloned(),
            name: group.clone(),
            subscribed: filters.iter().any(|f| f.name == filter),
        })
        .collect()
}

impl Request {
    /// The audit of `pipeline` over `window`: its sources are the log groups `check` observed
    /// (those the spec selects) in its own account and region and in each remote source's
    /// place, but pitagora's canary log groups.
    pub fn new(pipeline: &Pipeline, check: &Check, window: Window, now_ms: i64) -> Self {
        let (spec, d, o) = (pipeline.spec(), &check.desired, &check.observed);
        let filter = &d.filters.filter.name;
        let mut groups = sources_at(None, &o.log_groups, d.canary_log_group.as_ref(), filter);
        for r in &d.remote {
            if let Some(there) = o.remote.get(&r.key()) {
                let canary = r.canary_log_group.as_ref();
                groups.extend(sources_at(Some(&r.place), there, canary, filter));
            }
        }
        Self {
            region: d.target.region.clone(),
            bucket: d.names.bucket.clone(),
            prefix: spec.delivery.prefix.clone(),
            layout: spec.delivery.layout,
            exactness: Exactness::of(spec.delivery.record_format),
            buffering_ms: i64::from(spec.delivery.buffering.interval_seconds) * 1000,
            groups,
            filter_pattern: d.filters.filter.pattern.clone(),
            window,
            now_ms,
            max_events: DEFAULT_MAX_EVENTS,
            byte_budget: BYTE_BUDGET,
        }
    }
}

/// Why an audit could not be made. Variant names are stable labels.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// AWS failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// AWS failed in a remote source's account and region (or no credentials reach it).
    #[error("{place}: {source}")]
    Remote {
        /// `<account>/<region>`.
        place: String,
        /// What failed there.
        source: AwsError,
    },
    /// CloudWatch Logs holds more events in the window than the bound.
    #[error(
        "the window holds more than {limit} events in CloudWatch Logs: narrow the window \
         (--since/--until) or raise --max-events"
    )]
    TooManyEvents { limit: usize },
    /// The objects to read are larger than the bound.
    #[error(
        "the window's objects hold more than {limit} bytes in S3 ({bytes} bytes): narrow the \
         window (--since/--until)"
    )]
    TooManyBytes { bytes: u64, limit: u64 },
}

/// How far an audit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Logged events read so far, and the groups done of all.
    Logged {
        events: usize,
        groups: usize,
        of: usize,
    },
    /// Objects read so far, of all.
    Read { objects: usize, of: usize },
}

/// Audits one pipeline, reading each source group in its place.
pub async fn audit(
    at: &Places,
    r: &Request,
    progress: &mut dyn FnMut(Progress),
) -> Result<Audit, AuditError> {
    let sources = logged(at, r, progress).await?;
    let (objects, unreadable) = delivered(&at.region(&r.region), r, progress).await?;
    Ok(audit::compare(&Inputs {
        exactness: r.exactness,
        window: r.window,
        buffering_ms: r.buffering_ms,
        now_ms: r.now_ms,
        sources: &sources,
        objects: &objects,
        unreadable_objects: unreadable,
    }))
}

/// Every source group's events in the window, canaries left out; a remote group's read with
/// its place's clients, and a failure there named with the place.
async fn logged(
    at: &Places,
    r: &Request,
    progress: &mut dyn FnMut(Progress),
) -> Result<Vec<Source>, AuditError> {
    let mut sources = Vec::new();
    let mut read = 0;
    for (done, g) in r.groups.iter().enumerate() {
        let events = match &g.place {
            None => events_of(&at.region(&r.region), r, &g.name, &mut read).await?,
            Some(place) => {
                let there = |source| AuditError::Remote {
                    place: place.to_string(),
                    source,
                };
                let c = (at.clients_in(&place.account_id, &place.region)).map_err(there)?;
                match events_of(&c, r, &g.name, &mut read).await {
                    Err(AuditError::Aws(e)) => return Err(there(e)),
                    other => other?,
                }
            }
        };
        sources.push(Source {
            place: g.place.as_ref().map(AwsTarget::to_string),
            log_group: g.name.clone(),
            subscribed: g.subscribed,
            events,
        });
        progress(Progress::Logged {
            events: read,
            groups: done + 1,
            of: r.groups.len(),
        });
    }
    Ok(sources)
}

/// One group's events in the window; `read` counts the events of every group so far.
async fn events_of(
    c: &RegionClients,
    r: &Request,
    group: &str,
    read: &mut usize,
) -> Result<Vec<Logged>, AuditError> {
    let pattern = (!r.filter_pattern.is_empty()).then(|| r.filter_pattern.to_owned());
    let mut events = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = c
            .send("CloudWatchLogs.FilterLogEvents", || {
                c.logs
                    .filter_log_events()
                    .log_group_name(group)
                    .start_time(r.window.since_ms)
                    // The end is inclusive in the API; the window's is not.
                    .end_time(r.window.until_ms - 1)
                    .set_filter_pattern(pattern.clone())
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        for e in page.events() {
            *read += 1;
            if *read > r.max_events {
                return Err(AuditError::TooManyEvents {
                    limit: r.max_events,
                });
            }
            let (Some(id), Some(ts)) = (e.event_id(), e.timestamp()) else {
                continue;
            };
            events.extend(Logged::new(id, ts, e.message().unwrap_or_default()));
        }
        match page.next_token() {
            Some(t) if !t.is_empty() && token.as_deref() != Some(t) => token = Some(t.to_owned()),
            _ => return Ok(events),
        }
    }
}

/// The objects stored from the window's start until its end plus the lateness allowance,
/// decoded, and how many could not be.
async fn delivered(
    c: &RegionClients,
    r: &Request,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Vec<StoredObject>, usize), AuditError> {
    let (from, to) = (
        r.window.since_ms - CLOCK_SKEW_MS,
        r.window.until_ms + audit::lateness_ms(r.buffering_ms),
    );
    let mut listed: Vec<Listed> = Vec::new();
    for prefix in keys::hour_prefixes(&r.prefix, r.layout, from, to) {
        listed.extend(search::list(c, &r.bucket, &prefix).await?);
    }
    listed.retain(|o| from <= o.last_modified_ms && o.last_modified_ms <= to);
    let bytes: u64 = listed.iter().map(|o| o.size).sum();
    if bytes > r.byte_budget {
        return Err(AuditError::TooManyBytes {
            bytes,
            limit: r.byte_budget,
        });
    }
    let (mut objects, mut unreadable) = (Vec::new(), 0);
    for (done, o) in listed.iter().enumerate() {
        let body = search::read(c, &r.bucket, &o.key).await?;
        match records::decode(&body, OBJECT_LIMIT) {
            Ok(decoded) => objects.push(StoredObject::new(o.last_modified_ms, decoded)),
            Err(e) => {
                tracing::warn!(key = %o.key, error = %e, "an object of the window cannot be read");
                unreadable += 1;
            }
        }
        progress(Progress::Read {
            objects: done + 1,
            of: listed.len(),
        });
    }
    Ok((objects, unreadable))
}
