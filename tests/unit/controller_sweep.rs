//! How long the controller takes a full sweep to be: from a minimal pipeline's calls at
//! start-up, then from what its routine checks cost, measured.

use pitagora::aws::{CallCounter, Limits};
use pitagora::controller::sweep::{MEASURED_AFTER, Sweeps, measured, routine_batch_age};
use std::time::Duration;

const FILTERS: &str = "CloudWatchLogs.DescribeSubscriptionFilters";

#[test]
fn at_start_up_a_sweep_of_1000_minimal_pipelines_takes_2150_s_under_a_quarter() {
    let sweeps = Sweeps::new(Limits::aws());
    let sweep = sweeps.start(1000);
    // 2 filter reads each at a quarter of 4/s, and five times the tag walk's 30 pages at 1/s.
    assert_eq!(sweep.time, Duration::from_secs(2150));
    assert_eq!(sweep.bottleneck.as_deref(), Some(FILTERS));
    assert_eq!(sweeps.time(), sweep.time);
}

#[test]
fn after_enough_routine_checks_their_measured_calls_replace_the_model() {
    let (sweeps, calls) = (Sweeps::new(Limits::aws()), CallCounter::default());
    sweeps.start(1000);
    // Ten log groups a pipeline: 11 filter reads per check.
    for check in 1..=MEASURED_AFTER {
        (0..11).for_each(|_| calls.count_routine(FILTERS));
        let sweep = sweeps.routine_checked(&calls, None);
        // The walks' wait (150 s) comes on top either way.
        let expected = if check < MEASURED_AFTER { 2150 } else { 11_150 };
        assert_eq!(
            sweep.time,
            Duration::from_secs(expected),
            "after {check} checks"
        );
    }
}

#[test]
fn measured_calls_per_check_are_the_routine_calls_over_the_routine_checks() {
    let calls = [(FILTERS.to_owned(), 30), ("IAM.GetRole".to_owned(), 10)].into();
    let per_check = measured(&calls, 10);
    assert_eq!(per_check[FILTERS], 3.0);
    assert_eq!(per_check["IAM.GetRole"], 1.0);
}

#[test]
fn routine_checks_share_their_reads_for_a_fifth_of_a_sweep() {
    let sweep = Sweeps::new(Limits::aws()).start(1000);
    assert_eq!(routine_batch_age(&sweep), Duration::from_secs(430));
}
