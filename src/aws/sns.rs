//! SNS ↔ domain values, both directions: the attributes of a topic subscription
//! ([`TopicSubscription`]'s filter policy and its scope). Pure functions: `read` reads with
//! them, apply writes with them.

use crate::resources::*;
use std::collections::HashMap;

/// The attribute holding a subscription's filter policy (JSON).
const FILTER_POLICY: &str = "FilterPolicy";
/// The attribute holding what the filter policy applies to.
const FILTER_POLICY_SCOPE: &str = "FilterPolicyScope";
/// AWS's scope when none is set.
const DEFAULT_SCOPE: &str = "MessageAttributes";

/// The attributes that set `s`'s filter policy, in the order they are set: the scope (AWS's
/// default spelled out), then the policy. Without a policy, the policy attribute is set
/// empty, which removes it.
pub fn attributes_to_sdk(s: &TopicSubscription) -> Vec<(&'static str, String)> {
    match &s.filter_policy {
        Some(policy) => vec![
            (
                FILTER_POLICY_SCOPE,
                s.filter_policy_scope
                    .clone()
                    .unwrap_or_else(|| DEFAULT_SCOPE.into()),
            ),
            (FILTER_POLICY, policy.to_string()),
        ],
        None => vec![(FILTER_POLICY, String::new())],
    }
}

/// The attributes of a new subscription (`Subscribe`): those of [`attributes_to_sdk`] that
/// are not empty; `None` when none is left.
pub fn subscribe_attributes(s: &TopicSubscription) -> Option<HashMap<String, String>> {
    let attributes: HashMap<String, String> = attributes_to_sdk(s)
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    (!attributes.is_empty()).then_some(attributes)
}

/// Fills `s`'s filter policy and scope from a subscription's attributes. A policy that is not
/// JSON is kept as a string, so that it differs from any desired one.
pub fn read_attributes(s: &mut TopicSubscription, attributes: &HashMap<String, String>) {
    s.filter_policy = attributes
        .get(FILTER_POLICY)
        .filter(|p| !p.trim().is_empty())
        .map(|p| serde_json::from_str(p).unwrap_or_else(|_| serde_json::Value::String(p.clone())));
    s.filter_policy_scope = attributes.get(FILTER_POLICY_SCOPE).cloned();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subscription(policy: Option<serde_json::Value>, scope: Option<&str>) -> TopicSubscription {
        TopicSubscription {
            protocol: "lambda".into(),
            endpoint: "arn:aws:lambda:eu-west-1:1:function:f".into(),
            filter_policy: policy,
            filter_policy_scope: scope.map(str::to_owned),
        }
    }

    fn read_back(s: &TopicSubscription) -> TopicSubscription {
        let mut read = subscription(None, None);
        read_attributes(&mut read, &subscribe_attributes(s).unwrap_or_default());
        read
    }

    #[test]
    fn a_filter_policy_reads_back_as_written() {
        let policy = serde_json::json!({"key": [{"prefix": "logs/"}]});
        let s = subscription(Some(policy), Some("MessageBody"));
        assert_eq!(read_back(&s), s);
    }

    #[test]
    fn the_default_scope_is_written_out() {
        let policy = serde_json::json!({"a": ["b"]});
        let s = subscription(Some(policy.clone()), None);
        assert_eq!(
            read_back(&s),
            subscription(Some(policy), Some(DEFAULT_SCOPE))
        );
    }

    #[test]
    fn no_policy_removes_it_and_subscribes_without_attributes() {
        let s = subscription(None, None);
        assert_eq!(attributes_to_sdk(&s), [(FILTER_POLICY, String::new())]);
        assert_eq!(subscribe_attributes(&s), None);
        assert_eq!(read_back(&s), s);
    }

    #[test]
    fn a_policy_that_is_not_json_reads_as_a_string() {
        let mut s = subscription(None, None);
        read_attributes(&mut s, &[(FILTER_POLICY.into(), "{oops".into())].into());
        assert_eq!(
            s.filter_policy,
            Some(serde_json::Value::String("{oops".into()))
        );
    }
}
