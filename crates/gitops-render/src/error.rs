use std::path::PathBuf;

use gitops_core::{DuplicateError, ManifestError};

use crate::SourceKind;

/// Why a source could not be rendered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read.
    #[error("cannot read `{}`", .path.display())]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A manifest file is not valid YAML/JSON or holds something that is not an object.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Two objects share an identity.
    #[error(transparent)]
    Duplicate(#[from] Box<DuplicateError>),
    /// A kustomization could not be built.
    #[error(transparent)]
    Kustomize(#[from] crate::kustomize::Error),
    /// A Helm chart could not be rendered.
    #[error(transparent)]
    Helm(#[from] crate::helm::HelmError),
    /// The source type is recognised but this build cannot render it yet.
    #[error("`{}` is a {kind} source, which is not supported yet", .path.display())]
    Unsupported {
        /// The path.
        path: PathBuf,
        /// What it was detected as.
        kind: SourceKind,
    },
}
