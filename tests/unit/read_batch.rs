//! Which batch of shared reads a check is served from: routine checks and checks someone waits
//! for never share one, a routine batch may live a tenth of a sweep, and a write makes the
//! writer read for itself in every batch of its place.

use pitagora::aws::budget::{Class, priority, routine};
use pitagora::read::Batches;
use std::sync::Arc;
use std::time::Duration;

const PLACE: &str = "123456789012/eu-west-1";

#[tokio::test]
async fn routine_checks_and_checks_someone_waits_for_never_share_a_batch() {
    let batches = Batches::new(Duration::from_secs(600));
    let (r1, r2) = (
        routine(async { batches.current(PLACE) }).await,
        routine(async { batches.current(PLACE) }).await,
    );
    let p = priority(async { batches.current(PLACE) }).await;
    assert!(Arc::ptr_eq(&r1, &r2), "routine checks share their batch");
    assert!(
        !Arc::ptr_eq(&r1, &p),
        "a priority check has a batch of its own"
    );
    assert!(
        Arc::ptr_eq(&p, &batches.current(PLACE)),
        "outside routine is priority"
    );
}

#[test]
fn a_routine_batch_lives_the_longer_of_its_age_and_max_age_a_priority_one_max_age() {
    // (max_age, routine age) → (routine, priority) lifetimes, in seconds
    let cases = [
        (30, 430, 430, 30),
        (30, 5, 30, 30),
        // --read-batch 0 turns sharing off for every check.
        (0, 430, 0, 0),
    ];
    for (max_age, routine_age, routine, priority) in cases {
        let batches = Batches::new(Duration::from_secs(max_age));
        batches.set_routine_age(Duration::from_secs(routine_age));
        let got = (
            batches.max_age(Class::Routine).as_secs(),
            batches.max_age(Class::Priority).as_secs(),
        );
        assert_eq!(got, (routine, priority), "{max_age} s, {routine_age} s");
    }
}

#[tokio::test]
async fn a_routine_batch_serves_every_routine_check_within_its_age() {
    let batches = Batches::new(Duration::ZERO);
    batches.set_routine_age(Duration::from_secs(200));
    let (r1, r2) = (
        routine(async { batches.current(PLACE) }).await,
        routine(async { batches.current(PLACE) }).await,
    );
    assert!(!Arc::ptr_eq(&r1, &r2), "batching off stays off");
    let batches = Batches::new(Duration::from_millis(1));
    batches.set_routine_age(Duration::from_secs(200));
    let first = routine(async { batches.current(PLACE) }).await;
    let again = routine(async { batches.current(PLACE) }).await;
    assert!(Arc::ptr_eq(&first, &again), "200 s have not passed");
}

#[tokio::test]
async fn a_write_makes_its_pipeline_read_for_itself_in_every_batch_of_its_place() {
    let batches = Batches::new(Duration::from_secs(600));
    let r = routine(async { batches.current(PLACE) }).await;
    let p = batches.current(PLACE);
    let elsewhere = batches.current("123456789012/us-east-1");
    batches.written(PLACE, "pitagora-team-a-orders");
    assert!(!r.serves("pitagora-team-a-orders"));
    assert!(!p.serves("pitagora-team-a-orders"));
    assert!(r.serves("pitagora-team-a-payments"));
    assert!(elsewhere.serves("pitagora-team-a-orders"));
}
