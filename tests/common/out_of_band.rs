//! The shape the live and drift tests share, driven from a table: in a fresh moto account with
//! the pipeline converged, a change made out of band through a service's API is (a) reported by
//! `check`, without a single write, as exactly one action with the expected changes, and (b)
//! corrected by `converge` with exactly the expected writes, after which (c) a fresh check is in
//! sync and AWS reads back as the spec has it.
//!
//! A row's names and values may hold placeholders filled from the converged world: `{bucket}`,
//! `{stream}`, `{stream_arn}`, `{filter}`, `{logs_role}`, `{delivery_role}`, `{topic}`,
//! `{account}`, `{fanout_notification}`, `{lifecycle_rule}`,
//! `{boundary}` (the pipelines' permissions boundary) and `{by_hand}` (what the perturbation
//! put in place).

use super::moto::*;
use futures::FutureExt;
use futures::future::{BoxFuture, join_all};
use pitagora::desired::Desired;
use pitagora::names::{PIPELINE_BOUNDARY, ROLE_PATH};
use pitagora::plan::{Action, Change, Op};
use pitagora::resources::ResourceKind;
use pitagora::spec::{BucketPolicyMode, LogPipelineSpec};
use std::panic::AssertUnwindSafe;

/// One out-of-band change and what pitagora makes of it.
pub struct Case {
    /// The behaviour, as a sentence; a failure names it.
    pub name: &'static str,
    /// The converged world the change is made in.
    pub given: Given,
    /// The change, made with the outsider's clients; returns what it put in place (`{by_hand}`).
    pub perturb: Perturb,
    /// The one action `check` plans: op, kind, resource name.
    pub action: (Op, ResourceKind, &'static str),
    /// Its changes.
    pub changes: Changes,
    /// The writes `converge` makes to correct it, e.g. `[("S3.PutBucketPolicy", 1)]`.
    pub writes: &'static [(&'static str, u64)],
    /// Reads AWS back after the correction and asserts what it holds.
    pub then: Option<ReadBack>,
}

/// The perturbation: what it put in place, when a row's values name it.
pub type Perturb = for<'a> fn(&'a Moto, &'a Desired) -> BoxFuture<'a, Option<String>>;
/// An assertion on AWS after the correction.
pub type ReadBack = for<'a> fn(&'a Moto, &'a Desired) -> BoxFuture<'a, ()>;

/// The converged world a case starts from.
#[derive(Clone, Copy, Debug)]
pub enum Given {
    /// [`Moto::full_chain`].
    FullChain,
    /// The full chain, with the bucket policy exclusive (`spec.storage.bucketPolicy`).
    FullChainWithExclusiveBucketPolicy,
    /// [`Moto::route_world`], converged.
    Routes,
}

/// The planned action's changes.
pub enum Changes {
    /// Exactly these, in this order.
    Exactly(&'static [Expect]),
    /// These among others.
    Including(&'static [Expect]),
    /// Not examined (a create's changes are the whole resource).
    Unexamined,
}

/// One expected change at `field`.
pub struct Expect {
    pub field: &'static str,
    /// The spec field named as setting it, when the row says.
    pub spec_field: Option<&'static str>,
    pub desired: Value,
    pub actual: Value,
}

/// An expected value of a change.
#[derive(Debug)]
pub enum Value {
    /// Exactly this text (placeholders filled).
    Is(&'static str),
    /// Text holding this (placeholders filled).
    Holding(&'static str),
    /// No value: not wanted (desired) or not there (actual).
    Absent,
    /// Not examined.
    Any,
}

/// The change at `field`, wanted as `desired` and found as `actual`.
pub const fn at(field: &'static str, desired: Value, actual: Value) -> Expect {
    Expect {
        field,
        spec_field: None,
        desired,
        actual,
    }
}

impl Expect {
    /// The same change, named as set by `spec_field`.
    pub const fn set_by(self, spec_field: &'static str) -> Self {
        Expect {
            spec_field: Some(spec_field),
            ..self
        }
    }
}

/// Runs every case at once, each in its own account, and fails naming each case that failed
/// with its message.
pub async fn run_all(cases: &[Case]) {
    let runs = cases
        .iter()
        .map(|case| AssertUnwindSafe(run(case)).catch_unwind());
    let failed: Vec<String> = join_all(runs)
        .await
        .into_iter()
        .zip(cases)
        .filter_map(|(outcome, case)| {
            let panic = outcome.err()?;
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            Some(format!("case `{}`:\n{message}", case.name))
        })
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} cases failed:\n\n{}",
        failed.len(),
        cases.len(),
        failed.join("\n\n")
    );
}

/// One case, start to end.
pub async fn run(case: &Case) {
    let m = Moto::new().await;
    let (spec, d) = given(&m, case.given).await;
    let by_hand = (case.perturb)(&m, &d).await;
    let fill = |text: &str| fill(text, &m, &d, by_hand.as_deref());

    let plan = check_reads_only(&m, &spec).await;
    let (op, kind, name) = case.action;
    let a = only_action(&plan);
    assert_eq!(
        (a.op, a.kind, a.name.as_str()),
        (op, kind, fill(name).as_str()),
        "{a:#?}"
    );
    assert_changes(a, &case.changes, &fill);

    assert_eq!(
        correct(&m, &spec).await,
        ops(case.writes),
        "the correcting writes"
    );
    let again = check_reads_only(&m, &spec).await;
    assert!(
        again.in_sync(),
        "after the correction: {:#?}",
        again.actions
    );
    if let Some(then) = case.then {
        then(&m, &d).await;
    }
}

/// The world `given` names, converged in `m`'s account: its spec and desired state.
async fn given(m: &Moto, given: Given) -> (LogPipelineSpec, Desired) {
    match given {
        Given::FullChain => m.full_chain().await,
        Given::FullChainWithExclusiveBucketPolicy => {
            let (mut spec, d) = m.full_chain().await;
            spec.storage.bucket_policy = BucketPolicyMode::Exclusive;
            (spec, d)
        }
        Given::Routes => {
            let spec = m.route_world().await;
            let d = m.converged(&spec).await;
            (spec, d)
        }
    }
}

/// Asserts that `a`'s changes are as `expected`, placeholders filled by `fill`.
fn assert_changes(a: &Action, expected: &Changes, fill: &dyn Fn(&str) -> String) {
    let fields: Vec<String> = a.changes.iter().map(|c| c.field.clone()).collect();
    let wanted = match expected {
        Changes::Exactly(wanted) => {
            let named: Vec<String> = wanted.iter().map(|e| fill(e.field)).collect();
            assert_eq!(fields, named, "the changed fields");
            *wanted
        }
        Changes::Including(wanted) => wanted,
        Changes::Unexamined => &[],
    };
    for e in wanted {
        let field = fill(e.field);
        let c = a
            .changes
            .iter()
            .find(|c| c.field == field)
            .unwrap_or_else(|| panic!("no change at {field}: {:#?}", a.changes));
        assert_change(c, e, fill);
    }
}

/// Asserts one change's spec field and values.
fn assert_change(c: &Change, e: &Expect, fill: &dyn Fn(&str) -> String) {
    if let Some(spec_field) = e.spec_field {
        assert_eq!(c.spec_field.as_deref(), Some(spec_field), "{c:#?}");
    }
    for (side, value, found) in [
        ("desired", &e.desired, &c.desired),
        ("actual", &e.actual, &c.actual),
    ] {
        let holds = match value {
            Value::Is(text) => found.as_deref() == Some(fill(text).as_str()),
            Value::Holding(part) => found.as_ref().is_some_and(|f| f.contains(&fill(part))),
            Value::Absent => found.is_none(),
            Value::Any => true,
        };
        assert!(
            holds,
            "{} {side}: expected {value:?}, found {found:?}",
            c.field
        );
    }
}

/// `text` with the world's placeholders filled.
fn fill(text: &str, m: &Moto, d: &Desired, by_hand: Option<&str>) -> String {
    let names = &d.names;
    let mut out = text
        .replace("{bucket}", &names.bucket)
        .replace("{stream_arn}", &d.stream.arn)
        .replace("{stream}", &d.stream.name)
        .replace("{filter}", &names.filter)
        .replace("{logs_role}", &names.logs_role)
        .replace("{delivery_role}", &names.delivery_role)
        .replace("{account}", &m.account)
        .replace("{fanout_notification}", &names.fanout_notification_id)
        .replace("{lifecycle_rule}", &names.lifecycle_rule_id)
        .replace(
            "{boundary}",
            &d.target.policy_arn(ROLE_PATH, PIPELINE_BOUNDARY),
        );
    if let Some(topic) = &d.topic {
        out = out.replace("{topic}", &topic.name);
    }
    if let Some(by_hand) = by_hand {
        out = out.replace("{by_hand}", by_hand);
    }
    out
}
