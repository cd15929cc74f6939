//! Running the `pitagora` binary as a user or a CI job would, and reading what it printed.

use std::process::{Command, Output};

/// The binary in the repository root, without environment that changes its defaults.
fn command(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pitagora"));
    cmd.args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("PITAGORA_ACCOUNT_ID")
        .env_remove("PITAGORA_LOG_FORMAT")
        .env_remove("RUST_LOG");
    cmd
}

/// `pitagora args…` offline: no AWS region or endpoint in its environment.
pub fn offline(args: &[&str]) -> Output {
    command(args)
        .env_remove("AWS_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("the pitagora binary runs")
}

/// `pitagora args…` with `endpoint` as `AWS_ENDPOINT_URL` and the environment of a CI job.
pub fn against(endpoint: &str, args: &[&str]) -> Output {
    against_with(endpoint, args, &[])
}

/// [`against`] with `extra` environment variables set last (they win).
pub fn against_with(endpoint: &str, args: &[&str], extra: &[(&str, &str)]) -> Output {
    ci_job(endpoint, args)
        .env("AWS_REGION", super::moto::REGION)
        .envs(extra.iter().copied())
        .output()
        .expect("the pitagora binary runs")
}

/// [`against`] with no AWS region anywhere: none in the environment, and `config_file` (an
/// empty file) as the AWS configuration and credentials files, so no profile names one.
pub fn against_without_region(endpoint: &str, config_file: &str, args: &[&str]) -> Output {
    ci_job(endpoint, args)
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env("AWS_CONFIG_FILE", config_file)
        .env("AWS_SHARED_CREDENTIALS_FILE", config_file)
        .output()
        .expect("the pitagora binary runs")
}

/// `pitagora args…` with `endpoint` as `AWS_ENDPOINT_URL`, static credentials and no profile.
fn ci_job(endpoint: &str, args: &[&str]) -> Command {
    let mut cmd = command(args);
    cmd.env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN");
    cmd
}

/// `pitagora args…` against moto.
pub fn against_moto(args: &[&str]) -> Output {
    against(&super::moto::endpoint(), args)
}

/// Standard output.
pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("stdout is UTF-8")
}

/// Standard error.
pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("stderr is UTF-8")
}

/// Standard output and standard error, one after the other.
pub fn output(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

/// Exit code and both streams, for assertion messages.
pub fn describe(o: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status.code(),
        stdout(o),
        stderr(o)
    )
}

/// Fails with everything printed unless the exit code is `code`.
pub fn assert_exit(o: &Output, code: i32) {
    assert_eq!(o.status.code(), Some(code), "{}", describe(o));
}

/// An endpoint on which nothing listens (a port that was free a moment ago).
pub fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    match std::net::TcpStream::connect(address) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => format!("http://{address}"),
        other => panic!("port {address} was expected to refuse connections: {other:?}"),
    }
}

/// The calls and writes of the line a command ends its standard error with, which must be
/// exactly `N AWS calls (M writes)` (singular for one).
pub fn calls_line(o: &Output) -> (u64, u64) {
    let err = stderr(o);
    let last = err.lines().last().unwrap_or_default();
    let numbers: Vec<u64> = last
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    let [calls, writes] = numbers[..] else {
        panic!("no calls line at the end: {}", describe(o));
    };
    let plural = |n: u64, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    let expected = format!(
        "{} ({})",
        plural(calls, "AWS call"),
        plural(writes, "write")
    );
    assert_eq!(last, expected, "{}", describe(o));
    (calls, writes)
}
