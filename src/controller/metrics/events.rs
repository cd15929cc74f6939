//! The figures of changes that arrive as events (`--events`): each message's outcome, and each
//! account and region's set-up of its rule and queue.

use super::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

/// Labels of a message's outcome.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ChangeLabels {
    /// `woke`, `joined`, `seen`, `again`, `own`, `nobody`, or why it was skipped.
    pub outcome: String,
}

/// Labels of a set-up.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SetUpLabels {
    /// `<account>/<region>`.
    pub place: String,
    /// `ok`, or the error's label.
    pub outcome: String,
}

/// The families.
pub(super) struct Families {
    changes: Family<ChangeLabels, Counter>,
    set_up: Family<SetUpLabels, Counter>,
}

impl Families {
    pub(super) fn register(registry: &mut Registry) -> Self {
        let changes = Family::<ChangeLabels, Counter>::default();
        registry.register(
            "change_events",
            "Messages taken from the change-event queues, by what they came to",
            changes.clone(),
        );
        let set_up = Family::<SetUpLabels, Counter>::default();
        registry.register(
            "change_event_setups",
            "Set-ups of an account and region's change-event rule and queue, by outcome",
            set_up.clone(),
        );
        Self { changes, set_up }
    }
}

impl Metrics {
    /// One message taken from a queue came to `outcome` ([`crate::events::Routed::label`]).
    pub fn change_event(&self, outcome: &str) {
        self.events
            .changes
            .get_or_create(&ChangeLabels {
                outcome: outcome.to_owned(),
            })
            .inc();
    }

    /// `place`'s rule and queue were set up (`error`: not, with the error's label).
    pub fn events_set_up(&self, place: &str, error: Option<&str>) {
        self.events
            .set_up
            .get_or_create(&SetUpLabels {
                place: place.to_owned(),
                outcome: error.unwrap_or("ok").to_owned(),
            })
            .inc();
    }
}
