//! The `pitagora` binary against AWS (moto), run exactly as a CI job runs it: the endpoint,
//! region and credentials come from the environment. `apply`, `drift` and `delete`, their
//! output and their exit codes (0 success / in sync, 1 error, 2 drift).
//!
//! The binary cannot send moto's per-test account header, so all its calls land in moto's
//! default account, which every test (and every earlier run) shares: each test uses its own
//! namespace and its own log groups, so parallel tests never see each other's resources, and
//! deletes what it applied when it ends (moto allows only 50 Firehose streams per account).

use crate::common;

use common::binary::{
    against, against_moto, against_with, against_without_region, assert_exit, calls_line,
    closed_endpoint, describe, output, stderr, stdout,
};

use common::moto::{
    ALLOW_ALL, REGION, change_buffer_size, default_account_clients, first_inline_policy,
    fresh_account, put_role_policy, stream_buffer_size, stream_description,
};
use pitagora::aws::RegionClients;
use pitagora::names::{Names, PipelineId};
use std::cell::Cell;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The lines of `text` that contain every one of `parts`.
fn lines_with<'t>(text: &'t str, parts: &[&str]) -> Vec<&'t str> {
    text.lines()
        .filter(|l| parts.iter().all(|p| l.contains(p)))
        .collect()
}

// ---- Pipelines on disk ---------------------------------------------------------------------------

/// A scratch directory that is removed when the test ends (also when it fails). Pipelines
/// applied from it are deleted first, with `pitagora delete`, when the test asked for it: the
/// default account is shared by every run, and moto allows only 50 Firehose streams per account.
struct Scratch {
    dir: PathBuf,
    delete_pipelines: Cell<bool>,
}

impl Scratch {
    fn new(label: &str) -> Self {
        Self {
            dir: common::scratch_dir(label),
            delete_pipelines: Cell::new(false),
        }
    }

    fn path(&self) -> String {
        self.dir.display().to_string()
    }

    /// Writes `text` to `file` and returns its path.
    fn write(&self, file: &str, text: &str) -> String {
        let path = self.dir.join(file);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    /// At the end of the test, `pitagora delete` every pipeline in the directory.
    fn delete_pipelines_at_end(&self) {
        self.delete_pipelines.set(true);
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.delete_pipelines.get() {
            let o = against_moto(&["delete", "-f", &self.path()]);
            if !o.status.success() {
                eprintln!("cleanup failed: {}", describe(&o));
            }
        }
        common::remove_scratch_dir(&self.dir);
    }
}

/// A minimal pipeline (one exact log group, everything else defaulted) with a namespace and a
/// log group no other test uses.
struct Pipeline {
    id: PipelineId,
    /// The source log group.
    group: String,
    /// The AWS names pitagora derives for it in moto's default account.
    names: Names,
}

impl Pipeline {
    /// `<namespace>/<name>` where the namespace is `cli-<unique token>`.
    fn new(namespace: &str, name: &str) -> Self {
        let id = PipelineId::new(namespace, name);
        let group = format!("/pitagora-cli/{namespace}/{name}");
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

    /// A pipeline in a namespace of its own.
    fn unique(name: &str) -> Self {
        Self::new(&unique_namespace(), name)
    }

    /// The `LogPipeline` document.
    fn yaml(&self) -> String {
        format!(
            "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: {}\n  \
             namespace: {}\nspec:\n  sources:\n    logGroups: [{}]\n",
            self.id.name, self.id.namespace, self.group
        )
    }

    /// `LogPipeline <namespace>/<name>`, as the CLI names it.
    fn label(&self) -> String {
        format!("LogPipeline {}/{}", self.id.namespace, self.id.name)
    }

    /// The lines of `text` that head this pipeline's part of a report: `LogPipeline
    /// <namespace>/<name>` followed by `:` or ` (source…)`.
    fn headlines<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let label = self.label();
        text.lines()
            .filter(|l| {
                l.strip_prefix(label.as_str())
                    .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(" ("))
            })
            .collect()
    }

    /// This pipeline's part of a drift report: its headline and the indented lines under it.
    fn section<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let label = self.label();
        let mut lines = text.lines().skip_while(|l| {
            !l.strip_prefix(label.as_str())
                .is_some_and(|rest| rest.starts_with(':') || rest.starts_with(" ("))
        });
        let Some(head) = lines.next() else {
            return Vec::new();
        };
        std::iter::once(head)
            .chain(lines.take_while(|l| l.starts_with(' ')))
            .collect()
    }
}

/// A namespace no other test of this or an earlier run uses.
fn unique_namespace() -> String {
    format!("cli-{}", fresh_account())
}

/// Creates the pipeline's source log group in moto's default account.
async fn create_source(c: &RegionClients, p: &Pipeline) {
    c.logs
        .create_log_group()
        .log_group_name(&p.group)
        .send()
        .await
        .unwrap();
}

/// One pipeline written to a file, its source created and `pitagora apply` run successfully.
async fn applied(label: &str) -> (Scratch, String, Pipeline, Arc<RegionClients>) {
    let (dir, file, p, c) = new_pipeline(label).await;
    assert_exit(&against_moto(&["apply", "-f", &file]), 0);
    (dir, file, p, c)
}

// ---- Reading and changing AWS out of band ---------------------------------------------------------

/// The stream's version id and its whole destination description.
async fn stream_state(c: &RegionClients, stream: &str) -> (String, String) {
    let desc = stream_description(c, stream).await;
    (
        desc.version_id().to_owned(),
        format!("{:?}", desc.destinations()),
    )
}

/// The names of the subscription filters on `group`.
async fn filters(c: &RegionClients, group: &str) -> Vec<String> {
    c.logs
        .describe_subscription_filters()
        .log_group_name(group)
        .send()
        .await
        .unwrap()
        .subscription_filters()
        .iter()
        .filter_map(|f| f.filter_name().map(str::to_owned))
        .collect()
}

/// Someone deletes a subscription filter by hand.
async fn delete_filter(c: &RegionClients, group: &str, filter: &str) {
    c.logs
        .delete_subscription_filter()
        .log_group_name(group)
        .filter_name(filter)
        .send()
        .await
        .unwrap();
}

/// Whether a stack of that name exists (and is not deleted).
async fn stack_exists(c: &RegionClients, stack: &str) -> bool {
    match c.cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => out.stacks().iter().any(|s| {
            s.stack_status()
                .is_some_and(|s| s.as_str() != "DELETE_COMPLETE")
        }),
        Err(e) if format!("{e:?}").contains("does not exist") => false,
        Err(e) => panic!("describe stack {stack}: {e:?}"),
    }
}

async fn bucket_exists(c: &RegionClients, bucket: &str) -> bool {
    c.s3.head_bucket().bucket(bucket).send().await.is_ok()
}

/// A TCP listener on 127.0.0.1 that accepts connections, counts them and closes them at once
/// (so a client that connects fails fast instead of waiting for an answer).
struct ConnectionCounter {
    endpoint: String,
    accepted: Arc<AtomicUsize>,
}

impl ConnectionCounter {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counter = accepted.clone();
        // Detached: it ends with the test process.
        std::thread::spawn(move || {
            for connection in listener.incoming() {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(connection);
            }
        });
        Self { endpoint, accepted }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

/// A TCP listener on 127.0.0.1 that accepts connections and never answers on them (a stuck
/// proxy, a half-open connection): they stay open until the test process ends.
struct Silent {
    endpoint: String,
}

impl Silent {
    fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        // Detached: it ends with the test process.
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for connection in listener.incoming() {
                held.push(connection);
            }
        });
        Self { endpoint }
    }
}

// ---- apply -----------------------------------------------------------------------------------------

/// `(op, kind, name)` of each planned action line (`  + Create   Stack NAME: reason`).
fn planned_actions(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let symbol = words.next()?;
            if !["+", "~", "-", "!"].contains(&symbol) {
                return None;
            }
            let (op, kind, name) = (words.next()?, words.next()?, words.next()?);
            Some((op.into(), kind.into(), name.trim_end_matches(':').into()))
        })
        .collect()
}

/// `(op, kind, name)` of each succeeded action line (`  ✓ Create Stack NAME (0.0 s): detail`).
fn succeeded_actions(text: &str) -> Vec<(String, String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut words = l.trim_start().strip_prefix("✓ ")?.split_whitespace();
            let (op, kind, name) = (words.next()?, words.next()?, words.next()?);
            Some((op.into(), kind.into(), name.into()))
        })
        .collect()
}

fn action(op: &str, kind: &str, name: &str) -> (String, String, String) {
    (op.into(), kind.into(), name.into())
}

/// A minimal pipeline not yet in AWS, its source created, written to a file that is deleted
/// (with its pipeline) when the test ends.
async fn new_pipeline(label: &str) -> (Scratch, String, Pipeline, Arc<RegionClients>) {
    let c = default_account_clients().await;
    let p = Pipeline::unique(label);
    create_source(&c, &p).await;
    let dir = Scratch::new(label);
    let file = dir.write("pipeline.yaml", &p.yaml());
    dir.delete_pipelines_at_end();
    (dir, file, p, c)
}

/// What a first apply of the minimal pipeline `p` shows, in order, as `plan N (count)`,
/// `planned OP KIND NAME`, `done N OP KIND NAME` and `in sync` entries: the first pass's plan
/// and outcomes, then, against the emulator only, the second pass's, which corrects what its
/// CloudFormation left unapplied (see moto_stack_corrections), then the verdict.
fn first_apply_of(p: &Pipeline) -> Vec<String> {
    // Without prefixes, the canary group lives under /pitagora/canary/.
    let canary = format!("/pitagora/canary/{}", p.names.stream);
    let first = [
        ("Create", "Stack", p.names.stack.as_str()),
        ("Create", "ErrorLogGroup", &p.names.error_log_group),
        ("Create", "CanaryLogGroup", &canary),
        ("Create", "DeliveryStream", &p.names.stream),
        ("Create", "SubscriptionFilter", &p.group),
        ("Create", "SubscriptionFilter", &canary),
    ];
    let second = [
        ("Update", "BucketAccess", p.names.bucket.as_str()),
        ("Update", "BucketPolicy", &p.names.bucket),
        ("Update", "Role", &p.names.delivery_role),
        ("Update", "Role", &p.names.logs_role),
    ];
    let mut shown = Vec::new();
    for (pass, actions) in [(1, &first[..]), (2, &second[..])] {
        shown.push(format!("plan {pass} ({})", actions.len()));
        shown.extend(
            actions
                .iter()
                .map(|(op, kind, name)| format!("planned {op} {kind} {name}")),
        );
        shown.extend(
            actions
                .iter()
                .map(|(op, kind, name)| format!("done {pass} {op} {kind} {name}")),
        );
    }
    shown.push("in sync".into());
    shown
}

/// The text output of `apply` for `p` as [`first_apply_of`]'s entries (changed fields left out).
fn shown_in_text(text: &str, p: &Pipeline) -> Vec<String> {
    let label = format!("{}: ", p.label());
    let mut pass = 0;
    let mut shown = Vec::new();
    for line in text.lines() {
        if let Some(head) = line.strip_prefix(&label) {
            if head == "in sync" {
                shown.push(head.to_owned());
                continue;
            }
            let count = head.split(" (").nth(1).and_then(|c| c.split(' ').next());
            pass = match head.strip_prefix("plan, pass ") {
                Some(rest) => rest.split(' ').next().unwrap().parse().unwrap(),
                None => 1,
            };
            shown.push(format!("plan {pass} ({})", count.unwrap_or("?")));
        } else if let Some(done) = line.trim_start().strip_prefix("✓ ") {
            let words: Vec<&str> = done.split_whitespace().take(3).collect();
            shown.push(format!("done {pass} {}", words.join(" ")));
        } else if let [(op, kind, name)] = planned_actions(line).as_slice() {
            shown.push(format!("planned {op} {kind} {name}"));
        }
    }
    shown
}

#[tokio::test]
async fn apply_of_a_minimal_pipeline_prints_each_pass_plan_before_its_outcomes_and_exits_0() {
    let (_dir, file, p, c) = new_pipeline("apply").await;

    let o = against_moto(&["apply", "-f", &file]);

    assert_exit(&o, 0);
    assert_eq!(
        shown_in_text(&stdout(&o), &p),
        first_apply_of(&p),
        "{}",
        describe(&o)
    );
    // And AWS holds them.
    assert_eq!(stream_buffer_size(&c, &p.names.stream).await, Some(5));
    assert_eq!(filters(&c, &p.group).await, vec![p.names.filter.clone()]);
    assert!(stack_exists(&c, &p.names.stack).await);
}

#[tokio::test]
async fn apply_in_json_writes_a_line_per_pass_plan_before_that_pass_outcomes_then_the_result() {
    let (_dir, file, p, _c) = new_pipeline("apply-json").await;

    let o = against_moto(&["apply", "-f", &file, "--format", "json"]);

    assert_exit(&o, 0);
    let id = format!("{}/{}", p.id.namespace, p.id.name);
    let mut shown = Vec::new();
    for line in stdout(&o).lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["pipeline"], id.as_str(), "{line}");
        let what = |a: &serde_json::Value| {
            format!(
                "{} {} {}",
                a["op"].as_str().unwrap(),
                a["kind"].as_str().unwrap(),
                a["name"].as_str().unwrap()
            )
        };
        match v["event"].as_str().unwrap() {
            "plan" => {
                let actions = v["actions"].as_array().unwrap();
                shown.push(format!("plan {} ({})", v["pass"], actions.len()));
                shown.extend(actions.iter().map(|a| format!("planned {}", what(a))));
            }
            "outcome" => {
                assert!(v["detail"].is_string(), "{line}");
                shown.push(format!("done {} {}", v["pass"], what(&v)));
            }
            "result" => {
                assert_eq!((&v["status"], &v["passes"]), (&"inSync".into(), &2.into()));
                shown.push("in sync".into());
            }
            other => panic!("unknown event {other}: {line}"),
        }
    }
    assert_eq!(shown, first_apply_of(&p), "{}", describe(&o));
}

#[tokio::test]
async fn apply_of_a_pipeline_already_in_sync_writes_nothing_and_exits_0() {
    let (_dir, file, p, _c) = applied("reapply").await;

    let o = against_moto(&["apply", "-f", &file]);

    assert_exit(&o, 0);
    assert_reported_in_sync(&stdout(&o), &p);
    assert!(
        succeeded_actions(&stdout(&o)).is_empty(),
        "{}",
        describe(&o)
    );
    assert_eq!(
        lines_with(&output(&o), &["(0 writes)"]).len(),
        1,
        "{}",
        describe(&o)
    );
}

// ---- drift -------------------------------------------------------------------------------------------

/// Asserts that `text` reports `p` as in sync, on one line.
fn assert_reported_in_sync(text: &str, p: &Pipeline) {
    let lines = p.headlines(text);
    assert!(
        lines.len() == 1 && lines[0].ends_with(": in sync"),
        "{} is not reported in sync, on one line:\n{text}",
        p.label()
    );
}

#[tokio::test]
async fn drift_right_after_apply_reports_in_sync_and_exits_0() {
    let (_dir, file, p, _c) = applied("insync").await;

    let o = against_moto(&["drift", "-f", &file]);

    assert_exit(&o, 0);
    assert_reported_in_sync(&stdout(&o), &p);
    assert_eq!(p.section(&stdout(&o)).len(), 1, "{}", describe(&o));
}

#[tokio::test]
async fn drift_after_out_of_band_changes_exits_2_naming_each_changed_field() {
    let (_dir, file, p, c) = applied("drifted").await;
    change_buffer_size(&c, &p.names.stream, 64).await;
    delete_filter(&c, &p.group, &p.names.filter).await;

    let o = against_moto(&["drift", "-f", &file]);

    assert_exit(&o, 2);
    let out = stdout(&o);
    let section = p.section(&out).join("\n");
    assert!(
        section
            .lines()
            .next()
            .is_some_and(|h| h.contains("drifted")),
        "{}",
        describe(&o)
    );
    let expect_one = |parts: &[&str]| {
        assert_eq!(
            lines_with(&section, parts).len(),
            1,
            "one line with {parts:?} expected\n{}",
            describe(&o)
        );
    };
    expect_one(&["Update", "DeliveryStream", &p.names.stream]);
    expect_one(&["BufferingHints.SizeInMBs", "found 64, want 5"]);
    expect_one(&["Create", "SubscriptionFilter", &p.group]);
    expect_one(&[
        "filterName",
        &format!("found (absent), want {}", p.names.filter),
    ]);
}

#[tokio::test]
async fn apply_after_out_of_band_changes_restores_the_spec_and_drift_then_exits_0() {
    let (_dir, file, p, c) = applied("repaired").await;
    change_buffer_size(&c, &p.names.stream, 64).await;
    delete_filter(&c, &p.group, &p.names.filter).await;

    let o = against_moto(&["apply", "-f", &file]);

    assert_exit(&o, 0);
    assert_eq!(
        succeeded_actions(&stdout(&o)),
        [
            action("Update", "DeliveryStream", &p.names.stream),
            action("Create", "SubscriptionFilter", &p.group),
        ],
        "{}",
        describe(&o)
    );
    assert_eq!(stream_buffer_size(&c, &p.names.stream).await, Some(5));
    assert_eq!(filters(&c, &p.group).await, vec![p.names.filter.clone()]);
    let again = against_moto(&["drift", "-f", &file]);
    assert_exit(&again, 0);
    assert_reported_in_sync(&stdout(&again), &p);
}

/// Someone deletes the bucket policy (the TLS-only deny) and widens the delivery role's inline
/// policy to everything: changes to the stack's own resources, which its template never shows.
async fn open_the_stack_resources(c: &RegionClients, p: &Pipeline) -> String {
    c.s3.delete_bucket_policy()
        .bucket(&p.names.bucket)
        .send()
        .await
        .unwrap();
    let role = &p.names.delivery_role;
    let policy = first_inline_policy(c, role).await;
    put_role_policy(c, role, &policy, ALLOW_ALL).await;
    policy
}

#[tokio::test]
async fn drift_names_the_stack_resources_changed_by_hand_and_apply_restores_them() {
    let (_dir, file, p, c) = applied("held").await;
    let policy = open_the_stack_resources(&c, &p).await;

    let o = against_moto(&["drift", "-f", &file]);
    assert_exit(&o, 2);
    let section = p.section(&stdout(&o)).join("\n");
    let expect_one = |parts: &[&str]| {
        assert_eq!(
            lines_with(&section, parts).len(),
            1,
            "one line with {parts:?} expected\n{}",
            describe(&o)
        );
    };
    expect_one(&["Update", "BucketPolicy", &p.names.bucket]);
    expect_one(&[
        "PolicyDocument.Statement[DenyInsecureTransport]",
        "found (absent), want ",
    ]);
    expect_one(&["Update", "Role", &p.names.delivery_role]);
    // The hand-written statement has no Sid: it is named by its position.
    expect_one(&[
        &format!("Policies.{policy}.Statement[#0]"),
        r#"found {"Action":"*","Effect":"Allow","Resource":"*"}, want (absent)"#,
    ]);

    let fixed = against_moto(&["apply", "-f", &file]);
    assert_exit(&fixed, 0);
    let again = against_moto(&["drift", "-f", &file]);
    assert_exit(&again, 0);
    assert_reported_in_sync(&stdout(&again), &p);
}

#[tokio::test]
async fn drift_never_writes_so_out_of_band_changes_stay_as_they_are() {
    let (_dir, file, p, c) = applied("readonly").await;
    change_buffer_size(&c, &p.names.stream, 64).await;
    delete_filter(&c, &p.group, &p.names.filter).await;
    let stream_before = stream_state(&c, &p.names.stream).await;

    let first = against_moto(&["drift", "-f", &file]);
    let second = against_moto(&["drift", "-f", &file]);

    assert_exit(&first, 2);
    assert_exit(&second, 2);
    assert_eq!(p.section(&stdout(&first)), p.section(&stdout(&second)));
    assert_eq!(
        lines_with(&output(&first), &["(0 writes)"]).len(),
        1,
        "{}",
        describe(&first)
    );
    assert_eq!(stream_state(&c, &p.names.stream).await, stream_before);
    assert_eq!(stream_buffer_size(&c, &p.names.stream).await, Some(64));
    assert_eq!(filters(&c, &p.group).await, Vec::<String>::new());
}

#[tokio::test]
async fn drift_with_the_aws_endpoint_down_exits_1_within_seconds_naming_the_failure() {
    let p = Pipeline::unique("down");
    let dir = Scratch::new("down");
    let file = dir.write("pipeline.yaml", &p.yaml());
    let down = closed_endpoint();

    // The default --aws-timeout (120 s) is for passing faults during work; the first question
    // gives up within seconds.
    let started = Instant::now();
    let o = against(&down, &["drift", "-f", &file]);
    let elapsed = started.elapsed();

    assert_exit(&o, 1);
    let out = stdout(&o);
    let reported = p.headlines(&out);
    assert_eq!(reported.len(), 1, "{}", describe(&o));
    assert!(
        reported[0].contains("error")
            && reported[0].contains("AWS is unreachable or failing")
            && reported[0].contains("Connection refused"),
        "{}",
        describe(&o)
    );
    assert!(!reported[0].contains("in sync"), "{}", describe(&o));
    assert!(elapsed < Duration::from_secs(15), "took {elapsed:?}");
}

#[tokio::test]
async fn drift_and_apply_against_an_endpoint_that_never_answers_exit_1_within_seconds_naming_it() {
    let p = Pipeline::unique("silent");
    let dir = Scratch::new("silent");
    let file = dir.write("pipeline.yaml", &p.yaml());
    let aws = Silent::start();
    // Each attempt waits up to 60 s for its answer: the first question's 5 s bound the whole
    // question, attempts included.
    let cause = format!(
        "STS.GetCallerIdentity: no answer from {} within 5 s",
        aws.endpoint
    );
    for command in ["drift", "apply"] {
        let started = Instant::now();
        let o = against(&aws.endpoint, &[command, "-f", &file]);
        let elapsed = started.elapsed();

        assert_exit(&o, 1);
        assert!(
            output(&o).contains(&format!("cannot reach AWS: {cause}")),
            "{command}: {}",
            describe(&o)
        );
        assert!(
            elapsed < Duration::from_secs(15),
            "{command} took {elapsed:?}"
        );
    }
}

#[tokio::test]
async fn drift_and_apply_without_a_region_anywhere_name_how_to_set_one_without_asking_aws() {
    let aws = ConnectionCounter::start();
    let p = Pipeline::unique("regionless");
    let dir = Scratch::new("regionless");
    let file = dir.write("pipeline.yaml", &p.yaml());
    let config = dir.write("aws-config", "");
    for command in ["drift", "apply"] {
        let o = against_without_region(&aws.endpoint, &config, &[command, "-f", &file]);

        assert_exit(&o, 1);
        let text = output(&o);
        let named = lines_with(
            &text,
            &[
                "no AWS region",
                "spec.region",
                "--region",
                "AWS_REGION",
                "profile",
            ],
        );
        assert_eq!(named.len(), 1, "{command}: {}", describe(&o));
        assert!(!text.contains("unreachable"), "{command}: {}", describe(&o));
    }
    assert_eq!(aws.accepted(), 0, "connections to AWS");
}

#[tokio::test]
async fn drift_of_an_invalid_spec_exits_1_naming_the_field_without_any_aws_call() {
    let aws = ConnectionCounter::start();
    let dir = Scratch::new("invalid");
    let namespace = unique_namespace();
    let file = dir.write(
        "pipeline.yaml",
        &format!(
            "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: broken\n  \
             namespace: {namespace}\nspec:\n  sources:\n    logGroups: [/pitagora-cli/{namespace}]\n  \
             delivery:\n    buffering:\n      sizeMiB: 200\n"
        ),
    );

    let o = against(&aws.endpoint, &["drift", "--aws-timeout", "0", "-f", &file]);

    assert_exit(&o, 1);
    assert_eq!(
        lines_with(&output(&o), &["spec.delivery.buffering.sizeMiB = 200"]).len(),
        1,
        "{}",
        describe(&o)
    );
    assert_eq!(aws.accepted(), 0, "connections to AWS\n{}", describe(&o));
}

#[tokio::test]
async fn drift_and_apply_over_the_malformed_corpus_exit_1_without_any_aws_call() {
    let aws = ConnectionCounter::start();
    let corpus = common::repo_path("tests/corpus/malformed");
    let corpus = corpus.to_str().unwrap();
    for command in ["drift", "apply"] {
        let o = against(&aws.endpoint, &[command, "-f", corpus]);
        assert_exit(&o, 1);
        let text = output(&o);
        let rejected = text
            .lines()
            .filter(|l| l.contains("invalid spec:") || l.contains("is invalid ("))
            .count();
        assert!(
            rejected >= 50,
            "{command}: {rejected} rejected\n{}",
            describe(&o)
        );
    }
    assert_eq!(aws.accepted(), 0, "connections to AWS");
}

#[tokio::test]
async fn drift_of_a_directory_exits_2_and_names_only_the_drifted_pipelines_field() {
    let c = default_account_clients().await;
    let namespace = unique_namespace();
    let pipelines: Vec<Pipeline> = ["alpha", "bravo", "charlie"]
        .into_iter()
        .map(|name| Pipeline::new(&namespace, name))
        .collect();
    let dir = Scratch::new("directory");
    for p in &pipelines {
        create_source(&c, p).await;
        dir.write(&format!("{}.yaml", p.id.name), &p.yaml());
    }
    dir.delete_pipelines_at_end();
    assert_exit(&against_moto(&["apply", "-f", &dir.path()]), 0);
    let drifted = &pipelines[1];
    change_buffer_size(&c, &drifted.names.stream, 32).await;

    let o = against_moto(&["drift", "-f", &dir.path()]);

    assert_exit(&o, 2);
    let out = stdout(&o);
    assert_reported_in_sync(&out, &pipelines[0]);
    assert_reported_in_sync(&out, &pipelines[2]);
    let changes: Vec<&str> = out.lines().filter(|l| l.contains(": found ")).collect();
    assert_eq!(
        changes,
        lines_with(
            &drifted.section(&out).join("\n"),
            &["BufferingHints.SizeInMBs", "found 32, want 5"]
        ),
        "{}",
        describe(&o)
    );
    assert_eq!(changes.len(), 1, "{}", describe(&o));
}

// ---- delete ------------------------------------------------------------------------------------------

#[tokio::test]
async fn delete_removes_the_filter_the_stream_and_the_stack_and_keeps_the_bucket() {
    let (_dir, file, p, c) = applied("delete").await;
    assert!(bucket_exists(&c, &p.names.bucket).await);

    let o = against_moto(&["delete", "-f", &file]);

    assert_exit(&o, 0);
    assert_eq!(
        lines_with(&stdout(&o), &[&format!("{}: deleted", p.label())]).len(),
        1,
        "{}",
        describe(&o)
    );
    assert_eq!(stream_buffer_size(&c, &p.names.stream).await, None);
    assert!(!stack_exists(&c, &p.names.stack).await);
    assert_eq!(filters(&c, &p.group).await, Vec::<String>::new());
    assert!(bucket_exists(&c, &p.names.bucket).await);
}

#[tokio::test]
async fn delete_reads_back_names_what_stayed_and_what_is_kept_and_exits_1() {
    let (_dir, file, p, c) = applied("leftover").await;
    // Someone gives the logs role `DeletionPolicy: Retain` in the stack (moto honours it): the
    // stack reaches DELETE_COMPLETE and the role stays.
    let body = c
        .cfn
        .get_template()
        .stack_name(&p.names.stack)
        .send()
        .await
        .unwrap();
    let mut template: serde_json::Value =
        serde_json::from_str(body.template_body().unwrap()).unwrap();
    template["Resources"]["LogsRole"]["DeletionPolicy"] = "Retain".into();
    c.cfn
        .update_stack()
        .stack_name(&p.names.stack)
        .template_body(template.to_string())
        .capabilities(aws_sdk_cloudformation::types::Capability::CapabilityNamedIam)
        .send()
        .await
        .unwrap();

    let o = against_moto(&["delete", "-f", &file]);

    assert_exit(&o, 1);
    let out = stdout(&o);
    assert!(!stack_exists(&c, &p.names.stack).await);
    assert_eq!(
        lines_with(
            &out,
            &[
                "! Remains  AWS::IAM::Role",
                &p.names.logs_role,
                "the stack's template retains it (DeletionPolicy: Retain)"
            ]
        )
        .len(),
        1,
        "{}",
        describe(&o)
    );
    assert_eq!(
        lines_with(
            &out,
            &[
                "= Kept     AWS::S3::Bucket",
                &p.names.bucket,
                "storage.deletionPolicy: Retain"
            ]
        )
        .len(),
        1,
        "{}",
        describe(&o)
    );
    assert_eq!(
        lines_with(
            &out,
            &[&format!(
                "{}: not fully deleted (1 resource remains",
                p.label()
            )]
        )
        .len(),
        1,
        "{}",
        describe(&o)
    );
    let gone = format!("{}: deleted", p.label());
    assert!(lines_with(&out, &[&gone]).is_empty(), "{}", describe(&o));
}

// ---- verify ------------------------------------------------------------------------------------

#[tokio::test]
async fn verify_right_after_apply_finds_the_canary_in_raw_and_exits_0() {
    let (_dir, file, p, _c) = applied("verified").await;

    let o = against_moto(&["verify", "-f", &file]);

    assert_exit(&o, 0);
    let out = stdout(&o);
    let section = p.section(&out);
    assert!(section[0].ends_with(": delivered"), "{}", describe(&o));
    assert_eq!(
        lines_with(
            &section.join("\n"),
            &["firehose → s3 raw/", "delivered after", "raw/"]
        )
        .len(),
        1,
        "{}",
        describe(&o)
    );
}

#[tokio::test]
async fn verify_against_an_endpoint_without_cloudwatch_metrics_says_so_once_and_exits_0() {
    let (_dir, file, p, _c) = applied("unmetered").await;

    let o = against_moto(&["verify", "-f", &file]);

    assert_exit(&o, 0);
    let out = stdout(&o);
    let section = p.section(&out);
    let unread: Vec<&str> = section
        .iter()
        .copied()
        .filter(|l| l.contains("loss signals"))
        .collect();
    assert_eq!(
        unread,
        [
            "  loss signals not read: the endpoint does not serve CloudWatch metrics (CloudWatch.GetMetricData answered HTTP 404)"
        ],
        "{}",
        describe(&o)
    );
}

// Multi-threaded: the canned answerer runs on this runtime while the binary blocks the test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_whose_cloudwatch_metrics_are_quiet_says_no_loss_signals_showed() {
    let (_dir, file, p, _c) = applied("quiet").await;
    // The SDK's own per-service endpoint variable: CloudWatch to the canned answerer.
    let cloudwatch = common::canned::serve().await;

    let o = against_with(
        &common::moto::endpoint(),
        &["verify", "-f", &file],
        &[("AWS_ENDPOINT_URL_CLOUDWATCH", &cloudwatch.url)],
    );

    assert_exit(&o, 0);
    assert_eq!(
        cloudwatch.requests.load(Ordering::SeqCst),
        1,
        "{}",
        describe(&o)
    );
    let out = stdout(&o);
    let signals: Vec<&str> = p
        .section(&out)
        .into_iter()
        .filter(|l| l.contains("loss signals"))
        .collect();
    assert_eq!(
        signals,
        ["  loss signals: none in the last 15 min (delivery metrics, error objects)"],
        "{}",
        describe(&o)
    );
}

#[tokio::test]
async fn verify_ends_with_the_aws_calls_it_made_its_canarys_writes_among_them() {
    let (_dir, file, _p, _c) = applied("counted").await;

    let o = against_moto(&["verify", "-f", &file, "--format", "json"]);

    assert_exit(&o, 0);
    let (calls, writes) = calls_line(&o);
    assert!(calls > writes, "{}", describe(&o));
    // A pipeline's first canary: PutLogEvents refused (no canary stream yet), CreateLogStream,
    // PutLogEvents.
    assert_eq!(writes, 3, "{}", describe(&o));
}

#[tokio::test]
async fn verify_without_the_canary_groups_filter_exits_1_naming_the_subscription() {
    let (_dir, file, p, c) = applied("unverified").await;
    let canary_group = format!(
        "{}{}",
        pitagora::names::CANARY_LOG_GROUP_ROOT,
        p.names.stream
    );
    delete_filter(&c, &canary_group, &p.names.filter).await;

    let o = against_moto(&["verify", "-f", &file, "--timeout", "1", "--format", "json"]);

    assert_exit(&o, 1);
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON on stdout");
    let mine = &report["pipelines"][0];
    assert_eq!(mine["delivered"], false, "{}", describe(&o));
    assert_eq!(mine["stoppedAt"], "cloudwatch-logs → firehose");
    assert_eq!(mine["stages"][0]["state"], "Waiting");
    assert!(
        mine["cause"]
            .as_str()
            .unwrap_or_default()
            .contains(&canary_group),
        "{}",
        describe(&o)
    );
}

#[tokio::test]
async fn logs_at_debug_carry_no_credentials_and_no_policy_documents() {
    let c = default_account_clients().await;
    let p = Pipeline::unique("secrets");
    create_source(&c, &p).await;
    let dir = Scratch::new("secrets");
    let file = dir.write("pipeline.yaml", &p.yaml());
    dir.delete_pipelines_at_end();
    let (secret, token) = ("pitagora-secret-9f8e7d6c", "pitagora-token-1a2b3c4d");
    // Everything at debug, pitagora's and its libraries' (the AWS SDK, hyper, rustls) alike;
    // the apply writes role and bucket policies (the emulator's corrections).
    let o = against_with(
        &common::moto::endpoint(),
        &["apply", "-f", &file],
        &[
            ("RUST_LOG", "debug"),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_SESSION_TOKEN", token),
        ],
    );
    assert_exit(&o, 0);
    let (out, err) = (stdout(&o), stderr(&o));
    assert!(err.lines().count() > 20, "debug logging is on: {err}");
    for text in [&out, &err] {
        assert!(!text.contains(secret), "the secret key was printed");
        assert!(!text.contains(token), "the session token was printed");
    }
    for document_part in ["\"Statement\"", "sts:AssumeRole", "PolicyDocument"] {
        assert!(
            !err.contains(document_part),
            "a policy document was logged ({document_part}): {}",
            lines_with(&err, &[document_part]).join("\n")
        );
    }
}
