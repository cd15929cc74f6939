//! Changes as events, the I/O: each account and region's rule and queue set up and kept as
//! declared (read, planned, applied, read back), the queue drained, and pitagora's own
//! principals asked of STS. What the messages mean is [`crate::events`]'s.

use super::{Engine, EngineError};
use crate::arn::AwsTarget;
use crate::aws::{Aws, AwsError, RegionClients};
use crate::events::{EventsSpec, Own};
use crate::observed::ObservedEvents;
use crate::plan::events::{self as plan_events, EventsDrift};
use aws_sdk_sqs::types::DeleteMessageBatchRequestEntry;
use std::sync::Arc;

/// SQS's largest batch (ReceiveMessage, DeleteMessageBatch).
pub const SQS_BATCH: i32 = 10;
/// The session pitagora's events reads use in an account it assumes a role in.
const SESSION: &str = "pitagora-events";

/// One account and region's queue, ready to drain.
#[derive(Clone)]
pub struct EventsQueue {
    /// Where it is.
    pub place: AwsTarget,
    /// Its URL.
    pub url: String,
    clients: Arc<RegionClients>,
}

/// One message taken from a queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Received {
    /// The body (an EventBridge event).
    pub body: String,
    /// What deletes it.
    pub receipt: String,
}

/// What setting up one account and region did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventsSetUp {
    /// The differences found (none when it was as declared).
    pub drift: Vec<EventsDrift>,
    /// The writes made, described.
    pub written: Vec<String>,
}

impl Engine {
    /// The access of `account`: the base credentials' own account, or the accounts file's role
    /// there; `None` for an account nobody gave credentials for.
    async fn account_access(&self, account: &str) -> Result<Option<Arc<Aws>>, AwsError> {
        if self.aws.account_id().await? == account {
            return Ok(Some(self.aws.clone()));
        }
        let role = self.accounts.as_ref().and_then(|a| a.role_of(account));
        Ok(role.map(|r| self.aws.assume(r, SESSION)))
    }

    async fn events_clients(&self, place: &AwsTarget) -> Result<Arc<RegionClients>, EngineError> {
        match self.account_access(&place.account_id).await? {
            Some(aws) => Ok(aws.region(&place.region)),
            None => Err(AwsError::NoRole {
                account: place.account_id.clone(),
            }
            .into()),
        }
    }

    /// Sets up the rule and queue of `place`, or corrects them, and reads them back; with
    /// `report_only`, only says what differs.
    pub async fn set_up_events(
        &self,
        place: &AwsTarget,
        report_only: bool,
    ) -> Result<(EventsSetUp, Option<EventsQueue>), EngineError> {
        let c = self.events_clients(place).await?;
        let spec = EventsSpec::of(place);
        let observed = crate::read::events::read(&c, &spec).await?;
        let plan = plan_events::plan(&spec, &observed)?;
        let mut outcome = EventsSetUp {
            drift: plan.drift.clone(),
            written: Vec::new(),
        };
        if report_only || plan.steps.is_empty() {
            let queue = queue(&observed, place, &c);
            return Ok((outcome, queue));
        }
        let url = observed.queue.as_ref().map(|q| q.url.clone());
        outcome.written = crate::apply::events::execute(&c, &spec, url, &plan.steps).await?;
        let after = crate::read::events::read(&c, &spec).await?;
        let left = plan_events::plan(&spec, &after)?;
        if !left.steps.is_empty() {
            let fields: Vec<String> = left
                .drift
                .iter()
                .map(|d| format!("{} {}", d.resource, d.field))
                .collect();
            return Err(AwsError::Rejected {
                operation: "events set-up".into(),
                code: "NotConverged".into(),
                message: format!(
                    "{place}: still differs after writing: {}",
                    fields.join(", ")
                ),
            }
            .into());
        }
        Ok((outcome, queue(&after, place, &c)))
    }

    /// pitagora's own principals in `accounts` (asked of STS in `region`), with each account's
    /// CloudFormation service role.
    pub async fn own_principals<'a>(
        &self,
        accounts: impl IntoIterator<Item = &'a str>,
        region: &str,
    ) -> Result<Own, EngineError> {
        let mut own = Own::default();
        for account in accounts {
            own = own.with_stack_role(account);
            if let Some(aws) = self.account_access(account).await? {
                own = own.with_caller(&aws.caller_arn(region).await?);
            }
        }
        Ok(own)
    }
}

fn queue(o: &ObservedEvents, place: &AwsTarget, c: &Arc<RegionClients>) -> Option<EventsQueue> {
    o.queue.as_ref().map(|q| EventsQueue {
        place: place.clone(),
        url: q.url.clone(),
        clients: c.clone(),
    })
}

impl EventsQueue {
    /// The messages waiting, up to `max`: waits up to `wait_s` seconds for the first (a long
    /// poll), then takes what is there without waiting, batch after batch, so a burst is taken
    /// whole and its changes coalesce.
    pub async fn drain(&self, wait_s: i32, max: usize) -> Result<Vec<Received>, AwsError> {
        let c = &self.clients;
        let mut out = Vec::new();
        let mut wait = wait_s;
        while out.len() < max {
            let got = c
                .send("SQS.ReceiveMessage", || {
                    c.sqs
                        .receive_message()
                        .queue_url(&self.url)
                        .max_number_of_messages(SQS_BATCH)
                        .wait_time_seconds(wait)
                        .send()
                })
                .await?;
            let messages = got.messages();
            out.extend(messages.iter().filter_map(|m| {
                Some(Received {
                    body: m.body()?.to_owned(),
                    receipt: m.receipt_handle()?.to_owned(),
                })
            }));
            if messages.len() < SQS_BATCH as usize {
                break;
            }
            wait = 0;
        }
        Ok(out)
    }

    /// Deletes messages once their changes are in the inbox.
    pub async fn delete(&self, receipts: &[String]) -> Result<(), AwsError> {
        let c = &self.clients;
        for chunk in receipts.chunks(SQS_BATCH as usize) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .ok()
                })
                .collect();
            c.send("SQS.DeleteMessageBatch", || {
                c.sqs
                    .delete_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries.clone()))
                    .send()
            })
            .await?;
        }
        Ok(())
    }
}
