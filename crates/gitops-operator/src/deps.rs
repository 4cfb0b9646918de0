//! `dependsOn` between units: which units depend on which, cycles, and whether a dependency is
//! ready for its dependents to start. Pure: the controller feeds it what its reflector store and
//! the API server say.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;

/// A unit's identity: namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

impl UnitKey {
    /// The key of `name` in `namespace`.
    #[must_use]
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for UnitKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Who depends on whom, among the units the operator sees.
#[derive(Debug, Clone, Default)]
pub struct DependencyGraph {
    depends_on: BTreeMap<UnitKey, Vec<UnitKey>>,
}

impl DependencyGraph {
    /// The graph of `units`, each with the units it depends on.
    #[must_use]
    pub fn new(units: impl IntoIterator<Item = (UnitKey, Vec<UnitKey>)>) -> Self {
        Self {
            depends_on: units.into_iter().collect(),
        }
    }

    /// The units that name `unit` in their `dependsOn`, sorted.
    #[must_use]
    pub fn dependents_of(&self, unit: &UnitKey) -> Vec<UnitKey> {
        self.depends_on
            .iter()
            .filter(|(_, deps)| deps.contains(unit))
            .map(|(key, _)| key.clone())
            .collect()
    }

    /// The shortest dependency cycle through `unit`, as the path `unit → … → unit` (first and
    /// last element equal), or `None` when `unit` is in no cycle. Ties are broken by name, so
    /// every unit of a cycle reports the same cycle, rotated.
    #[must_use]
    pub fn cycle_through(&self, unit: &UnitKey) -> Option<Vec<UnitKey>> {
        // Breadth-first from `unit` along dependsOn edges until we come back to it.
        let mut parent: BTreeMap<&UnitKey, &UnitKey> = BTreeMap::new();
        let mut seen: BTreeSet<&UnitKey> = BTreeSet::new();
        let mut queue: VecDeque<&UnitKey> = VecDeque::from([unit]);
        while let Some(current) = queue.pop_front() {
            let mut deps: Vec<&UnitKey> = self
                .depends_on
                .get(current)
                .map(|d| d.iter().collect())
                .unwrap_or_default();
            deps.sort();
            for dep in deps {
                if dep == unit {
                    let mut path = vec![unit.clone()];
                    let mut back = vec![];
                    let mut at = current;
                    while at != unit {
                        back.push(at.clone());
                        at = parent[at];
                    }
                    back.reverse();
                    path.extend(back);
                    path.push(unit.clone());
                    return Some(path);
                }
                if seen.insert(dep) {
                    parent.insert(dep, current);
                    queue.push_back(dep);
                }
            }
        }
        None
    }
}

/// Formats a cycle as `a → b → a` with namespaces left out when all units share one.
#[must_use]
pub fn describe_cycle(cycle: &[UnitKey]) -> String {
    let one_namespace = cycle.windows(2).all(|w| w[0].namespace == w[1].namespace);
    cycle
        .iter()
        .map(|k| {
            if one_namespace {
                k.name.clone()
            } else {
                k.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" → ")
}

/// What the operator knows about one dependency when its dependent wants to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyView {
    /// Its `Ready` condition is `True`.
    pub ready: bool,
    /// The message of its `Ready` condition.
    pub ready_message: Option<String>,
    /// `metadata.generation`.
    pub generation: Option<i64>,
    /// `status.observedGeneration`.
    pub observed_generation: Option<i64>,
    /// `status.lastAppliedRevision`.
    pub last_applied_revision: Option<String>,
    /// The revision of the artifact its source currently offers (`None`: no artifact yet).
    pub source_revision: Option<String>,
}

/// Whether a dependency lets its dependents start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DependencyState {
    /// Ready at the revision its source offers.
    Ready,
    /// Not ready; the reason is a sentence about the dependency.
    NotReady(String),
}

/// Judges a dependency: it must exist, be Ready for its current generation, and have applied the
/// revision its source offers now (so a dependent never runs against a stale dependency).
#[must_use]
pub fn dependency_state(view: Option<&DependencyView>) -> DependencyState {
    let Some(view) = view else {
        return DependencyState::NotReady("it does not exist".to_owned());
    };
    if view.generation.is_some() && view.observed_generation != view.generation {
        return DependencyState::NotReady(format!(
            "it has not reconciled generation {} yet",
            view.generation.unwrap_or_default()
        ));
    }
    if !view.ready {
        return DependencyState::NotReady(match &view.ready_message {
            Some(m) if !m.is_empty() => format!("it is not Ready: {m}"),
            _ => "it is not Ready yet".to_owned(),
        });
    }
    match (&view.source_revision, &view.last_applied_revision) {
        (None, _) => DependencyState::NotReady("its source has no artifact yet".to_owned()),
        (Some(source), Some(applied)) if source == applied => DependencyState::Ready,
        (Some(source), applied) => DependencyState::NotReady(format!(
            "it applied revision {} but its source is at {source}",
            applied.as_deref().unwrap_or("none")
        )),
    }
}

/// The message for the first dependency that is not ready, if any.
#[must_use]
pub fn first_not_ready(states: &[(UnitKey, DependencyState)]) -> Option<String> {
    states.iter().find_map(|(key, state)| match state {
        DependencyState::Ready => None,
        DependencyState::NotReady(why) => Some(format!("dependency '{key}' is not ready: {why}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> UnitKey {
        UnitKey::new("ns", name)
    }

    fn graph(edges: &[(&str, &[&str])]) -> DependencyGraph {
        DependencyGraph::new(
            edges
                .iter()
                .map(|(unit, deps)| (key(unit), deps.iter().map(|d| key(d)).collect())),
        )
    }

    #[test]
    fn dependents_are_the_units_naming_a_unit() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["a", "b"]), ("d", &["c"])]);
        assert_eq!(g.dependents_of(&key("a")), vec![key("b"), key("c")]);
        assert_eq!(g.dependents_of(&key("d")), Vec::<UnitKey>::new());
    }

    #[test]
    fn a_chain_has_no_cycle() {
        let g = graph(&[("a", &[]), ("b", &["a"]), ("c", &["b"])]);
        for unit in ["a", "b", "c"] {
            assert_eq!(g.cycle_through(&key(unit)), None);
        }
    }

    #[test]
    fn every_unit_of_a_cycle_reports_it_and_units_outside_do_not() {
        let g = graph(&[("a", &["c"]), ("b", &["a"]), ("c", &["b"]), ("d", &["a"])]);
        let cycle = g.cycle_through(&key("a")).unwrap();
        assert_eq!(describe_cycle(&cycle), "a → c → b → a");
        assert_eq!(
            describe_cycle(&g.cycle_through(&key("b")).unwrap()),
            "b → a → c → b"
        );
        assert_eq!(
            describe_cycle(&g.cycle_through(&key("c")).unwrap()),
            "c → b → a → c"
        );
        assert_eq!(g.cycle_through(&key("d")), None);
    }

    #[test]
    fn a_unit_depending_on_itself_is_a_cycle() {
        let g = graph(&[("a", &["a"])]);
        assert_eq!(
            describe_cycle(&g.cycle_through(&key("a")).unwrap()),
            "a → a"
        );
    }

    #[test]
    fn cycles_across_namespaces_name_the_namespaces() {
        let g = DependencyGraph::new([
            (UnitKey::new("x", "a"), vec![UnitKey::new("y", "b")]),
            (UnitKey::new("y", "b"), vec![UnitKey::new("x", "a")]),
        ]);
        let cycle = g.cycle_through(&UnitKey::new("x", "a")).unwrap();
        assert_eq!(describe_cycle(&cycle), "x/a → y/b → x/a");
    }

    fn ready_view() -> DependencyView {
        DependencyView {
            ready: true,
            ready_message: None,
            generation: Some(2),
            observed_generation: Some(2),
            last_applied_revision: Some("main@sha1:b".into()),
            source_revision: Some("main@sha1:b".into()),
        }
    }

    #[test]
    fn a_dependency_is_ready_only_at_its_sources_revision_and_generation() {
        assert_eq!(
            dependency_state(Some(&ready_view())),
            DependencyState::Ready
        );
        let missing = dependency_state(None);
        assert_eq!(
            missing,
            DependencyState::NotReady("it does not exist".into())
        );
        let stale = DependencyView {
            source_revision: Some("main@sha1:c".into()),
            ..ready_view()
        };
        assert_eq!(
            dependency_state(Some(&stale)),
            DependencyState::NotReady(
                "it applied revision main@sha1:b but its source is at main@sha1:c".into()
            )
        );
        let old_generation = DependencyView {
            generation: Some(3),
            ..ready_view()
        };
        assert!(matches!(
            dependency_state(Some(&old_generation)),
            DependencyState::NotReady(m) if m.contains("generation 3")
        ));
        let failing = DependencyView {
            ready: false,
            ready_message: Some("health check failed: Deployment/ns/web".into()),
            ..ready_view()
        };
        assert!(matches!(
            dependency_state(Some(&failing)),
            DependencyState::NotReady(m) if m.contains("Deployment/ns/web")
        ));
        let no_artifact = DependencyView {
            source_revision: None,
            ..ready_view()
        };
        assert!(matches!(
            dependency_state(Some(&no_artifact)),
            DependencyState::NotReady(m) if m.contains("no artifact")
        ));
    }

    #[test]
    fn the_first_unready_dependency_is_named() {
        let states = vec![
            (key("a"), DependencyState::Ready),
            (
                key("b"),
                DependencyState::NotReady("it does not exist".into()),
            ),
            (
                key("c"),
                DependencyState::NotReady("it is not Ready yet".into()),
            ),
        ];
        assert_eq!(
            first_not_ready(&states).as_deref(),
            Some("dependency 'ns/b' is not ready: it does not exist")
        );
        assert_eq!(first_not_ready(&states[..1]), None);
    }
}
