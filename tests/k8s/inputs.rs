//! What the cluster refuses, through `kubectl apply` on the real API server with the controller
//! running: every malformed document of the corpus is rejected by the CRD schema naming its
//! field, or reported by the controller as `InvalidSpec` naming it, and AWS is asked nothing;
//! a namespace's pipeline cannot subscribe log groups outside its allow-list.

use crate::common;

use common::kube::*;
use common::moto::*;
use pitagora::spec::Tenancy;
use std::time::Duration;

const LONG: Duration = Duration::from_secs(60);

/// The corpus files kubectl can send: documents whose mistake is YAML itself (an alias bomb,
/// duplicate keys, `.nan`) never reach the API server as written — kubectl converts YAML to JSON
/// first (refusing the bomb and non-finite numbers, keeping the last of duplicate keys) — and
/// pitagora's own loader rejects them (tests/unit/spec_corpus.rs).
fn corpus() -> Vec<(String, String, String)> {
    common::malformed_corpus()
        .into_iter()
        .filter(|m| m.expect != "(document)" && m.reaches_api_server)
        .map(|m| {
            let name = m.path.file_name().unwrap().to_string_lossy().into_owned();
            (name, m.expect, m.text)
        })
        .collect()
}

/// Whether the API server's or kubectl's message names `field`: an older API server drops list
/// indexes (`spec.sources.logGroups`), a current one keeps them, kubectl's schema check names the
/// parent and the key (`LogPipeline.spec.delivery: unknown field "bufferSize"`).
fn names_field(message: &str, field: &str) -> bool {
    let plain: String = {
        let mut out = String::new();
        let mut in_index = false;
        for c in field.chars() {
            match c {
                '[' => in_index = true,
                ']' => in_index = false,
                c if !in_index => out.push(c),
                _ => {}
            }
        }
        out
    };
    let (parent, leaf) = plain.rsplit_once('.').unwrap_or(("", plain.as_str()));
    // API servers up to 1.2x drop list indexes from a schema error's field path
    // (`spec.fanout.subscribers.name`); current ones keep them (`spec.fanout.subscribers[0].name`).
    message.contains(field)
        || message.contains(&plain)
        || (message.contains(parent) && message.contains(&format!("\"{leaf}\"")))
        || (leaf == "name" && message.contains("resource name may not be empty"))
        || (leaf == "namespace" && message.contains("namespaces \""))
        // kubectl finds no resource for an unserved version: `no matches for kind "LogPipeline"
        // in version "pitagora.dev/v1"`.
        || (plain == "apiVersion" && message.contains("in version \""))
}

#[test]
fn a_field_path_is_recognised_with_or_without_its_list_indexes() {
    let field = "spec.fanout.subscribers[0].name";
    for (api_server, message) in [
        (
            "1.20",
            r#"spec.fanout.subscribers.name: Invalid value: "Slack_Alerts""#,
        ),
        (
            "1.33",
            r#"spec.fanout.subscribers[0].name: Invalid value: "Slack_Alerts""#,
        ),
    ] {
        assert!(names_field(message, field), "{api_server}: {message}");
    }
    assert!(!names_field(
        r#"spec.fanout.topicName: Invalid value: "x""#,
        field
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_document_is_refused_naming_its_field_and_aws_is_asked_nothing() {
    install();
    // The corpus's own namespace: its documents' derived names (the pipeline's own error log
    // group) depend on it.
    let _ = kubectl(&["create", "namespace", "team-a"], None);
    let m = Moto::new().await;
    let before = m.calls();
    let ctl = start(&m, settings("team-a", None)).await;
    let (mut by_schema, mut by_validation) = (0, 0);
    for (file, expect, text) in corpus() {
        let applied = kubectl(&["apply", "-f", "-"], Some(&text));
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&applied.stdout),
            String::from_utf8_lossy(&applied.stderr)
        );
        if !applied.status.success() {
            assert!(
                names_field(&said, &expect),
                "{file}: refused without naming {expect}: {said}"
            );
            by_schema += 1;
            continue;
        }
        // Past the schema: the controller must say InvalidSpec, naming the field.
        let name = text
            .lines()
            .find_map(|l| l.strip_prefix("  name: "))
            .unwrap()
            .trim()
            .to_owned();
        let message = until(LONG, &format!("{file}: InvalidSpec"), || async {
            (condition_field("team-a", &name, "Ready", "reason") == "InvalidSpec")
                .then(|| condition_field("team-a", &name, "Ready", "message"))
        })
        .await;
        assert!(message.contains(&expect), "{file}: {message}");
        by_validation += 1;
        kubectl_ok(
            &[
                "delete",
                "logpipeline",
                &name,
                "-n",
                "team-a",
                "--timeout=60s",
            ],
            None,
        );
    }
    eprintln!("refused by the schema: {by_schema}; by validation: {by_validation}");
    assert!(by_schema + by_validation >= 50);
    let calls = m.calls().since(&before);
    assert_eq!(calls.total(), 0, "{calls:?}");
    ctl.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_namespace_cannot_subscribe_log_groups_outside_its_allow_list() {
    install();
    let ns = namespace("tenant");
    let m = Moto::new().await;
    m.log_groups(&["/ecs/ours/api", "/ecs/theirs/billing"])
        .await;
    let tenancy =
        Tenancy::parse(&format!(
            "namespaces:\n  {ns}:\n    logGroupPrefixes: [/ecs/ours/]\n  other-team:\n    logGroupPrefixes: [/ecs/theirs/]\n"
        ))
        .unwrap();
    let ctl = start_with(m.engine.clone().with_tenancy(tenancy), settings(&ns, None)).await;
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(
            &ns,
            "grab",
            "sources:\n  logGroups: [/ecs/ours/api, /ecs/theirs/billing]\n",
        )),
    );
    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(
            &ns,
            "own",
            "sources:\n  logGroups: [/ecs/ours/api]\n",
        )),
    );
    let message = until(LONG, "InvalidSpec for grab", || async {
        (condition_field(&ns, "grab", "Ready", "reason") == "InvalidSpec")
            .then(|| condition_field(&ns, "grab", "Ready", "message"))
    })
    .await;
    assert!(message.contains("spec.sources.logGroups[1]"), "{message}");
    assert!(message.contains("/ecs/ours/"), "{message}");
    assert!(!message.contains("spec.sources.logGroups[0]"), "{message}");
    until(LONG, "own Ready", || async {
        (condition(&ns, "own", "Ready") == "True").then_some(())
    })
    .await;
    // The other team's group was never subscribed; ours was, by the allowed pipeline only.
    assert_eq!(filters_on(&m.c, "/ecs/theirs/billing").await, Vec::new());
    assert_eq!(filters_on(&m.c, "/ecs/ours/api").await.len(), 1);
    ctl.stop().await;
}

/// What team A's pipeline holds in AWS that another team could touch: its source group's
/// filters, its topic's Lambda subscribers and policy, its function's resource policy.
async fn team_a_holdings(m: &Moto, group: &str, topic_arn: &str, function: &str) -> String {
    let policy =
        m.c.sns
            .get_topic_attributes()
            .topic_arn(topic_arn)
            .send()
            .await
            .unwrap()
            .attributes()
            .and_then(|a| a.get("Policy").cloned());
    let function_policy =
        m.c.lambda
            .get_policy()
            .function_name(function)
            .send()
            .await
            .ok()
            .and_then(|p| p.policy().map(str::to_owned));
    format!(
        "{:?}\n{:?}\n{policy:?}\n{function_policy:?}",
        filters_on(&m.c, group).await,
        lambda_subscribers(&m.c, topic_arn).await,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_namespace_can_reach_nothing_of_a_teams_pipeline_and_it_stays_delivering() {
    install();
    let (a, b) = (namespace("team-a"), namespace("team-b"));
    let m = Moto::new().await;
    let (group_a, group_b) = (format!("/ecs/{a}/api"), format!("/ecs/{b}/api"));
    m.log_groups(&[&group_a, &group_b]).await;
    let functions = m
        .lambda_functions(&[&format!("{a}-es"), &format!("{b}-es")])
        .await;
    let (function_a, function_b) = (&functions[0], &functions[1]);
    // As the shipped tenancy file has it: each team its own log groups and functions.
    let tenancy = Tenancy::parse(&format!(
        "namespaces:\n  {a}:\n    logGroupPrefixes: [/ecs/{a}/]\n    functionPrefixes: [{a}-]\n  {b}:\n    logGroupPrefixes: [/ecs/{b}/]\n    functionPrefixes: [{b}-]\n"
    ))
    .unwrap();
    let engine = m.engine.clone().with_tenancy(tenancy);
    let ctl_a = start_with(engine.clone(), settings(&a, None)).await;
    let ctl_b = start_with(engine, settings(&b, None)).await;

    kubectl_ok(
        &["apply", "-f", "-"],
        Some(&pipeline(
            &a,
            "orders",
            &format!(
                "sources:\n  logGroups: [{group_a}]\ndelivery:\n  buffering:\n    intervalSeconds: 0\nfanout:\n  subscribers:\n    - name: es\n      lambdaArn: {function_a}\ndrift:\n  checkIntervalSeconds: 3600\n"
            ),
        )),
    );
    for condition_type in ["Ready", "Delivering"] {
        until(LONG, &format!("team A {condition_type}"), || async {
            (condition(&a, "orders", condition_type) == "True").then_some(())
        })
        .await;
    }
    let n = names(&m, &a, "orders");
    let topic_a = format!("arn:aws:sns:{REGION}:{}:{}", m.account, n.topic);
    let before = team_a_holdings(&m, &group_a, &topic_a, function_a).await;

    // Team B tries, one pipeline per way in: A's logs, A's function, A's topic, A's bucket.
    let own = format!("sources:\n  logGroups: [{group_b}]\n");
    let attempts = [
        (
            "grab-logs",
            format!("sources:\n  logGroups: [{group_a}]\n"),
            "InvalidSpec",
            "spec.sources.logGroups[0]",
        ),
        (
            "grab-function",
            format!(
                "{own}fanout:\n  subscribers:\n    - name: es\n      lambdaArn: {function_a}\n"
            ),
            "InvalidSpec",
            "spec.fanout.subscribers[0].lambdaArn",
        ),
        (
            "grab-topic",
            format!(
                "{own}fanout:\n  topicName: {}\n  subscribers:\n    - name: es\n      lambdaArn: {function_b}\n",
                n.topic
            ),
            "Conflict",
            "spec.fanout.topicName",
        ),
        (
            "grab-bucket",
            format!("{own}storage:\n  bucketName: {}\n", n.bucket),
            "Conflict",
            &n.bucket,
        ),
    ];
    for (name, spec, _, _) in &attempts {
        kubectl_ok(&["apply", "-f", "-"], Some(&pipeline(&b, name, spec)));
    }
    for (name, _, reason, named) in &attempts {
        // An invalid spec's message lists its errors; a conflict's reason is in the status's
        // items and, for ownership, in the OwnershipConflict event.
        let said = until(LONG, &format!("{name} refused"), || async {
            (condition_field(&b, name, "Ready", "reason") == *reason).then(|| {
                let mut said = condition_field(&b, name, "Ready", "message");
                said.push_str(&jsonpath(&b, name, "{.status}"));
                said.push_str(&events(&b, "OwnershipConflict").join("\n"));
                said
            })
        })
        .await;
        assert!(said.contains(named), "{name}: {said}");
    }

    // Nothing of A's changed, no stack of B's holds any of it, and A is still delivering.
    assert_eq!(
        team_a_holdings(&m, &group_a, &topic_a, function_a).await,
        before
    );
    for (name, _, _, _) in &attempts {
        assert!(
            !stack_exists(&m.c, &names(&m, &b, name).stack).await,
            "{name}"
        );
    }
    let checked = jsonpath(&a, "orders", "{.status.lastCheckTime}");
    request_reconcile(&a, "orders", "after-team-b");
    until(
        LONG,
        "team A checked again, Ready and Delivering",
        || async {
            (jsonpath(&a, "orders", "{.status.lastCheckTime}") != checked
                && condition(&a, "orders", "Ready") == "True"
                && condition(&a, "orders", "Delivering") == "True")
                .then_some(())
        },
    )
    .await;
    ctl_a.stop().await;
    ctl_b.stop().await;
}
