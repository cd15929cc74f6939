//! The Argo CD health check for `LogPipeline` (manifests/gitops/argocd-health.lua) on sample
//! objects (tests/gitops/*.yaml): each sample's `object` runs through Debian's `lua5.4` with
//! tests/gitops/driver.lua, which gives the script what Argo CD gives it (`obj`, the base and table
//! libraries, no string methods), and the health and message it returns are compared with the
//! sample's `expected`. Also: the copy inlined in manifests/gitops/argocd-cm.yaml is the same
//! script.
//!
//! Needs `lua5.4` (scripts/tools.sh install).

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const LUA: &str = "lua5.4";
const SCRIPT: &str = "manifests/gitops/argocd-health.lua";
const DRIVER: &str = "tests/gitops/driver.lua";
const SAMPLES: &str = "tests/gitops";
const CONFIG_MAP: &str = "manifests/gitops/argocd-cm.yaml";
const HEALTH_KEY: &str = "resource.customizations.health.pitagora.dev_LogPipeline";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn yaml(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// `value` as a Lua expression, decoded as Argo CD decodes an object for its Lua VM: objects and
/// arrays become tables (arrays from index 1), integers stay integers, null becomes nil.
fn lua_value(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("nil"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => out.push_str(&i.to_string()),
            (None, Some(f)) if f.is_finite() => out.push_str(&format!("{f:?}")),
            _ => panic!("a number Lua cannot hold: {n}"),
        },
        Value::String(s) => lua_string(s, out),
        Value::Array(items) => {
            out.push('{');
            for item in items {
                lua_value(item, out);
                out.push_str(", ");
            }
            out.push('}');
        }
        Value::Object(fields) => {
            out.push('{');
            for (key, item) in fields {
                out.push('[');
                lua_string(key, out);
                out.push_str("] = ");
                lua_value(item, out);
                out.push_str(", ");
            }
            out.push('}');
        }
    }
}

/// A quoted Lua string: bytes outside printable ASCII as decimal escapes (valid in Lua 5.1 and
/// 5.4), so the chunk is plain ASCII.
fn lua_string(s: &str, out: &mut String) {
    out.push('"');
    for b in s.bytes() {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
}

/// The health status and message the script gives `object`.
fn assess(object: &Value) -> (String, String) {
    let mut chunk = String::from("return ");
    lua_value(object, &mut chunk);
    chunk.push('\n');
    let mut child = match Command::new(LUA)
        .arg(root().join(DRIVER))
        .arg(root().join(SCRIPT))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "{LUA} is not installed, and these tests run the health check with it: run \
             scripts/tools.sh install"
        ),
        Err(e) => panic!("cannot run {LUA}: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(chunk.as_bytes())
        .expect("the object is written to lua5.4");
    let out = child.wait_with_output().expect("lua5.4 runs");
    let stdout = String::from_utf8(out.stdout).expect("the result is UTF-8");
    assert!(
        out.status.success(),
        "the health check failed ({}): {}{stdout}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, message) = stdout
        .split_once('\n')
        .unwrap_or_else(|| panic!("no result line: {stdout:?}"));
    (
        status.to_owned(),
        message.strip_suffix('\n').unwrap_or(message).to_owned(),
    )
}

/// Runs the sample `name` (tests/gitops/<name>.yaml) and checks its `expected` block.
fn check(name: &str) {
    let path = root().join(SAMPLES).join(format!("{name}.yaml"));
    let sample = yaml(&path);
    let expected_status = sample["expected"]["status"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no expected.status"));
    let expected_message = sample["expected"]["message"]
        .as_str()
        .unwrap_or_else(|| panic!("{name}: no expected.message"));
    let object = sample
        .get("object")
        .unwrap_or_else(|| panic!("{name}: no object"));
    let (status, message) = assess(object);
    assert_eq!(
        status, expected_status,
        "sample {name}: health {status} (message {message:?}), expected {expected_status}"
    );
    assert!(
        message.contains(expected_message),
        "sample {name}: message {message:?} does not contain {expected_message:?}"
    );
}

macro_rules! samples {
    ($($test:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $test() {
                check($file);
            }
        )*
        /// Every sample a test above runs.
        const TESTED: &[&str] = &[$($file),*];
    };
}

samples! {
    fresh_object_without_status_is_progressing => "fresh-no-status",
    status_of_an_older_generation_is_progressing => "stale-generation",
    invalid_spec_is_degraded => "invalid-spec",
    refused_destructive_change_is_degraded_though_observed_generation_lags => "destructive-change",
    aws_error_is_degraded => "aws-error",
    aws_error_on_the_first_reconcile_is_degraded => "aws-error-first-reconcile",
    failed_apply_is_degraded => "apply-failed",
    blocked_delete_is_degraded => "delete-blocked",
    deletion_in_progress_is_progressing => "deleting",
    ownership_conflict_is_degraded => "ownership-conflict",
    drift_that_correcting_did_not_remove_is_degraded => "drift-not-corrected",
    drift_under_report_policy_is_suspended_with_its_count => "report-drift",
    pending_aws_operation_is_progressing => "pending",
    delivering_false_is_degraded_and_names_the_link => "delivering-false",
    canary_in_flight_is_progressing => "first-canary",
    no_delivering_condition_yet_is_progressing => "no-delivering-condition",
    canary_that_cannot_be_sent_is_progressing_with_the_reason => "verify-failed",
    disabled_verification_is_healthy => "verify-disabled",
    cutover_waiting_for_a_check_is_progressing => "cutover-blocked",
    cutover_blocked_while_delivering_false_is_degraded => "cutover-blocked-not-delivering",
    cutover_with_a_fluentd_key_conflict_is_degraded => "cutover-fluentd-conflict",
    cutover_held_by_a_report_only_fluentd_key_is_suspended => "cutover-report-only",
    ready_and_delivering_is_healthy => "healthy",
    malformed_status_does_not_break_the_script => "malformed",
}

#[test]
fn every_sample_has_a_test() {
    let dir = root().join(SAMPLES);
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut tested: Vec<String> = TESTED.iter().map(|s| (*s).to_owned()).collect();
    tested.sort();
    assert_eq!(
        found, tested,
        "tests/gitops/*.yaml and the samples! list in this file differ"
    );
}

#[test]
fn argocd_cm_inlines_the_health_script_verbatim() {
    let script: PathBuf = root().join(SCRIPT);
    let script = std::fs::read_to_string(&script)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", script.display()));
    let config_map = yaml(&root().join(CONFIG_MAP));
    assert_eq!(config_map["kind"], "ConfigMap");
    assert_eq!(config_map["metadata"]["name"], "argocd-cm");
    let inline = config_map["data"][HEALTH_KEY]
        .as_str()
        .unwrap_or_else(|| panic!("{CONFIG_MAP} has no data.{HEALTH_KEY}"));
    assert!(
        inline == script,
        "the script in {CONFIG_MAP} differs from {SCRIPT}: paste {SCRIPT} into it again, \
         indented by four spaces"
    );
}
