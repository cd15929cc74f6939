//! The fluentd routes pitagora renders for a pipeline beside the legacy aggregator, specified:
//! one `<match>` per route, the stores of its stage in the order that keeps the authoritative one
//! unstalled, valid fluentd configuration every time, and byte-stable text.

use crate::common;

use common::fluentd::routes;
use pitagora::cutover::Stages;
use pitagora::desired::{self, Pipeline};
use pitagora::fluentd::render::config_hash;
use pitagora::spec::{CutoverStage, LogPipelineSpec};

fn payments() -> LogPipelineSpec {
    common::beside_fluentd_spec()
}

fn text_at(spec: &LogPipelineSpec, routes: Vec<CutoverStage>, own: CutoverStage) -> String {
    let p = Pipeline::from_spec(&common::id(), spec, common::ACCOUNT, common::REGION).unwrap();
    let d = desired::build(&p.at(Stages::of(routes, own)));
    d.fluentd
        .expect("a legacy path renders fluentd routes")
        .text
}

fn all_at(stage: CutoverStage) -> String {
    text_at(&payments(), vec![stage; 2], stage)
}

#[test]
fn legacy_sends_only_to_the_aggregator() {
    let text = all_at(CutoverStage::Legacy);
    common::report::golden("fluentd/payments-legacy.conf", &text);
    for r in routes(&text) {
        assert_eq!(r.shape(), ["forward"], "{}", r.pattern);
    }
}

#[test]
fn shadow_copies_to_cloudwatch_first_and_ignores_its_errors() {
    let text = all_at(CutoverStage::Shadow);
    common::report::golden("fluentd/payments-shadow.conf", &text);
    for r in routes(&text) {
        assert_eq!(r.shape(), ["!cloudwatch_logs", "forward"], "{}", r.pattern);
    }
}

#[test]
fn primary_keeps_the_aggregator_but_ignores_its_errors() {
    let text = all_at(CutoverStage::Primary);
    common::report::golden("fluentd/payments-primary.conf", &text);
    for r in routes(&text) {
        assert_eq!(r.shape(), ["!forward", "cloudwatch_logs"], "{}", r.pattern);
    }
}

#[test]
fn new_sends_only_to_cloudwatch() {
    let text = all_at(CutoverStage::New);
    common::report::golden("fluentd/payments-new.conf", &text);
    for r in routes(&text) {
        assert_eq!(r.shape(), ["cloudwatch_logs"], "{}", r.pattern);
    }
}

#[test]
fn each_route_matches_its_tags_and_writes_to_its_log_group() {
    let parsed = routes(&all_at(CutoverStage::Shadow));
    let summary: Vec<(String, Option<String>)> = parsed
        .iter()
        .map(|r| {
            let cw = &r.store("cloudwatch_logs").directive;
            (
                r.pattern.clone(),
                cw.param("log_group_name").map(str::to_owned),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "app.payments.api.**".to_owned(),
                Some("/ecs/payments-api".to_owned())
            ),
            (
                "app.payments.worker.**".to_owned(),
                Some("/ecs/payments-worker".to_owned())
            ),
        ]
    );
}

#[test]
fn the_cloudwatch_store_names_the_region_and_creates_a_stream_per_tag() {
    let parsed = routes(&all_at(CutoverStage::New));
    let cw = &parsed[0].store("cloudwatch_logs").directive;
    assert_eq!(cw.param("region"), Some("eu-west-1"), "the spec's region");
    assert_eq!(cw.param("use_tag_as_stream"), Some("true"));
    assert_eq!(cw.param("auto_create_stream"), Some("true"));
    assert_eq!(cw.param("log_stream_name"), None);
}

#[test]
fn a_route_with_a_log_stream_writes_to_that_stream() {
    let mut spec = payments();
    spec.legacy.as_mut().unwrap().fluentd.routes[0].log_stream = Some("fluentd".into());
    let parsed = routes(&text_at(
        &spec,
        vec![CutoverStage::New; 2],
        CutoverStage::New,
    ));
    let cw = &parsed[0].store("cloudwatch_logs").directive;
    assert_eq!(cw.param("log_stream_name"), Some("fluentd"));
    assert_eq!(cw.param("use_tag_as_stream"), None);
}

#[test]
fn routes_may_be_at_different_stages() {
    let text = text_at(
        &payments(),
        vec![CutoverStage::Primary, CutoverStage::Legacy],
        CutoverStage::Shadow,
    );
    let parsed = routes(&text);
    assert_eq!(parsed[0].shape(), ["!forward", "cloudwatch_logs"]);
    assert_eq!(parsed[1].shape(), ["forward"]);
}

#[test]
fn the_forward_store_carries_the_targets_buffer_with_a_path_per_route() {
    let parsed = routes(&all_at(CutoverStage::Legacy));
    let paths: Vec<String> = parsed
        .iter()
        .map(|r| {
            let buffer = r
                .store("forward")
                .directive
                .children("buffer")
                .next()
                .unwrap()
                .clone();
            assert_eq!(buffer.param("@type"), Some("file"));
            assert_eq!(buffer.param("flush_interval"), Some("5s"));
            assert_eq!(buffer.param("total_limit_size"), Some("512m"));
            assert_eq!(buffer.param("retry_forever"), Some("true"));
            buffer.param("path").unwrap().to_owned()
        })
        .collect();
    assert_ne!(paths[0], paths[1], "two file buffers may not share a path");
    assert!(
        paths
            .iter()
            .all(|p| p.starts_with("/var/log/fluentd-buffers/pitagora/team-a.orders."))
    );
}

#[test]
fn reordering_routes_keeps_each_buffer_path() {
    let path_of = |spec: &LogPipelineSpec, pattern: &str| {
        routes(&text_at(
            spec,
            vec![CutoverStage::Legacy; 2],
            CutoverStage::Legacy,
        ))
        .into_iter()
        .find(|r| r.pattern == pattern)
        .map(|r| {
            r.store("forward")
                .directive
                .children("buffer")
                .next()
                .unwrap()
                .param("path")
                .unwrap()
                .to_owned()
        })
        .unwrap()
    };
    let mut reordered = payments();
    reordered.legacy.as_mut().unwrap().fluentd.routes.reverse();
    assert_eq!(
        path_of(&payments(), "app.payments.api.**"),
        path_of(&reordered, "app.payments.api.**")
    );
}

#[test]
fn a_verbatim_store_is_written_with_the_route_placeholder_filled() {
    let mut spec = payments();
    let fluentd = &mut spec.legacy.as_mut().unwrap().fluentd;
    fluentd.target = None;
    fluentd.store = Some(
        "@type forward\ntransport tls\nignore_network_errors_at_startup true\n<server>\n  host agg.example\n  port 24225\n</server>\n<buffer>\n  @type file\n  path /buffers/{{route}}\n</buffer>\n".into(),
    );
    let parsed = routes(&text_at(
        &spec,
        vec![CutoverStage::Shadow; 2],
        CutoverStage::Shadow,
    ));
    let forward = &parsed[0].store("forward").directive;
    assert_eq!(forward.param("transport"), Some("tls"));
    let path = forward
        .children("buffer")
        .next()
        .unwrap()
        .param("path")
        .unwrap();
    assert!(
        path.starts_with("/buffers/team-a.orders.app.payments.api."),
        "{path}"
    );
    assert!(!path.contains("{{route}}"));
}

#[test]
fn the_text_is_stable_and_its_hash_follows_the_stage() {
    assert_eq!(all_at(CutoverStage::Shadow), all_at(CutoverStage::Shadow));
    assert_eq!(
        config_hash(&all_at(CutoverStage::Shadow)),
        config_hash(&all_at(CutoverStage::Shadow))
    );
    assert_ne!(
        config_hash(&all_at(CutoverStage::Shadow)),
        config_hash(&all_at(CutoverStage::Primary))
    );
    assert!(config_hash("x").starts_with("sha256:"));
}

#[test]
fn the_text_names_the_pipeline_it_belongs_to() {
    let text = all_at(CutoverStage::Legacy);
    assert_eq!(
        text.lines().next(),
        Some("# pitagora.dev/pipeline: team-a/orders")
    );
}

#[test]
fn the_requested_stages_default_to_the_pipelines() {
    let mut spec = payments();
    spec.legacy.as_mut().unwrap().fluentd.routes[1].stage = Some(CutoverStage::Legacy);
    let stages = Stages::requested(&spec);
    assert_eq!(stages.routes, [CutoverStage::Shadow, CutoverStage::Legacy]);
    assert_eq!(stages.pipeline, CutoverStage::Legacy, "the lowest route's");
}

const STAGES: [CutoverStage; 4] = [
    CutoverStage::Legacy,
    CutoverStage::Shadow,
    CutoverStage::Primary,
    CutoverStage::New,
];

/// The `<buffer>` of `store`.
fn buffer_of(store: &common::fluentd::Store) -> pitagora::fluentd::parse::Directive {
    store
        .directive
        .children("buffer")
        .next()
        .unwrap_or_else(|| panic!("the {} store has no <buffer>", store.kind))
        .clone()
}

#[test]
fn every_store_at_every_stage_buffers_on_disk_in_a_path_no_other_store_uses() {
    for stage in STAGES {
        let parsed = routes(&all_at(stage));
        let mut paths = std::collections::BTreeSet::new();
        for store in parsed.iter().flat_map(|r| &r.stores) {
            let buffer = buffer_of(store);
            assert_eq!(
                buffer.param("@type"),
                Some("file"),
                "{stage} {}",
                store.kind
            );
            let path = buffer.param("path").unwrap().to_owned();
            assert!(paths.insert(path.clone()), "{stage}: {path} used twice");
        }
    }
}

#[test]
fn the_cloudwatch_store_buffers_under_its_own_directory_as_the_spec_says() {
    let mut spec = payments();
    let b = &mut spec.legacy.as_mut().unwrap().fluentd.cloud_watch_buffer;
    b.path = "/mnt/pitagora-cw/".into();
    b.flush_interval_seconds = 2;
    b.chunk_limit_size = "1m".into();
    b.total_limit_size = "2g".into();
    let parsed = routes(&text_at(
        &spec,
        vec![CutoverStage::New; 2],
        CutoverStage::New,
    ));
    let buffer = buffer_of(parsed[0].store("cloudwatch_logs"));
    let path = buffer.param("path").unwrap();
    assert!(
        path.starts_with("/mnt/pitagora-cw/team-a.orders.app.payments.api."),
        "{path}"
    );
    assert_eq!(buffer.param("flush_interval"), Some("2s"));
    assert_eq!(buffer.param("chunk_limit_size"), Some("1m"));
    assert_eq!(buffer.param("total_limit_size"), Some("2g"));
}

#[test]
fn every_store_retries_for_ever_with_a_bounded_wait() {
    for stage in STAGES {
        for store in routes(&all_at(stage)).iter().flat_map(|r| r.stores.clone()) {
            let buffer = buffer_of(&store);
            assert_eq!(
                buffer.param("retry_forever"),
                Some("true"),
                "{stage} {}",
                store.kind
            );
            assert_eq!(
                buffer.param("retry_max_interval"),
                Some("30s"),
                "{stage} {}",
                store.kind
            );
        }
    }
}

#[test]
fn the_forward_store_starts_when_the_aggregators_name_does_not_resolve() {
    for stage in [
        CutoverStage::Legacy,
        CutoverStage::Shadow,
        CutoverStage::Primary,
    ] {
        for route in routes(&all_at(stage)) {
            let forward = &route.store("forward").directive;
            assert_eq!(
                forward.param("ignore_network_errors_at_startup"),
                Some("true"),
                "{stage} {}",
                route.pattern
            );
        }
    }
}

#[test]
fn the_cloudwatch_store_never_discards_a_throttled_batch_nor_the_events_after_a_large_one() {
    for stage in [
        CutoverStage::Shadow,
        CutoverStage::Primary,
        CutoverStage::New,
    ] {
        for route in routes(&all_at(stage)) {
            let cw = &route.store("cloudwatch_logs").directive;
            assert_eq!(cw.param("put_log_events_disable_retry_limit"), Some("true"));
            // 65,529 four-byte characters and the 26-byte header stay within 256 KB.
            let longest: u32 = cw.param("max_message_length").unwrap().parse().unwrap();
            assert!(longest * 4 + 26 <= 256 * 1024, "{longest}");
        }
    }
}

#[test]
fn a_store_overflows_as_the_spec_says_only_while_it_carries_the_logs() {
    let mut spec = payments();
    let fluentd = &mut spec.legacy.as_mut().unwrap().fluentd;
    fluentd.target.as_mut().unwrap().buffer.overflow_action = pitagora::spec::OverflowAction::Block;
    fluentd.cloud_watch_buffer.overflow_action = pitagora::spec::OverflowAction::DropOldestChunk;
    let cases = [
        (CutoverStage::Legacy, "forward", "block"),
        (CutoverStage::Shadow, "forward", "block"),
        (CutoverStage::Shadow, "cloudwatch_logs", "throw_exception"),
        (CutoverStage::Primary, "forward", "throw_exception"),
        (
            CutoverStage::Primary,
            "cloudwatch_logs",
            "drop_oldest_chunk",
        ),
        (CutoverStage::New, "cloudwatch_logs", "drop_oldest_chunk"),
    ];
    for (stage, kind, overflow) in cases {
        let parsed = routes(&text_at(&spec, vec![stage; 2], stage));
        let buffer = buffer_of(parsed[0].store(kind));
        assert_eq!(
            buffer.param("overflow_action"),
            Some(overflow),
            "{stage} {kind}"
        );
    }
}

#[test]
fn the_forward_store_uses_only_parameters_fluentd_knows_with_values_of_their_kind() {
    use pitagora::spec::grammar::fluentd_params::{Section, problem};
    for stage in [
        CutoverStage::Legacy,
        CutoverStage::Shadow,
        CutoverStage::Primary,
    ] {
        for route in routes(&all_at(stage)) {
            let forward = &route.store("forward").directive;
            let sections = [
                (Section::Output("forward"), forward.clone()),
                (
                    Section::Server,
                    forward.children("server").next().unwrap().clone(),
                ),
                (
                    Section::Buffer("file"),
                    forward.children("buffer").next().unwrap().clone(),
                ),
            ];
            for (section, d) in sections {
                for p in &d.params {
                    assert_eq!(
                        problem(section, &p.key, &p.value),
                        None,
                        "{stage} {}",
                        p.key
                    );
                }
            }
        }
    }
}

// --- the opt-in real-fluentd suite (scripts/test-fluentd.sh, docs/fluentd-suite.md) -----------

/// `scripts/test-fluentd.sh` run as CI would, with `fluentd` set or not.
fn fluentd_suite(fluentd: Option<&str>) -> std::process::Output {
    let mut cmd = std::process::Command::new(common::repo_path("scripts/test-fluentd.sh"));
    cmd.env_remove("PITAGORA_FLUENTD")
        .env_remove("PITAGORA_FLUENT_CAT");
    if let Some(path) = fluentd {
        cmd.env("PITAGORA_FLUENTD", path);
    }
    cmd.output().expect("scripts/test-fluentd.sh runs")
}

#[test]
fn the_real_fluentd_suite_without_fluentd_is_skipped_loudly_never_passed() {
    let out = fluentd_suite(None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(77),
        "automake's skipped code; stderr: {stderr}"
    );
    assert!(stderr.contains("SKIPPED"), "{stderr}");
    assert!(stderr.contains("not a pass"), "{stderr}");
    assert!(
        stderr.contains("PITAGORA_FLUENTD="),
        "says how to run it: {stderr}"
    );
}

#[test]
fn the_real_fluentd_suite_refuses_a_fluentd_that_is_not_an_executable_naming_it() {
    let out = fluentd_suite(Some("/nonexistent"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("/nonexistent"), "{stderr}");
}

/// The suite's own machinery (moto behind a proxy that closes and reopens, counting by event
/// id, the acked stream across restarts, renders of every example through this binary, the
/// fluent.conf wrapper, a stand-in fluentd driven through checks a and d), without fluentd.
#[test]
fn the_real_fluentd_suites_machinery_passes_its_self_test() {
    let python = common::repo_path(".venv-moto/bin/python");
    assert!(
        python.exists(),
        "the self-test runs with moto's venv: scripts/moto.sh install"
    );
    let out = std::process::Command::new(python)
        .arg(common::repo_path("scripts/fluentd_suite.py"))
        .args(["--self-test", "--pitagora", env!("CARGO_BIN_EXE_pitagora")])
        .output()
        .expect("the suite runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
