use crate::common::{gitops, run};

#[test]
fn builds_the_shop_fixture_in_apply_order() {
    insta::assert_snapshot!(run(&mut gitops(&["build", "fixtures/shop"]), &[]));
}

#[test]
fn builds_json_output() {
    let output = gitops(&["build", "fixtures/shop", "-o", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let kinds: Vec<_> = value
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "CustomResourceDefinition",
            "Namespace",
            "ConfigMap",
            "Service",
            "Service",
            "Service",
            "Deployment",
            "Deployment",
            "Deployment",
            "Backup"
        ]
    );
}

#[test]
fn a_malformed_file_names_file_and_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("good.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    app: [web\n",
    )
    .unwrap();
    let root = dir.path().to_str().unwrap();
    insta::assert_snapshot!(run(&mut gitops(&["build", root]), &[(root, "[TMP]")]));
}

#[test]
fn an_object_without_a_name_is_refused_with_its_location() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("svc.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata:\n  namespace: x\nspec: {}\n",
    )
    .unwrap();
    let root = dir.path().to_str().unwrap();
    insta::assert_snapshot!(run(&mut gitops(&["build", root]), &[(root, "[TMP]")]));
}

#[test]
fn duplicate_objects_are_refused_naming_both_files() {
    let dir = tempfile::tempdir().unwrap();
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n";
    std::fs::write(dir.path().join("a.yaml"), cm).unwrap();
    std::fs::write(dir.path().join("b.yaml"), format!("# copy\n{cm}")).unwrap();
    let root = dir.path().to_str().unwrap();
    insta::assert_snapshot!(run(&mut gitops(&["build", root]), &[(root, "[TMP]")]));
}

#[test]
fn a_missing_path_is_an_error() {
    insta::assert_snapshot!(run(&mut gitops(&["build", "does/not/exist"]), &[]));
}

#[test]
fn helm_show_only_picks_templates_by_glob_in_pattern_order() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/helm/template-flags",
            "--show-only",
            "templates/sub/*",
            "-s",
            "templates/a.yaml",
        ]),
        &[]
    ));
}

#[test]
fn helm_show_only_without_a_match_is_an_error() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/helm/template-flags",
            "--show-only",
            "templates/none.yaml",
        ]),
        &[]
    ));
}

#[test]
fn helm_skip_tests_and_name_template() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/helm/template-flags",
            "--skip-tests",
            "--name-template",
            "rel-{{ \"ABC\" | lower }}-{{ add 1 2 }}",
        ]),
        &[]
    ));
}

#[test]
fn helm_name_template_errors_name_the_template() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "build",
            "fixtures/helm/template-flags",
            "--name-template",
            "{{ b64enc 1 }}",
        ]),
        &[]
    ));
}

#[test]
fn helm_invalid_yaml_hints_at_debug_which_prints_the_rendered_text() {
    insta::assert_snapshot!(run(
        &mut gitops(&["build", "fixtures/helm/invalid-yaml"]),
        &[]
    ));
    insta::assert_snapshot!(run(
        &mut gitops(&["build", "fixtures/helm/invalid-yaml", "--debug"]),
        &[]
    ));
}
