//! Changes that arrive as events, the pure side. CloudTrail publishes every management call to
//! EventBridge on the default bus of the region it was made in (IAM's in `us-east-1`); a rule per
//! account and region pitagora manages sends the calls that can change a pipeline's resources to
//! an SQS queue ([`rule`]). Each message is read into a [`Change`] ([`cloudtrail`]), mapped to
//! the pipelines whose resources it names ([`index`]), and coalesced into at most one pending
//! check per pipeline ([`inbox`]). The queue's I/O is in `aws` and the controller.

pub mod cloudtrail;
pub mod inbox;
pub mod index;
pub mod rule;
pub mod watched;

pub use cloudtrail::{Change, Touched, parse};
pub use inbox::{Inbox, Wake};
pub use index::{Index, Own};
pub use rule::{EVENTS_NAME, EventsSpec};

use crate::names::PipelineId;

/// What one message came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Routed {
    /// Not a change to look at (the cause's label).
    Skipped(&'static str),
    /// pitagora's own write: its check is the one that made it.
    Own,
    /// A change to no pipeline's resources: dropped without an AWS call.
    Nobody,
    /// The pipelines it concerns, each with what offering it did.
    Offered(Vec<(PipelineId, inbox::Offer)>),
}

impl Routed {
    /// The stable label of the outcome (metrics): the skip's cause, `own`, `nobody`, or the
    /// strongest offer (`woke` when any pipeline's check is now pending).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Skipped(label) => label,
            Self::Own => "own",
            Self::Nobody => "nobody",
            Self::Offered(offers) => {
                let has = |o: inbox::Offer| offers.iter().any(|(_, x)| *x == o);
                if has(inbox::Offer::Woke) {
                    "woke"
                } else if has(inbox::Offer::Joined) {
                    "joined"
                } else if has(inbox::Offer::Seen) {
                    "seen"
                } else {
                    "again"
                }
            }
        }
    }

    /// The pipelines whose check this message made pending.
    pub fn woken(&self) -> impl Iterator<Item = &PipelineId> {
        let offers = match self {
            Self::Offered(offers) => offers.as_slice(),
            _ => &[],
        };
        offers
            .iter()
            .filter(|(_, o)| *o == inbox::Offer::Woke)
            .map(|(id, _)| id)
    }
}

/// Routes one message body: read, recognised as pitagora's own or as nobody's, else offered to
/// every pipeline it concerns.
pub fn route(body: &str, index: &Index, own: &Own, inbox: &mut Inbox) -> Routed {
    let change = match parse(body) {
        Ok(c) => c,
        Err(skip) => return Routed::Skipped(skip.label()),
    };
    if own.made(&change.actor) {
        return Routed::Own;
    }
    let concerned = index.concerned(&change);
    if concerned.is_empty() {
        return Routed::Nobody;
    }
    Routed::Offered(
        concerned
            .into_iter()
            .map(|id| {
                let offer = inbox.offer(&id, &change);
                (id, offer)
            })
            .collect(),
    )
}
