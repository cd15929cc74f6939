//! Ignore rules (`spec.drift.ignore`, and the repository's `.pitagora-ignore` rules the CLI adds
//! to it), specified on plans: what a rule matches (an AWS field, a spec field, a kind, a kind and
//! a name glob), what happens to the actions it matches, and what it never does — make a plan
//! out of sync, or change the plan of a deletion.

use crate::common;

use common::*;
use pitagora::aws::CallStats;
use pitagora::observed::Observed;
use pitagora::plan::ignore::Ignored;
use pitagora::plan::{Check, Op, Plan, plan, plan_delete};
use pitagora::report::{self, Input, Status};
use pitagora::resources::{ResourceKind, S3Destination};
use pitagora::spec::{IgnoreRule, LogPipelineSpec};

/// A rule; `reason` is always set, so rule texts show it.
fn rule(kind: Option<&str>, name: Option<&str>, field: Option<&str>) -> IgnoreRule {
    IgnoreRule {
        kind: kind.map(str::to_owned),
        name: name.map(str::to_owned),
        field: field.map(str::to_owned),
        reason: Some("accepted".into()),
    }
}

fn field_rule(field: &str) -> IgnoreRule {
    rule(None, None, Some(field))
}

/// The full chain with `rules`.
fn spec_with(rules: Vec<IgnoreRule>) -> LogPipelineSpec {
    let mut spec = full_chain_spec();
    spec.drift.ignore = rules;
    spec
}

/// The full chain converged (without rules: a rule must not keep the world from converging),
/// with the groups `/ecs/orders` and `/ecs/payments`.
fn converged_full_chain() -> Observed {
    converged(
        &desired(&full_chain_spec()),
        &["/ecs/orders", "/ecs/payments"],
    )
}

/// The plan from `observed` to the full chain with `rules`.
fn plan_with(rules: Vec<IgnoreRule>, observed: &Observed) -> Plan {
    plan(&desired(&spec_with(rules)), observed)
}

fn stream_destination(o: &mut Observed) -> &mut S3Destination {
    o.stream.as_mut().unwrap().destination.as_mut().unwrap()
}

/// The converged full chain with the stream's buffer size changed (16 → 64 MiB).
fn buffer_size_changed() -> Observed {
    let mut o = converged_full_chain();
    stream_destination(&mut o).buffering.size_mib = 64;
    o
}

/// `(kind, resource, field, rule)` of each ignored item.
fn ignored(p: &Plan) -> Vec<(ResourceKind, &str, Option<&str>, &str)> {
    p.ignored
        .iter()
        .map(|i: &Ignored| {
            (
                i.kind,
                i.name.as_str(),
                i.change.as_ref().map(|c| c.field.as_str()),
                i.rule.as_str(),
            )
        })
        .collect()
}

/// `(op, kind, name)` of each action.
fn actions(p: &Plan) -> Vec<(Op, ResourceKind, &str)> {
    p.actions
        .iter()
        .map(|a| (a.op, a.kind, a.name.as_str()))
        .collect()
}

fn stream_name() -> String {
    desired(&full_chain_spec()).names.stream
}

// ---- What a rule matches -------------------------------------------------------------------

#[test]
fn without_rules_the_changed_field_is_an_action() {
    let p = plan_with(vec![], &buffer_size_changed());
    assert_eq!(
        actions(&p),
        [(
            Op::Update,
            ResourceKind::DeliveryStream,
            stream_name().as_str()
        )]
    );
    assert!(p.ignored.is_empty());
}

#[test]
fn a_rule_on_the_aws_field_ignores_that_change() {
    let p = plan_with(
        vec![field_rule("BufferingHints.SizeInMBs")],
        &buffer_size_changed(),
    );
    assert_eq!(actions(&p), []);
    assert_eq!(
        ignored(&p),
        [(
            ResourceKind::DeliveryStream,
            stream_name().as_str(),
            Some("BufferingHints.SizeInMBs"),
            "field=BufferingHints.SizeInMBs (accepted)"
        )]
    );
}

#[test]
fn a_rule_on_the_spec_field_ignores_the_aws_field_it_sets() {
    let p = plan_with(
        vec![field_rule("spec.delivery.buffering.sizeMiB")],
        &buffer_size_changed(),
    );
    assert_eq!(actions(&p), []);
    assert_eq!(
        ignored(&p),
        [(
            ResourceKind::DeliveryStream,
            stream_name().as_str(),
            Some("BufferingHints.SizeInMBs"),
            "field=spec.delivery.buffering.sizeMiB (accepted)"
        )]
    );
}

#[test]
fn an_ignored_change_keeps_its_values_and_the_operation_it_would_have_caused() {
    let p = plan_with(
        vec![field_rule("BufferingHints.SizeInMBs")],
        &buffer_size_changed(),
    );
    let change = p.ignored[0].change.as_ref().unwrap();
    assert_eq!(p.ignored[0].op, Op::Update);
    assert_eq!(
        (
            change.desired.as_deref(),
            change.actual.as_deref(),
            change.spec_field.as_deref()
        ),
        (
            Some("16"),
            Some("64"),
            Some("spec.delivery.buffering.sizeMiB")
        )
    );
}

#[test]
fn a_rule_on_another_field_ignores_nothing() {
    let p = plan_with(
        vec![field_rule("BufferingHints.IntervalInSeconds")],
        &buffer_size_changed(),
    );
    assert_eq!(actions(&p).len(), 1);
    assert!(p.ignored.is_empty());
}

#[test]
fn a_rule_whose_kind_does_not_match_ignores_nothing_even_when_its_field_does() {
    let p = plan_with(
        vec![rule(
            Some("ErrorLogGroup"),
            None,
            Some("BufferingHints.SizeInMBs"),
        )],
        &buffer_size_changed(),
    );
    assert_eq!(actions(&p).len(), 1);
    assert!(p.ignored.is_empty());
}

#[test]
fn a_rule_by_kind_ignores_every_action_on_that_kind_and_nothing_else() {
    let mut o = buffer_size_changed();
    for group in ["/ecs/orders", "/ecs/payments"] {
        o.log_groups.get_mut(group).unwrap().clear();
    }
    let p = plan_with(vec![rule(Some("SubscriptionFilter"), None, None)], &o);
    assert_eq!(
        actions(&p),
        [(
            Op::Update,
            ResourceKind::DeliveryStream,
            stream_name().as_str()
        )]
    );
    let rule_text = "kind=SubscriptionFilter (accepted)";
    assert_eq!(
        ignored(&p),
        [
            (
                ResourceKind::SubscriptionFilter,
                "/ecs/orders",
                Some("filterName"),
                rule_text
            ),
            (
                ResourceKind::SubscriptionFilter,
                "/ecs/payments",
                Some("filterName"),
                rule_text
            ),
        ]
    );
    assert!(p.ignored.iter().all(|i| i.op == Op::Create));
}

#[test]
fn a_rule_by_kind_lists_each_change_of_the_action_it_ignores() {
    let mut o = buffer_size_changed();
    stream_destination(&mut o).compression = "UNCOMPRESSED".into();
    let stream = stream_name();
    let p = plan_with(vec![rule(Some("DeliveryStream"), None, None)], &o);
    assert_eq!(actions(&p), []);
    let rule_text = "kind=DeliveryStream (accepted)";
    assert_eq!(
        ignored(&p),
        [
            (
                ResourceKind::DeliveryStream,
                stream.as_str(),
                Some("BufferingHints.SizeInMBs"),
                rule_text
            ),
            (
                ResourceKind::DeliveryStream,
                stream.as_str(),
                Some("CompressionFormat"),
                rule_text
            ),
        ]
    );
}

#[test]
fn a_rule_by_kind_and_name_glob_ignores_only_the_resources_it_names() {
    let mut o = converged_full_chain();
    for group in ["/ecs/orders", "/ecs/payments"] {
        o.log_groups.get_mut(group).unwrap().clear();
    }
    let p = plan_with(
        vec![rule(Some("SubscriptionFilter"), Some("/ecs/pay*"), None)],
        &o,
    );
    assert_eq!(
        actions(&p),
        [(Op::Create, ResourceKind::SubscriptionFilter, "/ecs/orders")]
    );
    assert_eq!(
        ignored(&p),
        [(
            ResourceKind::SubscriptionFilter,
            "/ecs/payments",
            Some("filterName"),
            "kind=SubscriptionFilter name=/ecs/pay* (accepted)"
        )]
    );
}

#[test]
fn a_rule_by_kind_and_name_glob_ignores_a_conflict_over_a_missing_source_group() {
    // docs/ci.md's example: batch groups appear only while jobs run.
    let mut spec = spec("sources:\n  logGroups: [/ecs/orders, /ecs/batch-nightly]\n");
    let d = desired(&spec);
    let o = converged(&d, &["/ecs/orders"]);
    assert_eq!(
        actions(&plan(&d, &o)),
        [(Op::Conflict, ResourceKind::LogGroup, "/ecs/batch-nightly")]
    );
    spec.drift.ignore = vec![rule(Some("LogGroup"), Some("/ecs/batch-*"), None)];
    let p = plan(&desired(&spec), &o);
    assert_eq!(actions(&p), []);
    assert_eq!(
        ignored(&p),
        [(
            ResourceKind::LogGroup,
            "/ecs/batch-nightly",
            None,
            "kind=LogGroup name=/ecs/batch-* (accepted)"
        )]
    );
    assert_eq!(p.ignored[0].op, Op::Conflict);
}

#[test]
fn a_field_rule_never_ignores_a_missing_resource() {
    let mut o = converged_full_chain();
    o.stream = None;
    let p = plan_with(vec![field_rule("*")], &o);
    assert_eq!(
        actions(&p),
        [(
            Op::Create,
            ResourceKind::DeliveryStream,
            stream_name().as_str()
        )]
    );
    assert!(p.ignored.is_empty());
}

// ---- What happens to the actions -------------------------------------------------------------

#[test]
fn an_action_whose_every_change_is_ignored_disappears_and_each_change_is_listed_with_the_rule() {
    let mut o = buffer_size_changed();
    stream_destination(&mut o).buffering.interval_seconds = 900;
    let stream = stream_name();
    assert_eq!(plan_with(vec![], &o).actions[0].changes.len(), 2);

    let p = plan_with(
        vec![rule(Some("DeliveryStream"), None, Some("BufferingHints.*"))],
        &o,
    );

    assert_eq!(actions(&p), []);
    let rule_text = "kind=DeliveryStream field=BufferingHints.* (accepted)";
    assert_eq!(
        ignored(&p),
        [
            (
                ResourceKind::DeliveryStream,
                stream.as_str(),
                Some("BufferingHints.SizeInMBs"),
                rule_text
            ),
            (
                ResourceKind::DeliveryStream,
                stream.as_str(),
                Some("BufferingHints.IntervalInSeconds"),
                rule_text
            ),
        ]
    );
}

#[test]
fn an_action_with_one_ignored_and_one_other_change_keeps_only_the_other() {
    let mut o = buffer_size_changed();
    stream_destination(&mut o).compression = "UNCOMPRESSED".into();

    let p = plan_with(vec![field_rule("BufferingHints.SizeInMBs")], &o);

    assert_eq!(
        actions(&p),
        [(
            Op::Update,
            ResourceKind::DeliveryStream,
            stream_name().as_str()
        )]
    );
    let kept: Vec<&str> = p.actions[0]
        .changes
        .iter()
        .map(|c| c.field.as_str())
        .collect();
    assert_eq!(kept, ["CompressionFormat"]);
    assert_eq!(
        ignored(&p)
            .iter()
            .map(|(_, _, field, _)| *field)
            .collect::<Vec<_>>(),
        [Some("BufferingHints.SizeInMBs")]
    );
}

#[test]
fn the_first_matching_rule_is_the_one_named() {
    let p = plan_with(
        vec![
            field_rule("BufferingHints.IntervalInSeconds"),
            field_rule("BufferingHints.*"),
            field_rule("BufferingHints.SizeInMBs"),
        ],
        &buffer_size_changed(),
    );
    assert_eq!(ignored(&p)[0].3, "field=BufferingHints.* (accepted)");
}

// ---- What a rule never does -------------------------------------------------------------------

#[test]
fn ignored_items_never_make_a_plan_out_of_sync() {
    let mut o = buffer_size_changed();
    o.log_groups.get_mut("/ecs/payments").unwrap().clear();
    for rules in [
        vec![
            field_rule("BufferingHints.SizeInMBs"),
            field_rule("filterName"),
        ],
        vec![
            field_rule("spec.delivery.buffering.sizeMiB"),
            rule(Some("SubscriptionFilter"), None, None),
        ],
        vec![
            rule(Some("DeliveryStream"), None, None),
            rule(Some("SubscriptionFilter"), Some("/ecs/*"), None),
        ],
    ] {
        let p = plan_with(rules.clone(), &o);
        assert!(p.in_sync(), "{rules:?}: {:#?}", p.actions);
        assert_eq!(p.ignored.len(), 2, "{rules:?}");
    }
}

#[test]
fn a_pipeline_whose_only_differences_are_ignored_is_reported_in_sync_listing_them() {
    let d = desired(&spec_with(vec![field_rule("BufferingHints.SizeInMBs")]));
    let o = buffer_size_changed();
    let check = Check {
        plan: plan(&d, &o),
        desired: d,
        observed: o,
    };
    let id = id();
    let r = report::build(
        &[Input {
            source: "orders.yaml",
            id: &id,
            result: Ok(&check),
        }],
        &CallStats::default(),
        Some("2026-03-02T07:45:00Z".into()),
    );
    let p = &r.pipelines[0];
    assert_eq!(p.status, Status::InSync);
    assert_eq!(p.items, []);
    assert_eq!(p.ignored.len(), 1);
    let i = &p.ignored[0];
    assert_eq!(
        (
            i.field.as_deref(),
            i.desired.as_deref(),
            i.actual.as_deref(),
            i.ignored_by.as_deref()
        ),
        (
            Some("BufferingHints.SizeInMBs"),
            Some("16"),
            Some("64"),
            Some("field=BufferingHints.SizeInMBs (accepted)")
        )
    );
    assert_eq!(
        (r.totals.in_sync, r.totals.drifted, r.totals.ignored),
        (1, 0, 1)
    );
}

#[test]
fn ignore_rules_never_affect_plan_delete() {
    let o = converged_full_chain();
    let every_kind: Vec<IgnoreRule> = ResourceKind::ALL
        .iter()
        .map(|k| rule(Some(k.as_str()), None, None))
        .chain([field_rule("*")])
        .collect();
    let without = plan_delete(&desired(&full_chain_spec()), &o);
    let with = plan_delete(&desired(&spec_with(every_kind.clone())), &o);
    assert!(!without.actions.is_empty());
    assert_eq!(with.actions, without.actions);
    assert!(with.ignored.is_empty());
    // The same rules do ignore the same resources when planning convergence from nothing.
    let from_nothing = plan_with(every_kind, &world_with_groups(&["/ecs/orders"]));
    assert!(from_nothing.actions.is_empty() && !from_nothing.ignored.is_empty());
}

// ---- What a rule cannot keep ------------------------------------------------------------------

/// The converged full chain with the bucket's encryption removed by hand and the stack's stored
/// template edited there too, so that the stack update writes the bucket's encryption again.
fn encryption_removed_and_template_edited() -> Observed {
    let mut o = converged_full_chain();
    o.bucket.as_mut().unwrap().access.encryption = None;
    let template = o.stack.as_mut().unwrap().template.as_mut().unwrap();
    template["Resources"]["Bucket"]["Properties"]["BucketEncryption"] = serde_json::json!({});
    o
}

#[test]
fn an_ignored_live_difference_is_ignored_while_the_stack_leaves_that_property_alone() {
    let mut o = converged_full_chain();
    o.bucket.as_mut().unwrap().access.encryption = None;
    let p = plan_with(vec![field_rule("BucketEncryption.*")], &o);
    assert!(p.in_sync(), "{:#?}", p.actions);
    assert_eq!(ignored(&p).len(), 1);
}

#[test]
fn an_ignored_difference_the_stack_update_overwrites_is_shown_not_ignored() {
    let o = encryption_removed_and_template_edited();
    let p = plan_with(vec![field_rule("BucketEncryption.*")], &o);
    let bucket = desired(&full_chain_spec()).names.bucket;
    assert!(
        actions(&p).contains(&(Op::Update, ResourceKind::BucketAccess, bucket.as_str())),
        "{:#?}",
        p.actions
    );
    assert_eq!(ignored(&p), []);
}
