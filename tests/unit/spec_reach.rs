//! Which accounts a pipeline's remote sources may reach: a group in another account than the
//! pipeline's must be allowed for its namespace by the operator's accounts file
//! (`namespaces.<ns>.sources`), and an account no role reaches is refused, each with the field
//! named, before any AWS call; groups in the pipeline's own account follow the tenancy rules.

use crate::common;

use common::spec;
use pitagora::names::PipelineId;
use pitagora::spec::reach::{outside, unreachable};
use pitagora::spec::{Accounts, Tenancy};

const A: &str = "111111111111";
const B: &str = "222222222222";
const C: &str = "333333333333";

/// team-b is built in A and may take `/b/` in B (eu-west-1, us-east-1); B and C are listed.
fn accounts() -> Accounts {
    let role = |id: &str| {
        format!("  - id: \"{id}\"\n    roleArn: arn:aws:iam::{id}:role/p\n    externalId: x-1\n")
    };
    Accounts::parse(&format!(
        "accounts:\n{}{}{}namespaces:\n  team-b:\n    account: \"{A}\"\n    sources:\n      - account: \"{B}\"\n        regions: [eu-west-1, us-east-1]\n        logGroupPrefixes: [/b/]\n",
        role(A),
        role(B),
        role(C)
    ))
    .unwrap()
}

fn remote(entries: &str) -> String {
    format!("region: eu-west-1\nsources:\n  remote:\n{entries}")
}

fn paths(errors: Vec<pitagora::spec::FieldError>) -> Vec<String> {
    errors.into_iter().map(|e| e.path).collect()
}

fn checked(accounts: Option<&Accounts>, namespace: &str, entries: &str) -> Vec<String> {
    let id = PipelineId::new(namespace, "p");
    let tenancy = Tenancy::default();
    paths(outside(
        Some(&tenancy),
        accounts,
        &id,
        &spec(&remote(entries)),
        None,
    ))
}

#[test]
fn remote_groups_in_other_accounts_are_allowed_or_refused_by_the_accounts_file_alone() {
    let file = accounts();
    let table: &[(&str, String, &[&str])] = &[
        (
            "allowed account, region and prefix (tenancy's /team-b/ does not apply)",
            format!("    - account: \"{B}\"\n      region: us-east-1\n      logGroups: [/b/app]\n"),
            &[],
        ),
        (
            "a prefix outside the allowed one",
            format!(
                "    - account: \"{B}\"\n      region: us-east-1\n      logGroups: [/b/app]\n      logGroupPrefixes: [/other/]\n"
            ),
            &["spec.sources.remote[0].logGroupPrefixes[0]"],
        ),
        (
            "a region the namespace is not given there",
            format!(
                "    - account: \"{B}\"\n      region: ap-south-1\n      logGroups: [/b/app]\n"
            ),
            &["spec.sources.remote[0].logGroups[0]"],
        ),
        (
            "a listed account the namespace is not given (its region defaults to the pipeline's)",
            format!(
                "    - account: \"{B}\"\n      logGroups: [/b/app]\n    - account: \"{C}\"\n      logGroups: [/b/app]\n"
            ),
            &["spec.sources.remote[1].logGroups[0]"],
        ),
        (
            "an account no role reaches, the pipeline's being known",
            "    - account: \"444444444444\"\n      logGroups: [/team-b/app]\n".to_owned(),
            &["spec.sources.remote[0].account"],
        ),
        (
            "the pipeline's own account in another region: tenancy's rules",
            format!(
                "    - account: \"{A}\"\n      region: us-east-1\n      logGroups: [/b/app, /team-b/app]\n"
            ),
            &["spec.sources.remote[0].logGroups[0]"],
        ),
    ];
    for (case, entries, want) in table {
        assert_eq!(checked(Some(&file), "team-b", entries), *want, "{case}");
    }
}

#[test]
fn a_refused_group_names_what_the_namespace_may_take_there() {
    let id = PipelineId::new("team-b", "p");
    let entries = format!(
        "    - account: \"{B}\"\n      logGroups: [/c/app]\n    - account: \"{C}\"\n      logGroups: [/c/app]\n"
    );
    let errors = outside(None, Some(&accounts()), &id, &spec(&remote(&entries)), None);
    assert!(
        errors[0].message.contains("only under /b/"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1]
            .message
            .contains("may not subscribe log groups of account 333333333333 in eu-west-1"),
        "{}",
        errors[1]
    );
    assert!(
        errors[1].message.contains("namespaces.team-b.sources"),
        "{}",
        errors[1]
    );
}

#[test]
fn without_an_accounts_file_another_account_is_refused_once_the_pipelines_is_known() {
    let entries = format!(
        "    - account: \"{B}\"\n      logGroups: [/team-b/app]\n    - region: us-east-1\n      logGroups: [/team-b/app]\n"
    );
    let spec = spec(&remote(&entries));
    // Offline the caller's account is unknown: B might be it.
    assert!(checked(None, "team-b", &entries).is_empty());
    let errors = unreachable(None, &spec, A);
    assert_eq!(paths(errors.clone()), ["spec.sources.remote[0].account"]);
    assert!(
        errors[0]
            .message
            .contains("list the account in the accounts file"),
        "{}",
        errors[0]
    );
    assert!(
        unreachable(None, &spec, B).is_empty(),
        "B is the caller's own"
    );
    assert!(
        unreachable(Some(&accounts()), &spec, A).is_empty(),
        "B is listed"
    );
}
