//! Reads shared by every pipeline checked in one region within a short time (a *batch*): one
//! paginated `DescribeStacks` walk for all of pitagora's stacks instead of one call per
//! pipeline, and one `DescribeLogGroups` walk per prefix shared by every pipeline whose lookups
//! it covers (an exact name is covered by any walked prefix it starts with), and one
//! `GetResources` walk for the tags of every log group and delivery stream carrying pitagora's
//! owner tag instead of one tag read per resource (a resource the walk did not list — it lost
//! that tag, or is new — has its tags read directly, so both ways see the same tags; but a
//! fluentd route's log group the walk did not list is its team's, whose tags no plan needs).
//!
//! A batch only ever serves reads that a per-pipeline observation would have made at the moment
//! the batch was taken, so both give the same plans (tests/aws/batch.rs). Three rules keep it
//! honest:
//! - it lives at most `max_age` ([`Batches`]; a routine check's, up to a fifth of a sweep), so
//!   nothing it says is older than that;
//! - a pipeline that wrote ([`Batch::written`]) reads directly for the rest of the batch, so
//!   it sees its own writes;
//! - a stack in a transition (`*_IN_PROGRESS`) is read directly, so waiting on it never waits
//!   on the batch.

use crate::aws::budget::{self, Class};
use crate::aws::cloudformation::{self as cfn};
use crate::aws::{AwsError, RegionClients};
use crate::aws::{logs, tagging};
use crate::names::{CANARY_LOG_GROUP_ROOT, ERROR_LOG_GROUP_PREFIX, NAME_PREFIX, OWNER_TAG};
use crate::observed::ObservedStack;
use crate::resources::Tags;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// A log group's name and retention, as listed.
pub(super) type ListedGroup = (String, Option<i32>);

/// A stack as the walk listed it: everything but the template, and the key of its template
/// version in the [`cfn::TemplateCache`], with the cache's ticket taken before the walk.
#[derive(Clone, Debug)]
pub(super) struct ListedStack {
    pub(super) observed: ObservedStack,
    pub(super) template_key: Option<String>,
    pub(super) ticket: cfn::Ticket,
}

type GroupCell = Arc<OnceCell<Arc<Vec<ListedGroup>>>>;

/// One batch of shared reads in one region.
#[derive(Debug)]
pub struct Batch {
    taken: Instant,
    stacks: OnceCell<Arc<HashMap<String, ListedStack>>>,
    /// Tags of pitagora's log groups and streams, by ARN ([`tagging::arn_key`]).
    tags: OnceCell<Arc<HashMap<String, Tags>>>,
    /// Walks by prefix; an entry exists from the moment a walk is expected or started.
    groups: Mutex<BTreeMap<String, GroupCell>>,
    /// Stacks of the pipelines that wrote since the batch was taken.
    written: Mutex<HashSet<String>>,
}

impl Batch {
    fn new() -> Self {
        let batch = Self {
            taken: Instant::now(),
            stacks: OnceCell::new(),
            tags: OnceCell::new(),
            groups: Mutex::default(),
            written: Mutex::default(),
        };
        // Every pipeline's error log group lives under one root, and so does the canary group of
        // every pipeline without prefixes: one walk each serves them all.
        batch.expect_prefixes([
            format!("{ERROR_LOG_GROUP_PREFIX}{NAME_PREFIX}"),
            CANARY_LOG_GROUP_ROOT.to_owned(),
        ]);
        batch
    }

    /// Announces log-group lookups that will come (prefixes or exact names), so that a lookup
    /// covered by another one's walk waits for it instead of walking on its own.
    /// Each check announces its own, so the cost is per lookup: a lookup already covered by an
    /// expected walk is found through its prefixes, not by comparing it with every other one.
    pub fn expect_prefixes<I: IntoIterator<Item = String>>(&self, lookups: I) {
        let mut groups = lock(&self.groups);
        let new: BTreeSet<String> = lookups
            .into_iter()
            .filter(|l| covering(&groups, l).is_none())
            .collect();
        for lookup in cover(&new) {
            groups.entry(lookup).or_default();
        }
    }

    /// Marks the pipeline whose stack is `stack` as having written: it reads directly from now on.
    pub fn written(&self, stack: &str) {
        lock(&self.written).insert(stack.to_owned());
    }

    /// Whether the pipeline whose stack is `stack` may be served from this batch.
    pub fn serves(&self, stack: &str) -> bool {
        !lock(&self.written).contains(stack)
    }

    /// The stack named `name` as listed: `Some(None)` when the walk did not list it (absent),
    /// `None` when it must be read directly (in a transition).
    pub(super) async fn stack(
        &self,
        c: &RegionClients,
        name: &str,
    ) -> Result<Option<Option<ListedStack>>, AwsError> {
        let stacks = self
            .stacks
            .get_or_try_init(|| async { walk_stacks(c).await.map(Arc::new) })
            .await?;
        Ok(match stacks.get(name) {
            Some(s) if s.observed.status.ends_with("_IN_PROGRESS") => None,
            Some(s) => Some(Some(s.clone())),
            None => Some(None),
        })
    }

    /// The tags of the log group or stream `arn` as the walk listed them; `None` when it did
    /// not list it (no owner tag): the caller reads them directly.
    pub(super) async fn tags(
        &self,
        c: &RegionClients,
        arn: &str,
    ) -> Result<Option<Tags>, AwsError> {
        let tagged = self
            .tags
            .get_or_try_init(|| async { walk_tagged(c).await.map(Arc::new) })
            .await?;
        Ok(tagged.get(tagging::arn_key(arn)).cloned())
    }

    /// Every log group whose name starts with `prefix`, from the walk that covers it.
    pub(super) async fn groups_with_prefix(
        &self,
        c: &RegionClients,
        prefix: &str,
    ) -> Result<Vec<ListedGroup>, AwsError> {
        let (walked, cell) = {
            let mut groups = lock(&self.groups);
            let covering = covering(&groups, prefix).map(|(p, cell)| (p.clone(), cell.clone()));
            covering.unwrap_or_else(|| {
                let cell = GroupCell::default();
                groups.insert(prefix.to_owned(), cell.clone());
                (prefix.to_owned(), cell)
            })
        };
        let listed = cell
            .get_or_try_init(|| async { walk_prefix(c, &walked).await.map(Arc::new) })
            .await?;
        Ok(listed
            .iter()
            .filter(|(g, _)| g.starts_with(prefix))
            .cloned()
            .collect())
    }
}

/// The walk of `groups` that covers `lookup`, the shortest: the lookup or one of its prefixes
/// as a key, found through the prefixes rather than by comparing with every key.
fn covering<'g, V>(groups: &'g BTreeMap<String, V>, lookup: &str) -> Option<(&'g String, &'g V)> {
    (0..=lookup.len())
        .filter(|&i| lookup.is_char_boundary(i))
        .find_map(|i| groups.get_key_value(&lookup[..i]))
}

/// The lookups that need a walk of their own: those not starting with another one.
pub fn cover(lookups: &BTreeSet<String>) -> BTreeSet<String> {
    lookups
        .iter()
        .filter(|l| !lookups.iter().any(|o| o != *l && l.starts_with(o.as_str())))
        .cloned()
        .collect()
}

/// Every log group whose name starts with `prefix`, with its retention, from one page walk.
pub(super) async fn walk_prefix(
    c: &RegionClients,
    prefix: &str,
) -> Result<Vec<ListedGroup>, AwsError> {
    let mut groups = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .send("CloudWatchLogs.DescribeLogGroups", || {
                c.logs
                    .describe_log_groups()
                    .log_group_name_prefix(prefix)
                    .set_next_token(token.clone())
                    .send()
            })
            .await?;
        groups.extend(out.log_groups().iter().filter_map(logs::group_from_sdk));
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(groups),
        }
    }
}

/// Every one of pitagora's stacks in the region (by name), from one paginated walk.
async fn walk_stacks(c: &RegionClients) -> Result<HashMap<String, ListedStack>, AwsError> {
    let mut stacks = HashMap::new();
    let mut token: Option<String> = None;
    let ticket = c.templates.ticket();
    loop {
        let out = c
            .send("CloudFormation.DescribeStacks", || {
                c.cfn.describe_stacks().set_next_token(token.clone()).send()
            })
            .await?;
        for s in out.stacks() {
            let Some(name) = s.stack_name().filter(|n| n.starts_with(NAME_PREFIX)) else {
                continue;
            };
            // The walk lists only live stacks; a deleted one is absent, as when read by name.
            if cfn::stack_status(s) == "DELETE_COMPLETE" {
                continue;
            }
            let listed = ListedStack {
                observed: cfn::observed_stack(s, None),
                template_key: cfn::TemplateCache::key(s),
                ticket,
            };
            stacks.insert(name.to_owned(), listed);
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(stacks),
        }
    }
}

/// The tags of every log group and stream in the region carrying pitagora's owner tag (by
/// ARN), from one paginated walk.
async fn walk_tagged(c: &RegionClients) -> Result<HashMap<String, Tags>, AwsError> {
    let mut tagged = HashMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .send("ResourceGroupsTaggingAPI.GetResources", || {
                tagging::tagged_page(c.tagging.get_resources(), OWNER_TAG, token.clone()).send()
            })
            .await?;
        tagged.extend(
            out.resource_tag_mapping_list()
                .iter()
                .filter_map(tagging::mapping_from_sdk),
        );
        match out.pagination_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => return Ok(tagged),
        }
    }
}

/// The current batches of each account and region (keyed `<account>/<region>`: pipelines of
/// different accounts never share reads), one per request class, renewed once too old.
///
/// Routine checks and checks someone waits for never share a batch. A routine batch may live
/// longer (see [`Batches::set_routine_age`]): a walk lists every pipeline's stacks, groups or
/// tags, so its pages grow with the pipelines, while the routine checks a batch serves are
/// bounded by the quota budget. Renewed every `max_age` (30 s), the walks at 1,000 pipelines
/// cost more `DescribeLogGroups` pages than the checks themselves, and bound the sweep. A
/// check someone waits for keeps the short lifetime: it must see recent changes.
#[derive(Debug)]
pub struct Batches {
    max_age: Duration,
    /// How long a routine batch lives, in milliseconds, when longer than `max_age`.
    routine_age_ms: AtomicU64,
    current: Mutex<HashMap<(String, Class), Arc<Batch>>>,
}

impl Batches {
    /// Batches that live at most `max_age`.
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            routine_age_ms: AtomicU64::new(0),
            current: Mutex::default(),
        }
    }

    /// Lets routine batches live `age` when that is longer than `max_age`. The controller sets
    /// it to a fifth of a sweep: each walk then comes five times a sweep whatever the number of
    /// pipelines, and a routine check's shared reads are at most a fifth of a sweep old.
    pub fn set_routine_age(&self, age: Duration) {
        let ms = u64::try_from(age.as_millis()).unwrap_or(u64::MAX);
        self.routine_age_ms.store(ms, Ordering::Relaxed);
    }

    /// How long a batch of `class` lives. A `max_age` of 0 (batching off) stays off.
    pub fn max_age(&self, class: Class) -> Duration {
        match class {
            Class::Priority => self.max_age,
            Class::Routine if self.max_age.is_zero() => self.max_age,
            Class::Routine => self.max_age.max(Duration::from_millis(
                self.routine_age_ms.load(Ordering::Relaxed),
            )),
        }
    }

    /// The batch of `place` (`<account>/<region>`) for the class of the request being made now
    /// ([`budget::class`]): the current one, or a new one when it is too old.
    pub fn current(&self, place: &str) -> Arc<Batch> {
        let class = budget::class();
        let max_age = self.max_age(class);
        let mut current = lock(&self.current);
        let key = (place.to_owned(), class);
        match current.get(&key) {
            Some(b) if b.taken.elapsed() < max_age => b.clone(),
            _ => {
                let batch = Arc::new(Batch::new());
                current.insert(key, batch.clone());
                batch
            }
        }
    }

    /// Marks the pipeline whose stack is `stack` as having written, in every batch of `place`:
    /// a routine check that follows a priority one's writes reads them directly too.
    pub fn written(&self, place: &str, stack: &str) {
        for ((p, _), b) in lock(&self.current).iter() {
            if p == place {
                b.written(stack);
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::cover;
    use std::collections::BTreeSet;

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_lookup_under_another_is_covered_by_its_walk() {
        assert_eq!(
            cover(&set(&[
                "/ecs/",
                "/ecs/orders",
                "/ecs/payments-canary",
                "/lambda/x"
            ])),
            set(&["/ecs/", "/lambda/x"])
        );
    }

    #[test]
    fn lookups_apart_each_walk() {
        assert_eq!(cover(&set(&["/a", "/b"])), set(&["/a", "/b"]));
    }
}
