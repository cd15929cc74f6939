//! `pitagora verify` of a pipeline with a remote source (`us-east-1` of moto's default account,
//! the pipeline in `eu-west-1`): it prints each path's canary with its latency, and exits 1
//! naming the path whose canary did not arrive, `<account>/<region> → destination`.

use crate::common;

use common::binary::{against_moto, assert_exit, describe, stdout};
use common::moto::{default_account_clients, endpoint, fresh_account, sdk_config, test_settings};
use pitagora::aws::Aws;
use serde_json::Value;

const SOURCE_REGION: &str = "us-east-1";

/// The `verify` report of `file` as JSON, with `--timeout` `seconds`: (exit code, the pipeline's
/// part).
fn verified(file: &str, seconds: &str) -> (Option<i32>, Value, String) {
    let o = against_moto(&[
        "verify",
        "-f",
        file,
        "--timeout",
        seconds,
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_str(&stdout(&o)).expect("JSON on stdout");
    (
        o.status.code(),
        report["pipelines"][0].clone(),
        describe(&o),
    )
}

#[tokio::test]
async fn verify_prints_each_paths_canary_and_exits_1_naming_the_path_whose_canary_did_not_arrive() {
    let namespace = format!("cli-{}", fresh_account());
    let dir = common::scratch_dir("paths");
    let group = format!("/pitagora-cli/{namespace}/orders");
    (default_account_clients().await.logs.create_log_group())
        .log_group_name(&group)
        .send()
        .await
        .unwrap();
    let yaml = format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: orders\n  namespace: {namespace}\nspec:\n  sources:\n    logGroups: [{group}]\n    remote:\n      - {{region: {SOURCE_REGION}, logGroupPrefixes: [/pitagora-cli/{namespace}/]}}\n"
    );
    let file = dir.join("pipeline.yaml");
    std::fs::write(&file, yaml).unwrap();
    let file = file.display().to_string();
    let applied = against_moto(&["apply", "-f", &file]);
    assert_exit(&applied, 0);
    let path = format!("{}/{SOURCE_REGION} → destination", common::ACCOUNT);

    let (code, mine, said) = verified(&file, "5");
    assert_eq!(code, Some(0), "{said}");
    assert_eq!(mine["paths"][0]["path"], path.as_str(), "{said}");
    assert_eq!(mine["paths"][0]["state"], "Delivered", "{said}");
    assert!(mine["paths"][0]["latencyMs"].is_i64(), "{said}");
    let text = against_moto(&["verify", "-f", &file, "--timeout", "5"]);
    let line = stdout(&text)
        .lines()
        .find(|l| l.contains(&path))
        .map(str::to_owned);
    assert!(
        line.as_deref()
            .is_some_and(|l| l.contains("delivered after")),
        "{}",
        describe(&text)
    );

    // The remote canary group's filter removed by hand: that path's canary cannot arrive.
    let there = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), Vec::new())
        .region(SOURCE_REGION);
    let desired = pitagora::desired::from_spec(
        &pitagora::names::PipelineId::new(&namespace, "orders"),
        &common::spec(&format!(
            "sources:\n  logGroups: [{group}]\n  remote:\n    - {{region: {SOURCE_REGION}, logGroupPrefixes: [/pitagora-cli/{namespace}/]}}\n"
        )),
        common::ACCOUNT,
        common::REGION,
    )
    .unwrap();
    let canary_group = desired.remote[0].canary_log_group.clone().unwrap().name;
    (there.logs.delete_subscription_filter())
        .log_group_name(&canary_group)
        .filter_name(&desired.names.filter)
        .send()
        .await
        .unwrap();
    let (code, mine, said) = verified(&file, "1");
    assert_eq!(code, Some(1), "{said}");
    assert_eq!(mine["delivered"], false, "{said}");
    assert_eq!(mine["stoppedAt"], path.as_str(), "{said}");
    assert_eq!(
        mine["stages"][0]["state"], "Delivered",
        "the own path: {said}"
    );

    let deleted = against_moto(&["delete", "-f", &file]);
    assert_exit(&deleted, 0);
    common::remove_scratch_dir(&dir);
}
