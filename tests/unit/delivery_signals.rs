//! Loss signals as values: which metrics are read for a pipeline, and which rule fires on which
//! values and error objects.

use pitagora::delivery::keys::Listed;
use pitagora::delivery::signals::{
    self, Datapoint, MetricQuery, Pipeline, Results, SETTLE_MS, Signal, SignalKind,
};
use pitagora::resources::SubscriptionFilter;

const NOW: i64 = 1_800_000_000_000;
const MIN: i64 = 60_000;

fn pipeline(pattern: &'static str) -> Pipeline<'static> {
    Pipeline {
        stream: "pitagora-team-app",
        filter_name: "pitagora-team-app",
        filter_pattern: pattern,
        buffer_interval_s: 300,
        bucket: "pitagora-logs",
        error_prefix: "errors/",
    }
}

fn groups() -> Vec<String> {
    vec!["/app/a".to_owned(), "/app/b".to_owned()]
}

fn id_of(queries: &[MetricQuery], metric: &str, group: Option<&str>) -> String {
    queries
        .iter()
        .find(|q| {
            q.metric == metric
                && group.is_none_or(|g| q.dimensions.contains(&("LogGroupName", g.to_owned())))
        })
        .unwrap_or_else(|| panic!("no query of {metric}"))
        .id
        .clone()
}

/// `values` one minute apart, the newest settled.
fn series(values: &[f64]) -> Vec<Datapoint> {
    let start = NOW - SETTLE_MS - (values.len() as i64) * MIN;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (start + i as i64 * MIN, *v))
        .collect()
}

fn signals_for(pattern: &'static str, seeded: &[(&str, Option<&str>, &[f64])]) -> Vec<Signal> {
    let p = pipeline(pattern);
    let queries = signals::queries(&p, &groups());
    let results: Results = seeded
        .iter()
        .map(|(metric, group, values)| (id_of(&queries, metric, *group), series(values)))
        .collect();
    signals::evaluate(&p, &queries, &results, NOW)
}

fn kinds(signals: &[Signal]) -> Vec<(SignalKind, &str)> {
    signals
        .iter()
        .map(|s| (s.kind, s.resource.as_str()))
        .collect()
}

#[test]
fn subscription_metrics_are_read_per_source_group_with_the_firehose_destination_and_filter() {
    let queries = signals::queries(&pipeline(""), &groups());
    let errors = queries
        .iter()
        .find(|q| q.id == id_of(&queries, "DeliveryErrors", Some("/app/b")))
        .unwrap();
    assert_eq!(errors.namespace, "AWS/Logs");
    assert_eq!(errors.stat, "Sum");
    assert_eq!(
        errors.dimensions,
        vec![
            ("LogGroupName", "/app/b".to_owned()),
            ("DestinationType", "Firehose".to_owned()),
            ("FilterName", "pitagora-team-app".to_owned()),
        ]
    );
}

#[test]
fn stream_metrics_are_read_by_delivery_stream_name() {
    let queries = signals::queries(&pipeline(""), &groups());
    for metric in [
        "ThrottledRecords",
        "DeliveryToS3.DataFreshness",
        "DeliveryToS3.Success",
    ] {
        let q = queries.iter().find(|q| q.metric == metric).unwrap();
        assert_eq!(q.namespace, "AWS/Firehose");
        assert_eq!(
            q.dimensions,
            vec![("DeliveryStreamName", "pitagora-team-app".to_owned())]
        );
    }
}

#[test]
fn query_ids_are_unique_and_start_with_a_lower_case_letter() {
    let queries = signals::queries(&pipeline(""), &groups());
    let ids: std::collections::BTreeSet<&str> = queries.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(ids.len(), queries.len());
    assert!(
        ids.iter()
            .all(|id| id.starts_with(|c: char| c.is_ascii_lowercase()))
    );
}

#[test]
fn a_filter_pattern_means_forwarded_and_incoming_are_not_compared() {
    let queries = signals::queries(&pipeline("ERROR"), &groups());
    assert!(
        queries
            .iter()
            .all(|q| q.metric != "ForwardedLogEvents" && q.metric != "IncomingLogEvents")
    );
}

#[test]
fn source_groups_are_capped_so_one_call_stays_within_500_queries() {
    let many: Vec<String> = (0..400).map(|i| format!("/app/{i}")).collect();
    assert!(signals::queries(&pipeline(""), &many).len() <= 500);
}

#[test]
fn no_datapoints_means_no_signals() {
    assert_eq!(signals_for("", &[]), vec![]);
}

#[test]
fn delivery_errors_name_the_source_group() {
    let s = signals_for("", &[("DeliveryErrors", Some("/app/b"), &[0.0, 4.0, 3.0])]);
    assert_eq!(kinds(&s), vec![(SignalKind::DeliveryErrors, "/app/b")]);
    assert_eq!(s[0].value, 7.0);
}

#[test]
fn zero_delivery_errors_do_not_fire() {
    let s = signals_for("", &[("DeliveryErrors", Some("/app/a"), &[0.0, 0.0])]);
    assert_eq!(s, vec![]);
}

#[test]
fn delivery_throttling_names_the_source_group() {
    let s = signals_for("", &[("DeliveryThrottling", Some("/app/a"), &[2.0])]);
    assert_eq!(kinds(&s), vec![(SignalKind::DeliveryThrottling, "/app/a")]);
}

#[test]
fn fewer_events_forwarded_than_logged_fires_not_forwarded() {
    let s = signals_for(
        "",
        &[
            ("IncomingLogEvents", Some("/app/a"), &[10.0, 10.0]),
            ("ForwardedLogEvents", Some("/app/a"), &[10.0, 6.0]),
        ],
    );
    assert_eq!(kinds(&s), vec![(SignalKind::NotForwarded, "/app/a")]);
    assert_eq!(s[0].value, 4.0);
}

#[test]
fn all_events_forwarded_does_not_fire() {
    let s = signals_for(
        "",
        &[
            ("IncomingLogEvents", Some("/app/a"), &[10.0, 10.0]),
            ("ForwardedLogEvents", Some("/app/a"), &[10.0, 10.0]),
        ],
    );
    assert_eq!(s, vec![]);
}

#[test]
fn the_newest_minutes_are_not_compared_as_forwarding_may_lag() {
    let p = pipeline("");
    let queries = signals::queries(&p, &groups());
    let results: Results = [
        (
            id_of(&queries, "IncomingLogEvents", Some("/app/a")),
            vec![(NOW - MIN, 10.0)],
        ),
        (
            id_of(&queries, "ForwardedLogEvents", Some("/app/a")),
            vec![],
        ),
    ]
    .into();
    assert_eq!(signals::evaluate(&p, &queries, &results, NOW), vec![]);
}

#[test]
fn throttled_records_name_the_stream() {
    let s = signals_for("", &[("ThrottledRecords", None, &[5.0])]);
    assert_eq!(
        kinds(&s),
        vec![(SignalKind::ThrottledRecords, "pitagora-team-app")]
    );
}

#[test]
fn data_freshness_above_the_buffering_interval_and_margin_fires() {
    let limit = 300.0 + signals::FRESHNESS_MARGIN_S;
    let s = signals_for(
        "",
        &[("DeliveryToS3.DataFreshness", None, &[100.0, limit + 1.0])],
    );
    assert_eq!(
        kinds(&s),
        vec![(SignalKind::DataFreshness, "pitagora-team-app")]
    );
}

#[test]
fn data_freshness_within_the_buffering_interval_and_margin_does_not_fire() {
    let limit = 300.0 + signals::FRESHNESS_MARGIN_S;
    let s = signals_for("", &[("DeliveryToS3.DataFreshness", None, &[limit])]);
    assert_eq!(s, vec![]);
}

#[test]
fn delivery_to_s3_failing_at_each_recent_datapoint_fires() {
    let s = signals_for("", &[("DeliveryToS3.Success", None, &[1.0, 0.5, 0.0, 0.2])]);
    assert_eq!(
        kinds(&s),
        vec![(SignalKind::DeliveryToS3Failing, "pitagora-team-app")]
    );
}

#[test]
fn one_successful_recent_datapoint_means_retries_not_failure() {
    let s = signals_for("", &[("DeliveryToS3.Success", None, &[0.0, 1.0, 0.0])]);
    assert_eq!(s, vec![]);
}

#[test]
fn too_few_datapoints_do_not_prove_sustained_failure() {
    let s = signals_for("", &[("DeliveryToS3.Success", None, &[0.0, 0.0])]);
    assert_eq!(s, vec![]);
}

fn object(key: &str, at: i64) -> Listed {
    Listed {
        key: key.to_owned(),
        last_modified_ms: at,
        size: 10,
    }
}

#[test]
fn error_objects_since_the_last_check_give_one_signal_per_error_type_with_its_count() {
    let listed = [
        object("errors/processing-failed/2027/01/15/08/a", NOW),
        object("errors/processing-failed/2027/01/15/08/b", NOW),
        object("errors/s3-failed/2027/01/15/08/c", NOW),
    ];
    let s = signals::error_objects(&pipeline(""), &listed, NOW - MIN);
    assert_eq!(
        kinds(&s),
        vec![
            (SignalKind::ErrorObjects, "processing-failed"),
            (SignalKind::ErrorObjects, "s3-failed"),
        ]
    );
    assert_eq!(s[0].value, 2.0);
    assert!(s[0].message.contains("did not reach consumers"));
}

#[test]
fn error_objects_stored_before_the_last_check_do_not_fire_again() {
    let listed = [object("errors/processing-failed/a", NOW - 10 * MIN)];
    assert_eq!(
        signals::error_objects(&pipeline(""), &listed, NOW - MIN),
        vec![]
    );
}

#[test]
fn signal_kinds_have_stable_labels() {
    assert_eq!(
        SignalKind::DeliveryToS3Failing.label(),
        "DeliveryToS3Failing"
    );
    assert_eq!(SignalKind::ErrorObjects.label(), "ErrorObjects");
}

#[test]
fn the_window_read_ends_at_the_next_whole_minute_so_reads_within_a_minute_share_it() {
    let minute_start = NOW - NOW.rem_euclid(MIN);
    let (from, to) = signals::window(minute_start + 1);
    assert_eq!(
        to,
        minute_start + MIN,
        "the current minute's datapoint is read"
    );
    assert_eq!(to - from, signals::WINDOW_MS);
    assert_eq!(signals::window(minute_start + MIN - 1), (from, to));
    assert_eq!(
        signals::window(minute_start).1,
        minute_start,
        "already whole"
    );
}

/// A remote source's place, as its signals name it.
const PLACE: &str = "222222222222/us-east-1";

#[test]
fn a_remote_place_reads_only_its_groups_subscription_metrics_the_streams_being_the_pipelines_own() {
    let queries = signals::group_queries(&pipeline(""), &groups());
    assert!(queries.iter().all(|q| q.namespace == "AWS/Logs"));
    let errors = queries
        .iter()
        .find(|q| q.id == id_of(&queries, "DeliveryErrors", Some("/app/a")))
        .unwrap();
    assert_eq!(
        errors.dimensions,
        vec![
            ("LogGroupName", "/app/a".to_owned()),
            ("DestinationType", "Firehose".to_owned()),
            ("FilterName", "pitagora-team-app".to_owned()),
        ]
    );
    let own = signals::queries(&pipeline(""), &groups());
    assert_eq!(
        own[3..],
        queries[..],
        "the same queries as the pipeline's own groups"
    );
}

/// The signals of a remote place whose `seeded` metrics have these values.
fn remote_signals(seeded: &[(&str, &str, &[f64])]) -> Vec<Signal> {
    let p = pipeline("");
    let queries = signals::group_queries(&p, &groups());
    let results: Results = seeded
        .iter()
        .map(|(metric, group, values)| (id_of(&queries, metric, Some(group)), series(values)))
        .collect();
    signals::at_place(PLACE, signals::evaluate(&p, &queries, &results, NOW))
}

#[test]
fn a_remote_places_delivery_errors_name_the_place_and_its_group() {
    let s = remote_signals(&[("DeliveryErrors", "/app/b", &[3.0, 4.0])]);
    assert_eq!(
        kinds(&s),
        vec![(SignalKind::DeliveryErrors, "222222222222/us-east-1:/app/b")]
    );
    assert_eq!(s[0].value, 7.0);
    assert!(
        s[0].message
            .starts_with("222222222222/us-east-1: DeliveryErrors: 7 events of /app/b"),
        "{}",
        s[0].message
    );
}

#[test]
fn a_remote_places_unforwarded_events_name_the_place_and_its_group() {
    let s = remote_signals(&[
        ("IncomingLogEvents", "/app/a", &[10.0]),
        ("ForwardedLogEvents", "/app/a", &[4.0]),
    ]);
    assert_eq!(
        kinds(&s),
        vec![(SignalKind::NotForwarded, "222222222222/us-east-1:/app/a")]
    );
    assert!(
        s[0].message
            .starts_with("222222222222/us-east-1: NotForwarded: ")
    );
}

#[test]
fn a_remote_place_with_quiet_metrics_has_no_signals() {
    assert_eq!(
        remote_signals(&[("DeliveryErrors", "/app/a", &[0.0])]),
        vec![]
    );
}

#[test]
fn the_signals_sources_are_the_groups_carrying_the_filter_in_each_place() {
    let d = crate::common::desired(&crate::common::spec(
        "sources:\n  logGroups: [/ecs/orders, /ecs/idle]\n  remote:\n    - {account: \"222222222222\", region: us-east-1, logGroups: [/b/app, /b/web]}\n",
    ));
    let remote = &d.remote[0];
    let ours = || vec![remote.filters.filter.clone()];
    let theirs = || {
        vec![SubscriptionFilter {
            name: "someone-elses".into(),
            ..remote.filters.filter.clone()
        }]
    };
    let mut observed = crate::common::world_with_groups(&["/ecs/idle"]);
    observed
        .log_groups
        .insert("/ecs/orders".into(), vec![d.filters.filter.clone()]);
    let there = [
        ("/b/app".to_owned(), ours()),
        ("/b/web".to_owned(), theirs()),
    ];
    observed.remote.insert(remote.key(), there.into());

    let sources = observed.signal_sources(&d);

    assert_eq!(sources.home, ["/ecs/orders"]);
    assert_eq!(
        sources.remote,
        [(remote.place.clone(), vec!["/b/app".to_owned()])]
    );
    assert_eq!(remote.place.to_string(), PLACE);
}
