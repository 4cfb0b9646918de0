use std::path::PathBuf;

use gitops_core::ManifestError;

/// Why a kustomization could not be built. Every variant names the kustomization file (or the
/// file being read) and, where there is one, the field and the value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory could not be read.
    #[error("{}: cannot read `{}`: {source}", .kustomization.display(), .path.display())]
    Read {
        /// The kustomization file that asked for it.
        kustomization: PathBuf,
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A directory has no kustomization file.
    #[error("`{}` has no kustomization.yaml, kustomization.yml or Kustomization", .dir.display())]
    MissingKustomization {
        /// The directory.
        dir: PathBuf,
    },
    /// A directory has more than one kustomization file.
    #[error("`{}` has more than one kustomization file; keep one", .dir.display())]
    MultipleKustomizations {
        /// The directory.
        dir: PathBuf,
    },
    /// The kustomization file is not a valid kustomization.
    #[error("{}: {message}", .file.display())]
    Invalid {
        /// The kustomization file.
        file: PathBuf,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A field refers to something that cannot be used (missing file, file outside the root,
    /// remote URL, ...).
    #[error("{}: {field}: `{value}`: {message}", .file.display())]
    Field {
        /// The kustomization file.
        file: PathBuf,
        /// The field, such as `resources` or `patches[2].path`.
        field: String,
        /// The value in that field.
        value: String,
        /// What is wrong with it.
        message: String,
    },
    /// Kustomizations include each other in a cycle.
    #[error("kustomizations include each other in a cycle: {cycle}")]
    Cycle {
        /// The directories of the cycle, `a -> b -> a`.
        cycle: String,
    },
    /// A manifest could not be parsed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A transformation failed.
    #[error("{}: {message}", .file.display())]
    Transform {
        /// The kustomization file whose field asked for it.
        file: PathBuf,
        /// What went wrong, naming the field and objects.
        message: String,
    },
}

impl Error {
    pub(super) fn field(
        file: &std::path::Path,
        field: impl Into<String>,
        value: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self::Field {
            file: file.to_owned(),
            field: field.into(),
            value: value.into(),
            message: message.into(),
        }
    }

    pub(super) fn transform(file: &std::path::Path, message: impl Into<String>) -> Self {
        Self::Transform {
            file: file.to_owned(),
            message: message.into(),
        }
    }
}
