use std::path::PathBuf;

use gitops_core::{DuplicateError, ManifestError};

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
    /// A Jsonnet program failed or its output is not objects.
    #[error(transparent)]
    Jsonnet(#[from] crate::jsonnet::JsonnetError),
    /// Post-build substitution failed.
    #[error(transparent)]
    Substitute(#[from] crate::substitute::SubstituteError),
    /// A unit's path or overlay cannot be built.
    #[error(transparent)]
    Unit(#[from] crate::unit::UnitError),
    /// Two objects share an identity.
    #[error(transparent)]
    Duplicate(#[from] Box<DuplicateError>),
    /// A kustomization could not be built.
    #[error(transparent)]
    Kustomize(#[from] crate::kustomize::Error),
    /// A Helm chart could not be rendered.
    #[error(transparent)]
    Helm(#[from] crate::helm::HelmError),
}
