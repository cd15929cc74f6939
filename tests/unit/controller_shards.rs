//! Shards, specified on values: which shard a pipeline is in, each replica's share, and the
//! moves that divide the shards among replicas — simulated round by round, the way replicas
//! write their Leases (a take succeeds only while nobody holds the shard).

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use pitagora::controller::shards::{Move, Seen, members, moves, shard_of, share};
use std::collections::BTreeMap;

const SECONDS: i64 = 15;

fn now() -> Timestamp {
    Timestamp::from_second(1_000_000).unwrap()
}

fn held_by(who: &str, at: Timestamp) -> Seen {
    Seen {
        holder: Some(who.into()),
        renewed: Some(at),
        seconds: SECONDS,
    }
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("replica-{i}")).collect()
}

/// Plays rounds: each replica in turn reads the Leases as they are and writes its moves.
fn play(shards: u32, replicas: &[String], leases: &mut BTreeMap<u32, Seen>, rounds: usize) {
    for _ in 0..rounds {
        for me in replicas {
            for m in moves(me, shards, leases, replicas, now()) {
                match m {
                    Move::Renew(i) => {
                        leases.insert(i, held_by(me, now()));
                    }
                    Move::Take(i) => {
                        let free = leases.get(&i).and_then(|s| s.live_holder(now())).is_none();
                        if free {
                            leases.insert(i, held_by(me, now()));
                        }
                    }
                    Move::Release(i) => {
                        leases.insert(i, Seen::default());
                    }
                }
            }
        }
    }
}

fn holdings(shards: u32, leases: &BTreeMap<u32, Seen>) -> BTreeMap<String, u32> {
    let mut out = BTreeMap::new();
    for i in 0..shards {
        let holder = leases[&i].live_holder(now()).expect("every shard is held");
        *out.entry(holder.to_owned()).or_default() += 1;
    }
    out
}

#[test]
fn a_pipelines_shard_is_stable_and_in_range() {
    assert_eq!(
        shard_of("team-a", "orders", 8),
        shard_of("team-a", "orders", 8)
    );
    assert!((0..1000).all(|i| shard_of("ns", &format!("p{i}"), 8) < 8));
    assert_ne!(
        (0..8)
            .map(|i| shard_of("ns", &format!("p{i}"), 1024))
            .collect::<Vec<_>>(),
        vec![shard_of("ns", "p0", 1024); 8],
        "names spread"
    );
}

#[test]
fn pipelines_spread_evenly_over_the_shards() {
    let mut counts = [0u32; 8];
    for i in 0..8000 {
        counts[shard_of("bench", &format!("p{i:04}"), 8) as usize] += 1;
    }
    assert!(counts.iter().all(|c| (850..1150).contains(c)), "{counts:?}");
}

#[test]
fn the_shares_add_up_to_every_shard_and_differ_by_at_most_one() {
    for shards in 1..=16u32 {
        for m in 1..=6 {
            let replicas = names(m);
            let shares: Vec<u32> = replicas
                .iter()
                .map(|r| share(r, shards, &replicas))
                .collect();
            assert_eq!(shares.iter().sum::<u32>(), shards, "{shards} over {m}");
            let (lo, hi) = (shares.iter().min().unwrap(), shares.iter().max().unwrap());
            assert!(hi - lo <= 1, "{shares:?}");
        }
    }
}

#[test]
fn a_lone_replica_takes_every_shard() {
    let me = names(1);
    let taken = moves(&me[0], 4, &BTreeMap::new(), &me, now());
    let mut shards: Vec<u32> = taken
        .iter()
        .map(|m| match m {
            Move::Take(i) => *i,
            other => panic!("{other:?}"),
        })
        .collect();
    shards.sort();
    assert_eq!(shards, [0, 1, 2, 3]);
}

#[test]
fn replicas_starting_together_hold_every_shard_exactly_once_in_shares() {
    for shards in [1u32, 2, 3, 4, 7, 8, 16] {
        for m in 1..=5 {
            let replicas = names(m);
            let mut leases = BTreeMap::new();
            play(shards, &replicas, &mut leases, 3);
            let held = holdings(shards, &leases);
            for r in &replicas {
                let expected = share(r, shards, &replicas);
                assert_eq!(
                    held.get(r).copied().unwrap_or(0),
                    expected,
                    "{r}: {shards} over {m}"
                );
            }
        }
    }
}

#[test]
fn a_replica_that_joins_gets_its_share_from_what_the_others_release() {
    let replicas = names(3);
    let mut leases: BTreeMap<u32, Seen> =
        (0..8).map(|i| (i, held_by("replica-0", now()))).collect();
    play(8, &replicas, &mut leases, 3);
    let held = holdings(8, &leases);
    assert_eq!(
        held.values().copied().collect::<Vec<_>>(),
        [3, 3, 2],
        "{held:?}"
    );
}

#[test]
fn the_shards_of_a_replica_that_stopped_renewing_are_taken_over() {
    let long_ago = now() - SignedDuration::from_secs(SECONDS + 1);
    let mut leases: BTreeMap<u32, Seen> = (0..4)
        .map(|i| {
            (
                i,
                held_by(if i < 2 { "replica-0" } else { "gone" }, long_ago),
            )
        })
        .collect();
    // replica-0 renewed in time; "gone" did not, and its member Lease expired too.
    for i in 0..2 {
        leases.insert(i, held_by("replica-0", now()));
    }
    let member_leases = [held_by("replica-0", now()), held_by("gone", long_ago)];
    let live = members("replica-0", &member_leases, now());
    assert_eq!(live, ["replica-0"]);
    play(4, &live, &mut leases, 1);
    assert_eq!(holdings(4, &leases)["replica-0"], 4);
}

#[test]
fn no_replica_takes_a_shard_another_holds() {
    let replicas = names(2);
    let leases: BTreeMap<u32, Seen> = (0..4).map(|i| (i, held_by("replica-1", now()))).collect();
    let mine = moves("replica-0", 4, &leases, &replicas, now());
    assert!(mine.is_empty(), "waits for replica-1 to release: {mine:?}");
}
