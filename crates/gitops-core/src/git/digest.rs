//! The digest of an artifact: sha256 over a canonical listing of its files, so that the same tree
//! gives the same digest on any machine, whatever the file system's order, timestamps or owners.
//!
//! The listing has one line per file, sorted by path (bytewise):
//! `<kind> <sha256 of content, hex> <path>\n`, where kind is `file`, `exec` (executable file) or
//! `link` (symbolic link; the content is the link target). Directories are implied by paths;
//! empty directories do not count, as Git does not store them.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

/// The kind of an artifact entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EntryKind {
    /// A regular file.
    File,
    /// An executable file.
    Executable,
    /// A symbolic link.
    Link,
}

impl EntryKind {
    fn tag(self) -> &'static str {
        match self {
            EntryKind::File => "file",
            EntryKind::Executable => "exec",
            EntryKind::Link => "link",
        }
    }
}

/// One file of an artifact, as the digest sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Slash-separated path relative to the artifact root.
    pub path: String,
    /// What it is.
    pub kind: EntryKind,
    /// sha256 of the content (of the link target for links), lowercase hex.
    pub content_sha256: String,
}

impl Entry {
    /// An entry for `content` at `path`.
    pub fn new(path: impl Into<String>, kind: EntryKind, content: &[u8]) -> Entry {
        Entry {
            path: path.into(),
            kind,
            content_sha256: sha256_hex(content),
        }
    }
}

/// sha256 of `data`, lowercase hex.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The canonical listing of `entries` (sorted here; input order does not matter).
pub fn listing(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.path.as_bytes().cmp(b.path.as_bytes()));
    let mut out = String::new();
    for e in sorted {
        let _ = writeln!(out, "{} {} {}", e.kind.tag(), e.content_sha256, e.path);
    }
    out
}

/// The artifact digest, `sha256:<hex>` of the canonical listing.
pub fn digest(entries: &[Entry]) -> String {
    format!("sha256:{}", sha256_hex(listing(entries).as_bytes()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn listing_is_sorted_and_names_kind_hash_and_path() {
        let entries = [
            Entry::new("b/run.sh", EntryKind::Executable, b"#!/bin/sh\n"),
            Entry::new("a.yaml", EntryKind::File, b""),
            Entry::new("b/link", EntryKind::Link, b"../a.yaml"),
        ];
        let text = listing(&entries);
        let lines: Vec<_> = text.lines().collect();
        assert_eq!(
            lines[0],
            "file e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 a.yaml"
        );
        assert!(lines[1].starts_with("link ") && lines[1].ends_with(" b/link"));
        assert!(lines[2].starts_with("exec ") && lines[2].ends_with(" b/run.sh"));
    }

    #[test]
    fn one_changed_byte_or_mode_changes_the_digest() {
        let base = [Entry::new("a", EntryKind::File, b"hello")];
        let byte = [Entry::new("a", EntryKind::File, b"hellp")];
        let mode = [Entry::new("a", EntryKind::Executable, b"hello")];
        let name = [Entry::new("b", EntryKind::File, b"hello")];
        let d = digest(&base);
        assert!(d.starts_with("sha256:") && d.len() == 7 + 64);
        assert_ne!(d, digest(&byte));
        assert_ne!(d, digest(&mode));
        assert_ne!(d, digest(&name));
    }

    proptest! {
        #[test]
        fn digest_does_not_depend_on_entry_order(
            files in proptest::collection::btree_map("[a-z]{1,3}(/[a-z]{1,3}){0,2}", any::<Vec<u8>>(), 0..12),
            seed in any::<u64>(),
        ) {
            let entries: Vec<Entry> = files
                .iter()
                .map(|(p, c)| Entry::new(p.clone(), EntryKind::File, c))
                .collect();
            let mut shuffled = entries.clone();
            // A deterministic permutation from the seed.
            let n = shuffled.len();
            for i in 0..n {
                let j = (seed.wrapping_mul(i as u64 + 7) % n as u64) as usize;
                shuffled.swap(i, j);
            }
            prop_assert_eq!(digest(&entries), digest(&shuffled));
        }
    }
}
