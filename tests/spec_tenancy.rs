//! The source allow-list (`--source-allow-list`): which log groups each namespace's pipelines
//! may subscribe.

mod common;

use common::spec;
use pitagora::names::PipelineId;
use pitagora::spec::{Tenancy, TenancyError};

fn list() -> Tenancy {
    Tenancy::parse("team-a: [/ecs/team-a/, /aws/lambda/team-a-]\n\"*\": [/shared/]\n").unwrap()
}

fn errors(namespace: &str, sources: &str) -> Vec<(String, String)> {
    list()
        .check(&PipelineId::new(namespace, "p"), &spec(sources))
        .into_iter()
        .map(|e| (e.path, e.message))
        .collect()
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
    assert!(e[0].1.contains("--source-allow-list"), "{}", e[0].1);
}

#[test]
fn a_prefix_wider_than_the_allowed_one_is_refused() {
    let e = errors("team-a", "sources:\n  logGroupPrefixes: [/ecs/]\n");
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].0, "spec.sources.logGroupPrefixes[0]");
}

#[test]
fn a_namespace_the_list_does_not_name_may_use_only_the_shared_prefixes() {
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
fn without_shared_prefixes_an_unnamed_namespace_may_subscribe_nothing() {
    let t = Tenancy::parse("team-a: [/ecs/team-a/]\n").unwrap();
    let e = t.check(
        &PipelineId::new("team-z", "p"),
        &spec("sources:\n  logGroups: [/ecs/x]\n"),
    );
    assert_eq!(e.len(), 1);
    assert!(
        e[0].message.contains("may subscribe no log group"),
        "{}",
        e[0].message
    );
}

#[test]
fn a_prefix_that_allows_everything_is_refused_when_the_list_is_read() {
    for text in ["team-a: [\"/\"]\n", "team-a: [\"\"]\n"] {
        assert!(
            matches!(Tenancy::parse(text), Err(TenancyError::Prefix { .. })),
            "{text}"
        );
    }
    assert!(matches!(
        Tenancy::parse("team-a: /ecs/\n"),
        Err(TenancyError::Shape(_))
    ));
}
