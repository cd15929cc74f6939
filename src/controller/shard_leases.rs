//! The shards' Leases, read and written each round (a third of the lease duration): this
//! replica's member Lease is renewed, then the moves [`shards::moves`] decides are written. Every
//! write carries the resourceVersion it read, so two replicas racing for a shard cannot both win
//! (409 to the slower one, which tries again next round). What this replica holds is published
//! on a watch channel: the controller acts only on those shards' pipelines, and on a change
//! checks every pipeline again.

use super::leader::{LeaseConfig, LeaseError};
use super::shards::{self, Move, Seen};
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{ListParams, PostParams};
use std::collections::{BTreeMap, BTreeSet};
use tokio::sync::watch;

/// Label on every Lease of a shard set; its value is the set's name (`--lease-name`).
pub const SHARD_SET_LABEL: &str = "pitagora.dev/shard-set";

/// The shards held, as published to the controller.
pub type Held = BTreeSet<u32>;

/// Keeps this replica's share of the shards.
pub struct Keeper {
    api: Api<Lease>,
    config: LeaseConfig,
    shards: u32,
    held: watch::Sender<Held>,
}

fn conflict(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 409)
}

impl Keeper {
    /// A keeper of `shards` shards named after `config.name`; the receiver sees what it holds.
    pub fn new(
        client: kube::Client,
        config: LeaseConfig,
        shards: u32,
    ) -> (Self, watch::Receiver<Held>) {
        let (held, rx) = watch::channel(Held::new());
        let keeper = Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            shards,
            held,
        };
        (keeper, rx)
    }

    fn shard_name(&self, i: u32) -> String {
        format!("{}-shard-{i}", self.config.name)
    }

    fn member_name(&self) -> String {
        let hash = shards::shard_of("", &self.config.identity, u32::MAX);
        format!("{}-member-{hash:08x}", self.config.name)
    }

    fn error(&self, name: String, source: kube::Error) -> LeaseError {
        LeaseError::new(self.config.namespace.clone(), name, source)
    }

    /// Renews shards until `stop` resolves, then releases them and its membership.
    pub async fn keep(&self, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let held = match self.round().await {
                Ok(held) => held,
                Err(e) => {
                    // Unsure what it holds: it acts on nothing until a round succeeds.
                    tracing::warn!(error = %e, "shard lease round failed");
                    Held::new()
                }
            };
            self.publish(held);
            tokio::select! {
                _ = tokio::time::sleep(self.config.duration / 3) => {}
                _ = &mut stop => break,
            }
        }
        self.publish(Held::new());
        if let Err(e) = self.release_all().await {
            tracing::warn!(error = %e, "releasing the shard leases failed; they will expire");
        }
    }

    fn publish(&self, held: Held) {
        self.held.send_if_modified(|current| {
            let changed = *current != held;
            if changed {
                tracing::info!(shards = ?held, of = self.shards, "shards held");
                *current = held;
            }
            changed
        });
    }

    /// Every Lease of this shard set, by name.
    async fn read(&self) -> Result<BTreeMap<String, Lease>, LeaseError> {
        let selector = format!("{SHARD_SET_LABEL}={}", self.config.name);
        let list = self
            .api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| self.error(self.config.name.clone(), e))?;
        Ok(list
            .items
            .into_iter()
            .filter_map(|l| Some((l.metadata.name.clone()?, l)))
            .collect())
    }

    /// One round: announce, decide, write; the shards held afterwards.
    pub async fn round(&self) -> Result<Held, LeaseError> {
        let leases = self.read().await?;
        let now = Timestamp::now();
        let me = self.config.identity.clone();
        let member = self.member_name();
        self.write(&member, leases.get(&member), Some(&me)).await?;
        let member_prefix = format!("{}-member-", self.config.name);
        let members: Vec<Seen> = leases
            .iter()
            .filter(|(name, _)| name.starts_with(&member_prefix))
            .map(|(_, l)| seen(l))
            .collect();
        let members = shards::members(&me, &members, now);
        let seen: BTreeMap<u32, Seen> = (0..self.shards)
            .filter_map(|i| Some((i, seen(leases.get(&self.shard_name(i))?))))
            .collect();
        let mut held = Held::new();
        for m in shards::moves(&me, self.shards, &seen, &members, now) {
            match m {
                Move::Renew(i) | Move::Take(i) => {
                    let name = self.shard_name(i);
                    if self.write(&name, leases.get(&name), Some(&me)).await? {
                        held.insert(i);
                    }
                }
                Move::Release(i) => {
                    let name = self.shard_name(i);
                    self.write(&name, leases.get(&name), None).await?;
                }
            }
        }
        Ok(held)
    }

    /// Gives up every shard and the membership (on shutdown), so the others take over at once.
    async fn release_all(&self) -> Result<(), LeaseError> {
        let me = self.config.identity.as_str();
        for (name, lease) in self.read().await? {
            let mine = lease
                .spec
                .as_ref()
                .and_then(|s| s.holder_identity.as_deref())
                == Some(me);
            if mine {
                self.write(&name, Some(&lease), None).await?;
            }
        }
        Ok(())
    }

    /// Writes `name` held by `holder` (renewed now) or free; `false` when another writer won.
    async fn write(
        &self,
        name: &str,
        read: Option<&Lease>,
        holder: Option<&str>,
    ) -> Result<bool, LeaseError> {
        let now = MicroTime(Timestamp::now());
        let seconds = self.config.duration.as_secs().max(1) as i32;
        let Some(read) = read else {
            let mut labels = BTreeMap::new();
            labels.insert(SHARD_SET_LABEL.to_owned(), self.config.name.clone());
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(name.to_owned()),
                    namespace: Some(self.config.namespace.clone()),
                    labels: Some(labels),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: holder.map(str::to_owned),
                    lease_duration_seconds: Some(seconds),
                    acquire_time: holder.map(|_| now.clone()),
                    renew_time: holder.map(|_| now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(e) if conflict(&e) => Ok(false),
                Err(e) => Err(self.error(name.to_owned(), e)),
            };
        };
        let mut lease = read.clone();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != holder {
            spec.acquire_time = holder.map(|_| now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.holder_identity = holder.map(str::to_owned);
        spec.renew_time = holder.map(|_| now);
        spec.lease_duration_seconds = Some(seconds);
        match self.api.replace(name, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(e) if conflict(&e) => Ok(false),
            Err(e) => Err(self.error(name.to_owned(), e)),
        }
    }
}

/// A Lease as [`shards`] reads it.
fn seen(lease: &Lease) -> Seen {
    let spec = lease.spec.clone().unwrap_or_default();
    Seen {
        holder: spec.holder_identity,
        renewed: spec.renew_time.map(|t| t.0),
        seconds: i64::from(spec.lease_duration_seconds.unwrap_or(0)),
    }
}
