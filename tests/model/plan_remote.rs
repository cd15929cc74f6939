//! Plans of remote sources, executed in the in-memory model: the destination comes before the
//! filters that deliver through it and goes after them; a converged world plans nothing; a
//! policy widened by hand is one update naming the policy's field, which an ignore rule keeps as
//! it is live; a remote group that stops being selected loses its filter; an exact remote group
//! that does not exist is a conflict naming its account and region; another owner's destination
//! is a conflict, never written or deleted, and so is one without the owner tag unless adopted
//! (then tagged); pitagora's tag changed by hand on a destination is drift, written back with
//! its own keys only, others' tags kept; an account or region dropped from the spec loses its
//! filters (and, with its last account, the region's destination), then its canary group when
//! it is the pipeline's, found through the hints the status carries.

use crate::common;

use common::{ACCOUNT, converge, desired, spec, world_with_groups};
use pitagora::desired::Desired;
use pitagora::names::{MANAGED_BY_TAG, OWNER_TAG};
use pitagora::observed::Observed;
use pitagora::plan::{Op, Step, Target, plan, plan_delete};
use pitagora::resources::ResourceKind::{self, *};
use serde_json::json;
use std::collections::BTreeSet;

const OTHER: &str = "222222222222";

fn remote_desired(extra: &str) -> Desired {
    desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\n  remote:\n    - {{account: \"{OTHER}\", region: us-east-1, logGroups: [/ecs/payments], logGroupPrefixes: [/app/]}}\n{extra}"
    )))
}

/// `/ecs/orders` here and these groups in `222222222222/us-east-1`.
fn world(remote_groups: &[&str]) -> Observed {
    let mut w = world_with_groups(&["/ecs/orders"]);
    let groups = remote_groups.iter().map(|g| ((*g).to_owned(), Vec::new()));
    w.remote
        .insert(format!("{OTHER}/us-east-1"), groups.collect());
    w
}

fn kinds(p: &pitagora::plan::Plan) -> Vec<(Op, ResourceKind)> {
    p.actions.iter().map(|a| (a.op, a.kind)).collect()
}

#[test]
fn the_destination_is_created_before_the_remote_filters_and_a_converged_world_plans_nothing() {
    let d = remote_desired("");
    let w = world(&["/ecs/payments", "/app/a"]);
    let first = plan(&d, &w);
    let order = kinds(&first);
    let destination = order.iter().position(|k| *k == (Op::Create, Destination));
    let filters: Vec<usize> = (order.iter().enumerate())
        .filter(|(_, k)| **k == (Op::Create, RemoteSubscriptionFilter))
        .map(|(i, _)| i)
        .collect();
    assert_eq!(filters.len(), 2, "{order:?}");
    assert!(
        destination.is_some_and(|i| filters.iter().all(|f| *f > i)),
        "{order:?}"
    );
    let w = converge(&d, w);
    assert!(plan(&d, &w).in_sync(), "{:#?}", plan(&d, &w));
    let held = &w.remote[&format!("{OTHER}/us-east-1")]["/app/a"];
    assert_eq!(held[0].destination_arn, d.destinations[0].arn);
}

#[test]
fn deleting_removes_the_remote_filters_before_the_destination() {
    let d = remote_desired("");
    let w = converge(&d, world(&["/ecs/payments"]));
    let p = plan_delete(&d, &w);
    let order = kinds(&p);
    let filter = order
        .iter()
        .position(|k| *k == (Op::Delete, RemoteSubscriptionFilter));
    let destination = order.iter().position(|k| *k == (Op::Delete, Destination));
    assert!(filter.unwrap() < destination.unwrap(), "{order:?}");
    let stream = order
        .iter()
        .position(|k| *k == (Op::Delete, DeliveryStream));
    assert!(destination.unwrap() < stream.unwrap(), "{order:?}");
}

#[test]
fn a_destination_policy_widened_by_hand_is_one_update_naming_the_principal() {
    let d = remote_desired("");
    let mut w = converge(&d, world(&["/ecs/payments"]));
    let live = w.destinations.get_mut("us-east-1").unwrap();
    live.destination.access_policy.as_mut().unwrap()["Statement"][0]["Principal"] =
        json!({"AWS": "*"});
    let p = plan(&d, &w);
    assert_eq!(kinds(&p), [(Op::Update, Destination)]);
    let change = &p.actions[0].changes[0];
    assert_eq!(
        change.field,
        "accessPolicy.Statement[SourceAccounts].Principal.AWS"
    );
    assert_eq!(change.actual.as_deref(), Some("*"));
    assert_eq!(
        change.desired.as_deref(),
        Some(json!([OTHER]).to_string().as_str())
    );
    let Target::Aws(Step::PutDestination { fields, policy, .. }) = &p.actions[0].step else {
        panic!("{:?}", p.actions[0].step)
    };
    assert_eq!(
        (*fields, *policy),
        (false, true),
        "only the policy is written"
    );
    assert!(plan(&d, &converge(&d, w)).in_sync());
}

#[test]
fn an_ignored_policy_field_is_written_as_it_is_live() {
    let d = remote_desired(
        "drift:\n  ignore:\n    - {kind: Destination, field: \"accessPolicy.Statement[SourceAccounts].Principal.*\"}\n",
    );
    let mut w = converge(&d, world(&["/ecs/payments"]));
    let live = w.destinations.get_mut("us-east-1").unwrap();
    live.destination.access_policy.as_mut().unwrap()["Statement"][0]["Principal"] =
        json!({"AWS": "*"});
    live.destination.role_arn = format!("arn:aws:iam::{ACCOUNT}:role/someone-else");
    let p = plan(&d, &w);
    assert_eq!(kinds(&p), [(Op::Update, Destination)]);
    let Target::Aws(Step::PutDestination { destination, .. }) = &p.actions[0].step else {
        panic!("{:?}", p.actions[0].step)
    };
    let written = destination.destination.access_policy.as_ref().unwrap();
    assert_eq!(written["Statement"][0]["Principal"], json!({"AWS": "*"}));
    assert_eq!(
        destination.destination.role_arn,
        d.destinations[0].destination.role_arn
    );
}

#[test]
fn a_destination_of_the_pipelines_name_owned_by_another_is_a_conflict_never_written_or_deleted() {
    let d = remote_desired("");
    let mut w = converge(&d, world(&["/ecs/payments"]));
    let live = w.destinations.get_mut("us-east-1").unwrap();
    live.tags.insert(OWNER_TAG.into(), "team-b/other".into());
    live.destination.access_policy = None;
    let kinds_of = |p: &pitagora::plan::Plan| -> Vec<(Op, ResourceKind)> {
        (p.actions.iter())
            .filter(|a| a.kind == Destination)
            .map(|a| (a.op, a.kind))
            .collect()
    };
    assert_eq!(kinds_of(&plan(&d, &w)), [(Op::Conflict, Destination)]);
    assert_eq!(
        kinds_of(&plan_delete(&d, &w)),
        [(Op::Conflict, Destination)]
    );
}

#[test]
fn a_destination_tag_changed_by_hand_is_drift_restored_with_pitagoras_keys_alone() {
    let d = remote_desired("");
    let mut w = converge(&d, world(&["/ecs/payments"]));
    let live = w.destinations.get_mut("us-east-1").unwrap();
    live.tags.insert(MANAGED_BY_TAG.0.into(), "someone".into());
    live.tags.insert("team".into(), "payments".into());
    let p = plan(&d, &w);
    assert_eq!(kinds(&p), [(Op::Update, Destination)]);
    let c = &p.actions[0].changes[..];
    let seen: Vec<(&str, Option<&str>, Option<&str>)> = (c.iter())
        .map(|c| (c.field.as_str(), c.desired.as_deref(), c.actual.as_deref()))
        .collect();
    let field = format!("Tags.{}", MANAGED_BY_TAG.0);
    assert_eq!(
        seen,
        [(field.as_str(), Some(MANAGED_BY_TAG.1), Some("someone"))]
    );
    let Target::Aws(Step::PutDestination {
        fields,
        policy,
        tags,
        ..
    }) = &p.actions[0].step
    else {
        panic!("{:?}", p.actions[0].step)
    };
    assert_eq!((*fields, *policy, *tags), (false, false, true));
    let w = converge(&d, w);
    assert!(plan(&d, &w).in_sync(), "{:#?}", plan(&d, &w));
    let tags = &w.destinations["us-east-1"].tags;
    assert_eq!(
        tags.get("team").map(String::as_str),
        Some("payments"),
        "others' tag kept"
    );
}

#[test]
fn a_destination_without_the_owner_tag_is_a_conflict_unless_adopted_then_tagged() {
    // (spec extra, what the plan does to the destination)
    let rows = [("", Op::Conflict), ("adoptExisting: true\n", Op::Update)];
    for (extra, op) in rows {
        let d = remote_desired(extra);
        let mut w = converge(&d, world(&["/ecs/payments"]));
        w.destinations.get_mut("us-east-1").unwrap().tags.clear();
        let p = plan(&d, &w);
        let ops: Vec<Op> = (p.actions.iter())
            .filter(|a| a.kind == Destination)
            .map(|a| a.op)
            .collect();
        assert_eq!(ops, [op], "{extra:?}: {p:#?}");
        if op == Op::Update {
            let w = converge(&d, w);
            let owner = w.destinations["us-east-1"].tags.get(OWNER_TAG);
            assert_eq!(owner, Some(&d.id.owner_tag_value()));
        }
    }
}

#[test]
fn a_remote_group_no_longer_selected_loses_its_filter() {
    let d = remote_desired("");
    let w = converge(&d, world(&["/ecs/payments", "/app/a"]));
    let narrower = desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\n  remote:\n    - {{account: \"{OTHER}\", region: us-east-1, logGroups: [/ecs/payments]}}\n"
    )));
    let p = plan(&narrower, &w);
    let deleted: Vec<&str> = (p.actions.iter())
        .filter(|a| (a.op, a.kind) == (Op::Delete, RemoteSubscriptionFilter))
        .map(|a| a.name.as_str())
        .collect();
    // The path's canary group moves from under /app/ to the canary root: the old one is no
    // longer a source either.
    let canary = format!("{OTHER}/us-east-1:/app/{}-canary", d.names.stream);
    assert_eq!(deleted, [format!("{OTHER}/us-east-1:/app/a"), canary]);
}

#[test]
fn an_exact_remote_group_that_does_not_exist_is_a_conflict_naming_its_place() {
    let d = remote_desired("");
    let p = plan(&d, &converge(&d, world(&[])));
    let conflicts: Vec<&str> = p.conflicts().map(|a| a.name.as_str()).collect();
    assert_eq!(conflicts, [format!("{OTHER}/us-east-1:/ecs/payments")]);
}

/// The remote sources of `d` gone: its account and region dropped from `spec.sources.remote`.
fn without_remote() -> Desired {
    desired(&spec("sources:\n  logGroups: [/ecs/orders]\n"))
}

#[test]
fn an_account_and_region_dropped_from_the_sources_lose_their_filters_and_destination() {
    let before = remote_desired("");
    let w = converge(&before, world(&["/ecs/payments", "/app/a"]));
    let after = without_remote();
    let p = plan(&after, &w);
    let deleted: Vec<(ResourceKind, &str)> = (p.actions.iter())
        .filter(|a| a.op == Op::Delete)
        .map(|a| (a.kind, a.name.as_str()))
        .collect();
    let place = format!("{OTHER}/us-east-1");
    // The path's canary group is a source of the place too: its filter goes with the others.
    let canary = format!("{place}:/app/{}-canary", before.names.stream);
    assert_eq!(
        deleted,
        [
            (RemoteSubscriptionFilter, format!("{place}:/app/a").as_str()),
            (RemoteSubscriptionFilter, canary.as_str()),
            (
                RemoteSubscriptionFilter,
                format!("{place}:/ecs/payments").as_str()
            ),
            (
                Destination,
                before.destinations[0].destination.name.as_str()
            ),
            // The canary group goes last, after the filter on it.
            (RemoteCanaryLogGroup, canary.as_str()),
        ],
        "{p:#?}"
    );
    let w = converge(&after, w);
    assert!(plan(&after, &w).in_sync(), "{:#?}", plan(&after, &w));
    assert!(w.destinations.is_empty());
    assert!(w.remote_canary_log_groups.is_empty());
}

/// `w` with the canary group of `place` tagged as `tags` say.
fn retagged(mut w: Observed, place: &str, tags: &[(&str, &str)]) -> Observed {
    let canary = (w.remote_canary_log_groups.iter_mut())
        .find(|(name, _)| name.starts_with(place))
        .map(|(_, g)| g)
        .expect("the place's canary group");
    canary.tags = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    w
}

#[test]
fn a_dropped_places_canary_group_that_is_not_the_pipelines_is_never_deleted() {
    let before = remote_desired("");
    let place = format!("{OTHER}/us-east-1");
    let converged = converge(&before, world(&["/ecs/payments"]));
    let theirs = [("team", "payments")];
    let other = [(OWNER_TAG, "team-b/other")];
    for tags in [&theirs[..], &other[..]] {
        let w = retagged(converged.clone(), &place, tags);
        let p = plan(&without_remote(), &w);
        let on_canary: Vec<Op> = (p.actions.iter())
            .filter(|a| a.kind == RemoteCanaryLogGroup)
            .map(|a| a.op)
            .collect();
        assert_eq!(on_canary, [], "left alone, no conflict: {tags:?} {p:#?}");
        let p = plan_delete(&without_remote(), &w);
        let on_canary: Vec<Op> = (p.actions.iter())
            .filter(|a| a.kind == RemoteCanaryLogGroup)
            .map(|a| a.op)
            .collect();
        assert_eq!(on_canary, [Op::Conflict], "{tags:?} {p:#?}");
    }
}

#[test]
fn one_of_two_accounts_dropped_from_a_region_loses_its_filters_and_narrows_the_policy() {
    const THIRD: &str = "333333333333";
    let both = remote_desired(&format!(
        "    - {{account: \"{THIRD}\", region: us-east-1, logGroups: [/ecs/c]}}\n"
    ));
    let mut w = world(&["/ecs/payments"]);
    let c_place = format!("{THIRD}/us-east-1");
    w.remote
        .insert(c_place.clone(), [("/ecs/c".to_owned(), Vec::new())].into());
    let w = converge(&both, w);
    let one = remote_desired("");
    let p = plan(&one, &w);
    // The stack and the logs role narrow too (the role trusts each source account).
    let writes: BTreeSet<(Op, ResourceKind, &str)> = (p.actions.iter())
        .filter(|a| matches!(a.kind, Destination | RemoteSubscriptionFilter))
        .map(|a| (a.op, a.kind, a.name.as_str()))
        .collect();
    let name = one.destinations[0].destination.name.as_str();
    let c_filter = format!("{c_place}:/ecs/c");
    let c_canary = format!("{c_place}:/pitagora/canary/{}", one.names.stream);
    assert_eq!(
        writes,
        BTreeSet::from([
            (Op::Update, Destination, name),
            (Op::Delete, RemoteSubscriptionFilter, c_filter.as_str()),
            (Op::Delete, RemoteSubscriptionFilter, c_canary.as_str()),
        ]),
        "{p:#?}"
    );
    let w = converge(&one, w);
    assert!(plan(&one, &w).in_sync());
    assert!(w.remote[&c_place]["/ecs/c"].is_empty());
}

#[test]
fn deleting_removes_the_filters_of_a_place_already_dropped_from_the_spec() {
    let w = converge(&remote_desired(""), world(&["/ecs/payments"]));
    let p = plan_delete(&without_remote(), &w);
    let deleted: Vec<ResourceKind> = (p.actions.iter())
        .filter(|a| a.op == Op::Delete)
        .map(|a| a.kind)
        .filter(|k| {
            matches!(
                k,
                RemoteSubscriptionFilter | Destination | RemoteCanaryLogGroup
            )
        })
        .collect();
    // The place's group and its canary group each lose their filter, then the destination and
    // the canary group go.
    let filter = RemoteSubscriptionFilter;
    assert_eq!(
        deleted,
        [filter, filter, Destination, RemoteCanaryLogGroup],
        "{p:#?}"
    );
}

#[test]
fn the_status_lists_the_destinations_and_remote_filters_and_the_hints_carry_them_back() {
    let d = remote_desired("");
    let w = converge(&d, world(&["/ecs/payments", "/other"]));
    let check = pitagora::plan::Check {
        plan: plan(&d, &w),
        desired: d.clone(),
        observed: w,
    };
    let resources = pitagora::report::resources(&check);
    let hints =
        pitagora::read::Hints::from_resources(resources.iter().map(|r| (r.kind, r.name.as_str())));
    let place = format!("{OTHER}/us-east-1");
    let canary = format!("{place}:/app/{}-canary", d.names.stream);
    assert_eq!(
        hints.previous_remote_filters,
        [canary.clone(), format!("{place}:/ecs/payments")],
        "only the selected groups (the path's canary group is one)"
    );
    assert_eq!(
        hints.previous_destinations,
        [d.destinations[0].destination.name.clone()]
    );
    assert_eq!(hints.previous_remote_canary_groups, [canary]);
    assert!(
        hints
            .previous_log_groups
            .contains(&"/ecs/orders".to_owned())
    );
}
