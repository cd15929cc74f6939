//! The desired state of remote sources (`spec.sources.remote`): one CloudWatch Logs destination
//! per source region in the pipeline's account, targeting its stream with its logs role and a
//! policy allowing exactly that region's source accounts; per account and region, the filter
//! naming the destination and no role; the logs role trusting CloudWatch Logs for each source.

use crate::common;

use common::{ACCOUNT, REGION, desired, spec};
use pitagora::desired::{Desired, RemoteSpec, SUBSCRIBE_ACTION};
use serde_json::{Value, json};

const OTHER: &str = "222222222222";
const THIRD: &str = "333333333333";

/// A pipeline in [`REGION`] of [`ACCOUNT`] with `/ecs/orders` and these remote sources.
fn with_remote(remote: &str) -> Desired {
    desired(&spec(&format!(
        "sources:\n  logGroups: [/ecs/orders]\n  filterPattern: ERROR\n  distribution: Random\n  remote:\n{remote}"
    )))
}

fn logs_trust(d: &Desired) -> &Value {
    &d.stack.template["Resources"]["LogsRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        [0]
}

#[test]
fn a_pipeline_without_remote_sources_has_no_destination_and_its_logs_role_trust_is_unchanged() {
    let d = desired(&common::minimal_spec());
    assert!(d.destinations.is_empty() && d.remote.is_empty());
    let trust = logs_trust(&d);
    assert_eq!(
        trust["Principal"]["Service"],
        json!(format!("logs.{REGION}.amazonaws.com"))
    );
    assert_eq!(
        trust["Condition"]["StringLike"]["aws:SourceArn"],
        json!(format!("arn:aws:logs:{REGION}:{ACCOUNT}:*"))
    );
}

#[test]
fn each_source_region_has_one_destination_in_the_pipelines_account_targeting_its_stream() {
    let d = with_remote(&format!(
        "    - {{region: us-east-1, logGroups: [/a]}}\n    - {{account: \"{OTHER}\", region: us-east-1, logGroups: [/b]}}\n    - {{account: \"{OTHER}\", logGroups: [/c]}}\n"
    ));
    let regions: Vec<&str> = d.destinations.iter().map(|x| x.region.as_str()).collect();
    assert_eq!(regions, ["eu-west-1", "us-east-1"]);
    for dest in &d.destinations {
        let name = format!("{}-{}", d.names.stream, dest.region);
        assert_eq!(dest.destination.name, name);
        assert_eq!(
            dest.arn,
            format!("arn:aws:logs:{}:{ACCOUNT}:destination:{name}", dest.region)
        );
        assert_eq!(dest.destination.target_arn, d.stream.arn);
        assert_eq!(
            dest.destination.role_arn,
            format!("arn:aws:iam::{ACCOUNT}:role/pitagora/{}", d.names.logs_role)
        );
        assert_eq!(dest.tags, d.tags);
    }
}

#[test]
fn a_destination_policy_allows_exactly_the_source_accounts_of_its_region() {
    let d = with_remote(&format!(
        "    - {{region: us-east-1, logGroups: [/a]}}\n    - {{account: \"{THIRD}\", region: us-east-1, logGroups: [/b]}}\n    - {{account: \"{OTHER}\", logGroups: [/c]}}\n"
    ));
    let cases = [
        ("us-east-1", json!([ACCOUNT, THIRD])),
        ("eu-west-1", json!([OTHER])),
    ];
    for (region, accounts) in cases {
        let dest = d.destinations.iter().find(|x| x.region == region).unwrap();
        let policy = dest.destination.access_policy.as_ref().unwrap();
        let statements = policy["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1, "{region}: {policy}");
        let s = &statements[0];
        assert_eq!(s["Effect"], "Allow");
        assert_eq!(s["Principal"]["AWS"], accounts, "{region}");
        assert_eq!(s["Action"], SUBSCRIBE_ACTION);
        assert_eq!(s["Resource"], json!(dest.arn), "{region}");
    }
}

#[test]
fn a_remote_filter_delivers_through_its_regions_destination_without_a_role() {
    let d = with_remote(&format!(
        "    - {{account: \"{OTHER}\", region: us-east-1, logGroups: [/a], logGroupPrefixes: [/app/]}}\n"
    ));
    let [r] = d.remote.as_slice() else {
        panic!("one remote source: {:?}", d.remote)
    };
    assert_eq!(
        (r.place.account_id.as_str(), r.place.region.as_str()),
        (OTHER, "us-east-1")
    );
    assert_eq!(r.key(), format!("{OTHER}/us-east-1"));
    assert_eq!(r.filters.log_groups, ["/a"]);
    assert_eq!(r.filters.log_group_prefixes, ["/app/"]);
    let f = &r.filters.filter;
    assert_eq!(f.destination_arn, d.destinations[0].arn);
    assert_eq!(f.role_arn, None);
    assert_eq!(
        (f.name.as_str(), f.pattern.as_str(), f.distribution.as_str()),
        (d.filters.filter.name.as_str(), "ERROR", "Random")
    );
}

#[test]
fn the_account_and_region_of_a_remote_source_default_to_the_pipelines() {
    let d = with_remote(&format!(
        "    - {{region: us-east-1, logGroups: [/a]}}\n    - {{account: \"{OTHER}\", logGroups: [/b]}}\n"
    ));
    let places: Vec<String> = d.remote.iter().map(|r| r.key()).collect();
    assert_eq!(
        places,
        [format!("{ACCOUNT}/us-east-1"), format!("{OTHER}/{REGION}")]
    );
}

#[test]
fn a_remote_canary_log_group_is_named_as_the_pipelines_own_is() {
    let d = with_remote(
        "    - {region: us-east-1, logGroupPrefixes: [/app/, /ecs/]}\n    - {region: us-west-2, logGroups: [/a]}\n",
    );
    let stream = &d.names.stream;
    let cases = [
        (0, format!("/app/{stream}-canary")),
        (1, format!("/pitagora/canary/{stream}")),
    ];
    for (i, name) in cases {
        let group = d.remote[i].canary_log_group.as_ref().expect("verify is on");
        assert_eq!(group.name, name);
    }
}

#[test]
fn the_logs_role_trusts_cloudwatch_logs_for_every_source_account_and_region() {
    let d = with_remote(&format!(
        "    - {{account: \"{OTHER}\", region: us-east-1, logGroups: [/a]}}\n"
    ));
    let trust = logs_trust(&d);
    assert_eq!(
        trust["Principal"]["Service"],
        json!([
            "logs.eu-west-1.amazonaws.com",
            "logs.us-east-1.amazonaws.com"
        ])
    );
    assert_eq!(
        trust["Condition"]["StringLike"]["aws:SourceArn"],
        json!([
            format!("arn:aws:logs:eu-west-1:{ACCOUNT}:*"),
            format!("arn:aws:logs:us-east-1:{ACCOUNT}:*"),
            format!("arn:aws:logs:us-east-1:{OTHER}:*"),
        ])
    );
    let held = &d.held.roles[&d.names.logs_role].config.trust;
    assert_eq!(
        held["Statement"][0], *trust,
        "the live role is compared with the widened trust"
    );
}

#[test]
fn a_remote_resource_name_parses_back_into_its_place_and_group() {
    let d = with_remote(&format!(
        "    - {{account: \"{OTHER}\", region: us-east-1, logGroups: [/ecs/payments]}}\n"
    ));
    let r = &d.remote[0];
    let name = r.resource_name("/ecs/payments");
    let (place, group) = RemoteSpec::parse_resource_name(&name).expect("parses");
    assert_eq!((place, group), (r.place.clone(), "/ecs/payments"));
    assert_eq!(place_of("us-east-1:/ecs/payments"), None, "no account");
    assert_eq!(place_of(&format!("{OTHER}/:/g")), None, "no region");
    assert_eq!(place_of(&format!("{OTHER}/us-east-1:")), None, "no group");
}

fn place_of(name: &str) -> Option<String> {
    RemoteSpec::parse_resource_name(name).map(|(p, g)| format!("{p}:{g}"))
}
