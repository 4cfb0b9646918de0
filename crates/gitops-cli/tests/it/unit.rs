//! `gitops build` with the unit options of a Flux Kustomization: post-build substitution.

use crate::common::{gitops, run};

#[test]
fn substitutes_variables_from_files_and_flags_with_flux_rules() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/substitute/apps",
            "--substitute-from-file",
            "fixtures/substitute/cluster-vars.env",
            "--substitute",
            "cluster_env=prod",
            "--substitute",
            "replicas=3",
        ]),
        &[]
    ));
}

#[test]
fn strict_substitution_names_the_missing_variable_and_the_object() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/substitute/apps",
            "--substitute",
            "cluster_env=prod",
            "--strict-substitute",
        ]),
        &[]
    ));
}

#[test]
fn substitutes_into_jsonnet_output() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/jsonnet/tla/app.jsonnet",
            "--tla-str",
            "name=${app_name:=fallback}",
            "--substitute",
            "app_name=from-flux",
        ]),
        &[]
    ));
}

#[test]
fn a_malformed_env_file_line_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.env");
    std::fs::write(&file, "A=1\nnot a pair\n").unwrap();
    let path = file.to_str().unwrap();
    insta::assert_snapshot!(run(
        &mut gitops(&["build", "fixtures/shop", "--substitute-from-file", path]),
        &[(path, "[TMP]/bad.env")]
    ));
}
