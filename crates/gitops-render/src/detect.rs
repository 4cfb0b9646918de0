//! Deciding what kind of source a path is.

use std::fmt;
use std::path::Path;

use crate::Error;

/// The kinds of source `gitops` renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SourceKind {
    /// A directory with `kustomization.yaml`, `kustomization.yml` or `Kustomization`.
    Kustomize,
    /// A directory with `Chart.yaml`, or a chart archive (`.tgz`).
    Helm,
    /// A directory with `*.jsonnet` files at its top, or a single `.jsonnet` file.
    Jsonnet,
    /// Any other directory: every manifest below it, recursively (as Flux treats it).
    Plain,
    /// A single YAML or JSON manifest file.
    PlainFile,
}

impl fmt::Display for SourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Kustomize => "Kustomize",
            Self::Helm => "Helm chart",
            Self::Jsonnet => "Jsonnet",
            Self::Plain => "plain manifest directory",
            Self::PlainFile => "manifest file",
        })
    }
}

/// File names that make a directory a kustomization, in kustomize's order of preference.
pub const KUSTOMIZATION_FILES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Looks at `path` and decides how to render it: kustomization file → Kustomize; `Chart.yaml` →
/// Helm; `*.jsonnet` at the top → Jsonnet; otherwise plain manifests.
///
/// # Errors
/// When `path` does not exist or cannot be read.
pub fn detect(path: &Path) -> Result<SourceKind, Error> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    if meta.is_file() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        return Ok(if name.ends_with(".jsonnet") {
            SourceKind::Jsonnet
        } else if name.ends_with(".tgz") || name.ends_with(".tar.gz") {
            SourceKind::Helm
        } else {
            SourceKind::PlainFile
        });
    }
    if KUSTOMIZATION_FILES.iter().any(|f| path.join(f).is_file()) {
        return Ok(SourceKind::Kustomize);
    }
    if path.join("Chart.yaml").is_file() {
        return Ok(SourceKind::Helm);
    }
    let entries = std::fs::read_dir(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".jsonnet") && entry.path().is_file() {
            return Ok(SourceKind::Jsonnet);
        }
    }
    Ok(SourceKind::Plain)
}
