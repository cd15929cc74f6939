//! Ignore rules: differences a team accepts. Matching changes leave the plan's actions (an
//! action whose every change is ignored is dropped) and are kept in the plan as ignored items,
//! so reports can count and list them; nothing is silently dropped.
//!
//! A repository may add rules for many pipelines at once in an ignore file (`.pitagora-ignore`):
//! [`parse_ignore_file`] validates it (`load::read_ignore_file` reads it), [`merge_repo_rules`] adds its rules to the
//! pipelines they name.

use super::{Action, Change, Op, Plan};
use crate::names::PipelineId;
use crate::resources::ResourceKind;
use crate::spec::IgnoreRule;
use serde::{Deserialize, Serialize};

/// One ignored difference.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Ignored {
    /// The resource's kind.
    pub kind: ResourceKind,
    /// The resource's name.
    pub name: String,
    /// What would have been done.
    pub op: Op,
    /// The ignored field (`None`: an action without fields was ignored, e.g. a missing resource
    /// or a conflict).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
    /// The rule, in words.
    pub rule: String,
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

/// A rule in words, e.g. `kind=DeliveryStream field=BufferingHints.* (buffering tuned by SRE)`.
pub fn describe(rule: &IgnoreRule) -> String {
    let mut parts = Vec::new();
    for (key, value) in [
        ("kind", &rule.kind),
        ("name", &rule.name),
        ("field", &rule.field),
    ] {
        if let Some(v) = value {
            parts.push(format!("{key}={v}"));
        }
    }
    let mut text = parts.join(" ");
    if let Some(reason) = &rule.reason {
        text.push_str(&format!(" ({reason})"));
    }
    text
}

fn matches_resource(rule: &IgnoreRule, action: &Action) -> bool {
    matches_kind_name(rule, action.kind, &action.name)
}

fn matches_kind_name(rule: &IgnoreRule, kind: ResourceKind, name: &str) -> bool {
    rule.kind.as_deref().is_none_or(|k| k == kind.as_str())
        && rule.name.as_deref().is_none_or(|n| glob(n, name))
}

/// Whether `rules` ignore `field` (an AWS field path, set by `spec_field` where there is one) of
/// the resource `kind` `name`: the planners keep the live value of such a field in what they
/// write.
pub fn ignores(
    rules: &[IgnoreRule],
    kind: ResourceKind,
    name: &str,
    field: &str,
    spec_field: Option<&str>,
) -> bool {
    rules.iter().any(|r| {
        matches_kind_name(r, kind, name)
            && r.field
                .as_deref()
                .is_none_or(|f| glob(f, field) || spec_field.is_some_and(|s| glob(f, s)))
    })
}

fn matches_change(rule: &IgnoreRule, change: &Change) -> bool {
    rule.field.as_deref().is_none_or(|f| {
        glob(f, &change.field) || change.spec_field.as_deref().is_some_and(|s| glob(f, s))
    })
}

/// A field of a resource that the plan's stack update writes from the template, and everything
/// under it: a write no ignore rule can keep from happening, so its difference stays shown.
#[derive(Clone, Debug)]
pub struct Overwritten {
    pub kind: ResourceKind,
    pub name: String,
    pub field: String,
}

impl Overwritten {
    /// Whether `field` of the resource `kind` `name` is this field or under it.
    pub fn covers(&self, kind: ResourceKind, name: &str, field: &str) -> bool {
        kind == self.kind
            && name == self.name
            && field
                .strip_prefix(self.field.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
    }
}

/// The ignored item of `change` (or of the whole action) of the action on `(kind, name, op)`,
/// naming `rule`.
fn item(
    (kind, name, op): &(ResourceKind, String, Op),
    change: Option<Change>,
    rule: &IgnoreRule,
) -> Ignored {
    Ignored {
        kind: *kind,
        name: name.clone(),
        op: *op,
        change,
        rule: describe(rule),
    }
}

/// Removes what `rules` ignore from `plan`, returning the ignored items; a change under an
/// `overwritten` field stays.
pub fn apply(plan: &mut Plan, rules: &[IgnoreRule], overwritten: &[Overwritten]) -> Vec<Ignored> {
    let mut ignored = Vec::new();
    if rules.is_empty() {
        return ignored;
    }
    plan.actions.retain_mut(|action| {
        let resource_rules: Vec<&IgnoreRule> = rules
            .iter()
            .filter(|r| matches_resource(r, action))
            .collect();
        if resource_rules.is_empty() {
            return true;
        }
        let at = (action.kind, action.name.clone(), action.op);
        // A change under a field the stack update overwrites stays, whatever the rules.
        let forced = |c: &Change| {
            overwritten
                .iter()
                .any(|o| o.covers(action.kind, &action.name, &c.field))
        };
        // A rule without a field ignores the whole action: each of its changes is listed (one
        // item without a field when it has none), as when every change is ignored by field.
        if let Some(rule) = resource_rules.iter().find(|r| r.field.is_none()) {
            if action.changes.is_empty() {
                ignored.push(item(&at, None, rule));
                return false;
            }
            let (kept, dropped): (Vec<Change>, Vec<Change>) =
                action.changes.drain(..).partition(forced);
            ignored.extend(dropped.into_iter().map(|c| item(&at, Some(c), rule)));
            action.changes = kept;
            return !action.changes.is_empty();
        }
        if action.changes.is_empty() {
            return true;
        }
        action.changes.retain(|change| {
            if forced(change) {
                return true;
            }
            match resource_rules.iter().find(|r| matches_change(r, change)) {
                Some(rule) => {
                    ignored.push(item(&at, Some(change.clone()), rule));
                    false
                }
                None => true,
            }
        });
        !action.changes.is_empty()
    });
    ignored
}

/// The ignore file read when none is named: `.pitagora-ignore` in the working directory.
pub const DEFAULT_IGNORE_FILE: &str = ".pitagora-ignore";

/// One rule of a repository's ignore file: an [`IgnoreRule`] for the pipelines it names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepoIgnoreRule {
    /// `namespace/name` pattern (`*` matches any run of characters); all pipelines when absent.
    #[serde(default)]
    pub pipeline: Option<String>,
    /// What is ignored in those pipelines.
    #[serde(flatten)]
    pub rule: IgnoreRule,
}

impl RepoIgnoreRule {
    /// Whether the rule applies to pipeline `id`.
    pub fn applies_to(&self, id: &PipelineId) -> bool {
        self.pipeline
            .as_deref()
            .is_none_or(|pattern| glob(pattern, &id.to_string()))
    }
}

/// Why a repository's ignore file cannot be used (the message follows the file's path).
#[derive(Debug, thiserror::Error)]
pub enum IgnoreFileError {
    /// The file cannot be read.
    #[error(transparent)]
    Unreadable(#[from] std::io::Error),
    /// The file is not a YAML list of rules.
    #[error(transparent)]
    InvalidYaml(#[from] serde_saphyr::Error),
    /// A rule (numbered from 1) names neither a kind nor a field: it would ignore everything.
    #[error("rule {0}: set kind or field")]
    NoKindOrField(usize),
    /// A rule (numbered from 1) names a kind that does not exist.
    #[error("rule {rule}: unknown kind {kind:?}")]
    UnknownKind {
        /// The rule's number, from 1.
        rule: usize,
        /// The kind it names.
        kind: String,
    },
}

/// Parses and validates the text of an ignore file: a YAML list of rules (an empty document has
/// none), each naming a kind or a field, every kind a known one.
pub fn parse_ignore_file(text: &str) -> Result<Vec<RepoIgnoreRule>, IgnoreFileError> {
    let rules = serde_saphyr::from_str::<Option<Vec<RepoIgnoreRule>>>(text)?.unwrap_or_default();
    for (i, r) in rules.iter().enumerate() {
        check_repo_rule(i + 1, &r.rule)?;
    }
    Ok(rules)
}

/// What the CRD's schema checks for a pipeline's own rules, checked here for the file's.
fn check_repo_rule(number: usize, rule: &IgnoreRule) -> Result<(), IgnoreFileError> {
    if rule.kind.is_none() && rule.field.is_none() {
        return Err(IgnoreFileError::NoKindOrField(number));
    }
    if let Some(kind) = &rule.kind
        && kind.parse::<ResourceKind>().is_err()
    {
        return Err(IgnoreFileError::UnknownKind {
            rule: number,
            kind: kind.clone(),
        });
    }
    Ok(())
}

/// Appends to `ignore` (pipeline `id`'s `spec.drift.ignore`) the repository rules that apply to
/// it, after the pipeline's own rules and in the file's order.
pub fn merge_repo_rules(ignore: &mut Vec<IgnoreRule>, id: &PipelineId, rules: &[RepoIgnoreRule]) {
    ignore.extend(
        rules
            .iter()
            .filter(|r| r.applies_to(id))
            .map(|r| r.rule.clone()),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_wildcards_anywhere() {
        assert!(glob("BufferingHints.*", "BufferingHints.SizeInMBs"));
        assert!(glob("*Prefix", "ErrorOutputPrefix"));
        assert!(glob("/ecs/*-legacy", "/ecs/orders-legacy"));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXcYb"));
        assert!(!glob("BufferingHints", "BufferingHints.SizeInMBs"));
        assert!(glob("*", ""));
    }

    fn repo_rule(pipeline: Option<&str>, field: &str) -> RepoIgnoreRule {
        RepoIgnoreRule {
            pipeline: pipeline.map(str::to_owned),
            rule: IgnoreRule {
                field: Some(field.into()),
                ..IgnoreRule::default()
            },
        }
    }

    fn merged(id: &PipelineId, rules: &[RepoIgnoreRule]) -> Vec<Option<String>> {
        let mut ignore = vec![IgnoreRule {
            kind: Some("Stack".into()),
            ..IgnoreRule::default()
        }];
        merge_repo_rules(&mut ignore, id, rules);
        ignore.into_iter().map(|r| r.field).collect()
    }

    #[test]
    fn a_pipeline_pattern_limits_a_repo_rule_to_the_pipelines_it_matches() {
        let rules = [repo_rule(Some("platform/*"), "BufferingHints.*")];
        assert_eq!(
            merged(&PipelineId::new("platform", "x"), &rules),
            [None, Some("BufferingHints.*".into())]
        );
        assert_eq!(merged(&PipelineId::new("team", "y"), &rules), [None]);
    }

    #[test]
    fn a_repo_rule_without_pipeline_applies_to_every_pipeline() {
        let rules = [
            repo_rule(None, "Prefix"),
            repo_rule(Some("team/*"), "ErrorOutputPrefix"),
        ];
        assert_eq!(
            merged(&PipelineId::new("platform", "x"), &rules),
            [None, Some("Prefix".into())]
        );
        assert_eq!(
            merged(&PipelineId::new("team", "y"), &rules),
            [
                None,
                Some("Prefix".into()),
                Some("ErrorOutputPrefix".into())
            ]
        );
    }

    #[test]
    fn an_ignore_file_is_a_yaml_list_of_rules_and_may_be_empty() {
        let rules = parse_ignore_file(
            "- pipeline: platform/*\n  kind: DeliveryStream\n  field: BufferingHints.*\n  reason: tuned\n",
        )
        .unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].pipeline.as_deref(), Some("platform/*"));
        assert_eq!(rules[0].rule.kind.as_deref(), Some("DeliveryStream"));
        assert_eq!(rules[0].rule.reason.as_deref(), Some("tuned"));
        assert!(parse_ignore_file("").unwrap().is_empty());
    }

    #[test]
    fn an_ignore_file_rule_needs_a_kind_or_field_and_a_known_kind() {
        let error = |text: &str| parse_ignore_file(text).unwrap_err().to_string();
        assert_eq!(
            error("- kind: Stack\n- name: /ecs/*\n"),
            "rule 2: set kind or field"
        );
        assert_eq!(error("- kind: Bucket\n"), "rule 1: unknown kind \"Bucket\"");
        assert!(matches!(
            parse_ignore_file("- colour: red\n"),
            Err(IgnoreFileError::InvalidYaml(_))
        ));
    }
}
