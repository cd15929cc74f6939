//! Shards: with `--shards K`, every replica acts, each on the pipelines of the shards it holds.
//! A pipeline's shard is a stable hash of its namespace and name; each shard is a Lease
//! (`<lease>-shard-<i>`), and each replica announces itself with a Lease of its own
//! (`<lease>-member-<hash of its identity>`), so that every replica knows who shares the work.
//! Each replica's share follows from the live members alone: K over their number, one more for
//! the first K mod M of them by identity, so the shares add up to K and every replica computes
//! the same ones. Each round a replica renews what it holds up to its share, releases the rest,
//! and takes shards nobody holds up to its share. A replica that dies stops renewing; its
//! shards expire and the others take them.
//!
//! This file is pure: the decisions are values ([`moves`]), tested as such; the leases are
//! written by [`super::shard_leases`].

use k8s_openapi::jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The shard of the pipeline `namespace/name` among `shards`.
pub fn shard_of(namespace: &str, name: &str, shards: u32) -> u32 {
    let digest = Sha256::digest(format!("{namespace}/{name}").as_bytes());
    let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    n % shards.max(1)
}

/// A Lease as read: who holds it and until when.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Seen {
    /// `holderIdentity` (`None` or empty: free).
    pub holder: Option<String>,
    /// `renewTime`.
    pub renewed: Option<Timestamp>,
    /// `leaseDurationSeconds`.
    pub seconds: i64,
}

impl Seen {
    /// Its holder, while the lease has not expired at `now`.
    pub fn live_holder(&self, now: Timestamp) -> Option<&str> {
        let holder = self.holder.as_deref().filter(|h| !h.is_empty())?;
        let renewed = self.renewed?;
        (renewed + SignedDuration::from_secs(self.seconds) >= now).then_some(holder)
    }
}

/// What to do with one shard's Lease this round.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Move {
    /// Renew a shard this replica holds.
    Renew(u32),
    /// Take a shard nobody holds (free or expired).
    Take(u32),
    /// Give a shard up: this replica holds more than its share.
    Release(u32),
}

/// The shards `me` should hold among the live `members` (sorted, `me` among them).
pub fn share(me: &str, shards: u32, members: &[String]) -> u32 {
    let m = u32::try_from(members.len().max(1)).unwrap_or(u32::MAX);
    let rank = members.iter().position(|x| x == me).unwrap_or(0);
    let extra = u32::from(u32::try_from(rank).unwrap_or(u32::MAX) < shards % m);
    shards / m + extra
}

/// The live members, sorted: holders of unexpired member Leases, and `me` always.
pub fn members<'a>(
    me: &str,
    member_leases: impl IntoIterator<Item = &'a Seen>,
    now: Timestamp,
) -> Vec<String> {
    let mut live: std::collections::BTreeSet<String> = member_leases
        .into_iter()
        .filter_map(|s| s.live_holder(now).map(str::to_owned))
        .collect();
    live.insert(me.to_owned());
    live.into_iter().collect()
}

/// This round's moves for `me`, given every shard's Lease (`seen`; a shard without one is free)
/// and the live `members`. Shards held are renewed lowest first up to the share and the rest
/// released; free shards are taken from a starting point that depends on `me`, so that replicas
/// starting together mostly ask for different ones.
pub fn moves(
    me: &str,
    shards: u32,
    seen: &BTreeMap<u32, Seen>,
    members: &[String],
    now: Timestamp,
) -> Vec<Move> {
    let share = share(me, shards, members) as usize;
    let holder = |i: u32| seen.get(&i).and_then(|s| s.live_holder(now));
    let held: Vec<u32> = (0..shards).filter(|i| holder(*i) == Some(me)).collect();
    let mut out: Vec<Move> = held.iter().take(share).map(|i| Move::Renew(*i)).collect();
    out.extend(held.iter().skip(share).map(|i| Move::Release(*i)));
    let start = shard_of("", me, shards);
    let free = (0..shards)
        .map(|k| (start + k) % shards)
        .filter(|i| holder(*i).is_none());
    out.extend(free.take(share.saturating_sub(held.len())).map(Move::Take));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_past_its_duration_has_no_live_holder() {
        let now = Timestamp::from_second(1_000).unwrap();
        let seen = |renewed: i64| Seen {
            holder: Some("a".into()),
            renewed: Some(Timestamp::from_second(renewed).unwrap()),
            seconds: 15,
        };
        assert_eq!(seen(990).live_holder(now), Some("a"));
        assert_eq!(seen(980).live_holder(now), None);
        assert_eq!(Seen::default().live_holder(now), None);
    }
}
