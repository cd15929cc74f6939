//! `pitagora drift` as a CI job runs it, against AWS (moto): a repository directory of
//! pipelines, reports in every format, exit codes (0 in sync, 2 drift, 1 error), `--fail-on`,
//! `--ignore-file`, an unreachable AWS and an invalid spec among valid ones.
//!
//! The binary cannot send moto's per-test account header, so its calls land in moto's default
//! account, which every test (and every earlier run) shares: each test uses a namespace and log
//! groups of its own, and deletes the pipelines it applied when it ends (moto allows only 50
//! Firehose streams per account).

use crate::common;

use common::binary::{
    against, against_moto, assert_exit, closed_endpoint, describe, stderr, stdout,
};

use common::moto::{REGION, change_buffer_size, default_account_clients, fresh_account};
use common::report::{
    check_junit_counts, check_table, markdown_tables, parse_junit, validate_drift_report,
};
use pitagora::aws::RegionClients;
use pitagora::names::{Names, PipelineId};
use serde_json::{Value, json};
use std::path::PathBuf;

/// The lines of `text` that contain every one of `parts`.
fn lines_with<'t>(text: &'t str, parts: &[&str]) -> Vec<&'t str> {
    text.lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .collect()
}

// ---- A repository on disk ------------------------------------------------------------------------

/// A scratch directory, removed when the test ends (also when it fails): the repository in
/// `repo/`, reports in `reports/`. Pipeline files registered with [`Scratch::delete_at_end`] are
/// deleted from AWS first, with `pitagora delete`.
struct Scratch {
    dir: PathBuf,
    delete: std::cell::RefCell<Vec<String>>,
}

impl Scratch {
    fn new(label: &str) -> Self {
        let dir = common::scratch_dir(label);
        for sub in ["repo", "reports"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        Self {
            dir,
            delete: Default::default(),
        }
    }

    /// The repository directory.
    fn repo(&self) -> String {
        self.dir.join("repo").display().to_string()
    }

    /// Writes `text` to `relative` (under the scratch directory, creating folders); returns the
    /// path.
    fn write(&self, relative: &str, text: &str) -> String {
        let path = self.dir.join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// The path of report `file`.
    fn report(&self, file: &str) -> String {
        self.dir.join("reports").join(file).display().to_string()
    }

    /// Reads report `file`.
    fn read_report(&self, file: &str) -> String {
        std::fs::read_to_string(self.report(file))
            .unwrap_or_else(|e| panic!("{}: {e}", self.report(file)))
    }

    /// At the end of the test, `pitagora delete -f path`.
    fn delete_at_end(&self, path: &str) {
        self.delete.borrow_mut().push(path.to_owned());
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for path in self.delete.borrow().iter() {
            let o = against_moto(&["delete", "-f", path]);
            if !o.status.success() {
                eprintln!("cleanup of {path} failed: {}", describe(&o));
            }
        }
        common::remove_scratch_dir(&self.dir);
    }
}

/// A minimal pipeline (one exact log group, everything else defaulted) whose log group no other
/// test uses.
struct Pipeline {
    id: PipelineId,
    group: String,
    /// The AWS names pitagora derives for it in moto's default account.
    names: Names,
}

impl Pipeline {
    fn new(namespace: &str, name: &str) -> Self {
        let id = PipelineId::new(namespace, name);
        let group = format!("/pitagora-drift-report/{namespace}/{name}");
        let desired = pitagora::desired::from_spec(
            &id,
            &common::spec(&format!("sources:\n  logGroups: [{group}]\n")),
            common::ACCOUNT,
            REGION,
        )
        .expect("the minimal spec is valid");
        Self {
            id,
            group,
            names: desired.names,
        }
    }

    /// The `LogPipeline` document; `extra` is appended to its spec (indented by two spaces).
    fn yaml_with(&self, extra: &str) -> String {
        format!(
            "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: {}\n  \
             namespace: {}\nspec:\n  sources:\n    logGroups: [{}]\n{extra}",
            self.id.name, self.id.namespace, self.group
        )
    }

    fn yaml(&self) -> String {
        self.yaml_with("")
    }

    fn label(&self) -> String {
        format!("LogPipeline {}", self.id)
    }

    /// The text report's part about this pipeline: its headline and the indented lines under it.
    fn section<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let label = self.label();
        let mut lines = text.lines().skip_while(|l| {
            !l.strip_prefix(label.as_str())
                .is_some_and(|rest| rest.starts_with(" ("))
        });
        let Some(head) = lines.next() else {
            return Vec::new();
        };
        std::iter::once(head)
            .chain(lines.take_while(|l| l.starts_with(' ')))
            .collect()
    }

    /// The headline of this pipeline in a text report; fails unless there is exactly one.
    fn headline<'t>(&self, text: &'t str) -> &'t str {
        let label = format!("{} (", self.label());
        let lines: Vec<&str> = text.lines().filter(|l| l.starts_with(&label)).collect();
        assert_eq!(lines.len(), 1, "one headline of {}:\n{text}", self.label());
        lines[0]
    }

    /// This pipeline's object in a JSON report.
    fn json<'v>(&self, report: &'v Value) -> &'v Value {
        let found: Vec<&Value> = report["pipelines"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["namespace"] == self.id.namespace && p["name"] == self.id.name)
            .collect();
        assert_eq!(found.len(), 1, "one entry for {} in {report:#}", self.id);
        found[0]
    }
}

/// A namespace no other test of this or an earlier run uses.
fn unique_namespace() -> String {
    format!("cli-{}", fresh_account())
}

/// Creates the pipelines' source log groups in moto's default account.
async fn create_sources(c: &RegionClients, pipelines: &[&Pipeline]) {
    for p in pipelines {
        c.logs
            .create_log_group()
            .log_group_name(&p.group)
            .send()
            .await
            .unwrap();
    }
}

/// The drifted field of every test.
const FIELD: &str = "BufferingHints.SizeInMBs";

/// A repository of three pipelines of a new namespace — `alpha.yaml`, `bravo.yaml` and
/// `team/charlie.yaml` (after an empty document) — and a `kustomization.yaml`.
struct Repository {
    scratch: Scratch,
    alpha: Pipeline,
    bravo: Pipeline,
    charlie: Pipeline,
}

impl Repository {
    fn write(label: &str) -> Self {
        let namespace = unique_namespace();
        let scratch = Scratch::new(label);
        let [alpha, bravo, charlie] =
            ["alpha", "bravo", "charlie"].map(|name| Pipeline::new(&namespace, name));
        scratch.write(
            "repo/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
             resources: [alpha.yaml, bravo.yaml, team/charlie.yaml]\n",
        );
        scratch.write("repo/alpha.yaml", &alpha.yaml());
        scratch.write("repo/bravo.yaml", &bravo.yaml());
        // A leading `---`, as kustomize and many editors write it: an empty document.
        scratch.write(
            "repo/team/charlie.yaml",
            &format!("---\n{}", charlie.yaml()),
        );
        Self {
            scratch,
            alpha,
            bravo,
            charlie,
        }
    }

    fn pipelines(&self) -> [&Pipeline; 3] {
        [&self.alpha, &self.bravo, &self.charlie]
    }

    /// Applied, then `bravo`'s buffer size changed by hand from 5 to 32 MiB.
    async fn applied_and_drifted(label: &str) -> Self {
        let r = Self::write(label);
        let c = default_account_clients().await;
        create_sources(&c, &r.pipelines()).await;
        r.scratch.delete_at_end(&r.scratch.repo());
        assert_exit(&against_moto(&["apply", "-f", &r.scratch.repo()]), 0);
        change_buffer_size(&c, &r.bravo.names.stream, 32).await;
        r
    }
}

/// One pipeline in `repo/pipeline.yaml`, applied, then its buffer size changed by hand from 5 to
/// 32 MiB.
async fn one_drifted_pipeline(label: &str) -> (Scratch, Pipeline) {
    let scratch = Scratch::new(label);
    let p = Pipeline::new(&unique_namespace(), label);
    let c = default_account_clients().await;
    create_sources(&c, &[&p]).await;
    let file = scratch.write("repo/pipeline.yaml", &p.yaml());
    scratch.delete_at_end(&file);
    assert_exit(&against_moto(&["apply", "-f", &file]), 0);
    change_buffer_size(&c, &p.names.stream, 32).await;
    (scratch, p)
}

/// The values of `keys` in a JSON object, as an array.
fn fields(object: &Value, keys: &[&str]) -> Value {
    Value::Array(keys.iter().map(|k| object[*k].clone()).collect())
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON: {e}\n{text}"))
}

// ---- Drift in every format ---------------------------------------------------------------------

#[tokio::test]
async fn drift_of_a_repository_exits_2_and_names_the_drifted_field_in_every_format() {
    let r = Repository::applied_and_drifted("formats").await;
    let s = &r.scratch;
    let (md, json, junit) = (
        s.report("drift.md"),
        s.report("drift.json"),
        s.report("drift.xml"),
    );

    let o = against_moto(&[
        "drift",
        "-f",
        &s.repo(),
        "--format",
        "text",
        "--output",
        &format!("markdown={md}"),
        "--output",
        &format!("json={json}"),
        "--output",
        &format!("junit={junit}"),
    ]);

    assert_exit(&o, 2);
    let stream = &r.bravo.names.stream;
    // Text: one changed field in the whole report, under bravo's update of its stream.
    let text = stdout(&o);
    assert!(
        r.bravo.headline(&text).ends_with("drifted, 1 item"),
        "{}",
        describe(&o)
    );
    let section = r.bravo.section(&text).join("\n");
    assert_eq!(
        lines_with(&section, &["Update", "DeliveryStream", stream]).len(),
        1,
        "{}",
        describe(&o)
    );
    assert_eq!(
        lines_with(&text, &[FIELD]),
        lines_with(&section, &[FIELD, "found 32, want 5"])
    );
    assert_eq!(lines_with(&text, &[FIELD]).len(), 1, "{}", describe(&o));
    // Markdown: one item row, for bravo's stream, with both values.
    let markdown = s.read_report("drift.md");
    let rows = lines_with(&markdown, &["| DeliveryStream", FIELD]);
    assert_eq!(rows.len(), 1, "{markdown}");
    let cells = common::report::row_cells(rows[0]);
    assert_eq!(
        cells[..4],
        [
            format!("DeliveryStream `{stream}`"),
            format!("`{FIELD}` (`spec.delivery.buffering.sizeMiB`)"),
            "`5`".to_owned(),
            "`32`".to_owned()
        ],
        "{markdown}"
    );
    // JSON: bravo's only item.
    let report = parse_json(&s.read_report("drift.json"));
    let items = r.bravo.json(&report)["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{report:#}");
    assert_eq!(
        fields(&items[0], &["field", "desired", "actual", "resource"]),
        json!([FIELD, "5", "32", stream])
    );
    // JUnit: bravo's stream case fails naming the field; nothing else fails but bravo's own case.
    let root = parse_junit(&s.read_report("drift.xml")).unwrap();
    let mut failing = Vec::new();
    for suite in root.children_named("testsuite") {
        for case in suite
            .children_named("testcase")
            .filter(|c| c.has("failure"))
        {
            failing.push((suite.attr("name").to_owned(), case.attr("name").to_owned()));
        }
    }
    let bravo = r.bravo.id.to_string();
    assert_eq!(
        failing,
        [
            (bravo.clone(), format!("LogPipeline {bravo}")),
            (bravo.clone(), format!("DeliveryStream {stream}")),
        ]
    );
    let stream_case = root
        .children_named("testsuite")
        .flat_map(|s| s.children_named("testcase"))
        .find(|c| c.attr("name") == format!("DeliveryStream {stream}"))
        .unwrap();
    let failure = stream_case.children_named("failure").next().unwrap();
    assert!(
        failure.text.contains(&format!("{FIELD}: found 32, want 5")),
        "{failure:?}"
    );
}

#[tokio::test]
async fn drift_report_files_are_well_formed_and_the_json_validates_with_totals_of_the_run() {
    let r = Repository::applied_and_drifted("schema").await;
    let s = &r.scratch;
    let (md, json, junit) = (
        s.report("drift.md"),
        s.report("drift.json"),
        s.report("drift.xml"),
    );

    let o = against_moto(&[
        "drift",
        "-f",
        &s.repo(),
        "--output",
        &format!("markdown={md}"),
        "--output",
        &format!("json={json}"),
        "--output",
        &format!("junit={junit}"),
    ]);

    assert_exit(&o, 2);
    let text = s.read_report("drift.json");
    if let Err(errors) = validate_drift_report(&text) {
        panic!("the JSON report does not validate:\n{errors}\n{text}");
    }
    let totals = &parse_json(&text)["totals"];
    assert_eq!(
        fields(
            totals,
            &[
                "pipelines",
                "inSync",
                "drifted",
                "errors",
                "items",
                "awsWrites"
            ]
        ),
        json!([3, 2, 1, 0, 1, 0]),
        "{totals:#}"
    );
    assert!(totals["awsCalls"].as_u64().unwrap() > 0, "{totals:#}");
    check_junit_counts(&parse_junit(&s.read_report("drift.xml")).unwrap()).unwrap();
    let markdown = s.read_report("drift.md");
    let tables = markdown_tables(&markdown);
    assert_eq!(tables.len(), 2, "summary and bravo's items:\n{markdown}");
    for table in tables {
        check_table(&table).unwrap_or_else(|e| panic!("{e}\n{markdown}"));
    }
}

#[tokio::test]
async fn drift_skips_the_kustomization_file_with_a_note_and_checks_the_pipelines() {
    // Not applied: every pipeline is reported as drifted (to be created), which is all this needs.
    let r = Repository::write("skipped");
    let json = r.scratch.report("drift.json");

    let o = against_moto(&[
        "drift",
        "-f",
        &r.scratch.repo(),
        "--output",
        &format!("json={json}"),
    ]);

    assert_exit(&o, 2);
    let notes = stderr(&o);
    let repo = r.scratch.repo();
    let note =
        format!("{repo}/kustomization.yaml: skipped (kustomize's build file, not a manifest)");
    assert_eq!(lines_with(&notes, &[&note]).len(), 1, "{}", describe(&o));
    let report = parse_json(&r.scratch.read_report("drift.json"));
    assert_eq!(report["totals"]["pipelines"], 3, "{report:#}");
    assert_eq!(
        r.charlie.json(&report)["source"],
        format!("{repo}/team/charlie.yaml").as_str()
    );
    for p in r.pipelines() {
        assert_eq!(p.json(&report)["status"], "drifted", "{report:#}");
    }
}

// ---- --fail-on and ignore rules ------------------------------------------------------------------

#[tokio::test]
async fn drift_with_fail_on_never_exits_0_and_reports_the_same_drift() {
    let (s, p) = one_drifted_pipeline("failonnever").await;
    let repo = s.repo();

    let failing = against_moto(&["drift", "-f", &repo]);
    let never = against_moto(&["drift", "-f", &repo, "--fail-on", "never"]);

    assert_exit(&failing, 2);
    assert_exit(&never, 0);
    let text = stdout(&never);
    let section = p.section(&text);
    assert_eq!(section, p.section(&stdout(&failing)));
    assert!(
        section[0].ends_with("drifted, 1 item"),
        "{}",
        describe(&never)
    );
    assert_eq!(
        lines_with(&section.join("\n"), &[FIELD, "found 32, want 5"]).len(),
        1,
        "{}",
        describe(&never)
    );
}

#[tokio::test]
async fn drift_with_an_ignore_file_covering_the_drifted_field_exits_0_listing_it_as_ignored() {
    let (s, p) = one_drifted_pipeline("ignorefile").await;
    let ignore = s.write(
        ".pitagora-ignore",
        &format!(
            "- pipeline: {}/*\n  kind: DeliveryStream\n  field: BufferingHints.*\n  \
             reason: tuned by the SRE team\n",
            p.id.namespace
        ),
    );
    let json = s.report("drift.json");

    let o = against_moto(&[
        "drift",
        "-f",
        &s.repo(),
        "--ignore-file",
        &ignore,
        "--output",
        &format!("json={json}"),
    ]);

    assert_exit(&o, 0);
    let rule = "kind=DeliveryStream field=BufferingHints.* (tuned by the SRE team)";
    let text = stdout(&o);
    let section = p.section(&text);
    assert!(section[0].ends_with(": in sync"), "{}", describe(&o));
    assert_eq!(
        section[1..],
        [format!(
            "  ignored DeliveryStream {} {FIELD} ({rule})",
            p.names.stream
        )],
        "{}",
        describe(&o)
    );
    let report = parse_json(&s.read_report("drift.json"));
    let entry = p.json(&report);
    assert_eq!(entry["status"], "inSync");
    assert_eq!(entry["items"], json!([]));
    let ignored = entry["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 1, "{report:#}");
    assert_eq!(
        fields(&ignored[0], &["field", "desired", "actual", "ignoredBy"]),
        json!([FIELD, "5", "32", rule])
    );
    assert_eq!(report["totals"]["ignored"], 1);
}

// ---- Errors ---------------------------------------------------------------------------------------

#[tokio::test]
async fn drift_with_the_aws_endpoint_down_exits_1_with_the_failure_in_the_report() {
    let r = Repository::write("down");
    let json = r.scratch.report("drift.json");

    let o = against(
        &closed_endpoint(),
        &[
            "drift",
            "--aws-timeout",
            "1",
            "-f",
            &r.scratch.repo(),
            "--output",
            &format!("json={json}"),
        ],
    );

    assert_exit(&o, 1);
    let text = stdout(&o);
    let report = parse_json(&r.scratch.read_report("drift.json"));
    for p in r.pipelines() {
        let headline = p.headline(&text);
        assert!(
            headline.contains(": error: ")
                && headline.contains("AWS is unreachable or failing")
                && headline.contains("Connection refused"),
            "{}",
            describe(&o)
        );
        let entry = p.json(&report);
        assert_eq!(entry["status"], "error");
        assert!(
            entry["error"]
                .as_str()
                .unwrap()
                .contains("AWS is unreachable or failing"),
            "{entry:#}"
        );
    }
    assert_eq!(
        fields(&report["totals"], &["pipelines", "errors", "inSync"]),
        json!([3, 3, 0])
    );
}

#[tokio::test]
async fn drift_with_an_invalid_spec_among_valid_ones_exits_1_and_still_reports_the_valid_ones() {
    let s = Scratch::new("invalid");
    let namespace = unique_namespace();
    let valid = [
        Pipeline::new(&namespace, "alpha"),
        Pipeline::new(&namespace, "bravo"),
    ];
    let c = default_account_clients().await;
    create_sources(&c, &valid.each_ref()).await;
    for p in &valid {
        let file = s.write(&format!("repo/{}.yaml", p.id.name), &p.yaml());
        s.delete_at_end(&file);
    }
    assert_exit(&against_moto(&["apply", "-f", &s.repo()]), 0);
    let broken = Pipeline::new(&namespace, "broken");
    s.write(
        "repo/broken.yaml",
        &broken.yaml_with("  delivery:\n    buffering:\n      sizeMiB: 200\n"),
    );
    let json = s.report("drift.json");

    let o = against_moto(&[
        "drift",
        "-f",
        &s.repo(),
        "--output",
        &format!("json={json}"),
    ]);

    assert_exit(&o, 1);
    let text = stdout(&o);
    for p in &valid {
        assert!(p.headline(&text).ends_with(": in sync"), "{}", describe(&o));
    }
    let headline = broken.headline(&text);
    assert!(
        headline.contains(": error: invalid spec: ")
            && headline.contains("spec.delivery.buffering.sizeMiB = 200"),
        "{}",
        describe(&o)
    );
    let report = parse_json(&s.read_report("drift.json"));
    assert_eq!(
        fields(&report["totals"], &["pipelines", "inSync", "errors"]),
        json!([3, 2, 1]),
        "{report:#}"
    );
    assert_eq!(broken.json(&report)["status"], "error");
}
