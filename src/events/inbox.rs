//! Coalescing changes into checks, as values. A pipeline has at most one pending check however
//! many changes arrive for it; a change a check has already seen (the check started after the
//! change was made, with a margin for the event time's whole seconds and clock skew) starts
//! none; the same event delivered twice counts once.

use super::cloudtrail::Change;
use crate::names::PipelineId;
use std::collections::{BTreeMap, HashSet, VecDeque};

/// A check that starts this long after a change was made has read it: CloudTrail's `eventTime`
/// has whole seconds, and clocks differ a little.
pub const SETTLE_MS: i64 = 2_000;

/// How many event ids are remembered to recognise an event SQS delivers again.
pub const REMEMBERED: usize = 10_000;

/// A pending check and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wake {
    /// The earliest change not yet seen, in milliseconds since the epoch.
    pub first_ms: i64,
    /// How many changes it stands for.
    pub changes: u32,
    /// The first change, described (`DeleteSubscriptionFilter by … at …`).
    pub cause: String,
}

/// What offering a change to a pipeline did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    /// A check is now pending.
    Woke,
    /// A check was already pending: this change joins it.
    Joined,
    /// A check that started after the change has seen it.
    Seen,
    /// The same event was offered before.
    Again,
}

/// The pending checks.
#[derive(Clone, Debug, Default)]
pub struct Inbox {
    pending: BTreeMap<PipelineId, Wake>,
    /// When each pipeline's last check started.
    started: BTreeMap<PipelineId, i64>,
    seen_ids: HashSet<(String, PipelineId)>,
    seen_order: VecDeque<(String, PipelineId)>,
}

impl Inbox {
    /// Offers `change` to the pipeline `id` it concerns.
    pub fn offer(&mut self, id: &PipelineId, change: &Change) -> Offer {
        if !change.id.is_empty() {
            let key = (change.id.clone(), id.clone());
            if !self.seen_ids.insert(key.clone()) {
                return Offer::Again;
            }
            self.seen_order.push_back(key);
            if self.seen_order.len() > REMEMBERED
                && let Some(old) = self.seen_order.pop_front()
            {
                self.seen_ids.remove(&old);
            }
        }
        if self
            .started
            .get(id)
            .is_some_and(|s| *s >= change.at_ms + SETTLE_MS)
        {
            return Offer::Seen;
        }
        match self.pending.get_mut(id) {
            Some(w) => {
                w.first_ms = w.first_ms.min(change.at_ms);
                w.changes = w.changes.saturating_add(1);
                Offer::Joined
            }
            None => {
                let wake = Wake {
                    first_ms: change.at_ms,
                    changes: 1,
                    cause: change.describe(),
                };
                self.pending.insert(id.clone(), wake);
                Offer::Woke
            }
        }
    }

    /// A check of `id` starts at `now_ms` (for whatever reason): it sees every change pending
    /// for it, which it returns.
    pub fn start(&mut self, id: &PipelineId, now_ms: i64) -> Option<Wake> {
        self.started.insert(id.clone(), now_ms);
        self.pending.remove(id)
    }

    /// Why a check of `id` is pending, when one is.
    pub fn pending_cause(&self, id: &PipelineId) -> Option<&str> {
        self.pending.get(id).map(|w| w.cause.as_str())
    }

    /// Whether a check of `id` is pending.
    pub fn is_pending(&self, id: &PipelineId) -> bool {
        self.pending.contains_key(id)
    }

    /// The pipelines with a pending check.
    pub fn pending(&self) -> impl Iterator<Item = &PipelineId> {
        self.pending.keys()
    }

    /// Forgets `id` (the pipeline is gone).
    pub fn forget(&mut self, id: &PipelineId) {
        self.pending.remove(id);
        self.started.remove(id);
    }
}
