//! Plain manifest directories: every `*.yaml`, `*.yml` and `*.json` file below a directory,
//! recursively, skipping dotfiles and dot-directories. Files are read in path order, so the
//! output does not depend on the file system's listing order. A subdirectory with a
//! kustomization file is rendered as a kustomization and not descended into, as Flux does.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitops_core::yaml::Schema;
use gitops_core::{SourcedObject, manifest};

use crate::Error;

/// Renders every manifest below `dir`.
///
/// # Errors
/// The first unreadable file or invalid manifest, with file, line and column.
pub fn render_dir(dir: &Path) -> Result<Vec<SourcedObject>, Error> {
    let mut files = Vec::new();
    collect_files(dir, &mut files)?;
    files.sort();
    let mut objects = Vec::new();
    for file in files {
        if file.is_dir() {
            objects.extend(crate::render(&file, &crate::RenderOptions::default())?.objects);
        } else {
            objects.extend(render_file(&file)?);
        }
    }
    Ok(objects)
}

/// Renders one manifest file (YAML with any number of documents, or JSON).
///
/// # Errors
/// When the file cannot be read or is not valid.
pub fn render_file(file: &Path) -> Result<Vec<SourcedObject>, Error> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Read {
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

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let read_err = |source| Error::Read {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let file_type = entry.file_type().map_err(read_err)?;
        if file_type.is_dir() || (file_type.is_symlink() && path.is_dir()) {
            if crate::KUSTOMIZATION_FILES
                .iter()
                .any(|f| path.join(f).is_file())
            {
                out.push(path);
            } else {
                collect_files(&path, out)?;
            }
        } else if name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
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
}
