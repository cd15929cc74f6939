//! Shards end to end: two replicas of the controller (in-process, the ServiceAccount's RBAC) on
//! a real API server divide the shards' Leases, each pipeline is acted on by exactly the replica
//! that holds its shard, and a replica killed mid-way has its shards taken over.

use crate::common;

use common::kube::names as names_of;
use common::kube::*;
use common::moto::*;
use pitagora::controller::shards::shard_of;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);
const SHARDS: u32 = 4;

/// A pipeline with a log group of its own (a group takes at most two subscription filters).
fn spec_of(name: &str) -> String {
    format!("sources:\n  logGroups: [/ecs/{name}]\n")
}

async fn groups(m: &Moto, names: &[String]) {
    let groups: Vec<String> = names.iter().map(|n| format!("/ecs/{n}")).collect();
    m.log_groups(&groups.iter().map(String::as_str).collect::<Vec<_>>())
        .await;
}

/// Pipeline names covering every shard once.
fn one_per_shard(ns: &str) -> Vec<String> {
    let mut by_shard = BTreeMap::new();
    for i in 0.. {
        let name = format!("p{i}");
        by_shard.entry(shard_of(ns, &name, SHARDS)).or_insert(name);
        if by_shard.len() == SHARDS as usize {
            return by_shard.into_values().collect();
        }
    }
    unreachable!()
}

async fn shards_held(ctl: &Running) -> Option<f64> {
    metric(&ctl.get("/metrics").await.1, "pitagora_shards_held")
}

fn shard_holder(lease: &str, shard: u32) -> String {
    lease_holder(&format!("{lease}-shard-{shard}"))
}

/// Two sharded replicas, `replica-a` and `replica-b`, holding two shards each, and one Ready
/// pipeline per shard (with a log group of its own).
struct Divided {
    ns: String,
    lease: String,
    m: Moto,
    a: Running,
    b: Running,
    names: Vec<String>,
}

async fn divided(label: &str) -> Divided {
    install();
    let ns = namespace(label);
    let lease = format!("pitagora-{ns}");
    let m = Moto::new().await;
    let a = start(&m, sharded(&ns, &lease, "replica-a", SHARDS)).await;
    let b = start(&m, sharded(&ns, &lease, "replica-b", SHARDS)).await;
    until(LONG, "two shards each", || async {
        (shards_held(&a).await == Some(2.0) && shards_held(&b).await == Some(2.0)).then_some(())
    })
    .await;
    let names = one_per_shard(&ns);
    groups(&m, &names).await;
    for name in &names {
        kubectl_ok(
            &["apply", "-f", "-"],
            Some(&pipeline(&ns, name, &spec_of(name))),
        );
    }
    for name in &names {
        until(LONG, "Ready", || async {
            (condition(&ns, name, "Ready") == "True").then_some(())
        })
        .await;
    }
    Divided {
        ns,
        lease,
        m,
        a,
        b,
        names,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_divide_the_shards_and_each_pipeline_is_acted_on_by_its_shards_holder() {
    let Divided {
        ns,
        lease,
        a,
        b,
        names,
        m: _moto,
    } = divided("shards").await;
    let acted: BTreeMap<String, BTreeSet<String>> = event_instances(&ns, "Created")
        .into_iter()
        .fold(BTreeMap::new(), |mut acc, (o, i)| {
            acc.entry(o).or_default().insert(i);
            acc
        });
    for name in &names {
        let holder = shard_holder(&lease, shard_of(&ns, name, SHARDS));
        assert_eq!(acted[name], BTreeSet::from([holder]), "{name}");
    }
    let instances: BTreeSet<&String> = acted.values().flatten().collect();
    assert_eq!(instances.len(), 2, "both replicas acted: {acted:?}");
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replicas_shards_are_taken_over_and_their_pipelines_acted_on() {
    let Divided {
        ns,
        lease,
        m,
        a,
        b,
        names,
    } = divided("takeover-shards").await;
    let of_a: Vec<&String> = names
        .iter()
        .filter(|n| shard_holder(&lease, shard_of(&ns, n, SHARDS)) == "replica-a")
        .collect();
    assert_eq!(of_a.len(), 2);

    a.kill();
    // The Leases last 3 s (settings); rounds every second; 5 s of margin.
    until(
        Duration::from_secs(3 + 5),
        "replica-b holding every shard",
        || async { (shards_held(&b).await == Some(4.0)).then_some(()) },
    )
    .await;
    // A change to replica-a's pipelines is applied by replica-b. (replica-a's own creation may
    // have published `Updated` events already: a second pass correcting what the stack left.)
    let before = event_instances(&ns, "Updated");
    for name in &of_a {
        let changed = format!(
            "{}delivery:\n  buffering:\n    sizeMiB: 64\n",
            spec_of(name)
        );
        kubectl_ok(&["apply", "-f", "-"], Some(&pipeline(&ns, name, &changed)));
        let stream = names_of(&m, &ns, name).stream;
        until(LONG, "generation 2 applied by replica-b", || async {
            (jsonpath(&ns, name, "{.status.observedGeneration}") == "2"
                && stream_buffer_size(&m.c, &stream).await == Some(64))
            .then_some(())
        })
        .await;
    }
    let updated: Vec<_> = event_instances(&ns, "Updated")
        .into_iter()
        .filter(|e| !before.contains(e))
        .collect();
    assert!(
        !updated.is_empty() && updated.iter().all(|(_, i)| i == "replica-b"),
        "{updated:?}"
    );
    b.stop().await;
}
