use std::path::Path;
use std::sync::Arc;

use super::*;
use crate::manifest;
use crate::yaml::Schema;

fn read_all(text: &str) -> Vec<Result<Read, ReadError>> {
    manifest::parse_yaml(
        text,
        Some(Arc::from(Path::new("repo.yaml"))),
        Schema::Yaml12,
    )
    .unwrap()
    .iter()
    .map(read)
    .collect()
}

fn only_unit(text: &str) -> Unit {
    match read_all(text).remove(0).unwrap() {
        Read::Unit(u) => *u,
        other => panic!("{other:?}"),
    }
}

#[test]
fn flux_v1beta2_kustomization_maps_to_the_model_with_patches_migrated() {
    let unit = only_unit(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2\nkind: Kustomization\nmetadata: {name: apps, namespace: flux-system}\nspec:\n  dependsOn: [{name: infra}, {name: db, namespace: data}]\n  sourceRef: {kind: GitRepository, name: flux-system}\n  path: ./apps\n  prune: true\n  validation: client\n  patchesStrategicMerge:\n  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: web}, spec: {replicas: 2}}\n  patchesJson6902:\n  - target: {kind: Deployment, name: web}\n    patch: [{op: replace, path: /spec/replicas, value: 3}]\n",
    );
    assert_eq!(unit.id.to_string(), "Kustomization/flux-system/apps");
    assert_eq!(
        unit.depends_on
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>(),
        ["Kustomization/flux-system/infra", "Kustomization/data/db"]
    );
    assert_eq!(unit.unknown_fields, ["/spec/validation"]);
    let UnitBody::Kustomization(spec) = &unit.body else {
        panic!()
    };
    assert_eq!(spec.path.as_deref(), Some("./apps"));
    assert!(spec.prune);
    assert_eq!(spec.patches.len(), 2);
    assert!(
        spec.patches[0].patch.contains("replicas: 2"),
        "{}",
        spec.patches[0].patch
    );
    assert_eq!(
        spec.patches[1].patch,
        r#"[{"op":"replace","path":"/spec/replicas","value":3}]"#
    );
    assert_eq!(
        spec.patches[1].target.as_ref().unwrap().name.as_deref(),
        Some("web")
    );
}

#[test]
fn our_kinds_and_flux_kinds_read_the_same() {
    let body = "metadata: {name: apps, namespace: ns}\nspec:\n  sourceRef: {kind: GitRepository, name: repo}\n  path: ./apps\n  prune: true\n  targetNamespace: prod\n";
    let ours = only_unit(&format!(
        "apiVersion: gitops.rs/v1alpha1\nkind: Kustomization\n{body}"
    ));
    let flux = only_unit(&format!(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n{body}"
    ));
    assert_eq!(ours.body, flux.body);
    assert_eq!(ours.dialect, Dialect::Gitops);
    assert_eq!(flux.dialect, Dialect::Flux);
}

#[test]
fn helm_releases_and_sources_are_read() {
    let all = read_all(
        "apiVersion: helm.toolkit.fluxcd.io/v2beta1\nkind: HelmRelease\nmetadata: {name: cp, namespace: linkerd}\nspec:\n  dependsOn: [{name: crds}]\n  chart:\n    spec: {chart: linkerd-control-plane, version: 1.x, sourceRef: {kind: HelmRepository, name: linkerd}}\n  values: {a: 1}\n---\napiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: HelmRepository\nmetadata: {name: linkerd, namespace: linkerd}\nspec: {url: 'https://helm.linkerd.io/stable', interval: 1h}\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata: {name: flux-system, namespace: flux-system}\nspec: {url: 'ssh://git@example.com/repo', ref: {branch: main}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
    );
    let Ok(Read::Unit(hr)) = &all[0] else {
        panic!("{:?}", all[0])
    };
    assert_eq!(hr.depends_on[0].to_string(), "HelmRelease/linkerd/crds");
    let Ok(Read::Source(repo)) = &all[1] else {
        panic!()
    };
    assert_eq!(repo.url, "https://helm.linkerd.io/stable");
    let Ok(Read::Source(git)) = &all[2] else {
        panic!()
    };
    assert_eq!(
        git.reference.as_ref().unwrap().branch.as_deref(),
        Some("main")
    );
    assert!(matches!(all[3], Ok(Read::Other)));
}

#[test]
fn argo_applications_keep_sync_waves_and_report_unknown_fields() {
    let unit = only_unit(
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: guestbook\n  namespace: argocd\n  annotations: {argocd.argoproj.io/sync-wave: '-2'}\nspec:\n  project: default\n  source: {repoURL: 'https://github.com/x/y', path: guestbook, targetRevision: HEAD, extra: 1}\n  destination: {server: 'https://kubernetes.default.svc', namespace: gb}\n",
    );
    assert_eq!(unit.sync_wave, -2);
    assert_eq!(unit.unknown_fields, ["/spec/source/extra"]);
}

#[test]
fn a_bad_spec_names_the_object_file_and_field() {
    let err = read_all(
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata: {name: apps, namespace: fs}\nspec:\n  path: ./apps\n",
    )
    .remove(0)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "repo.yaml:1: kustomize.toolkit.fluxcd.io/Kustomization/fs/apps: invalid `spec`: missing field `sourceRef`"
    );
}
