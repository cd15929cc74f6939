//! When the controller checks a pipeline, specified as values: a recent check stays current,
//! work someone waits for goes first, and after a restart overdue checks spread evenly over one
//! interval instead of all at once.

use crate::common;

use common::controller::{at, checked_status, pipeline};
use common::full_chain_spec;
use k8s_openapi::jiff::Timestamp;
use pitagora::controller::RECONCILE_REQUESTED_AT;
use pitagora::controller::schedule::{self, Due, phase};
use pitagora::spec::LogPipeline;
use std::time::Duration;

/// [`schedule::due`] with a sweep no longer than any interval.
fn due(lp: &LogPipeline, now: Timestamp, started: Timestamp) -> Due {
    schedule::due(lp, now, started, Duration::ZERO)
}

/// `team-a/orders` checked at `checked_at` (interval 300 s), with its own uid.
fn checked(uid: &str, checked_at: i64) -> LogPipeline {
    let mut lp = pipeline(
        full_chain_spec(),
        1,
        Some(checked_status(checked_at, "InSync")),
    );
    lp.metadata.uid = Some(uid.to_owned());
    lp
}

#[test]
fn a_check_within_its_interval_is_current_for_the_rest_of_it() {
    let lp = checked("a", 0);
    assert_eq!(
        due(&lp, at(100), at(-1000)),
        Due::Current(Duration::from_secs(200))
    );
}

#[test]
fn an_overdue_check_of_a_running_controller_is_routine() {
    let lp = checked("a", 0);
    assert_eq!(due(&lp, at(300), at(-1000)), Due::Routine);
}

#[test]
fn a_new_pipeline_a_changed_spec_and_a_requested_check_go_first() {
    let new = pipeline(full_chain_spec(), 1, None);
    assert_eq!(due(&new, at(0), at(0)), Due::Priority);
    let changed = pipeline(full_chain_spec(), 2, Some(checked_status(0, "InSync")));
    assert_eq!(due(&changed, at(1), at(0)), Due::Priority);
    let mut requested = checked("a", 0);
    requested.metadata.annotations =
        Some([(RECONCILE_REQUESTED_AT.to_owned(), "now".to_owned())].into());
    assert_eq!(due(&requested, at(1), at(0)), Due::Priority);
}

#[test]
fn after_a_restart_overdue_checks_spread_evenly_over_one_interval() {
    let started = at(7200);
    let mut tenths = [0usize; 10];
    for i in 0..1000 {
        // Last checked long before the restart: overdue the moment the controller starts.
        let lp = checked(&format!("uid-{i}"), 0);
        let wait = match due(&lp, started, started) {
            Due::Current(left) => left,
            Due::Routine => Duration::ZERO,
            Due::Priority => panic!("a routine check is not priority"),
        };
        assert!(wait < Duration::from_secs(300), "{wait:?}");
        tenths[(wait.as_secs_f64() / 30.0) as usize] += 1;
    }
    assert!(tenths.iter().all(|n| (70..=130).contains(n)), "{tenths:?}");
}

#[test]
fn after_its_slot_an_overdue_check_is_routine() {
    let lp = checked("uid-7", 0);
    let started = at(7200);
    let slot = phase(
        &pitagora::controller::decide::object_key(&lp),
        Duration::from_secs(300),
    );
    let just_after = started + slot + Duration::from_millis(1);
    assert_eq!(due(&lp, just_after, started), Due::Routine);
}

#[test]
fn a_pipeline_checked_since_the_start_keeps_its_own_cadence() {
    let lp = checked("uid-7", 7300);
    assert_eq!(due(&lp, at(7600), at(7200)), Due::Routine);
    assert_eq!(
        due(&lp, at(7400), at(7200)),
        Due::Current(Duration::from_secs(200))
    );
}

#[test]
fn a_phase_is_stable_for_a_pipeline_and_within_the_interval() {
    let interval = Duration::from_secs(300);
    assert_eq!(phase("uid-1", interval), phase("uid-1", interval));
    assert_ne!(phase("uid-1", interval), phase("uid-2", interval));
    assert!(phase("uid-1", interval) < interval);
}

#[test]
fn a_routine_check_waits_for_a_full_sweep_when_it_takes_longer_than_the_interval() {
    let lp = checked("a", 0);
    let sweep = Duration::from_secs(2000);
    assert_eq!(
        schedule::due(&lp, at(300), at(-10_000), sweep),
        Due::Current(Duration::from_secs(1700)),
        "the interval (300 s) is over, the sweep is not"
    );
    assert_eq!(
        schedule::due(&lp, at(2000), at(-10_000), sweep),
        Due::Routine
    );
}

#[test]
fn a_sweep_longer_than_the_interval_does_not_delay_a_check_someone_waits_for() {
    let mut requested = checked("a", 0);
    requested.metadata.annotations =
        Some([(RECONCILE_REQUESTED_AT.to_owned(), "now".to_owned())].into());
    let sweep = Duration::from_secs(2000);
    assert_eq!(
        schedule::due(&requested, at(10), at(-10_000), sweep),
        Due::Priority
    );
}
