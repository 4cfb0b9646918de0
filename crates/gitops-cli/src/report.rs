//! Human-readable text for repository graphs and plans.

use std::fmt::Write as _;

use gitops_render::repo::{Discovery, Location, Plan, PlannedUnit, UnitOutcome};

/// Units by level with kind, source and path; then edges and problems.
pub(crate) fn graph_text(discovery: &Discovery) -> String {
    let graph = &discovery.graph;
    let mut out = String::new();
    for (i, level) in graph.levels().iter().enumerate() {
        let _ = writeln!(out, "level {i}");
        for id in level {
            let Some(found) = discovery.units.iter().find(|d| &d.unit.id == *id) else {
                continue;
            };
            let source = match &found.location {
                Location::Local { source, .. } => source.clone(),
                Location::External { reason } => format!("external: {reason}"),
                _ => String::new(),
            };
            let _ = writeln!(out, "  {id}  path={}  source={source}", found.unit_path());
        }
    }
    let edges = graph.edges();
    if !edges.is_empty() {
        out.push_str("edges\n");
        for (from, to, kind) in edges {
            let why = match kind {
                gitops_core::graph::EdgeKind::DependsOn => "dependsOn",
                gitops_core::graph::EdgeKind::SyncWave => "sync wave",
                gitops_core::graph::EdgeKind::Parent => "declares",
                _ => "",
            };
            let _ = writeln!(out, "  {from} -> {to}  ({why})");
        }
    }
    if !graph.errors().is_empty() {
        out.push_str("errors\n");
        for e in graph.errors() {
            let _ = writeln!(out, "  {e}");
        }
    }
    out
}

/// Units level by level, each with its objects in apply order, then problems and a summary.
pub(crate) fn plan_text(plan: &Plan) -> String {
    let mut out = String::new();
    for (i, level) in plan.levels.iter().enumerate() {
        let _ = writeln!(out, "level {i}");
        for unit in level {
            unit_text(&mut out, unit);
        }
    }
    if !plan.blocked.is_empty() {
        out.push_str("blocked (dependency cycle)\n");
        for unit in &plan.blocked {
            unit_text(&mut out, unit);
        }
    }
    if !plan.errors.is_empty() {
        out.push_str("errors\n");
        for e in &plan.errors {
            let text = match e {
                gitops_render::repo::PlanError::Entry { message } => {
                    format!("entry path: {message}")
                }
                gitops_render::repo::PlanError::Read { message } => message.clone(),
                gitops_render::repo::PlanError::Graph(g) => g.to_string(),
                _ => String::new(),
            };
            let _ = writeln!(out, "  {text}");
        }
    }
    let s = &plan.summary;
    let _ = writeln!(
        out,
        "summary: {} units ({} rendered, {} external, {} failed), {} objects",
        s.units, s.rendered, s.external, s.failed, s.objects
    );
    out
}

fn unit_text(out: &mut String, unit: &PlannedUnit) {
    let _ = writeln!(out, "  {}  path={}", unit.id, unit.path);
    if !unit.depends_on.is_empty() {
        let deps: Vec<_> = unit.depends_on.iter().map(ToString::to_string).collect();
        let _ = writeln!(out, "    after: {}", deps.join(", "));
    }
    match &unit.outcome {
        UnitOutcome::Rendered { objects, counts } => {
            let counts: Vec<_> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
            let _ = writeln!(out, "    {} objects: {}", objects.len(), counts.join(", "));
            for o in objects {
                let stage = serde_json::to_value(o.stage).ok();
                let stage = stage.as_ref().and_then(|v| v.as_str()).unwrap_or_default();
                let _ = writeln!(out, "      {stage:<12} {}", o.object);
            }
        }
        UnitOutcome::External { reason } => {
            let _ = writeln!(out, "    external: {reason}");
        }
        UnitOutcome::Failed { error } => {
            let _ = writeln!(out, "    FAILED: {error}");
        }
        _ => {}
    }
    for note in &unit.notes {
        let _ = writeln!(out, "    note: {note}");
    }
    for field in &unit.unknown_fields {
        let _ = writeln!(out, "    warning: unknown field {field}");
    }
}
