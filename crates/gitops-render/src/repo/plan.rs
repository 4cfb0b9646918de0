//! What every unit will apply, in dependency order: the pure step after discovery.

use std::collections::BTreeMap;

use gitops_core::graph::GraphError;
use gitops_core::order::{self, Stage};
use gitops_core::unit::{Dialect, UnitBody, UnitId};
use serde::Serialize;

use super::{Discovery, Location};

/// The plan of a repository.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Plan {
    /// The entry path.
    pub entry: String,
    /// Units by level: a level's units depend only on earlier levels and can run in parallel.
    pub levels: Vec<Vec<PlannedUnit>>,
    /// Units that can never run (on or behind a dependency cycle).
    pub blocked: Vec<PlannedUnit>,
    /// Problems that are not about one unit's render.
    pub errors: Vec<PlanError>,
    /// Totals.
    pub summary: Summary,
}

/// One unit's plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlannedUnit {
    /// The unit.
    pub id: UnitId,
    /// The API family it was written in.
    pub dialect: Dialect,
    /// Where its files are.
    pub location: Location,
    /// Its path (or chart) as written.
    pub path: String,
    /// What it waits for.
    pub depends_on: Vec<UnitId>,
    /// What it renders to.
    pub outcome: UnitOutcome,
    /// Spec fields not applied by this render.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Spec fields not understood.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unknown_fields: Vec<String>,
}

/// A unit's render result.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "camelCase")]
#[non_exhaustive]
pub enum UnitOutcome {
    /// Rendered: its objects in apply order.
    Rendered {
        /// Objects in apply order, each with its stage.
        objects: Vec<PlannedObject>,
        /// Number of objects per kind.
        counts: BTreeMap<String, usize>,
    },
    /// Not rendered: its source is not available offline.
    External {
        /// Why.
        reason: String,
    },
    /// Rendering failed.
    Failed {
        /// Why.
        error: String,
    },
}

/// An object a unit will apply.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PlannedObject {
    /// Identity, as `apps/Deployment/prod/web`.
    pub object: String,
    /// The apply stage it belongs to.
    pub stage: Stage,
}

/// A problem of the repository as a whole.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum PlanError {
    /// The entry path could not be rendered.
    Entry {
        /// Why.
        message: String,
    },
    /// A unit or source object could not be read.
    Read {
        /// Why, with file and object.
        message: String,
    },
    /// A cycle, missing dependency or duplicate.
    Graph(GraphError),
}

/// Totals of a plan.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Summary {
    /// Units in the plan.
    pub units: usize,
    /// Units rendered.
    pub rendered: usize,
    /// Units whose source is not available.
    pub external: usize,
    /// Units whose render failed.
    pub failed: usize,
    /// Objects of all rendered units.
    pub objects: usize,
}

impl Plan {
    /// Whether anything failed: a unit, the entry, the graph or a read.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.summary.failed > 0 || !self.errors.is_empty() || !self.blocked.is_empty()
    }
}

/// Plans `discovery`; with `only`, just that unit and what it depends on.
#[must_use]
pub fn plan(discovery: &Discovery, only: Option<&UnitId>) -> Plan {
    let keep: Option<Vec<&UnitId>> = only.map(|u| discovery.graph.closure(u));
    let wanted = |id: &UnitId| keep.as_ref().is_none_or(|k| k.contains(&id));
    let mut errors = Vec::new();
    if let Err(message) = &discovery.entry_output {
        errors.push(PlanError::Entry {
            message: message.clone(),
        });
    }
    errors.extend(discovery.read_errors.iter().map(|e| PlanError::Read {
        message: e.to_string(),
    }));
    errors.extend(
        discovery
            .graph
            .errors()
            .iter()
            .cloned()
            .map(PlanError::Graph),
    );

    let mut summary = Summary::default();
    let mut planned_unit = |id: &UnitId| -> Option<PlannedUnit> {
        let found = discovery.units.iter().find(|d| &d.unit.id == id)?;
        let outcome = match (&found.location, &found.output) {
            (Location::External { reason }, _) => UnitOutcome::External {
                reason: reason.clone(),
            },
            (_, Some(Err(error))) => UnitOutcome::Failed {
                error: error.clone(),
            },
            (_, Some(Ok(objects))) => {
                let mut sorted: Vec<_> = objects.iter().map(|o| &o.object).collect();
                sorted.sort_by(|a, b| order::compare_for_apply(a, b));
                let mut counts = BTreeMap::new();
                for o in &sorted {
                    *counts.entry(o.kind().to_owned()).or_insert(0) += 1;
                }
                UnitOutcome::Rendered {
                    objects: sorted
                        .iter()
                        .map(|o| PlannedObject {
                            object: o.object_ref().to_string(),
                            stage: order::stage_of(o),
                        })
                        .collect(),
                    counts,
                }
            }
            (_, None) => UnitOutcome::Failed {
                error: "not rendered".to_owned(),
            },
        };
        summary.units += 1;
        match &outcome {
            UnitOutcome::Rendered { objects, .. } => {
                summary.rendered += 1;
                summary.objects += objects.len();
            }
            UnitOutcome::External { .. } => summary.external += 1,
            UnitOutcome::Failed { .. } => summary.failed += 1,
        }
        Some(PlannedUnit {
            id: id.clone(),
            dialect: found.unit.dialect,
            location: relative_location(&found.location, &discovery.root),
            path: found.unit_path(),
            depends_on: discovery
                .graph
                .dependencies(id)
                .into_iter()
                .cloned()
                .collect(),
            outcome,
            notes: found.notes.clone(),
            unknown_fields: found.unit.unknown_fields.clone(),
        })
    };

    let levels_ids = discovery.graph.levels();
    let mut placed: Vec<&UnitId> = Vec::new();
    let mut levels = Vec::new();
    for level in &levels_ids {
        let units: Vec<_> = level
            .iter()
            .filter(|id| wanted(id))
            .filter_map(|id| {
                placed.push(id);
                planned_unit(id)
            })
            .collect();
        if !units.is_empty() {
            levels.push(units);
        }
    }
    let blocked = discovery
        .graph
        .units()
        .into_iter()
        .filter(|id| !placed.contains(id) && wanted(id))
        .filter_map(&mut planned_unit)
        .collect();
    Plan {
        entry: discovery.entry.clone(),
        levels,
        blocked,
        errors,
        summary,
    }
}

/// The location with its directory relative to the repository root, so plans read the same on
/// every machine.
fn relative_location(location: &Location, root: &std::path::Path) -> Location {
    match location {
        Location::Local {
            dir,
            source,
            source_root,
        } => Location::Local {
            source_root: source_root.clone(),
            dir: dir.strip_prefix(root).map_or_else(
                |_| dir.clone(),
                |d| {
                    if d.as_os_str().is_empty() {
                        ".".into()
                    } else {
                        d.to_path_buf()
                    }
                },
            ),
            source: source.clone(),
        },
        other => other.clone(),
    }
}

impl super::DiscoveredUnit {
    /// The unit's path (or chart) as written in its spec.
    #[must_use]
    pub fn unit_path(&self) -> String {
        match &self.unit.body {
            UnitBody::Kustomization(spec) => spec.path.clone().unwrap_or_else(|| ".".to_owned()),
            UnitBody::HelmRelease(spec) => spec
                .chart
                .as_ref()
                .map(|c| c.spec.chart.clone())
                .unwrap_or_default(),
            UnitBody::Application(spec) => spec
                .source
                .as_ref()
                .or_else(|| spec.sources.first())
                .map(|s| {
                    s.path
                        .clone()
                        .or_else(|| s.chart.clone())
                        .unwrap_or_default()
                })
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}
