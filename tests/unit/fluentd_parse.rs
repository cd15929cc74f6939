//! fluentd's configuration grammar, as pitagora's parser reads it: what it accepts (directives
//! nested to any depth, parameters in every quoting, multi-line values, `@include`, comments)
//! and what it refuses, with the line of the problem.

use pitagora::fluentd::parse::parse;

#[test]
fn directives_nest_and_keep_their_arguments_and_parameters() {
    let root = parse(
        "<match app.** other.*>\n  @type copy\n  <store ignore_error>\n    @type forward\n    <server>\n      host agg\n      port 24224\n    </server>\n  </store>\n</match>\n",
    )
    .unwrap();
    let m = &root.directives[0];
    assert_eq!(
        (m.name.as_str(), m.arg.as_str()),
        ("match", "app.** other.*")
    );
    assert_eq!(m.param("@type"), Some("copy"));
    let store = m.children("store").next().unwrap();
    assert_eq!(store.arg, "ignore_error");
    let server = store.children("server").next().unwrap();
    assert_eq!(server.param("host"), Some("agg"));
    assert_eq!(server.param("port"), Some("24224"));
    assert_eq!(server.line, 5);
}

#[test]
fn include_is_recorded_at_its_level() {
    let root =
        parse("@include /etc/fluent/pitagora/*.conf\n<label @X>\n  @include x.conf\n</label>\n")
            .unwrap();
    assert_eq!(root.includes, ["/etc/fluent/pitagora/*.conf"]);
    assert_eq!(root.directives[0].includes, ["x.conf"]);
    assert!(root.params.is_empty());
}

#[test]
fn comments_and_blank_lines_are_skipped_and_end_unquoted_values() {
    let root =
        parse("# header\n\n<source>   # trailing\n  tag a.b # why\n  path /x#y\n</source>\n")
            .unwrap();
    let s = &root.directives[0];
    assert_eq!(s.param("tag"), Some("a.b"));
    assert_eq!(
        s.param("path"),
        Some("/x#y"),
        "a # not after white space is part of the value"
    );
}

#[test]
fn quoted_values_unescape_and_may_span_lines() {
    let root = parse(
        "<filter **>\n  a \"x \\\"y\\\" \\n z\"\n  b 'it\\'s'\n  c \"one\ntwo\"\n</filter>\n",
    )
    .unwrap();
    let f = &root.directives[0];
    assert_eq!(f.param("a"), Some("x \"y\" \n z"));
    assert_eq!(f.param("b"), Some("it's"));
    assert_eq!(f.param("c"), Some("one\ntwo"));
}

#[test]
fn array_and_hash_values_may_span_lines() {
    let root = parse("<match x>\n  keys [\"a\",\n    \"b]\"]\n  map {\"k\": {\"n\": 1}}\n  after yes\n</match>\n").unwrap();
    let m = &root.directives[0];
    assert_eq!(m.param("keys"), Some("[\"a\",\n    \"b]\"]"));
    assert_eq!(m.param("map"), Some("{\"k\": {\"n\": 1}}"));
    assert_eq!(m.param("after"), Some("yes"));
}

#[test]
fn a_parameter_without_value_is_empty() {
    let root = parse("<system>\n  suppress_repeated_stacktrace\n</system>\n").unwrap();
    assert_eq!(
        root.directives[0].param("suppress_repeated_stacktrace"),
        Some("")
    );
}

fn error(text: &str) -> String {
    parse(text)
        .expect_err("malformed configuration is refused")
        .to_string()
}

#[test]
fn an_unclosed_directive_is_refused_at_its_opening_line() {
    assert_eq!(
        error("<match a>\n  @type copy\n  <store>\n  </store>\n"),
        "line 1: <match> is never closed (expected </match>)"
    );
}

#[test]
fn a_closing_tag_of_another_directive_is_refused() {
    assert_eq!(
        error("<match a>\n  <store>\n</match>\n"),
        "line 3: </match> closes <store> opened on line 2"
    );
}

#[test]
fn a_closing_tag_without_opening_is_refused() {
    assert_eq!(error("</store>\n"), "line 1: </store> closes nothing");
}

#[test]
fn a_directive_without_its_bracket_is_refused() {
    assert!(error("<match a\n</match>\n").starts_with("line 1: a directive needs '>'"));
    assert!(error("<match a>\n</match\n").starts_with("line 2: a closing directive needs '>'"));
}

#[test]
fn text_after_a_directive_is_refused() {
    assert!(
        error("<match a> @type copy\n</match>\n")
            .starts_with("line 1: unexpected text after the directive")
    );
    assert!(error("<match a>\n</match> x\n").starts_with("line 2: unexpected text after </match>"));
}

#[test]
fn a_directive_without_a_name_is_refused() {
    assert!(error("< a>\n</a>\n").starts_with("line 1: < a> has no valid directive name"));
    assert!(error("<>\n").starts_with("line 1:"));
}

#[test]
fn an_unterminated_quoted_value_is_refused() {
    assert_eq!(
        error("<match a>\n  x \"never closed\n</match>\n"),
        "line 2: unterminated \"-quoted value"
    );
}

#[test]
fn an_unbalanced_array_is_refused() {
    assert_eq!(
        error("<match a>\n  keys [1, 2\n"),
        "line 2: unbalanced '[' in the value"
    );
}

#[test]
fn a_malformed_parameter_name_is_refused() {
    assert!(
        error("<match a>\n  log-level=info\n</match>\n")
            .starts_with("line 2: \"log-level=info\" is not a parameter name")
    );
    assert!(
        error("<match a>\n  @ x\n</match>\n").starts_with("line 2: \"@\" is not a parameter name")
    );
}

#[test]
fn include_needs_a_path() {
    assert_eq!(error("@include\n"), "line 1: @include needs a path");
}

#[test]
fn text_after_a_quoted_value_is_refused() {
    assert!(
        error("<match a>\n  x \"v\" w\n</match>\n")
            .starts_with("line 2: unexpected text after the quoted value")
    );
}
