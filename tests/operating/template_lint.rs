//! Every template pitagora renders passes `cfn-lint`, AWS's own CloudFormation linter (pinned in
//! scripts/moto.sh, which installs it beside moto): resource types, properties, values, ARNs,
//! references and the region's availability, beyond what the emulator checks.

use crate::common;

use common::{beside_fluentd_spec, desired, full_chain_spec, minimal_spec, spec};
use std::path::PathBuf;
use std::process::Command;

/// The linter; fails with instructions when it is not installed.
fn cfn_lint() -> PathBuf {
    std::env::var_os("PITAGORA_CFN_LINT").map(PathBuf::from).expect(
        "this test needs cfn-lint: run it with scripts/test.sh (scripts/moto.sh install puts it \
         in .venv-moto/), or set PITAGORA_CFN_LINT to its path",
    )
}

/// Lints `templates` (name, JSON) in one run: (exit code, output).
fn lint(templates: &[(String, serde_json::Value)]) -> (i32, String) {
    let dir = std::env::temp_dir().join(format!(
        "pitagora-cfn-lint-{}-{}",
        std::process::id(),
        templates.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let files: Vec<PathBuf> = templates
        .iter()
        .map(|(name, t)| {
            let path = dir.join(format!("{name}.json"));
            std::fs::write(&path, serde_json::to_string_pretty(t).unwrap()).unwrap();
            path
        })
        .collect();
    let out = Command::new(cfn_lint())
        .args(["--regions", "eu-west-1", "--format", "parseable", "--"])
        .args(&files)
        .output()
        .expect("cfn-lint runs");
    let _ = std::fs::remove_dir_all(&dir);
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn every_rendered_template_passes_cfn_lint_without_errors_or_warnings() {
    let specs = [
        ("minimal", minimal_spec()),
        ("full-chain", full_chain_spec()),
        ("beside-fluentd", beside_fluentd_spec()),
        (
            "transform-only",
            spec(
                "sources:\n  logGroups: [/ecs/orders]\ntransform:\n  lambdaArn: arn:aws:lambda:eu-west-1:123456789012:function:t\n",
            ),
        ),
        (
            "versioned",
            spec("sources:\n  logGroups: [/ecs/orders]\nstorage:\n  versioning: {}\n"),
        ),
        (
            "access-logged-and-encrypted-topic",
            spec(
                "sources:\n  logGroups: [/ecs/orders]\nstorage:\n  accessLogging: {bucket: team-a-access-logs}\nfanout:\n  subscribers: []\n  kmsKeyArn: arn:aws:kms:eu-west-1:123456789012:alias/team-a-logs\n",
            ),
        ),
        (
            "delete-policy",
            spec(
                "sources:\n  logGroupPrefixes: [/ecs/]\nstorage:\n  retentionDays: 30\n  deletionPolicy: Delete\n",
            ),
        ),
    ];
    let templates: Vec<(String, serde_json::Value)> = specs
        .iter()
        .map(|(name, s)| ((*name).to_owned(), desired(s).stack.template))
        .collect();
    let (code, output) = lint(&templates);
    assert_eq!(code, 0, "cfn-lint found problems:\n{output}");
}

#[test]
fn cfn_lint_catches_a_broken_template() {
    // The check above can fail: a bucket with a misspelt property and a bad reference.
    let mut t = desired(&minimal_spec()).stack.template;
    t["Resources"]["Bucket"]["Properties"]["BucketEncrypton"] = serde_json::json!({});
    t["Resources"]["BucketPolicy"]["Properties"]["Bucket"] = serde_json::json!({"Ref": "Nowhere"});
    let (code, output) = lint(&[("broken".into(), t)]);
    assert_ne!(code, 0, "{output}");
    assert!(output.contains("BucketEncrypton"), "{output}");
    assert!(output.contains("Nowhere"), "{output}");
}

#[test]
fn the_iam_install_template_passes_cfn_lint() {
    let prefixes = ["/ecs/team-a/".to_owned()];
    let functions = ["team-a-".to_owned()];
    let templates = [
        (
            "iam-hardened".to_owned(),
            pitagora::desired::iam_policies::install_template(&prefixes, &functions),
        ),
        (
            "iam-single-team".to_owned(),
            pitagora::desired::iam_policies::install_template(&[], &[]),
        ),
    ];
    let (code, output) = lint(&templates);
    assert_eq!(code, 0, "{output}");
}
