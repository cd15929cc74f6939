//! The controller's decisions as values, the vocabulary: a [`Decision`] (status, events,
//! requeue, failure, figures), its events as [`Note`]s and the [`EventMemory`] that keeps an
//! identical event from repeating. Shared by [`super::decide`], [`super::cutover_status`] and
//! [`super::schedule`], and depending on none of them.

use super::Error;
use super::delivery_status::Settled;
use crate::delivery::progress::CanaryRoute;
use crate::delivery::signals::Signal;
use crate::resources::ResourceKind;
use crate::spec::{LogPipeline, LogPipelineStatus};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use std::collections::HashMap;
use std::time::Duration;

/// An identical event is published again only after this long.
pub const EVENT_REPEAT: Duration = Duration::from_secs(3600);

/// Longest event note (Kubernetes caps notes at 1 KiB).
const MAX_NOTE_CHARS: usize = 1000;

/// Event severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    /// Something was done.
    Normal,
    /// Something is wrong.
    Warning,
}

/// An event to publish on the pipeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    /// Normal or warning.
    pub severity: Severity,
    /// One of [`event`]'s reasons.
    pub reason: &'static str,
    /// The message, at most 1,000 characters.
    pub text: String,
    /// What was done or held, when it says more than the reason (`None`: the reason). The API
    /// server's event series are keyed by reason and action, not the note: events that differ
    /// by what they are about (a move to Shadow, then to Primary) need their own action.
    pub action: Option<String>,
}

impl Note {
    pub(super) fn new(severity: Severity, reason: &'static str, text: impl Into<String>) -> Self {
        Self {
            severity,
            reason,
            text: text.into().chars().take(MAX_NOTE_CHARS).collect(),
            action: None,
        }
    }

    /// The note with its own `action` (at most 128 characters, the API's bound).
    pub(super) fn acting(mut self, action: impl Into<String>) -> Self {
        self.action = Some(action.into().chars().take(128).collect());
        self
    }

    pub(super) fn warning(reason: &'static str, text: impl Into<String>) -> Self {
        Self::new(Severity::Warning, reason, text)
    }
}

/// When to reconcile the pipeline again (besides on a change of the object).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requeue {
    /// After this long.
    After(Duration),
    /// Only when the object changes.
    AwaitChange,
}

/// What one reconcile does.
#[derive(Debug)]
pub struct Decision {
    /// The status to write (`None`: leave it).
    pub status: Option<LogPipelineStatus>,
    /// Events to publish, already deduplicated.
    pub events: Vec<Note>,
    /// When to look again when nothing failed.
    pub requeue: Requeue,
    /// The reconcile failed: retried with backoff, counted under the error's label.
    pub failure: Option<Error>,
    /// Drift items per resource kind for the metrics (`None`: leave them).
    pub drift: Option<Vec<ResourceKind>>,
    /// Canary stages that settled, for the metrics.
    pub settled: Vec<Settled>,
    /// The other figures of what this reconcile checked and read, for the metrics.
    pub figures: Figures,
}

/// Figures a reconcile sets for the metrics besides drift and settled canaries.
#[derive(Debug, Default)]
pub struct Figures {
    /// A full check ran: whether drift stood after it (`None`: no check ran).
    pub drifted: Option<bool>,
    /// The canary route whose deadlines stand (`None`: leave them; `Some(None)`: none).
    pub deadlines: Option<Option<CanaryRoute>>,
    /// The loss signals read (`None`: none were read).
    pub loss_signals: Option<Vec<Signal>>,
}

impl Decision {
    /// Nothing to write or publish until the object changes; `drift` sets the drift figures.
    pub fn wait_for_change(drift: Option<Vec<ResourceKind>>) -> Self {
        Self {
            status: None,
            events: Vec::new(),
            requeue: Requeue::AwaitChange,
            failure: None,
            drift,
            settled: Vec::new(),
            figures: Figures::default(),
        }
    }

    /// Nothing to write or publish: look again after `left`.
    pub fn wait(left: Duration) -> Self {
        Self {
            status: None,
            events: Vec::new(),
            requeue: Requeue::After(left),
            failure: None,
            drift: None,
            settled: Vec::new(),
            figures: Figures::default(),
        }
    }
}

/// Events published recently, per object and reason, so an identical event is not repeated
/// within [`EVENT_REPEAT`]. Entries older than that are pruned.
#[derive(Clone, Debug, Default)]
pub struct EventMemory {
    published: HashMap<(String, &'static str), (String, Timestamp)>,
}

impl EventMemory {
    /// Whether `note` on `object` may be published at `now`.
    pub fn admits(&self, object: &str, note: &Note, now: Timestamp) -> bool {
        match self.published.get(&(object.to_owned(), note.reason)) {
            Some((text, at)) => *text != note.text || elapsed(*at, now) >= EVENT_REPEAT,
            None => true,
        }
    }

    /// Records that `note` was published on `object` at `now`, and forgets what has expired.
    pub fn record(&mut self, object: &str, note: &Note, now: Timestamp) {
        self.published
            .retain(|_, (_, at)| elapsed(*at, now) < EVENT_REPEAT);
        self.published
            .insert((object.to_owned(), note.reason), (note.text.clone(), now));
    }

    /// Forgets an object (it was deleted).
    pub fn forget(&mut self, object: &str) {
        self.published.retain(|(o, _), _| o != object);
    }

    /// How many events are remembered.
    pub fn len(&self) -> usize {
        self.published.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.published.is_empty()
    }
}

fn elapsed(from: Timestamp, to: Timestamp) -> Duration {
    Duration::try_from(to.duration_since(from)).unwrap_or(Duration::ZERO)
}

/// The object's identity across its life: its uid (a pipeline deleted and created again under
/// the same name is another object, with its own events and failures).
pub fn object_key(lp: &LogPipeline) -> String {
    lp.uid()
        .unwrap_or_else(|| format!("{}/{}", lp.namespace().unwrap_or_default(), lp.name_any()))
}

/// Keeps the notes `memory` admits.
pub(super) fn admitted(
    lp: &LogPipeline,
    notes: Vec<Note>,
    memory: &EventMemory,
    now: Timestamp,
) -> Vec<Note> {
    let key = object_key(lp);
    notes
        .into_iter()
        .filter(|n| memory.admits(&key, n, now))
        .collect()
}
