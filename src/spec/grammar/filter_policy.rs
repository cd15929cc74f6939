//! SNS subscription filter policies, as the SNS developer guide's pages "Filter policy
//! constraints", "String value matching", "Numeric value matching", "Key matching" and "AND/OR
//! logic" define them.
//!
//! pitagora subscribes with `FilterPolicyScope` `MessageBody` (the policy filters the S3 event
//! notification's body), so the payload-based rules apply: policies may nest objects, and only
//! the top-level keys count toward the limit of five. Every key maps to an object (a nested
//! policy) or to a non-empty list of conditions; a condition is a string, a number, `true`,
//! `false`, `null` or a one-key operator object. The product of the lists' lengths (the value
//! combinations) is at most 150, numbers lie within ±10⁹ with at most five decimals, and the
//! policy's JSON is at most 256 KiB.
//!
//! `"$or": [{…}, {…}]` (a list of at least two objects none of whose keys is an operator) joins
//! alternative policies. Its combinations and keys are counted here by its largest
//! alternative: a lower bound, so nothing SNS accepts is refused.

use serde_json::{Map, Number, Value};
use thiserror::Error;

/// Top-level keys a policy may have.
pub const MAX_KEYS: usize = 5;
/// Value combinations a policy may have.
pub const MAX_COMBINATIONS: u64 = 150;
/// The size of a policy's JSON, in bytes.
pub const MAX_BYTES: usize = 256 * 1024;
/// The magnitude numbers may have.
const NUMERIC_LIMIT: f64 = 1e9;
/// The digits after the decimal point SNS keeps.
const MAX_DECIMALS: i64 = 5;

/// The operators a condition object may name.
const OPERATORS: [&str; 7] = [
    "prefix",
    "suffix",
    "anything-but",
    "numeric",
    "exists",
    "equals-ignore-case",
    "cidr",
];
const OR: &str = "$or";

/// Why SNS would refuse a filter policy. `at` is where, as `key.key[index]`.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum FilterPolicyError {
    /// Not a JSON object.
    #[error("must be a JSON object")]
    NotAnObject,
    /// `{}`.
    #[error("an empty filter policy matches nothing useful; remove it to receive every message")]
    Empty,
    /// Over 256 KiB.
    #[error("its JSON is {bytes} bytes, larger than SNS's 256 KiB limit")]
    TooLarge {
        /// Its size.
        bytes: usize,
    },
    /// A key mapping to neither an object nor a non-empty list.
    #[error(
        "at {at}: every attribute in an SNS filter policy must map to a non-empty list of conditions, e.g. {{\"key\": [\"value\"]}}, or to an object of such attributes"
    )]
    NotAList {
        /// Where.
        at: String,
    },
    /// More than five top-level keys.
    #[error(
        "has {count} top-level keys; SNS allows at most {MAX_KEYS}: keep the conditions that select most (the function can check the rest itself)"
    )]
    TooManyKeys {
        /// How many.
        count: usize,
    },
    /// More than 150 value combinations.
    #[error(
        "has {count} combinations of values (the product of its lists' lengths); SNS allows at most {MAX_COMBINATIONS}: use fewer values, or a prefix or suffix condition instead of a list"
    )]
    TooManyCombinations {
        /// How many.
        count: u64,
    },
    /// A number beyond ±10⁹.
    #[error("at {at}: {number} is outside SNS's numeric range -1000000000 to 1000000000")]
    NumberOutOfRange {
        /// Where.
        at: String,
        /// The number as written.
        number: String,
    },
    /// A number with more than five decimals.
    #[error(
        "at {at}: {number} has more than 5 digits after the decimal point, and SNS compares numbers to 5; round it"
    )]
    NumberTooPrecise {
        /// Where.
        at: String,
        /// The number as written.
        number: String,
    },
    /// A condition object naming no operator SNS knows.
    #[error(
        "at {at}: {name:?} is not an SNS operator; a condition object is one of prefix, suffix, anything-but, numeric, exists, equals-ignore-case or cidr, and attributes nest outside lists{hint}"
    )]
    UnknownOperator {
        /// Where.
        at: String,
        /// The key as written.
        name: String,
        /// A hint for `$or` written where it is not one.
        hint: &'static str,
    },
    /// A condition object with no key or several.
    #[error(
        "at {at}: a condition object holds exactly one operator, e.g. {{\"prefix\": \"logs/\"}}; write one object per operator"
    )]
    NotOneOperator {
        /// Where.
        at: String,
    },
    /// An operator given an operand it does not take.
    #[error("at {at}: {operator:?} takes {expected}")]
    BadOperand {
        /// Where.
        at: String,
        /// The operator.
        operator: &'static str,
        /// What it takes.
        expected: &'static str,
    },
    /// A list inside a list of conditions.
    #[error(
        "at {at}: a condition is a string, a number, true, false, null or an operator object, not a list"
    )]
    ListInList {
        /// Where.
        at: String,
    },
    /// An alternative of `$or` that is empty.
    #[error("at {at}: an alternative of $or must hold at least one attribute")]
    EmptyAlternative {
        /// Where.
        at: String,
    },
}

/// Every problem SNS would refuse `policy` for (none: it is valid).
pub fn check(policy: &Value) -> Vec<FilterPolicyError> {
    let Value::Object(map) = policy else {
        return vec![FilterPolicyError::NotAnObject];
    };
    if map.is_empty() {
        return vec![FilterPolicyError::Empty];
    }
    let bytes = policy.to_string().len();
    if bytes > MAX_BYTES {
        // Too large to be worth reading further.
        return vec![FilterPolicyError::TooLarge { bytes }];
    }
    let mut errors = Vec::new();
    let shape = object(map, "", &mut errors);
    if errors.is_empty() {
        if shape.keys > MAX_KEYS {
            errors.push(FilterPolicyError::TooManyKeys { count: shape.keys });
        }
        if shape.combinations > MAX_COMBINATIONS {
            errors.push(FilterPolicyError::TooManyCombinations {
                count: shape.combinations,
            });
        }
    }
    errors
}

/// What the limits count of a (sub)policy.
struct Shape {
    /// Its top-level keys.
    keys: usize,
    /// Its value combinations (saturating).
    combinations: u64,
}

/// A policy object at `at`.
fn object(map: &Map<String, Value>, at: &str, errors: &mut Vec<FilterPolicyError>) -> Shape {
    let mut shape = Shape {
        keys: 0,
        combinations: 1,
    };
    for (key, value) in map {
        let here = join(at, key);
        if key == OR
            && let Some(alternatives) = or_alternatives(value)
        {
            // The largest alternative: a lower bound of what SNS counts.
            let mut largest = Shape {
                keys: 0,
                combinations: 1,
            };
            for (i, alternative) in alternatives.iter().enumerate() {
                let at = format!("{here}[{i}]");
                if alternative.is_empty() {
                    errors.push(FilterPolicyError::EmptyAlternative { at });
                    continue;
                }
                let s = object(alternative, &at, errors);
                largest.keys = largest.keys.max(s.keys);
                largest.combinations = largest.combinations.max(s.combinations);
            }
            shape.keys += largest.keys;
            shape.combinations = shape.combinations.saturating_mul(largest.combinations);
            continue;
        }
        shape.keys += 1;
        match value {
            Value::Object(nested) if !nested.is_empty() => {
                let s = object(nested, &here, errors);
                shape.combinations = shape.combinations.saturating_mul(s.combinations);
            }
            Value::Array(conditions) if !conditions.is_empty() => {
                for (i, c) in conditions.iter().enumerate() {
                    condition(c, &format!("{here}[{i}]"), key == OR, errors);
                }
                shape.combinations = shape
                    .combinations
                    .saturating_mul(u64::try_from(conditions.len()).unwrap_or(u64::MAX));
            }
            _ => errors.push(FilterPolicyError::NotAList { at: here }),
        }
    }
    shape
}

/// The alternatives of `"$or": value` when SNS reads it as the OR operator: a list of at least
/// two objects none of whose keys is an operator (otherwise `$or` is a plain attribute name).
fn or_alternatives(value: &Value) -> Option<Vec<&Map<String, Value>>> {
    let list = value.as_array()?;
    let objects: Vec<&Map<String, Value>> = list.iter().filter_map(Value::as_object).collect();
    let is_or = list.len() >= 2
        && objects.len() == list.len()
        && objects
            .iter()
            .all(|o| o.keys().all(|k| !OPERATORS.contains(&k.as_str())));
    is_or.then_some(objects)
}

/// One condition of a list, at `at`.
fn condition(value: &Value, at: &str, under_or: bool, errors: &mut Vec<FilterPolicyError>) {
    match value {
        Value::String(_) | Value::Bool(_) | Value::Null => {}
        Value::Number(n) => number(n, at, errors),
        Value::Array(_) => errors.push(FilterPolicyError::ListInList { at: at.to_owned() }),
        Value::Object(map) => {
            let mut entries = map.iter();
            let (Some((name, operand)), None) = (entries.next(), entries.next()) else {
                errors.push(FilterPolicyError::NotOneOperator { at: at.to_owned() });
                return;
            };
            match OPERATORS.iter().find(|o| **o == name.as_str()) {
                Some(operator) => operation(operator, operand, at, errors),
                None => errors.push(FilterPolicyError::UnknownOperator {
                    at: at.to_owned(),
                    name: name.clone(),
                    hint: if under_or {
                        "; $or joins alternatives only as a list of at least two objects, e.g. \"$or\": [{\"a\": [\"x\"]}, {\"b\": [\"y\"]}]"
                    } else {
                        ""
                    },
                }),
            }
        }
    }
}

/// `{operator: operand}` at `at`.
fn operation(
    operator: &'static str,
    operand: &Value,
    at: &str,
    errors: &mut Vec<FilterPolicyError>,
) {
    let bad = |expected| FilterPolicyError::BadOperand {
        at: at.to_owned(),
        operator,
        expected,
    };
    match operator {
        "prefix" | "suffix" => {
            let ok = operand.is_string() || string_operator(operand, &["equals-ignore-case"]);
            if !ok {
                errors.push(bad("a string, e.g. {\"prefix\": \"logs/\"}"));
            }
        }
        "equals-ignore-case" => {
            if !operand.is_string() {
                errors.push(bad("a string"));
            }
        }
        "exists" => {
            if !operand.is_boolean() {
                errors.push(bad("true or false"));
            }
        }
        "cidr" => {
            if !operand.as_str().is_some_and(is_cidr) {
                errors.push(bad(
                    "an IP address block in CIDR notation, e.g. \"10.0.0.0/24\"",
                ));
            }
        }
        "numeric" => numeric(operand, at, errors, bad),
        _ => anything_but(operand, at, errors, bad),
    }
}

/// `{"prefix": {"equals-ignore-case": "x"}}`-style operands: one of `names` mapped to a string.
fn string_operator(operand: &Value, names: &[&str]) -> bool {
    operand.as_object().is_some_and(|m| {
        m.len() == 1
            && m.iter()
                .all(|(k, v)| names.contains(&k.as_str()) && v.is_string())
    })
}

/// The operand of `anything-but`: a value, a non-empty list of strings or numbers, or a
/// `prefix`, `suffix` or `equals-ignore-case` object.
fn anything_but(
    operand: &Value,
    at: &str,
    errors: &mut Vec<FilterPolicyError>,
    bad: impl Fn(&'static str) -> FilterPolicyError,
) {
    let expected = "a string, a number, a non-empty list of strings or numbers, or {\"prefix\": …}, {\"suffix\": …} or {\"equals-ignore-case\": …}";
    match operand {
        Value::String(_) => {}
        Value::Number(n) => number(n, at, errors),
        Value::Array(items) if !items.is_empty() => {
            for item in items {
                match item {
                    Value::String(_) => {}
                    Value::Number(n) => number(n, at, errors),
                    _ => return errors.push(bad(expected)),
                }
            }
        }
        Value::Object(m)
            if m.len() == 1
                && m.iter().all(|(k, v)| {
                    ["prefix", "suffix", "equals-ignore-case"].contains(&k.as_str())
                        && (v.is_string()
                            || v.as_array()
                                .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string)))
                }) => {}
        _ => errors.push(bad(expected)),
    }
}

/// The operand of `numeric`: `[op, n]` with op one of `=`, `<`, `<=`, `>`, `>=`, or a range
/// `[">" or ">=", low, "<" or "<=", high]`.
fn numeric(
    operand: &Value,
    at: &str,
    errors: &mut Vec<FilterPolicyError>,
    bad: impl Fn(&'static str) -> FilterPolicyError,
) {
    let expected = "[operator, number] with operator =, <, <=, > or >=, or a range such as [\">\", 0, \"<=\", 150]";
    let Some(items) = operand.as_array() else {
        return errors.push(bad(expected));
    };
    let op = |i: usize, allowed: &[&str]| {
        items
            .get(i)
            .and_then(Value::as_str)
            .is_some_and(|o| allowed.contains(&o))
    };
    let shape_ok = match items.len() {
        2 => op(0, &["=", "<", "<=", ">", ">="]),
        4 => op(0, &[">", ">="]) && op(2, &["<", "<="]),
        _ => false,
    };
    let numbers: Vec<&Number> = items
        .iter()
        .skip(1)
        .step_by(2)
        .filter_map(Value::as_number)
        .collect();
    if !shape_ok || numbers.len() != items.len() / 2 {
        return errors.push(bad(expected));
    }
    for n in numbers {
        number(n, at, errors);
    }
}

/// A number SNS compares: within ±10⁹, at most five decimals.
fn number(n: &Number, at: &str, errors: &mut Vec<FilterPolicyError>) {
    let written = n.to_string();
    if n.as_f64().is_none_or(|v| v.abs() > NUMERIC_LIMIT) {
        errors.push(FilterPolicyError::NumberOutOfRange {
            at: at.to_owned(),
            number: written,
        });
    } else if decimals(&written) > MAX_DECIMALS {
        errors.push(FilterPolicyError::NumberTooPrecise {
            at: at.to_owned(),
            number: written,
        });
    }
}

/// The digits after the decimal point of a number written as `123.456` or `1.5e-7`.
fn decimals(written: &str) -> i64 {
    let (mantissa, exponent) = written
        .split_once(['e', 'E'])
        .map_or((written, 0), |(m, e)| (m, e.parse::<i64>().unwrap_or(0)));
    let fraction = mantissa
        .split_once('.')
        .map_or(0, |(_, f)| f.trim_end_matches('0').len());
    i64::try_from(fraction).unwrap_or(i64::MAX) - exponent
}

/// `address/length` (or a bare address) of IPv4 or IPv6.
fn is_cidr(s: &str) -> bool {
    let (address, length) = s.split_once('/').map_or((s, None), |(a, l)| (a, Some(l)));
    let Ok(address) = address.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if address.is_ipv4() { 32 } else { 128 };
    length.is_none_or(|l| l.parse::<u8>().is_ok_and(|l| l <= max) && !l.starts_with('+'))
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_owned()
    } else {
        format!("{at}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decimals_count_digits_after_the_point_through_exponents() {
        for (written, expected) in [
            ("1", 0),
            ("1.5", 1),
            ("1.123456", 6),
            ("1.50000", 1),
            ("1.5e-7", 8),
            ("2e3", -3),
        ] {
            assert_eq!(decimals(written), expected, "{written}");
        }
    }

    #[test]
    fn cidr_blocks_of_both_families_are_recognised() {
        for ok in ["10.0.0.0/24", "10.0.0.1", "2001:db8::/32", "0.0.0.0/0"] {
            assert!(is_cidr(ok), "{ok}");
        }
        for bad in [
            "10.0.0.0/33",
            "10.0.0/24",
            "2001:db8::/129",
            "x",
            "10.0.0.0/",
        ] {
            assert!(!is_cidr(bad), "{bad}");
        }
    }

    #[test]
    fn or_is_the_operator_only_as_a_list_of_two_objects_without_operator_keys() {
        assert!(or_alternatives(&json!([{"a": ["x"]}, {"b": ["y"]}])).is_some());
        assert!(or_alternatives(&json!([{"a": ["x"]}])).is_none());
        assert!(or_alternatives(&json!([{"numeric": 1}, {"prefix": "a"}])).is_none());
        assert!(or_alternatives(&json!(["a", "b"])).is_none());
    }
}
