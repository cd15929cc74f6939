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
