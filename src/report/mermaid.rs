//! A Mermaid flowchart of a pipeline's chain: log groups → filters → stream → bucket →
//! transform → topic → subscribers, with drifted stages marked.

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
    let mut out = String::from("flowchart LR\n");
    let mut drifted = Vec::new();
    let mut node = |out: &mut String, id: &str, text: &str, drift: bool| {
        let _ = writeln!(out, "  {id}[\"{}\"]", label(text));
        if drift {
            drifted.push(id.to_owned());
        }
    };
    let sources = if chain.sources.len() > 3 {
        format!(
            "{} and {} more",
            chain.sources[..3].join(", "),
            chain.sources.len() - 3
        )
    } else {
        chain.sources.join(", ")
    };
    node(
        &mut out,
        "sources",
        &format!("log groups: {sources}"),
        chain.filters_drifted,
    );
    node(
        &mut out,
        "filters",
        &format!(
            "subscription filters on {} group{}",
            chain.filtered_groups,
            if chain.filtered_groups == 1 { "" } else { "s" }
        ),
        chain.filters_drifted,
    );
    node(
        &mut out,
        "stream",
        &format!("Firehose {}", chain.stream),
        chain.stream_drifted,
    );
    node(
        &mut out,
        "bucket",
        &format!("S3 {}", chain.bucket),
        chain.bucket_drifted,
    );
    let mut edges = vec![
        ("sources", "filters"),
        ("filters", "stream"),
        ("stream", "bucket"),
    ];
    let mut last = "bucket";
    if let Some(transform) = &chain.transform {
        node(
            &mut out,
            "transform",
            &format!("Lambda {transform}"),
            chain.bucket_drifted,
        );
        edges.push(("bucket", "transform"));
        last = "transform";
    }
    if let Some(topic) = &chain.topic {
        node(
            &mut out,
            "topic",
            &format!("SNS {topic}"),
            chain.bucket_drifted,
        );
        edges.push((last, "topic"));
        for (i, s) in chain.subscribers.iter().enumerate() {
            let id = format!("sub{i}");
            node(&mut out, &id, &format!("Lambda {}", s.name), s.drifted);
            let _ = writeln!(out, "  topic --> {id}");
        }
    }
    for (from, to) in edges {
        let _ = writeln!(out, "  {from} --> {to}");
    }
    let _ = writeln!(
        out,
        "  classDef drifted fill:#fde2e1,stroke:#c0392b,stroke-width:2px"
    );
    if !drifted.is_empty() {
        let _ = writeln!(out, "  class {} drifted", drifted.join(","));
    }
    out
}
