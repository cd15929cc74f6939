//! How long the controller takes a full sweep to be: from a minimal pipeline's calls at
//! start-up, then from what its routine checks cost, measured.

use pitagora::aws::{CallCounter, Limits};
use pitagora::controller::sweep::{MEASURED_AFTER, Sweeps, measured};
use std::time::Duration;

const FILTERS: &str = "CloudWatchLogs.DescribeSubscriptionFilters";

#[test]
fn at_start_up_a_sweep_of_1000_minimal_pipelines_takes_2000_s_under_a_quarter() {
    let sweeps = Sweeps::new(Limits::aws());
    let sweep = sweeps.start(1000);
    assert_eq!(sweep.time, Duration::from_secs(2000));
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
        let expected = if check < MEASURED_AFTER { 2000 } else { 11_000 };
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
