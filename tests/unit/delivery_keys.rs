//! Where delivered objects are, specified without AWS: the hour prefixes of a window in both
//! layouts (UTC, across day, month and year boundaries), the error type of an error object's
//! key, and the byte-bounded choice of objects a canary search reads.

use pitagora::delivery::keys::{Hour, Listed, error_type, hour_prefixes, select};
use pitagora::spec::Layout;
use proptest::prelude::*;

/// 2026-12-02T14:01:17.748Z
const T: i64 = 1_796_220_077_748;
const HOUR: i64 = 3_600_000;

#[test]
fn a_time_falls_in_its_utc_hour() {
    assert_eq!(
        Hour::of(T),
        Hour {
            year: 2026,
            month: 12,
            day: 2,
            hour: 14
        }
    );
    assert_eq!(
        Hour::of(0),
        Hour {
            year: 1970,
            month: 1,
            day: 1,
            hour: 0
        }
    );
}

#[test]
fn flat_prefixes_follow_firehoses_default_layout() {
    assert_eq!(
        hour_prefixes("raw/", Layout::Flat, T, T + HOUR),
        ["raw/2026/12/02/14/", "raw/2026/12/02/15/"]
    );
}

#[test]
fn hive_prefixes_name_the_day_and_hour_partitions() {
    assert_eq!(
        hour_prefixes("raw/", Layout::Hive, T, T),
        ["raw/dt=2026-12-02/hour=14/"]
    );
}

#[test]
fn a_window_across_new_year_names_both_years() {
    // 2026-12-31T23:30Z to 2027-01-01T00:10Z
    let from = 1_798_759_800_000;
    assert_eq!(
        hour_prefixes("raw/", Layout::Flat, from, from + 40 * 60_000),
        ["raw/2026/12/31/23/", "raw/2027/01/01/00/"]
    );
}

#[test]
fn leap_day_is_a_day_of_its_own() {
    // 2028-02-29T12:00Z
    assert_eq!(
        hour_prefixes("raw/", Layout::Hive, 1_835_438_400_000, 1_835_438_400_000),
        ["raw/dt=2028-02-29/hour=12/"]
    );
}

#[test]
fn an_empty_window_has_no_prefixes() {
    assert!(hour_prefixes("raw/", Layout::Flat, T, T - 1).is_empty());
}

#[test]
fn the_error_type_is_the_folder_that_names_a_failure() {
    let hive = "errors/processing-failed/dt=2026-12-02/hour=14/stream-1-2026-12-02-14-01-17-abc";
    let flat = "errors/2026/12/02/14/decompression-failed/stream-1-abc";
    assert_eq!(error_type("errors/", hive), Some("processing-failed"));
    assert_eq!(error_type("errors/", flat), Some("decompression-failed"));
    assert_eq!(
        error_type("errors/", "errors/2026/12/02/14/x-failed-object"),
        Some("unknown")
    );
    assert_eq!(error_type("errors/", "raw/2026/12/02/14/obj"), None);
}

fn listed(key: &str, at: i64, size: u64) -> Listed {
    Listed {
        key: key.into(),
        last_modified_ms: at,
        size,
    }
}

#[test]
fn a_search_reads_only_objects_stored_since_the_canary_was_sent_oldest_first() {
    let objects = [
        listed("c", T + 2_000, 10),
        listed("old", T - 1, 10),
        listed("a", T, 10),
    ];
    let s = select(&objects, T, 1_000);
    assert_eq!(s.keys, ["a", "c"]);
    assert_eq!(s.bytes, 20);
    assert!(!s.truncated);
}

#[test]
fn a_search_stops_at_its_byte_budget_and_says_it_was_cut_short() {
    let objects = [listed("a", T, 600), listed("b", T + 1, 600)];
    let s = select(&objects, T, 1_000);
    assert_eq!(s.keys, ["a"]);
    assert!(s.truncated);
}

proptest! {
    #[test]
    fn every_instant_of_a_window_falls_under_one_of_its_prefixes(
        from in 0i64..4_102_444_800_000, span in 0i64..(72 * HOUR), at in 0.0f64..=1.0
    ) {
        let instant = from + (span as f64 * at) as i64;
        let prefixes = hour_prefixes("raw/", Layout::Flat, from, from + span);
        let own = Hour::of(instant).prefix("raw/", Layout::Flat);
        prop_assert!(prefixes.contains(&own));
        prop_assert_eq!(prefixes.len() as i64, (from + span) / HOUR - from / HOUR + 1);
    }
}
