//! The `pitagora` binary run as a separate process, as a user or a CI job runs it: offline
//! commands, logs, and the commands that talk to AWS (moto's shared default account). One test
//! binary, so the suite links once.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod audit;
mod aws;
mod drift_report;
mod logs;
mod offline;
mod verify_paths;
