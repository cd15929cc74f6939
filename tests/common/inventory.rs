//! Everything an account holds that pitagora makes, as sorted lines with the account id
//! replaced: two runs that should leave AWS alike (one with faults, one without) compare
//! equal, and a duplicate (two subscriptions, two permissions, two filters) shows as a line
//! twice.

use pitagora::aws::RegionClients;

/// The account's stacks, streams, log groups and their filters, buckets and their
/// notifications, topics and their subscriptions, Lambda permissions, and the number of roles.
pub async fn inventory(c: &RegionClients, account: &str) -> Vec<String> {
    let mut lines = Vec::new();
    stacks(c, &mut lines).await;
    streams(c, &mut lines).await;
    log_groups(c, &mut lines).await;
    buckets(c, &mut lines).await;
    topics(c, &mut lines).await;
    permissions(c, &mut lines).await;
    let roles = c.iam.list_roles().send().await.unwrap();
    lines.push(format!("roles: {}", roles.roles().len()));
    // Bucket names end in a digest of the account: the same bucket in another account.
    let buckets: Vec<String> =
        c.s3.list_buckets()
            .send()
            .await
            .unwrap()
            .buckets()
            .iter()
            .filter_map(|b| b.name().map(str::to_owned))
            .collect();
    let mut lines: Vec<String> = lines
        .into_iter()
        .map(|mut l| {
            for b in &buckets {
                if let Some((stem, _)) = b.rsplit_once('-') {
                    l = l.replace(b.as_str(), &format!("{stem}-BUCKET"));
                }
            }
            l.replace(account, "ACCOUNT")
        })
        .collect();
    lines.sort();
    lines
}

/// Asserts two inventories are equal, showing only the lines that differ.
pub fn assert_same(actual: &[String], expected: &[String], context: &str) {
    fn count(lines: &[String]) -> std::collections::BTreeMap<&str, i64> {
        let mut m = std::collections::BTreeMap::new();
        for l in lines {
            *m.entry(l.as_str()).or_default() += 1;
        }
        m
    }
    let (a, e) = (count(actual), count(expected));
    let mut diff = Vec::new();
    for line in a
        .keys()
        .chain(e.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        let (na, ne) = (
            a.get(line).copied().unwrap_or(0),
            e.get(line).copied().unwrap_or(0),
        );
        if na != ne {
            diff.push(format!("{na} here, {ne} fault-free: {line}"));
        }
    }
    assert!(
        diff.is_empty(),
        "AWS differs from a fault-free run:\n{}\n{context}",
        diff.join("\n")
    );
}

async fn stacks(c: &RegionClients, lines: &mut Vec<String>) {
    let mut token = None;
    loop {
        let out = c
            .cfn
            .list_stacks()
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        for s in out.stack_summaries() {
            let status = s.stack_status().map(|s| s.as_str()).unwrap_or_default();
            if status != "DELETE_COMPLETE" {
                lines.push(format!(
                    "stack {} {status}",
                    s.stack_name().unwrap_or_default()
                ));
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
}

async fn streams(c: &RegionClients, lines: &mut Vec<String>) {
    let mut start: Option<String> = None;
    loop {
        let out = c
            .firehose
            .list_delivery_streams()
            .set_exclusive_start_delivery_stream_name(start)
            .send()
            .await
            .unwrap();
        let names = out.delivery_stream_names().to_vec();
        lines.extend(names.iter().map(|n| format!("stream {n}")));
        if !out.has_more_delivery_streams() || names.is_empty() {
            break;
        }
        start = names.last().cloned();
    }
}

async fn log_groups(c: &RegionClients, lines: &mut Vec<String>) {
    let mut token = None;
    let mut groups = Vec::new();
    loop {
        let out = c
            .logs
            .describe_log_groups()
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        for g in out.log_groups() {
            let name = g.log_group_name().unwrap_or_default().to_owned();
            // The user's functions' own logs (the emulator makes them when a canary invokes one).
            if name.starts_with("/aws/lambda/") {
                continue;
            }
            lines.push(format!(
                "group {name} retention {:?}",
                g.retention_in_days()
            ));
            groups.push(name);
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    for g in groups {
        let out = c
            .logs
            .describe_subscription_filters()
            .log_group_name(&g)
            .send()
            .await
            .unwrap();
        for f in out.subscription_filters() {
            lines.push(format!(
                "filter {g} {} -> {}",
                f.filter_name().unwrap_or_default(),
                f.destination_arn().unwrap_or_default()
            ));
        }
    }
}

async fn buckets(c: &RegionClients, lines: &mut Vec<String>) {
    let out = c.s3.list_buckets().send().await.unwrap();
    for b in out.buckets() {
        let name = b.name().unwrap_or_default();
        lines.push(format!("bucket {name}"));
        let n =
            c.s3.get_bucket_notification_configuration()
                .bucket(name)
                .send()
                .await
                .unwrap();
        for t in n.topic_configurations() {
            lines.push(format!(
                "notification {name} {} -> {}",
                t.id().unwrap_or_default(),
                t.topic_arn()
            ));
        }
        for l in n.lambda_function_configurations() {
            lines.push(format!(
                "notification {name} {} -> {}",
                l.id().unwrap_or_default(),
                l.lambda_function_arn()
            ));
        }
    }
}

async fn topics(c: &RegionClients, lines: &mut Vec<String>) {
    let out = c.sns.list_topics().send().await.unwrap();
    for t in out.topics() {
        let arn = t.topic_arn().unwrap_or_default();
        lines.push(format!("topic {arn}"));
        let subs = c
            .sns
            .list_subscriptions_by_topic()
            .topic_arn(arn)
            .send()
            .await
            .unwrap();
        for s in subs.subscriptions() {
            lines.push(format!(
                "subscription {arn} {} {}",
                s.protocol().unwrap_or_default(),
                s.endpoint().unwrap_or_default()
            ));
        }
    }
}

async fn permissions(c: &RegionClients, lines: &mut Vec<String>) {
    let out = c.lambda.list_functions().send().await.unwrap();
    for f in out.functions() {
        let name = f.function_name().unwrap_or_default();
        let Ok(policy) = c.lambda.get_policy().function_name(name).send().await else {
            continue;
        };
        let doc: serde_json::Value =
            serde_json::from_str(policy.policy().unwrap_or("{}")).unwrap_or_default();
        // Statement ids of stack-made permissions are random: name each by what it lets in.
        for s in doc["Statement"].as_array().into_iter().flatten() {
            lines.push(format!(
                "permission {name} {} {}",
                s["Principal"], s["Condition"]
            ));
        }
    }
}
