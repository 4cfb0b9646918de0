//! What the cluster commands share: rendering the source, connecting, naming the unit.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use gitops_core::cluster::{ApplyOptions, Discovery, InventoryLocation, client_from_kubeconfig};
use gitops_core::git::url::is_remote_url;
use gitops_core::{Object, order};
use gitops_render::RenderOptions;

use super::git_url;
use crate::cli::{ClusterArgs, SourceArgs};

/// A rendered source: its directory and objects in apply order.
pub(crate) struct Source {
    /// The directory or file that was rendered.
    pub(crate) path: PathBuf,
    /// What to name the unit after when no `--inventory-name` is given, when not the path's
    /// file name (a Git source: the repository or the `--path` directory).
    pub(crate) name: Option<String>,
    /// The objects.
    pub(crate) objects: Vec<Object>,
}

/// Renders the source named by the arguments.
pub(crate) fn render(args: &SourceArgs) -> anyhow::Result<Source> {
    if let Some(unit) = &args.unit {
        bail!(
            "--unit {unit}: applying a unit of a repository plan needs the repository model, \
             which this version does not have yet; pass the unit's directory as SOURCE"
        );
    }
    let (path, name, root) = if is_remote_url(&args.source) {
        let sub = args.path.as_ref().map(|p| p.to_string_lossy().into_owned());
        let (root, path) = match &sub {
            Some(sub) => git_url::local_dir(&args.source, sub, &args.git)?,
            None => {
                let root = git_url::local_repo(&args.source, &args.git)?;
                (root.clone(), root)
            }
        };
        // The artifact directory is named after its digest, which changes with every commit:
        // the unit is named after the repository (or the directory in it) instead.
        let name = sub
            .as_deref()
            .and_then(|s| Path::new(s).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| repository_name(&args.source));
        (path, Some(name), Some(root))
    } else {
        let mut path = PathBuf::from(&args.source);
        if let Some(sub) = &args.path {
            path = path.join(sub);
        }
        let root = super::build::work_tree_of(&path);
        (path, None, root)
    };
    let mut options = RenderOptions::default();
    options.root = root;
    let rendered = gitops_render::render(&path, &options)?;
    let mut objects: Vec<Object> = rendered.objects.into_iter().map(|o| o.object).collect();
    order::sort_for_apply(&mut objects);
    Ok(Source {
        path,
        name,
        objects,
    })
}

/// The last path segment of a Git URL without `.git`: `fleet` for `https://host/org/fleet.git`.
fn repository_name(url: &str) -> String {
    let trimmed = url.trim_end_matches('/');
    let last = trimmed.rsplit(['/', ':']).next().unwrap_or(trimmed);
    last.strip_suffix(".git").unwrap_or(last).to_owned()
}

/// A Kubernetes client and discovery cache for the cluster arguments.
pub(crate) async fn connect(args: &ClusterArgs) -> anyhow::Result<Discovery> {
    let client = client_from_kubeconfig(args.kubeconfig.as_deref(), args.context.as_deref())
        .await
        .context("cannot connect to the cluster")?;
    Ok(Discovery::new(client))
}

/// The unit's inventory location: `--inventory-name`, else the source directory's name made a
/// DNS label.
pub(crate) fn inventory(args: &ClusterArgs, source: &Source) -> anyhow::Result<InventoryLocation> {
    let name = match (&args.inventory_name, &source.name) {
        (Some(name), _) => name.clone(),
        (None, Some(name)) => dns_label(name),
        (None, None) => {
            let full = std::fs::canonicalize(&source.path).unwrap_or_else(|_| source.path.clone());
            let base = full
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            dns_label(&base)
        }
    };
    if name.is_empty() {
        bail!(
            "cannot name the unit after `{}`: pass --inventory-name",
            source.path.display()
        );
    }
    Ok(InventoryLocation::for_unit(
        &args.inventory_namespace,
        &name,
    ))
}

fn dns_label(text: &str) -> String {
    let mapped: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut label = mapped.trim_matches('-').to_owned();
    label.truncate(46);
    label.trim_end_matches('-').to_owned()
}

/// Apply options from the cluster arguments.
pub(crate) fn apply_options(args: &ClusterArgs) -> ApplyOptions {
    ApplyOptions {
        field_manager: args.field_manager.clone(),
        default_namespace: args.namespace.clone(),
        ..ApplyOptions::default()
    }
}

/// A runtime for one command.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

#[cfg(test)]
mod tests {
    #[test]
    fn unit_names_are_dns_labels() {
        assert_eq!(super::dns_label("My_App.v2"), "my-app-v2");
        assert_eq!(super::dns_label("--"), "");
    }

    #[test]
    fn git_units_are_named_after_the_repository() {
        assert_eq!(super::repository_name("https://h/org/fleet.git"), "fleet");
        assert_eq!(super::repository_name("git@h:org/fleet.git/"), "fleet");
        assert_eq!(super::repository_name("ssh://h/fleet"), "fleet");
    }
}
