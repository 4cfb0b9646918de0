//! The repository's fixtures reconciled by the operator.

use super::*;

/// Every file below `dir`, relative to it.
fn files_below(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                out.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_platform_fixture_reconciles_completely() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/platform");
    let files = files_below(&root);
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let mut world = World::new("op-platform", &files).await;
    world.start_operator();
    world.create_source("1m").await;
    // The staging cluster's units and release, in this test's namespace, on this test's Git
    // server.
    let mut names = Vec::new();
    let mut releases = Vec::new();
    for file in ["infrastructure.yaml", "apps.yaml"] {
        let text = std::fs::read_to_string(root.join("clusters/staging").join(file)).unwrap();
        for doc in
            gitops_core::yaml::parse_documents(&text, gitops_core::yaml::Schema::Yaml12).unwrap()
        {
            let value = doc.value;
            let name = value["metadata"]["name"].as_str().unwrap().to_owned();
            let mut spec = value["spec"].clone();
            if value["kind"] == "HelmRelease" {
                spec["chart"]["spec"]["sourceRef"] =
                    json!({"kind": "GitRepository", "name": "repo"});
                let release: gitops_core::api::HelmRelease = serde_json::from_value(json!({
                    "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
                    "metadata": {"name": name, "namespace": world.name()},
                    "spec": spec,
                }))
                .unwrap();
                world
                    .ns
                    .api::<gitops_core::api::HelmRelease>()
                    .create(&PostParams::default(), &release)
                    .await
                    .unwrap();
                releases.push(name);
                continue;
            }
            spec["sourceRef"] = json!({"kind": "GitRepository", "name": "repo"});
            world.create_unit(&name, spec).await;
            names.push(name);
        }
    }
    assert_eq!(
        names,
        ["infra-crds", "infra-controllers", "apps", "reports"]
    );
    assert_eq!(releases, ["dashboard"]);
    let head = world.head();
    for name in &names {
        world.ready_at(name, &head).await;
    }
    let api = world.ns.api::<gitops_core::api::HelmRelease>();
    let release = eventually("the dashboard release Ready", LONG, || async {
        let release = api.get("dashboard").await?;
        let status = release.status.clone().unwrap_or_default();
        let ready = ready(&status.conditions).is_some_and(|c| c.status.as_str() == "True");
        Ok(
            (ready && status.last_applied_revision.as_deref() == Some(head.as_str()))
                .then_some(release),
        )
    })
    .await
    .unwrap();
    let inventory = release.status.unwrap().inventory.unwrap();
    assert!(
        inventory
            .entries
            .iter()
            .any(|e| e.id.starts_with("shop_") && e.id.ends_with("_apps_Deployment")),
        "{inventory:?}"
    );
}
