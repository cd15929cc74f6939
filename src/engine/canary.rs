//! The engine's canary steps: a canary into the pipeline's own canary group and one into each
//! remote source's (written with that account's clients, see [`Places`]), all looked for in the
//! pipeline's bucket. A remote path whose canary cannot be sent (no role for its account, a role
//! refused, a write refused there) fails alone, with the cause: the other paths still prove
//! themselves.

use super::Engine;
use crate::aws::{AwsError, Places};
use crate::delivery::canary::Canary;
use crate::delivery::paths::PathTracked;
use crate::delivery::progress::{CanaryRoute, Tracked};
use crate::delivery_io::{self, search::DEFAULT_BUDGET};

impl Engine {
    /// The places of `route`'s remote paths for `namespace`'s pipeline in `region`.
    async fn path_places(
        &self,
        namespace: &str,
        region: &str,
        route: &CanaryRoute,
    ) -> Result<Places, AwsError> {
        let home = self.aws_for(namespace).account_id_in(region).await?;
        let accounts = route.paths.iter().map(|p| p.place.account_id.as_str());
        Ok(self.places_at(namespace, &home, accounts))
    }

    /// Sends a new canary along `route` (in `namespace`'s account and `region`), and one along
    /// each remote path (in its account and region), and looks for them at once. Only the own
    /// canary's failure fails the step; a path's is recorded on that path.
    pub async fn send_canary(
        &self,
        namespace: &str,
        region: &str,
        route: &CanaryRoute,
        canary: Canary,
        now_ms: i64,
    ) -> Result<Tracked, AwsError> {
        let clients = self.clients(namespace, region);
        delivery_io::canary::send(&clients, route, &canary).await?;
        let mut tracked = Tracked::new(route, canary);
        if !tracked.paths.is_empty() {
            let places = self.path_places(namespace, region, route).await?;
            let paths = tracked.paths.clone();
            for p in &paths {
                if let Err(e) = send_path(&places, route, p).await {
                    tracing::warn!(path = %p.path.name(), error = %e, "the path's canary could not be sent");
                    tracked.path_not_sent(&p.path.key(), e.to_string());
                }
            }
        }
        delivery_io::canary::advance(&clients, route, &mut tracked, now_ms, DEFAULT_BUDGET).await?;
        Ok(tracked)
    }

    /// Looks for a tracked canary at its waiting stages, and for each waiting path's.
    pub async fn look_for_canary(
        &self,
        namespace: &str,
        region: &str,
        route: &CanaryRoute,
        tracked: &mut Tracked,
        now_ms: i64,
    ) -> Result<(), AwsError> {
        let clients = self.clients(namespace, region);
        delivery_io::canary::advance(&clients, route, tracked, now_ms, DEFAULT_BUDGET).await
    }
}

/// Sends `p`'s canary into its group, with the clients of its account and region.
async fn send_path(places: &Places, route: &CanaryRoute, p: &PathTracked) -> Result<(), AwsError> {
    let place = &p.path.place;
    let source = places.clients_in(&place.account_id, &place.region)?;
    delivery_io::canary::send(&source, &route.for_path(&p.path), &p.canary).await
}
