//! Fuzzing the inputs: arbitrary text and randomly mutated `LogPipeline` documents through
//! loading (YAML/JSON), the schema, validation and rendering. Nothing panics; every document is
//! accounted for (a pipeline, an invalid document with its errors, or another kind); whatever
//! validates renders to a template. `PITAGORA_FUZZ_CASES` sets the cases per property (CI's
//! short pass uses the default; `PITAGORA_FUZZ_CASES=200000` for a long one).

use crate::common;

use common::{ACCOUNT, REGION};
use pitagora::desired;
use pitagora::load::{Defaults, LoadReport, load_text};
use proptest::prelude::*;
use serde_json::{Value, json};

fn cases() -> u32 {
    std::env::var("PITAGORA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000)
}

const DEFAULTS: Defaults<'static> = Defaults {
    namespace: "fuzz",
    region: Some(REGION),
};

/// Loads `text`; asserts every document is accounted for and every valid one renders.
fn load_and_render(text: &str) -> LoadReport {
    let mut report = LoadReport::default();
    load_text(text, "fuzz.yaml", DEFAULTS, &mut report);
    for invalid in &report.invalid {
        assert!(
            !invalid.errors.is_empty(),
            "an invalid document without errors"
        );
        for e in &invalid.errors {
            assert!(!e.to_string().is_empty());
        }
    }
    for loaded in &report.pipelines {
        let d = desired::from_spec(loaded.id(), loaded.valid.spec(), ACCOUNT, REGION)
            .expect("a spec that loaded as valid renders");
        assert!(d.stack.template["Resources"].is_object());
        serde_json::to_string(&d.stack.template).unwrap();
    }
    report
}

/// The documents mutations start from: the examples and a few shapes of specs.
fn seeds() -> Vec<Value> {
    let mut out = Vec::new();
    for file in ["minimal.yaml", "full-chain.yaml", "beside-fluentd.yaml"] {
        let text = std::fs::read_to_string(common::example_path(file)).unwrap();
        out.push(serde_saphyr::from_str::<Value>(&text).unwrap());
    }
    out.push(json!({
        "apiVersion": "pitagora.dev/v1alpha1",
        "kind": "LogPipeline",
        "metadata": {"name": "orders", "namespace": "team-a"},
        "spec": {
            "sources": {"logGroups": ["/ecs/orders"], "filterPattern": "ERROR"},
            "delivery": {"buffering": {"sizeMiB": 5, "intervalSeconds": 60}, "compression": "GZIP"},
            "storage": {"retentionDays": 30, "deletionPolicy": "Delete"},
            "drift": {"policy": "Report", "checkIntervalSeconds": 600}
        }
    }));
    out
}

/// A random value of any JSON type, with the strings AWS names and YAML make hard.
fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop_oneof![
            Just(0i64),
            Just(-1),
            Just(1),
            Just(128),
            Just(129),
            Just(900),
            Just(36501)
        ]
        .prop_map(|n| json!(n)),
        ".{0,40}".prop_map(Value::String),
        "[a-z0-9/._#*:-]{0,80}".prop_map(Value::String),
        prop_oneof![
            Just("arn:aws:lambda:eu-west-1:123456789012:function:f"),
            Just("arn:aws-cn:lambda:eu-west-1:123456789012:function:f"),
            Just("arn:aws:lambda:us-east-1:123456789012:function:f"),
            Just("/"),
            Just(""),
            Just("/ecs/"),
            Just("/pitagora/canary/x"),
            Just("\u{202e}/ecs/orders"),
            Just("ｅｃｓ"),
            Just("GZIP"),
            Just("Delete"),
            Just("shadow"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
        Just(json!([])),
        Just(json!({})),
    ]
}

/// One mutation: at a random path of `doc`, replace the value, remove the key, or add one.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Vec<usize>, Value),
    Remove(Vec<usize>),
    Add(Vec<usize>, String, Value),
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    let path = proptest::collection::vec(0usize..16, 0..6);
    prop_oneof![
        (path.clone(), arb_leaf()).prop_map(|(p, v)| Mutation::Replace(p, v)),
        path.clone().prop_map(Mutation::Remove),
        (path, "[a-zA-Z]{1,12}", arb_leaf()).prop_map(|(p, k, v)| Mutation::Add(p, k, v)),
    ]
}

/// Follows `path` (each step picks a child by index modulo the count) as far as it goes.
fn walk<'a>(doc: &'a mut Value, path: &[usize]) -> &'a mut Value {
    let mut at = doc;
    for step in path {
        let len = match &*at {
            Value::Object(m) => m.len(),
            Value::Array(a) => a.len(),
            _ => 0,
        };
        if len == 0 {
            break;
        }
        at = match at {
            Value::Object(m) => m.values_mut().nth(step % len).unwrap(),
            Value::Array(a) => &mut a[step % len],
            _ => unreachable!(),
        };
    }
    at
}

fn apply(doc: &mut Value, m: &Mutation) {
    match m {
        Mutation::Replace(p, v) => *walk(doc, p) = v.clone(),
        Mutation::Remove(p) => {
            let (last, parent) = p.split_last().map_or((0, &[][..]), |(l, r)| (*l, r));
            match walk(doc, parent) {
                Value::Object(map) if !map.is_empty() => {
                    let key = map.keys().nth(last % map.len()).unwrap().clone();
                    map.remove(&key);
                }
                Value::Array(a) if !a.is_empty() => {
                    let i = last % a.len();
                    a.remove(i);
                }
                _ => {}
            }
        }
        Mutation::Add(p, k, v) => {
            if let Value::Object(map) = walk(doc, p) {
                map.insert(k.clone(), v.clone());
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_and_every_document_is_accounted_for(text in ".{0,400}") {
        load_and_render(&text);
    }

    #[test]
    fn yaml_shaped_text_never_panics(text in "([a-z]{1,6}|: |- |\n|  |&a |\\*a |<<: |\\[|\\]|\\{|\\}|,|\"|'|#|!!str |---\n|\\|\n|>\n|[0-9]{1,4}){0,80}") {
        load_and_render(&text);
    }

    #[test]
    fn mutated_documents_are_loaded_validated_and_rendered_without_panic(
        seed in 0usize..4,
        mutations in proptest::collection::vec(arb_mutation(), 1..6),
        as_json in any::<bool>(),
    ) {
        let mut doc = seeds()[seed].clone();
        for m in &mutations {
            apply(&mut doc, m);
        }
        let text = if as_json {
            serde_json::to_string(&doc).unwrap()
        } else {
            serde_saphyr::to_string(&doc).unwrap_or_else(|_| serde_json::to_string(&doc).unwrap())
        };
        let report = load_and_render(&text);
        prop_assert_eq!(
            report.pipelines.len() + report.invalid.len() + report.skipped.len(),
            usize::from(!doc.is_null()),
            "{}", text
        );
    }
}
