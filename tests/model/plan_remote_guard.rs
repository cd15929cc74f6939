//! The guards with remote sources (`spec.sources.remote`): a remote source's filter feeds the
//! stream as a local one does, so removing every source, local and remote, stops delivery while
//! removing the local ones alone (or the remote ones alone, with local ones still feeding) loses
//! nothing; a path's canary group is no source. A new pipeline is refused for want of a free
//! filter slot only when every source, local and remote, is full.

use crate::common;

use common::*;
use pitagora::desired::Desired;
use pitagora::observed::{FilterLimit, Observed};
use pitagora::plan::guard::{Loss, change_losses};
use pitagora::plan::{ConflictKind, plan};
use pitagora::resources::SubscriptionFilter;

const OTHER: &str = "222222222222";

/// Local `logGroups` and the remote entry's `logGroupPrefixes` (none: no remote entry).
fn desired_with(local: &str, remote: Option<&str>) -> Desired {
    let remote = remote.map_or(String::new(), |prefix| {
        format!("  remote:\n    - {{account: \"{OTHER}\", region: us-east-1, logGroupPrefixes: [{prefix}]}}\n")
    });
    desired(&spec(&format!(
        "sources:\n  logGroups: [{local}]\n{remote}"
    )))
}

/// `/ecs/orders` here and `/app/a` in `222222222222/us-east-1`, converged for both (the
/// canary groups of both paths included); without `/ecs/orders` when `local` is false.
fn converged_both(local: bool) -> Observed {
    let d = desired_with("/ecs/orders", Some("/app/"));
    let mut w = world_with_groups(&["/ecs/orders"]);
    let remote = [("/app/a".to_owned(), Vec::new())].into();
    w.remote.insert(format!("{OTHER}/us-east-1"), remote);
    let mut w = converge(&d, w);
    if !local {
        w.log_groups.remove("/ecs/orders");
    }
    w
}

#[test]
fn delivery_stops_only_when_no_source_here_or_remote_feeds_any_more() {
    // (what feeds before: /ecs/orders here too?, the new local groups, the new remote prefix,
    // stops delivery?)
    let rows = [
        // Only the remote source feeds, and the remote entry goes.
        (false, "/ecs/orders", None, true),
        // Only the remote source feeds, and its prefix moves to groups that do not exist (the
        // path's new canary group gets the filter: it is no source).
        (false, "/ecs/orders", Some("/typo/"), true),
        // The local source goes while the remote one feeds.
        (true, "/ecs/typo", Some("/app/"), false),
        // The remote source goes while the local one feeds.
        (true, "/ecs/orders", None, false),
        // Both go.
        (true, "/ecs/typo", Some("/typo/"), true),
        // The local source goes, and a remote source is taken instead.
        (true, "/ecs/typo", Some("/app/"), false),
    ];
    for (local, groups, prefix, stops) in rows {
        let o = converged_both(local);
        let after = desired_with(groups, prefix);
        let losses = change_losses(&after, &o, &plan(&after, &o));
        let want: &[Loss] = if stops { &[Loss::StopDelivery] } else { &[] };
        assert_eq!(losses, want, "{local} {groups} {prefix:?}");
    }
}

fn held(n: usize) -> Vec<SubscriptionFilter> {
    (0..n)
        .map(|i| SubscriptionFilter {
            name: format!("other-{i}"),
            pattern: String::new(),
            destination_arn: "arn:aws:lambda:eu-west-1:123456789012:function:x".into(),
            role_arn: None,
            distribution: "ByLogStream".into(),
        })
        .collect()
}

#[test]
fn a_new_pipeline_is_refused_for_want_of_a_slot_only_when_every_source_here_and_remote_is_full() {
    // (filters on /ecs/orders here, on /app/a in the remote place, refused?)
    let rows = [(2, 1, false), (2, 2, true), (1, 2, false)];
    for (here, there, refused) in rows {
        let d = desired_with("/ecs/orders", Some("/app/"));
        let mut o = Observed {
            filter_limit: FilterLimit::refused("/ecs/elsewhere", 2),
            ..Observed::default()
        };
        o.log_groups.insert("/ecs/orders".into(), held(here));
        let remote = [("/app/a".to_owned(), held(there))].into();
        o.remote.insert(format!("{OTHER}/us-east-1"), remote);
        let p = plan(&d, &o);
        let refusal =
            (p.conflicts()).find(|a| a.conflict() == Some(ConflictKind::NoFreeFilterSlot));
        assert_eq!(refusal.is_some(), refused, "{here} {there}: {p:#?}");
        if let Some(r) = refusal {
            let named = format!("{OTHER}/us-east-1:/app/a holds 2");
            assert!(r.reason.contains(&named), "{}", r.reason);
        } else {
            assert!(p.writes().next().is_some(), "the pipeline is built");
        }
    }
}
