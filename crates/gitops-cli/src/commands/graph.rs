//! `gitops graph`: the units of a repository and their dependencies.

use super::ExitStatus;
use crate::cli::{GraphArgs, GraphFormat};
use crate::printer::Printer;

pub(crate) fn run(args: &GraphArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let discovery = super::repo::discover(&args.repo)?;
    // Nothing is found below an entry path that does not render (or does not exist).
    if let Err(message) = &discovery.entry_output {
        anyhow::bail!(
            "path `{}` of `{}` cannot be read: {message}",
            discovery.entry,
            discovery.root.display()
        );
    }
    let graph = &discovery.graph;
    let text = match args.output {
        GraphFormat::Dot => graph.to_dot(),
        GraphFormat::Mermaid => graph.to_mermaid(),
        GraphFormat::Json => {
            let units: Vec<_> = discovery
                .units
                .iter()
                .map(|d| {
                    serde_json::json!({
                        "id": d.unit.id,
                        "dialect": d.unit.dialect,
                        "path": d.unit_path(),
                        "origin": d.unit.origin.to_string().replace(&format!("{}/", discovery.root.display()), ""),
                    })
                })
                .collect();
            let edges: Vec<_> = graph
                .edges()
                .into_iter()
                .map(|(from, to, kind)| serde_json::json!({"from": from, "to": to, "kind": kind}))
                .collect();
            let value = serde_json::json!({
                "units": units,
                "edges": edges,
                "levels": graph.levels(),
                "errors": graph.errors(),
            });
            let mut text = serde_json::to_string_pretty(&value)?;
            text.push('\n');
            text
        }
        GraphFormat::Text => crate::report::graph_text(&discovery),
    };
    printer.data(&text)?;
    for error in graph.errors() {
        printer.warning(&error.to_string());
    }
    Ok(if graph.errors().is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
