use super::*;

fn scope<'a>(logs: &'a [String], functions: &'a [String]) -> Scope<'a> {
    Scope {
        partition: "aws",
        account: "*",
        trusted_account: "111122223333",
        log_group_prefixes: logs,
        function_prefixes: functions,
    }
}

fn resources_of(policy: &Value, sid: &str) -> Vec<String> {
    let s = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
        .unwrap_or_else(|| panic!("no {sid}"));
    serde_json::from_value(s["Resource"].clone()).unwrap()
}

#[test]
fn filters_reach_the_configured_prefixes_and_the_canary_root() {
    let logs = ["/ecs/team-a/".to_owned(), "/ecs/team-b/".to_owned()];
    let p = controller_policy(&scope(&logs, &[]));
    assert_eq!(
        resources_of(&p, "EngineWritesFilters"),
        [
            "arn:aws:logs:*:*:log-group:/ecs/team-a/*",
            "arn:aws:logs:*:*:log-group:/ecs/team-b/*",
            "arn:aws:logs:*:*:log-group:/pitagora/canary/pitagora-*",
            "arn:aws:logs:*:*:log-group:/ecs/team-a/pitagora-*-canary",
            "arn:aws:logs:*:*:log-group:/ecs/team-b/pitagora-*-canary",
        ]
    );
}

#[test]
fn no_prefix_list_means_every_log_group_and_function() {
    for given in [vec![], vec!["*".to_owned()]] {
        let p = controller_policy(&scope(&given, &given));
        assert!(
            resources_of(&p, "EngineWritesFilters")
                .contains(&"arn:aws:logs:*:*:log-group:*".to_owned())
        );
        assert_eq!(
            resources_of(&p, "EngineWritesPermissions"),
            ["arn:aws:lambda:*:*:function:*"]
        );
    }
}

#[test]
fn the_pipeline_roles_pattern_leaves_the_service_role_out() {
    let roles = scope(&[], &[]).pipeline_roles();
    let service = format!("arn:aws:iam::*:role{ROLE_PATH}{CLOUDFORMATION_ROLE}");
    assert!(roles.iter().all(|r| !glob_match(r, &service)), "{roles:?}");
    assert!(glob_match(
        &roles[0],
        "arn:aws:iam::*:role/pitagora/pitagora-a-b-1234abcd-delivery"
    ));
}

/// Whether `text` matches `pattern`, `*` standing for any run of characters, as in IAM.
fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            text.starts_with(head)
                && (head.len()..=text.len()).any(|i| glob_match(tail, &text[i..]))
        }
    }
}

#[test]
fn the_template_substitutes_the_account_and_partition() {
    let t = install_template(&[], &[]);
    let trust = &t["Resources"]["CloudFormationRole"]["Properties"]["AssumeRolePolicyDocument"];
    assert_eq!(
        trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"],
        json!({"Fn::Sub": "${AWS::AccountId}"})
    );
    let stacks = &t["Resources"]["ControllerPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        [1]["Resource"][0];
    assert_eq!(
        *stacks,
        json!({"Fn::Sub": "arn:${AWS::Partition}:cloudformation:*:${AWS::AccountId}:stack/pitagora-*/*"})
    );
}
