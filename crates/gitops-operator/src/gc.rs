//! Garbage collection of stored artifacts: every fetch of a new revision stores a new
//! content-addressed directory, and nothing else removes the old ones. A directory is removed
//! when no GitRepository's `status.artifact.path` names it any more and it is older than a grace
//! period, so that a unit still rendering a revision that was just replaced is not disturbed.

use std::collections::BTreeSet;
use std::time::Duration;

/// How long an unreferenced artifact (or an abandoned staging directory) is kept.
pub const GRACE: Duration = Duration::from_secs(600);

/// One directory of the artifact store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDir {
    /// Its name (the digest's hex, or `.staging-…`).
    pub name: String,
    /// Time since it was last modified.
    pub age: Duration,
}

/// The directories to remove: unreferenced and older than `grace`. `referenced` holds directory
/// names (the last component of each `status.artifact.path`).
#[must_use]
pub fn garbage(dirs: &[StoredDir], referenced: &BTreeSet<String>, grace: Duration) -> Vec<String> {
    dirs.iter()
        .filter(|d| !referenced.contains(&d.name) && d.age >= grace)
        .map(|d| d.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str, secs: u64) -> StoredDir {
        StoredDir {
            name: name.into(),
            age: Duration::from_secs(secs),
        }
    }

    #[test]
    fn only_old_unreferenced_directories_go() {
        let dirs = [
            dir("aaa", 10_000),
            dir("bbb", 10_000),
            dir("ccc", 5),
            dir(".staging-x", 10_000),
        ];
        let referenced: BTreeSet<String> = ["bbb".to_owned()].into();
        assert_eq!(garbage(&dirs, &referenced, GRACE), ["aaa", ".staging-x"]);
        assert!(garbage(&dirs, &referenced, Duration::from_secs(100_000)).is_empty());
    }
}
