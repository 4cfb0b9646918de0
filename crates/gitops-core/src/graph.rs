//! The dependency graph of a repository's units: who waits for whom, in which order they can be
//! reconciled, and what is wrong (cycles, missing dependencies, duplicates).
//!
//! Edges come from `dependsOn`, from Argo CD sync waves (an application waits for the
//! applications of the nearest lower wave under the same parent) and from parenthood (a unit
//! declared by another unit's output exists only once that one has been applied). The graph is a
//! pure value: the operator reuses it to start dependents as soon as a dependency is Ready.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use serde::Serialize;

use crate::Origin;
use crate::unit::{Unit, UnitId};

/// Why one unit comes after another.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub enum EdgeKind {
    /// Declared with `dependsOn`.
    DependsOn,
    /// An Argo CD sync wave lower than this unit's.
    SyncWave,
    /// The dependency's output declares this unit.
    Parent,
}

/// A problem in the graph. Each names the units involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[serde(tag = "error", rename_all = "camelCase")]
#[non_exhaustive]
pub enum GraphError {
    /// Two units share an identity.
    #[error("duplicate unit {unit}: declared at {first} and again at {second}")]
    Duplicate {
        /// The unit.
        unit: UnitId,
        /// Where it was declared first.
        #[serde(serialize_with = "display")]
        first: Origin,
        /// Where it was declared again.
        #[serde(serialize_with = "display")]
        second: Origin,
    },
    /// A `dependsOn` names a unit that does not exist.
    #[error("unit {unit} depends on {missing}, which is not declared anywhere")]
    MissingDependency {
        /// The dependent.
        unit: UnitId,
        /// The dependency that is not there.
        missing: UnitId,
    },
    /// Units depend on each other in a circle; none of them can ever be reconciled.
    #[error("dependency cycle: {}", cycle_text(.cycle))]
    Cycle {
        /// The units of the cycle, in dependency order, the first repeated at the end.
        cycle: Vec<UnitId>,
    },
}

fn display<S: serde::Serializer, T: std::fmt::Display>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

fn cycle_text(cycle: &[UnitId]) -> String {
    cycle
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Units and the edges between them.
#[derive(Debug, Clone)]
pub struct UnitGraph {
    graph: DiGraph<UnitId, EdgeKind>,
    index: HashMap<UnitId, NodeIndex>,
    errors: Vec<GraphError>,
}

impl UnitGraph {
    /// Builds the graph. `parents` maps a unit to the unit whose output declared it (absent for
    /// units of the entry path). Problems do not stop the build: they are collected in
    /// [`UnitGraph::errors`], missing dependencies are left out, and units on a cycle get no level.
    #[must_use]
    pub fn build(units: &[Unit], parents: &HashMap<UnitId, UnitId>) -> Self {
        let mut graph = DiGraph::new();
        let mut index = HashMap::new();
        let mut origins: HashMap<&UnitId, &Origin> = HashMap::new();
        let mut errors = Vec::new();
        for unit in units {
            if let Some(first) = origins.get(&unit.id) {
                errors.push(GraphError::Duplicate {
                    unit: unit.id.clone(),
                    first: (*first).clone(),
                    second: unit.origin.clone(),
                });
                continue;
            }
            origins.insert(&unit.id, &unit.origin);
            index.insert(unit.id.clone(), graph.add_node(unit.id.clone()));
        }
        // Edges point from a dependency to its dependent.
        let add = |graph: &mut DiGraph<UnitId, EdgeKind>, from: &UnitId, to: &UnitId, kind| {
            if let (Some(&a), Some(&b)) = (index.get(from), index.get(to))
                && a != b
                && graph.find_edge(a, b).is_none()
            {
                graph.add_edge(a, b, kind);
            }
        };
        for unit in units {
            for dep in &unit.depends_on {
                if index.contains_key(dep) {
                    add(&mut graph, dep, &unit.id, EdgeKind::DependsOn);
                } else {
                    errors.push(GraphError::MissingDependency {
                        unit: unit.id.clone(),
                        missing: dep.clone(),
                    });
                }
            }
            if let Some(parent) = parents.get(&unit.id) {
                add(&mut graph, parent, &unit.id, EdgeKind::Parent);
            }
        }
        // Sync waves order siblings: each unit waits for the nearest lower wave of its parent.
        let mut siblings: BTreeMap<Option<&UnitId>, BTreeMap<i64, Vec<&UnitId>>> = BTreeMap::new();
        for unit in units
            .iter()
            .filter(|u| u.sync_wave != 0 || u.id.kind == crate::unit::UnitKind::Application)
        {
            siblings
                .entry(parents.get(&unit.id))
                .or_default()
                .entry(unit.sync_wave)
                .or_default()
                .push(&unit.id);
        }
        for waves in siblings.values() {
            let waves: Vec<_> = waves.values().collect();
            for pair in waves.windows(2) {
                for from in pair[0] {
                    for to in pair[1] {
                        add(&mut graph, from, to, EdgeKind::SyncWave);
                    }
                }
            }
        }
        for component in tarjan_scc(&graph) {
            let is_cycle =
                component.len() > 1 || graph.find_edge(component[0], component[0]).is_some();
            if is_cycle {
                errors.push(GraphError::Cycle {
                    cycle: cycle_path(&graph, &component),
                });
            }
        }
        Self {
            graph,
            index,
            errors,
        }
    }

    /// Problems found while building.
    #[must_use]
    pub fn errors(&self) -> &[GraphError] {
        &self.errors
    }

    /// Every unit, in a stable order.
    #[must_use]
    pub fn units(&self) -> Vec<&UnitId> {
        let mut units: Vec<_> = self.graph.node_weights().collect();
        units.sort();
        units
    }

    /// Edges as (dependency, dependent, why), sorted.
    #[must_use]
    pub fn edges(&self) -> Vec<(&UnitId, &UnitId, EdgeKind)> {
        let mut edges: Vec<_> = self
            .graph
            .edge_references()
            .map(|e| {
                (
                    &self.graph[e.source()],
                    &self.graph[e.target()],
                    *e.weight(),
                )
            })
            .collect();
        edges.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        edges
    }

    /// The units `unit` waits for directly.
    #[must_use]
    pub fn dependencies(&self, unit: &UnitId) -> Vec<&UnitId> {
        self.neighbours(unit, petgraph::Direction::Incoming)
    }

    /// The units that wait for `unit` directly: to start when it turns Ready.
    #[must_use]
    pub fn dependents(&self, unit: &UnitId) -> Vec<&UnitId> {
        self.neighbours(unit, petgraph::Direction::Outgoing)
    }

    fn neighbours(&self, unit: &UnitId, direction: petgraph::Direction) -> Vec<&UnitId> {
        let Some(&i) = self.index.get(unit) else {
            return Vec::new();
        };
        let mut out: Vec<_> = self
            .graph
            .neighbors_directed(i, direction)
            .map(|n| &self.graph[n])
            .collect();
        out.sort();
        out
    }

    /// `unit` and everything it depends on, transitively.
    #[must_use]
    pub fn closure(&self, unit: &UnitId) -> Vec<&UnitId> {
        let Some(&start) = self.index.get(unit) else {
            return Vec::new();
        };
        let mut seen = vec![start];
        let mut stack = vec![start];
        while let Some(n) = stack.pop() {
            for dep in self
                .graph
                .neighbors_directed(n, petgraph::Direction::Incoming)
            {
                if !seen.contains(&dep) {
                    seen.push(dep);
                    stack.push(dep);
                }
            }
        }
        let mut out: Vec<_> = seen.into_iter().map(|n| &self.graph[n]).collect();
        out.sort();
        out
    }

    /// Topological levels: level 0 has no dependencies, level n depends only on lower levels.
    /// Units of one level can be reconciled in parallel. Units on or behind a cycle are left out.
    #[must_use]
    pub fn levels(&self) -> Vec<Vec<&UnitId>> {
        let mut level: HashMap<NodeIndex, usize> = HashMap::new();
        let mut remaining: HashMap<NodeIndex, usize> = self
            .graph
            .node_indices()
            .map(|n| {
                (
                    n,
                    self.graph
                        .neighbors_directed(n, petgraph::Direction::Incoming)
                        .count(),
                )
            })
            .collect();
        let mut ready: Vec<NodeIndex> = remaining
            .iter()
            .filter(|(_, c)| **c == 0)
            .map(|(n, _)| *n)
            .collect();
        while let Some(n) = ready.pop() {
            let l = self
                .graph
                .neighbors_directed(n, petgraph::Direction::Incoming)
                .filter_map(|d| level.get(&d))
                .max()
                .map_or(0, |m| m + 1);
            level.insert(n, l);
            for dependent in self
                .graph
                .neighbors_directed(n, petgraph::Direction::Outgoing)
            {
                if let Some(c) = remaining.get_mut(&dependent) {
                    *c -= 1;
                    if *c == 0 {
                        ready.push(dependent);
                    }
                }
            }
        }
        let depth = level.values().max().map_or(0, |m| m + 1);
        let mut levels: Vec<Vec<&UnitId>> = vec![Vec::new(); depth];
        for (n, l) in level {
            levels[l].push(&self.graph[n]);
        }
        for l in &mut levels {
            l.sort();
        }
        levels
    }

    /// Graphviz DOT text: one node per unit, labelled edges, ranks by level.
    #[must_use]
    pub fn to_dot(&self) -> String {
        let mut out = String::from(
            "digraph units {\n  rankdir=LR;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n",
        );
        for unit in self.units() {
            let _ = writeln!(
                out,
                "  \"{unit}\" [label=\"{}\\n{}/{}\"];",
                unit.kind, unit.namespace, unit.name
            );
        }
        for (from, to, kind) in self.edges() {
            let style = match kind {
                EdgeKind::DependsOn => "",
                EdgeKind::SyncWave => ", style=dashed, label=\"wave\"",
                EdgeKind::Parent => ", style=dotted, label=\"declares\"",
            };
            let _ = writeln!(
                out,
                "  \"{from}\" -> \"{to}\" [{}];",
                style.trim_start_matches(", ")
            );
        }
        out.push_str("}\n");
        out
    }

    /// Mermaid flowchart text.
    #[must_use]
    pub fn to_mermaid(&self) -> String {
        let units = self.units();
        let id_of = |u: &UnitId| units.iter().position(|x| *x == u).unwrap_or_default();
        let mut out = String::from("flowchart LR\n");
        for (i, unit) in units.iter().enumerate() {
            let _ = writeln!(
                out,
                "  u{i}[\"{}<br/>{}/{}\"]",
                unit.kind, unit.namespace, unit.name
            );
        }
        for (from, to, kind) in self.edges() {
            let arrow = match kind {
                EdgeKind::DependsOn => "-->",
                EdgeKind::SyncWave => "-.->|wave|",
                EdgeKind::Parent => "-.->|declares|",
            };
            let _ = writeln!(out, "  u{} {arrow} u{}", id_of(from), id_of(to));
        }
        out
    }
}

/// The shortest cycle through the smallest unit of a strongly connected component, for printing.
fn cycle_path(graph: &DiGraph<UnitId, EdgeKind>, component: &[NodeIndex]) -> Vec<UnitId> {
    let start = *component
        .iter()
        .min_by_key(|n| &graph[**n])
        .unwrap_or(&component[0]);
    let mut previous: HashMap<NodeIndex, NodeIndex> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut end = None;
    'search: while let Some(n) = queue.pop_front() {
        let mut next: Vec<_> = graph
            .neighbors_directed(n, petgraph::Direction::Outgoing)
            .filter(|m| component.contains(m))
            .collect();
        next.sort_by_key(|m| &graph[*m]);
        for m in next {
            if m == start {
                end = Some(n);
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = previous.entry(m) {
                e.insert(n);
                queue.push_back(m);
            }
        }
    }
    let mut path = vec![start];
    let mut current = end.unwrap_or(start);
    while current != start {
        path.push(current);
        current = previous.get(&current).copied().unwrap_or(start);
    }
    path[1..].reverse();
    path.push(start);
    path.into_iter().map(|n| graph[n].clone()).collect()
}

#[cfg(test)]
mod tests;
