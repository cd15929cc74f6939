//! Pure tests: specs, names, desired state, the controller's settings, schedule and shards,
//! delivery and cutover logic, file loading and fuzzed inputs. No emulator, no API server and no
//! in-memory AWS model (plans executed in it: tests/model/). One test binary, so the suite links
//! once.

#[path = "../common/mod.rs"]
mod common;

mod bigquery_schema;
mod controller_schedule;
mod controller_settings;
mod controller_shards;
mod controller_sweep;
mod cutover_gate;
mod delivery_audit;
mod delivery_keys;
mod delivery_paths;
mod delivery_progress;
mod delivery_records;
mod delivery_signals;
mod desired_remote;
mod desired_state;
mod events;
mod fluentd_parse;
mod fuzz_inputs;
mod load_files;
mod names;
mod read_batch;
mod spec_accounts;
mod spec_corpus;
mod spec_crd;
mod spec_defaults;
mod spec_grammar;
mod spec_reach;
mod spec_remote;
mod spec_security;
mod spec_tenancy;
mod spec_validation;
