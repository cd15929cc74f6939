//! Pure tests: specs, names, desired state, plans, reports, the controller's decisions as values,
//! delivery and cutover logic, file loading and fuzzed inputs. No emulator and no API server
//! (the report checks use moto venv's Python for JSON Schema). One test binary, so the suite
//! links once.

#[path = "../common/mod.rs"]
mod common;

mod bigquery_schema;
mod controller_decisions;
mod controller_schedule;
mod controller_settings;
mod controller_shards;
mod controller_status;
mod cutover_gate;
mod delivery_audit;
mod delivery_keys;
mod delivery_progress;
mod delivery_records;
mod delivery_signals;
mod desired_state;
mod fluentd_parse;
mod fuzz_inputs;
mod load_files;
mod names;
mod plan_conflicts;
mod plan_drift;
mod plan_guard;
mod report_formats;
mod report_ignore;
mod report_leaf;
mod spec_corpus;
mod spec_crd;
mod spec_defaults;
mod spec_grammar;
mod spec_security;
mod spec_tenancy;
mod spec_validation;
