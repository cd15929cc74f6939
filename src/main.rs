//! The `pitagora` binary: parses the command line, sets up logging, runs the command.
//! Errors are reported here, at the edge, with their full context.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = pitagora::cli::Cli::parse();
    let controller = matches!(cli.command, pitagora::cli::Command::Run { .. });
    let terminal = pitagora::telemetry::stderr_is_terminal();
    pitagora::telemetry::init(pitagora::telemetry::style(
        cli.log_format,
        controller,
        terminal,
    ));
    // Unlocked handles: logs written from other threads must never wait for the whole run.
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    match pitagora::cli::run(cli, &mut out, &mut err)
        .await
        .map_err(anyhow::Error::from)
    {
        Ok(exit) => exit.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            pitagora::cli::Exit::Error.into()
        }
    }
}
