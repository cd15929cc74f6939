//! Structured logging with `tracing`, on stderr: human-readable lines for the CLI commands (what
//! a person reads in a terminal or a CI job's log; coloured only on a terminal), JSON lines for
//! `pitagora run` (what log shippers parse); `--log-format` chooses either for any command.
//! Level from `RUST_LOG` (default `info` for pitagora, `warn` for dependencies).

use clap::ValueEnum;
use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// How logs are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON for `run` (the controller, whose logs are shipped), text for the other commands.
    Auto,
    /// Human-readable text.
    Text,
    /// One JSON object per line.
    Json,
}

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    /// One JSON object per line.
    pub json: bool,
    /// ANSI colours (text only).
    pub colour: bool,
}

/// The style for `format`: `Auto` is JSON for the controller (`run`, a long-running service
/// whose logs are shipped) and text for every other command; colour only on a terminal.
pub fn style(format: LogFormat, controller: bool, terminal: bool) -> Style {
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => controller,
    };
    Style {
        json,
        colour: !json && terminal,
    }
}

/// Installs the global subscriber writing to stderr in `style`. Safe to call more than once
/// (later calls are ignored), so tests and the binary can share it.
pub fn init(style: Style) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,pitagora=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if style.json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.with_ansi(style.colour).try_init()
    };
}

/// Whether stderr is a terminal.
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
