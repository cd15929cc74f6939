//! A Mermaid flowchart of a pipeline's chain: log groups → filters → stream → bucket →
//! transform → topic → subscribers, with drifted stages marked, and the link where a delivery
//! canary stopped.

use super::Chain;
use std::fmt::Write;

/// A label safe inside `["..."]`: no quotes, no brackets that end the node, no line breaks.
fn label(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '"' => '\'',
            '[' | ']' | '{' | '}' | '|' | '<' | '>' => ' ',
            '\n' | '\r' => ' ',
            c => c,
        })
        .collect()
}

/// The flowchart (without the surrounding code fence).
pub fn flowchart(chain: &Chain) -> String {
    let mut chart = Chart {
        out: String::from("flowchart LR\n"),
        drifted: Vec::new(),
    };
    let mut edges = chart.delivery(chain);
    chart.notifications(chain, &mut edges);
    let stopped = match chain.canary_stopped_at {
        Some("subscription") => Some(("filters", "stream")),
        Some("firehose") => Some(("stream", "bucket")),
        Some("transform") => Some(("bucket", "transform")),
        _ => None,
    };
    chart.finish(&edges, stopped)
}

/// A flowchart being written: its nodes so far, and which of them drifted.
struct Chart {
    out: String,
    drifted: Vec<String>,
}

/// An edge between two nodes, by id.
type Edge = (&'static str, &'static str);

impl Chart {
    fn node(&mut self, id: &str, text: &str, drift: bool) {
        let _ = writeln!(self.out, "  {id}[\"{}\"]", label(text));
        if drift {
            self.drifted.push(id.to_owned());
        }
    }

    /// Log groups → filters → stream → bucket, always there.
    fn delivery(&mut self, chain: &Chain) -> Vec<Edge> {
        self.node(
            "sources",
            &format!("log groups: {}", sources(&chain.sources)),
            chain.filters_drifted,
        );
        self.node(
            "filters",
            &format!(
                "subscription filters on {} group{}",
                chain.filtered_groups,
                if chain.filtered_groups == 1 { "" } else { "s" }
            ),
            chain.filters_drifted,
        );
        self.node(
            "stream",
            &format!("Firehose {}", chain.stream),
            chain.stream_drifted,
        );
        self.node(
            "bucket",
            &format!("S3 {}", chain.bucket),
            chain.bucket_drifted,
        );
        vec![
            ("sources", "filters"),
            ("filters", "stream"),
            ("stream", "bucket"),
        ]
    }

    /// What the bucket notifies, when the spec has it: the transform, then the topic and its
    /// subscribers. Both are wired by the stack and the bucket's notifications, so they are marked
    /// when the bucket is.
    fn notifications(&mut self, chain: &Chain, edges: &mut Vec<Edge>) {
        let mut last = "bucket";
        if let Some(transform) = &chain.transform {
            self.node(
                "transform",
                &format!("Lambda {transform}"),
                chain.bucket_drifted,
            );
            edges.push(("bucket", "transform"));
            last = "transform";
        }
        if let Some(topic) = &chain.topic {
            self.node("topic", &format!("SNS {topic}"), chain.bucket_drifted);
            edges.push((last, "topic"));
            for (i, s) in chain.subscribers.iter().enumerate() {
                let id = format!("sub{i}");
                self.node(&id, &format!("Lambda {}", s.name), s.drifted);
                let _ = writeln!(self.out, "  topic --> {id}");
            }
        }
    }

    /// The edges (the one where a canary stopped labelled and drawn red), then the style of
    /// drifted nodes.
    fn finish(mut self, edges: &[Edge], stopped: Option<Edge>) -> String {
        let mut stopped_index = None;
        for edge @ (from, to) in edges {
            if stopped == Some(*edge) {
                // linkStyle counts every edge drawn so far, the subscribers' included.
                stopped_index = Some(self.out.matches(" -->").count());
                let _ = writeln!(self.out, "  {from} -->|canary stopped| {to}");
            } else {
                let _ = writeln!(self.out, "  {from} --> {to}");
            }
        }
        if let Some(i) = stopped_index {
            let _ = writeln!(self.out, "  linkStyle {i} stroke:#c0392b,stroke-width:3px");
        }
        let _ = writeln!(
            self.out,
            "  classDef drifted fill:#fde2e1,stroke:#c0392b,stroke-width:2px"
        );
        if !self.drifted.is_empty() {
            let _ = writeln!(self.out, "  class {} drifted", self.drifted.join(","));
        }
        self.out
    }
}

/// The first three log groups, and how many more.
fn sources(groups: &[String]) -> String {
    if groups.len() > 3 {
        format!("{} and {} more", groups[..3].join(", "), groups.len() - 3)
    } else {
        groups.join(", ")
    }
}
