//! Reading files through the library (`pitagora::load`): what a file holds beside its pipelines
//! and how it is written. Every document must count — another kind, group or version is an error
//! naming the document, the field and what was expected; an empty document declares nothing;
//! kustomize's own file is skipped with a note. A pipeline declared twice is refused in each
//! place. Bytes that are not UTF-8, non-finite numbers and a misshapen `metadata` are named by
//! field and line, and what `kubectl get -o yaml` prints reads back. (One mistake per document:
//! tests/unit/spec_corpus.rs; through the binary: tests/cli/offline.rs.)

use crate::common;

use pitagora::load::{Defaults, LoadReport, load_bytes, load_paths, load_text};

const DEFAULTS: Defaults = Defaults {
    namespace: "default",
    region: Some("eu-west-1"),
};

fn pipeline(name: &str) -> String {
    format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: {name}\n  \
         namespace: team-a\nspec:\n  sources:\n    logGroups: [/ecs/orders]\n"
    )
}

/// The report of files read in order (`(name, text)`), duplicates refused as `load_paths` does.
fn read(files: &[(&str, &str)]) -> LoadReport {
    let mut report = LoadReport::default();
    for (name, text) in files {
        load_text(text, name, DEFAULTS, &mut report);
    }
    report.refuse_duplicates();
    report
}

/// Each invalid document as `source: path = value: message` lines.
fn problems(report: &LoadReport) -> Vec<String> {
    report
        .invalid
        .iter()
        .flat_map(|i| i.errors.iter().map(move |e| format!("{}: {e}", i.source)))
        .collect()
}

#[test]
fn a_document_of_another_kind_group_or_version_beside_a_pipeline_is_invalid_naming_its_field() {
    let rest = "metadata:\n  name: other\n  namespace: team-a\nspec: {}\n";
    // Second document of p.yaml, which starts on line 10.
    let cases = [
        (
            "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipelines\n",
            "kind = \"LogPipelines\": line 11: not a kind pitagora reads; did you mean LogPipeline?",
        ),
        (
            "apiVersion: pitagora.dev/v1\nkind: LogPipeline\n",
            "apiVersion = \"pitagora.dev/v1\": line 10: unsupported version; this pitagora \
             serves pitagora.dev/v1alpha1",
        ),
        (
            "apiVersion: pitagora.io/v1alpha1\nkind: LogPipeline\n",
            "apiVersion = \"pitagora.io/v1alpha1\": line 10: not pitagora's API group; a \
             LogPipeline's apiVersion is pitagora.dev/v1alpha1",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\n",
            "kind = \"ConfigMap\": line 11: v1 ConfigMap is not a LogPipeline: pitagora reads \
             only documents with apiVersion: pitagora.dev/v1alpha1 and kind: LogPipeline; keep \
             other manifests out of the files and directories given to -f",
        ),
        (
            "apiVersion: pitagora.dev/v1alpha1\n",
            "kind = <unset>: document at line 10: required; set kind: LogPipeline",
        ),
    ];
    for (header, expected) in cases {
        let text = format!("{}---\n{header}{rest}", pipeline("orders"));
        let report = read(&[("p.yaml", &text)]);
        assert_eq!(report.pipelines.len(), 1, "{header}");
        assert_eq!(report.invalid.len(), 1, "{header}");
        assert_eq!(report.invalid[0].id, None, "{header}");
        assert_eq!(problems(&report), [format!("p.yaml#2: {expected}")]);
    }
}

#[test]
fn a_kind_that_is_not_a_typo_of_log_pipeline_under_its_group_is_named_with_the_served_kind() {
    let text = "apiVersion: pitagora.dev/v1alpha1\nkind: Pipeline\nmetadata:\n  name: x\n";
    let report = read(&[("p.yaml", text)]);
    assert_eq!(
        problems(&report),
        ["p.yaml: kind = \"Pipeline\": line 2: pitagora.dev serves only kind: LogPipeline"]
    );
}

#[test]
fn empty_documents_declare_nothing() {
    let text = format!("---\n{}---\n---\n# a comment\n", pipeline("orders"));
    let report = read(&[("p.yaml", &text)]);
    assert!(report.invalid.is_empty(), "{:?}", problems(&report));
    assert_eq!(report.pipelines.len(), 1);
}

#[test]
fn a_pipeline_declared_in_two_files_is_refused_in_both_each_naming_the_other() {
    let report = read(&[
        ("a.yaml", &pipeline("orders")),
        ("b.yaml", &pipeline("orders")),
    ]);
    assert!(report.pipelines.is_empty());
    let mut lines = problems(&report);
    lines.sort();
    assert_eq!(
        lines,
        [
            "a.yaml: metadata.name = team-a/orders: LogPipeline team-a/orders is declared again \
             in b.yaml; declare each pipeline once",
            "b.yaml: metadata.name = team-a/orders: LogPipeline team-a/orders is already \
             declared in a.yaml; declare each pipeline once",
        ]
    );
}

#[test]
fn a_pipeline_declared_twice_in_one_file_names_each_document_and_its_line() {
    let text = format!("{}---\n{}", pipeline("orders"), pipeline("orders"));
    let report = read(&[("p.yaml", &text)]);
    assert!(report.pipelines.is_empty());
    let lines = problems(&report);
    assert!(
        lines.contains(
            &"p.yaml#1: metadata.name = team-a/orders: LogPipeline team-a/orders is \
             declared again in p.yaml#2 (line 10); declare each pipeline once"
                .to_owned()
        ),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("p.yaml#2: ") && l.contains("is already declared in p.yaml#1;")),
        "{lines:#?}"
    );
}

#[test]
fn a_pipeline_declared_five_times_names_three_other_places_and_counts_the_rest() {
    let one = pipeline("orders");
    let files: Vec<(String, &str)> = (1..=5)
        .map(|i| (format!("{i}.yaml"), one.as_str()))
        .collect();
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), *t)).collect();
    let report = read(&files);
    assert_eq!(report.invalid.len(), 5);
    assert!(
        problems(&report).contains(
            &"1.yaml: metadata.name = team-a/orders: LogPipeline team-a/orders is declared again \
              in 2.yaml, 3.yaml, 4.yaml and 1 more; declare each pipeline once"
                .to_owned()
        ),
        "{:#?}",
        problems(&report)
    );
}

#[test]
fn an_invalid_document_declaring_a_valid_pipelines_name_makes_both_invalid() {
    let broken = pipeline("orders").replace("[/ecs/orders]", "[]");
    let report = read(&[("a.yaml", &pipeline("orders")), ("b.yaml", &broken)]);
    assert!(report.pipelines.is_empty());
    let lines = problems(&report);
    assert!(
        lines.iter().any(|l| l.starts_with("a.yaml: metadata.name")),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("b.yaml: spec.sources")),
        "{lines:#?}"
    );
}

#[test]
fn bytes_that_are_not_utf8_make_one_error_naming_the_byte_and_the_line() {
    let mut bytes = pipeline("orders").into_bytes();
    // A lead byte without its continuation, after "# ".
    let offset = bytes.len() + 2;
    bytes.extend_from_slice(b"# \xc3\x28\n");
    let mut report = LoadReport::default();
    load_bytes(&bytes, "p.yaml", DEFAULTS, &mut report);
    assert!(report.pipelines.is_empty());
    assert_eq!(
        problems(&report),
        [format!(
            "p.yaml: (document) = <not UTF-8>: not valid UTF-8 at byte {offset} (line 9); save \
             the file as UTF-8"
        )]
    );
}

#[test]
fn non_finite_numbers_are_named_by_field_and_line_not_read_as_unset() {
    let text = pipeline("orders") + "  delivery:\n    buffering:\n      intervalSeconds: .inf\n";
    let report = read(&[("p.yaml", &text)]);
    assert_eq!(
        problems(&report),
        [
            "p.yaml: spec.delivery.buffering.intervalSeconds = .inf: line 11: not a finite number \
          (JSON and the API server have no NaN or infinity); write a number, or quote the value \
          if text is meant"
        ]
    );
}

#[test]
fn metadata_fields_of_the_wrong_shape_are_named_by_field_and_line() {
    let cases = [
        (
            "  labels: [team-a]\n",
            "metadata.labels = [\"team-a\"]: line 6: must be a mapping of text to text, not a list",
        ),
        (
            "  annotations: {a: true}\n",
            "metadata.annotations.a = true: line 6: must be text (quote it), not a boolean",
        ),
        (
            "  finalizers: [1]\n",
            "metadata.finalizers[0] = 1: line 6: must be text (quote it), not a number",
        ),
        (
            "  generation: \"1\"\n",
            "metadata.generation = \"1\": line 6: must be an integer, not text",
        ),
        (
            "  ownerReferences: [x]\n",
            "metadata.ownerReferences[0] = \"x\": line 6: must be a mapping, not text",
        ),
        (
            "  nmae: x\n",
            "metadata.nmae = \"x\": line 6: unknown field; did you mean \"name\"?",
        ),
    ];
    for (field, expected) in cases {
        let text = pipeline("orders").replace(
            "  namespace: team-a\n",
            &format!("  namespace: team-a\n{field}"),
        );
        let report = read(&[("p.yaml", &text)]);
        assert_eq!(
            problems(&report),
            [format!("p.yaml: {expected}")],
            "{field}"
        );
    }
}

#[test]
fn what_kubectl_get_prints_reads_back_as_valid() {
    let text = r#"apiVersion: pitagora.dev/v1alpha1
kind: LogPipeline
metadata:
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: |
      {"apiVersion":"pitagora.dev/v1alpha1","kind":"LogPipeline"}
  creationTimestamp: "2026-01-02T03:04:05Z"
  deletionTimestamp: null
  finalizers:
  - pitagora.dev/cleanup
  generation: 3
  labels:
    team: a
  managedFields:
  - apiVersion: pitagora.dev/v1alpha1
    fieldsType: FieldsV1
    fieldsV1:
      f:spec: {}
    manager: kubectl-client-side-apply
    operation: Update
    time: "2026-01-02T03:04:05Z"
  name: orders
  namespace: team-a
  ownerReferences:
  - apiVersion: v1
    kind: ConfigMap
    name: owner
    uid: 0c8f3f9e-1d2b-4c5a-9e6f-7a8b9c0d1e2f
  resourceVersion: "12345"
  uid: 5f0c9a3e-2b1d-4e6f-8a7b-9c0d1e2f3a4b
spec:
  sources:
    logGroups: [/ecs/orders]
status:
  observedGeneration: 3
"#;
    let report = read(&[("get.yaml", text)]);
    assert!(report.invalid.is_empty(), "{:#?}", problems(&report));
    assert_eq!(report.pipelines.len(), 1);
}

#[test]
fn a_kustomization_file_in_a_directory_is_skipped_with_a_note() {
    let dir = common::scratch_dir("kustomization");
    std::fs::write(dir.join("kustomization.yaml"), "resources: [orders.yaml]\n").unwrap();
    std::fs::write(dir.join("orders.yaml"), pipeline("orders")).unwrap();
    let report = load_paths(std::slice::from_ref(&dir), DEFAULTS).unwrap();
    common::remove_scratch_dir(&dir);
    assert_eq!(report.pipelines.len(), 1);
    assert!(report.invalid.is_empty(), "{:#?}", problems(&report));
    let skipped: Vec<(&str, &str)> = report
        .skipped
        .iter()
        .map(|s| (s.source.as_str(), s.reason.as_str()))
        .collect();
    let source = dir.join("kustomization.yaml").display().to_string();
    assert_eq!(
        skipped,
        [(source.as_str(), "kustomize's build file, not a manifest")]
    );
}
