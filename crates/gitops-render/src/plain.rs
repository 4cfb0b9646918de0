//! Plain manifest directories: every `*.yaml`, `*.yml` and `*.json` file below a directory,
//! recursively, skipping dotfiles and dot-directories. Files are read in path order, so the
//! output does not depend on the file system's listing order. A subdirectory with a
//! kustomization file is rendered as a kustomization and not descended into, as Flux does.
//!
//! Symbolic links are followed only to where they land inside the source's root (a link out of
//! it is an error naming the link), and each real directory is walked once, so links that loop
//! cannot make the walk explode.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitops_core::confine::Boundary;
use gitops_core::yaml::Schema;
use gitops_core::{SourcedObject, manifest};

use crate::{Error, RenderOptions};

/// Renders every manifest below `dir`, reading nothing outside `dir`.
///
/// # Errors
/// The first unreadable file or invalid manifest, with file, line and column; a link that
/// leads outside `dir`.
pub fn render_dir(dir: &Path) -> Result<Vec<SourcedObject>, Error> {
    let options = RenderOptions::default();
    render_dir_within(dir, &options.boundary(dir)?, &options)
}

/// Renders every manifest below `dir`, reading nothing outside `boundary`; subdirectories that
/// are kustomizations are rendered with `options`.
///
/// # Errors
/// As [`render_dir`].
pub fn render_dir_within(
    dir: &Path,
    boundary: &Boundary,
    options: &RenderOptions,
) -> Result<Vec<SourcedObject>, Error> {
    let is_manifest =
        |name: &str| name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json");
    let mut found = walk_manifests(dir, boundary, &is_manifest)?;
    found.sort_by(|a, b| a.path().cmp(b.path()));
    let options = options.clone().within(boundary.root());
    let mut objects = Vec::new();
    for item in found {
        match item {
            Found::Kustomization(path) => objects.extend(crate::render(&path, &options)?.objects),
            Found::Manifest(path) => objects.extend(render_file(&path)?),
        }
    }
    Ok(objects)
}

/// Renders one manifest file (YAML with any number of documents, or JSON).
///
/// # Errors
/// When the file cannot be read (or is not a regular file, or is too large) or is not valid.
pub fn render_file(file: &Path) -> Result<Vec<SourcedObject>, Error> {
    let text = gitops_core::confine::read_to_string(file).map_err(|source| Error::Read {
        path: file.to_owned(),
        source,
    })?;
    let name: Arc<Path> = Arc::from(file);
    let objects = if file.extension().is_some_and(|e| e == "json") {
        manifest::parse_json(&text, Some(name))?
    } else {
        manifest::parse_yaml(&text, Some(name), Schema::Yaml12)?
    };
    Ok(objects)
}

/// What a walk of a manifest directory found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found {
    /// A file whose name the walk wanted.
    Manifest(PathBuf),
    /// A directory holding a kustomization file (not descended into).
    Kustomization(PathBuf),
}

impl Found {
    /// The path, as reached from the walk's directory (links not resolved).
    pub(crate) fn path(&self) -> &Path {
        match self {
            Found::Manifest(p) | Found::Kustomization(p) => p,
        }
    }
}

/// Walks `dir` as Flux does for a directory without a kustomization file: in name order within
/// each directory, skipping dot-entries, stopping at kustomization directories, keeping files
/// whose name `wanted` accepts. Links are followed only inside `boundary` (a link leading out is
/// an error); a directory reached again through a link is not walked twice.
pub(crate) fn walk_manifests(
    dir: &Path,
    boundary: &Boundary,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Vec<Found>, Error> {
    let mut seen = HashSet::new();
    let real = boundary.resolve(dir).map_err(|source| Error::Read {
        path: dir.to_owned(),
        source,
    })?;
    seen.insert(real);
    let mut out = Vec::new();
    walk(dir, boundary, wanted, &mut seen, &mut out)?;
    Ok(out)
}

fn walk(
    dir: &Path,
    boundary: &Boundary,
    wanted: &dyn Fn(&str) -> bool,
    seen: &mut HashSet<PathBuf>,
    out: &mut Vec<Found>,
) -> Result<(), Error> {
    let read_err = |source| Error::Read {
        path: dir.to_owned(),
        source,
    };
    let mut entries = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let is_link = entry.file_type().map_err(read_err)?.is_symlink();
        entries.push((entry.file_name(), is_link));
    }
    entries.sort();
    for (name, is_link) in entries {
        let text = name.to_string_lossy();
        if text.starts_with('.') {
            continue;
        }
        let path = dir.join(&name);
        let resolve = || {
            boundary.resolve(&path).map_err(|source| Error::Read {
                path: path.clone(),
                source,
            })
        };
        let is_dir = path.is_dir();
        if is_dir {
            // Each real directory once: links back up the tree would otherwise multiply it.
            if !seen.insert(resolve()?) {
                continue;
            }
            if crate::KUSTOMIZATION_FILES
                .iter()
                .any(|f| path.join(f).is_file())
            {
                out.push(Found::Kustomization(path));
            } else {
                walk(&path, boundary, wanted, seen, out)?;
            }
        } else if wanted(&text) {
            // A link is judged by where it lands, before anything is read through it.
            if is_link {
                resolve()?;
            }
            out.push(Found::Manifest(path));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use gitops_core::error_chain;

    use super::*;

    #[test]
    fn reads_manifests_recursively_in_path_order_skipping_dotfiles() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("b/nested")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        let cm =
            |name: &str| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n");
        std::fs::write(root.join("b/nested/z.yaml"), cm("z")).unwrap();
        std::fs::write(root.join("a.yml"), cm("a")).unwrap();
        std::fs::write(
            root.join("c.json"),
            r#"{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "c"}}"#,
        )
        .unwrap();
        std::fs::write(root.join(".hidden.yaml"), cm("hidden")).unwrap();
        std::fs::write(root.join(".git/x.yaml"), "not: [valid").unwrap();
        std::fs::write(root.join("README.md"), "# not a manifest").unwrap();
        let objects = render_dir(root).unwrap();
        let names: Vec<_> = objects.iter().map(|o| o.object.name().to_owned()).collect();
        assert_eq!(names, ["a", "z", "c"]);
    }

    #[test]
    fn a_broken_file_is_named_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("bad.yaml"), "apiVersion: v1\nkind: [\n").unwrap();
        let err = render_dir(dir.path()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("bad.yaml:2:7:"), "{message}");
    }

    #[test]
    fn plain_directory_symlink_to_a_host_file_is_refused() {
        let outer = tempfile::tempdir().unwrap();
        let root = outer.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        let secret = outer.path().join("secret.yaml");
        std::fs::write(
            &secret,
            "apiVersion: v1\nkind: Secret\nmetadata: {name: leaked}\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(&secret, root.join("x.yaml")).unwrap();
        let err = render_dir(&root).unwrap_err();
        let message = error_chain(&err);
        assert!(
            message.contains("x.yaml") && message.contains("outside"),
            "{message}"
        );
    }

    #[test]
    fn plain_directory_symlink_to_dev_zero_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("x.yaml")).unwrap();
        let message = error_chain(&render_dir(dir.path()).unwrap_err());
        assert!(message.contains("x.yaml"), "{message}");
    }

    #[test]
    fn plain_directory_fifo_named_yaml_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("x.yaml");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        let message = error_chain(&render_dir(dir.path()).unwrap_err());
        assert!(message.contains("not a regular file"), "{message}");
    }

    #[test]
    fn plain_directory_links_to_itself_are_walked_once() {
        // Two links back to the root would make 2^depth paths if followed blindly.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(
            root.join("a.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        )
        .unwrap();
        std::os::unix::fs::symlink(".", root.join("l1")).unwrap();
        std::os::unix::fs::symlink(".", root.join("l2")).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
        let objects = render_dir(root).unwrap();
        assert_eq!(objects.len(), 1);
    }

    #[test]
    fn plain_directory_links_inside_the_root_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("shared")).unwrap();
        std::fs::write(
            root.join("shared/cm.yml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n",
        )
        .unwrap();
        std::fs::create_dir(root.join("app")).unwrap();
        std::os::unix::fs::symlink("../shared/cm.yml", root.join("app/cm.yaml")).unwrap();
        let boundary = Boundary::new(root).unwrap();
        let objects =
            render_dir_within(&root.join("app"), &boundary, &RenderOptions::default()).unwrap();
        assert_eq!(objects.len(), 1);
    }
}
