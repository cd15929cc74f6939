//! Differences inside documents — a stack template, a bucket policy, a role's trust and inline
//! policies, a topic policy — are reported at their deepest differing path with both leaf
//! values, never as two dumps of the whole documents. Specified by golden reports
//! (`tests/golden/leaf-diffs.*`; `UPDATE_GOLDEN=1` rewrites them) of real plans between a
//! converged world of the in-memory model and a spec or world changed as a user would.

use crate::common;

use common::report::golden;
use common::{ACCOUNT, REGION, converged, full_chain_spec};
use pitagora::aws::CallStats;
use pitagora::desired::{self, Desired};
use pitagora::names::PipelineId;
use pitagora::observed::Observed;
use pitagora::plan::{Check, plan};
use pitagora::report::{self, DriftReport, Input, markdown, text};
use pitagora::resources::ResourceKind;
use pitagora::spec::LogPipelineSpec;
use serde_json::json;

const GROUPS: &[&str] = &["/ecs/orders"];

fn id() -> PipelineId {
    PipelineId::new("platform", "ecs-logs")
}

fn desired_of(spec: &LogPipelineSpec) -> Desired {
    desired::from_spec(&id(), spec, ACCOUNT, REGION).expect("fixture spec is valid")
}

fn report(desired: Desired, observed: Observed) -> DriftReport {
    let plan = plan(&desired, &observed);
    let check = Check {
        desired,
        observed,
        plan,
    };
    let id = id();
    let inputs = [Input {
        source: "pipelines/ecs-logs.yaml",
        id: &id,
        result: Ok(&check),
    }];
    let mut r = report::build(
        &inputs,
        &CallStats::default(),
        Some("2026-12-02T09:00:00Z".into()),
    );
    r.generator = "pitagora 0.0.0-golden".into();
    r
}

/// The full chain converged, then its spec's `delivery.prefix` changed (`raw/` → `newraw/`):
/// the template differs inside the delivery role's policy and the bucket notification's filter.
fn prefix_changed() -> DriftReport {
    let converged = converged(&desired_of(&full_chain_spec()), GROUPS);
    let mut spec = full_chain_spec();
    spec.delivery.prefix = "newraw/".into();
    report(desired_of(&spec), converged)
}

/// The full chain converged, then changed by hand inside its policies: the bucket's TLS-only
/// statement turned into an Allow, the delivery role's first inline policy widened to every
/// action, the trust policy's condition removed and the topic opened to every principal.
fn policies_changed() -> DriftReport {
    let d = desired_of(&full_chain_spec());
    let mut o = converged(&d, GROUPS);
    let bucket = o.bucket.as_mut().unwrap();
    bucket.policy.as_mut().unwrap()["Statement"][0]["Effect"] = json!("Allow");
    let role = o.roles.get_mut(&d.names.delivery_role).unwrap();
    let policy = role.inline.values_mut().next().unwrap();
    policy["Statement"][0]["Action"] = json!("*");
    role.trust["Statement"][0]
        .as_object_mut()
        .unwrap()
        .remove("Condition");
    let topic = o.topic.as_mut().unwrap().policy.as_mut().unwrap();
    topic["Statement"][0]["Principal"] = json!("*");
    report(d, o)
}

fn text_of(r: &DriftReport) -> String {
    text::report(r, text::Style::new(false))
}

#[test]
fn a_changed_prefix_shows_the_template_leaves_it_changes() {
    let r = prefix_changed();
    let fields: Vec<&str> = r.pipelines[0]
        .items
        .iter()
        .filter(|i| i.kind == ResourceKind::Stack)
        .filter_map(|i| i.field.as_deref())
        .collect();
    assert!(
        fields
            .iter()
            .all(|f| f.starts_with("Template.Resources.") && !f.ends_with("Policies")),
        "{fields:?}"
    );
    assert!(
        r.pipelines[0]
            .items
            .iter()
            .all(|i| i.desired.as_deref().is_none_or(|v| !v.starts_with('{'))),
        "no whole document is printed: {:#?}",
        r.pipelines[0].items
    );
    golden("leaf-diffs-prefix.txt", &text_of(&r));
}

#[test]
fn hand_changes_inside_policies_show_each_changed_leaf() {
    let r = policies_changed();
    golden("leaf-diffs-policies.txt", &text_of(&r));
    golden("leaf-diffs-policies.md", &markdown::render(&r));
}
