//! Tenancy: what each namespace's pipelines may reach. On a cluster shared by teams the
//! controller decides, before AWS is asked anything, whether a pipeline stays inside what its
//! namespace was given: the log groups it subscribes (and whose events `audit` reads) and the
//! Lambda functions it wires in (invoke permissions, bucket notifications, topic
//! subscriptions). Anything outside is an invalid spec naming the field and what is allowed.
//!
//! Three modes, chosen by the controller's flags:
//! - **a tenancy file** (`--tenancy FILE`, shipped as the `pitagora-tenancy` ConfigMap):
//!
//!   ```yaml
//!   namespaces:
//!     team-a:
//!       logGroupPrefixes: [/ecs/team-a/, /aws/lambda/team-a-]
//!       functionPrefixes: [team-a-]
//!     "*":                      # every namespace, besides its own entry
//!       logGroupPrefixes: [/shared/]
//!   fluentd:                    # optional: see FluentdPolicy
//!     configMaps: [logging/fluentd-pitagora-routes]
//!     outputPlugins: [forward]
//!   ```
//!
//!   A namespace the file does not name may use only the `"*"` entry.
//! - **no file** (the default): a namespace `N` may subscribe only log groups under `/N/` and
//!   wire only functions whose name begins with `N-`, so nothing crosses namespaces until an
//!   operator says so.
//! - **one team** (`--single-tenant`): every namespace may use every log group and function of
//!   the account, for a cluster that one team owns.
//!
//! The legacy fluentd side follows [`FluentdPolicy`] in every mode: the file's `fluentd`
//! section, else its default (any ConfigMap the controller's RBAC allows; stores of `@type
//! forward` only).
//!
//! IAM sees only the controller, not the namespace a pipeline comes from, so this is where the
//! per-namespace boundary is enforced; the controller's IAM policy bounds the union (see the
//! security model in docs/operating.md).

use super::fluentd_policy::FluentdPolicy;
use super::types::{LogPipelineSpec, RemoteSource, Sources};
use super::validate::FieldError;
use crate::arn::LambdaArn;
use crate::names::PipelineId;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The key of the entry every namespace may use.
pub const EVERY_NAMESPACE: &str = "*";

/// What pipelines may reach, by namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tenancy {
    mode: Mode,
    fluentd: FluentdPolicy,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
enum Mode {
    /// Each namespace only what is named after it.
    #[default]
    OwnNamespace,
    /// Each namespace what the file gives it.
    File(BTreeMap<String, Allowance>),
    /// Everything: one team owns the cluster.
    SingleTenant,
}

/// What one namespace may use.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Allowance {
    /// Log-group name prefixes its pipelines may subscribe.
    #[serde(default)]
    pub log_group_prefixes: Vec<String>,
    /// Lambda function name prefixes its pipelines may wire in.
    #[serde(default)]
    pub function_prefixes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct File {
    namespaces: BTreeMap<String, Allowance>,
    #[serde(default)]
    fluentd: FluentdPolicy,
}

/// Why a tenancy file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenancyError {
    /// Not the file's shape.
    #[error(
        "not a tenancy file (`namespaces:` mapping each namespace to its logGroupPrefixes and functionPrefixes): {0}"
    )]
    Shape(String),
    /// A prefix that would allow every log group or function.
    #[error(
        "namespaces.{namespace}.{field}: prefix {prefix:?} allows everything; name the tenant's own prefix"
    )]
    Prefix {
        /// The namespace.
        namespace: String,
        /// `logGroupPrefixes` or `functionPrefixes`.
        field: &'static str,
        /// The prefix.
        prefix: String,
    },
}

/// The kinds of resource a namespace is given, for the checks and their messages.
#[derive(Clone, Copy)]
enum Reach {
    LogGroups,
    Functions,
}

impl Reach {
    fn field(self) -> &'static str {
        match self {
            Reach::LogGroups => "logGroupPrefixes",
            Reach::Functions => "functionPrefixes",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Reach::LogGroups => "subscribe log groups",
            Reach::Functions => "wire in Lambda functions",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Reach::LogGroups => "log groups",
            Reach::Functions => "functions",
        }
    }

    fn of(self, a: &Allowance) -> &[String] {
        match self {
            Reach::LogGroups => &a.log_group_prefixes,
            Reach::Functions => &a.function_prefixes,
        }
    }

    /// What a namespace may use when no file is given.
    fn own(self, namespace: &str) -> String {
        match self {
            Reach::LogGroups => format!("/{namespace}/"),
            Reach::Functions => format!("{namespace}-"),
        }
    }
}

impl Tenancy {
    /// Every namespace may use everything (`--single-tenant`).
    pub fn single_tenant() -> Self {
        Self {
            mode: Mode::SingleTenant,
            fluentd: FluentdPolicy::default(),
        }
    }

    /// Parses a tenancy file's text.
    pub fn parse(text: &str) -> Result<Self, TenancyError> {
        let file: File =
            serde_saphyr::from_str(text).map_err(|e| TenancyError::Shape(e.to_string()))?;
        for (namespace, allowance) in &file.namespaces {
            for reach in [Reach::LogGroups, Reach::Functions] {
                if let Some(prefix) = reach.of(allowance).iter().find(|p| wide(p)) {
                    return Err(TenancyError::Prefix {
                        namespace: namespace.clone(),
                        field: reach.field(),
                        prefix: prefix.clone(),
                    });
                }
            }
        }
        Ok(Self {
            mode: Mode::File(file.namespaces),
            fluentd: file.fluentd,
        })
    }

    /// Whether every namespace may use everything.
    pub fn is_single_tenant(&self) -> bool {
        self.mode == Mode::SingleTenant
    }

    /// The log-group prefixes of every namespace together (what the controller's IAM policy
    /// must allow); `None` when that is every log group.
    pub fn all_log_group_prefixes(&self) -> Option<Vec<String>> {
        self.all(Reach::LogGroups)
    }

    /// The function-name prefixes of every namespace together; `None`: every function.
    pub fn all_function_prefixes(&self) -> Option<Vec<String>> {
        self.all(Reach::Functions)
    }

    fn all(&self, reach: Reach) -> Option<Vec<String>> {
        match &self.mode {
            Mode::File(entries) => {
                let mut all: Vec<String> = entries
                    .values()
                    .flat_map(|a| reach.of(a).to_vec())
                    .collect();
                all.sort();
                all.dedup();
                Some(all)
            }
            Mode::OwnNamespace | Mode::SingleTenant => None,
        }
    }

    /// The prefixes of `reach` that `namespace` may use; `None`: anything.
    fn allowed(&self, namespace: &str, reach: Reach) -> Option<Vec<String>> {
        match &self.mode {
            Mode::SingleTenant => None,
            Mode::OwnNamespace => Some(vec![reach.own(namespace)]),
            Mode::File(entries) => Some(
                [namespace, EVERY_NAMESPACE]
                    .iter()
                    .filter_map(|ns| entries.get(*ns))
                    .flat_map(|a| reach.of(a).iter().cloned())
                    .collect(),
            ),
        }
    }

    /// Every log group and function of `spec` outside what pipeline `id`'s namespace may use,
    /// and what its fluentd side does that the fluentd policy does not allow.
    pub fn check(&self, id: &PipelineId, spec: &LogPipelineSpec) -> Vec<FieldError> {
        self.check_except(id, spec, &|_| false)
    }

    /// [`Tenancy::check`], leaving out the remote entries `elsewhere` says another rule decides
    /// (those in another account, which the accounts file governs: see [`super::reach`]).
    pub fn check_except(
        &self,
        id: &PipelineId,
        spec: &LogPipelineSpec,
        elsewhere: &dyn Fn(&RemoteSource) -> bool,
    ) -> Vec<FieldError> {
        let sources = &spec.sources;
        let groups = indexed("spec.sources.logGroups", &sources.log_groups)
            .chain(indexed(
                "spec.sources.logGroupPrefixes",
                &sources.log_group_prefixes,
            ))
            .map(|(path, name)| (path, name.to_owned()))
            .chain(remote_groups(sources, elsewhere));
        let mut errors = self.outside(id, Reach::LogGroups, groups);
        // A function is named by its ARN; the prefix applies to its name. An ARN that does not
        // parse is reported by validation.
        let functions = spec
            .functions()
            .filter_map(|(path, arn)| LambdaArn::parse(arn).map(|a| (path, a.function.to_owned())));
        errors.extend(self.outside(id, Reach::Functions, functions));
        errors.extend(self.fluentd.check(id, spec));
        errors
    }

    fn outside(
        &self,
        id: &PipelineId,
        reach: Reach,
        names: impl Iterator<Item = (String, String)>,
    ) -> Vec<FieldError> {
        let Some(allowed) = self.allowed(&id.namespace, reach) else {
            return Vec::new();
        };
        let fix = self.fix(&id.namespace, reach, &allowed);
        names
            .filter(|(_, name)| !allowed.iter().any(|p| name.starts_with(p.as_str())))
            .map(|(path, name)| FieldError::new(path, format!("{name:?}"), fix.clone()))
            .collect()
    }

    fn fix(&self, namespace: &str, reach: Reach, allowed: &[String]) -> String {
        let (what, noun) = (reach.what(), reach.noun());
        match &self.mode {
            Mode::OwnNamespace => format!(
                "without a tenancy configuration namespace {namespace} may {what} only under {} \
                 (named after the namespace); the cluster's administrators give it more in the \
                 controller's tenancy file (--tenancy)",
                allowed.join(", ")
            ),
            _ if allowed.is_empty() => format!(
                "namespace {namespace} may not {what} (the controller's tenancy file gives it no \
                 {}); ask the cluster's administrators to add it",
                reach.field()
            ),
            _ => format!(
                "namespace {namespace} may {what} only {noun} under {} (the controller's tenancy \
                 file)",
                allowed.join(", ")
            ),
        }
    }
}

/// A prefix that lets through everything of its kind (`*` too: the IAM documents rendered from
/// the file read it as "every log group or function").
fn wide(prefix: &str) -> bool {
    prefix.is_empty() || prefix == "/" || prefix == "*"
}

/// The remote sources' log groups and prefixes with their paths, but for the entries
/// `elsewhere` leaves to another rule: the namespace's prefixes bound them in every region of
/// its own account (and in an account no role reaches, refused anyway).
fn remote_groups<'a>(
    sources: &'a Sources,
    elsewhere: &'a dyn Fn(&RemoteSource) -> bool,
) -> impl Iterator<Item = (String, String)> + 'a {
    let kept = sources
        .remote
        .iter()
        .enumerate()
        .filter(move |(_, r)| !elsewhere(r));
    kept.flat_map(|(i, r)| {
        let groups = r.log_groups.iter().enumerate().map(move |(j, g)| {
            (
                format!("spec.sources.remote[{i}].logGroups[{j}]"),
                g.clone(),
            )
        });
        let prefixes = r.log_group_prefixes.iter().enumerate().map(move |(j, p)| {
            (
                format!("spec.sources.remote[{i}].logGroupPrefixes[{j}]"),
                p.clone(),
            )
        });
        groups.chain(prefixes)
    })
}

fn indexed<'a>(field: &'a str, list: &'a [String]) -> impl Iterator<Item = (String, &'a str)> + 'a {
    list.iter()
        .enumerate()
        .map(move |(i, v)| (format!("{field}[{i}]"), v.as_str()))
}
