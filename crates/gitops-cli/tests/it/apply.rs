//! `gitops apply`/`diff` errors that happen before any cluster is contacted.

use crate::common::{gitops, run};

#[test]
fn unit_and_git_url_sources_are_explained() {
    insta::assert_snapshot!(run(
        &mut gitops(&["apply", "fixtures/shop", "--unit", "web"]),
        &[]
    ));
    // A Git URL is fetched first; this one names no repository.
    let cache = tempfile::tempdir().unwrap();
    let cache = cache.path().to_string_lossy().into_owned();
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "apply",
            "file:///nonexistent/gitops-test/repo.git",
            "--cache-dir",
            &cache,
        ]),
        &[]
    ));
}

#[test]
fn diff_of_a_missing_source_exits_2() {
    insta::assert_snapshot!(run(&mut gitops(&["diff", "fixtures/no-such-dir"]), &[]));
}
