#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Units of a repository rendered as their controllers would: `postBuild.substituteFrom` and
//! HelmRelease `valuesFrom` read from the ConfigMaps and Secrets the repository declares, with a
//! note for one that lives only in the cluster.

use std::path::Path;

use gitops_core::unit::UnitBody;
use gitops_render::repo::{self, RepoOptions};

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

const UNITS: &str = r"
apiVersion: v1
kind: ConfigMap
metadata: {name: cluster-vars, namespace: flux-system}
data: {env: prod}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: web-values, namespace: flux-system}
data:
  values.yaml: |
    replicas: 3
    color: blue
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app, namespace: flux-system}
spec:
  sourceRef: {kind: GitRepository, name: flux-system}
  path: ./app
  postBuild:
    substituteFrom:
    - {kind: ConfigMap, name: cluster-vars}
    - {kind: Secret, name: cluster-secrets}
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata: {name: web, namespace: flux-system}
spec:
  targetNamespace: shop
  chart:
    spec:
      chart: ./charts/web
      sourceRef: {kind: GitRepository, name: flux-system}
  valuesFrom:
  - {kind: ConfigMap, name: web-values}
  values:
    color: green
";

#[test]
fn substitute_from_and_values_from_read_the_repository_objects() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "clusters/x/units.yaml", UNITS);
    write(
        root,
        "app/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  env: ${env}\n",
    );
    write(
        root,
        "charts/web/Chart.yaml",
        "apiVersion: v2\nname: web\nversion: 1.0.0\n",
    );
    write(root, "charts/web/values.yaml", "replicas: 1\ncolor: red\n");
    write(
        root,
        "charts/web/templates/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n  color: {{ .Values.color }}\n",
    );
    let discovery = repo::discover(root, "clusters/x", &RepoOptions::default());
    let unit = |name: &str| {
        discovery
            .units
            .iter()
            .find(|d| d.unit.id.name == name)
            .unwrap_or_else(|| panic!("no unit {name}"))
    };

    let app = unit("app");
    assert!(matches!(app.unit.body, UnitBody::Kustomization(_)));
    let objects = app.output.as_ref().unwrap().as_ref().unwrap();
    assert_eq!(objects[0].object.to_value()["data"]["env"], "prod");
    // The Secret is not in the repository: said, not silently dropped.
    assert_eq!(app.notes.len(), 1, "{:?}", app.notes);
    assert!(
        app.notes[0].contains("Secret/cluster-secrets"),
        "{:?}",
        app.notes
    );

    let web = unit("web");
    assert!(web.notes.is_empty(), "{:?}", web.notes);
    let objects = web.output.as_ref().unwrap().as_ref().unwrap();
    let cm = objects[0].object.to_value();
    // helm-controller's release name and namespace; valuesFrom over the chart's defaults, then
    // `values` over valuesFrom.
    assert_eq!(cm["metadata"]["name"], "shop-web");
    assert_eq!(cm["metadata"]["namespace"], "shop");
    assert_eq!(cm["data"]["replicas"], "3");
    assert_eq!(cm["data"]["color"], "green");
}
