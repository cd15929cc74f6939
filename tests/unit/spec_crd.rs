//! The generated `LogPipeline` CustomResourceDefinition: identity, printer columns, list
//! semantics, documentation, constraints, and the checked-in copy in `crds/logpipeline.yaml`.

use crate::common;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use pitagora::spec::schema::{crd, crd_yaml, openapi_schema};
use serde_json::{Value, json};

/// The CRD as JSON.
fn crd_json() -> Value {
    serde_json::to_value(crd()).expect("the CRD serialises")
}

/// The single served version.
fn version() -> Value {
    crd_json()["spec"]["versions"][0].clone()
}

/// The schema of `spec.<dotted>` (object properties only), e.g. `delivery.buffering.sizeMiB`.
fn spec_field(dotted: &str) -> &'static Value {
    let mut node = &openapi_schema()["properties"]["spec"];
    for key in dotted.split('.') {
        node = &node["properties"][key];
        assert!(
            !node.is_null(),
            "spec.{dotted}: no such property in the CRD schema"
        );
    }
    node
}

/// Every property below `node` (through `properties` and `items`), with its path.
fn properties_below(node: &Value, path: &str, out: &mut Vec<(String, Value)>) {
    if let Some(properties) = node["properties"].as_object() {
        for (key, child) in properties {
            let child_path = format!("{path}.{key}");
            out.push((child_path.clone(), child.clone()));
            properties_below(child, &child_path, out);
        }
    }
    if node.get("items").is_some() {
        properties_below(&node["items"], &format!("{path}[]"), out);
    }
}

/// Every JSON object anywhere in `value`, with its path.
fn all_objects<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            out.push((path.clone(), value));
            for (key, child) in map {
                all_objects(child, format!("{path}/{key}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                all_objects(child, format!("{path}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn checked_in_crd_file_equals_the_generated_crd() {
    let path = common::repo_path("crds/logpipeline.yaml");
    let on_disk = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        on_disk == crd_yaml(),
        "crds/logpipeline.yaml is stale: it differs from the CRD generated from src/spec/types.rs; \
         regenerate it with `cargo run -- crd > crds/logpipeline.yaml`"
    );
}

#[test]
fn crd_yaml_starts_with_a_do_not_edit_header_naming_the_regeneration_command() {
    let yaml = crd_yaml();
    let header: Vec<&str> = yaml.lines().take_while(|l| l.starts_with('#')).collect();
    assert!(
        header.iter().any(|l| l.contains("do not edit")),
        "{header:?}"
    );
    assert!(
        header
            .iter()
            .any(|l| l.contains("cargo run -- crd > crds/logpipeline.yaml")),
        "{header:?}"
    );
}

#[test]
fn crd_yaml_reads_back_as_the_same_crd() {
    let parsed: CustomResourceDefinition =
        serde_saphyr::from_str(&crd_yaml()).expect("crd_yaml() is a valid CRD document");
    assert_eq!(parsed, crd());
}

#[test]
fn crd_is_named_logpipelines_pitagora_dev_in_group_pitagora_dev() {
    let crd = crd_json();
    assert_eq!(crd["apiVersion"], "apiextensions.k8s.io/v1");
    assert_eq!(crd["kind"], "CustomResourceDefinition");
    assert_eq!(crd["metadata"]["name"], "logpipelines.pitagora.dev");
    assert_eq!(crd["spec"]["group"], "pitagora.dev");
}

#[test]
fn crd_kind_is_logpipeline_with_plural_logpipelines_and_singular_logpipeline() {
    let names = &crd_json()["spec"]["names"];
    assert_eq!(names["kind"], "LogPipeline");
    assert_eq!(names["plural"], "logpipelines");
    assert_eq!(names["singular"], "logpipeline");
}

#[test]
fn crd_short_name_is_lp_and_category_is_pitagora() {
    let names = &crd_json()["spec"]["names"];
    assert_eq!(names["shortNames"], json!(["lp"]));
    assert_eq!(names["categories"], json!(["pitagora"]));
}

#[test]
fn crd_is_namespaced() {
    assert_eq!(crd_json()["spec"]["scope"], "Namespaced");
}

#[test]
fn crd_serves_and_stores_only_v1alpha1() {
    let versions = crd_json()["spec"]["versions"].clone();
    assert_eq!(versions.as_array().map(Vec::len), Some(1), "{versions:#}");
    assert_eq!(versions[0]["name"], "v1alpha1");
    assert_eq!(versions[0]["served"], true);
    assert_eq!(versions[0]["storage"], true);
}

#[test]
fn crd_api_version_constant_matches_group_and_version() {
    assert_eq!(
        pitagora::spec::schema::API_VERSION,
        format!(
            "{}/{}",
            crd_json()["spec"]["group"].as_str().unwrap(),
            version()["name"].as_str().unwrap()
        )
    );
    assert_eq!(
        pitagora::spec::schema::KIND,
        crd_json()["spec"]["names"]["kind"]
    );
}

#[test]
fn crd_enables_the_status_subresource() {
    assert_eq!(version()["subresources"]["status"], json!({}));
}

#[test]
fn printer_columns_are_stage_ready_delivering_drift_age_and_wide_delivery_with_their_json_paths() {
    let columns = version()["additionalPrinterColumns"].clone();
    assert_eq!(
        columns,
        json!([
            {"name": "Stage", "type": "string", "jsonPath": ".status.stage"},
            {"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"},
            {"name": "Delivering", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Delivering\")].status"},
            {"name": "Drift", "type": "integer", "jsonPath": ".status.driftCount"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            {"name": "Latency-ms", "type": "integer", "jsonPath": ".status.delivery.canary.stages[0].latencyMs",
             "description": "The last canary's time to the raw objects in S3", "priority": 1},
            {"name": "Last-Delivered", "type": "date", "jsonPath": ".status.delivery.lastDeliveredTime", "priority": 1},
            {"name": "Failing-Link", "type": "string", "jsonPath": ".status.delivery.failingStage", "priority": 1},
            {"name": "Synced", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Synced\")].status", "priority": 1},
        ])
    );
}

#[test]
fn printer_column_paths_point_at_fields_of_the_status_schema() {
    let status = &openapi_schema()["properties"]["status"]["properties"];
    assert_eq!(status["stage"]["type"], "string");
    assert_eq!(status["driftCount"]["type"], "integer");
    assert_eq!(
        status["conditions"]["items"]["properties"]["status"]["type"],
        "string"
    );
}

#[test]
fn status_conditions_are_a_map_list_keyed_by_type() {
    let conditions = &openapi_schema()["properties"]["status"]["properties"]["conditions"];
    assert_eq!(conditions["type"], "array");
    assert_eq!(conditions["x-kubernetes-list-type"], "map");
    assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]));
}

#[test]
fn every_map_list_key_is_required_in_its_items() {
    // The API server rejects a map list whose keys are neither required nor defaulted.
    let crd = crd_json();
    let mut objects = Vec::new();
    all_objects(&crd, String::new(), &mut objects);
    let maps: Vec<_> = objects
        .iter()
        .filter(|(_, o)| o["x-kubernetes-list-type"] == "map")
        .collect();
    assert!(
        maps.len() >= 2,
        "expected status.conditions and spec.fanout.subscribers"
    );
    for (path, list) in maps {
        let required = list["items"]["required"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for key in list["x-kubernetes-list-map-keys"]
            .as_array()
            .expect("map keys")
        {
            assert!(
                required.contains(key),
                "{path}: map key {key} is not required"
            );
        }
    }
}

#[test]
fn fanout_subscribers_are_a_map_list_keyed_by_name() {
    let subscribers = spec_field("fanout.subscribers");
    assert_eq!(subscribers["x-kubernetes-list-type"], "map");
    assert_eq!(subscribers["x-kubernetes-list-map-keys"], json!(["name"]));
    assert_eq!(subscribers["maxItems"], 20);
}

#[test]
fn source_lists_are_sets() {
    for field in ["sources.logGroups", "sources.logGroupPrefixes"] {
        assert_eq!(
            spec_field(field)["x-kubernetes-list-type"],
            "set",
            "spec.{field}"
        );
    }
}

#[test]
fn crd_contains_no_cel_validation_rules_anywhere() {
    // The target API server (1.20) rejects CRDs that use x-kubernetes-validations.
    let crd = crd_json();
    let mut objects = Vec::new();
    all_objects(&crd, String::new(), &mut objects);
    let with_cel: Vec<&String> = objects
        .iter()
        .filter(|(_, o)| o.get("x-kubernetes-validations").is_some())
        .map(|(p, _)| p)
        .collect();
    assert!(with_cel.is_empty(), "CEL rules at {with_cel:?}");
    assert!(!crd_yaml().contains("x-kubernetes-validations"));
}

#[test]
fn every_property_of_the_spec_schema_has_a_non_empty_description() {
    let spec = &openapi_schema()["properties"]["spec"];
    let mut properties = Vec::new();
    properties_below(spec, "spec", &mut properties);
    assert!(
        properties.len() > 30,
        "walked only {} properties",
        properties.len()
    );
    let undocumented: Vec<&String> = properties
        .iter()
        .filter(|(_, s)| {
            s["description"]
                .as_str()
                .is_none_or(|d| d.trim().is_empty())
        })
        .map(|(p, _)| p)
        .collect();
    assert!(undocumented.is_empty(), "no description: {undocumented:?}");
}

#[test]
fn spec_and_status_have_descriptions() {
    for part in ["spec", "status"] {
        let description = openapi_schema()["properties"][part]["description"].as_str();
        assert!(description.is_some_and(|d| !d.trim().is_empty()), "{part}");
    }
}

#[test]
fn spec_is_required_and_sources_is_required_in_spec() {
    assert!(
        openapi_schema()["required"]
            .as_array()
            .unwrap()
            .contains(&json!("spec"))
    );
    let spec = &openapi_schema()["properties"]["spec"];
    assert_eq!(spec["required"], json!(["sources"]));
}

#[test]
fn sources_require_log_groups_log_group_prefixes_or_remote_sources() {
    assert_eq!(
        spec_field("sources")["anyOf"],
        json!([{"required": ["logGroups"]}, {"required": ["logGroupPrefixes"]}, {"required": ["remote"]}])
    );
}

#[test]
fn a_remote_source_is_bounded_by_the_schema() {
    let remote = spec_field("sources.remote");
    assert_eq!(remote["maxItems"].as_u64(), Some(20));
    let entry = &remote["items"];
    assert_eq!(
        entry["anyOf"],
        json!([{"required": ["logGroups"]}, {"required": ["logGroupPrefixes"]}])
    );
    assert_eq!(entry["properties"]["account"]["pattern"], "^[0-9]{12}$");
    assert_eq!(
        entry["properties"]["region"]["pattern"],
        pitagora::spec::REGION_PATTERN
    );
}

#[test]
fn buffering_size_is_limited_to_1_to_128_mib() {
    let size = spec_field("delivery.buffering.sizeMiB");
    assert_eq!(size["type"], "integer");
    assert_eq!(size["minimum"].as_f64(), Some(1.0));
    assert_eq!(size["maximum"].as_f64(), Some(128.0));
}

#[test]
fn buffering_interval_is_limited_to_0_to_900_seconds() {
    let interval = spec_field("delivery.buffering.intervalSeconds");
    assert_eq!(interval["type"], "integer");
    assert_eq!(interval["minimum"].as_f64(), Some(0.0));
    assert_eq!(interval["maximum"].as_f64(), Some(900.0));
}

#[test]
fn drift_check_interval_is_limited_to_30_to_86400_seconds() {
    let interval = spec_field("drift.checkIntervalSeconds");
    assert_eq!(interval["type"], "integer");
    assert_eq!(interval["minimum"].as_f64(), Some(30.0));
    assert_eq!(interval["maximum"].as_f64(), Some(86400.0));
}

#[test]
fn canary_interval_is_limited_to_60_to_86400_seconds() {
    let interval = spec_field("delivery.verify.intervalSeconds");
    assert_eq!(interval["type"], "integer");
    assert_eq!(interval["minimum"].as_f64(), Some(60.0));
    assert_eq!(interval["maximum"].as_f64(), Some(86400.0));
}

#[test]
fn storage_day_counts_and_fluentd_port_have_their_ranges() {
    for (field, min, max) in [
        ("storage.retentionDays", 1.0, 36500.0),
        ("storage.transition.afterDays", 0.0, 36500.0),
        ("legacy.fluentd.target.port", 1.0, 65535.0),
    ] {
        let schema = spec_field(field);
        assert_eq!(schema["minimum"].as_f64(), Some(min), "spec.{field}");
        assert_eq!(schema["maximum"].as_f64(), Some(max), "spec.{field}");
    }
}

#[test]
fn string_fields_carry_length_limits() {
    for (field, min, max) in [
        ("delivery.prefix", Some(1), 1024),
        ("delivery.errorOutputPrefix", Some(1), 1024),
        ("sources.filterPattern", None, 1024),
        ("storage.bucketName", Some(3), 63),
        ("transform.outputPrefix", Some(1), 1024),
        ("legacy.fluentd.target.host", Some(1), 253),
    ] {
        let schema = spec_field(field);
        assert_eq!(schema["minLength"].as_u64(), min, "spec.{field}");
        assert_eq!(schema["maxLength"].as_u64(), Some(max), "spec.{field}");
    }
}

#[test]
fn enums_list_exactly_the_allowed_values() {
    for (field, values) in [
        (
            "delivery.recordFormat",
            json!(["NDJSON", "Envelope", "Raw"]),
        ),
        ("delivery.layout", json!(["Flat", "Hive"])),
        ("storage.bucketPolicy", json!(["Shared", "Exclusive"])),
        (
            "delivery.compression",
            json!(["UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"]),
        ),
        ("sources.distribution", json!(["ByLogStream", "Random"])),
        ("storage.deletionPolicy", json!(["Retain", "Delete"])),
        (
            "storage.transition.storageClass",
            json!([
                "STANDARD_IA",
                "ONEZONE_IA",
                "INTELLIGENT_TIERING",
                "GLACIER_IR",
                "GLACIER",
                "DEEP_ARCHIVE"
            ]),
        ),
        ("drift.policy", json!(["Correct", "Report"])),
        (
            "cutover.stage",
            json!(["Legacy", "Shadow", "Primary", "New"]),
        ),
    ] {
        assert_eq!(spec_field(field)["enum"], values, "spec.{field}");
    }
}

#[test]
fn patterns_are_the_published_constants() {
    use pitagora::spec::types::*;
    for (field, pattern) in [
        ("region", REGION_PATTERN),
        ("storage.bucketName", BUCKET_NAME_PATTERN),
        ("transform.lambdaArn", LAMBDA_ARN_PATTERN),
        ("fanout.topicName", TOPIC_NAME_PATTERN),
    ] {
        assert_eq!(spec_field(field)["pattern"], pattern, "spec.{field}");
    }
    let route = &spec_field("legacy.fluentd.routes")["items"]["properties"];
    assert_eq!(route["logGroup"]["pattern"], LOG_GROUP_NAME_PATTERN);
    let subscriber = &spec_field("fanout.subscribers")["items"]["properties"];
    assert_eq!(subscriber["name"]["pattern"], DNS_LABEL_PATTERN);
    assert_eq!(subscriber["lambdaArn"]["pattern"], LAMBDA_ARN_PATTERN);
    for list in ["sources.logGroups", "sources.logGroupPrefixes"] {
        assert_eq!(
            spec_field(list)["items"]["pattern"],
            LOG_GROUP_NAME_PATTERN,
            "spec.{list}"
        );
    }
}

#[test]
fn every_pattern_in_the_schema_compiles_and_has_a_human_description() {
    let crd = crd_json();
    let mut objects = Vec::new();
    all_objects(&crd, String::new(), &mut objects);
    let patterns: Vec<(&String, &str)> = objects
        .iter()
        .filter_map(|(p, o)| o["pattern"].as_str().map(|pat| (p, pat)))
        .collect();
    assert!(!patterns.is_empty());
    for (path, pattern) in patterns {
        regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{path}: {pattern}: {e}"));
        assert!(
            pitagora::spec::types::describe_pattern(pattern).is_some(),
            "{path}: pattern {pattern} has no description for error messages"
        );
    }
}

#[test]
fn filter_policy_is_a_free_form_object_kept_as_written() {
    let policy = &spec_field("fanout.subscribers")["items"]["properties"]["filterPolicy"];
    assert_eq!(policy["type"], "object");
    assert_eq!(policy["x-kubernetes-preserve-unknown-fields"], true);
}

#[test]
fn every_schema_node_declares_a_type_as_structural_schemas_require() {
    // Structural schemas need a type on every node except free-form ones; anyOf branches must
    // not carry types.
    let mut properties = Vec::new();
    properties_below(openapi_schema(), "", &mut properties);
    let untyped: Vec<&String> = properties
        .iter()
        .filter(|(_, s)| {
            s.get("type").is_none() && s["x-kubernetes-preserve-unknown-fields"] != true
        })
        .map(|(p, _)| p)
        .collect();
    assert!(untyped.is_empty(), "no type: {untyped:?}");
    for branch in spec_field("sources")["anyOf"].as_array().unwrap() {
        assert!(branch.get("type").is_none(), "{branch}");
    }
}

#[test]
fn ignore_rule_kinds_are_exactly_the_resource_kinds() {
    let schema = &openapi_schema()["properties"]["spec"]["properties"]["drift"]["properties"]["ignore"]
        ["items"]["properties"]["kind"]["enum"];
    let listed: Vec<&str> = schema
        .as_array()
        .unwrap_or_else(|| panic!("no enum for drift.ignore[].kind: {schema}"))
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let kinds: Vec<&str> = pitagora::resources::ResourceKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(listed, kinds);
}

#[test]
fn status_resource_and_drift_item_kinds_are_the_resource_kinds() {
    let status = &openapi_schema()["properties"]["status"]["properties"];
    let kinds: Vec<serde_json::Value> = pitagora::resources::ResourceKind::ALL
        .iter()
        .map(|k| serde_json::Value::from(k.as_str()))
        .collect();
    for list in ["resources", "drift"] {
        let kind = &status[list]["items"]["properties"]["kind"];
        assert_eq!(
            kind["enum"].as_array(),
            Some(&kinds),
            "status.{list}[].kind: {kind}"
        );
    }
}
