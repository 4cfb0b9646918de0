//! Where a unit's files are: in this repository, in a directory the user mapped, or elsewhere.

use std::path::{Component, Path, PathBuf};

use gitops_core::unit::{Unit, UnitBody};
use serde::Serialize;

use super::RepoOptions;

/// Where a unit's files come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Location {
    /// A directory on this machine (in the repository, or a mapped source).
    Local {
        /// The directory to render.
        dir: PathBuf,
        /// The source the unit names, for display (`GitRepository/flux-system/flux-system`).
        source: String,
        /// The root of that source, which the unit's other paths (a chart's `valuesFiles`) are
        /// relative to.
        #[serde(skip)]
        source_root: PathBuf,
    },
    /// Not available offline.
    External {
        /// What it is and why it is not rendered.
        reason: String,
    },
}

/// The names of `GitRepository` sources that stand for "this repository".
#[derive(Debug, Clone, Default)]
pub(super) struct SelfSources {
    pub(super) names: Vec<(String, String)>,
    /// Take every `GitRepository` for this repository (used to find the root unit).
    pub(super) any: bool,
}

impl SelfSources {
    fn contains(&self, namespace: &str, name: &str) -> bool {
        // Flux's bootstrap names the repository's own source `flux-system`.
        self.any
            || name == "flux-system"
            || self
                .names
                .iter()
                .any(|(ns, n)| ns == namespace && n == name)
    }
}

/// Normalises a path written in a unit (`./apps/../apps/x`) relative to `base`, refusing to leave
/// `base`.
pub(super) fn join_inside(base: &Path, relative: &str) -> Option<PathBuf> {
    let mut out = base.to_path_buf();
    let mut depth = 0usize;
    for component in Path::new(relative).components() {
        match component {
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            Component::ParentDir => {
                if depth == 0 {
                    return None;
                }
                depth -= 1;
                out.pop();
            }
            Component::Normal(part) => {
                depth += 1;
                out.push(part);
            }
        }
    }
    Some(out)
}

/// Decides where `unit`'s files are.
pub(super) fn locate(
    unit: &Unit,
    root: &Path,
    options: &RepoOptions,
    selves: &SelfSources,
) -> Location {
    let namespace = unit.id.namespace.as_str();
    let git_dir = |kind: &str, name: &str, ns: Option<&str>, path: &str| -> Location {
        let ns = ns.unwrap_or(namespace);
        let source = format!("{kind}/{ns}/{name}");
        let base = if let Some(dir) = options.sources.get(name) {
            dir.clone()
        } else if kind == "GitRepository" && selves.contains(ns, name) {
            root.to_path_buf()
        } else {
            return Location::External {
                reason: format!(
                    "source {source} is not this repository (map it with --source {name}=DIR)"
                ),
            };
        };
        match join_inside(&base, path) {
            Some(dir) => Location::Local {
                dir,
                source,
                source_root: base,
            },
            None => Location::External {
                reason: format!("path `{path}` leaves the source {source}"),
            },
        }
    };
    match &unit.body {
        UnitBody::Kustomization(spec) => git_dir(
            &spec.source_ref.kind,
            &spec.source_ref.name,
            spec.source_ref.namespace.as_deref(),
            spec.path.as_deref().unwrap_or("."),
        ),
        UnitBody::HelmRelease(spec) => match &spec.chart {
            Some(chart) if chart.spec.source_ref.kind == "HelmRepository" => Location::External {
                reason: format!(
                    "chart `{}` {} from HelmRepository/{}/{}",
                    chart.spec.chart,
                    chart.spec.version.as_deref().unwrap_or("(latest)"),
                    chart
                        .spec
                        .source_ref
                        .namespace
                        .as_deref()
                        .unwrap_or(namespace),
                    chart.spec.source_ref.name
                ),
            },
            Some(chart) => git_dir(
                &chart.spec.source_ref.kind,
                &chart.spec.source_ref.name,
                chart.spec.source_ref.namespace.as_deref(),
                &chart.spec.chart,
            ),
            None => Location::External {
                reason: "chart from a chartRef source".to_owned(),
            },
        },
        UnitBody::Application(spec) => {
            let Some(source) = spec
                .source
                .as_ref()
                .or_else(|| spec.sources.iter().find(|s| s.path.is_some()))
            else {
                return Location::External {
                    reason: "application has no source".to_owned(),
                };
            };
            if let Some(plugin) = &source.plugin {
                let name = plugin
                    .get("name")
                    .and_then(serde_json::Value::as_str)
                    .unwrap_or("(discovered)");
                return Location::External {
                    reason: format!(
                        "rendered by the config management plugin `{name}`, which runs only in \
                         Argo CD's repo server"
                    ),
                };
            }
            if let Some(chart) = &source.chart {
                return Location::External {
                    reason: format!("chart `{chart}` from Helm repository {}", source.repo_url),
                };
            }
            let path = source.path.as_deref().unwrap_or(".");
            let mapped = options.sources.get(&source.repo_url);
            let base = mapped.map_or(root, PathBuf::as_path);
            match join_inside(base, path).filter(|d| mapped.is_some() || d.is_dir()) {
                Some(dir) => Location::Local {
                    dir,
                    source: source.repo_url.clone(),
                    source_root: base.to_path_buf(),
                },
                None => Location::External {
                    reason: format!(
                        "path `{path}` of {} is not in this repository (map it with --source {}=DIR)",
                        source.repo_url, source.repo_url
                    ),
                },
            }
        }
        _ => Location::External {
            reason: "unsupported unit kind".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_their_source() {
        let base = Path::new("/repo");
        assert_eq!(
            join_inside(base, "./apps/../apps/x"),
            Some(PathBuf::from("/repo/apps/x"))
        );
        assert_eq!(join_inside(base, "."), Some(PathBuf::from("/repo")));
        assert_eq!(join_inside(base, "../other"), None);
    }
}
