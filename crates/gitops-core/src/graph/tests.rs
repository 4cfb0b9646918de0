use std::collections::HashMap;

use super::*;
use crate::api::{CrossNamespaceSourceReference, KustomizationSpec};
use crate::unit::{Dialect, UnitBody, UnitKind};

fn k(name: &str, deps: &[&str]) -> Unit {
    Unit {
        id: UnitId::new(UnitKind::Kustomization, "flux-system", name),
        dialect: Dialect::Flux,
        api_version: "kustomize.toolkit.fluxcd.io/v1".into(),
        origin: Origin::new(None, 0, 1),
        depends_on: deps
            .iter()
            .map(|d| UnitId::new(UnitKind::Kustomization, "flux-system", d))
            .collect(),
        sync_wave: 0,
        body: UnitBody::Kustomization(Box::new(KustomizationSpec {
            source_ref: CrossNamespaceSourceReference {
                kind: "GitRepository".into(),
                name: "flux-system".into(),
                ..Default::default()
            },
            ..Default::default()
        })),
        unknown_fields: Vec::new(),
    }
}

fn app(name: &str, wave: i64) -> Unit {
    let mut u = k(name, &[]);
    u.id = UnitId::new(UnitKind::Application, "argocd", name);
    u.sync_wave = wave;
    u
}

fn names(level: &[&UnitId]) -> Vec<String> {
    level.iter().map(|u| u.name.clone()).collect()
}

#[test]
fn levels_follow_depends_on() {
    let units = [
        k("apps", &["flagger", "ingress-nginx"]),
        k("cert-manager", &[]),
        k("linkerd", &["cert-manager"]),
        k("ingress-nginx", &["linkerd"]),
        k("flagger", &["linkerd"]),
        k("weave-gitops", &[]),
    ];
    let graph = UnitGraph::build(&units, &HashMap::new());
    assert!(graph.errors().is_empty());
    let levels: Vec<_> = graph.levels().iter().map(|l| names(l)).collect();
    assert_eq!(
        levels,
        vec![
            vec!["cert-manager", "weave-gitops"],
            vec!["linkerd"],
            vec!["flagger", "ingress-nginx"],
            vec!["apps"],
        ]
    );
    let linkerd = UnitId::new(UnitKind::Kustomization, "flux-system", "linkerd");
    assert_eq!(
        names(&graph.dependents(&linkerd)),
        ["flagger", "ingress-nginx"]
    );
    let apps = UnitId::new(UnitKind::Kustomization, "flux-system", "apps");
    assert_eq!(
        names(&graph.closure(&apps)),
        [
            "apps",
            "cert-manager",
            "flagger",
            "ingress-nginx",
            "linkerd"
        ]
    );
}

#[test]
fn cycles_are_printed_and_their_units_get_no_level() {
    let units = [
        k("a", &["c"]),
        k("b", &["a"]),
        k("c", &["b"]),
        k("d", &[]),
        k("e", &["a"]),
    ];
    let graph = UnitGraph::build(&units, &HashMap::new());
    let messages: Vec<_> = graph.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "dependency cycle: Kustomization/flux-system/a -> Kustomization/flux-system/b -> Kustomization/flux-system/c -> Kustomization/flux-system/a"
        ]
    );
    let levels: Vec<_> = graph.levels().iter().map(|l| names(l)).collect();
    assert_eq!(levels, vec![vec!["d"]]);
}

#[test]
fn missing_dependencies_and_duplicates_are_reported() {
    let units = [k("a", &["ghost"]), k("b", &[]), k("b", &[])];
    let graph = UnitGraph::build(&units, &HashMap::new());
    let messages: Vec<_> = graph.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        messages,
        [
            "duplicate unit Kustomization/flux-system/b: declared at <input>:1 and again at <input>:1",
            "unit Kustomization/flux-system/a depends on Kustomization/flux-system/ghost, which is not declared anywhere",
        ]
    );
}

#[test]
fn sync_waves_order_sibling_applications() {
    let units = [app("db", -1), app("api", 0), app("web", 0), app("smoke", 5)];
    let graph = UnitGraph::build(&units, &HashMap::new());
    let levels: Vec<_> = graph.levels().iter().map(|l| names(l)).collect();
    assert_eq!(levels, vec![vec!["db"], vec!["api", "web"], vec!["smoke"]]);
}

#[test]
fn dot_and_mermaid_render_every_edge() {
    let units = [k("root", &[]), k("infra", &[]), k("apps", &["infra"])];
    let mut parents = HashMap::new();
    parents.insert(units[1].id.clone(), units[0].id.clone());
    parents.insert(units[2].id.clone(), units[0].id.clone());
    let graph = UnitGraph::build(&units, &parents);
    insta::assert_snapshot!(format!("{}\n{}", graph.to_dot(), graph.to_mermaid()));
}
