//! The plan: desired × observed → ordered actions, each with the resource, the differing fields
//! and a reason. Pure. The same value drives correction (`apply`), the CI drift report and the
//! controller's events and status.
//!
//! Rules the plan keeps:
//! - **what a plan shows is exactly what apply writes**: every write carries the declared value
//!   only for the fields its changes name; a field `drift.ignore` accepts keeps the value AWS
//!   holds (each planner takes it from the observed state, [`diff::keep`] for documents), so a
//!   write made for another reason never reverts it silently;
//! - everything pitagora declares is compared live, the stack's own resources included (the
//!   bucket's access settings and policy, the roles, the topic policy, the Lambda permissions),
//!   not only the template CloudFormation stores;
//! - converged state plans nothing: values are compared in canonical form (each kind's in its
//!   own module, the shared ones in [`normalize`]);
//! - one out-of-band difference yields the one action that fixes it;
//! - nothing this pipeline does not own is ever updated or deleted: ownership is the
//!   `pitagora.dev/pipeline` tag, the filter name, the notification and lifecycle ids, and the
//!   topic (which only this pipeline publishes to); what would have to be touched to proceed
//!   becomes a [`Op::Conflict`] instead, with its [`ConflictKind`];
//! - actions are ordered by dependency: removals first, in reverse (filters, remote filters →
//!   destinations, subscriptions → lifecycle, notifications → stream → error log group →
//!   stack), then creations and updates forward (stack → its resources' live settings → error
//!   log group → stream → destinations → notifications, lifecycle, subscriptions → filters,
//!   remote filters).
//!
//! This module holds the orchestration ([`plan`]: one planner per resource kind, in dependency
//! order) and the ordering of the result; each resource kind has its own module, holding how it
//! is planned, its canonical form and its field comparison; [`diff`] holds the generic comparison
//! pieces, and [`plan_delete`] plans the removal of them all.

mod action;
mod bucket;
mod bucket_access;
mod bucket_policy;
mod conflict;
mod delete;
mod destinations;
pub mod diff;
pub mod events;
mod filters;
pub mod fluentd_key;
pub mod guard;
pub mod ignore;
mod lifecycle;
pub mod normalize;
mod notifications;
mod owned_log_groups;
mod ownership;
mod permissions;
mod readback;
mod remote_canary;
mod remote_filters;
mod roles;
mod stack;
mod stream;
mod subscriptions;
mod topic_encryption;
mod topic_policy;

pub use action::{Action, Change, ClusterStep, Op, Pending, Plan, RoleUpdate, Step, Target};
pub use bucket_policy::merge as merge_bucket_policy;
pub use conflict::ConflictKind;
pub use delete::plan_delete;
pub use filters::occupants as filter_occupants;
pub use ownership::route_group_created_for;
pub use permissions::find as find_permission;
pub use readback::{Readback, Remaining, read_back};

use crate::desired::Desired;
use crate::observed::Observed;
use crate::resources::ResourceKind;
use stack::held;

/// A read-only comparison of AWS with a spec.
#[derive(Debug, Clone)]
pub struct Check {
    /// The desired state.
    pub desired: Desired,
    /// What AWS holds.
    pub observed: Observed,
    /// What would bring AWS to the desired state.
    pub plan: Plan,
}

/// Plans the convergence of `observed` to `desired`.
pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    let mut b = Builder::new(desired);
    stack::plan(&mut b, desired, observed);
    if stack::orphaned_bucket(observed) || stack::foreign_topic(desired, observed).is_some() {
        // Everything else hangs off the stack's roles, topic and permissions: until a human
        // restores the stack (or names another topic), acting on it could only fail, build half
        // a pipeline, or change someone else's topic.
        return b.finish(true);
    }
    // The stack's own resources, read live: what CloudFormation does not see changing.
    bucket_access::plan(&mut b, desired, observed);
    bucket_policy::plan(&mut b, desired, observed);
    roles::plan(&mut b, desired, observed);
    topic_policy::plan(&mut b, desired, observed);
    topic_encryption::plan(&mut b, desired, observed);
    permissions::plan(&mut b, desired, observed);
    owned_log_groups::plan(&mut b, desired, observed);
    stream::plan(&mut b, desired, observed);
    let stack_acts = b.stack_acts();
    let bucket = held(observed, "Bucket", observed.bucket.as_ref(), stack_acts);
    notifications::plan(&mut b, desired, &bucket);
    lifecycle::plan(&mut b, desired, &bucket);
    let topic = held(observed, "Topic", observed.topic.as_ref(), stack_acts);
    subscriptions::plan(&mut b, desired, &topic);
    filters::plan(&mut b, desired, observed);
    // The remote sources: each region's destination, then the filters delivering through it.
    let stream_foreign =
        (observed.stream.as_ref()).is_some_and(|s| ownership::foreign(desired, &s.tags));
    destinations::plan(&mut b, desired, observed, stream_foreign);
    remote_canary::plan(&mut b, desired, observed);
    remote_filters::plan(&mut b, desired, observed, stream_foreign);
    if let Some(reason) = filters::no_free_source(desired, observed) {
        // A stack, a stream and a canary with no source feeding them is a pipeline that sits
        // delivering nothing: refuse it whole, writing nothing, until a slot frees.
        b.actions.retain(|a| a.op == Op::Conflict);
        let name = &desired.stack.name;
        b.conflict(
            ResourceKind::Stack,
            name,
            ConflictKind::NoFreeFilterSlot,
            reason,
        );
    }
    b.finish(true)
}

/// Collects a plan's actions and pending resources while the planners run.
struct Builder<'a> {
    desired: &'a Desired,
    actions: Vec<Action>,
    pending: Vec<Pending>,
    accepted: Vec<ignore::Ignored>,
    /// Fields this plan's stack update writes from the template: no ignore rule keeps them.
    overwritten: Vec<ignore::Overwritten>,
}

impl<'a> Builder<'a> {
    fn new(desired: &'a Desired) -> Self {
        Builder {
            desired,
            actions: Vec::new(),
            pending: Vec::new(),
            accepted: Vec::new(),
            overwritten: Vec::new(),
        }
    }

    fn push(
        &mut self,
        op: Op,
        kind: ResourceKind,
        name: &str,
        changes: Vec<Change>,
        reason: impl Into<String>,
        step: Step,
    ) {
        self.actions.push(Action {
            op,
            kind,
            name: name.to_owned(),
            changes,
            reason: reason.into(),
            step: Target::Aws(step),
        });
    }

    fn conflict(
        &mut self,
        kind: ResourceKind,
        name: &str,
        cause: ConflictKind,
        reason: impl Into<String>,
    ) {
        let step = Step::Conflict(cause);
        self.push(Op::Conflict, kind, name, Vec::new(), reason, step);
    }

    /// Lists a difference pitagora accepts by design (another owner's statement), as an
    /// ignored item.
    fn accept(&mut self, item: ignore::Ignored) {
        self.accepted.push(item);
    }

    fn pending(&mut self, kind: ResourceKind, name: &str, reason: impl Into<String>) {
        self.pending.push(Pending {
            kind,
            name: name.to_owned(),
            reason: reason.into(),
        });
    }

    /// Whether `drift.ignore` accepts a difference at `field` of the resource `kind` `name`.
    fn ignores(
        &self,
        kind: ResourceKind,
        name: &str,
        field: &str,
        spec_field: Option<&str>,
    ) -> bool {
        let overwritten = self.overwritten.iter().any(|o| o.covers(kind, name, field));
        !overwritten && ignore::ignores(&self.desired.ignore, kind, name, field, spec_field)
    }

    /// Records that the stack update writes `field` (and everything under it) of the resource
    /// `kind` `name` from the template, so that its difference is shown, whatever the rules.
    fn overwrites(&mut self, kind: ResourceKind, name: &str, field: &str) {
        self.overwritten.push(ignore::Overwritten {
            kind,
            name: name.to_owned(),
            field: field.to_owned(),
        });
    }

    /// Whether the plan so far creates or updates the stack, which brings what it does not hold
    /// yet.
    fn stack_acts(&self) -> bool {
        self.actions
            .iter()
            .any(|a| a.kind == ResourceKind::Stack && matches!(a.op, Op::Create | Op::Update))
    }

    /// The plan, ordered; `ignoring` applies `drift.ignore` (never to deletions of the pipeline).
    fn finish(mut self, ignoring: bool) -> Plan {
        // Stable: within a phase, actions keep the order they were planned in.
        self.actions.sort_by_key(|a| phase(a.op, a.kind));
        let mut plan = Plan {
            pipeline: self.desired.id.clone(),
            report_only: self.desired.report_only,
            actions: self.actions,
            pending: self.pending,
            ignored: Vec::new(),
        };
        if ignoring {
            plan.ignored = ignore::apply(&mut plan, &self.desired.ignore, &self.overwritten);
        }
        plan.ignored.extend(self.accepted);
        plan
    }
}

/// Execution order: removals in reverse dependency order, then the rest forward (each kind's
/// step is its own, [`ResourceKind::removal_step`] and [`ResourceKind::apply_step`]).
fn phase(op: Op, kind: ResourceKind) -> (bool, u8) {
    match op {
        Op::Delete => (false, kind.removal_step()),
        _ => (true, kind.apply_step()),
    }
}
