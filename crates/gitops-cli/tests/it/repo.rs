//! `gitops graph`, `plan`, `convert` and `build --unit` on repositories.

use crate::common::{gitops, run};

#[test]
fn graph_of_the_platform_fixture_in_every_format() {
    for format in ["text", "json", "dot", "mermaid"] {
        let out = run(
            &mut gitops(&[
                "graph",
                "fixtures/platform",
                "--path",
                "clusters/staging",
                "-o",
                format,
            ]),
            &[],
        );
        insta::assert_snapshot!(format!("graph_platform_{format}"), out);
    }
}

fn write(dir: &std::path::Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn kustomization(name: &str, path: &str, deps: &[&str]) -> String {
    let deps: String = deps.iter().map(|d| format!("  - name: {d}\n")).collect();
    let deps = if deps.is_empty() {
        String::new()
    } else {
        format!("  dependsOn:\n{deps}")
    };
    format!(
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n{deps}  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: {path}\n  prune: true\n"
    )
}

#[test]
fn cycles_and_missing_dependencies_fail_the_plan_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let units = [
        kustomization("a", "./a", &["c"]),
        kustomization("b", "./b", &["a"]),
        kustomization("c", "./c", &["b"]),
        kustomization("d", "./d", &["ghost"]),
        kustomization("e", "./e", &[]),
    ]
    .concat();
    write(dir.path(), "clusters/x/units.yaml", &units);
    for name in ["a", "b", "c", "d", "e"] {
        write(
            dir.path(),
            &format!("{name}/cm.yaml"),
            &format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: default\n"
            ),
        );
    }
    let root = dir.path().to_str().unwrap();
    let out = run(
        &mut gitops(&["plan", root, "--path", "clusters/x"]),
        &[(root, "[REPO]")],
    );
    insta::assert_snapshot!(out);
    let graph = run(
        &mut gitops(&["graph", root, "--path", "clusters/x"]),
        &[(root, "[REPO]")],
    );
    assert!(graph.starts_with("exit code: 1\n"), "{graph}");
}

#[test]
fn graph_of_a_missing_path_is_an_error_naming_it() {
    let out = run(
        &mut gitops(&["graph", "fixtures/platform", "--path", "clusters/nowhere"]),
        &[],
    );
    assert_eq!(
        out,
        "exit code: 1\n----- stdout -----\n\n----- stderr -----\nerror: path `clusters/nowhere` \
         of `fixtures/platform` cannot be read: cannot read `fixtures/platform/clusters/nowhere`: \
         No such file or directory (os error 2)\n"
    );
}

#[test]
fn a_unit_that_fails_to_render_does_not_hide_the_others() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "clusters/x/units.yaml",
        &[
            kustomization("good", "./good", &[]),
            kustomization("bad", "./bad", &["good"]),
        ]
        .concat(),
    );
    write(
        dir.path(),
        "good/cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: good\n",
    );
    write(
        dir.path(),
        "bad/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
    );
    let root = dir.path().to_str().unwrap();
    insta::assert_snapshot!(run(
        &mut gitops(&["plan", root, "--path", "clusters/x"]),
        &[(root, "[REPO]")]
    ));
    let unit = run(
        &mut gitops(&[
            "plan",
            root,
            "--path",
            "clusters/x",
            "--unit",
            "good",
            "-o",
            "json",
        ]),
        &[(root, "[REPO]")],
    );
    insta::assert_snapshot!(unit);
    let built = run(
        &mut gitops(&[
            "build",
            root,
            "--path",
            "clusters/x",
            "--unit",
            "flux-system/good",
        ]),
        &[(root, "[REPO]")],
    );
    insta::assert_snapshot!(built);
    let missing = run(
        &mut gitops(&["build", root, "--path", "clusters/x", "--unit", "nope"]),
        &[(root, "[REPO]")],
    );
    insta::assert_snapshot!(missing);
}

#[test]
fn convert_turns_flux_objects_into_ours_and_back() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "flux.yaml",
        &format!(
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  url: https://example.com/repo\n  ref:\n    branch: main\n{}",
            kustomization("apps", "./apps", &["infra"])
        ),
    );
    let file = dir.path().join("flux.yaml");
    let file = file.to_str().unwrap();
    let ours = run(&mut gitops(&["convert", file]), &[]);
    insta::assert_snapshot!(ours);
    let ours_yaml = ours
        .split("----- stdout -----\n")
        .nth(1)
        .unwrap()
        .split("\n----- stderr")
        .next()
        .unwrap();
    write(dir.path(), "ours.yaml", ours_yaml);
    let back = run(
        &mut gitops(&[
            "convert",
            dir.path().join("ours.yaml").to_str().unwrap(),
            "--to",
            "flux",
        ]),
        &[],
    );
    insta::assert_snapshot!(back);
}

#[test]
fn plan_of_the_platform_fixture() {
    for cluster in ["staging", "production"] {
        for format in ["text", "json"] {
            let out = run(
                &mut gitops(&[
                    "plan",
                    "fixtures/platform",
                    "--path",
                    &format!("clusters/{cluster}"),
                    "-o",
                    format,
                ]),
                &[],
            );
            insta::assert_snapshot!(format!("plan_platform_{cluster}_{format}"), out);
        }
    }
}

/// The shared corpus, when present (`../shared/corpus` next to the checkout).
fn corpus() -> Option<std::path::PathBuf> {
    gitops_testenv::corpus::root()
}

/// `gitops plan` (text and JSON) and `gitops graph` on the real repositories of the corpus.
#[test]
fn plan_and_graph_of_corpus_repositories() {
    let Some(corpus) = corpus() else {
        return;
    };
    let cases = [
        ("gitops-linkerd", "clusters/my-cluster", "linkerd"),
        (
            "flux2-kustomize-helm-example-a484a05",
            "clusters/staging",
            "flux2_staging",
        ),
        (
            "flux2-kustomize-helm-example-a484a05",
            "clusters/production",
            "flux2_production",
        ),
        ("argocd-example-apps", "apps", "argocd_apps"),
    ];
    for (repo, path, name) in cases {
        let root = corpus.join(repo);
        let root = root.to_str().unwrap();
        for format in ["text", "json"] {
            let out = run(
                &mut gitops(&["plan", root, "--path", path, "-o", format]),
                &[(root, "[REPO]")],
            );
            insta::assert_snapshot!(format!("corpus_plan_{name}_{format}"), out);
        }
        let graph = run(
            &mut gitops(&["graph", root, "--path", path]),
            &[(root, "[REPO]")],
        );
        insta::assert_snapshot!(format!("corpus_graph_{name}"), graph);
    }
}
