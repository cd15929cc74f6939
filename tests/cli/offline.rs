//! The `pitagora` command line, run as a separate process: `--version`, `--help`, `crd`,
//! `validate` and `render`, their output and their exit codes (0 success, 1 invalid input or
//! error).

use crate::common;

use common::binary::{assert_exit, describe, offline, stderr, stdout};

use serde_json::Value;
use std::path::{Path, PathBuf};

/// A scratch directory that is removed when the test ends (also when it fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(label: &str) -> Self {
        Self(common::scratch_dir(label))
    }

    /// Writes `text` to `relative` (creating folders) and returns its path as a string.
    fn write(&self, relative: &str, text: &str) -> String {
        let path = self.0.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn path(&self) -> String {
        self.0.display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        common::remove_scratch_dir(&self.0);
    }
}

fn pipeline_yaml(namespace: &str, name: &str, spec: &str) -> String {
    format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: {name}\n  namespace: {namespace}\nspec:\n{spec}"
    )
}

const MINIMAL_SPEC: &str = "  sources:\n    logGroups: [/ecs/orders]\n";

/// The indented error lines under an "is invalid" header.
fn error_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| l.starts_with("  ")).collect()
}

fn yaml_value(text: &str) -> Value {
    serde_saphyr::from_str(text).unwrap_or_else(|e| panic!("not YAML ({e}):\n{text}"))
}

// ---- version, help, crd ------------------------------------------------------------------------

#[test]
fn version_prints_the_package_version_and_succeeds() {
    let o = offline(&["--version"]);
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o).trim(),
        format!("pitagora {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn help_describes_every_command_and_succeeds() {
    let o = offline(&["--help"]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    for command in ["crd", "validate", "render"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(command)),
            "{command} missing from help:\n{text}"
        );
    }
}

#[test]
fn a_command_without_its_required_files_fails_naming_the_option() {
    let o = offline(&["validate"]);
    assert!(!o.status.success(), "{}", describe(&o));
    assert!(stderr(&o).contains("--filename"), "{}", describe(&o));
}

#[test]
fn crd_prints_exactly_the_checked_in_crd_file() {
    let o = offline(&["crd"]);
    assert_exit(&o, 0);
    let on_disk = std::fs::read_to_string(common::repo_path("crds/logpipeline.yaml")).unwrap();
    assert!(
        stdout(&o) == on_disk,
        "`pitagora crd` differs from crds/logpipeline.yaml; regenerate it with `cargo run -- crd > crds/logpipeline.yaml`"
    );
    assert_eq!(stdout(&o), pitagora::spec::schema::crd_yaml());
}

// ---- iam-policies and the CloudFormation role ----------------------------------------------------

#[test]
fn a_cloudformation_role_that_is_not_a_role_arn_is_refused_naming_the_flag_and_the_form() {
    for bad in [
        "pitagora-cloudformation",
        "arn:aws:iam::123456789012:user/pitagora",
        "arn:aws:iam::1234:role/pitagora/pitagora-cloudformation",
    ] {
        let o = offline(&["drift", "-f", "examples", "--cloudformation-role-arn", bad]);
        assert_exit(&o, 2);
        let err = stderr(&o);
        assert!(
            err.contains("--cloudformation-role-arn")
                && err.contains("arn:aws:iam::<12-digit account>:role/"),
            "{}",
            describe(&o)
        );
    }
}

#[test]
fn the_trust_policy_without_its_account_is_refused_naming_the_flag() {
    let o = offline(&["iam-policies", "cloudformation-role-trust"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("--account-id"), "{}", describe(&o));
}

// ---- validate ----------------------------------------------------------------------------------

#[test]
fn validate_examples_succeeds_and_names_each_pipeline() {
    let o = offline(&["validate", "-f", "examples/"]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for (file, id) in [
        ("minimal.yaml", "team-a/orders"),
        ("full-chain.yaml", "platform/ecs-logs"),
        ("beside-fluentd.yaml", "team-b/payments"),
    ] {
        assert!(
            out.lines()
                .any(|l| l.contains(file) && l.ends_with(&format!("LogPipeline {id} is valid"))),
            "{file} ({id}) not reported valid:\n{}",
            describe(&o)
        );
    }
    assert_eq!(out.lines().count(), 3, "{}", describe(&o));
}

#[test]
fn validate_reports_five_mistakes_as_five_lines_naming_their_fields() {
    let dir = Scratch::new("five-mistakes");
    let spec = "  sources:
    logGroups: [/ecs/orders]
  delivery:
    buffering:
      sizeMiB: 200
    compresion: GZIP
  storage:
    deletionPolicy: Keep
  transform:
    lambdaArn: arn:aws:lambda:eu-west-1:123456789012:function:f
    outputPrefix: raw/processed/
  cutover:
    stage: Shadow
";
    let file = dir.write("broken.yaml", &pipeline_yaml("team-a", "broken", spec));
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{file}: LogPipeline team-a/broken is invalid (5 errors):"
        )),
        "{}",
        describe(&o)
    );
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 5, "{}", describe(&o));
    for (path, hint) in [
        ("spec.delivery.buffering.sizeMiB = 200", "1–128"),
        (
            "spec.delivery.compresion = \"GZIP\"",
            "did you mean \"compression\"?",
        ),
        (
            "spec.storage.deletionPolicy = \"Keep\"",
            "\"Retain\", \"Delete\"",
        ),
        (
            "spec.transform.outputPrefix = \"raw/processed/\"",
            "spec.delivery.prefix",
        ),
        ("spec.cutover.stage = Shadow", "spec.legacy"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.trim_start().starts_with(path) && l.contains(hint)),
            "no line for {path} mentioning {hint}:\n{err}"
        );
    }
    assert!(stdout(&o).is_empty(), "{}", describe(&o));
}

#[test]
fn validate_reports_semantic_mistakes_even_when_a_required_field_breaks_the_schema() {
    // A subscriber whose (required) name breaks its pattern must not hide the recursion and
    // overlap mistakes elsewhere in the same document.
    let dir = Scratch::new("required-field");
    let spec = "  sources:
    logGroupPrefixes: [/aws/]
  transform:
    lambdaArn: arn:aws:lambda:eu-west-1:123456789012:function:f
    outputPrefix: raw/processed/
  fanout:
    subscribers:
      - name: Bad_Name
        lambdaArn: arn:aws:lambda:eu-west-1:123456789012:function:g
";
    let file = dir.write("p.yaml", &pipeline_yaml("team-a", "p", spec));
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    for path in [
        "spec.fanout.subscribers[0].name = ",
        "spec.sources.logGroupPrefixes[0] = ",
        "spec.transform.outputPrefix = ",
    ] {
        assert!(
            error_lines(&err)
                .iter()
                .any(|l| l.trim_start().starts_with(path)),
            "no error at {path}:\n{err}"
        );
    }
    assert_eq!(error_lines(&err).len(), 3, "{err}");
}

#[test]
fn validate_reports_semantic_mistakes_even_when_required_fields_are_missing() {
    let dir = Scratch::new("missing-required");
    let spec = "  sources:
    logGroupPrefixes: [/aws/]
  transform:
    outputPrefix: processed/
  storage:
    transition: {storageClass: GLACIER}
  cutover:
    stage: Primary
";
    let file = dir.write("p.yaml", &pipeline_yaml("team-a", "orders", spec));
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    for line in [
        "spec.transform.lambdaArn = <unset>: required",
        "spec.storage.transition.afterDays = <unset>: required",
        "spec.sources.logGroupPrefixes[0] = \"/aws/\"",
        "spec.cutover.stage = Primary",
    ] {
        assert!(
            error_lines(&err)
                .iter()
                .any(|l| l.trim_start().starts_with(line)),
            "no line starting {line}:\n{err}"
        );
    }
    assert_eq!(error_lines(&err).len(), 4, "{err}");
}

#[test]
fn validate_names_list_entries_by_their_position_in_the_file() {
    // The first entry breaks the schema; the second is the pipeline's own error log group.
    let dir = Scratch::new("list-positions");
    let own = pitagora::spec::validate::own_error_log_group(&common::id());
    let spec = format!("  sources:\n    logGroups: [\"bad name\", \"{own}\"]\n");
    let file = dir.write("p.yaml", &pipeline_yaml("team-a", "orders", &spec));
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    let lines = error_lines(&err);
    assert_eq!(lines.len(), 2, "{err}");
    assert!(
        lines[0].contains("spec.sources.logGroups[0] = \"bad name\""),
        "{err}"
    );
    assert!(
        lines[1].contains(&format!("spec.sources.logGroups[1] = \"{own}\"")),
        "{err}"
    );
}

#[test]
fn validate_names_list_entries_by_their_position_also_past_the_ninth() {
    let dir = Scratch::new("list-positions-10");
    let own = pitagora::spec::validate::own_error_log_group(&common::id());
    let mut groups: Vec<String> = (0..9).map(|i| format!("\"/g{i}\"")).collect();
    groups.extend([
        "\"bad 9\"".into(),
        "\"bad 10\"".into(),
        format!("\"{own}\""),
    ]);
    let spec = format!("  sources:\n    logGroups: [{}]\n", groups.join(", "));
    let file = dir.write("p.yaml", &pipeline_yaml("team-a", "orders", &spec));
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    for line in [
        "spec.sources.logGroups[9] = \"bad 9\"".to_owned(),
        "spec.sources.logGroups[10] = \"bad 10\"".to_owned(),
        format!("spec.sources.logGroups[11] = \"{own}\""),
    ] {
        assert!(
            error_lines(&err)
                .iter()
                .any(|l| l.trim_start().starts_with(&line)),
            "no line starting {line}:\n{err}"
        );
    }
    assert_eq!(error_lines(&err).len(), 3, "{err}");
}

#[test]
fn validate_refuses_another_kind_beside_a_pipeline_naming_the_document_and_what_is_expected() {
    let dir = Scratch::new("multi-doc");
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  a: b\n---\n{}",
        pipeline_yaml("team-a", "orders", MINIMAL_SPEC)
    );
    let file = dir.write("all.yaml", &text);
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("{file}#1: document is invalid (1 error):")),
        "{}",
        describe(&o)
    );
    assert!(
        error_lines(&err).iter().any(|l| l.trim_start().starts_with(
            "kind = \"ConfigMap\": line 2: v1 ConfigMap is not a LogPipeline: pitagora reads only \
             documents with apiVersion: pitagora.dev/v1alpha1 and kind: LogPipeline"
        )),
        "{err}"
    );
    assert!(
        stdout(&o).contains(&format!("{file}#2: LogPipeline team-a/orders is valid")),
        "{}",
        describe(&o)
    );
}

/// Each document is the second of its file, after a valid pipeline: the error names it (`#2`),
/// the field and the line, and the run exits 1.
#[test]
fn validate_refuses_a_document_that_would_not_count_naming_its_field_and_line() {
    let valid = pipeline_yaml("team-a", "first", MINIMAL_SPEC);
    let second = |header: &str| format!("{header}metadata:\n  name: orders\nspec:\n{MINIMAL_SPEC}");
    let cases = [
        (
            second("apiVersion: pitagora.dev/v1alpha1\nkind: LogPipelines\n"),
            "kind = \"LogPipelines\": line 11: not a kind pitagora reads; did you mean LogPipeline?",
        ),
        (
            second("apiVersion: pitagora.dev/v1\nkind: LogPipeline\n"),
            "apiVersion = \"pitagora.dev/v1\": line 10: unsupported version; this pitagora serves \
             pitagora.dev/v1alpha1",
        ),
        (
            second("apiVersion: v1\nkind: Namespace\n"),
            "kind = \"Namespace\": line 11: v1 Namespace is not a LogPipeline",
        ),
        (
            second("kind: LogPipeline\n"),
            "apiVersion = <unset>: document at line 10: required; set apiVersion: \
             pitagora.dev/v1alpha1",
        ),
        (
            "- a list\n".to_owned(),
            "(document) = a list: the document at line 10 is not a mapping",
        ),
    ];
    for (document, expected) in cases {
        let dir = Scratch::new("would-not-count");
        let file = dir.write("p.yaml", &format!("{valid}---\n{document}"));
        let o = offline(&["validate", "-f", &file]);
        assert_exit(&o, 1);
        let err = stderr(&o);
        assert!(err.starts_with(&format!("{file}#2: ")), "{expected}\n{err}");
        let lines = error_lines(&err);
        assert!(
            lines.len() == 1 && lines[0].trim_start().starts_with(expected),
            "expected one line starting {expected}:\n{err}"
        );
    }
}

#[test]
fn validate_accepts_an_empty_document_between_pipelines() {
    let dir = Scratch::new("empty-document");
    let text = format!(
        "---\n{}---\n---\n{}",
        pipeline_yaml("team-a", "orders", MINIMAL_SPEC),
        pipeline_yaml("team-a", "payments", MINIMAL_SPEC)
    );
    let file = dir.write("p.yaml", &text);
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o).lines().count(), 2, "{}", describe(&o));
}

#[test]
fn validate_skips_a_kustomization_file_with_a_note_and_fails_when_nothing_else_is_found() {
    let dir = Scratch::new("no-pipeline");
    let file = dir.write(
        "kustomization.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\n",
    );
    let o = offline(&["validate", "-f", &dir.path()]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "{file}: skipped (kustomize's build file, not a manifest)"
        )),
        "{err}"
    );
    assert!(err.contains("no LogPipeline documents found"), "{err}");
}

#[test]
fn validate_walks_a_directory_recursively_reading_yaml_yml_and_json() {
    let dir = Scratch::new("recursive");
    dir.write("a.yaml", &pipeline_yaml("team-a", "top", MINIMAL_SPEC));
    dir.write(
        "nested/deeper/b.yml",
        &pipeline_yaml("team-b", "deep", MINIMAL_SPEC),
    );
    dir.write(
        "nested/c.json",
        r#"{"apiVersion": "pitagora.dev/v1alpha1", "kind": "LogPipeline",
            "metadata": {"name": "json", "namespace": "team-c"},
            "spec": {"sources": {"logGroups": ["/ecs/orders"]}}}"#,
    );
    dir.write("nested/notes.txt", "not: [a pipeline");
    dir.write(".hidden/broken.yaml", "this: [is not read");
    let o = offline(&["validate", "-f", &dir.path()]);
    assert_exit(&o, 0);
    let out = stdout(&o);
    for id in ["team-a/top", "team-b/deep", "team-c/json"] {
        assert!(
            out.contains(&format!("LogPipeline {id} is valid")),
            "{id} missing:\n{}",
            describe(&o)
        );
    }
    assert_eq!(out.lines().count(), 3, "{}", describe(&o));
}

#[test]
fn validate_rejects_a_pipeline_declared_in_two_files_in_both() {
    let dir = Scratch::new("twice");
    let first = dir.write("a.yaml", &pipeline_yaml("team-a", "orders", MINIMAL_SPEC));
    let second = dir.write("b.yaml", &pipeline_yaml("team-a", "orders", MINIMAL_SPEC));
    let o = offline(&["validate", "-f", &dir.path()]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    for line in [
        format!(
            "metadata.name = team-a/orders: LogPipeline team-a/orders is declared again in {second}"
        ),
        format!(
            "metadata.name = team-a/orders: LogPipeline team-a/orders is already declared in {first}"
        ),
    ] {
        assert!(
            error_lines(&err)
                .iter()
                .any(|l| l.trim_start().starts_with(&line)),
            "no line starting {line}:\n{err}"
        );
    }
    assert!(stdout(&o).is_empty(), "{}", describe(&o));
}

#[test]
fn validate_rejects_a_pipeline_declared_twice_in_one_file_naming_both_documents() {
    let dir = Scratch::new("twice-in-a-file");
    let one = pipeline_yaml("team-a", "orders", MINIMAL_SPEC);
    let file = dir.write("p.yaml", &format!("{one}---\n{one}"));
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    for expected in [
        format!("{file}#1: LogPipeline team-a/orders is invalid"),
        format!("is declared again in {file}#2 (line 10)"),
        format!("{file}#2: LogPipeline team-a/orders is invalid"),
        format!("is already declared in {file}#1;"),
    ] {
        assert!(err.contains(&expected), "no {expected}:\n{err}");
    }
}

#[test]
fn validate_gives_documents_without_namespace_the_namespace_option() {
    let dir = Scratch::new("namespace");
    let file = dir.write(
        "p.yaml",
        &format!(
            "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: orders\nspec:\n{MINIMAL_SPEC}"
        ),
    );
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("LogPipeline default/orders is valid"),
        "{}",
        describe(&o)
    );
    let o = offline(&["validate", "-f", &file, "-n", "team-z"]);
    assert_exit(&o, 0);
    assert!(
        stdout(&o).contains("LogPipeline team-z/orders is valid"),
        "{}",
        describe(&o)
    );
}

#[test]
fn validate_rejects_an_unsupported_api_version_naming_the_served_one() {
    let dir = Scratch::new("version");
    let text = pipeline_yaml("team-a", "orders", MINIMAL_SPEC)
        .replace("pitagora.dev/v1alpha1", "pitagora.dev/v1");
    let file = dir.write("p.yaml", &text);
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(err.contains("apiVersion = \"pitagora.dev/v1\""), "{err}");
    assert!(err.contains("pitagora.dev/v1alpha1"), "{err}");
}

#[test]
fn validate_reports_a_file_that_is_not_yaml() {
    let dir = Scratch::new("not-yaml");
    let file = dir.write("p.yaml", "spec: [unclosed\n  - {\n");
    let o = offline(&["validate", "-f", &file]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("not valid YAML"), "{}", describe(&o));
}

#[test]
fn validate_names_the_byte_and_line_where_a_file_stops_being_utf8() {
    let dir = Scratch::new("not-utf8");
    let mut bytes = pipeline_yaml("team-a", "orders", MINIMAL_SPEC).into_bytes();
    let offset = bytes.len();
    // Latin-1 "é", as an editor set to another encoding writes it.
    bytes.extend_from_slice(b"# caf\xe9\n");
    let file = dir.0.join("p.yaml");
    std::fs::write(&file, bytes).unwrap();
    let o = offline(&["validate", "-f", file.to_str().unwrap()]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    let expected = format!(
        "(document) = <not UTF-8>: not valid UTF-8 at byte {} (line 9); save the file as UTF-8",
        offset + 5
    );
    assert!(err.contains(&expected), "no {expected}:\n{err}");
}

/// Each mistake is the only one of an otherwise valid pipeline.
#[test]
fn validate_refuses_unknown_or_misshapen_envelope_fields_and_non_finite_numbers_naming_field_and_line()
 {
    let head = "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\n";
    let metadata = "metadata:\n  name: orders\n";
    let spec = format!("spec:\n{MINIMAL_SPEC}");
    let cases = [
        (
            format!("{head}{metadata}{spec}labels:\n  team: a\n"),
            "labels = {\"team\":\"a\"}: line 8: unknown field; a LogPipeline has apiVersion, \
             kind, metadata, spec, status",
        ),
        (
            format!("{head}{metadata}  lables:\n    team: a\n{spec}"),
            "metadata.lables = {\"team\":\"a\"}: line 5: unknown field; did you mean \"labels\"?",
        ),
        (
            format!("{head}metadata:\n  - name: orders\n{spec}"),
            "metadata = [{\"name\":\"orders\"}]: line 3: must be a mapping (name, namespace, \
             labels, annotations...), not a list",
        ),
        (
            format!("{head}metadata: orders\n{spec}"),
            "metadata = \"orders\": line 3: must be a mapping",
        ),
        (
            format!("{head}{metadata}  labels: {{version: 2}}\n{spec}"),
            "metadata.labels.version = 2: line 5: must be text (quote it), not a number",
        ),
        (
            format!("{head}{metadata}{spec}  storage:\n    retentionDays: .nan\n"),
            "spec.storage.retentionDays = .nan: line 9: not a finite number",
        ),
        (
            format!("{head}{metadata}{spec}  delivery:\n    buffering: {{sizeMiB: -.inf}}\n"),
            "spec.delivery.buffering.sizeMiB = -.inf: line 9: not a finite number",
        ),
    ];
    for (document, expected) in cases {
        let dir = Scratch::new("envelope");
        let file = dir.write("p.yaml", &document);
        let o = offline(&["validate", "-f", &file]);
        assert_exit(&o, 1);
        let err = stderr(&o);
        let lines = error_lines(&err);
        assert!(
            lines.len() == 1 && lines[0].trim_start().starts_with(expected),
            "expected one line starting {expected}:\n{err}"
        );
    }
}

#[test]
fn validate_of_a_missing_path_fails_with_a_clear_message() {
    let dir = Scratch::new("missing");
    let missing = format!("{}/does-not-exist.yaml", dir.path());
    let o = offline(&["validate", "-f", &missing]);
    assert_exit(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains(&format!("error: cannot read {missing}")),
        "{err}"
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn validate_of_an_empty_directory_fails_saying_nothing_was_found() {
    let dir = Scratch::new("empty");
    let o = offline(&["validate", "-f", &dir.path()]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("no .yaml, .yml or .json files found"),
        "{}",
        describe(&o)
    );
}

// ---- render ------------------------------------------------------------------------------------

#[test]
fn render_full_chain_prints_yaml_with_the_stack_template_the_stream_and_the_filters() {
    let o = offline(&["render", "-f", "examples/full-chain.yaml"]);
    assert_exit(&o, 0);
    let rendered = yaml_value(&stdout(&o));
    let names = pitagora::names::Names::derive(
        &pitagora::names::PipelineId::new("platform", "ecs-logs"),
        &pitagora::arn::AwsTarget::new("123456789012", "eu-west-1"),
        None,
        None,
    );
    assert_eq!(rendered["stack"]["name"], names.stack.as_str());
    assert_eq!(
        rendered["stack"]["template"]["AWSTemplateFormatVersion"],
        "2010-09-09"
    );
    assert!(rendered["stack"]["template"]["Resources"]["Bucket"].is_object());
    assert_eq!(rendered["stream"]["name"], names.stream.as_str());
    assert_eq!(rendered["filters"]["filter"]["name"], names.filter.as_str());
    assert_eq!(
        rendered["filters"]["logGroupPrefixes"],
        serde_json::json!(["/ecs/"])
    );
}

#[test]
fn render_only_template_as_json_holds_every_static_resource() {
    let o = offline(&[
        "render",
        "-f",
        "examples/full-chain.yaml",
        "--only",
        "template",
        "-o",
        "json",
    ]);
    assert_exit(&o, 0);
    let template: Value = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(&o)));
    let resources = template["Resources"].as_object().expect("Resources");
    for resource in [
        "Bucket",
        "BucketPolicy",
        "DeliveryRole",
        "LogsRole",
        "Topic",
        "TopicPolicy",
        "TransformPermission",
        "SubscriberEsForwarderPermission",
        "SubscriberSlackNotifierPermission",
    ] {
        assert!(
            resources.contains_key(resource),
            "{resource} missing: {:?}",
            resources.keys()
        );
    }
    assert_eq!(resources.len(), 9, "{:?}", resources.keys());
}

#[test]
fn render_only_template_of_the_minimal_pipeline_has_no_transform_or_fanout() {
    let o = offline(&[
        "render",
        "-f",
        "examples/minimal.yaml",
        "--only",
        "template",
        "-o",
        "json",
    ]);
    assert_exit(&o, 0);
    let template: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let mut resources: Vec<&String> = template["Resources"].as_object().unwrap().keys().collect();
    resources.sort();
    assert_eq!(
        resources,
        ["Bucket", "BucketPolicy", "DeliveryRole", "LogsRole"]
    );
}

#[test]
fn render_uses_the_region_and_account_options_for_pipelines_without_a_region() {
    let o = offline(&[
        "render",
        "-f",
        "examples/minimal.yaml",
        "--only",
        "stream",
        "-o",
        "json",
        "--region",
        "ap-southeast-2",
        "--account-id",
        "210987654321",
    ]);
    assert_exit(&o, 0);
    let stream: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let arn = stream["arn"].as_str().expect("stream arn");
    assert!(
        arn.starts_with("arn:aws:firehose:ap-southeast-2:210987654321:deliverystream/"),
        "{arn}"
    );
}

#[test]
fn render_of_several_pipelines_prints_a_json_array_or_yaml_documents() {
    let o = offline(&["render", "-f", "examples/", "--only", "names", "-o", "json"]);
    assert_exit(&o, 0);
    let all: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(all.as_array().map(Vec::len), Some(3), "{}", describe(&o));

    let o = offline(&["render", "-f", "examples/", "--only", "names"]);
    assert_exit(&o, 0);
    assert_eq!(
        stdout(&o).lines().filter(|l| *l == "---").count(),
        2,
        "{}",
        describe(&o)
    );
}

#[test]
fn render_of_an_invalid_file_fails_printing_the_errors_and_no_output() {
    let dir = Scratch::new("render-invalid");
    let spec =
        "  sources:\n    logGroups: [/ecs/orders]\n  delivery:\n    buffering:\n      sizeMiB: 0\n";
    let file = dir.write("p.yaml", &pipeline_yaml("team-a", "orders", spec));
    let o = offline(&["render", "-f", &file]);
    assert_exit(&o, 1);
    assert!(stdout(&o).is_empty(), "{}", describe(&o));
    assert!(
        stderr(&o).contains("spec.delivery.buffering.sizeMiB = 0"),
        "{}",
        describe(&o)
    );
}

#[test]
fn render_of_a_missing_path_fails_with_a_clear_message() {
    let missing = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/no-such-pipeline.yaml");
    let missing = missing.display().to_string();
    let o = offline(&["render", "-f", &missing]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains(&format!("error: cannot read {missing}")),
        "{}",
        describe(&o)
    );
}

/// The store shapes of each route `render --only fluentd` prints for the example beside fluentd,
/// with `extra` arguments (`!` marks ignore_error).
fn rendered_fluentd(extra: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec![
        "render",
        "-f",
        "examples/beside-fluentd.yaml",
        "--only",
        "fluentd",
    ];
    args.extend_from_slice(extra);
    let o = offline(&args);
    assert_exit(&o, 0);
    let routes = common::fluentd::routes(&stdout(&o));
    routes.iter().map(|r| r.shape()).collect()
}

#[test]
fn render_only_fluentd_prints_the_routes_at_the_requested_stages() {
    // The example asks for Shadow.
    let shadow = vec!["!cloudwatch_logs".to_owned(), "forward".to_owned()];
    assert_eq!(rendered_fluentd(&[]), vec![shadow; 2]);
}

#[test]
fn render_only_fluentd_at_a_stage_renders_every_route_there() {
    let new = vec!["cloudwatch_logs".to_owned()];
    assert_eq!(rendered_fluentd(&["--stage", "New"]), vec![new; 2]);
}

#[test]
fn render_only_fluentd_without_a_legacy_path_exits_1_saying_so() {
    let o = offline(&["render", "-f", "examples/minimal.yaml", "--only", "fluentd"]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("spec.legacy.fluentd"),
        "{}",
        describe(&o)
    );
}

#[test]
fn an_unknown_rate_limit_key_exits_1_naming_it_and_the_services_before_any_aws_call() {
    let o = offline(&[
        "drift",
        "-f",
        "examples/minimal.yaml",
        "--rate-limit",
        "Kinesis=3",
    ]);
    assert_exit(&o, 1);
    let text = stderr(&o);
    assert!(
        text.contains("\"Kinesis\"") && text.contains("Firehose"),
        "{}",
        describe(&o)
    );
}

#[test]
fn a_rate_limits_file_with_a_bad_rate_exits_1_naming_the_file_and_the_key() {
    let dir = common::scratch_dir("ratefile");
    let file = dir.join("limits.yaml");
    std::fs::write(&file, "Firehose.DescribeDeliveryStream: -1\n").unwrap();
    let o = offline(&[
        "drift",
        "-f",
        "examples/minimal.yaml",
        "--rate-limits",
        &file.to_string_lossy(),
    ]);
    assert_exit(&o, 1);
    let text = stderr(&o);
    assert!(text.contains("limits.yaml"), "{}", describe(&o));
    assert!(
        text.contains("Firehose.DescribeDeliveryStream"),
        "{}",
        describe(&o)
    );
    common::remove_scratch_dir(&dir);
}
