//! Reading files for a kustomization under its load restrictions: no remote URLs, and with
//! [`LoadRestrictor::RootOnly`] nothing outside the kustomization's directory.

use std::path::{Path, PathBuf};

use super::{Error, LoadRestrictor};

/// Whether `s` names a remote resource (URL or go-getter style repository).
pub(super) fn is_remote(s: &str) -> bool {
    s.contains("://")
        || s.starts_with("github.com/")
        || s.starts_with("gitlab.com/")
        || s.starts_with("bitbucket.org/")
        || s.starts_with("git@")
        || s.starts_with("git::")
}

/// The files of one kustomization.
#[derive(Debug, Clone)]
pub(super) struct Loader {
    /// The directory as the user named it (for messages and origins).
    pub dir: PathBuf,
    /// The directory, canonical (for restriction checks).
    pub root: PathBuf,
    /// The kustomization file (for messages).
    pub file: PathBuf,
    pub restrictor: LoadRestrictor,
    /// The source's root, which nothing may be read outside of whatever the restrictor says.
    pub boundary: Option<gitops_core::confine::Boundary>,
}

/// What a path in a kustomization field resolved to.
pub(super) enum Target {
    File { shown: PathBuf },
    Dir { shown: PathBuf, canonical: PathBuf },
}

impl Loader {
    /// Resolves `value` of `field`, checking it exists, is local, and (for files) is allowed.
    pub(super) fn resolve(&self, field: &str, value: &str) -> Result<Target, Error> {
        if is_remote(value) {
            return Err(Error::field(
                &self.file,
                field,
                value,
                "remote resources are not supported: gitops builds only from local files \
                 (vendor the remote base into the repository)",
            ));
        }
        let shown = self.dir.join(value);
        let canonical = std::fs::canonicalize(&shown).map_err(|e| {
            Error::field(
                &self.file,
                field,
                value,
                if e.kind() == std::io::ErrorKind::NotFound {
                    format!("`{}` does not exist", shown.display())
                } else {
                    format!("cannot read `{}`: {e}", shown.display())
                },
            )
        })?;
        if let Some(boundary) = &self.boundary
            && !canonical.starts_with(boundary.root())
        {
            return Err(Error::field(
                &self.file,
                field,
                value,
                format!(
                    "`{}` resolves to `{}`, outside the source `{}`: files are only read from \
                     inside the source",
                    shown.display(),
                    canonical.display(),
                    boundary.root().display()
                ),
            ));
        }
        if canonical.is_dir() {
            return Ok(Target::Dir {
                shown: normalize(&shown),
                canonical,
            });
        }
        self.check_restriction(field, value, &canonical)?;
        Ok(Target::File {
            shown: normalize(&shown),
        })
    }

    fn check_restriction(&self, field: &str, value: &str, canonical: &Path) -> Result<(), Error> {
        if self.restrictor == LoadRestrictor::RootOnly && !canonical.starts_with(&self.root) {
            return Err(Error::field(
                &self.file,
                field,
                value,
                format!(
                    "`{}` is outside the kustomization's directory `{}`; files may only be read \
                     from in or below it (load restrictor root-only; `--load-restrictor none` \
                     lifts this)",
                    canonical.display(),
                    self.root.display()
                ),
            ));
        }
        Ok(())
    }

    /// Reads the file `value` of `field`.
    pub(super) fn read(&self, field: &str, value: &str) -> Result<Vec<u8>, Error> {
        match self.resolve(field, value)? {
            Target::File { shown } => {
                gitops_core::confine::read_file(&shown).map_err(|source| Error::Read {
                    kustomization: self.file.clone(),
                    path: shown,
                    source,
                })
            }
            Target::Dir { shown, .. } => Err(Error::field(
                &self.file,
                field,
                value,
                format!("`{}` is a directory, expected a file", shown.display()),
            )),
        }
    }

    /// Reads the file `value` of `field` as UTF-8 text.
    pub(super) fn read_text(&self, field: &str, value: &str) -> Result<String, Error> {
        String::from_utf8(self.read(field, value)?)
            .map_err(|_| Error::field(&self.file, field, value, "the file is not valid UTF-8"))
    }
}

/// Removes `.` and resolves `..` lexically, so that origins read `base/x.yaml`, not
/// `overlay/../base/x.yaml`.
pub(super) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component<'_>> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(c),
            },
            c => out.push(c),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_are_recognised() {
        assert!(is_remote("https://github.com/x/y"));
        assert!(is_remote("github.com/x/y//z?ref=v1"));
        assert!(!is_remote("../base"));
    }

    #[test]
    fn normalize_resolves_parent_components() {
        assert_eq!(
            normalize(Path::new("a/b/../c/./d.yaml")),
            Path::new("a/c/d.yaml")
        );
        assert_eq!(normalize(Path::new("../x")), Path::new("../x"));
    }
}
