//! Where the shared real-world corpus is (`../shared/corpus` beside the checkout), and the rule
//! that the project's test command never passes without it.
//!
//! A test that needs the corpus asks [`root`] (or [`path`]). When the corpus is absent, a test
//! run by hand prints a notice and skips; under `scripts/test`, which sets
//! `GITOPS_REQUIRE_CORPUS=1`, it fails instead, so CI cannot pass vacuously.

use std::path::{Path, PathBuf};

/// The variable that turns a missing corpus into a failure.
pub const REQUIRE_VAR: &str = "GITOPS_REQUIRE_CORPUS";

/// The corpus directory, if it is there.
///
/// # Panics
/// When it is absent and [`REQUIRE_VAR`] is set.
#[must_use]
pub fn root() -> Option<PathBuf> {
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let candidates = [beside, PathBuf::from("/work/shared/corpus")];
    if let Some(found) = candidates.iter().find(|d| d.is_dir()) {
        return Some(found.canonicalize().unwrap_or_else(|_| found.clone()));
    }
    absent(&candidates[0]);
    None
}

/// `relative` inside the corpus, if the corpus and that path are there.
///
/// # Panics
/// When it is absent and [`REQUIRE_VAR`] is set.
#[must_use]
pub fn path(relative: &str) -> Option<PathBuf> {
    let path = root()?.join(relative);
    if path.exists() {
        Some(path)
    } else {
        absent(&path);
        None
    }
}

// A skipped test says so where `cargo test` shows it.
#[allow(clippy::print_stderr)]
fn absent(path: &Path) {
    assert!(
        std::env::var_os(REQUIRE_VAR).is_none(),
        "{} is absent, and {REQUIRE_VAR} is set: this test must not be skipped",
        path.display()
    );
    eprintln!("notice: {} is absent; test skipped", path.display());
}
