//! Shared by the commands that read a whole repository: discovery and unit selection.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, bail};
use gitops_core::SourcedObject;
use gitops_core::unit::UnitId;
use gitops_render::repo::{self, Discovery, RepoOptions};

use crate::cli::{GitArgs, RepoArgs};

/// Discovers the repository the arguments name.
pub(crate) fn discover(args: &RepoArgs) -> anyhow::Result<Discovery> {
    if !args.repo.is_dir() {
        bail!("repository `{}` is not a directory", args.repo.display());
    }
    let sources: BTreeMap<_, _> = args.sources.iter().cloned().collect();
    let options = RepoOptions::with_sources(sources);
    Ok(repo::discover(&args.repo, &args.entry, &options))
}

/// Finds a unit by `NAME`, `NAMESPACE/NAME` or `KIND/NAMESPACE/NAME`.
pub(crate) fn find_unit(discovery: &Discovery, wanted: &str) -> anyhow::Result<UnitId> {
    let matches: Vec<&UnitId> = discovery
        .units
        .iter()
        .map(|d| &d.unit.id)
        .filter(|id| {
            wanted == id.name
                || wanted == format!("{}/{}", id.namespace, id.name)
                || wanted == id.to_string()
        })
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => {
            let known: Vec<_> = discovery
                .units
                .iter()
                .map(|d| d.unit.id.to_string())
                .collect();
            bail!(
                "no unit `{wanted}` in `{}` at path `{}`\n  hint: units found: {}",
                discovery.root.display(),
                discovery.entry,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )
        }
        many => {
            let names: Vec<_> = many.iter().map(ToString::to_string).collect();
            bail!("unit `{wanted}` is ambiguous: {}", names.join(", "))
        }
    }
}

/// Renders one unit of a repository.
pub(crate) fn render_unit(
    repo: &Path,
    entry: &str,
    unit: &str,
) -> anyhow::Result<Vec<SourcedObject>> {
    let args = RepoArgs {
        repo: repo.to_owned(),
        entry: entry.to_owned(),
        sources: Vec::new(),
        git: GitArgs::default(),
    };
    let discovery = discover(&args)?;
    let id = find_unit(&discovery, unit)?;
    let found = discovery
        .units
        .into_iter()
        .find(|d| d.unit.id == id)
        .context("unit vanished")?;
    match found.output {
        Some(Ok(objects)) => Ok(objects),
        Some(Err(error)) => bail!("unit {id} failed to render: {error}"),
        None => match found.location {
            repo::Location::External { reason } => {
                bail!("unit {id} is not rendered offline: {reason}")
            }
            _ => bail!("unit {id} was not rendered"),
        },
    }
}
