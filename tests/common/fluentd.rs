//! Reading rendered fluentd configuration back: each `<match>` and its stores, parsed by the
//! grammar in `pitagora::fluentd::parse`, and the structural rules fluentd would refuse to start
//! without.

use pitagora::fluentd::parse::{self, Directive};

/// One store of a route, as fluentd would see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Store {
    /// `@type`: `forward`, `cloudwatch_logs`, ….
    pub kind: String,
    /// Whether copy goes on when it fails.
    pub ignore_error: bool,
    /// The directive itself.
    pub directive: Directive,
}

/// One `<match>`: its pattern and its stores in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    pub pattern: String,
    pub stores: Vec<Store>,
}

impl Route {
    /// The `@type`s of the stores, `!` marking `ignore_error`, e.g. `["!cloudwatch_logs", "forward"]`.
    pub fn shape(&self) -> Vec<String> {
        self.stores
            .iter()
            .map(|s| format!("{}{}", if s.ignore_error { "!" } else { "" }, s.kind))
            .collect()
    }

    /// The store of `kind`.
    pub fn store(&self, kind: &str) -> &Store {
        self.stores
            .iter()
            .find(|s| s.kind == kind)
            .unwrap_or_else(|| panic!("route {} has no {kind} store", self.pattern))
    }
}

/// Parses `text` and checks it as fluentd would: every `<match>` has an `@type`; a copy has at
/// least one `<store>` and every store an `@type`; a forward store has a `<server>` with a host;
/// no two outputs share a file buffer's path.
pub fn routes(text: &str) -> Vec<Route> {
    let root =
        parse::parse(text).unwrap_or_else(|e| panic!("not fluentd configuration: {e}\n{text}"));
    assert!(
        root.params.is_empty(),
        "parameters outside any directive: {:?}",
        root.params
    );
    let routes = root
        .directives
        .iter()
        .map(|m| {
            assert_eq!(
                m.name, "match",
                "line {}: unexpected <{}> in the routes",
                m.line, m.name
            );
            assert!(
                !m.arg.is_empty(),
                "line {}: <match> without a pattern",
                m.line
            );
            assert_eq!(
                m.param("@type"),
                Some("copy"),
                "line {}: every route copies",
                m.line
            );
            let stores: Vec<Store> =
                m.children("store")
                    .map(|s| {
                        let kind = s
                            .param("@type")
                            .unwrap_or_else(|| panic!("line {}: <store> without @type", s.line));
                        if kind == "forward" {
                            let server = s.children("server").next().unwrap_or_else(|| {
                                panic!("line {}: forward without <server>", s.line)
                            });
                            assert!(
                                server.param("host").is_some(),
                                "line {}: <server> without host",
                                server.line
                            );
                        }
                        Store {
                            kind: kind.to_owned(),
                            ignore_error: s.arg.split_whitespace().any(|a| a == "ignore_error"),
                            directive: s.clone(),
                        }
                    })
                    .collect();
            assert!(!stores.is_empty(), "line {}: copy without <store>", m.line);
            Route {
                pattern: m.arg.clone(),
                stores,
            }
        })
        .collect::<Vec<Route>>();
    assert_no_shared_buffer_path(&routes);
    routes
}

/// fluentd refuses to start when two outputs share a file buffer's path ("Other 'forward'
/// plugin already use same buffer path").
fn assert_no_shared_buffer_path(routes: &[Route]) {
    let mut seen = std::collections::BTreeSet::new();
    for store in routes.iter().flat_map(|r| &r.stores) {
        for buffer in store.directive.children("buffer") {
            if let Some(path) = buffer.param("path") {
                assert!(
                    seen.insert(path.to_owned()),
                    "line {}: buffer path {path} used by two outputs",
                    buffer.line
                );
            }
        }
    }
}
