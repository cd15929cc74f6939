//! Validation against the grammars AWS documents (`spec::grammar`): Firehose's S3 prefix
//! expressions, CloudWatch Logs filter patterns, SNS filter policies, region codes, and one
//! subscription per function. Tables of values AWS accepts (after the examples of AWS's own
//! pages, in our own words and values) must validate; each value AWS refuses must be refused at
//! its field, once, with a message that says what is wrong and how to fix it.

use crate::common;

use pitagora::spec::{FieldError, LogPipelineSpec};
use serde_json::{Value, json};

const ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:f";

/// The minimal spec (one exact log group) with `changes` at dotted paths under `spec`.
fn spec_with(changes: &[(&str, Value)]) -> LogPipelineSpec {
    let mut doc = json!({"sources": {"logGroups": ["/ecs/orders"]}});
    for (dotted, value) in changes {
        let mut node = &mut doc;
        let keys: Vec<&str> = dotted.split('.').collect();
        for key in &keys[..keys.len() - 1] {
            if node.get(*key).is_none() {
                node[*key] = json!({});
            }
            node = &mut node[*key];
        }
        node[keys[keys.len() - 1]] = value.clone();
    }
    serde_json::from_value(doc).expect("test spec deserialises")
}

fn errors_with(changes: &[(&str, Value)]) -> Vec<FieldError> {
    common::validation_errors(&spec_with(changes))
}

fn assert_valid(changes: &[(&str, Value)]) {
    let errors = errors_with(changes);
    assert!(
        errors.is_empty(),
        "{changes:?} should be valid: {errors:#?}"
    );
}

/// The single error of the spec with `changes`, which must be at `path` and say each of `says`.
fn assert_refused(changes: &[(&str, Value)], path: &str, says: &[&str]) {
    let errors = errors_with(changes);
    assert_eq!(errors.len(), 1, "{changes:?}: {errors:#?}");
    let e = &errors[0];
    assert_eq!(e.path, path, "{changes:?}: {e}");
    for part in says {
        assert!(
            e.message.contains(part),
            "{changes:?}: {e:?} lacks {part:?}"
        );
    }
}

// ---- Firehose S3 prefixes ----------------------------------------------------------------------

#[test]
fn prefixes_firehose_documents_are_accepted() {
    for (prefix, error) in [
        ("raw/", "errors/"),
        ("logs", "failed"),
        (
            "logs/year=!{timestamp:yyyy}/month=!{timestamp:MM}/day=!{timestamp:dd}/hour=!{timestamp:HH}/",
            "failed/!{timestamp:'year='yyyy'/month='MM'/day='dd'/hour='HH}/!{firehose:error-output-type}",
        ),
        (
            "logs/delivered=!{timestamp:yyyy}/any/rand=!{firehose:random-string}",
            "failed/!{firehose:error-output-type}/!{timestamp:yyyy}/any/!{timestamp:dd}",
        ),
        (
            "logs/!{firehose:random-string}/",
            "failed/!{firehose:error-output-type}/",
        ),
        ("raw/", "failed/!{firehose:error-output-type}/"),
    ] {
        assert_valid(&[
            ("delivery.prefix", json!(prefix)),
            ("delivery.errorOutputPrefix", json!(error)),
        ]);
    }
}

#[test]
fn malformed_delivery_prefixes_are_refused_at_the_prefix() {
    let error_type = json!("failed/!{firehose:error-output-type}/");
    for (prefix, says) in [
        ("logs/!{timestamp:yyyy/", &["never closed"][..]),
        (
            "logs/!{timestamp:!{firehose:random-string}}/",
            &["does not nest"][..],
        ),
        (
            "logs/!{partitionKeyFromQuery:customer}/",
            &["dynamic partitioning", "does not configure"][..],
        ),
        (
            "logs/!{partitionKeyFromLambda:id}/",
            &["dynamic partitioning"][..],
        ),
        ("logs/!{time:yyyy}/", &["unknown namespace \"time\""][..]),
        ("logs/!{yyyy}/", &["names no namespace"][..]),
        (
            "logs/!{firehose:error-output-type}/",
            &["error prefix only", "remove it"][..],
        ),
        ("logs/!{firehose:uuid}/", &["random-string"][..]),
        (
            "logs/!{timestamp:yyyy-MM-ddTHH}/",
            &["!{timestamp:yyyy-MM-ddTHH}", "'T'", "single quotes"][..],
        ),
        ("logs/!{timestamp:dddd}/", &["4 × 'd'", "1 or 2"][..]),
        ("logs/!{timestamp:'year=yyyy}/", &["never closed"][..]),
        ("logs/!{timestamp:}/", &["empty"][..]),
    ] {
        assert_refused(
            &[
                ("delivery.prefix", json!(prefix)),
                ("delivery.errorOutputPrefix", error_type.clone()),
            ],
            "spec.delivery.prefix",
            says,
        );
    }
}

#[test]
fn an_error_prefix_with_expressions_but_no_error_type_is_refused() {
    assert_refused(
        &[(
            "delivery.errorOutputPrefix",
            json!("failed/!{timestamp:yyyy}/"),
        )],
        "spec.delivery.errorOutputPrefix",
        &["!{firehose:error-output-type}", "add it"],
    );
}

#[test]
fn an_unknown_firehose_value_in_the_error_prefix_is_refused_there() {
    assert_refused(
        &[(
            "delivery.errorOutputPrefix",
            json!("failed/!{firehose:error-type}/"),
        )],
        "spec.delivery.errorOutputPrefix",
        &["!{firehose:error-type}", "error-output-type"],
    );
}

#[test]
fn a_hive_prefix_with_a_malformed_expression_is_refused_once_for_the_grammar() {
    assert_refused(
        &[
            ("delivery.layout", json!("Hive")),
            ("delivery.prefix", json!("raw/!{timestamp:yyyy")),
        ],
        "spec.delivery.prefix",
        &["never closed"],
    );
}

#[test]
fn a_transform_output_prefix_with_expressions_is_refused() {
    assert_refused(
        &[(
            "transform",
            json!({"lambdaArn": ARN, "outputPrefix": "processed/!{timestamp:yyyy}/"}),
        )],
        "spec.transform.outputPrefix",
        &["literal S3 key prefix", "remove them"],
    );
}

// ---- CloudWatch Logs filter patterns -----------------------------------------------------------

#[test]
fn filter_patterns_cloudwatch_logs_documents_are_accepted() {
    for pattern in [
        "",
        "ERROR",
        "ERROR Exception",
        "\"Failed to reach the database\"",
        "?ERROR ?WARN",
        "ERROR -timeout",
        "\"quoted \\\"inner\\\" text\"",
        "%AUTHORIZED%",
        "%[Ee]rror|[Ff]ail%",
        "%\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}%",
        "{ $.eventType = \"UpdateTrail\" }",
        "{ $.sourceIPAddress != 10.0.* }",
        "{ $.items[0] = \"first\" }",
        "{ $.orders[1].id = 7 }",
        "{ $.parent IS NULL }",
        "{ $.missing NOT EXISTS }",
        "{ $.enabled IS TRUE }",
        "{$.level=\"error\"}",
        "{ ($.user.id = 1) && ($.users[0].email = \"ops@example.com\") }",
        "{ ($.user.id = 2 && $.users[0].email = \"none\") || $.verbs[2] = \"GET\" }",
        "{ $.user.email = \"ops@example.com\" || $.grid[0][1] = none && $.verbs[2] = none }",
        "{ $.latency >= 500 }",
        "{ $.samples[0] < 10e-3 }",
        "{ $.latency > +1000 }",
        "{ $.message = %time.*out% }",
        "[ip, user, username, timestamp, request, status_code, bytes]",
        "[..., status_code, bytes]",
        "[ip, user, ..., status_code = 4* && bytes > 1000]",
        "[ip, user, username, timestamp, request = *html*, status_code = 4*, bytes]",
        "[..., request=*.html*, status_code=4*,]",
        "[w1=ERROR || w1=WARN, w2]",
        "[w1=%ERR.*%, w2]",
        "[\"quoted [field]\", rest]",
    ] {
        assert_valid(&[("sources.filterPattern", json!(pattern))]);
    }
}

#[test]
fn malformed_filter_patterns_are_refused_saying_where() {
    for (pattern, says) in [
        (
            "\"ERROR",
            &["double quote at character 1", "never closed"][..],
        ),
        (
            "ERROR (timeout",
            &["'(' at character 7", "never closed"][..],
        ),
        (
            "ERROR timeout)",
            &["')' at character 14", "closes nothing"][..],
        ),
        (
            "{ $.level = \"error\"",
            &["'{' at character 1", "never closed"][..],
        ),
        ("{ $.a = 1 ]", &["does not match the '{'"][..]),
        ("[ip, user", &["'[' at character 1"][..]),
        (
            "{ $.a = 1 } extra",
            &["JSON pattern ends", "text follows"][..],
        ),
        ("[ip, user] extra", &["space-delimited pattern ends"][..]),
        ("{ $.a = {x} }", &["inside a JSON pattern"][..]),
        ("[ip, [user]]", &["inside a space-delimited pattern"][..]),
        ("{ }", &["holds no condition"][..]),
        (
            "{ level = \"error\" }",
            &["\"level\"", "property selector"][..],
        ),
        ("{ $.a = 1 && }", &["'&&'", "both sides"][..]),
        ("{ || $.a = 1 }", &["'||'", "both sides"][..]),
        ("{ ($.a = 1) $.b = 2 }", &["joined with && or ||"][..]),
        ("{ () }", &["parentheses", "no condition"][..]),
        ("%foo(bar)%", &["'('", "no subpatterns"][..]),
        ("%foo!%", &["'!'", "does not support"][..]),
        ("%café%", &["multi-byte"][..]),
        ("%unclosed", &["'%' at character 1", "never closed"][..]),
        (
            "{ $.a = %x% || $.b = %y% || $.c = %z% }",
            &["3 regular expressions", "at most 2"][..],
        ),
    ] {
        assert_refused(
            &[("sources.filterPattern", json!(pattern))],
            "spec.sources.filterPattern",
            says,
        );
    }
}

// ---- SNS filter policies -----------------------------------------------------------------------

fn with_policy(policy: Value) -> Vec<(&'static str, Value)> {
    vec![(
        "fanout",
        json!({"subscribers": [{"name": "es", "lambdaArn": ARN, "filterPolicy": policy}]}),
    )]
}

#[test]
fn filter_policies_sns_documents_are_accepted() {
    let values = |n: usize| -> Vec<String> { (0..n).map(|i| format!("v{i}")).collect() };
    for policy in [
        json!({"store": ["example_corp"], "event": [{"anything-but": "order_cancelled"}], "interests": ["rugby", "football", "baseball"], "price": [{"numeric": [">=", 100]}]}),
        json!({"Records": {"s3": {"object": {"key": [{"prefix": "processed/alerts/"}]}}}}),
        json!({"key": [{"suffix": ".gz"}]}),
        json!({"key": [{"equals-ignore-case": "Alert"}]}),
        json!({"source_ip": [{"cidr": "10.0.0.0/24"}]}),
        json!({"source_ip": [{"cidr": "2001:db8::/32"}]}),
        json!({"price": [{"numeric": ["=", 301.5]}]}),
        json!({"price": [{"numeric": [">", 0, "<=", 150]}]}),
        json!({"price": [{"anything-but": [100, 500]}]}),
        json!({"event": [{"anything-but": {"prefix": "order-"}}]}),
        json!({"store": [{"exists": true}], "gone": [{"exists": false}]}),
        json!({"flag": [true, false, null]}),
        json!({"source": ["aws.cloudwatch"], "$or": [{"metric": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}),
        json!({"a": ["1"], "b": ["2"], "c": ["3"], "d": ["4"], "e": ["5"]}),
        // With the MessageBody scope only the top-level keys count.
        json!({"Records": {"a": ["1"], "b": ["2"], "c": ["3"], "d": ["4"], "e": ["5"], "f": ["6"]}}),
        json!({"a": values(10), "b": values(15)}),
        json!({"limits": [1_000_000_000, -1_000_000_000, 0.12345]}),
    ] {
        assert_valid(&with_policy(policy));
    }
}

#[test]
fn filter_policies_sns_refuses_are_refused_saying_where_and_why() {
    let values = |n: usize| -> Vec<String> { (0..n).map(|i| format!("v{i}")).collect() };
    for (policy, says) in [
        (
            json!({"a": ["1"], "b": ["2"], "c": ["3"], "d": ["4"], "e": ["5"], "f": ["6"]}),
            &["6 top-level keys", "at most 5"][..],
        ),
        (
            json!({"a": values(2), "b": values(76)}),
            &["152 combinations", "at most 150"][..],
        ),
        (
            json!({"price": [1_000_000_001]}),
            &["at price[0]", "1000000001", "-1000000000 to 1000000000"][..],
        ),
        (
            json!({"price": [{"numeric": [">", -2e9]}]}),
            &["at price[0]", "numeric range"][..],
        ),
        (
            json!({"price": [1.123456]}),
            &["1.123456", "5 digits after the decimal point"][..],
        ),
        (
            json!({"key": [{"regex": "a.*"}]}),
            &["at key[0]", "\"regex\" is not an SNS operator"][..],
        ),
        (
            json!({"Records": {"key": [{"nested": ["x"]}]}}),
            &["at Records.key[0]", "attributes nest outside lists"][..],
        ),
        (
            json!({"key": [{"prefix": "a", "suffix": "b"}]}),
            &["exactly one operator"][..],
        ),
        (
            json!({"key": [{"prefix": 5}]}),
            &["\"prefix\" takes a string"][..],
        ),
        (
            json!({"key": [{"numeric": 5}]}),
            &["\"numeric\" takes [operator, number]"][..],
        ),
        (
            json!({"key": [{"numeric": ["~", 5]}]}),
            &["\"numeric\" takes"][..],
        ),
        (
            json!({"key": [{"numeric": ["<", 5, ">", 1]}]}),
            &["a range such as [\">\", 0, \"<=\", 150]"][..],
        ),
        (
            json!({"key": [{"exists": "yes"}]}),
            &["\"exists\" takes true or false"][..],
        ),
        (
            json!({"key": [{"cidr": "10.0.0.0/33"}]}),
            &["CIDR notation"][..],
        ),
        (
            json!({"key": [{"anything-but": []}]}),
            &["\"anything-but\" takes"][..],
        ),
        (json!({"key": [["a"]]}), &["at key[0]", "not a list"][..]),
        (
            json!({"$or": [{"a": ["x"]}]}),
            &["at $or[0]", "at least two objects"][..],
        ),
        (
            json!({"$or": [{"a": ["x"]}, {}]}),
            &["at $or[1]", "alternative of $or"][..],
        ),
    ] {
        assert_refused(
            &with_policy(policy.clone()),
            "spec.fanout.subscribers[0].filterPolicy",
            says,
        );
    }
}

#[test]
fn every_problem_of_a_filter_policy_is_reported() {
    let errors = errors_with(&with_policy(json!({"a": [{"regex": "x"}], "b": [2e9]})));
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert!(
        errors
            .iter()
            .all(|e| e.path == "spec.fanout.subscribers[0].filterPolicy")
    );
}

// ---- one subscription per function -------------------------------------------------------------

#[test]
fn a_function_subscribed_twice_is_refused_at_its_second_subscriber() {
    let other = "arn:aws:lambda:eu-west-1:123456789012:function:other";
    assert_refused(
        &[(
            "fanout",
            json!({"subscribers": [
                {"name": "es", "lambdaArn": ARN},
                {"name": "slack", "lambdaArn": other},
                {"name": "alerts", "lambdaArn": ARN, "filterPolicy": {"level": ["error"]}},
            ]}),
        )],
        "spec.fanout.subscribers[2].lambdaArn",
        &[
            "already subscribed as spec.fanout.subscribers[0] (\"es\")",
            "one subscription per function",
            "merge them",
        ],
    );
}

#[test]
fn versions_and_aliases_of_one_function_are_separate_endpoints() {
    assert_valid(&[(
        "fanout",
        json!({"subscribers": [
            {"name": "es", "lambdaArn": ARN},
            {"name": "es-prod", "lambdaArn": format!("{ARN}:prod")},
            {"name": "es-v7", "lambdaArn": format!("{ARN}:7")},
        ]}),
    )]);
}

// ---- regions -----------------------------------------------------------------------------------

#[test]
fn a_region_aws_does_not_offer_is_refused_with_the_nearest_one() {
    assert_refused(
        &[("region", json!("eu-wset-1"))],
        "spec.region",
        &[
            "not a region AWS offers",
            "did you mean \"eu-west-1\"",
            "upgrade pitagora",
        ],
    );
}

#[test]
fn an_unknown_region_without_a_near_one_is_refused_without_a_guess() {
    let errors = errors_with(&[("region", json!("xx-nowhere-1"))]);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(!errors[0].message.contains("did you mean"), "{}", errors[0]);
}

#[test]
fn functions_are_not_compared_with_an_unknown_region() {
    // Only the region is wrong: the function's region is not reported as another one.
    assert_refused(
        &[
            ("region", json!("eu-wset-1")),
            ("transform", json!({"lambdaArn": ARN})),
        ],
        "spec.region",
        &["eu-west-1"],
    );
}

#[test]
fn regions_of_the_three_main_partitions_are_accepted() {
    for region in [
        "eu-west-1",
        "ap-southeast-7",
        "mx-central-1",
        "cn-northwest-1",
        "us-gov-east-1",
    ] {
        assert_valid(&[("region", json!(region))]);
    }
}
