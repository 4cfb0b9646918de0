//! Which paths of a source tree go into its artifact: gitignore-syntax rules as Flux applies them,
//! as a pure matcher (no file system access; the exporter feeds it `.sourceignore` contents).
//!
//! Rules, lowest precedence first (a later match wins, `!pattern` re-includes):
//! 1. version-control files (`.git/`, `.gitignore`, `.gitmodules`, `.gitattributes`), always;
//! 2. Flux's default exclusions (CI configuration, images, archives, release tooling files),
//!    unless the source spec has its own `ignore`, which replaces them;
//! 3. every `.sourceignore` file in the tree, relative to its directory, deeper files later;
//! 4. the spec's `ignore` patterns, relative to the root.
//!
//! A directory that is excluded is not entered, so nothing below it can be re-included (as in Git).

use std::path::{Path, PathBuf};

use gix::bstr::BStr;
use gix::glob::pattern::Case;
use gix::ignore::Search;

/// Version-control files, excluded from every artifact.
pub const VCS_PATTERNS: &[&str] = &[".git/", ".gitignore", ".gitmodules", ".gitattributes"];

/// Flux's default exclusions besides [`VCS_PATTERNS`]: CI configuration, binary media and
/// archives, and release tooling files.
pub const DEFAULT_PATTERNS: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    "**/.goreleaser.yml",
    "**/.sops.yaml",
    "**/.flux.yaml",
];

/// The name of the per-directory ignore files.
pub const SOURCEIGNORE: &str = ".sourceignore";

/// A set of ignore rules; see the module documentation for their precedence.
#[derive(Debug, Clone)]
pub struct IgnoreRules {
    defaults: Search,
    sourceignore: Vec<(String, Search)>,
    spec: Search,
}

/// A fixed, fake root that pattern lists are anchored at; only relative paths are ever matched.
fn root() -> &'static Path {
    Path::new("/")
}

fn search_of(text: &[u8], dir: &str) -> Search {
    let mut search = Search::default();
    let source: PathBuf = root().join(dir).join(SOURCEIGNORE);
    // Parsing from a buffer does no I/O and cannot fail.
    let _ = search.add_patterns_buffer(text, source, Some(root()), Default::default());
    search
}

impl IgnoreRules {
    /// The rules for a source whose spec has `spec_ignore` (gitignore syntax, one per line).
    pub fn new(spec_ignore: Option<&str>) -> IgnoreRules {
        let mut defaults = VCS_PATTERNS.join("\n");
        if spec_ignore.is_none() {
            defaults.push('\n');
            defaults.push_str(&DEFAULT_PATTERNS.join("\n"));
        }
        IgnoreRules {
            defaults: search_of(defaults.as_bytes(), ""),
            sourceignore: Vec::new(),
            spec: search_of(spec_ignore.unwrap_or_default().as_bytes(), ""),
        }
    }

    /// Adds the contents of the `.sourceignore` file in directory `dir` (slash-separated,
    /// relative to the root, `""` for the root). Call it for parents before their children.
    pub fn add_sourceignore(&mut self, dir: &str, content: &[u8]) {
        self.sourceignore
            .push((dir.trim_matches('/').to_owned(), search_of(content, dir)));
    }

    /// Whether `path` (slash-separated, relative to the root) is excluded.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        let path: &BStr = path.as_bytes().into();
        let lists = std::iter::once(&self.spec)
            .chain(self.sourceignore.iter().rev().map(|(_, s)| s))
            .chain(std::iter::once(&self.defaults));
        for list in lists {
            if let Some(m) =
                list.pattern_matching_relative_path(path, Some(is_dir), Case::Sensitive)
            {
                return !m.pattern.is_negative();
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_exclude_vcs_ci_and_media() {
        let rules = IgnoreRules::new(None);
        for (path, is_dir) in [
            (".git", true),
            (".gitignore", false),
            ("sub/.gitattributes", false),
            (".github", true),
            ("logo.png", false),
            ("docs/img/shot.jpg", false),
            ("release.tar.gz", false),
            ("deep/dir/.sops.yaml", false),
        ] {
            assert!(rules.is_ignored(path, is_dir), "{path} should be ignored");
        }
        for path in ["deploy/app.yaml", "README.md", "png", "chart/values.yaml"] {
            assert!(!rules.is_ignored(path, false), "{path} should be kept");
        }
    }

    #[test]
    fn spec_ignore_replaces_the_defaults_but_not_vcs() {
        let rules = IgnoreRules::new(Some("/*\n!/deploy/\n"));
        assert!(rules.is_ignored("README.md", false));
        assert!(!rules.is_ignored("deploy", true));
        assert!(!rules.is_ignored("deploy/logo.png", false));
        assert!(rules.is_ignored(".gitignore", false));
    }

    #[test]
    fn sourceignore_is_relative_to_its_directory_and_can_be_negated() {
        let mut rules = IgnoreRules::new(None);
        rules.add_sourceignore("", b"# comment\n*.md\n!KEEP.md\n");
        rules.add_sourceignore("apps", b"/local.yaml\ntests/\n!logo.png\n");
        assert!(rules.is_ignored("README.md", false));
        assert!(rules.is_ignored("apps/x/notes.md", false));
        assert!(!rules.is_ignored("KEEP.md", false));
        assert!(rules.is_ignored("apps/local.yaml", false));
        assert!(!rules.is_ignored("local.yaml", false));
        assert!(!rules.is_ignored("apps/x/local.yaml", false));
        assert!(rules.is_ignored("apps/x/tests", true));
        assert!(!rules.is_ignored("apps/x/tests", false));
        // A deeper .sourceignore overrides the defaults.
        assert!(!rules.is_ignored("apps/logo.png", false));
        assert!(rules.is_ignored("logo.png", false));
    }

    #[test]
    fn spec_ignore_wins_over_sourceignore() {
        let mut rules = IgnoreRules::new(Some("!README.md\n"));
        rules.add_sourceignore("", b"*.md\n");
        assert!(!rules.is_ignored("README.md", false));
        assert!(rules.is_ignored("CHANGES.md", false));
    }
}
