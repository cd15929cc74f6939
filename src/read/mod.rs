//! Reading AWS (I/O, reads only): what AWS holds for one pipeline, into an [`Observed`] value,
//! the plain values of [`crate::observed`].
//!
//! Independent reads run concurrently; lists are paginated everywhere; "not found" is an absent
//! resource, never an error. Only the fields pitagora manages are mapped, by the service
//! mappings in [`crate::aws`]. One module per resource read: [`stack`], [`log_groups`] (the
//! error log group, the source groups and their filters), [`stream`], [`bucket`], [`topic`],
//! [`roles`] and [`permissions`] (the stack's own resources, read live), [`remote`] (the
//! destinations and the remote sources, in their accounts and regions), [`discover`] (the
//! places dropped from the remote sources, found live when no hints name them).

pub mod batch;
mod bucket;
mod discover;
pub mod events;
mod log_groups;
mod permissions;
mod remote;
mod roles;
mod stack;
mod stream;
mod topic;

pub use batch::{Batch, Batches};
pub use bucket::holds_objects;
pub use discover::Discovery;
pub use log_groups::{all_lookups, filters_of};
pub use remote::source as remote_source;

use crate::aws::{AwsError, Places, RegionClients};
use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::ResourceKind;

/// Which log groups to read beyond the pipeline's sources.
#[derive(Clone, Debug, Default)]
pub struct Hints {
    /// Log groups that carried this pipeline's filter before (from status), so filters on groups
    /// that stopped being sources are found and removed.
    pub previous_log_groups: Vec<String>,
    /// The remote filters applied before, as plans name them (`<account>/<region>:<group>`),
    /// so a filter in an account or region dropped from `spec.sources.remote` (or on a group
    /// dropped from an entry) is found and removed.
    pub previous_remote_filters: Vec<String>,
    /// The pipeline's destinations before (their names, `<stream>-<region>`), so one whose
    /// source region was dropped is found and removed.
    pub previous_destinations: Vec<String>,
    /// The remote sources' canary log groups before, as plans name them
    /// (`<account>/<region>:<group>`), so the one of a place dropped from
    /// `spec.sources.remote` is found and removed.
    pub previous_remote_canary_groups: Vec<String>,
    /// Where to look live for the places dropped from `spec.sources.remote`, for a caller that
    /// keeps no record of them (the CLI; see [`Discovery`]); `None`: the lists above are all.
    pub discover: Option<Discovery>,
    /// Read every resource directly, none from a shared batch: the check follows a change told
    /// by an event, which a batch taken before the change may not show.
    pub direct: bool,
}

impl Hints {
    /// The hints of what a pipeline held at its last check: each resource's kind and name as its
    /// status lists them.
    pub fn from_resources<'a>(held: impl IntoIterator<Item = (ResourceKind, &'a str)>) -> Self {
        let mut hints = Self::default();
        for (kind, name) in held {
            let list = match kind {
                ResourceKind::SubscriptionFilter => &mut hints.previous_log_groups,
                ResourceKind::RemoteSubscriptionFilter => &mut hints.previous_remote_filters,
                ResourceKind::Destination => &mut hints.previous_destinations,
                ResourceKind::RemoteCanaryLogGroup => &mut hints.previous_remote_canary_groups,
                _ => continue,
            };
            list.push(name.to_owned());
        }
        hints
    }
}

/// `batch` when it serves `d`'s pipeline (see [`Batch::serves`]) and the check may use shared
/// reads (not [`Hints::direct`]), with `d`'s lookups announced before any is made: the canary
/// group under the pipeline's first prefix is then served by that prefix's walk instead of
/// walking alone (one `DescribeLogGroups` a check).
fn served<'b>(batch: Option<&'b Batch>, d: &Desired, hints: &Hints) -> Option<&'b Batch> {
    let batch = batch.filter(|b| !hints.direct && b.serves(&d.stack.name))?;
    batch.expect_prefixes(all_lookups(d, hints));
    Some(batch)
}

/// Reads the state of `desired`'s pipeline, through `batch`'s shared reads when given (and it
/// serves this pipeline); `c` are the clients of its region, `aws` reaches its remote sources'
/// accounts and regions.
pub async fn observed(
    aws: &Places,
    c: &RegionClients,
    d: &Desired,
    hints: &Hints,
    batch: Option<&Batch>,
) -> Result<Observed, AwsError> {
    let batch = served(batch, d, hints);
    let topic_arn = d.target.topic_arn(&d.names.topic);
    // Boxed: the SDK's futures are large, and nine of them side by side would not fit on a
    // thread's stack when polled in place (as `block_on` does).
    let canary = async {
        match &d.canary_log_group {
            Some(g) => log_groups::owned(c, batch, g).await,
            None => Ok(None),
        }
    };
    let (
        stack,
        error_log_group,
        canary_log_group,
        stream,
        sources,
        bucket,
        topic,
        roles,
        functions,
    ) = tokio::try_join!(
        Box::pin(stack::read(c, batch, &d.stack.name, &d.stack.template)),
        Box::pin(log_groups::owned(c, batch, &d.error_log_group)),
        Box::pin(canary),
        Box::pin(stream::read(c, batch, &d.stream.name)),
        Box::pin(log_groups::sources(c, batch, d, hints)),
        Box::pin(bucket::read(c, &d.names.bucket, &d.held.bucket_access)),
        Box::pin(topic::read(c, d, &topic_arn)),
        Box::pin(roles::read(c, d)),
        Box::pin(permissions::read(c, d)),
    )?;
    let mut topic = topic;
    if let Some(t) = topic.as_mut()
        && !holds_topic(stack.as_ref())
    {
        t.tags = Some(topic::tags(c, &topic_arn).await?);
    }
    let mut bucket = bucket;
    if let Some(b) = bucket.as_mut()
        && holds_no_bucket(stack.as_ref())
    {
        b.tags = bucket::tags(c, &d.names.bucket).await?;
    }
    let remote = if remote::none(d, hints) {
        remote::Remote::default()
    } else {
        Box::pin(remote::read(aws, d, hints)).await?
    };
    // A group holding more filters than the known limit proves AWS allows that many.
    let known = c.filter_limits.known();
    let filter_limit = known.clone().raised_by(&sources.filters);
    if filter_limit != known {
        c.filter_limits.learn(filter_limit.clone());
    }
    Ok(Observed {
        filter_limit,
        stack,
        error_log_group,
        canary_log_group,
        route_log_groups: sources.routes,
        stream,
        log_groups: sources.filters,
        destinations: remote.destinations,
        remote: remote.sources,
        remote_canary_log_groups: remote.canary_groups,
        bucket,
        topic,
        roles,
        functions,
    })
}

/// Whether the stack holds the fan-out topic (its template declares it and it was not deleted):
/// otherwise a topic of that name is someone's until its tags say it is the pipeline's.
fn holds_topic(stack: Option<&crate::observed::ObservedStack>) -> bool {
    stack.is_some_and(|s| {
        s.status != "DELETE_COMPLETE"
            && s.template
                .as_ref()
                .is_some_and(|t| t["Resources"].get("Topic").is_some())
    })
}

/// Whether the pipeline's stack holds no bucket: it is absent, or its creation failed and it
/// must be recreated (the planner's `StackState::Recreate`). A bucket of the pipeline's name
/// is then either one a deleted stack retained or someone else's, which its tags tell apart.
fn holds_no_bucket(stack: Option<&crate::observed::ObservedStack>) -> bool {
    stack.is_none_or(|s| {
        matches!(
            s.status.as_str(),
            "DELETE_COMPLETE" | "ROLLBACK_COMPLETE" | "REVIEW_IN_PROGRESS"
        )
    })
}

/// `Ok(None)` for "not found".
fn absent_if_not_found<T>(r: Result<T, AwsError>) -> Result<Option<T>, AwsError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
