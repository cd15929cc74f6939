//! Ignore rules: differences a team accepts. Matching changes leave the plan's actions (an
//! action whose every change is ignored is dropped) and are kept in the plan as ignored items,
//! so reports can count and list them; nothing is silently dropped.

use super::{Action, Change, Op, Plan};
use crate::resources::ResourceKind;
use crate::spec::IgnoreRule;
use serde::Serialize;

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
    rule.kind
        .as_deref()
        .is_none_or(|k| k == action.kind.as_str())
        && rule.name.as_deref().is_none_or(|n| glob(n, &action.name))
}

fn matches_change(rule: &IgnoreRule, change: &Change) -> bool {
    rule.field.as_deref().is_none_or(|f| {
        glob(f, &change.field) || change.spec_field.as_deref().is_some_and(|s| glob(f, s))
    })
}

/// Removes what `rules` ignore from `plan`, returning the ignored items.
pub fn apply(plan: &mut Plan, rules: &[IgnoreRule]) -> Vec<Ignored> {
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
        // A rule without a field ignores the whole action: each of its changes is listed (one
        // item without a field when it has none), as when every change is ignored by field.
        if let Some(rule) = resource_rules.iter().find(|r| r.field.is_none()) {
            let changes: Vec<Option<Change>> = if action.changes.is_empty() {
                vec![None]
            } else {
                action.changes.iter().cloned().map(Some).collect()
            };
            for change in changes {
                ignored.push(Ignored {
                    kind: action.kind,
                    name: action.name.clone(),
                    op: action.op,
                    change,
                    rule: describe(rule),
                });
            }
            return false;
        }
        if action.changes.is_empty() {
            return true;
        }
        action.changes.retain(|change| {
            match resource_rules.iter().find(|r| matches_change(r, change)) {
                Some(rule) => {
                    ignored.push(Ignored {
                        kind: action.kind,
                        name: action.name.clone(),
                        op: action.op,
                        change: Some(change.clone()),
                        rule: describe(rule),
                    });
                    false
                }
                None => true,
            }
        });
        !action.changes.is_empty()
    });
    ignored
}

#[cfg(test)]
mod tests {
    use super::glob;

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
}
