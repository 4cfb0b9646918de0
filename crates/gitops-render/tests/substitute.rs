//! Post-build substitution on the `fixtures/substitute` manifests (after the examples of Flux's
//! documentation), with Flux's precedence, escapes, opt-out, strict mode and typing rules.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gitops_core::{Object, Origin, SourcedObject, yaml};
use gitops_render::plain;
use gitops_render::substitute::{self, PostBuild, SubstituteError, VariableSource};
use serde_json::json;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/substitute")
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn cluster_vars() -> VariableSource {
    let file = fixture().join("cluster-vars.env");
    let text = std::fs::read_to_string(&file).unwrap();
    VariableSource {
        kind: "ConfigMap".into(),
        name: "cluster-vars".into(),
        data: substitute::parse_env(&text, &file).unwrap(),
    }
}

fn render(post_build: &PostBuild) -> Result<String, SubstituteError> {
    let mut objects = plain::render_dir(&fixture().join("apps")).unwrap();
    substitute::substitute_all(&mut objects, post_build)?;
    let values: Vec<_> = objects.iter().map(|o| o.object.to_value()).collect();
    Ok(yaml::to_string_multi(&values))
}

fn one(text: &str) -> SourcedObject {
    let value = yaml::parse_value(text, yaml::Schema::Yaml12).unwrap();
    SourcedObject {
        object: Object::from_value(value).unwrap(),
        origin: Origin::new(Some(Path::new("app.yaml").into()), 0, 1),
    }
}

#[test]
fn flux_documented_example_with_substitute_from_and_inline_values() {
    let mut post_build = PostBuild::default();
    post_build.substitute_from.push(cluster_vars());
    // Inline values win over substituteFrom.
    post_build.substitute = vars(&[("cluster_env", "prod"), ("replicas", "3")]);
    insta::assert_snapshot!(render(&post_build).unwrap());
}

#[test]
fn defaults_apply_when_variables_are_missing() {
    let mut post_build = PostBuild::default();
    post_build.substitute = vars(&[("cluster_region", "us-east-1"), ("version", "v1")]);
    let text = render(&post_build).unwrap();
    assert!(text.contains("environment: dev"), "{text}");
    assert!(text.contains("replicas: 1\n"), "{text}");
    // Unset without a default: empty, which YAML reads as null.
    assert!(text.contains("token: null"), "{text}");
    assert!(text.contains("echo ${HOSTNAME} in  us"), "{text}");
}

#[test]
fn without_variables_nothing_is_substituted_even_in_strict_mode() {
    let mut post_build = PostBuild::default();
    post_build.strict = true;
    let text = render(&post_build).unwrap();
    assert!(text.contains("${cluster_env:=dev}"), "{text}");
    assert!(text.contains("$${HOSTNAME}"), "{text}");
}

#[test]
fn strict_mode_names_the_variable_and_the_object() {
    let mut post_build = PostBuild::default();
    post_build.substitute = vars(&[("cluster_env", "prod")]);
    post_build.strict = true;
    let err = render(&post_build).unwrap_err().to_string();
    assert!(
        err.ends_with("variable not set (strict mode): \"version\""),
        "{err}"
    );
    assert!(
        err.contains("deployment.yaml:3: apps/Deployment/apps/web: "),
        "{err}"
    );
}

#[test]
fn opted_out_objects_are_left_alone_by_label_or_annotation() {
    let mut objects = vec![one(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  x: ${v}\n",
    )];
    let mut post_build = PostBuild::default();
    post_build.substitute = vars(&[("v", "1")]);
    post_build.strict = true;
    substitute::substitute_all(&mut objects, &post_build).unwrap();
    assert_eq!(objects[0].object.as_map()["data"]["x"], json!("${v}"));
}

#[test]
fn an_unset_variable_that_leaves_invalid_yaml_is_an_error_as_in_flux() {
    // `image: web:${version}` with no version is `image: web:`, which YAML refuses.
    let mut post_build = PostBuild::default();
    post_build.substitute = vars(&[("cluster_env", "prod")]);
    let err = render(&post_build).unwrap_err().to_string();
    assert!(
        err.contains("apps/Deployment/apps/web: the result of substitution is not valid YAML"),
        "{err}"
    );
}

/// Flux substitutes into the object as re-serialised YAML, so quotes written in the source file
/// are gone by then: `"${n}"` becomes a number too. Only text around the reference keeps it a
/// string.
#[test]
fn values_are_typed_by_yaml_1_1_after_substitution_even_when_quoted_in_the_source() {
    let mut objects = vec![one(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\nspec:\n  replicas: ${n}\n  enabled: ${flag}\n  quoted: \"${n}\"\n  inline: x-${n}\n",
    )];
    let mut post_build = PostBuild::default();
    post_build.substitute = vars(&[("n", "3"), ("flag", "on")]);
    substitute::substitute_all(&mut objects, &post_build).unwrap();
    assert_eq!(
        objects[0].object.as_map()["spec"],
        json!({"replicas": 3, "enabled": true, "quoted": 3, "inline": "x-3"})
    );
}

#[test]
fn newlines_are_removed_from_values_and_later_sources_win() {
    let mut post_build = PostBuild::default();
    let source = |name: &str, value: &str| VariableSource {
        kind: "Secret".into(),
        name: name.into(),
        data: vars(&[("v", value)]),
    };
    post_build.substitute_from = vec![source("first", "one"), source("second", "two\nlines\n")];
    assert_eq!(post_build.variables(), vars(&[("v", "twolines")]));
    post_build.substitute = vars(&[("v", "inline")]);
    assert_eq!(post_build.variables(), vars(&[("v", "inline")]));
}

#[test]
fn invalid_variable_names_are_refused() {
    let mut objects = vec![one(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
    )];
    let mut post_build = PostBuild::default();
    post_build.substitute = vars(&[("cluster-env", "x")]);
    let err = substitute::substitute_all(&mut objects, &post_build).unwrap_err();
    assert_eq!(
        err.to_string(),
        "variable name `cluster-env` is invalid: it must match `^[_[:alpha:]][_[:alpha:][:digit:]]*$`"
    );
}

#[test]
fn a_malformed_expression_names_the_object_and_flux_message() {
    let mut objects = vec![one(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: ${v\n",
    )];
    let mut post_build = PostBuild::default();
    post_build.substitute = vars(&[("v", "1")]);
    let err = substitute::substitute_all(&mut objects, &post_build).unwrap_err();
    assert_eq!(
        err.to_string(),
        "app.yaml:1: ConfigMap/a: substitution failed: missing closing brace"
    );
}

#[test]
fn a_substitution_that_breaks_the_object_is_reported() {
    let mut objects = vec![one(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n",
    )];
    let mut post_build = PostBuild::default();
    post_build.substitute = vars(&[("other", "1")]);
    let err = substitute::substitute_all(&mut objects, &post_build).unwrap_err();
    assert!(
        err.to_string()
            .contains("is not a valid object: missing required field `metadata.name`"),
        "{err}"
    );
}

#[test]
fn env_files_are_key_value_lines_with_comments() {
    let file = Path::new("vars.env");
    let parsed = substitute::parse_env("# c\n\nA=1\n B = two words \nC=x=y\r\n", file).unwrap();
    assert_eq!(
        parsed,
        vars(&[("A", "1"), ("B", " two words "), ("C", "x=y")])
    );
    let err = substitute::parse_env("A=1\noops\n", file).unwrap_err();
    assert_eq!(
        err.to_string(),
        "vars.env:2: expected `KEY=VALUE`, found `oops`"
    );
}
