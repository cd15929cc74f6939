//! pitagora builds, guards and migrates serverless log pipelines on AWS.
//!
//! One engine, several front ends. Data flows one way:
//! [`spec`] (API types, defaults, validation, status values) → [`desired`] (pure: spec → desired
//! state) → [`read`] (AWS I/O, fills [`observed`]) → [`plan`] (pure: desired × observed →
//! ordered actions and drift) → apply (executes actions) → status / report.
//! The Kubernetes controller and the [`cli`] are thin shells around it.
//!
//! A module imports only modules of its own layer or of lower ones. The layers, lowest first:
//! `arn`, `resources`, `telemetry` → `names` → `spec` → `delivery` → `cutover` → `fluentd` →
//! `desired` → `events` → `observed` → `aws` → `read` → `plan` → `drift` → `apply`, `aws_model` →
//! `delivery_io` → `engine` → `report` → `controller`, `load` → `cli` (enforced by
//! `tests/operating/layers.rs`). A pure module and its I/O are told apart by name: `observed`
//! (values) is filled by `read` (I/O), `delivery` (pure) has its I/O in `delivery_io`.

pub mod apply;
pub mod arn;
pub mod aws;
#[cfg(feature = "model")]
pub mod aws_model;
pub mod cli;
pub mod controller;
pub mod cutover;
pub mod delivery;
pub mod delivery_io;
pub mod desired;
pub mod drift;
pub mod engine;
pub mod events;
pub mod fluentd;
pub mod load;
pub mod names;
pub mod observed;
pub mod plan;
pub mod read;
pub mod report;
pub mod resources;
pub mod spec;
pub mod telemetry;
