//! The paths a pipeline's canaries prove beyond its own canary group: one per remote source
//! (`spec.sources.remote`), from that source's canary group in its account and region through
//! the region's CloudWatch Logs destination into the pipeline's stream. Each canary step sends a
//! canary of its own into each path's group and looks for it under `raw/` (the transform after
//! it is the same for every path: the pipeline's own canary proves it), so a path that stops
//! delivering is named on its own. Pure, like [`super::progress`].

use super::canary::Canary;
use super::progress::{CanaryRoute, Seen, Stage, StageState, Tracked, advance};
use crate::arn::AwsTarget;

/// A remote source's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemotePath {
    /// The source account and region.
    pub place: AwsTarget,
    /// The path's canary log group there.
    pub log_group: String,
}

impl RemotePath {
    /// `<account>/<region>`.
    pub fn key(&self) -> String {
        self.place.to_string()
    }

    /// How people read it: `<account>/<region> → destination`.
    pub fn name(&self) -> String {
        format!("{} → destination", self.key())
    }
}

/// Where one path's canary stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathTracked {
    /// The path.
    pub path: RemotePath,
    /// Its canary (its own id; sent with the pipeline's own).
    pub canary: Canary,
    /// Under `raw/`.
    pub state: StageState,
}

impl PathTracked {
    /// From sending to storing, when delivered.
    pub fn latency_ms(&self) -> Option<i64> {
        match &self.state {
            StageState::Delivered { at_ms, .. } => Some(at_ms - self.canary.sent_at_ms),
            _ => None,
        }
    }

    /// `<account>/<region> → destination: could not send the canary: <cause>`, when its canary
    /// could not be sent.
    pub fn not_sent(&self) -> Option<String> {
        match &self.state {
            StageState::NotSent(cause) => Some(format!(
                "{}: could not send the canary: {cause}",
                self.path.name()
            )),
            _ => None,
        }
    }
}

/// The canary of `path` that goes with `own`: sent at the same time, with an id of its own
/// (derived, so that sending it twice is the same canary).
pub fn path_canary(own: &Canary, path: &RemotePath) -> Canary {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{}\n{}", own.id, path.key()));
    Canary {
        id: digest[..8].iter().map(|b| format!("{b:02x}")).collect(),
        pipeline: own.pipeline.clone(),
        sent_at_ms: own.sent_at_ms,
    }
}

impl CanaryRoute {
    /// The route of a remote path's canary: into its group, looked for under `raw/` only.
    pub fn for_path(&self, path: &RemotePath) -> CanaryRoute {
        CanaryRoute {
            log_group: path.log_group.clone(),
            processed_prefix: None,
            paths: Vec::new(),
            ..self.clone()
        }
    }
}

impl Tracked {
    /// The paths whose canary is not found yet and not overdue.
    pub fn paths_waiting(&self) -> impl Iterator<Item = &PathTracked> {
        self.paths.iter().filter(|p| !p.state.resolved())
    }

    /// The paths whose canary was not found by its deadline (or could not be told), or could
    /// not be sent.
    pub fn failing_paths(&self) -> Vec<&PathTracked> {
        self.paths
            .iter()
            .filter(|p| {
                matches!(
                    p.state,
                    StageState::Missing | StageState::Inconclusive | StageState::NotSent(_)
                )
            })
            .collect()
    }

    /// Records that the canary of the path `key` could not be sent (`cause`): that path alone
    /// fails; the other paths' canaries are sent and looked for as ever.
    pub fn path_not_sent(&mut self, key: &str, cause: String) {
        if let Some(p) = self.paths.iter_mut().find(|p| p.path.key() == key) {
            p.state = StageState::NotSent(cause);
        }
    }

    /// Records a search at `now_ms` for the canary of the path `key` that saw `seen`.
    pub fn record_path(&mut self, route: &CanaryRoute, key: &str, seen: Seen, now_ms: i64) {
        let deadline = route.deadline_ms(Stage::Raw, self.canary.sent_at_ms, None);
        if let Some(p) = self.paths.iter_mut().find(|p| p.path.key() == key)
            && !p.state.resolved()
        {
            p.state = advance(seen, deadline, now_ms);
        }
    }

    /// Whether the own stages and every path are settled.
    pub fn settled(&self) -> bool {
        self.to_look().is_empty() && self.paths_waiting().next().is_none()
    }
}
