//! pitagora builds, guards and migrates serverless log pipelines on AWS.
//!
//! One engine, several front ends. Data flows one way:
//! [`spec`] (API types, defaults, validation, status values) → [`desired`] (pure: spec → desired
//! state) → observe (AWS I/O, fills [`observed`]) → [`plan`] (pure: desired × observed →
//! ordered actions and drift) → apply (executes actions) → status / report.
//! The Kubernetes controller and the [`cli`] are thin shells around it.
//!
//! A module imports only modules of its own layer or of lower ones. The layers, lowest first:
//! `arn`, `resources`, `telemetry` → `names` → `spec` → `delivery` → `cutover` → `fluentd` →
//! `desired` → `observed` → `aws` → `observe` → `plan` → `drift` → `apply`, `aws_model` →
//! `verify` → `engine` → `report` → `controller`, `load` → `cli` (enforced by
//! `tests/operating/layers.rs`).

pub mod apply;
pub mod arn;
pub mod aws;
#[cfg(feature = "model")]
pub mod aws_model;
pub mod cli;
pub mod controller;
pub mod cutover;
pub mod delivery;
pub mod desired;
pub mod drift;
pub mod engine;
pub mod fluentd;
pub mod load;
pub mod names;
pub mod observe;
pub mod observed;
pub mod plan;
pub mod report;
pub mod resources;
pub mod spec;
pub mod telemetry;
pub mod verify;
