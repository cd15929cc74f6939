//! The source account's policy (`iam-policies source-account-policy`), enforced on a moto server
//! of its own (see `iam.rs`): a user holding exactly it puts and deletes pitagora's filter on a
//! group under an allowed prefix, reads groups and filters, creates and writes a canary log
//! group by pitagora's names; every other write (a filter on another group, a group that is not
//! a canary, a destination) is denied. It reads the events of the allowed groups (the audit),
//! no other group's.

use super::iam::{ACCOUNT, Clients, OwnMoto, is_denied, user};
use aws_sdk_s3::error::ProvideErrorMetadata;
use common::REGION;
use pitagora::spec::Accounts;

use crate::common;

const ALLOWED: &str = "/x/app";
const OUTSIDE: &str = "/other/app";
const DESTINATION: &str = "pitagora-team-x-orders-0123abcd-eu-west-1";

/// The policy of [`ACCOUNT`] as a source of `/x/` in [`REGION`].
fn policy() -> String {
    let text = format!(
        "accounts:\n  - id: \"{ACCOUNT}\"\n    roleArn: arn:aws:iam::{ACCOUNT}:role/pitagora/source\n    externalId: ext-1\nnamespaces:\n  team-x:\n    sources:\n      - account: \"{ACCOUNT}\"\n        regions: [{REGION}]\n        logGroupPrefixes: [/x/]\n"
    );
    let accounts = Accounts::parse(&text).unwrap();
    let allowances = &accounts.sources_by_account()[ACCOUNT];
    let document =
        pitagora::desired::iam_policies::source_account_policy("aws", ACCOUNT, allowances);
    document.to_string()
}

fn code<T, E: ProvideErrorMetadata>(r: Result<T, E>) -> Option<String> {
    r.err().map(|e| e.code().unwrap_or("no code").to_owned())
}

async fn put_filter(c: &Clients, group: &str) -> Option<String> {
    let arn = format!("arn:aws:logs:{REGION}:{ACCOUNT}:destination:{DESTINATION}");
    code(
        (c.logs.put_subscription_filter())
            .log_group_name(group)
            .filter_name("pitagora-team-x-orders-0123abcd")
            .filter_pattern("")
            .destination_arn(arn)
            .send()
            .await,
    )
}

async fn create_group(c: &Clients, group: &str) -> Option<String> {
    code(c.logs.create_log_group().log_group_name(group).send().await)
}

#[tokio::test]
async fn the_source_accounts_policy_writes_pitagoras_filters_and_canaries_and_nothing_else() {
    let moto = OwnMoto::start("aws-iam-source-account");
    let root = moto.root().await;
    for group in [ALLOWED, OUTSIDE] {
        assert_eq!(create_group(&root, group).await, None);
    }
    (root.logs.put_destination())
        .destination_name(DESTINATION)
        .target_arn(format!(
            "arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/pitagora-team-x-orders-0123abcd"
        ))
        .role_arn(format!("arn:aws:iam::{ACCOUNT}:role/pitagora/logs"))
        .send()
        .await
        .unwrap();
    let key = user(&root, "source", &policy()).await;
    moto.enforce();
    let source = Clients::new(&moto.endpoint, &key).await;

    let listed = source
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/x/");
    assert_eq!(code(listed.send().await), None);
    assert_eq!(put_filter(&source, ALLOWED).await, None);
    let filters = source
        .logs
        .describe_subscription_filters()
        .log_group_name(ALLOWED);
    assert_eq!(code(filters.send().await), None);
    let deleted = (source.logs.delete_subscription_filter())
        .log_group_name(ALLOWED)
        .filter_name("pitagora-team-x-orders-0123abcd")
        .send()
        .await;
    assert_eq!(code(deleted), None);
    for canary in [
        "/pitagora/canary/pitagora-team-x-orders-0123abcd",
        "/x/pitagora-team-x-orders-0123abcd-canary",
    ] {
        assert_eq!(create_group(&source, canary).await, None, "{canary}");
        let stream = (source.logs.create_log_stream())
            .log_group_name(canary)
            .log_stream_name("canary");
        assert_eq!(code(stream.send().await), None, "{canary}");
    }

    assert!(is_denied(&put_filter(&source, OUTSIDE).await));
    for group in ["/x/app2", "/other/pitagora-team-x-orders-0123abcd-canary"] {
        assert!(is_denied(&create_group(&source, group).await), "{group}");
    }
    let destination = (source.logs.delete_destination())
        .destination_name(DESTINATION)
        .send()
        .await;
    assert!(is_denied(&code(destination)));
}

#[tokio::test]
async fn the_source_accounts_policy_reads_the_events_of_the_allowed_groups_only() {
    let moto = OwnMoto::start("aws-iam-source-account-events");
    let root = moto.root().await;
    for group in [ALLOWED, OUTSIDE] {
        assert_eq!(create_group(&root, group).await, None);
    }
    let key = user(&root, "source", &policy()).await;
    moto.enforce();
    let source = Clients::new(&moto.endpoint, &key).await;
    let events = |group: &'static str| source.logs.filter_log_events().log_group_name(group);

    assert_eq!(code(events(ALLOWED).send().await), None);
    assert!(is_denied(&code(events(OUTSIDE).send().await)));
}
