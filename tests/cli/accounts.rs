//! The `pitagora` binary with an accounts file (`--accounts`) against moto: a namespace built in
//! a fresh account A takes log groups of B in the pipeline's region and of C in another. The CLI
//! keeps no record of what it applied, so once C's place is dropped from the spec, `drift` and
//! `apply` find it live (A's destination in C's region still allows C): `drift` reports its
//! filter, its canary group and the region's destination as removals, and `apply` removes them,
//! B's part untouched. Assumed roles act in their own account, so the binary's calls need no
//! moto account header.

use crate::common;

use aws_sdk_s3::config::SharedInterceptor;
use common::binary::{against_moto, assert_exit, output, stdout};
use common::moto::{
    MotoAccount, REGION, endpoint, filter_names, fresh_account, log_group_exists, sdk_config,
    test_settings,
};
use pitagora::aws::{Aws, RegionClients};
use pitagora::names::{Names, PipelineId};

/// C's region.
const R2: &str = "us-east-1";

/// Clients acting as `account` in `region` (moto's header), out of band.
async fn clients(account: &str, region: &str) -> RegionClients {
    let header = SharedInterceptor::new(MotoAccount(account.to_owned()));
    let aws = Aws::from_config(sdk_config(&endpoint()).await, test_settings(), vec![header]);
    aws.region(region).as_ref().clone()
}

/// The accounts file: `namespace` built in `a`, given `/b/` of `b` here and `/c/` of `c` in R2.
fn accounts_file(namespace: &str, [a, b, c]: [&str; 3]) -> String {
    let role = |id: &str| {
        format!(
            "  - id: \"{id}\"\n    roleArn: arn:aws:iam::{id}:role/pitagora/access\n    externalId: pitagora-test\n"
        )
    };
    format!(
        "accounts:\n{}{}{}namespaces:\n  {namespace}:\n    account: \"{a}\"\n    sources:\n      - account: \"{b}\"\n        regions: [{REGION}]\n        logGroupPrefixes: [/b/]\n      - account: \"{c}\"\n        regions: [{R2}]\n        logGroupPrefixes: [/c/]\n",
        role(a),
        role(b),
        role(c)
    )
}

/// The `LogPipeline` taking `/b/app` of `b` and, when `with_c`, `/c/app` of `c` in R2.
fn pipeline_yaml(id: &PipelineId, b: &str, c: &str, with_c: bool) -> String {
    let c_entry = format!("      - {{account: \"{c}\", region: {R2}, logGroups: [/c/app]}}\n");
    format!(
        "apiVersion: pitagora.dev/v1alpha1\nkind: LogPipeline\nmetadata:\n  name: {}\n  namespace: {}\nspec:\n  sources:\n    remote:\n      - {{account: \"{b}\", logGroups: [/b/app]}}\n{}",
        id.name,
        id.namespace,
        if with_c { c_entry.as_str() } else { "" }
    )
}

#[tokio::test]
async fn a_place_dropped_from_the_spec_is_found_live_reported_by_drift_and_removed_by_apply() {
    let (a, b, c) = (fresh_account(), fresh_account(), fresh_account());
    let id = PipelineId::new(format!("cli-{}", fresh_account()), "orders");
    let (in_b, in_c) = (clients(&b, REGION).await, clients(&c, R2).await);
    for (there, group) in [(&in_b, "/b/app"), (&in_c, "/c/app")] {
        let create = there.logs.create_log_group().log_group_name(group);
        create.send().await.unwrap();
    }
    let dir = common::scratch_dir("cli-accounts");
    let write = |file: &str, text: &str| {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let accounts = write("accounts.yaml", &accounts_file(&id.namespace, [&a, &b, &c]));
    let file = write("pipeline.yaml", &pipeline_yaml(&id, &b, &c, true));
    let run = |command: &str| against_moto(&[command, "-f", &file, "--accounts", &accounts]);
    assert_exit(&run("apply"), 0);

    let names = Names::derive(&id, &pitagora::arn::AwsTarget::new(&a, REGION), None, None);
    let canary = format!("/pitagora/canary/{}", names.stream);
    let destination = pitagora::names::destination_name(&names.stream, R2);
    assert_eq!(
        filter_names(&in_c, "/c/app").await,
        std::slice::from_ref(&names.filter)
    );
    assert!(log_group_exists(&in_c, &canary).await);

    write("pipeline.yaml", &pipeline_yaml(&id, &b, &c, false));
    let drift = run("drift");
    assert_exit(&drift, 2);
    let text = stdout(&drift);
    let place = format!("{c}/{R2}");
    for removed in [
        format!("{place}:/c/app"),
        format!("{place}:{canary}"),
        destination.clone(),
    ] {
        let shown = text
            .lines()
            .any(|l| l.contains("Delete") && l.contains(&removed));
        assert!(shown, "drift names the removal of {removed}:\n{text}");
    }

    let applied = run("apply");
    assert_exit(&applied, 0);
    assert!(
        filter_names(&in_c, "/c/app").await.is_empty(),
        "{}",
        output(&applied)
    );
    assert!(
        !log_group_exists(&in_c, &canary).await,
        "{}",
        output(&applied)
    );
    let in_a = clients(&a, R2).await;
    let left = in_a.logs.describe_destinations().send().await.unwrap();
    assert!(left.destinations().is_empty(), "{left:?}");
    assert_eq!(
        filter_names(&in_b, "/b/app").await,
        std::slice::from_ref(&names.filter)
    );
    assert_exit(&run("drift"), 0);
    common::remove_scratch_dir(&dir);
}
