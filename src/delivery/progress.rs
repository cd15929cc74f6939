//! A canary's way through the chain, as values: the route it takes (from the desired state), the
//! stages it is looked for at, when each stage is overdue, which link a missing canary stopped
//! at, and when the next canary is sent or the current one looked for. Pure: the I/O that sends
//! and searches is in [`crate::delivery_io`], and the controller and `pitagora verify` share this.

use crate::spec::Layout;
use serde::{Deserialize, Serialize};

/// How long after the buffering interval a canary may still arrive in `raw/` before it counts as
/// missing: the subscription's delivery, Firehose's write and S3's listing take seconds each, and
/// a flush can start just after the buffer's interval began.
pub const RAW_MARGIN_MS: i64 = 120_000;
/// How long after a canary reached `raw/` the transform's output may take to appear.
pub const TRANSFORM_MARGIN_MS: i64 = 300_000;
/// How often an unresolved canary is looked for.
pub const POLL_MS: i64 = 30_000;

/// A stage a canary is looked for at: a place in S3 it must reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stage {
    /// Under the raw prefix: CloudWatch Logs → Firehose → S3 worked.
    Raw,
    /// Under the transform's output prefix: the transform ran on it.
    Processed,
}

impl Stage {
    /// Stable label (metrics, JSON).
    pub fn label(self) -> &'static str {
        match self {
            Stage::Raw => "raw",
            Stage::Processed => "processed",
        }
    }
}

/// The link of the chain where a canary stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// The subscription filter did not hand it to Firehose.
    Subscription,
    /// Firehose did not write it to S3.
    Firehose,
    /// The transform did not write its output.
    Transform,
}

impl Link {
    /// Stable label (metrics).
    pub fn label(self) -> &'static str {
        match self {
            Link::Subscription => "subscription",
            Link::Firehose => "firehose",
            Link::Transform => "transform",
        }
    }
}

/// Where a pipeline's canary goes and where it is looked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanaryRoute {
    /// The pipeline's own canary log group (the only group pitagora writes to).
    pub log_group: String,
    /// The bucket Firehose writes to.
    pub bucket: String,
    /// The static part of the raw prefix, e.g. `raw/`.
    pub raw_prefix: String,
    /// The transform's output prefix, when a transform is wired.
    pub processed_prefix: Option<String>,
    /// The key layout under both prefixes (the transform is expected to keep the raw key's
    /// partitions under its own prefix).
    pub layout: Layout,
    /// Firehose's buffering interval.
    pub buffer_interval_ms: i64,
    /// Milliseconds between canaries.
    pub interval_ms: i64,
    /// How long after the buffering interval the canary may still arrive in `raw/`
    /// ([`RAW_MARGIN_MS`] unless the operator set another).
    pub margin_ms: i64,
    /// The remote sources' paths, each proven by a canary of its own (none: only the
    /// pipeline's own canary group).
    pub paths: Vec<super::paths::RemotePath>,
}

impl CanaryRoute {
    /// The stages looked at, in order.
    pub fn stages(&self) -> Vec<Stage> {
        let mut stages = vec![Stage::Raw];
        if self.processed_prefix.is_some() {
            stages.push(Stage::Processed);
        }
        stages
    }

    /// The S3 prefix of `stage`.
    pub fn prefix(&self, stage: Stage) -> &str {
        match stage {
            Stage::Raw => &self.raw_prefix,
            Stage::Processed => self.processed_prefix.as_deref().unwrap_or(&self.raw_prefix),
        }
    }

    /// How often an unresolved canary is looked for: a quarter of the margin, within 1 s and
    /// [`POLL_MS`].
    pub fn poll_ms(&self) -> i64 {
        (self.margin_ms / 4).clamp(1_000, POLL_MS)
    }

    /// The stage's name as people read it: the link that ends there.
    pub fn stage_name(&self, stage: Stage) -> String {
        match stage {
            Stage::Raw => self.link_name(Link::Firehose),
            Stage::Processed => self.link_name(Link::Transform),
        }
    }

    /// A link's name, e.g. `firehose → s3 raw/`.
    pub fn link_name(&self, link: Link) -> String {
        match link {
            Link::Subscription => "cloudwatch-logs → firehose".to_owned(),
            Link::Firehose => format!("firehose → s3 {}", self.raw_prefix),
            Link::Transform => format!(
                "s3 {} → transform → {}",
                self.raw_prefix,
                self.prefix(Stage::Processed)
            ),
        }
    }

    /// When `stage` is overdue: for `raw/`, the buffering interval and a margin after sending;
    /// for `processed/`, a margin after the canary reached `raw/` (unknown until then).
    pub fn deadline_ms(&self, stage: Stage, sent_at_ms: i64, raw_at_ms: Option<i64>) -> i64 {
        match stage {
            Stage::Raw => sent_at_ms + self.buffer_interval_ms + self.margin_ms,
            Stage::Processed => {
                raw_at_ms.unwrap_or(self.deadline_ms(Stage::Raw, sent_at_ms, None))
                    + TRANSFORM_MARGIN_MS
            }
        }
    }
}

/// Where a stage stands for one canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StageState {
    /// Not found yet, not overdue.
    Waiting,
    /// Found in `object`, stored at `at_ms`.
    Delivered { at_ms: i64, object: String },
    /// Not found by its deadline.
    Missing,
    /// Not found, and more was stored than one search may read.
    Inconclusive,
    /// A remote path's canary could not be sent (the cause): nothing to look for.
    NotSent(String),
}

impl StageState {
    /// Stable label (status, metrics).
    pub fn label(&self) -> &'static str {
        match self {
            StageState::Waiting => "Waiting",
            StageState::Delivered { .. } => "Delivered",
            StageState::Missing => "Missing",
            StageState::Inconclusive => "Inconclusive",
            StageState::NotSent(_) => "NotSent",
        }
    }

    /// Whether the stage is settled (found, or given up on).
    pub fn resolved(&self) -> bool {
        !matches!(self, StageState::Waiting)
    }
}

/// What one search of a stage found (the pure image of [`crate::delivery_io::search::Found`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// In `object`, stored at `at_ms`.
    Found { at_ms: i64, object: String },
    /// Not in the objects stored since the canary was sent.
    NotFound,
    /// Not in the objects read; more were stored than the budget allows.
    Inconclusive,
}

/// A stage's new state after a search at `now_ms` that saw `seen`, against its deadline.
pub fn advance(seen: Seen, deadline_ms: i64, now_ms: i64) -> StageState {
    match seen {
        Seen::Found { at_ms, object } => StageState::Delivered { at_ms, object },
        Seen::NotFound if now_ms >= deadline_ms => StageState::Missing,
        Seen::Inconclusive if now_ms >= deadline_ms => StageState::Inconclusive,
        Seen::NotFound | Seen::Inconclusive => StageState::Waiting,
    }
}

/// What pitagora knows about the links from its last check, to say where a canary that never
/// reached `raw/` stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Evidence {
    /// Why the subscription cannot deliver, when the check saw it: the canary group's filter
    /// missing or changed, the stream missing.
    pub subscription_broken: Option<String>,
    /// Why a remote path cannot deliver, by its key (`<account>/<region>`): its canary group's
    /// filter, or its region's destination, not in sync.
    pub paths_broken: std::collections::BTreeMap<String, String>,
}

impl Evidence {
    /// From the resources a check saw, as `(kind, name, state)`: the canary group's filter, or
    /// the stream, not in sync means the subscription cannot deliver.
    pub fn from_resources<'a>(
        route: &CanaryRoute,
        resources: impl IntoIterator<Item = (crate::resources::ResourceKind, &'a str, &'a str)>,
    ) -> Self {
        use crate::resources::ResourceKind;
        let resources: Vec<_> = resources
            .into_iter()
            .filter(|(_, _, state)| *state != "InSync")
            .collect();
        let broken = resources.iter().find(|(kind, name, _)| {
            (*kind == ResourceKind::SubscriptionFilter && *name == route.log_group)
                || *kind == ResourceKind::DeliveryStream
        });
        let paths_broken = (route.paths.iter())
            .filter_map(|p| {
                let filter = format!("{}:{}", p.key(), p.log_group);
                let destination = format!("-{}", p.place.region);
                let (k, n, s) = resources.iter().find(|(kind, name, _)| {
                    (*kind == ResourceKind::RemoteSubscriptionFilter && *name == filter)
                        || (*kind == ResourceKind::Destination && name.ends_with(&destination))
                })?;
                Some((p.key(), format!("{k} {n} is {s}")))
            })
            .collect();
        Evidence {
            subscription_broken: broken.map(|(k, n, s)| format!("{k} {n} is {s}")),
            paths_broken,
        }
    }
}

/// The link where a canary stopped, given the first unresolved-or-failed stage.
pub fn stopped_at(stage: Stage, evidence: &Evidence) -> Link {
    match stage {
        Stage::Raw if evidence.subscription_broken.is_some() => Link::Subscription,
        Stage::Raw => Link::Firehose,
        Stage::Processed => Link::Transform,
    }
}

/// What to do about delivery now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Due {
    /// Send a new canary (and look for it at once).
    Send,
    /// Look for the canary in flight.
    Look,
    /// Nothing until this many milliseconds have passed.
    Wait(i64),
}

/// The canary in flight, as far as scheduling goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InFlight {
    /// When it was sent.
    pub sent_at_ms: i64,
    /// When it was last looked for.
    pub looked_at_ms: i64,
    /// The earliest deadline among its unresolved stages (`None`: all resolved).
    pub next_deadline_ms: Option<i64>,
}

/// What is due at `now_ms` for a route whose last canary is `last` (`None`: none sent yet).
/// An unresolved canary is looked for every [`CanaryRoute::poll_ms`], and once more at its deadline; a new
/// one is sent an interval after the last was sent, once the last is resolved.
pub fn due(route: &CanaryRoute, last: Option<InFlight>, now_ms: i64) -> Due {
    let Some(last) = last else {
        return Due::Send;
    };
    match last.next_deadline_ms {
        Some(deadline) => {
            let poll = route.poll_ms();
            let next_look = (last.looked_at_ms + poll).min(deadline.max(last.looked_at_ms + 1));
            if now_ms >= next_look {
                Due::Look
            } else {
                Due::Wait(next_look - now_ms)
            }
        }
        None => {
            let next_send = last.sent_at_ms + route.interval_ms;
            if now_ms >= next_send {
                Due::Send
            } else {
                Due::Wait(next_send - now_ms)
            }
        }
    }
}

/// A canary and where it stands at each stage of its route.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tracked {
    /// The canary sent.
    pub canary: crate::delivery::canary::Canary,
    /// When it was last looked for.
    pub looked_at_ms: i64,
    /// Each stage of the route, in order.
    pub stages: Vec<(Stage, StageState)>,
    /// Each remote path's canary, in the route's order.
    pub paths: Vec<super::paths::PathTracked>,
}

/// What became of a canary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Some stage is still waiting.
    Pending,
    /// Every stage has it.
    Delivered,
    /// It was not found at this stage by its deadline (`Missing`), or could not be told
    /// (`Inconclusive`).
    Stopped(Stage, StageState),
}

impl Tracked {
    /// A canary just sent along `route`: every stage waiting.
    pub fn new(route: &CanaryRoute, canary: crate::delivery::canary::Canary) -> Self {
        Self {
            looked_at_ms: canary.sent_at_ms,
            stages: route
                .stages()
                .into_iter()
                .map(|s| (s, StageState::Waiting))
                .collect(),
            paths: route
                .paths
                .iter()
                .map(|path| super::paths::PathTracked {
                    canary: super::paths::path_canary(&canary, path),
                    path: path.clone(),
                    state: StageState::Waiting,
                })
                .collect(),
            canary,
        }
    }

    /// The stages to look at now, in order: the waiting ones. A search stops at the first stage
    /// that does not have it yet (later stages cannot).
    pub fn to_look(&self) -> Vec<Stage> {
        self.stages
            .iter()
            .filter(|(_, s)| !s.resolved())
            .map(|(stage, _)| *stage)
            .collect()
    }

    /// When the canary was found at `stage`.
    pub fn found_at(&self, stage: Stage) -> Option<i64> {
        self.stages.iter().find_map(|(s, state)| match state {
            StageState::Delivered { at_ms, .. } if *s == stage => Some(*at_ms),
            _ => None,
        })
    }

    /// When `stage` is overdue.
    pub fn deadline_ms(&self, route: &CanaryRoute, stage: Stage) -> i64 {
        route.deadline_ms(stage, self.canary.sent_at_ms, self.found_at(Stage::Raw))
    }

    /// Records a search at `now_ms` that saw `seen` at these stages. Stages after one that gave
    /// up take its state: the canary cannot be further along than where it stopped.
    pub fn record(&mut self, route: &CanaryRoute, seen: &[(Stage, Seen)], now_ms: i64) {
        self.looked_at_ms = now_ms;
        for i in 0..self.stages.len() {
            let stage = self.stages[i].0;
            if self.stages[i].1.resolved() {
                continue;
            }
            let Some((_, s)) = seen.iter().find(|(st, _)| *st == stage) else {
                continue;
            };
            let deadline = self.deadline_ms(route, stage);
            self.stages[i].1 = advance(s.clone(), deadline, now_ms);
        }
        if let Some(i) = self
            .stages
            .iter()
            .position(|(_, s)| matches!(s, StageState::Missing | StageState::Inconclusive))
        {
            let state = self.stages[i].1.clone();
            for later in &mut self.stages[i + 1..] {
                later.1 = state.clone();
            }
        }
    }

    /// What became of it.
    pub fn outcome(&self) -> Outcome {
        for (stage, state) in &self.stages {
            match state {
                StageState::Delivered { .. } => {}
                StageState::Waiting => return Outcome::Pending,
                other => return Outcome::Stopped(*stage, other.clone()),
            }
        }
        Outcome::Delivered
    }

    /// The scheduling view of it.
    pub fn in_flight(&self, route: &CanaryRoute) -> InFlight {
        InFlight {
            sent_at_ms: self.canary.sent_at_ms,
            looked_at_ms: self.looked_at_ms,
            next_deadline_ms: {
                let own = match self.outcome() {
                    Outcome::Pending => self
                        .stages
                        .iter()
                        .filter(|(_, s)| !s.resolved())
                        .map(|(stage, _)| self.deadline_ms(route, *stage))
                        .min(),
                    _ => None,
                };
                // A path still waiting is looked for until its own deadline.
                let paths = self
                    .paths_waiting()
                    .next()
                    .map(|_| route.deadline_ms(Stage::Raw, self.canary.sent_at_ms, None));
                own.into_iter().chain(paths).min()
            },
        }
    }
}
