//! Which commit a [`GitRef`] means, given the references a remote advertises: Flux's rules, as
//! pure functions.
//!
//! Precedence when several fields are set: `commit` > `name` > `semver` > `tag` > `branch`; with
//! none set, the remote's default branch (what its `HEAD` points to). A `semver` range picks the
//! highest tag that parses as a version (an optional leading `v` is allowed) and satisfies the
//! range; tags that are not versions are ignored.

use std::fmt;

/// A reference to check out, as in Flux's `GitRepository.spec.ref`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GitRef {
    /// A branch name (`main`).
    pub branch: Option<String>,
    /// A tag name (`v1.2.3`).
    pub tag: Option<String>,
    /// A semver range over the tags (`>=1.0.0, <2.0.0`, `1.x` is not semver syntax: use `1`).
    pub semver: Option<String>,
    /// A full reference name (`refs/heads/main`, `refs/pull/1/head`).
    pub name: Option<String>,
    /// A full commit id (40 hex digits); with `branch` set, the revision is named after the branch.
    pub commit: Option<String>,
}

impl GitRef {
    /// A reference to `branch`.
    pub fn branch(branch: impl Into<String>) -> GitRef {
        GitRef {
            branch: Some(branch.into()),
            ..GitRef::default()
        }
    }

    /// The kind of reference that wins under Flux's precedence.
    pub fn effective(&self) -> Wanted<'_> {
        if let Some(commit) = &self.commit {
            Wanted::Commit {
                commit,
                branch: self.branch.as_deref(),
            }
        } else if let Some(name) = &self.name {
            Wanted::Name(name)
        } else if let Some(range) = &self.semver {
            Wanted::Semver(range)
        } else if let Some(tag) = &self.tag {
            Wanted::Tag(tag)
        } else if let Some(branch) = &self.branch {
            Wanted::Branch(branch)
        } else {
            Wanted::DefaultBranch
        }
    }
}

impl fmt::Display for GitRef {
    /// The reference as a user wrote it, for error messages: `branch main`, `semver >=1.0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.effective() {
            Wanted::Commit { commit, .. } => write!(f, "commit {commit}"),
            Wanted::Name(name) => write!(f, "ref {name}"),
            Wanted::Semver(range) => write!(f, "semver {range}"),
            Wanted::Tag(tag) => write!(f, "tag {tag}"),
            Wanted::Branch(branch) => write!(f, "branch {branch}"),
            Wanted::DefaultBranch => f.write_str("the default branch"),
        }
    }
}

/// The one reference kind that [`GitRef::effective`] selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted<'a> {
    /// An exact commit, optionally named after a branch.
    Commit {
        /// The commit id.
        commit: &'a str,
        /// The branch the revision string is named after.
        branch: Option<&'a str>,
    },
    /// A full reference name.
    Name(&'a str),
    /// A semver range over tags.
    Semver(&'a str),
    /// A tag.
    Tag(&'a str),
    /// A branch.
    Branch(&'a str),
    /// The remote's `HEAD`.
    DefaultBranch,
}

/// One reference a remote advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteRef {
    /// Full name: `refs/heads/main`, `refs/tags/v1.0.0`, `HEAD`.
    pub name: String,
    /// The commit it points to (annotated tags peeled), lowercase hex.
    pub commit: String,
    /// For a symbolic ref such as `HEAD`: the ref it points to.
    pub target: Option<String>,
}

/// What a reference resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The full reference name to fetch (`refs/heads/main`), `None` for a bare commit.
    pub ref_name: Option<String>,
    /// The commit, lowercase hex.
    pub commit: String,
    /// The name part of the revision string: `main` in `main@sha1:…`, `None` for `sha1:…`.
    pub revision_name: Option<String>,
}

impl Resolved {
    /// Flux's revision string: `<name>@sha1:<hex>`, or `sha1:<hex>` for a bare commit.
    pub fn revision(&self) -> String {
        revision(self.revision_name.as_deref(), &self.commit)
    }
}

/// Flux's revision string for `commit`, named after `name` when there is one.
pub fn revision(name: Option<&str>, commit: &str) -> String {
    match name {
        Some(name) => format!("{name}@sha1:{commit}"),
        None => format!("sha1:{commit}"),
    }
}

/// Why a reference did not resolve. The caller adds the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    /// No such branch, tag or reference on the remote.
    #[error("{wanted} not found")]
    NotFound {
        /// What was asked for, as [`GitRef`]'s Display prints it.
        wanted: String,
    },
    /// The semver range does not parse.
    #[error("invalid semver range {range:?}: {cause}")]
    InvalidRange {
        /// The range as given.
        range: String,
        /// What the parser said.
        cause: String,
    },
    /// No tag satisfies the range.
    #[error("no tag matches semver range {range:?} ({versions} version tags, highest {highest})")]
    NoSemverMatch {
        /// The range as given.
        range: String,
        /// How many tags parsed as versions.
        versions: usize,
        /// The highest version tag, or `none`.
        highest: String,
    },
    /// The commit id is not 40 hex digits.
    #[error("invalid commit id {commit:?}: expected 40 hexadecimal digits")]
    InvalidCommit {
        /// The id as given.
        commit: String,
    },
}

/// Checks that `commit` is a full SHA-1 id and returns it in lowercase.
pub fn parse_commit(commit: &str) -> Result<String, RefError> {
    if commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(commit.to_ascii_lowercase())
    } else {
        Err(RefError::InvalidCommit {
            commit: commit.to_owned(),
        })
    }
}

/// Resolves `wanted` among the `refs` a remote advertises.
///
/// A [`Wanted::Commit`] resolves without looking at `refs` (the commit is fetched by id).
pub fn resolve(wanted: &GitRef, refs: &[RemoteRef]) -> Result<Resolved, RefError> {
    let find = |name: &str| refs.iter().find(|r| r.name == name);
    let not_found = || RefError::NotFound {
        wanted: wanted.to_string(),
    };
    match wanted.effective() {
        Wanted::Commit { commit, branch } => Ok(Resolved {
            ref_name: branch.map(|b| format!("refs/heads/{b}")),
            commit: parse_commit(commit)?,
            revision_name: branch.map(str::to_owned),
        }),
        Wanted::Name(name) => {
            let found = find(name).ok_or_else(not_found)?;
            Ok(Resolved {
                ref_name: Some(name.to_owned()),
                commit: found.commit.clone(),
                revision_name: Some(name.to_owned()),
            })
        }
        Wanted::Semver(range) => resolve_semver(range, refs),
        Wanted::Tag(tag) => {
            let name = format!("refs/tags/{tag}");
            let found = find(&name).ok_or_else(not_found)?;
            Ok(Resolved {
                commit: found.commit.clone(),
                ref_name: Some(name),
                revision_name: Some(tag.to_owned()),
            })
        }
        Wanted::Branch(branch) => {
            let name = format!("refs/heads/{branch}");
            let found = find(&name).ok_or_else(not_found)?;
            Ok(Resolved {
                commit: found.commit.clone(),
                ref_name: Some(name),
                revision_name: Some(branch.to_owned()),
            })
        }
        Wanted::DefaultBranch => {
            let head = find("HEAD").ok_or_else(not_found)?;
            let target = head.target.clone();
            let revision_name = target
                .as_deref()
                .map(|t| t.strip_prefix("refs/heads/").unwrap_or(t).to_owned())
                .unwrap_or_else(|| "HEAD".to_owned());
            Ok(Resolved {
                ref_name: Some(target.unwrap_or_else(|| "HEAD".to_owned())),
                commit: head.commit.clone(),
                revision_name: Some(revision_name),
            })
        }
    }
}

/// Parses a tag as a version: `1.2.3`, `v1.2.3`, `1.2.3-rc.1`; anything else is `None`.
pub fn tag_version(tag: &str) -> Option<semver::Version> {
    let text = tag.strip_prefix('v').unwrap_or(tag);
    semver::Version::parse(text).ok()
}

fn resolve_semver(range: &str, refs: &[RemoteRef]) -> Result<Resolved, RefError> {
    let req = semver::VersionReq::parse(range).map_err(|e| RefError::InvalidRange {
        range: range.to_owned(),
        cause: e.to_string(),
    })?;
    let versions: Vec<(semver::Version, &str, &RemoteRef)> = refs
        .iter()
        .filter_map(|r| {
            let tag = r.name.strip_prefix("refs/tags/")?;
            Some((tag_version(tag)?, tag, r))
        })
        .collect();
    // Highest match; on equal versions (`1.0.0` and `v1.0.0`) the tag name decides, so the
    // choice does not depend on the order the server lists refs in.
    let best = versions
        .iter()
        .filter(|(v, _, _)| req.matches(v))
        .max_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)));
    match best {
        Some((_, tag, r)) => Ok(Resolved {
            ref_name: Some(r.name.clone()),
            commit: r.commit.clone(),
            revision_name: Some((*tag).to_owned()),
        }),
        None => Err(RefError::NoSemverMatch {
            range: range.to_owned(),
            versions: versions.len(),
            highest: versions
                .iter()
                .max_by(|a, b| a.0.cmp(&b.0))
                .map_or_else(|| "none".to_owned(), |(_, tag, _)| (*tag).to_owned()),
        }),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn r(name: &str, commit: char) -> RemoteRef {
        RemoteRef {
            name: name.into(),
            commit: commit.to_string().repeat(40),
            target: None,
        }
    }

    fn refs() -> Vec<RemoteRef> {
        vec![
            RemoteRef {
                name: "HEAD".into(),
                commit: "a".repeat(40),
                target: Some("refs/heads/main".into()),
            },
            r("refs/heads/main", 'a'),
            r("refs/heads/dev", 'b'),
            r("refs/tags/v1.0.0", 'c'),
            r("refs/tags/v1.2.0", 'd'),
            r("refs/tags/1.10.0-rc.1", 'e'),
            r("refs/tags/v2.0.0", 'f'),
            r("refs/tags/latest", '1'),
            r("refs/tags/v1.9", '2'),
        ]
    }

    #[test]
    fn default_branch_follows_head() {
        let got = resolve(&GitRef::default(), &refs()).unwrap();
        assert_eq!(got.ref_name.as_deref(), Some("refs/heads/main"));
        assert_eq!(got.revision(), format!("main@sha1:{}", "a".repeat(40)));
    }

    #[test]
    fn precedence_is_commit_name_semver_tag_branch() {
        let all = GitRef {
            branch: Some("dev".into()),
            tag: Some("v1.0.0".into()),
            semver: Some("<2".into()),
            name: Some("refs/heads/main".into()),
            commit: Some("F".repeat(40)),
        };
        let got = resolve(&all, &refs()).unwrap();
        assert_eq!(got.revision(), format!("dev@sha1:{}", "f".repeat(40)));

        let no_commit = GitRef {
            commit: None,
            ..all
        };
        assert_eq!(
            resolve(&no_commit, &refs()).unwrap().revision(),
            format!("refs/heads/main@sha1:{}", "a".repeat(40))
        );
        let no_name = GitRef {
            name: None,
            ..no_commit
        };
        assert_eq!(
            resolve(&no_name, &refs()).unwrap().revision(),
            format!("v1.2.0@sha1:{}", "d".repeat(40))
        );
        let no_semver = GitRef {
            semver: None,
            ..no_name
        };
        assert_eq!(
            resolve(&no_semver, &refs())
                .unwrap()
                .revision_name
                .as_deref(),
            Some("v1.0.0")
        );
        let branch_only = GitRef {
            tag: None,
            ..no_semver
        };
        assert_eq!(
            resolve(&branch_only, &refs()).unwrap().revision(),
            format!("dev@sha1:{}", "b".repeat(40))
        );
    }

    #[test]
    fn a_bare_commit_has_an_unnamed_revision() {
        let got = resolve(
            &GitRef {
                commit: Some("c".repeat(40)),
                ..GitRef::default()
            },
            &[],
        )
        .unwrap();
        assert_eq!(got.revision(), format!("sha1:{}", "c".repeat(40)));
        assert_eq!(got.ref_name, None);
    }

    #[test]
    fn semver_picks_the_highest_match_and_ignores_other_tags() {
        let pick = |range: &str| {
            resolve(
                &GitRef {
                    semver: Some(range.into()),
                    ..GitRef::default()
                },
                &refs(),
            )
            .map(|r| r.revision_name.unwrap())
        };
        assert_eq!(pick("*").unwrap(), "v2.0.0");
        assert_eq!(pick(">=1.0.0, <2.0.0").unwrap(), "v1.2.0");
        assert_eq!(pick("~1.0").unwrap(), "v1.0.0");
        // Pre-releases only match a range that names one of their version.
        assert_eq!(pick(">=1.10.0-rc.0, <2").unwrap(), "1.10.0-rc.1");
        assert_eq!(
            pick(">=3").unwrap_err().to_string(),
            "no tag matches semver range \">=3\" (4 version tags, highest v2.0.0)"
        );
        assert!(matches!(
            pick("not a range").unwrap_err(),
            RefError::InvalidRange { .. }
        ));
    }

    #[test]
    fn missing_refs_name_what_was_asked_and_what_exists() {
        let err = resolve(&GitRef::branch("nope"), &refs()).unwrap_err();
        assert_eq!(err.to_string(), "branch nope not found");
        let bad = GitRef {
            commit: Some("abc".into()),
            ..GitRef::default()
        };
        assert_eq!(
            resolve(&bad, &refs()).unwrap_err().to_string(),
            "invalid commit id \"abc\": expected 40 hexadecimal digits"
        );
    }
}
