//! `gitops apply`/`diff` errors that happen before any cluster is contacted.

use crate::common::{gitops, run};

#[test]
fn unit_and_git_url_sources_are_explained() {
    insta::assert_snapshot!(run(
        &mut gitops(&["apply", "fixtures/shop", "--unit", "web"]),
        &[]
    ));
    insta::assert_snapshot!(run(
        &mut gitops(&["apply", "https://example.invalid/repo.git"]),
        &[]
    ));
}

#[test]
fn diff_of_a_missing_source_exits_2() {
    insta::assert_snapshot!(run(&mut gitops(&["diff", "fixtures/no-such-dir"]), &[]));
}
