//! Many pipelines' delivery metrics in one GetMetricData call. Reads of the same region and
//! window that arrive within [`LINGER`] of each other go out together, up to
//! [`signals::MAX_QUERIES`] queries a call; each caller gets back only its own series. Windows
//! are aligned to the minute ([`signals::window`]), so every check within a minute shares one.
//!
//! A group is sent by a task of its own, so a caller that gives up (a cancelled reconcile)
//! never strands the others waiting on the same call.

use super::signals::metrics;
use crate::aws::{AwsError, RegionClients};
use crate::delivery::signals::{self, MetricQuery, Results};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a group waits for more reads before it is sent. Loss signals cover the last
/// [`signals::WINDOW_MS`]: a quarter second more is nothing to them, and at the controller's
/// pace it gathers every check that starts meanwhile.
pub const LINGER: Duration = Duration::from_millis(250);

/// The id a caller's query `id` has in a combined call, as the `index`th read of its group
/// (ids must be unique in a call and start with a letter).
pub fn combined_id(index: usize, id: &str) -> String {
    format!("r{index}_{id}")
}

/// The queries of several reads as one call's, each id made unique by [`combined_id`].
pub fn combine(reads: &[&[MetricQuery]]) -> Vec<MetricQuery> {
    reads
        .iter()
        .enumerate()
        .flat_map(|(i, queries)| {
            queries.iter().map(move |q| MetricQuery {
                id: combined_id(i, &q.id),
                ..q.clone()
            })
        })
        .collect()
}

/// A combined call's series given back to its `reads` reads, under their own ids.
pub fn split(results: Results, reads: usize) -> Vec<Results> {
    let mut out = vec![Results::new(); reads];
    for (id, points) in results {
        let parsed = id
            .strip_prefix('r')
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(i, own)| Some((i.parse::<usize>().ok()?, own)));
        if let Some((i, own)) = parsed.filter(|(i, _)| *i < reads) {
            out[i].insert(own.to_owned(), points);
        }
    }
    out
}

type Reply = oneshot::Sender<Result<Results, AwsError>>;
/// Region, start and end of the window.
type Key = (String, i64, i64);

struct Group {
    key: Key,
    size: usize,
    reads: Vec<(Vec<MetricQuery>, Reply)>,
}

/// The groups being gathered, each under an id; `open` names the one of each key that takes
/// more reads.
#[derive(Default)]
struct State {
    next: u64,
    open: HashMap<Key, u64>,
    groups: HashMap<u64, Group>,
}

impl State {
    /// Adds a read to the open group of `key`, or to a new one when there is none or it would
    /// exceed a call's queries; the id of a new group, for its sender.
    fn add(&mut self, key: Key, queries: Vec<MetricQuery>, reply: Reply) -> Option<u64> {
        if let Some(group) = self.open.get(&key).and_then(|id| self.groups.get_mut(id))
            && group.size + queries.len() <= signals::MAX_QUERIES
        {
            group.size += queries.len();
            group.reads.push((queries, reply));
            return None;
        }
        let id = self.next;
        self.next += 1;
        self.open.insert(key.clone(), id);
        let size = queries.len();
        let reads = vec![(queries, reply)];
        self.groups.insert(id, Group { key, size, reads });
        Some(id)
    }

    /// Closes group `id` and takes it for sending.
    fn take(&mut self, id: u64) -> Option<Group> {
        let group = self.groups.remove(&id)?;
        if self.open.get(&group.key) == Some(&id) {
            self.open.remove(&group.key);
        }
        Some(group)
    }
}

/// Gathers metric reads into shared GetMetricData calls.
#[derive(Clone, Default)]
pub struct MetricBatcher {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for MetricBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricBatcher").finish_non_exhaustive()
    }
}

impl MetricBatcher {
    /// The datapoints of `queries` between `from_ms` and `to_ms`, read in a call shared with
    /// every other read of the same region, credentials ([`RegionClients::scope`]) and window
    /// made meanwhile.
    pub async fn read(
        &self,
        c: Arc<RegionClients>,
        queries: Vec<MetricQuery>,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Results, AwsError> {
        if queries.is_empty() {
            return Ok(Results::new());
        }
        if queries.len() > signals::MAX_QUERIES {
            return metrics(&c, &queries, from_ms, to_ms).await;
        }
        let (reply, answer) = oneshot::channel();
        let key = (c.scope.clone(), from_ms, to_ms);
        let new = lock(&self.state).add(key, queries, reply);
        if let Some(id) = new {
            let state = self.state.clone();
            tokio::spawn(async move {
                tokio::time::sleep(LINGER).await;
                let group = lock(&state).take(id);
                if let Some(group) = group {
                    send(&c, group, from_ms, to_ms).await;
                }
            });
        }
        answer.await.unwrap_or_else(|_| {
            Err(AwsError::Unavailable {
                operation: "CloudWatch.GetMetricData".into(),
                message: "the shared read ended without an answer".into(),
            })
        })
    }
}

/// Sends `group`'s reads as one call and answers each.
async fn send(c: &RegionClients, group: Group, from_ms: i64, to_ms: i64) {
    let lists: Vec<&[MetricQuery]> = group.reads.iter().map(|(q, _)| q.as_slice()).collect();
    let combined = combine(&lists);
    let replies = group.reads.into_iter().map(|(_, reply)| reply);
    match metrics(c, &combined, from_ms, to_ms).await {
        Ok(results) => {
            let n = replies.len();
            for (reply, own) in replies.zip(split(results, n)) {
                let _ = reply.send(Ok(own));
            }
        }
        Err(e) => {
            for reply in replies {
                let _ = reply.send(Err(e.clone()));
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::signals::{Pipeline, queries};

    fn pipeline(stream: &str) -> Pipeline<'_> {
        Pipeline {
            stream,
            filter_name: "f",
            filter_pattern: "",
            buffer_interval_s: 60,
            bucket: "b",
            error_prefix: "errors/",
        }
    }

    fn groups(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("/g/{i}")).collect()
    }

    #[test]
    fn combined_ids_are_unique_and_each_read_gets_back_exactly_its_series() {
        let (a, b) = (pipeline("a"), pipeline("b"));
        let (qa, qb) = (queries(&a, &groups(1)), queries(&b, &groups(2)));
        let combined = combine(&[&qa, &qb]);
        let ids: std::collections::BTreeSet<_> = combined.iter().map(|q| &q.id).collect();
        assert_eq!(ids.len(), qa.len() + qb.len());
        let results: Results = combined
            .iter()
            .enumerate()
            .map(|(n, q)| (q.id.clone(), vec![(0, n as f64)]))
            .collect();
        let back = split(results, 2);
        let own = |r: &Results| r.keys().cloned().collect::<Vec<_>>();
        let mut want_a: Vec<_> = qa.iter().map(|q| q.id.clone()).collect();
        let mut want_b: Vec<_> = qb.iter().map(|q| q.id.clone()).collect();
        want_a.sort();
        want_b.sort();
        assert_eq!(own(&back[0]), want_a);
        assert_eq!(own(&back[1]), want_b);
        // Same query id in both reads, different series.
        assert_ne!(back[0]["throttled"], back[1]["throttled"]);
    }

    #[test]
    fn reads_join_the_open_group_of_their_window_until_a_call_would_exceed_its_queries() {
        let mut state = State::default();
        let key = |from| ("eu-west-1".to_owned(), from, from + 1);
        let reply = || oneshot::channel().0;
        // 3 + 4 per group: 123 queries with 30 groups; four fit in 500, the fifth does not.
        let big = queries(&pipeline("p"), &groups(30));
        assert_eq!(big.len(), 123);
        let first = state.add(key(0), big.clone(), reply());
        assert!(first.is_some());
        for _ in 0..3 {
            assert_eq!(state.add(key(0), big.clone(), reply()), None);
        }
        let second = state.add(key(0), big.clone(), reply());
        assert!(second.is_some() && second != first);
        // Another window: a group of its own.
        assert!(state.add(key(60_000), big.clone(), reply()).is_some());
        let taken = state.take(first.unwrap()).unwrap();
        assert_eq!((taken.reads.len(), taken.size), (4, 492));
        // The full group, taken, is not open any more; the second still takes reads.
        assert_eq!(state.add(key(0), big, reply()), None);
        assert_eq!(state.take(second.unwrap()).unwrap().reads.len(), 2);
    }
}
