//! The cutover from the legacy fluentd path: which stage is in effect for each route and for the
//! pipeline, and whether a requested move may take effect. Pure.

pub mod gate;
pub mod incoming;

use crate::spec::{CutoverStage, LogPipelineSpec};

/// The stages in effect: each route's, and the pipeline's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stages {
    /// One per `legacy.fluentd.routes[]`, in order.
    pub routes: Vec<CutoverStage>,
    /// The pipeline's: the lowest of the routes' when it has routes (its subscribers serve all
    /// of them), else its own.
    pub pipeline: CutoverStage,
}

impl Stages {
    /// The stages the spec asks for: each route's own, else the pipeline's.
    pub fn requested(spec: &LogPipelineSpec) -> Self {
        let pipeline = spec.cutover_stage();
        let routes = spec
            .legacy
            .iter()
            .flat_map(|l| &l.fluentd.routes)
            .map(|r| r.stage.unwrap_or(pipeline))
            .collect();
        Self::of(routes, pipeline)
    }

    /// `routes`, with the pipeline's stage derived from them (`own` when there are none).
    pub fn of(routes: Vec<CutoverStage>, own: CutoverStage) -> Self {
        let pipeline = routes.iter().copied().min().unwrap_or(own);
        Self { routes, pipeline }
    }
}
