//! Against AWS (the moto emulator scripts/test.sh starts, one account per test): the engine's
//! reads, writes, drift, deletion, faults and retries through the real SDK. One test binary, so
//! the suite links once.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod accounts_remote;
mod audit;
mod batch;
mod budget;
mod budget_measured;
mod cache;
mod canary_paths;
mod converge;
mod delete;
mod delivery;
mod drift;
mod events;
mod faults;
mod guard;
mod iam;
mod iam_source_account;
mod ignore;
mod live;
mod loss_remote;
mod metrics;
mod ownership;
mod rate;
mod remote;
mod retry;
mod security_options;
mod signals;
mod versioning;
