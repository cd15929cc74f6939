//! Which pipelines a change concerns: an index of every resource the pipelines declare, by the
//! names and ARNs pitagora derives or the spec names, in the account and region each lives in;
//! the log-group prefixes they select; their filters' names; and their owner tags. A change that
//! names none of them concerns nobody and costs nothing more.

use super::cloudtrail::{Actor, Change, Touched};
use crate::arn::LambdaArn;
use crate::desired::Desired;
use crate::names::{CLOUDFORMATION_ROLE, PipelineId};
use std::collections::{BTreeMap, BTreeSet};

/// Where a resource lives: IAM roles and S3 bucket names are global to their account.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    account: String,
    region: Option<String>,
    touched: Touched,
}

fn global(t: &Touched) -> bool {
    matches!(t, Touched::Role(_) | Touched::Bucket(_))
}

/// The pipelines by the resources they declare.
#[derive(Clone, Debug, Default)]
pub struct Index {
    exact: BTreeMap<Key, BTreeSet<PipelineId>>,
    /// (account, region, prefix) of the log groups each pipeline selects by prefix.
    prefixes: BTreeMap<(String, String, String), BTreeSet<PipelineId>>,
    /// Filter names and owner tag values: unique to a pipeline wherever they appear.
    names: BTreeMap<Touched, PipelineId>,
    /// What each pipeline put in, so it can be taken out again.
    held: BTreeMap<PipelineId, Vec<Entry>>,
}

#[derive(Clone, Debug)]
enum Entry {
    Exact(Key),
    Prefix((String, String, String)),
    Name(Touched),
}

impl Index {
    /// The index of `pipelines`.
    pub fn of<'a>(pipelines: impl IntoIterator<Item = &'a Desired>) -> Self {
        let mut index = Self::default();
        pipelines.into_iter().for_each(|d| index.insert(d));
        index
    }

    /// How many pipelines it holds.
    pub fn len(&self) -> usize {
        self.held.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Puts `d` in, replacing what it held before.
    pub fn insert(&mut self, d: &Desired) {
        self.remove(&d.id);
        let entries = entries(d);
        for e in &entries {
            match e {
                Entry::Exact(k) => {
                    self.exact
                        .entry(k.clone())
                        .or_default()
                        .insert(d.id.clone());
                }
                Entry::Prefix(p) => {
                    self.prefixes
                        .entry(p.clone())
                        .or_default()
                        .insert(d.id.clone());
                }
                Entry::Name(n) => {
                    self.names.insert(n.clone(), d.id.clone());
                }
            }
        }
        self.held.insert(d.id.clone(), entries);
    }

    /// Takes `id` out.
    pub fn remove(&mut self, id: &PipelineId) {
        for e in self.held.remove(id).unwrap_or_default() {
            match e {
                Entry::Exact(k) => drop_from(&mut self.exact, &k, id),
                Entry::Prefix(p) => drop_from(&mut self.prefixes, &p, id),
                Entry::Name(n) => {
                    if self.names.get(&n) == Some(id) {
                        self.names.remove(&n);
                    }
                }
            }
        }
    }

    /// The pipelines `change` concerns.
    pub fn concerned(&self, change: &Change) -> BTreeSet<PipelineId> {
        let mut out = BTreeSet::new();
        for t in &change.touched {
            if let Some(id) = self.names.get(t) {
                out.insert(id.clone());
            }
            let key = Key {
                account: change.account.clone(),
                region: (!global(t)).then(|| change.region.clone()),
                touched: t.clone(),
            };
            out.extend(self.exact.get(&key).into_iter().flatten().cloned());
            if let Touched::LogGroup(group) = t {
                let place = (change.account.clone(), change.region.clone());
                let selecting = self.prefixes.iter().filter(|((a, r, p), _)| {
                    (a, r) == (&place.0, &place.1) && group.starts_with(p.as_str())
                });
                out.extend(selecting.flat_map(|(_, ids)| ids.iter().cloned()));
            }
        }
        out
    }
}

fn drop_from<K: Ord>(map: &mut BTreeMap<K, BTreeSet<PipelineId>>, key: &K, id: &PipelineId) {
    if let Some(ids) = map.get_mut(key) {
        ids.remove(id);
        if ids.is_empty() {
            map.remove(key);
        }
    }
}

/// Every resource `d` declares, where it lives.
fn entries(d: &Desired) -> Vec<Entry> {
    let home = &d.target;
    let at = |account: &str, region: &str, t: Touched| {
        Entry::Exact(Key {
            account: account.to_owned(),
            region: (!global(&t)).then(|| region.to_owned()),
            touched: t,
        })
    };
    let here = |t: Touched| at(&home.account_id, &home.region, t);
    let mut out = vec![
        here(Touched::Stack(d.names.stack.clone())),
        here(Touched::Stream(d.stream.name.clone())),
        here(Touched::Bucket(d.names.bucket.clone())),
        here(Touched::Role(d.names.delivery_role.clone())),
        here(Touched::Role(d.names.logs_role.clone())),
        here(Touched::LogGroup(d.error_log_group.name.clone())),
        Entry::Name(Touched::Filter(d.filters.filter.name.clone())),
        Entry::Name(Touched::Owner(d.id.owner_tag_value())),
    ];
    let groups = d.filters.log_groups.iter().chain(&d.filters.canary);
    let routes = d.route_log_groups.iter().map(|g| &g.name);
    out.extend(
        groups
            .chain(routes)
            .map(|g| here(Touched::LogGroup(g.clone()))),
    );
    out.extend(
        d.filters
            .log_group_prefixes
            .iter()
            .map(|p| Entry::Prefix((home.account_id.clone(), home.region.clone(), p.clone()))),
    );
    if let Some(topic) = &d.topic {
        out.push(here(Touched::Topic(topic.arn.clone())));
    }
    for p in &d.held.permissions {
        match LambdaArn::parse(&p.function) {
            Some(f) => out.push(at(
                f.account_id,
                f.region,
                Touched::Function(f.function.to_owned()),
            )),
            None => out.push(here(Touched::Function(p.function.clone()))),
        }
    }
    for dest in &d.destinations {
        let name = Touched::Destination(dest.destination.name.clone());
        out.push(at(&home.account_id, &dest.region, name));
    }
    for r in &d.remote {
        let (account, region) = (&r.place.account_id, &r.place.region);
        let groups = r
            .filters
            .log_groups
            .iter()
            .chain(r.canary_log_group.iter().map(|g| &g.name));
        out.extend(groups.map(|g| at(account, region, Touched::LogGroup(g.clone()))));
        out.extend(
            r.filters
                .log_group_prefixes
                .iter()
                .map(|p| Entry::Prefix((account.clone(), region.clone(), p.clone()))),
        );
    }
    out
}

/// pitagora's own principals, so that the events of its own writes start no check: the
/// identities its credentials act as (`sts:GetCallerIdentity` in each account) and the
/// CloudFormation service role it passes on every stack operation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Own {
    /// (account, role name) of the roles pitagora's sessions are opened with.
    roles: BTreeSet<(String, String)>,
    /// Other identities (a user), by ARN.
    arns: BTreeSet<String>,
}

/// The account and role name of a role ARN (`arn:…:iam::<account>:role/<path>/<name>`) or of a
/// role session's ARN (`arn:…:sts::<account>:assumed-role/<name>/<session>`).
fn role_of(arn: &str) -> Option<(String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (service, account, resource) = (parts.nth(2)?, parts.nth(1)?, parts.next()?);
    let name = match service {
        "iam" => resource.strip_prefix("role/")?.rsplit('/').next()?,
        "sts" => resource.strip_prefix("assumed-role/")?.split('/').next()?,
        _ => return None,
    };
    Some((account.to_owned(), name.to_owned()))
}

impl Own {
    /// Adds the identity `arn` a caller-identity call answered.
    pub fn with_caller(mut self, arn: &str) -> Self {
        match role_of(arn) {
            Some(role) => self.roles.insert(role),
            None => self.arns.insert(arn.to_owned()),
        };
        self
    }

    /// Adds the CloudFormation service role of `account`.
    pub fn with_stack_role(mut self, account: &str) -> Self {
        self.roles
            .insert((account.to_owned(), CLOUDFORMATION_ROLE.to_owned()));
        self
    }

    /// These principals and `other`'s.
    pub fn merged(mut self, other: Own) -> Self {
        self.roles.extend(other.roles);
        self.arns.extend(other.arns);
        self
    }

    /// Whether `actor` is pitagora itself.
    pub fn made(&self, actor: &Actor) -> bool {
        let by_role = [&actor.arn, &actor.issuer]
            .into_iter()
            .flatten()
            .filter_map(|a| role_of(a))
            .any(|r| self.roles.contains(&r));
        by_role || actor.arn.as_ref().is_some_and(|a| self.arns.contains(a))
    }
}
