//! The unit renderer on each source type: overlays, post-build substitution, common metadata and
//! validation, snapshot-tested.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gitops_core::api::{Image, Patch, PatchSelector};
use gitops_core::yaml;
use gitops_render::jsonnet::ExtValue;
use gitops_render::unit::{self, UnitSpec};
use gitops_render::{Error, RenderOptions, Rendered};
use serde_json::json;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn to_yaml(rendered: &Rendered) -> String {
    let values: Vec<_> = rendered
        .objects
        .iter()
        .map(|o| o.object.to_value())
        .collect();
    yaml::to_string_multi(&values)
}

fn patch(text: &str, kind: Option<&str>) -> Patch {
    Patch {
        patch: text.to_owned(),
        target: kind.map(|k| PatchSelector {
            kind: Some(k.to_owned()),
            ..PatchSelector::default()
        }),
    }
}

fn image(name: &str, tag: &str) -> Image {
    Image {
        name: name.to_owned(),
        new_tag: Some(tag.to_owned()),
        ..Image::default()
    }
}

fn metadata_spec() -> UnitSpec {
    let mut spec = UnitSpec::default();
    spec.common_metadata.labels = vars(&[("team", "shop"), ("app", "overridden")]);
    spec.common_metadata.annotations = vars(&[("owner", "${owner:=platform}")]);
    spec
}

#[test]
fn plain_directory_with_common_metadata() {
    let mut spec = metadata_spec();
    spec.path = "shop/base".into();
    let rendered = unit::render(&fixtures(), &spec, &RenderOptions::default()).unwrap();
    insta::assert_snapshot!(to_yaml(&rendered));
}

#[test]
fn jsonnet_directory_with_substitution_and_common_metadata() {
    let mut spec = metadata_spec();
    spec.path = "jsonnet/app".into();
    spec.post_build.substitute = vars(&[("owner", "web-team")]);
    let mut options = RenderOptions::default();
    options
        .jsonnet
        .ext_vars
        .insert("env".into(), ExtValue::Str("dev".into()));
    options
        .jsonnet
        .library_paths
        .push(fixtures().join("jsonnet/app/vendor"));
    let rendered = unit::render(&fixtures(), &spec, &options).unwrap();
    insta::assert_snapshot!(to_yaml(&rendered));
}

#[test]
fn substitution_runs_before_common_metadata_so_its_values_stay_literal() {
    let mut spec = metadata_spec();
    spec.path = "substitute/apps".into();
    spec.post_build.substitute = vars(&[
        ("cluster_env", "prod"),
        ("cluster_region", "eu"),
        ("version", "v1"),
    ]);
    let rendered = unit::render(&fixtures(), &spec, &RenderOptions::default()).unwrap();
    let ns = &rendered
        .objects
        .iter()
        .find(|o| o.object.kind() == "Namespace")
        .unwrap()
        .object;
    assert_eq!(
        ns.as_map()["metadata"]["labels"],
        json!({"environment": "prod", "region": "eu", "team": "shop", "app": "overridden"})
    );
    assert_eq!(
        ns.as_map()["metadata"]["annotations"]["owner"],
        json!("${owner:=platform}")
    );
}

#[test]
fn a_path_that_leaves_the_root_is_refused() {
    let mut spec = UnitSpec::default();
    spec.path = "shop/../../etc".into();
    let err = unit::render(&fixtures(), &spec, &RenderOptions::default()).unwrap_err();
    assert!(matches!(err, Error::Unit(_)), "{err}");
    assert!(
        err.to_string()
            .starts_with("unit path `shop/../../etc` leaves the source root"),
        "{err}"
    );
}

#[test]
fn overlays_are_refused_on_sources_kustomize_cannot_build() {
    let mut spec = UnitSpec::default();
    spec.path = "jsonnet/tla".into();
    spec.target_namespace = Some("apps".into());
    let err = unit::render(&fixtures(), &spec, &RenderOptions::default()).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "is a Jsonnet source: `targetNamespace` can only be applied to a kustomization or a \
             directory of manifests"
        ),
        "{err}"
    );
}

#[test]
fn duplicates_after_substitution_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cm = |file: &str, name: &str| {
        std::fs::write(
            dir.path().join(file),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n"),
        )
        .unwrap();
    };
    cm("a.yaml", "${first}");
    cm("b.yaml", "${second}");
    let mut spec = UnitSpec::default();
    spec.post_build.substitute = vars(&[("first", "same"), ("second", "same")]);
    let err = unit::render(dir.path(), &spec, &RenderOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("duplicate object ConfigMap/same"),
        "{err}"
    );
}

#[test]
fn flux_generates_a_kustomization_for_a_plain_directory_with_the_overlay_fields() {
    let mut spec = UnitSpec::default();
    spec.target_namespace = Some("staging".into());
    spec.name_prefix = Some("pre-".into());
    spec.name_suffix = Some("-suf".into());
    spec.patches = vec![patch(
        "- op: replace\n  path: /spec/replicas\n  value: 2\n",
        Some("Deployment"),
    )];
    spec.images = vec![image("nginx", "1.27")];
    spec.components = vec!["../components/monitoring".into()];
    let kustomization = unit::flux_kustomization(&fixtures().join("shop"), &spec).unwrap();
    insta::assert_snapshot!(yaml::to_string(&kustomization));
}

#[test]
fn flux_keeps_an_existing_kustomization_and_overrides_or_appends_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: old\n\
         resources: [app.yaml]\nimages:\n- name: nginx\n  newTag: '1.0'\n- name: redis\n  newTag: '7'\n\
         patches:\n- path: own.yaml\n",
    )
    .unwrap();
    let mut spec = UnitSpec::default();
    spec.target_namespace = Some("new".into());
    spec.images = vec![image("nginx", "2.0"), image("busybox", "1")];
    spec.patches = vec![patch("kind: Deployment\nmetadata:\n  name: x\n", None)];
    let kustomization = unit::flux_kustomization(dir.path(), &spec).unwrap();
    assert_eq!(
        kustomization,
        json!({
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": "new",
            "resources": ["app.yaml"],
            "images": [
                {"name": "nginx", "newTag": "2.0"},
                {"name": "redis", "newTag": "7"},
                {"name": "busybox", "newTag": "1"},
            ],
            "patches": [
                {"path": "own.yaml"},
                {"patch": "kind: Deployment\nmetadata:\n  name: x\n"},
            ],
        })
    );
}

#[test]
fn plain_directory_with_flux_overlay_is_built_by_kustomize() {
    let mut spec = UnitSpec::default();
    spec.path = "shop/base".into();
    spec.target_namespace = Some("staging".into());
    spec.name_prefix = Some("pre-".into());
    spec.name_suffix = Some("-suf".into());
    spec.patches = vec![patch(
        "- op: replace\n  path: /spec/replicas\n  value: 5\n",
        Some("Deployment"),
    )];
    spec.common_metadata.labels = vec![("team".to_owned(), "shop".to_owned())]
        .into_iter()
        .collect();
    spec.post_build.substitute = vars(&[("unused", "x")]);
    let rendered = unit::render(&fixtures(), &spec, &RenderOptions::default()).unwrap();
    insta::assert_snapshot!(to_yaml(&rendered));
}
