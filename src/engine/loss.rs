//! What tells that a pipeline's logs were lost, read where each part lives: the stream's
//! metrics, its own groups' subscription metrics and the error objects in its account and
//! region; each remote source's subscription metrics in that source's account and region (where
//! CloudWatch Logs runs the filter and publishes them), with the credentials [`Places`] gives
//! there. Each part is read on its own, so one failing (a metrics endpoint that does not answer,
//! a source account whose role is missing or refused) hides none of the others, and its error
//! names the place. The completeness audit reads the same places ([`Engine::places_for`]).

use super::Engine;
use crate::arn::AwsTarget;
use crate::aws::{AwsError, Places, RegionClients};
use crate::delivery::signals::{self, MetricQuery, Results, Signal, Sources};
use crate::delivery_io;
use crate::desired::Desired;
use crate::read::Hints;
use std::sync::Arc;

/// What a read of the loss signals found, and why parts of it could not be read.
#[derive(Clone, Debug, Default)]
pub struct LossRead {
    /// The signals read.
    pub signals: Vec<Signal>,
    /// Each part that could not be read: the pipeline's own first, then each remote source's
    /// in spec order.
    pub errors: Vec<LossReadError>,
}

/// Why one part of the loss signals could not be read, and where. Variant names are stable.
#[derive(Clone, Debug, thiserror::Error)]
pub enum LossReadError {
    /// In the pipeline's own account and region.
    #[error(transparent)]
    Own(AwsError),
    /// In a remote source's account and region.
    #[error("{place}: {source}")]
    Remote {
        /// `<account>/<region>`.
        place: String,
        /// What failed there.
        source: AwsError,
    },
}

impl LossReadError {
    /// What AWS (or the missing credentials) said.
    pub fn aws(&self) -> &AwsError {
        match self {
            LossReadError::Own(e) | LossReadError::Remote { source: e, .. } => e,
        }
    }

    /// The remote source's `<account>/<region>`; `None` for the pipeline's own.
    pub fn place(&self) -> Option<&str> {
        match self {
            LossReadError::Own(_) => None,
            LossReadError::Remote { place, .. } => Some(place),
        }
    }

    /// Stable label: the AWS error's.
    pub fn label(&self) -> &'static str {
        self.aws().label()
    }
}

impl Engine {
    /// Where the pipeline of `desired` acts: its own account, and each remote source's account
    /// through the accounts file's role there (an account without one answers
    /// [`AwsError::NoRole`] when asked for).
    pub fn places_for(&self, desired: &Desired) -> Places {
        self.places(desired, &Hints::default())
    }

    /// The loss signals of `desired`: the delivery metrics of its stream and of `sources` (each
    /// place's in that place), and the objects under its error prefix since `since_ms`.
    pub async fn loss_signals(
        &self,
        desired: &Desired,
        sources: &Sources,
        since_ms: i64,
        now_ms: i64,
    ) -> LossRead {
        let places = self.places_for(desired);
        let own = async {
            (self.metric_signals(desired, &sources.home, now_ms).await).map_err(LossReadError::Own)
        };
        let remote = (sources.remote.iter())
            .map(|(place, groups)| self.place_signals(&places, desired, place, groups, now_ms));
        let objects = async {
            (self.error_object_signals(desired, since_ms).await).map_err(LossReadError::Own)
        };
        let (own, remote, objects) =
            futures::join!(own, futures::future::join_all(remote), objects);
        let mut read = LossRead::default();
        for part in std::iter::once(own).chain(remote).chain([objects]) {
            match part {
                Ok(found) => read.signals.extend(found),
                Err(e) => read.errors.push(e),
            }
        }
        read
    }

    /// What `desired`'s delivery metrics in its own account and region over the last
    /// [`signals::WINDOW_MS`] say, for `source_groups` (the groups there carrying its filter)
    /// and the stream: one GetMetricData call, shared with other pipelines' reads when reads
    /// are batched.
    pub async fn metric_signals(
        &self,
        desired: &Desired,
        source_groups: &[String],
        now_ms: i64,
    ) -> Result<Vec<Signal>, AwsError> {
        let clients = self.clients(&desired.id.namespace, &desired.target.region);
        let p = desired.signal_pipeline();
        let queries = signals::queries(&p, source_groups);
        let results = self.metrics(clients, &queries, now_ms).await?;
        Ok(signals::evaluate(&p, &queries, &results, now_ms))
    }

    /// What the subscription metrics of `groups` in the remote source's `place` say, each
    /// signal named with the place: read with that place's clients, in a call shared with the
    /// other reads of the same credentials and region.
    async fn place_signals(
        &self,
        places: &Places,
        desired: &Desired,
        place: &AwsTarget,
        groups: &[String],
        now_ms: i64,
    ) -> Result<Vec<Signal>, LossReadError> {
        let at = |source| LossReadError::Remote {
            place: place.to_string(),
            source,
        };
        let clients = (places.clients_in(&place.account_id, &place.region)).map_err(at)?;
        let p = desired.signal_pipeline();
        let queries = signals::group_queries(&p, groups);
        let results = self.metrics(clients, &queries, now_ms).await.map_err(at)?;
        let found = signals::evaluate(&p, &queries, &results, now_ms);
        Ok(signals::at_place(&place.to_string(), found))
    }

    /// The datapoints of `queries` over the window read at `now_ms`, shared with other reads of
    /// the same credentials and region when reads are batched.
    async fn metrics(
        &self,
        clients: Arc<RegionClients>,
        queries: &[MetricQuery],
        now_ms: i64,
    ) -> Result<Results, AwsError> {
        let (from_ms, to_ms) = signals::window(now_ms);
        match &self.metrics {
            Some(shared) => (shared.read(clients, queries.to_vec(), from_ms, to_ms)).await,
            None => delivery_io::signals::metrics(&clients, queries, from_ms, to_ms).await,
        }
    }

    /// One signal per error type among the objects stored under `desired`'s error prefix since
    /// `since_ms`.
    pub async fn error_object_signals(
        &self,
        desired: &Desired,
        since_ms: i64,
    ) -> Result<Vec<Signal>, AwsError> {
        let p = desired.signal_pipeline();
        // Without a static part the error prefix is the whole bucket: nothing to tell apart.
        if p.error_prefix.is_empty() {
            return Ok(Vec::new());
        }
        let clients = self.clients(&desired.id.namespace, &desired.target.region);
        let listed =
            delivery_io::signals::error_objects(&clients, p.bucket, p.error_prefix, since_ms)
                .await?;
        Ok(signals::error_objects(&p, &listed, since_ms))
    }
}
