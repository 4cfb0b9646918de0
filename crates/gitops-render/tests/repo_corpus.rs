#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]
//! The repository model on real GitOps repositories from `../shared/corpus`: the units and edges
//! each declares, and every local unit without overlay fields rendered to the same objects as
//! kustomize v5.6's reference output (`_goldens/kustomize/<repo>/<path>.yaml`). Skipped when the
//! corpus is absent.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gitops_core::unit::UnitBody;
use gitops_core::yaml::{self, Schema};
use gitops_render::repo::{self, Discovery, Location, RepoOptions};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    gitops_testenv::corpus::root()
}

fn discover(repo: &str, entry: &str) -> Option<(PathBuf, Discovery)> {
    let corpus = corpus()?;
    let root = corpus.join(repo);
    let discovery = repo::discover(&root, entry, &RepoOptions::default());
    Some((corpus, discovery))
}

/// `name -> [dependencies]` for every unit, sorted.
fn edges(discovery: &Discovery) -> Vec<String> {
    let mut out: Vec<String> = discovery
        .units
        .iter()
        .map(|d| {
            let deps: Vec<String> = match &d.unit.body {
                UnitBody::Kustomization(spec) => {
                    spec.depends_on.iter().map(|r| r.name.clone()).collect()
                }
                UnitBody::HelmRelease(spec) => {
                    spec.depends_on.iter().map(|r| r.name.clone()).collect()
                }
                _ => Vec::new(),
            };
            format!(
                "{} {} -> [{}]",
                d.unit.id.kind,
                d.unit.id.name,
                deps.join(", ")
            )
        })
        .collect();
    out.sort();
    out
}

/// Objects as a set of canonical JSON strings (order-insensitive, formatting-insensitive).
fn object_set(values: impl IntoIterator<Item = Value>) -> BTreeSet<String> {
    values.into_iter().map(|v| v.to_string()).collect()
}

fn golden_objects(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap();
    let docs = yaml::parse_documents(&text, Schema::Yaml11).unwrap();
    object_set(docs.into_iter().map(|d| d.value).filter(|v| !v.is_null()))
}

/// Compares every rendered local unit without overlay fields with its golden, by the unit's
/// path; returns how many were compared.
fn compare_with_goldens(corpus: &Path, repo: &str, discovery: &Discovery) -> usize {
    let mut compared = 0;
    for unit in &discovery.units {
        let UnitBody::Kustomization(spec) = &unit.unit.body else {
            continue;
        };
        let overlay = spec.target_namespace.is_some()
            || spec.name_prefix.is_some()
            || spec.name_suffix.is_some()
            || !spec.patches.is_empty()
            || !spec.images.is_empty()
            || !spec.components.is_empty()
            || spec.post_build.is_some()
            || spec.common_metadata.is_some();
        let Location::Local { dir, .. } = &unit.location else {
            continue;
        };
        let relative = dir.strip_prefix(corpus.join(repo)).unwrap();
        let golden = corpus
            .join("_goldens/kustomize")
            .join(repo)
            .join(format!("{}.yaml", relative.display()));
        if overlay || !golden.is_file() {
            continue;
        }
        let objects = match unit.output.as_ref().unwrap() {
            Ok(objects) => objects,
            Err(e) => panic!("{}: {e}", unit.unit.id),
        };
        let ours = object_set(objects.iter().map(|o| o.object.to_value()));
        assert_eq!(
            ours,
            golden_objects(&golden),
            "{} ({}) differs from {}",
            unit.unit.id,
            relative.display(),
            golden.display()
        );
        compared += 1;
    }
    compared
}

#[test]
fn gitops_linkerd_units_edges_and_renders() {
    let Some((corpus, discovery)) = discover("gitops-linkerd", "clusters/my-cluster") else {
        eprintln!("corpus absent: skipped");
        return;
    };
    insta::assert_snapshot!("gitops_linkerd_edges", edges(&discovery).join("\n"));
    // The chain the repository's infrastructure.yaml and apps.yaml declare.
    let levels: Vec<Vec<String>> = discovery
        .graph
        .levels()
        .iter()
        .map(|level| {
            let mut names: Vec<String> = level.iter().map(|id| id.name.clone()).collect();
            names.sort();
            names
        })
        .collect();
    let level_of = |name: &str| levels.iter().position(|l| l.iter().any(|n| n == name));
    assert!(level_of("cert-manager") < level_of("linkerd"));
    assert!(level_of("linkerd") < level_of("ingress-nginx"));
    assert!(level_of("linkerd") < level_of("flagger"));
    assert!(level_of("flagger") < level_of("apps"));
    assert!(level_of("ingress-nginx") < level_of("apps"));
    // HelmReleases from HelmRepositories are external.
    let helm: Vec<_> = discovery
        .units
        .iter()
        .filter(|d| matches!(d.unit.body, UnitBody::HelmRelease(_)))
        .collect();
    assert!(!helm.is_empty());
    for unit in helm {
        assert!(
            matches!(&unit.location, Location::External { reason } if reason.contains("HelmRepository")),
            "{}: {:?}",
            unit.unit.id,
            unit.location
        );
    }
    let compared = compare_with_goldens(&corpus, "gitops-linkerd", &discovery);
    assert!(compared >= 5, "only {compared} units compared with goldens");
}

#[test]
fn flux2_example_staging_and_production() {
    for cluster in ["staging", "production"] {
        let Some((corpus, discovery)) = discover(
            "flux2-kustomize-helm-example-a484a05",
            &format!("clusters/{cluster}"),
        ) else {
            eprintln!("corpus absent: skipped");
            return;
        };
        insta::assert_snapshot!(
            format!("flux2_example_{cluster}_edges"),
            edges(&discovery).join("\n")
        );
        for unit in &discovery.units {
            if let Some(Err(e)) = &unit.output {
                panic!("{cluster}: {} failed: {e}", unit.unit.id);
            }
        }
        let compared =
            compare_with_goldens(&corpus, "flux2-kustomize-helm-example-a484a05", &discovery);
        assert!(compared >= 1, "{cluster}: no unit compared with goldens");
    }
}

#[test]
fn flux2_example_inline_patches_are_applied() {
    let Some((_, discovery)) = discover(
        "flux2-kustomize-helm-example-a484a05",
        "clusters/production",
    ) else {
        eprintln!("corpus absent: skipped");
        return;
    };
    // Every unit with inline patches renders, and no note says a field was left out.
    let patched: Vec<_> = discovery
        .units
        .iter()
        .filter(|d| matches!(&d.unit.body, UnitBody::Kustomization(s) if !s.patches.is_empty()))
        .collect();
    for unit in &patched {
        assert!(matches!(unit.output, Some(Ok(_))), "{}", unit.unit.id);
        assert!(unit.notes.is_empty(), "{}: {:?}", unit.unit.id, unit.notes);
    }
}

#[test]
fn argocd_app_of_apps_resolves_sibling_directories() {
    let Some((_, discovery)) = discover("argocd-example-apps", "apps") else {
        eprintln!("corpus absent: skipped");
        return;
    };
    insta::assert_snapshot!("argocd_apps_edges", edges(&discovery).join("\n"));
    let local: Vec<_> = discovery
        .units
        .iter()
        .filter(|d| matches!(d.location, Location::Local { .. }))
        .collect();
    assert!(!local.is_empty(), "no Application resolved to a directory");
    for unit in local {
        match &unit.output {
            // A chart whose dependencies are not vendored renders empty, and says why.
            Some(Ok(objects)) => assert!(
                !objects.is_empty() || unit.notes.iter().any(|n| n.contains("not vendored")),
                "{} rendered nothing",
                unit.unit.id
            ),
            other => panic!("{}: {other:?}", unit.unit.id),
        }
    }
}
