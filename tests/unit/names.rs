//! Derived AWS names (`names::Names::derive`): service limits and character sets at the
//! boundaries, determinism, uniqueness of look-alike identities, and overrides.

use crate::common;

use pitagora::arn::AwsTarget;
use pitagora::names::{self, Names, PipelineId, limits};
use pitagora::spec::validate::bucket_name_problem;
use proptest::prelude::*;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

static STACK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[A-Za-z][-A-Za-z0-9]*$").unwrap());
static STREAM: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_.-]+$").unwrap());
static ROLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[\w+=,.@-]+$").unwrap());
static TOPIC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(pitagora::spec::TOPIC_NAME_PATTERN).unwrap());
static LOG_GROUP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(pitagora::spec::LOG_GROUP_NAME_PATTERN).unwrap());

fn target() -> AwsTarget {
    AwsTarget::new(common::ACCOUNT, common::REGION)
}

fn derive(namespace: &str, name: &str) -> Names {
    Names::derive(&PipelineId::new(namespace, name), &target(), None, None)
}

/// Every derived name with a label, for comparisons across identities.
fn all_names(n: &Names) -> Vec<(&'static str, &str)> {
    vec![
        ("stack", &n.stack),
        ("stream", &n.stream),
        ("bucket", &n.bucket),
        ("topic", &n.topic),
        ("deliveryRole", &n.delivery_role),
        ("logsRole", &n.logs_role),
        ("filter", &n.filter),
        ("errorLogGroup", &n.error_log_group),
        ("transformNotificationId", &n.transform_notification_id),
        ("fanoutNotificationId", &n.fanout_notification_id),
        ("lifecycleRuleId", &n.lifecycle_rule_id),
    ]
}

/// Every limit and character set each service imposes; returns the violations.
fn violations(n: &Names) -> Vec<String> {
    let mut problems = Vec::new();
    let mut check = |what: &str, value: &str, ok: bool| {
        if !ok {
            problems.push(format!("{what} {value:?} ({} chars)", value.len()));
        }
    };
    check(
        "stack",
        &n.stack,
        n.stack.len() <= limits::STACK && STACK.is_match(&n.stack),
    );
    check(
        "stream",
        &n.stream,
        (1..=limits::STREAM).contains(&n.stream.len()) && STREAM.is_match(&n.stream),
    );
    check(
        "bucket",
        &n.bucket,
        (3..=limits::BUCKET).contains(&n.bucket.len()) && bucket_name_problem(&n.bucket).is_none(),
    );
    for (what, role) in [
        ("deliveryRole", &n.delivery_role),
        ("logsRole", &n.logs_role),
    ] {
        check(
            what,
            role,
            role.len() <= limits::ROLE && ROLE.is_match(role),
        );
    }
    check(
        "topic",
        &n.topic,
        n.topic.len() <= limits::TOPIC && TOPIC.is_match(&n.topic),
    );
    check(
        "filter",
        &n.filter,
        (1..=limits::FILTER).contains(&n.filter.len()) && !n.filter.contains([':', '*']),
    );
    check(
        "errorLogGroup",
        &n.error_log_group,
        n.error_log_group.len() <= limits::LOG_GROUP && LOG_GROUP.is_match(&n.error_log_group),
    );
    for (what, id) in [
        ("transformNotificationId", &n.transform_notification_id),
        ("fanoutNotificationId", &n.fanout_notification_id),
        ("lifecycleRuleId", &n.lifecycle_rule_id),
    ] {
        check(what, id, id.len() <= limits::S3_CONFIG_ID);
    }
    problems
}

fn assert_within_limits(namespace: &str, name: &str) {
    let problems = violations(&derive(namespace, name));
    assert!(problems.is_empty(), "{namespace}/{name}: {problems:#?}");
}

/// A name of `len` characters drawn from `alphabet`, cycling, first and last kept alphanumeric.
fn generated(alphabet: &str, len: usize, seed: usize) -> String {
    let chars: Vec<char> = alphabet.chars().collect();
    let mut s: String = (0..len)
        .map(|i| chars[(i * 7 + seed) % chars.len()])
        .collect();
    let fix = |c: char| if c.is_ascii_alphanumeric() { c } else { 'x' };
    if let Some(first) = s.chars().next() {
        s.replace_range(..1, &fix(first).to_string());
    }
    if let Some(last) = s.chars().last() {
        let at = s.len() - 1;
        s.replace_range(at.., &fix(last).to_string());
    }
    s
}

/// A deterministic spread of valid Kubernetes identities, including every boundary length.
fn identities() -> Vec<PipelineId> {
    let ns_alphabets = ["abcdefghij", "0123456789", "a-b-c-d-", "a--", "z9-"];
    let name_alphabets = [
        "abcdefghijklmnop",
        "0123456789",
        "a.b-c.d",
        "a-.-b",
        "x--y..z",
        "1a.",
    ];
    let ns_lengths = [1, 2, 9, 31, 62, 63];
    let name_lengths = [1, 2, 3, 10, 46, 47, 54, 55, 100, 110, 111, 200, 252, 253];
    let mut ids = BTreeSet::new();
    for (a, ns_alphabet) in ns_alphabets.iter().enumerate() {
        for &ns_len in &ns_lengths {
            for (b, name_alphabet) in name_alphabets.iter().enumerate() {
                for &name_len in &name_lengths {
                    let namespace = generated(ns_alphabet, ns_len, a + b);
                    let name = generated(name_alphabet, name_len, a * 3 + b);
                    ids.insert(PipelineId::new(namespace, name));
                }
            }
        }
    }
    ids.into_iter().collect()
}

// ---- shape -------------------------------------------------------------------------------------

#[test]
fn names_of_a_short_identity_are_pitagora_namespace_name_and_a_stable_hash() {
    // These exact names are what existing pipelines own in AWS: they must never change.
    let n = derive("team-a", "orders");
    assert_eq!(n.stack, "pitagora-team-a-orders-75c1a60b");
    assert_eq!(n.stream, "pitagora-team-a-orders-75c1a60b");
    assert_eq!(n.topic, "pitagora-team-a-orders-75c1a60b");
    assert_eq!(n.filter, "pitagora-team-a-orders-75c1a60b");
    assert_eq!(n.delivery_role, "pitagora-team-a-orders-75c1a60b-delivery");
    assert_eq!(n.logs_role, "pitagora-team-a-orders-75c1a60b-logs");
    assert_eq!(
        n.error_log_group,
        "/aws/kinesisfirehose/pitagora-team-a-orders-75c1a60b"
    );
    assert_eq!(
        n.transform_notification_id,
        "pitagora-team-a-orders-75c1a60b-transform"
    );
    assert_eq!(
        n.fanout_notification_id,
        "pitagora-team-a-orders-75c1a60b-fanout"
    );
    assert_eq!(
        n.lifecycle_rule_id,
        "pitagora-team-a-orders-75c1a60b-retention"
    );
    assert_eq!(n.bucket, "pitagora-team-a-orders-12168b9a");
}

#[test]
fn every_derived_name_starts_with_pitagora() {
    for id in identities() {
        let n = Names::derive(&id, &target(), None, None);
        for (what, name) in all_names(&n) {
            let name = name
                .strip_prefix(names::ERROR_LOG_GROUP_PREFIX)
                .unwrap_or(name);
            assert!(name.starts_with(names::NAME_PREFIX), "{id} {what}: {name}");
        }
    }
}

#[test]
fn error_log_group_is_the_firehose_group_of_the_stream() {
    let n = derive("team-a", "orders");
    assert_eq!(n.error_log_group, names::error_log_group_of(&n.stream));
    assert_eq!(
        n.error_log_group,
        pitagora::spec::validate::own_error_log_group(&common::id())
    );
}

#[test]
fn derived_names_never_contain_a_double_hyphen_or_a_hyphen_before_the_hash() {
    for id in identities() {
        let n = Names::derive(&id, &target(), None, None);
        for (what, name) in all_names(&n) {
            assert!(!name.contains("--"), "{id} {what}: {name}");
        }
    }
}

#[test]
fn bucket_is_lowercase_even_for_an_upper_case_identity() {
    let n = derive("Team-A", "Orders");
    assert_eq!(n.bucket, n.bucket.to_ascii_lowercase());
    assert!(bucket_name_problem(&n.bucket).is_none(), "{}", n.bucket);
    assert!(violations(&n).is_empty(), "{:#?}", violations(&n));
}

#[test]
fn owner_tag_value_is_namespace_slash_name() {
    assert_eq!(common::id().owner_tag_value(), "team-a/orders");
    assert_eq!(names::OWNER_TAG, "pitagora.dev/pipeline");
    assert_eq!(names::ROLE_PATH, "/pitagora/");
}

// ---- limits at the boundary --------------------------------------------------------------------

#[test]
fn longest_namespace_and_longest_name_fit_every_limit() {
    assert_within_limits(&"n".repeat(63), &"a".repeat(253));
}

#[test]
fn longest_identity_with_dots_digits_and_hyphens_fits_every_limit() {
    let dotted = "a.b-c.d".repeat(37)[..253]
        .trim_end_matches(['.', '-'])
        .to_owned();
    assert_within_limits(&"9".repeat(63), &dotted);
    assert_within_limits(
        &format!("1{}", "-".repeat(61) + "z"),
        &format!("0{}1", ".-".repeat(125)),
    );
    assert_within_limits("a", "a.b-c.d");
    assert_within_limits("0", "1");
}

#[test]
fn every_generated_identity_fits_every_service_limit_and_charset() {
    let ids = identities();
    assert!(ids.len() > 2000, "only {} identities", ids.len());
    for id in ids {
        assert_within_limits(&id.namespace, &id.name);
    }
}

#[test]
fn long_identities_are_cut_to_exactly_the_stream_and_role_limits() {
    let n = derive(&"n".repeat(63), &"a".repeat(253));
    assert_eq!(n.stream.len(), limits::STREAM);
    assert_eq!(n.bucket.len(), limits::BUCKET);
    assert_eq!(n.delivery_role.len(), limits::ROLE);
    assert_eq!(n.logs_role.len(), limits::ROLE);
    assert_eq!(n.stack.len(), limits::STACK);
}

#[test]
fn role_suffixes_survive_truncation() {
    for id in identities() {
        let n = Names::derive(&id, &target(), None, None);
        assert!(
            n.delivery_role.ends_with("-delivery"),
            "{id}: {}",
            n.delivery_role
        );
        assert!(n.logs_role.ends_with("-logs"), "{id}: {}", n.logs_role);
        assert!(n.transform_notification_id.ends_with("-transform"));
        assert!(n.fanout_notification_id.ends_with("-fanout"));
        assert!(n.lifecycle_rule_id.ends_with("-retention"));
    }
}

proptest! {
    #[test]
    fn any_kubernetes_identity_fits_every_service_limit_and_charset(
        namespace in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
        name in "[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?",
    ) {
        let problems = violations(&derive(&namespace, &name));
        prop_assert!(problems.is_empty(), "{}/{}: {:?}", namespace, name, problems);
    }

    #[test]
    fn any_account_and_region_give_a_valid_bucket(
        account in "[0-9]{12}",
        region in "[a-z]{2}-[a-z]{4,9}-[1-9]",
        name in "[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?",
    ) {
        let n = Names::derive(&PipelineId::new("team-a", name), &AwsTarget::new(account, region), None, None);
        prop_assert!(bucket_name_problem(&n.bucket).is_none(), "{}", n.bucket);
        prop_assert!(n.bucket.len() <= limits::BUCKET);
    }
}

// ---- determinism and uniqueness ----------------------------------------------------------------

#[test]
fn the_same_identity_always_gets_the_same_names() {
    for id in identities().into_iter().step_by(7) {
        let first = Names::derive(&id, &target(), None, None);
        let again = Names::derive(&id.clone(), &target(), None, None);
        assert_eq!(first, again);
    }
}

fn assert_every_name_differs(a: &PipelineId, b: &PipelineId) {
    let (na, nb) = (
        Names::derive(a, &target(), None, None),
        Names::derive(b, &target(), None, None),
    );
    for ((what, x), (_, y)) in all_names(&na).into_iter().zip(all_names(&nb)) {
        assert_ne!(x, y, "{a} and {b} share the {what} name");
    }
}

#[test]
fn identities_that_read_alike_across_the_slash_get_different_names() {
    assert_every_name_differs(&PipelineId::new("a-b", "c"), &PipelineId::new("a", "b-c"));
    assert_every_name_differs(
        &PipelineId::new("app", "x-y"),
        &PipelineId::new("app-x", "y"),
    );
}

#[test]
fn identities_that_read_alike_once_dots_become_hyphens_get_different_names() {
    assert_every_name_differs(
        &PipelineId::new("team", "app.x"),
        &PipelineId::new("team", "app-x"),
    );
    assert_every_name_differs(
        &PipelineId::new("app", "x"),
        &PipelineId::new("default", "app.x"),
    );
    assert_every_name_differs(
        &PipelineId::new("t", "a.b-c.d"),
        &PipelineId::new("t", "a-b.c-d"),
    );
    assert_every_name_differs(&PipelineId::new("t", "a---b"), &PipelineId::new("t", "a-b"));
}

#[test]
fn long_names_that_differ_only_after_the_truncation_point_get_different_names() {
    let stem = "a".repeat(240);
    let (one, two) = (format!("{stem}-one"), format!("{stem}-two"));
    let (a, b) = (
        PipelineId::new("team-a", one),
        PipelineId::new("team-a", two),
    );
    // They really do read the same once cut.
    let (na, nb) = (
        Names::derive(&a, &target(), None, None),
        Names::derive(&b, &target(), None, None),
    );
    assert_eq!(na.stack[..100], nb.stack[..100]);
    assert_every_name_differs(&a, &b);
}

#[test]
fn no_two_generated_identities_share_any_name() {
    let ids = identities();
    let mut seen: BTreeMap<(&'static str, String), PipelineId> = BTreeMap::new();
    for id in &ids {
        let n = Names::derive(id, &target(), None, None);
        for (what, name) in all_names(&n) {
            if let Some(other) = seen.insert((what, name.to_owned()), id.clone()) {
                panic!("{other} and {id} share the {what} name {name}");
            }
        }
    }
}

#[test]
fn many_long_names_sharing_a_long_stem_all_get_different_names() {
    let stem = "x".repeat(200);
    let mut streams = BTreeSet::new();
    let mut buckets = BTreeSet::new();
    for i in 0..2000 {
        let n = derive("team-a", &format!("{stem}-{i}"));
        assert!(
            streams.insert(n.stream.clone()),
            "stream {} repeats",
            n.stream
        );
        assert!(
            buckets.insert(n.bucket.clone()),
            "bucket {} repeats",
            n.bucket
        );
    }
}

// ---- targets and overrides ---------------------------------------------------------------------

#[test]
fn bucket_differs_across_accounts_and_regions() {
    let id = common::id();
    let buckets: BTreeSet<String> = [
        ("123456789012", "eu-west-1"),
        ("210987654321", "eu-west-1"),
        ("123456789012", "us-east-1"),
        ("210987654321", "us-east-1"),
    ]
    .into_iter()
    .map(|(account, region)| {
        Names::derive(&id, &AwsTarget::new(account, region), None, None).bucket
    })
    .collect();
    assert_eq!(buckets.len(), 4, "{buckets:?}");
}

#[test]
fn every_name_but_the_bucket_is_the_same_in_every_account_and_region() {
    let id = common::id();
    let a = Names::derive(
        &id,
        &AwsTarget::new("123456789012", "eu-west-1"),
        None,
        None,
    );
    let b = Names::derive(
        &id,
        &AwsTarget::new("210987654321", "us-gov-west-1"),
        None,
        None,
    );
    for ((what, x), (_, y)) in all_names(&a).into_iter().zip(all_names(&b)) {
        if what == "bucket" {
            assert_ne!(x, y);
        } else {
            assert_eq!(x, y, "{what} depends on the target");
        }
    }
}

#[test]
fn bucket_and_topic_overrides_are_used_verbatim() {
    let n = Names::derive(
        &common::id(),
        &target(),
        Some("my-company.logs"),
        Some("My_Topic-1"),
    );
    assert_eq!(n.bucket, "my-company.logs");
    assert_eq!(n.topic, "My_Topic-1");
}

#[test]
fn overrides_change_no_other_name() {
    let plain = derive("team-a", "orders");
    let overridden = Names::derive(&common::id(), &target(), Some("my-logs"), Some("my-topic"));
    for ((what, x), (_, y)) in all_names(&plain).into_iter().zip(all_names(&overridden)) {
        if what != "bucket" && what != "topic" {
            assert_eq!(x, y, "{what} changed");
        }
    }
}
