//! Writing the tree of a commit to a directory, filtered by the ignore rules, and reading an
//! artifact directory back as digest entries.

use std::path::{Component, Path, PathBuf};

use gix::bstr::ByteSlice as _;

use super::digest::{Entry, EntryKind, sha256_hex};
use super::error::{GitError, chain_text};
use super::ignore::{IgnoreRules, SOURCEIGNORE};

/// Why an export failed, before the caller adds the URL.
#[derive(Debug)]
pub(crate) enum ExportFailure {
    /// Reading objects from the repository failed.
    Repository(String),
    /// Writing files failed.
    Io(GitError),
}

fn repo_err(err: impl std::error::Error + 'static) -> ExportFailure {
    ExportFailure::Repository(chain_text(&err))
}

/// Whether a symbolic link at `path` (relative to the root) with `target` stays inside the root,
/// read on its own. Links that leave it are not exported: an artifact must not point at the
/// host's files. This is only the first filter: a chain of links that each pass it can still
/// climb out together, which [`remove_escaping_links`] catches once the whole tree is written.
pub(crate) fn link_stays_inside(path: &str, target: &str) -> bool {
    let target = Path::new(target);
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = path.matches('/').count() as i64;
    for component in target.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// Writes the tree of `commit` (hex) in `repo`, filtered by `rules`, into `dest` (an existing,
/// empty directory) and returns the entries written.
pub(crate) fn export_commit(
    repo: &gix::Repository,
    commit: &str,
    rules: &mut IgnoreRules,
    dest: &Path,
) -> Result<Vec<Entry>, ExportFailure> {
    let id = gix::ObjectId::from_hex(commit.as_bytes()).map_err(repo_err)?;
    let tree = repo
        .find_commit(id)
        .map_err(repo_err)?
        .tree_id()
        .map_err(repo_err)?
        .detach();
    let mut entries = Vec::new();
    export_tree(repo, tree, "", rules, dest, &mut entries)?;
    let removed = remove_escaping_links(dest).map_err(ExportFailure::Io)?;
    entries.retain(|e| !removed.contains(&e.path));
    Ok(entries)
}

/// Removes every symbolic link below `root` that, followed as a whole path with every other
/// link, does not end at something inside `root` (it leaves the tree, loops, or dangles), and
/// returns their paths relative to `root`. Removing a link can only make other links dangle,
/// never make them reach further, so one pass is enough.
pub(crate) fn remove_escaping_links(root: &Path) -> Result<Vec<String>, GitError> {
    let boundary = crate::confine::Boundary::new(root).map_err(GitError::io("resolving", root))?;
    let mut links = Vec::new();
    find_links(root, "", &mut links)?;
    let mut removed = Vec::new();
    for path in links {
        let full = root.join(&path);
        if let Err(why) = boundary.resolve(&full) {
            tracing::warn!(path, %why, "symbolic link left out of the artifact");
            std::fs::remove_file(&full).map_err(GitError::io("removing the link", &full))?;
            removed.push(path);
        }
    }
    Ok(removed)
}

/// The paths (relative to `root`) of the symbolic links below `root`, without following any.
fn find_links(root: &Path, prefix: &str, out: &mut Vec<String>) -> Result<(), GitError> {
    let dir = root.join(prefix);
    let read = std::fs::read_dir(&dir).map_err(GitError::io("reading the directory", &dir))?;
    for item in read {
        let item = item.map_err(GitError::io("reading the directory", &dir))?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let kind = item
            .file_type()
            .map_err(GitError::io("reading", &item.path()))?;
        if kind.is_symlink() {
            out.push(path);
        } else if kind.is_dir() {
            find_links(root, &path, out)?;
        }
    }
    Ok(())
}

fn export_tree(
    repo: &gix::Repository,
    tree_id: gix::ObjectId,
    prefix: &str,
    rules: &mut IgnoreRules,
    dest: &Path,
    entries: &mut Vec<Entry>,
) -> Result<(), ExportFailure> {
    let tree = repo.find_tree(tree_id).map_err(repo_err)?;
    let decoded = tree.decode().map_err(repo_err)?;
    // This directory's .sourceignore applies to its own entries: read it first.
    if let Some(ignore) = decoded
        .entries
        .iter()
        .find(|e| e.filename == SOURCEIGNORE && e.mode.is_blob())
    {
        let blob = repo.find_blob(ignore.oid).map_err(repo_err)?;
        rules.add_sourceignore(prefix, &blob.data);
    }
    let dir = dest.join(prefix);
    for entry in &decoded.entries {
        let name = entry.filename.to_str_lossy();
        if name.contains('/') || name == ".." || name == "." {
            continue;
        }
        let path = if prefix.is_empty() {
            name.into_owned()
        } else {
            format!("{prefix}/{name}")
        };
        let mode = entry.mode;
        if rules.is_ignored(&path, mode.is_tree()) {
            continue;
        }
        let target = dir.join(entry.filename.to_str_lossy().as_ref());
        if mode.is_tree() {
            std::fs::create_dir_all(&target)
                .map_err(|e| ExportFailure::Io(GitError::io("creating", &target)(e)))?;
            export_tree(repo, entry.oid.to_owned(), &path, rules, dest, entries)?;
        } else if mode.is_link() {
            let blob = repo.find_blob(entry.oid).map_err(repo_err)?;
            let link = blob.data.to_str_lossy().into_owned();
            if !link_stays_inside(&path, &link) {
                continue;
            }
            std::os::unix::fs::symlink(&link, &target)
                .map_err(|e| ExportFailure::Io(GitError::io("creating the link", &target)(e)))?;
            entries.push(Entry::new(path, EntryKind::Link, link.as_bytes()));
        } else if mode.is_blob() {
            let blob = repo.find_blob(entry.oid).map_err(repo_err)?;
            let kind = if mode.is_executable() {
                EntryKind::Executable
            } else {
                EntryKind::File
            };
            write_file(&target, &blob.data, kind).map_err(ExportFailure::Io)?;
            entries.push(Entry::new(path, kind, &blob.data));
        }
        // Submodules (commit entries) are not part of the artifact, as in Flux without
        // `recurseSubmodules`.
    }
    Ok(())
}

fn write_file(path: &Path, data: &[u8], kind: EntryKind) -> Result<(), GitError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, data).map_err(GitError::io("writing", path))?;
    if kind == EntryKind::Executable {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
            .map_err(GitError::io("setting permissions of", path))?;
    }
    Ok(())
}

/// The digest entries of the files below `dir`, read from disk; `.`-prefixed scratch
/// directories of the store are not part of an artifact and never occur inside one.
pub(crate) fn scan_dir(dir: &Path) -> Result<Vec<Entry>, GitError> {
    let mut entries = Vec::new();
    scan(dir, "", &mut entries)?;
    Ok(entries)
}

fn scan(root: &Path, prefix: &str, entries: &mut Vec<Entry>) -> Result<(), GitError> {
    use std::os::unix::fs::PermissionsExt as _;
    let dir: PathBuf = root.join(prefix);
    let read = std::fs::read_dir(&dir).map_err(GitError::io("reading the directory", &dir))?;
    for item in read {
        let item = item.map_err(GitError::io("reading the directory", &dir))?;
        let name = item.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let full = item.path();
        let meta = std::fs::symlink_metadata(&full).map_err(GitError::io("reading", &full))?;
        if meta.is_dir() {
            scan(root, &path, entries)?;
        } else if meta.file_type().is_symlink() {
            let target =
                std::fs::read_link(&full).map_err(GitError::io("reading the link", &full))?;
            entries.push(Entry::new(
                path,
                EntryKind::Link,
                target.to_string_lossy().as_bytes(),
            ));
        } else {
            let data = std::fs::read(&full).map_err(GitError::io("reading", &full))?;
            let kind = if meta.permissions().mode() & 0o111 != 0 {
                EntryKind::Executable
            } else {
                EntryKind::File
            };
            entries.push(Entry {
                path,
                kind,
                content_sha256: sha256_hex(&data),
            });
        }
    }
    Ok(())
}

/// Copies the directory tree `from` into `to` (created), keeping links and executable bits.
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<(), GitError> {
    std::fs::create_dir_all(to).map_err(GitError::io("creating", to))?;
    let read = std::fs::read_dir(from).map_err(GitError::io("reading the directory", from))?;
    for item in read {
        let item = item.map_err(GitError::io("reading the directory", from))?;
        let src = item.path();
        let dst = to.join(item.file_name());
        let meta = std::fs::symlink_metadata(&src).map_err(GitError::io("reading", &src))?;
        if meta.is_dir() {
            copy_tree(&src, &dst)?;
        } else if meta.file_type().is_symlink() {
            let target =
                std::fs::read_link(&src).map_err(GitError::io("reading the link", &src))?;
            std::os::unix::fs::symlink(&target, &dst)
                .map_err(GitError::io("creating the link", &dst))?;
        } else {
            std::fs::copy(&src, &dst).map_err(GitError::io("copying to", &dst))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_must_stay_inside_the_artifact() {
        assert!(link_stays_inside("a", "b"));
        assert!(link_stays_inside("dir/a", "../b"));
        assert!(link_stays_inside("dir/a", "./x/../b"));
        assert!(!link_stays_inside("a", "../b"));
        assert!(!link_stays_inside("dir/a", "../../etc/passwd"));
        assert!(!link_stays_inside("a", "/etc/passwd"));
    }
}
