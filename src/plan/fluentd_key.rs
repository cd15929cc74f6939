//! The pipeline's key in the fluentd ConfigMap, compared with what the spec renders: pure. The
//! controller reads the ConfigMap, this decides, the controller writes.
//!
//! pitagora owns only its key, through server-side apply under its own field manager. Another
//! manager that *applied* the key owns it: that is a conflict, and the key is left alone. An
//! edit by hand (`kubectl edit`, a plain update or patch) is drift: reported, and corrected
//! unless `drift.policy` is `Report`.
//!
//! The ConfigMap is shared by every pipeline of the cluster, and fluentd sends a tag by the
//! first `<match>` that matches it. A route whose pattern shares a tag with a route another
//! pipeline rendered into another key of the same ConfigMap would take (or lose) that
//! pipeline's logs, depending on the order fluentd includes the keys: that is a conflict naming
//! the other key, and the key is left alone. pitagora never steals another pipeline's logs.
//! Nor does it take a key it never wrote that holds something else than this pipeline's routes
//! (the cluster's own `fluent.conf`, another pipeline's routes): that is a conflict too.

use super::{Action, Change, ClusterStep, ConflictKind, Op, Target};
use crate::fluentd::render::{self, OWNER_LINE};
use crate::resources::ResourceKind;
use crate::spec::grammar::fluentd as grammar;
use crate::spec::grammar::fluentd_match::TagPattern;
use crate::spec::{FluentdConfig, IgnoreRule};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ManagedFieldsEntry;

/// The ConfigMap as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Observed {
    /// Whether the ConfigMap exists.
    pub exists: bool,
    /// The key's value, when present.
    pub value: Option<String>,
    /// The managers of the key other than pitagora's: `(manager, operation)`.
    pub other_owners: Vec<(String, String)>,
    /// The other keys of the ConfigMap that hold routes pitagora rendered: `(key, text)`.
    pub rendered_elsewhere: Vec<(String, String)>,
}

/// What the key needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyPlan {
    /// It holds the rendered text.
    InSync,
    /// Write the rendered text.
    Write(Difference),
    /// Another manager applied it: leave it, a human must act.
    Conflict {
        /// That manager.
        manager: String,
    },
    /// A route shares tags with a route of another pipeline in another key: leave it.
    Overlap(Overlap),
    /// The key holds configuration pitagora never wrote for this pipeline: leave it.
    Foreign {
        /// The pipeline its header names, when pitagora rendered it for another one.
        pipeline: Option<String>,
    },
}

/// Why a key pitagora never wrote is left alone, and the fix.
pub fn foreign_message(pipeline: Option<&str>) -> String {
    let what = match pipeline {
        Some(p) => format!("the routes pitagora rendered for pipeline {p}"),
        None => "configuration pitagora did not render".to_owned(),
    };
    format!(
        "the key already holds {what}: pitagora never overwrites a key it did not write for this pipeline; choose another key in spec.legacy.fluentd.config.key, or remove that key"
    )
}

/// A route of this key and a route of another key that match some tag in common.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overlap {
    /// The other key.
    pub key: String,
    /// The pipeline that rendered it (its header), when it says.
    pub pipeline: Option<String>,
    /// This key's pattern.
    pub ours: String,
    /// The other key's pattern.
    pub theirs: String,
}

impl Overlap {
    /// Why the key is left alone, and the fix.
    pub fn message(&self) -> String {
        let whose = self
            .pipeline
            .as_deref()
            .map(|p| format!(" (pipeline {p})"))
            .unwrap_or_default();
        format!(
            "route match {:?} shares tags with route match {:?} in key {}{whose} of the same ConfigMap: fluentd would send those tags by whichever key it includes first, taking one pipeline's logs from the other; pitagora leaves the key alone: narrow spec.legacy.fluentd.routes[].match so that no tag matches both",
            self.ours, self.theirs, self.key
        )
    }
}

/// Why the key is written, and the first line that differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Difference {
    /// `Create` (the ConfigMap or the key is missing) or `Update`.
    pub create: bool,
    /// Whether the text was changed by someone else since pitagora wrote it (drift), rather
    /// than the spec or the stages in effect changing.
    pub edited: bool,
    /// The first differing line (1-based), the rendered and the found line there.
    pub line: Option<(usize, String, String)>,
}

impl Difference {
    /// The field a drift item names: the key, and the line when one differs.
    pub fn field(&self, key: &str) -> String {
        match &self.line {
            Some((n, _, _)) => format!("data[{key}] line {n}"),
            None => format!("data[{key}]"),
        }
    }

    /// The desired and the found value a drift item shows: the differing line, or the whole
    /// rendering against nothing when the key is missing.
    pub fn values(&self) -> (Option<String>, Option<String>) {
        match &self.line {
            Some((_, want, found)) => (Some(want.clone()), Some(found.clone())),
            None => (Some("(the rendered routes)".to_owned()), None),
        }
    }

    /// Why the key differs, for humans.
    pub fn reason(&self) -> &'static str {
        if self.edited {
            "the fluentd routes were changed outside pitagora"
        } else if self.create {
            "the fluentd routes are not in the ConfigMap"
        } else {
            "the stages in effect or the spec changed"
        }
    }
}

/// The managers other than `manager` that own `data.<key>`, with their operation.
pub fn other_owners(
    managed: &[ManagedFieldsEntry],
    key: &str,
    manager: &str,
) -> Vec<(String, String)> {
    let field = format!("f:{key}");
    managed
        .iter()
        .filter(|m| m.manager.as_deref() != Some(manager))
        .filter(|m| {
            m.fields_v1
                .as_ref()
                .and_then(|f| f.0.get("f:data"))
                .and_then(|d| d.get(&field))
                .is_some()
        })
        .map(|m| {
            (
                m.manager.clone().unwrap_or_default(),
                m.operation.clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// What the key needs to hold `text`. `last_written` is the hash pitagora recorded for its last
/// write (to tell a hand edit from a change of the spec).
pub fn plan(text: &str, observed: &Observed, last_written: Option<&str>) -> KeyPlan {
    if let Some((manager, _)) = observed.other_owners.iter().find(|(_, op)| op == "Apply") {
        return KeyPlan::Conflict {
            manager: manager.clone(),
        };
    }
    if let Some(overlap) = overlap(text, &observed.rendered_elsewhere) {
        return KeyPlan::Overlap(overlap);
    }
    // A key pitagora has not written for this pipeline is taken only when it is already ours
    // (the same header); after a write, a difference is drift.
    if let Some(found) = &observed.value
        && last_written.is_none()
        && owner(found).is_none_or(|o| Some(o) != owner(text))
    {
        return KeyPlan::Foreign {
            pipeline: owner(found).map(str::to_owned),
        };
    }
    let Some(found) = &observed.value else {
        return KeyPlan::Write(Difference {
            create: true,
            edited: last_written.is_some(),
            line: None,
        });
    };
    if found == text {
        return KeyPlan::InSync;
    }
    let ours = last_written.is_some_and(|h| h == render::config_hash(found));
    KeyPlan::Write(Difference {
        create: false,
        edited: !ours,
        line: first_difference(text, found),
    })
}

/// The first route of `text` that shares a tag with a route of one of `others` (`(key, text)`)
/// rendered for another pipeline. Patterns the grammar refuses (no current spec has one) are not
/// compared.
pub fn overlap(text: &str, others: &[(String, String)]) -> Option<Overlap> {
    let owner = |t: &str| {
        t.lines()
            .next()?
            .strip_prefix(OWNER_LINE)
            .map(str::to_owned)
    };
    let ours = owner(text);
    let mine = patterns(text);
    others
        .iter()
        .filter(|(_, other)| ours.is_none() || owner(other) != ours)
        .find_map(|(key, other)| {
            let theirs = patterns(other);
            mine.iter().find_map(|(a_text, a)| {
                theirs.iter().find_map(|(b_text, b)| {
                    a.overlap(b).map(|_| Overlap {
                        key: key.clone(),
                        pipeline: owner(other).map(|o| o.to_owned()),
                        ours: a_text.clone(),
                        theirs: b_text.clone(),
                    })
                })
            })
        })
}

/// The pipeline a rendered key's header names.
fn owner(text: &str) -> Option<&str> {
    text.lines().next()?.strip_prefix(OWNER_LINE)
}

/// The patterns of the `<match>`es of a rendered key.
fn patterns(text: &str) -> Vec<(String, TagPattern)> {
    let Ok(root) = grammar::parse(text) else {
        return Vec::new();
    };
    root.children("match")
        .filter_map(|m| Some((m.arg.clone(), TagPattern::parse(&m.arg).ok()?)))
        .collect()
}

/// The first line where `want` and `found` differ (an absent line reads as empty).
fn first_difference(want: &str, found: &str) -> Option<(usize, String, String)> {
    let (mut a, mut b) = (want.lines(), found.lines());
    for n in 1.. {
        match (a.next(), b.next()) {
            (None, None) => return None,
            (x, y) if x != y => {
                let line = |l: Option<&str>| l.unwrap_or_default().trim().to_owned();
                return Some((n, line(x), line(y)));
            }
            _ => {}
        }
    }
    None
}

/// The key as `cm` holds it (`None`: the ConfigMap does not exist), `manager` being pitagora's.
pub fn observed(cm: Option<&ConfigMap>, key: &str, manager: &str) -> Observed {
    let Some(cm) = cm else {
        return Observed::default();
    };
    let rendered_elsewhere = cm
        .data
        .iter()
        .flatten()
        .filter(|(k, text)| *k != key && text.starts_with(OWNER_LINE))
        .map(|(k, text)| (k.clone(), text.clone()))
        .collect();
    Observed {
        exists: true,
        value: cm.data.as_ref().and_then(|d| d.get(key)).cloned(),
        rendered_elsewhere,
        other_owners: other_owners(
            cm.metadata.managed_fields.as_deref().unwrap_or_default(),
            key,
            manager,
        ),
    }
}

/// The first of `rules` that accepts any difference in the key of `c` (kind `FluentdRoutes`,
/// its name, the field `data[<key>]` or the spec field `spec.legacy.fluentd`).
pub fn ignoring_rule<'a>(rules: &'a [IgnoreRule], c: &FluentdConfig) -> Option<&'a IgnoreRule> {
    let name = resource_name(c);
    let field = format!("data[{}]", c.key);
    rules.iter().find(|r| {
        super::ignore::ignores(
            std::slice::from_ref(r),
            ResourceKind::FluentdRoutes,
            &name,
            &field,
            Some("spec.legacy.fluentd"),
        )
    })
}

/// The resource name of a fluentd key in reports and status: `namespace/name:key`.
pub fn resource_name(c: &FluentdConfig) -> String {
    format!("{}/{}:{}", c.namespace, c.name, c.key)
}

/// The plan action of `plan` for the key of `c` (`None` when it is in sync): how reports show
/// it, like any AWS resource's.
pub fn action(c: &FluentdConfig, plan: &KeyPlan) -> Option<Action> {
    let name = resource_name(c);
    let (op, changes, reason, step) = match plan {
        KeyPlan::InSync => return None,
        KeyPlan::Conflict { manager } => (
            Op::Conflict,
            Vec::new(),
            format!(
                "field manager {manager:?} applied this key: pitagora leaves it alone; remove that manager's ownership, or choose another key"
            ),
            ClusterStep::Conflict(ConflictKind::AppliedByAnotherManager),
        ),
        KeyPlan::Overlap(overlap) => (
            Op::Conflict,
            Vec::new(),
            overlap.message(),
            ClusterStep::Conflict(ConflictKind::RoutesOverlap),
        ),
        KeyPlan::Foreign { pipeline } => (
            Op::Conflict,
            Vec::new(),
            foreign_message(pipeline.as_deref()),
            ClusterStep::Conflict(ConflictKind::ForeignKey),
        ),
        KeyPlan::Write(d) => {
            let (desired, actual) = d.values();
            let change = Change {
                field: d.field(&c.key),
                spec_field: Some("spec.legacy.fluentd".to_owned()),
                desired,
                actual,
            };
            let reason = d.reason();
            let step = ClusterStep::ApplyFluentdRoutes {
                namespace: c.namespace.clone(),
                name: c.name.clone(),
                key: c.key.clone(),
            };
            let op = if d.create { Op::Create } else { Op::Update };
            (op, vec![change], reason.to_owned(), step)
        }
    };
    Some(Action {
        op,
        kind: ResourceKind::FluentdRoutes,
        name,
        changes,
        reason,
        step: Target::Cluster(step),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key as pitagora renders it for `pipeline`, with one `<match>` per pattern.
    fn rendered(pipeline: &str, patterns: &[&str]) -> String {
        let mut text = format!("{OWNER_LINE}{pipeline}\n");
        for p in patterns {
            text.push_str(&format!("<match {p}>\n  @type copy\n</match>\n"));
        }
        text
    }

    fn others(keys: &[(&str, String)]) -> Vec<(String, String)> {
        keys.iter()
            .map(|(k, t)| (k.to_string(), t.clone()))
            .collect()
    }

    #[test]
    fn a_route_sharing_tags_with_another_pipelines_key_is_an_overlap_naming_that_key() {
        let ours = rendered("team-a/orders", &["app.orders.**"]);
        let theirs = others(&[
            (
                "team-b.payments.conf",
                rendered("team-b/payments", &["app.payments.**"]),
            ),
            ("team-c.all.conf", rendered("team-c/all", &["app.*.api"])),
        ]);
        let found = overlap(&ours, &theirs).expect("app.orders.api is in both");
        assert_eq!(
            found,
            Overlap {
                key: "team-c.all.conf".into(),
                pipeline: Some("team-c/all".into()),
                ours: "app.orders.**".into(),
                theirs: "app.*.api".into(),
            }
        );
        assert!(
            found.message().contains("team-c.all.conf"),
            "{}",
            found.message()
        );
    }

    #[test]
    fn disjoint_routes_and_the_pipelines_own_other_keys_are_no_overlap() {
        let ours = rendered("team-a/orders", &["app.orders.**", "app.{x,y}.*"]);
        let theirs = others(&[
            (
                "team-b.payments.conf",
                rendered("team-b/payments", &["app.payments.**"]),
            ),
            (
                "team-a.old.conf",
                rendered("team-a/orders", &["app.orders.**"]),
            ),
        ]);
        assert_eq!(overlap(&ours, &theirs), None);
    }

    #[test]
    fn plan_leaves_an_overlapping_key_alone_even_when_it_is_missing() {
        let ours = rendered("team-a/orders", &["app.**"]);
        let observed = Observed {
            exists: true,
            rendered_elsewhere: others(&[(
                "team-b.payments.conf",
                rendered("team-b/payments", &["app.payments.api"]),
            )]),
            ..Observed::default()
        };
        assert!(
            matches!(plan(&ours, &observed, None), KeyPlan::Overlap(o) if o.key == "team-b.payments.conf")
        );
    }

    #[test]
    fn a_key_never_written_that_holds_something_else_is_left_alone() {
        let ours = rendered("team-a/orders", &["a.**"]);
        let holding = |value: &str| Observed {
            exists: true,
            value: Some(value.to_owned()),
            ..Observed::default()
        };
        let cluster = holding("@include /etc/fluent/pitagora/*.conf\n");
        assert_eq!(
            plan(&ours, &cluster, None),
            KeyPlan::Foreign { pipeline: None }
        );
        let other = holding(&rendered("team-a/payments", &["p.**"]));
        assert_eq!(
            plan(&ours, &other, None),
            KeyPlan::Foreign {
                pipeline: Some("team-a/payments".into())
            }
        );
        let own_stale = holding(&rendered("team-a/orders", &["old.**"]));
        assert!(matches!(plan(&ours, &own_stale, None), KeyPlan::Write(d) if d.edited));
    }

    #[test]
    fn a_key_pitagora_wrote_and_someone_edited_is_drift_not_foreign() {
        let ours = rendered("team-a/orders", &["a.**"]);
        let edited = Observed {
            exists: true,
            value: Some("# edited by hand\n".to_owned()),
            ..Observed::default()
        };
        let last = render::config_hash(&ours);
        assert!(matches!(plan(&ours, &edited, Some(&last)), KeyPlan::Write(d) if d.edited));
    }

    #[test]
    fn only_other_keys_rendered_by_pitagora_are_compared() {
        let mut data = std::collections::BTreeMap::new();
        data.insert(
            "fluent.conf".to_owned(),
            "<match **>\n  @type forward\n</match>\n".to_owned(),
        );
        data.insert(
            "team-b.payments.conf".to_owned(),
            rendered("team-b/payments", &["b.**"]),
        );
        data.insert(
            "team-a.orders.conf".to_owned(),
            rendered("team-a/orders", &["a.**"]),
        );
        let cm = ConfigMap {
            data: Some(data),
            ..ConfigMap::default()
        };
        let o = observed(Some(&cm), "team-a.orders.conf", "pitagora/team-a.orders");
        let keys: Vec<&str> = o
            .rendered_elsewhere
            .iter()
            .map(|(k, _)| k.as_str())
            .collect();
        assert_eq!(
            keys,
            ["team-b.payments.conf"],
            "the cluster's own catch-all is not a route"
        );
        let ours = rendered("team-a/orders", &["a.**"]);
        assert_eq!(plan(&ours, &o, None), KeyPlan::InSync);
    }
}
