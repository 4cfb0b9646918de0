//! Reading a repository's files without leaving it.
//!
//! A repository is untrusted input: its author chooses every path and every symbolic link in
//! it. Checking each link on its own is not enough (`.l0 → .`, `.l1 → .l0/..` each look
//! harmless, together they climb out), so a path is judged by where the operating system
//! finally lands after resolving every link in it, as a whole: [`Boundary::resolve`]. Reads go
//! through [`read_file`], which refuses anything that is not a regular file (a FIFO would block
//! forever, `/dev/zero` never ends) and anything larger than [`MAX_FILE_BYTES`].

use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The largest single file a renderer reads. Large CRD bundles are a few MiB; anything near
/// this limit is a mistake or an attack, and reading it whole would cost that much memory per
/// render.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// A directory that reads must stay inside: a repository's root, a chart's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Boundary {
    /// The directory, canonical (every link resolved), so that prefix checks are exact.
    root: PathBuf,
}

impl Boundary {
    /// The boundary at `root`, which must exist.
    ///
    /// # Errors
    /// When `root` cannot be resolved (missing, unreadable, a link loop).
    pub fn new(root: &Path) -> std::io::Result<Self> {
        let root = std::fs::canonicalize(root).map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot resolve `{}`: {e}", root.display()),
            )
        })?;
        Ok(Self { root })
    }

    /// The canonical root directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `path` really is, every link in it followed, if that is at or below the root.
    ///
    /// # Errors
    /// `PermissionDenied` naming both paths when it resolves outside; the operating system's
    /// error (not found, too many links) when it cannot be resolved.
    pub fn resolve(&self, path: &Path) -> std::io::Result<PathBuf> {
        let real = std::fs::canonicalize(path)?;
        if real.starts_with(&self.root) {
            Ok(real)
        } else {
            Err(outside(path, &real, &self.root))
        }
    }

    /// Whether `path` resolves to something at or below the root.
    #[must_use]
    pub fn contains(&self, path: &Path) -> bool {
        self.resolve(path).is_ok()
    }

    /// Reads the file `path` after checking that it resolves inside the root ([`read_file`]'s
    /// limits apply).
    ///
    /// # Errors
    /// As [`Boundary::resolve`] and [`read_file`].
    pub fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        read_file(&self.resolve(path)?)
    }

    /// [`Boundary::read`] as UTF-8 text.
    ///
    /// # Errors
    /// As [`Boundary::read`], and `InvalidData` for text that is not UTF-8.
    pub fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        into_text(self.read(path)?)
    }
}

fn outside(path: &Path, real: &Path, root: &Path) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::PermissionDenied,
        format!(
            "`{}` resolves to `{}`, outside `{}`: files are only read from inside the source",
            path.display(),
            real.display(),
            root.display()
        ),
    )
}

/// Reads `path` if it is a regular file of at most [`MAX_FILE_BYTES`] (links followed).
///
/// # Errors
/// `InvalidInput` for a directory, FIFO, socket or device; `FileTooLarge` past the limit (also
/// when the file grows while it is read); any error of the operating system.
pub fn read_file(path: &Path) -> std::io::Result<Vec<u8>> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "`{}` is not a regular file (a directory, FIFO, socket or device)",
                path.display()
            ),
        ));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path, meta.len()));
    }
    let file = std::fs::File::open(path)?;
    let mut data = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    file.take(MAX_FILE_BYTES + 1).read_to_end(&mut data)?;
    if data.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, data.len() as u64));
    }
    Ok(data)
}

/// [`read_file`] as UTF-8 text.
///
/// # Errors
/// As [`read_file`], and `InvalidData` for text that is not UTF-8.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    into_text(read_file(path)?)
}

fn into_text(data: Vec<u8>) -> std::io::Result<String> {
    String::from_utf8(data).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not valid UTF-8 (at byte {})", e.utf8_error().valid_up_to()),
        )
    })
}

fn too_large(path: &Path, size: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::FileTooLarge,
        format!(
            "`{}` is {size} bytes, more than the {} bytes a source file may have",
            path.display(),
            MAX_FILE_BYTES
        ),
    )
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use super::*;

    #[test]
    fn symlink_chain_that_climbs_out_link_by_link_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let outer = tmp.path();
        let root = outer.join("repo");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(outer.join("secret"), "token").unwrap();
        // Each link stays inside on its own; followed together they leave the root.
        symlink(".", root.join(".l0")).unwrap();
        symlink(".l0/..", root.join(".l1")).unwrap();
        symlink(".l1/secret", root.join("leak.yaml")).unwrap();
        let boundary = Boundary::new(&root).unwrap();
        let err = boundary.read(&root.join("leak.yaml")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::PermissionDenied);
        assert!(err.to_string().contains("outside"), "{err}");
    }

    #[test]
    fn links_inside_the_root_are_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        std::fs::create_dir_all(root.join("a")).unwrap();
        std::fs::write(root.join("a/x.yaml"), "x: 1").unwrap();
        symlink("a/x.yaml", root.join("y.yaml")).unwrap();
        let boundary = Boundary::new(root).unwrap();
        assert_eq!(
            boundary.read_to_string(&root.join("y.yaml")).unwrap(),
            "x: 1"
        );
    }

    #[test]
    fn devices_and_fifos_are_not_read() {
        let err = read_file(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join("x.yaml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(status.success());
        let err = read_file(&fifo).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    }
}
