//! The accounts file (`--accounts`): which account each namespace's pipelines are built in, the
//! role pitagora assumes there, and which other accounts' log groups a namespace may take.

use pitagora::spec::{Accounts, AccountsError};

const ROLE_B: &str = "arn:aws:iam::111111111111:role/pitagora/pitagora-access";

const FILE: &str = r#"accounts:
  - id: "111111111111"
    name: log-archive
    roleArn: arn:aws:iam::111111111111:role/pitagora/pitagora-access
    externalId: pitagora-prod-cluster
  - id: "222222222222"
    roleArn: arn:aws:iam::222222222222:role/pitagora-access
    externalId: "cluster:prod/eu=1"
namespaces:
  team-a:
    account: "111111111111"
    sources:
      - account: "222222222222"
        regions: [eu-west-1, us-east-1]
        logGroupPrefixes: [/team-a/]
      - regions: [us-west-2]
        logGroupPrefixes: [/own/]
  team-b: {}
  "*":
    account: "222222222222"
"#;

fn file() -> Accounts {
    Accounts::parse(FILE).unwrap()
}

/// The field path and the message of the error `yaml` gives.
fn refusal(yaml: &str) -> (String, String) {
    match Accounts::parse(yaml) {
        Err(AccountsError::Invalid(e)) => (e.path, e.message),
        other => panic!("expected a field error, got {other:?}"),
    }
}

fn one_account(field: &str, value: &str) -> String {
    let mut role = vec![
        ("id", "\"111111111111\"".to_owned()),
        ("roleArn", ROLE_B.to_owned()),
        ("externalId", "pitagora".to_owned()),
    ];
    for (f, v) in &mut role {
        if *f == field {
            *v = value.to_owned();
        }
    }
    let body: Vec<String> = role.iter().map(|(f, v)| format!("{f}: {v}")).collect();
    format!("accounts:\n  - {}\n", body.join("\n    "))
}

#[test]
fn a_namespace_acts_through_its_accounts_role() {
    let accounts = file();
    let role = accounts.role_for("team-a").unwrap();
    assert_eq!(
        (role.role_arn.as_str(), role.external_id.as_str()),
        (ROLE_B, "pitagora-prod-cluster")
    );
    assert_eq!(role.label(), "log-archive (111111111111)");
}

#[test]
fn a_namespace_without_an_account_uses_the_controllers_own_credentials() {
    assert_eq!(file().role_for("team-b"), None);
}

#[test]
fn a_namespace_the_file_does_not_name_takes_the_every_namespace_entry() {
    let accounts = file();
    assert_eq!(
        accounts.role_for("team-z").unwrap().account_id,
        "222222222222"
    );
    assert_eq!(accounts.role_for("team-z").unwrap().label(), "222222222222");
}

#[test]
fn no_file_and_an_empty_file_map_nothing() {
    for accounts in [Accounts::default(), Accounts::parse("{}").unwrap()] {
        assert_eq!(accounts.role_for("team-a"), None);
        assert!(!accounts.source_allowed("team-a", None, "eu-west-1", "/team-a/x"));
    }
}

#[test]
fn sources_are_allowed_only_by_account_region_and_prefix() {
    let accounts = file();
    let b = Some("222222222222");
    for (namespace, account, region, group, allowed) in [
        ("team-a", b, "eu-west-1", "/team-a/api", true),
        ("team-a", b, "us-east-1", "/team-a/", true),
        ("team-a", b, "eu-west-2", "/team-a/api", false),
        ("team-a", b, "eu-west-1", "/team-b/api", false),
        (
            "team-a",
            Some("111111111111"),
            "eu-west-1",
            "/team-a/api",
            false,
        ),
        ("team-a", None, "us-west-2", "/own/x", true),
        ("team-a", None, "eu-west-1", "/own/x", false),
        ("team-b", b, "eu-west-1", "/team-a/api", false),
        ("team-z", b, "eu-west-1", "/team-a/api", false),
    ] {
        assert_eq!(
            accounts.source_allowed(namespace, account, region, group),
            allowed,
            "{namespace} {account:?} {region} {group}"
        );
    }
}

#[test]
fn a_bad_account_entry_is_refused_naming_the_field() {
    for (field, value, path, says) in [
        ("id", "\"11111111111\"", "accounts[0].id", "12-digit"),
        ("id", "\"11111111111x\"", "accounts[0].id", "12-digit"),
        (
            "roleArn",
            "arn:aws:iam::111111111111:user/u",
            "accounts[0].roleArn",
            "role ARN",
        ),
        (
            "roleArn",
            "arn:aws:iam::333333333333:role/r",
            "accounts[0].roleArn",
            "belongs to account 333333333333",
        ),
        ("externalId", "x", "accounts[0].externalId", "2 to 1224"),
        (
            "externalId",
            "\"has space\"",
            "accounts[0].externalId",
            "_+=,.@:/-",
        ),
        (
            "externalId",
            "\"semi;colon\"",
            "accounts[0].externalId",
            "_+=,.@:/-",
        ),
    ] {
        let (p, message) = refusal(&one_account(field, value));
        assert_eq!(p, path, "{field}={value}");
        assert!(message.contains(says), "{field}={value}: {message}");
    }
}

#[test]
fn external_ids_of_every_character_sts_accepts_and_its_longest_length_are_accepted() {
    for id in ["ab", "a_b+c=d,e.f@g:h/i-j", &"x".repeat(1224)] {
        assert!(
            Accounts::parse(&one_account("externalId", &format!("\"{id}\""))).is_ok(),
            "{id}"
        );
    }
    assert!(Accounts::parse(&one_account("externalId", &"x".repeat(1225))).is_err());
}

#[test]
fn an_account_listed_twice_is_refused() {
    let twice = format!(
        "{}  - id: \"111111111111\"\n    roleArn: {ROLE_B}\n    externalId: other\n",
        one_account("", "")
    );
    assert_eq!(refusal(&twice).0, "accounts[1].id");
}

#[test]
fn a_namespace_or_source_naming_an_unlisted_account_is_refused_with_the_fix() {
    for (namespaces, path, says) in [
        (
            "team-a:\n    account: \"999999999999\"",
            "namespaces.team-a.account",
            "not listed",
        ),
        (
            "team-a:\n    account: prod",
            "namespaces.team-a.account",
            "12-digit",
        ),
        (
            "team-a:\n    sources:\n      - account: \"999999999999\"\n        regions: [eu-west-1]\n        logGroupPrefixes: [/a/]",
            "namespaces.team-a.sources[0].account",
            "omit the field for the controller's own account",
        ),
    ] {
        let (p, message) = refusal(&format!("namespaces:\n  {namespaces}\n"));
        assert_eq!(p, path);
        assert!(message.contains(says), "{message}");
    }
}

#[test]
fn a_source_with_a_bad_region_or_prefix_is_refused_naming_the_field() {
    for (regions, prefixes, path, says) in [
        (
            "[eu-wset-1]",
            "[/a/]",
            "regions[0]",
            "did you mean \"eu-west-1\"",
        ),
        ("[Europe]", "[/a/]", "regions[0]", "not an AWS region code"),
        ("[]", "[/a/]", "regions", "at least one region"),
        (
            "[eu-west-1]",
            "[/a/, /]",
            "logGroupPrefixes[1]",
            "allows every log group",
        ),
        (
            "[eu-west-1]",
            "[\"\"]",
            "logGroupPrefixes[0]",
            "allows every log group",
        ),
        ("[eu-west-1]", "[]", "logGroupPrefixes", "at least one"),
    ] {
        let yaml = format!(
            "namespaces:\n  team-a:\n    sources:\n      - regions: {regions}\n        logGroupPrefixes: {prefixes}\n"
        );
        let (p, message) = refusal(&yaml);
        assert_eq!(p, format!("namespaces.team-a.sources[0].{path}"), "{yaml}");
        assert!(message.contains(says), "{message}");
    }
}

#[test]
fn unknown_fields_are_refused_as_not_the_files_shape() {
    for yaml in [
        "accounts:\n  - id: \"111111111111\"\n    roleArn: r\n    externalId: ab\n    region: eu-west-1\n",
        "namespaces:\n  team-a:\n    acount: \"111111111111\"\n",
        "acounts: []\n",
    ] {
        assert!(
            matches!(Accounts::parse(yaml), Err(AccountsError::Shape(_))),
            "{yaml}"
        );
    }
}

#[test]
fn the_places_a_cli_discovers_in_are_those_the_file_allows_the_namespace() {
    use pitagora::read::Discovery;
    const HOME: &str = "999999999999";
    let mapped = Discovery::of(Some(&file()), "team-a", "111111111111");
    let places: Vec<(&str, &[String])> = (mapped.prefixes.iter())
        .map(|(place, prefixes)| (place.as_str(), prefixes.as_slice()))
        .collect();
    let team_a = ["/team-a/".to_owned()];
    // A source without an account is the controller's own: not team-a's account, so skipped.
    assert_eq!(
        places,
        [
            ("222222222222/eu-west-1", &team_a[..]),
            ("222222222222/us-east-1", &team_a[..]),
        ]
    );
    assert_eq!(
        mapped.regions.iter().collect::<Vec<_>>(),
        ["eu-west-1", "us-east-1"]
    );
    let own = "accounts: []\nnamespaces:\n  team-c:\n    sources:\n      - regions: [us-west-2]\n        logGroupPrefixes: [/c/]\n";
    let at_home = Discovery::of(Some(&Accounts::parse(own).unwrap()), "team-c", HOME);
    let keys: Vec<&String> = at_home.prefixes.keys().collect();
    assert_eq!(
        keys,
        [&format!("{HOME}/us-west-2")],
        "the pipeline's own account"
    );
    assert_eq!(Discovery::of(None, "team-a", HOME), Discovery::default());
}
