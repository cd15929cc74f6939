//! How pitagora writes its logs: human-readable lines for the CLI commands (a CI job's log is
//! read by a person), without colour codes where stderr is not a terminal; JSON lines for the
//! controller and for any command given `--log-format json`. The binary runs against an
//! endpoint that refuses connections, so it has warnings to write.

use crate::common;

use common::binary::{against, closed_endpoint, stderr};
use pitagora::telemetry::{LogFormat, Style, style};

/// The log lines `pitagora drift` writes when AWS cannot be reached (its own `error:` line
/// excluded).
fn drift_log(extra: &[&str]) -> Vec<String> {
    let mut args = extra.to_vec();
    args.extend(["drift", "-f", "examples/minimal.yaml"]);
    let o = against(&closed_endpoint(), &args);
    let lines: Vec<String> = stderr(&o)
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("error:"))
        .map(str::to_owned)
        .collect();
    assert!(!lines.is_empty(), "no log lines: {o:?}");
    lines
}

#[test]
fn the_controller_logs_json_and_the_cli_text_by_default() {
    let run = style(LogFormat::Auto, true, false);
    let cli = style(LogFormat::Auto, false, false);
    assert_eq!(
        (run, cli),
        (
            Style {
                json: true,
                colour: false
            },
            Style {
                json: false,
                colour: false
            }
        )
    );
}

#[test]
fn text_is_coloured_only_on_a_terminal() {
    assert!(style(LogFormat::Auto, false, true).colour);
    assert!(style(LogFormat::Text, true, true).colour);
    assert!(!style(LogFormat::Text, false, false).colour);
    assert!(!style(LogFormat::Json, false, true).colour);
}

#[test]
fn log_format_chooses_either_for_any_command() {
    assert!(style(LogFormat::Json, false, true).json);
    assert!(!style(LogFormat::Text, true, false).json);
}

#[test]
fn drift_in_a_ci_job_writes_plain_readable_lines() {
    for line in drift_log(&[]) {
        assert!(!line.starts_with('{'), "a JSON line: {line}");
        assert!(!line.contains('\u{1b}'), "a colour code: {line:?}");
    }
}

#[test]
fn drift_with_log_format_json_writes_one_json_object_per_line() {
    for line in drift_log(&["--log-format", "json"]) {
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["level"].is_string() && v["message"].is_string(), "{line}");
    }
}
