//! End to end on a real API server (scripts/test.sh starts it) with moto for AWS: the
//! controller in-process or as the `pitagora run` binary. One test binary, so the suite links once.

#[path = "../common/mod.rs"]
mod common;

mod accounts;
mod controller;
mod cutover;
mod events;
mod faults;
mod inputs;
mod operating;
mod shards;
