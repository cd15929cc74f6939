//! `pitagora audit` run as a user or a CI job runs it, against moto: its output (text and JSON)
//! and its exit codes (0 complete, 2 events missing, 1 error).
//!
//! The binary's calls land in moto's shared default account (it cannot send the per-test
//! account header): each test names its pipeline and log group uniquely and deletes the
//! pipeline when it ends (moto allows only 50 Firehose streams per account).

use crate::common;

use common::binary::{against_moto, assert_exit, calls_line, describe, offline, stderr, stdout};
use common::moto::{
    default_account_clients, delete_object, fresh_account, object_event_ids, object_keys,
    put_batches,
};
use pitagora::aws::RegionClients;
use std::path::PathBuf;
use std::sync::Arc;

/// A pipeline applied from a scratch file, deleted (with the file) when the test ends.
struct Applied {
    dir: PathBuf,
    file: String,
    group: String,
    bucket: String,
    c: Arc<RegionClients>,
}

impl Applied {
    /// A pipeline on a log group of its own with `recordFormat: format`, applied; then three
    /// `put_log_events` calls of two events each into its group.
    async fn with_events(format: &str) -> Self {
        let namespace = format!("audit-{}", fresh_account());
        let group = format!("/pitagora-cli/{namespace}/orders");
        let spec =
            format!("sources:\n  logGroups: [{group}]\ndelivery:\n  recordFormat: {format}\n");
        let id = pitagora::names::PipelineId::new(&namespace, "orders");
        let d =
            pitagora::desired::from_spec(&id, &common::spec(&spec), common::ACCOUNT, "eu-west-1")
                .unwrap();
        let dir = common::scratch_dir("audit");
        let indented = spec.replace('\n', "\n  ");
        let yaml = format!(
            "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: orders\n  \
             namespace: {namespace}\nspec:\n  {indented}"
        );
        let file = dir.join("pipeline.yaml").display().to_string();
        std::fs::write(&file, yaml).unwrap();
        let c = default_account_clients().await;
        c.logs
            .create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
        let applied = Self {
            dir,
            file,
            group,
            bucket: d.names.bucket,
            c,
        };
        assert_exit(&against_moto(&["apply", "-f", &applied.file]), 0);
        let batches: &[&[&str]] = &[&["a1", "a2"], &["b1", "b2"], &["c1", "c2"]];
        put_batches(&applied.c, &applied.group, "web-1", batches).await;
        applied
    }

    /// `pitagora audit -f <file> --since 5m` and `extra`.
    fn audit(&self, extra: &[&str]) -> std::process::Output {
        let mut args = vec!["audit", "-f", &self.file, "--since", "5m"];
        args.extend(extra);
        against_moto(&args)
    }
}

impl Drop for Applied {
    fn drop(&mut self) {
        let o = against_moto(&["delete", "-f", &self.file]);
        if !o.status.success() {
            eprintln!("cleanup failed: {}", describe(&o));
        }
        common::remove_scratch_dir(&self.dir);
    }
}

#[tokio::test]
async fn a_window_whose_events_all_arrived_is_complete_by_event_id_and_exits_0() {
    let p = Applied::with_events("Envelope").await;
    let o = p.audit(&[]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains(": complete — 6 of 6 logged events delivered (by event id)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("  {}: 6 logged, 6 delivered, 0 missing", p.group)),
        "{text}"
    );
}

#[tokio::test]
async fn audit_ends_with_the_aws_calls_it_made_and_writes_none() {
    let p = Applied::with_events("Envelope").await;
    let o = p.audit(&["--format", "json"]);
    assert_exit(&o, 0);
    let (calls, writes) = calls_line(&o);
    assert!(calls > 0, "{}", describe(&o));
    assert_eq!(writes, 0);
}

#[tokio::test]
async fn a_deleted_object_exits_2_with_exactly_its_event_ids_missing_in_json() {
    let p = Applied::with_events("Envelope").await;
    let prefix = "raw/";
    let keys = object_keys(&p.c, &p.bucket, prefix).await;
    assert_eq!(keys.len(), 3, "{keys:?}");
    let lost_ids = object_event_ids(&p.c, &p.bucket, &keys[0]).await;
    delete_object(&p.c, &p.bucket, &keys[0]).await;

    let o = p.audit(&["--format", "json"]);
    assert_exit(&o, 2);
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON on stdout");
    assert_eq!(json["version"], 1);
    let pipeline = &json["pipelines"][0];
    assert_eq!(pipeline["status"], "missing");
    let group = &pipeline["audit"]["groups"][0];
    assert_eq!(group["logGroup"], p.group.as_str());
    let mut missing: Vec<String> = group["missingIds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    missing.sort();
    assert_eq!(missing, lost_ids);
    assert_eq!(pipeline["audit"]["totals"]["missing"], 2);
}

#[tokio::test]
async fn an_ndjson_pipeline_is_audited_by_count_and_says_so() {
    let p = Applied::with_events("NDJSON").await;
    let o = p.audit(&[]);
    assert_exit(&o, 0);
    let text = stdout(&o);
    assert!(
        text.contains("6 of 6 logged events delivered (by count:"),
        "{text}"
    );
    assert!(text.contains("pipeline totals only"), "{text}");
}

#[tokio::test]
async fn a_window_with_more_events_than_max_events_exits_1_asking_to_narrow_it() {
    let p = Applied::with_events("Envelope").await;
    let o = p.audit(&["--max-events", "3"]);
    assert_exit(&o, 1);
    assert!(stderr(&o).contains("narrow the window"), "{}", describe(&o));
}

#[test]
fn a_window_that_ends_before_it_starts_exits_1_before_reaching_aws() {
    let o = offline(&[
        "audit",
        "-f",
        "examples/",
        "--since",
        "2030-01-02T00:00:00Z",
        "--until",
        "2030-01-01T00:00:00Z",
    ]);
    assert_exit(&o, 1);
    assert!(
        stderr(&o).contains("--since must be before --until"),
        "{}",
        describe(&o)
    );
}
