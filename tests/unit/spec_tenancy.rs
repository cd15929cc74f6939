//! Tenancy (`--tenancy`, `--single-tenant`, and the default without either): which log groups
//! and Lambda functions each namespace's pipelines may use.

use crate::common;

use common::spec;
use pitagora::names::PipelineId;
use pitagora::spec::{Tenancy, TenancyError};

const FILE: &str = "namespaces:
  team-a:
    logGroupPrefixes: [/ecs/team-a/, /aws/lambda/team-a-]
    functionPrefixes: [team-a-]
  \"*\":
    logGroupPrefixes: [/shared/]
";

fn file() -> Tenancy {
    Tenancy::parse(FILE).unwrap()
}

fn errors_with(t: &Tenancy, namespace: &str, yaml: &str) -> Vec<(String, String)> {
    t.check(&PipelineId::new(namespace, "p"), &spec(yaml))
        .into_iter()
        .map(|e| (e.path, e.message))
        .collect()
}

fn errors(namespace: &str, yaml: &str) -> Vec<(String, String)> {
    errors_with(&file(), namespace, yaml)
}

fn function(name: &str) -> String {
    format!("arn:aws:lambda:eu-west-1:123456789012:function:{name}")
}

fn with_functions(transform: &str, subscriber: &str) -> String {
    format!(
        "sources:\n  logGroups: [/ecs/team-a/api]\ntransform:\n  lambdaArn: {}\n  outputPrefix: processed/\nfanout:\n  subscribers:\n    - name: es\n      lambdaArn: {}\n",
        function(transform),
        function(subscriber)
    )
}

#[test]
fn groups_and_prefixes_under_the_namespaces_prefixes_are_allowed() {
    assert_eq!(
        errors(
            "team-a",
            "sources:\n  logGroups: [/ecs/team-a/api, /aws/lambda/team-a-resize, /shared/audit]\n  logGroupPrefixes: [/ecs/team-a/]\n"
        ),
        []
    );
}

#[test]
fn another_teams_group_is_refused_naming_the_field_and_the_allowed_prefixes() {
    let e = errors(
        "team-a",
        "sources:\n  logGroups: [/ecs/team-a/api, /ecs/team-b/billing]\n",
    );
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "spec.sources.logGroups[1]");
    assert!(
        e[0].1
            .contains("/ecs/team-a/, /aws/lambda/team-a-, /shared/"),
        "{}",
        e[0].1
    );
    assert!(e[0].1.contains("tenancy file"), "{}", e[0].1);
}

#[test]
fn a_prefix_wider_than_the_allowed_one_is_refused() {
    let e = errors("team-a", "sources:\n  logGroupPrefixes: [/ecs/]\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "spec.sources.logGroupPrefixes[0]");
}

#[test]
fn a_namespace_the_file_does_not_name_may_use_only_the_shared_entry() {
    assert_eq!(errors("team-z", "sources:\n  logGroups: [/shared/x]\n"), []);
    let e = errors("team-z", "sources:\n  logGroups: [/ecs/team-a/api]\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].1.contains("only log groups under /shared/"),
        "{}",
        e[0].1
    );
}

#[test]
fn without_a_shared_entry_an_unnamed_namespace_may_subscribe_nothing() {
    let t =
        Tenancy::parse("namespaces:\n  team-a:\n    logGroupPrefixes: [/ecs/team-a/]\n").unwrap();
    let e = errors_with(&t, "team-z", "sources:\n  logGroups: [/ecs/x]\n");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].1.contains("may not subscribe log groups"),
        "{}",
        e[0].1
    );
}

#[test]
fn functions_under_the_namespaces_prefixes_are_allowed() {
    assert_eq!(
        errors("team-a", &with_functions("team-a-shape", "team-a-es")),
        []
    );
}

#[test]
fn another_teams_transform_and_subscriber_are_refused_naming_each_field() {
    let e = errors("team-a", &with_functions("team-b-shape", "billing-es"));
    let paths: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.transform.lambdaArn",
            "spec.fanout.subscribers[0].lambdaArn"
        ]
    );
    assert!(
        e[0].1.contains("only functions under team-a-"),
        "{}",
        e[0].1
    );
}

#[test]
fn without_a_file_a_namespace_reaches_only_what_is_named_after_it() {
    let t = Tenancy::default();
    assert_eq!(
        errors_with(&t, "team-a", &with_functions("team-a-shape", "team-a-es"))
            .into_iter()
            .map(|(p, _)| p)
            .collect::<Vec<_>>(),
        ["spec.sources.logGroups[0]"],
        "/ecs/team-a/api is not under /team-a/"
    );
    assert_eq!(
        errors_with(
            &t,
            "team-a",
            "sources:\n  logGroups: [/team-a/api]\n  logGroupPrefixes: [/team-a/jobs/]\n"
        ),
        []
    );
    let e = errors_with(&t, "team-a", "sources:\n  logGroups: [/team-b/api]\n");
    assert_eq!(e.len(), 1);
    assert!(e[0].1.contains("only under /team-a/"), "{}", e[0].1);
    assert!(e[0].1.contains("--tenancy"), "{}", e[0].1);
    let e = errors_with(&t, "team-a", &with_functions("team-b-x", "team-a-es"));
    assert!(
        e.iter()
            .any(|(p, m)| p == "spec.transform.lambdaArn" && m.contains("only under team-a-")),
        "{e:?}"
    );
}

#[test]
fn a_single_tenant_cluster_lets_every_namespace_use_everything() {
    let t = Tenancy::single_tenant();
    assert_eq!(
        errors_with(&t, "team-a", &with_functions("anything", "else")),
        []
    );
    assert_eq!(
        errors_with(&t, "x", "sources:\n  logGroupPrefixes: [/ecs/]\n"),
        []
    );
    assert_eq!(t.all_log_group_prefixes(), None);
}

#[test]
fn the_union_of_prefixes_is_what_the_iam_policy_must_allow() {
    let t = file();
    assert_eq!(
        t.all_log_group_prefixes().unwrap(),
        ["/aws/lambda/team-a-", "/ecs/team-a/", "/shared/"]
    );
    assert_eq!(t.all_function_prefixes().unwrap(), ["team-a-"]);
}

#[test]
fn a_prefix_that_allows_everything_is_refused_when_the_file_is_read() {
    for (text, field) in [
        (
            "namespaces:\n  team-a:\n    logGroupPrefixes: [\"/\"]\n",
            "logGroupPrefixes",
        ),
        (
            "namespaces:\n  team-a:\n    functionPrefixes: [\"\"]\n",
            "functionPrefixes",
        ),
        (
            "namespaces:\n  team-a:\n    functionPrefixes: [\"*\"]\n",
            "functionPrefixes",
        ),
    ] {
        match Tenancy::parse(text) {
            Err(TenancyError::Prefix { field: f, .. }) => assert_eq!(f, field, "{text}"),
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[test]
fn a_file_of_another_shape_is_refused_naming_the_expected_one() {
    for text in [
        "team-a: [/ecs/team-a/]\n",
        "namespaces:\n  team-a:\n    logGroups: [/ecs/]\n",
    ] {
        let e = Tenancy::parse(text).unwrap_err();
        assert!(matches!(e, TenancyError::Shape(_)), "{text}: {e:?}");
        assert!(e.to_string().contains("namespaces:"), "{e}");
    }
}

/// A pipeline beside fluentd whose verbatim store uses `plugin`, routed into `config_map`.
fn beside_fluentd(plugin: &str, config_map: &str) -> String {
    format!(
        "sources:\n  logGroups: [/team-a/api]\nlegacy:\n  fluentd:\n    store: |\n      @type {plugin}\n    config:\n      namespace: logging\n      name: {config_map}\n      key: team-a.api.conf\n    reload:\n      kind: None\n    routes:\n      - match: app.api.**\n        logGroup: /team-a/api\ncutover:\n  stage: Shadow\n"
    )
}

#[test]
fn the_fluentd_policy_applies_in_every_mode_and_the_file_can_widen_it() {
    let forward = beside_fluentd("forward", "routes");
    let http = beside_fluentd("http", "routes");
    // Without a file, and for one team: forward only, into any ConfigMap.
    for t in [Tenancy::default(), Tenancy::single_tenant()] {
        assert_eq!(errors_with(&t, "team-a", &forward), []);
        let e = errors_with(&t, "team-a", &http);
        assert_eq!(e.len(), 1, "{e:?}");
        assert_eq!(e[0].0, "spec.legacy.fluentd.store");
    }
    let t = Tenancy::parse(
        "namespaces:\n  team-a:\n    logGroupPrefixes: [/team-a/]\nfluentd:\n  configMaps: [logging/routes]\n  outputPlugins: [forward, http]\n",
    )
    .unwrap();
    assert_eq!(errors_with(&t, "team-a", &http), []);
    let e = errors_with(&t, "team-a", &beside_fluentd("forward", "fluent-conf"));
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "spec.legacy.fluentd.config.name");
}
