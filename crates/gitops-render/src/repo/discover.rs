//! Walking a repository from its entry path to every unit it declares, transitively.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use gitops_core::SourcedObject;
use gitops_core::graph::UnitGraph;
use gitops_core::unit::{Read, ReadError, Source, Unit, UnitId, read};

use super::RepoOptions;
use super::locate::{Location, SelfSources, join_inside, locate};
use super::render::{render_dir, render_unit};

/// Units declared inside units deeper than this are refused: a unit that declares itself under a
/// new name each time would otherwise never end.
const MAX_DEPTH: usize = 32;

/// Everything found from an entry path.
#[derive(Debug)]
#[non_exhaustive]
pub struct Discovery {
    /// The repository's root directory.
    pub root: PathBuf,
    /// The entry path, relative to the root.
    pub entry: String,
    /// The entry path's render: its objects, or why it failed.
    pub entry_output: Result<Vec<SourcedObject>, String>,
    /// Every unit found, in discovery order.
    pub units: Vec<DiscoveredUnit>,
    /// Every source object found.
    pub sources: Vec<Source>,
    /// For units declared by another unit's output: that unit.
    pub parents: HashMap<UnitId, UnitId>,
    /// Unit or source objects that could not be read.
    pub read_errors: Vec<ReadError>,
    /// The dependency graph of the units.
    pub graph: UnitGraph,
}

/// A unit with where its files are and what it rendered to.
#[derive(Debug)]
#[non_exhaustive]
pub struct DiscoveredUnit {
    /// The unit.
    pub unit: Unit,
    /// Where its files are.
    pub location: Location,
    /// Its render, when local: objects or why rendering failed. `None` when external.
    pub output: Option<Result<Vec<SourcedObject>, String>>,
    /// Parts of the unit's spec that this render did not apply.
    pub notes: Vec<String>,
}

/// Discovers the units of the repository at `root`, starting from `entry` (relative to `root`).
///
/// Never fails as a whole: render failures are kept per unit (and for the entry path) so that one
/// broken unit does not hide the rest.
#[must_use]
pub fn discover(root: &Path, entry: &str, options: &RepoOptions) -> Discovery {
    let entry_dir = join_inside(root, entry);
    let entry_output = match &entry_dir {
        Some(dir) => render_dir(dir, options),
        None => Err(format!("entry path `{entry}` leaves the repository")),
    };
    let mut state = State::default();
    if let Ok(objects) = &entry_output {
        state.collect(objects, None, 0);
    }
    // The unit whose path is the entry path (Flux's `flux-system` Kustomization) is the root: it
    // declares everything else at the entry, and its source is this repository.
    let mut selves = SelfSources::default();
    let root_unit = state.units.iter().find_map(|(unit, _, _)| {
        let any = SelfSources {
            any: true,
            ..SelfSources::default()
        };
        let Location::Local { dir, .. } = locate(unit, root, options, &any) else {
            return None;
        };
        (Some(&dir) == entry_dir.as_ref()).then(|| unit.id.clone())
    });
    if let Some(root_id) = &root_unit {
        if let Some((unit, _, _)) = state.units.iter().find(|(u, _, _)| &u.id == root_id)
            && let gitops_core::unit::UnitBody::Kustomization(spec) = &unit.body
        {
            selves.names.push((
                spec.source_ref
                    .namespace
                    .clone()
                    .unwrap_or_else(|| unit.id.namespace.clone()),
                spec.source_ref.name.clone(),
            ));
        }
        for (unit, parent, _) in &mut state.units {
            if &unit.id != root_id {
                *parent = Some(root_id.clone());
            }
        }
    }

    let mut discovered = Vec::new();
    let mut next = 0;
    while next < state.units.len() {
        let (unit, parent, depth) = state.units[next].clone();
        next += 1;
        if let Some(parent) = &parent {
            state.parents.insert(unit.id.clone(), parent.clone());
        }
        let location = locate(&unit, root, options, &selves);
        let mut notes = Vec::new();
        let output = match &location {
            Location::External { .. } => None,
            Location::Local { .. } if Some(&unit.id) == root_unit.as_ref() => {
                Some(entry_output.clone())
            }
            Location::Local {
                dir, source_root, ..
            } => {
                // Only units that read ConfigMaps or Secrets look at what was rendered before.
                let known: Vec<&SourcedObject> = if reads_objects(&unit) {
                    entry_output
                        .iter()
                        .flatten()
                        .chain(
                            discovered
                                .iter()
                                .filter_map(|d: &DiscoveredUnit| d.output.as_ref())
                                .flat_map(|o| o.iter().flatten()),
                        )
                        .collect()
                } else {
                    Vec::new()
                };
                let rendered = render_unit(&unit, dir, source_root, options, &known);
                notes = rendered.notes;
                Some(rendered.output)
            }
        };
        if let Some(Ok(objects)) = &output
            && Some(&unit.id) != root_unit.as_ref()
        {
            if depth >= MAX_DEPTH {
                state.read_errors.push(ReadError {
                    origin: unit.origin.clone(),
                    object: gitops_core::ObjectRef {
                        group: String::new(),
                        version: String::new(),
                        kind: unit.id.kind.to_string(),
                        namespace: Some(unit.id.namespace.clone()),
                        name: unit.id.name.clone(),
                    },
                    message: format!(
                        "units are nested more than {MAX_DEPTH} deep; not following further"
                    ),
                });
            } else {
                state.collect(objects, Some(unit.id.clone()), depth + 1);
            }
        }
        discovered.push(DiscoveredUnit {
            unit,
            location,
            output,
            notes,
        });
    }
    let units: Vec<Unit> = discovered.iter().map(|d| d.unit.clone()).collect();
    let graph = UnitGraph::build(&units, &state.parents);
    Discovery {
        root: root.to_path_buf(),
        entry: entry.to_owned(),
        entry_output,
        units: discovered,
        sources: state.sources,
        parents: state.parents,
        read_errors: state.read_errors,
        graph,
    }
}

#[derive(Default)]
struct State {
    /// Units to visit: the unit, the unit that declared it, and its nesting depth. Duplicates are
    /// kept (the graph reports them) but rendered once.
    units: Vec<(Unit, Option<UnitId>, usize)>,
    sources: Vec<Source>,
    parents: HashMap<UnitId, UnitId>,
    read_errors: Vec<ReadError>,
}

impl State {
    fn collect(&mut self, objects: &[SourcedObject], parent: Option<UnitId>, depth: usize) {
        for object in objects {
            match read(object) {
                Ok(Read::Unit(unit)) => self.units.push((*unit, parent.clone(), depth)),
                Ok(Read::Source(source)) => {
                    if !self.sources.iter().any(|s| s.id == source.id) {
                        self.sources.push(*source);
                    }
                }
                Ok(_) => {}
                Err(e) => self.read_errors.push(e),
            }
        }
    }
}

/// Whether rendering `unit` reads ConfigMaps or Secrets (`postBuild.substituteFrom`,
/// `valuesFrom`).
fn reads_objects(unit: &Unit) -> bool {
    match &unit.body {
        gitops_core::unit::UnitBody::Kustomization(spec) => spec
            .post_build
            .as_ref()
            .is_some_and(|p| !p.substitute_from.is_empty()),
        gitops_core::unit::UnitBody::HelmRelease(spec) => !spec.values_from.is_empty(),
        _ => false,
    }
}
