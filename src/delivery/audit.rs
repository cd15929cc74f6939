//! Completeness audit, the pure side: the events CloudWatch Logs holds for a window, per source
//! log group, compared with the events read back from the objects Firehose wrote.
//!
//! Exact, by CloudWatch Logs event id, when the record format keeps ids (`Envelope`, `Raw`):
//! which events are missing, which were delivered more than once (Firehose is at-least-once)
//! and which arrived late. By count for `NDJSON`, whose message extraction drops ids, groups
//! and streams: per pipeline totals only. Canary events (by their marker) are left out on both
//! sides: they prove delivery, they are not the users' logs.
//!
//! Sources may be in several places (the pipeline's own account and region, and each remote
//! source's): a delivered copy is matched by its group and event id (the records keep no
//! region), so groups of the same name in two places are told apart by their events' ids, which
//! CloudWatch Logs does not reuse (an emulator that numbers each group's events from 0 cannot
//! tell them apart); an unexpected copy of such a name counts with the first of them.

use super::canary::Canary;
use super::records::Decoded;
use crate::spec::RecordFormat;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How much later than its event time plus the buffering interval an event may be stored and
/// still be on time: CloudWatch Logs batches before it forwards, Firehose retries.
pub const LATENESS_MARGIN_MS: i64 = 15 * 60_000;

/// Missing ids listed per log group, at most; the rest are counted.
pub const MAX_LISTED_IDS: usize = 100;

/// How far an event may be stored after its event time and still count as on time.
pub fn lateness_ms(buffering_ms: i64) -> i64 {
    buffering_ms.max(0) + LATENESS_MARGIN_MS
}

/// How delivered events are matched with logged ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Exactness {
    /// By CloudWatch Logs event id (the record format keeps ids).
    ById,
    /// By count: the record format keeps only the messages.
    ByCount,
}

impl Exactness {
    /// What a record format allows.
    pub fn of(format: RecordFormat) -> Self {
        match format {
            RecordFormat::Ndjson => Exactness::ByCount,
            RecordFormat::Envelope | RecordFormat::Raw => Exactness::ById,
        }
    }
}

/// Event times `[since_ms, until_ms)`, milliseconds since the Unix epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Window {
    pub since_ms: i64,
    pub until_ms: i64,
}

impl Window {
    /// Whether `ms` is in the window.
    pub fn contains(&self, ms: i64) -> bool {
        self.since_ms <= ms && ms < self.until_ms
    }
}

/// One event CloudWatch Logs holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub id: String,
    pub timestamp_ms: i64,
}

impl Logged {
    /// The event, unless `message` is a canary.
    pub fn new(id: impl Into<String>, timestamp_ms: i64, message: &str) -> Option<Logged> {
        Canary::parse(message).is_none().then(|| Logged {
            id: id.into(),
            timestamp_ms,
        })
    }
}

/// One source log group and its logged events.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// A remote source's `<account>/<region>`; `None`: the pipeline's own account and region.
    pub place: Option<String>,
    pub log_group: String,
    /// Whether it carries the pipeline's subscription filter now (a group without it delivers
    /// nothing: every event of it is missing).
    pub subscribed: bool,
    pub events: Vec<Logged>,
}

/// One delivered copy of an event: what the record format kept of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub log_group: Option<String>,
    pub id: Option<String>,
    pub timestamp_ms: Option<i64>,
}

/// An object read back: when S3 stored it, and its events (canaries left out).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredObject {
    pub stored_ms: i64,
    pub events: Vec<Delivered>,
}

impl StoredObject {
    /// The events of `decoded`, but its canaries, stored at `stored_ms`.
    pub fn new(stored_ms: i64, decoded: Decoded) -> Self {
        let events = decoded
            .events
            .into_iter()
            .filter(|e| Canary::parse(&e.message).is_none())
            .map(|e| Delivered {
                log_group: e.log_group,
                id: e.id,
                timestamp_ms: e.timestamp_ms,
            })
            .collect();
        Self { stored_ms, events }
    }
}

/// What the comparison takes.
#[derive(Clone, Debug)]
pub struct Inputs<'a> {
    pub exactness: Exactness,
    pub window: Window,
    /// The stream's buffering interval.
    pub buffering_ms: i64,
    /// Now: whether the window has settled (every event had time to be stored).
    pub now_ms: i64,
    pub sources: &'a [Source],
    pub objects: &'a [StoredObject],
    /// Objects that could not be decoded (their events count as missing).
    pub unreadable_objects: usize,
}

/// Event counts. `duplicated` and `late` are `None` by count (nothing tells copies apart).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Events CloudWatch Logs holds in the window.
    pub logged: u64,
    /// Of those, delivered (by id); delivered events in the window (by count).
    pub delivered: u64,
    /// Logged but not delivered (by count: how many fewer were delivered).
    pub missing: u64,
    /// Events delivered more than once.
    pub duplicated: Option<u64>,
    /// Events first stored later than their time plus the buffering interval and the margin.
    pub late: Option<u64>,
    /// Delivered in the window but not logged in an audited group (by count: how many more
    /// were delivered than logged — duplicates or other groups, not told apart).
    pub unexpected: u64,
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        self.logged += other.logged;
        self.delivered += other.delivered;
        self.missing += other.missing;
        self.unexpected += other.unexpected;
        for (total, n) in [
            (&mut self.duplicated, other.duplicated),
            (&mut self.late, other.late),
        ] {
            if let Some(n) = n {
                *total = Some(total.unwrap_or(0) + n);
            }
        }
    }
}

/// One source log group's audit (by id only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupAudit {
    /// A remote source's `<account>/<region>`; absent for the pipeline's own account and region.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
    pub log_group: String,
    pub subscribed: bool,
    #[serde(flatten)]
    pub counts: Counts,
    /// The missing events' ids, oldest first, at most [`MAX_LISTED_IDS`].
    pub missing_ids: Vec<String>,
    /// Missing events beyond the list.
    pub missing_ids_not_listed: u64,
}

/// The result of an audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Audit {
    pub exactness: Exactness,
    pub window: Window,
    /// Whether the window ended at least the lateness allowance ago: if not, events still in
    /// Firehose's buffer count as missing.
    pub settled: bool,
    pub objects_read: usize,
    pub objects_unreadable: usize,
    pub totals: Counts,
    /// Per source log group: the pipeline's own by name, then each remote source's by place
    /// and name (empty by count).
    pub groups: Vec<GroupAudit>,
}

impl Audit {
    /// Whether every logged event was delivered.
    pub fn complete(&self) -> bool {
        self.totals.missing == 0
    }
}

/// Compares the logged events with the delivered ones.
pub fn compare(i: &Inputs) -> Audit {
    let (totals, groups) = match i.exactness {
        Exactness::ById => by_id(i),
        Exactness::ByCount => (by_count(i), Vec::new()),
    };
    Audit {
        exactness: i.exactness,
        window: i.window,
        settled: i.now_ms >= i.window.until_ms + lateness_ms(i.buffering_ms),
        objects_read: i.objects.len(),
        objects_unreadable: i.unreadable_objects,
        totals,
        groups,
    }
}

/// Where the copies of one event are: how many, and the earliest object's stored time.
#[derive(Clone, Copy)]
struct Copies {
    count: u64,
    first_stored_ms: i64,
}

fn by_id(i: &Inputs) -> (Counts, Vec<GroupAudit>) {
    let logged: HashMap<(&str, &str), i64> = i
        .sources
        .iter()
        .flat_map(|s| {
            s.events
                .iter()
                .map(move |e| ((&*s.log_group, &*e.id), e.timestamp_ms))
        })
        .filter(|(_, ts)| i.window.contains(*ts))
        .collect();
    let mut copies: HashMap<(&str, &str), Copies> = HashMap::new();
    let mut unexpected: BTreeMap<&str, u64> = BTreeMap::new();
    for o in i.objects {
        for e in &o.events {
            let group = e.log_group.as_deref().unwrap_or_default();
            let key = (group, e.id.as_deref().unwrap_or_default());
            if logged.contains_key(&key) {
                let c = copies.entry(key).or_insert(Copies {
                    count: 0,
                    first_stored_ms: o.stored_ms,
                });
                c.count += 1;
                c.first_stored_ms = c.first_stored_ms.min(o.stored_ms);
            } else if e.timestamp_ms.is_none_or(|ts| i.window.contains(ts)) {
                *unexpected.entry(group).or_default() += 1;
            }
        }
    }
    let lateness = lateness_ms(i.buffering_ms);
    let mut totals = Counts::default();
    let mut groups = Vec::new();
    for s in i.sources {
        let mut g = group_audit(s, i.window, lateness, &copies);
        g.counts.unexpected = unexpected.remove(s.log_group.as_str()).unwrap_or(0);
        totals.add(&g.counts);
        groups.push(g);
    }
    // Copies from groups that are not audited (or without a group at all) count in the totals.
    totals.unexpected += unexpected.values().sum::<u64>();
    groups.sort_by(|a, b| (&a.place, &a.log_group).cmp(&(&b.place, &b.log_group)));
    (totals, groups)
}

fn group_audit(
    s: &Source,
    window: Window,
    lateness: i64,
    copies: &HashMap<(&str, &str), Copies>,
) -> GroupAudit {
    let mut events: Vec<&Logged> = s
        .events
        .iter()
        .filter(|e| window.contains(e.timestamp_ms))
        .collect();
    events.sort_by(|a, b| (a.timestamp_ms, &a.id).cmp(&(b.timestamp_ms, &b.id)));
    events.dedup_by(|a, b| a.id == b.id);
    let mut counts = Counts {
        logged: events.len() as u64,
        duplicated: Some(0),
        late: Some(0),
        ..Counts::default()
    };
    let mut missing_ids = Vec::new();
    for e in events {
        match copies.get(&(s.log_group.as_str(), e.id.as_str())) {
            Some(c) => {
                counts.delivered += 1;
                counts.duplicated = counts.duplicated.map(|n| n + u64::from(c.count > 1));
                let late = c.first_stored_ms > e.timestamp_ms + lateness;
                counts.late = counts.late.map(|n| n + u64::from(late));
            }
            None => {
                counts.missing += 1;
                if missing_ids.len() < MAX_LISTED_IDS {
                    missing_ids.push(e.id.clone());
                }
            }
        }
    }
    GroupAudit {
        place: s.place.clone(),
        log_group: s.log_group.clone(),
        subscribed: s.subscribed,
        missing_ids_not_listed: counts.missing - missing_ids.len() as u64,
        missing_ids,
        counts,
    }
}

/// Totals by count: a delivered event counts when its time is in the window or, when the
/// record kept no time, when its object was stored between the window's start and its end plus
/// the lateness allowance (approximate at the edges).
fn by_count(i: &Inputs) -> Counts {
    let logged = i
        .sources
        .iter()
        .flat_map(|s| &s.events)
        .filter(|e| i.window.contains(e.timestamp_ms))
        .count() as u64;
    let stored_until = i.window.until_ms + lateness_ms(i.buffering_ms);
    let delivered = i
        .objects
        .iter()
        .flat_map(|o| o.events.iter().map(move |e| (o.stored_ms, e)))
        .filter(|(stored, e)| match e.timestamp_ms {
            Some(ts) => i.window.contains(ts),
            None => i.window.since_ms <= *stored && *stored < stored_until,
        })
        .count() as u64;
    Counts {
        logged,
        delivered,
        missing: logged.saturating_sub(delivered),
        duplicated: None,
        late: None,
        unexpected: delivered.saturating_sub(logged),
    }
}
