//! `gitops build` on Jsonnet sources: directory and file mode, ext vars, TLAs, library paths,
//! and errors with location and stack trace.

use crate::common::{gitops, run};

#[test]
fn builds_a_jsonnet_directory_with_ext_vars_and_a_library_path() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/jsonnet/app",
            "--ext-str",
            "env=prod",
            "-J",
            "fixtures/jsonnet/app/vendor",
        ]),
        &[]
    ));
}

#[test]
fn builds_a_function_program_with_top_level_arguments_and_the_manifests_next_to_it() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/jsonnet/tla",
            "--tla-str",
            "name=api",
            "--tla-code",
            "replicas=1 + 1",
            "--tla-code",
            "labels={tier: 'backend'}",
        ]),
        &[]
    ));
}

#[test]
fn builds_a_single_jsonnet_file_as_json() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/jsonnet/tla/app.jsonnet",
            "--tla-str",
            "name=single",
            "-o",
            "json",
        ]),
        &[]
    ));
}

#[test]
fn a_missing_ext_var_is_an_error_with_its_location() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/jsonnet/app",
            "-J",
            "fixtures/jsonnet/app/vendor"
        ]),
        &[]
    ));
}

#[test]
fn a_runtime_error_shows_file_line_column_and_the_stack_trace() {
    insta::assert_snapshot!(run(&mut gitops(&["build", "fixtures/jsonnet/broken"]), &[]));
}

#[test]
fn a_malformed_ext_code_flag_is_refused() {
    insta::assert_snapshot!(run(
        &mut gitops(&["build", "fixtures/jsonnet/tla", "--tla-code", "name"]),
        &[]
    ));
}
