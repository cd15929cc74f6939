//! A plan's drift items: its differences in the one shape ([`DriftItem`], a status value) they
//! take in the CI report, the controller's status, its events and its metrics.

use crate::plan::{Action, Op, Plan};
use crate::spec::{DriftAction, DriftItem};

impl From<Op> for DriftAction {
    fn from(op: Op) -> Self {
        match op {
            Op::Create => DriftAction::Create,
            Op::Update => DriftAction::Update,
            Op::Delete => DriftAction::Delete,
            Op::Conflict => DriftAction::Conflict,
        }
    }
}

fn items_of(action: &Action) -> Vec<DriftItem> {
    let item = |field: Option<String>, spec_field: Option<String>, desired, actual| DriftItem {
        kind: action.kind,
        resource: action.name.clone(),
        field,
        spec_field,
        desired,
        actual,
        action: action.op.into(),
        reason: action.reason.clone(),
        ignored_by: None,
    };
    if action.changes.is_empty() {
        return vec![item(None, None, None, None)];
    }
    action
        .changes
        .iter()
        .map(|c| {
            let (field, spec) = (Some(c.field.clone()), c.spec_field.clone());
            item(field, spec, c.desired.clone(), c.actual.clone())
        })
        .collect()
}

/// A plan's drift items: one per changed field (or per action without fields), then one per
/// resource waiting in AWS.
pub fn items(plan: &Plan) -> Vec<DriftItem> {
    let mut items: Vec<DriftItem> = plan.actions.iter().flat_map(items_of).collect();
    items.extend(plan.pending.iter().map(|p| DriftItem {
        kind: p.kind,
        resource: p.name.clone(),
        field: None,
        spec_field: None,
        desired: None,
        actual: None,
        action: DriftAction::Wait,
        reason: p.reason.clone(),
        ignored_by: None,
    }));
    items
}

/// The items `drift.ignore` accepted in `plan`, each naming its rule.
pub fn ignored_items(plan: &Plan) -> Vec<DriftItem> {
    plan.ignored
        .iter()
        .map(|i| DriftItem {
            kind: i.kind,
            resource: i.name.clone(),
            field: i.change.as_ref().map(|c| c.field.clone()),
            spec_field: i.change.as_ref().and_then(|c| c.spec_field.clone()),
            desired: i.change.as_ref().and_then(|c| c.desired.clone()),
            actual: i.change.as_ref().and_then(|c| c.actual.clone()),
            action: i.op.into(),
            reason: "accepted by an ignore rule".into(),
            ignored_by: Some(i.rule.clone()),
        })
        .collect()
}

/// Both values of a difference, each cut to at most `max` characters (ellipses included) around
/// the place where they first differ: a shared beginning is elided (`…`), never the difference.
/// Values that fit are returned as they are.
pub fn shorten_pair(desired: &str, actual: &str, max: usize) -> (String, String) {
    let (d, a): (Vec<char>, Vec<char>) = (desired.chars().collect(), actual.chars().collect());
    if (d.len() <= max && a.len() <= max) || max < 8 {
        return (cut(&d, 0, max), cut(&a, 0, max));
    }
    let first = d.iter().zip(&a).take_while(|(x, y)| x == y).count();
    // Keep a third of the room for what precedes the difference, as context.
    let start = if first < max * 2 / 3 {
        0
    } else {
        first - max / 3
    };
    (cut(&d, start, max), cut(&a, start, max))
}

/// `s` from `start`, at most `max` characters with the ellipses that say what was cut.
fn cut(s: &[char], start: usize, max: usize) -> String {
    let start = start.min(s.len());
    let lead = usize::from(start > 0);
    let room = max.saturating_sub(lead);
    let trail = s.len() - start > room;
    let end = if trail { start + room - 1 } else { s.len() };
    let mut out = String::with_capacity(max + 6);
    if lead == 1 {
        out.push('…');
    }
    out.extend(&s[start..end]);
    if trail {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_kept_whole() {
        assert_eq!(
            shorten_pair("raw/", "newraw/", 20),
            ("raw/".into(), "newraw/".into())
        );
    }

    #[test]
    fn a_long_shared_beginning_is_elided_so_the_difference_shows() {
        let common = "x".repeat(300);
        let (d, a) = shorten_pair(
            &format!("{common}WANT-tail"),
            &format!("{common}FOUND-tail"),
            40,
        );
        assert!(d.starts_with('…') && d.contains("WANT"), "{d}");
        assert!(a.starts_with('…') && a.contains("FOUND"), "{a}");
        assert!(d.chars().count() <= 40 && a.chars().count() <= 40);
    }

    #[test]
    fn a_difference_near_the_start_keeps_the_start_and_cuts_the_end() {
        let tail = "y".repeat(300);
        let (d, a) = shorten_pair(&format!("ab{tail}"), &format!("ac{tail}"), 40);
        assert!(d.starts_with("ab") && d.ends_with('…'), "{d}");
        assert!(a.starts_with("ac") && a.ends_with('…'), "{a}");
        assert_eq!(d.chars().count(), 40);
    }
}
