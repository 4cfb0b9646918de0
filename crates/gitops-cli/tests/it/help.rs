use crate::common::{gitops, run};

#[test]
fn help_lists_commands_and_global_options() {
    insta::assert_snapshot!(run(&mut gitops(&["--help"]), &[]));
}

#[test]
fn build_help_explains_the_source_and_output() {
    insta::assert_snapshot!(run(&mut gitops(&["build", "--help"]), &[]));
}

#[test]
fn version_is_printed() {
    let out = run(&mut gitops(&["--version"]), &[]);
    assert!(
        out.contains(concat!("gitops ", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
}

#[test]
fn a_missing_argument_is_a_usage_error_with_exit_code_2() {
    insta::assert_snapshot!(run(&mut gitops(&["build"]), &[]));
}

#[test]
fn apply_help_lists_the_cluster_options() {
    insta::assert_snapshot!(run(&mut gitops(&["apply", "--help"]), &[]));
}

#[test]
fn diff_help_explains_the_exit_codes() {
    insta::assert_snapshot!(run(&mut gitops(&["diff", "--help"]), &[]));
}

#[test]
fn a_bad_timeout_is_a_usage_error() {
    insta::assert_snapshot!(run(
        &mut gitops(&["apply", ".", "--timeout", "5 weeks"]),
        &[]
    ));
}

#[test]
fn operator_companion_help() {
    insta::assert_snapshot!(run(&mut gitops(&["install", "--help"]), &[]));
    insta::assert_snapshot!(run(&mut gitops(&["get", "units", "--help"]), &[]));
    insta::assert_snapshot!(run(&mut gitops(&["reconcile", "unit", "--help"]), &[]));
    insta::assert_snapshot!(run(&mut gitops(&["resume", "--help"]), &[]));
}

#[test]
fn all_namespaces_conflicts_with_a_namespace() {
    insta::assert_snapshot!(run(&mut gitops(&["get", "units", "-A", "-n", "apps"]), &[]));
}
