//! HelmReleases: values, dependencies, hooks, uninstall, rollback.

use super::*;

#[tokio::test]
async fn helm_releases_render_with_values_wait_for_their_dependencies_and_uninstall() {
    let chart = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
    let values = "greeting: hi\nname: default\n";
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  key: {{ .Values.greeting }}-{{ .Values.name }}\n";
    // A pre-install hook that stays, and a post-install hook deleted once it succeeded.
    let hooks = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-pre\n  annotations:\n    helm.sh/hook: pre-install,pre-upgrade\n    helm.sh/hook-weight: \"-1\"\ndata:\n  key: pre\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-post\n  annotations:\n    helm.sh/hook: post-install\n    helm.sh/hook-delete-policy: hook-succeeded\ndata:\n  key: post\n";
    let mut world = World::new(
        "op-helm",
        &[
            ("charts/demo/Chart.yaml", chart),
            ("charts/demo/values.yaml", values),
            ("charts/demo/templates/cm.yaml", template),
            ("charts/demo/templates/hooks.yaml", hooks),
        ],
    )
    .await;
    let vals: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "vals"}, "data": {"values.yaml": "greeting: hello\n"}}))
    .unwrap();
    world
        .configmaps()
        .create(&PostParams::default(), &vals)
        .await
        .unwrap();
    world.start_operator();
    world.create_source("1m").await;
    let releases = world.ns.api::<gitops_core::api::HelmRelease>();
    let chart_ref = json!({"spec": {"chart": "./charts/demo", "sourceRef": {"kind": "GitRepository", "name": "repo"}}});
    // The dependent first: it must wait.
    for (name, spec) in [
        (
            "second",
            json!({"chart": chart_ref, "values": {"name": "two"}, "dependsOn": [{"name": "first"}]}),
        ),
        (
            "first",
            json!({"chart": chart_ref, "values": {"name": "one"},
            "valuesFrom": [{"kind": "ConfigMap", "name": "vals"}]}),
        ),
    ] {
        let release: gitops_core::api::HelmRelease = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": world.name()}, "spec": spec,
        }))
        .unwrap();
        releases
            .create(&PostParams::default(), &release)
            .await
            .unwrap();
    }
    let head = world.head();
    let mut ready_at = Vec::new();
    for name in ["first", "second"] {
        let release = eventually(&format!("release {name} Ready"), LONG, || async {
            let release = releases.get(name).await?;
            let status = release.status.clone().unwrap_or_default();
            let ok = ready(&status.conditions).is_some_and(|c| c.status.as_str() == "True")
                && status.last_applied_revision.as_deref() == Some(head.as_str());
            Ok(ok.then_some(release))
        })
        .await
        .unwrap();
        let status = release.status.unwrap();
        let at: Timestamp = ready(&status.conditions)
            .unwrap()
            .last_transition_time
            .parse()
            .unwrap();
        ready_at.push(at);
    }
    assert!(
        ready_at[0] <= ready_at[1],
        "second was Ready before first: {ready_at:?}"
    );
    assert_eq!(
        world.configmap_data("first").await.as_deref(),
        Some("hello-one")
    );
    assert_eq!(
        world.configmap_data("second").await.as_deref(),
        Some("hi-two")
    );
    // Hooks ran: the pre-install one is there (and not in the inventory), the post-install one
    // was deleted after it succeeded.
    assert_eq!(
        world.configmap_data("first-pre").await.as_deref(),
        Some("pre")
    );
    assert_eq!(world.configmap_data("first-post").await, None);
    let first = releases.get("first").await.unwrap();
    let inventory = first.status.unwrap().inventory.unwrap();
    assert_eq!(inventory.len(), 1, "{inventory:?}");
    let configmaps = world.configmaps();
    let created = |name: &'static str| {
        let api = configmaps.clone();
        async move {
            api.get(name)
                .await
                .unwrap()
                .metadata
                .creation_timestamp
                .unwrap()
                .0
        }
    };
    assert!(
        created("first-pre").await <= created("first").await,
        "the pre-install hook ran first"
    );
    releases
        .delete("first", &DeleteParams::default())
        .await
        .unwrap();
    eventually("first uninstalled", LONG, || async {
        let gone = releases.get_opt("first").await?.is_none();
        Ok((gone && world.configmap_data("first").await.is_none()).then_some(()))
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn a_failed_upgrade_is_rolled_back_to_the_last_good_revision() {
    let chart = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  key: one\n";
    let mut world = World::new(
        "op-rollback",
        &[
            ("charts/demo/Chart.yaml", chart),
            ("charts/demo/templates/cm.yaml", cm),
        ],
    )
    .await;
    world.start_operator();
    world.create_source("1s").await;
    let release: gitops_core::api::HelmRelease = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": "app", "namespace": world.name()},
        "spec": {
            "chart": {"spec": {"chart": "./charts/demo", "sourceRef": {"kind": "GitRepository", "name": "repo"}}},
            "timeout": "8s",
            "upgrade": {"remediation": {"retries": 0, "remediateLastFailure": true}},
        },
    }))
    .unwrap();
    let releases = world.ns.api::<gitops_core::api::HelmRelease>();
    releases
        .create(&PostParams::default(), &release)
        .await
        .unwrap();
    let first = world.head();
    let status_of = |wanted: &'static str| {
        let releases = releases.clone();
        move || {
            let releases = releases.clone();
            async move {
                let release = releases.get("app").await?;
                let status = release.status.unwrap_or_default();
                Ok(ready(&status.conditions)
                    .is_some_and(|c| c.reason == wanted)
                    .then_some(status))
            }
        }
    };
    let status = eventually("installed", LONG, status_of("InstallSucceeded"))
        .await
        .unwrap();
    assert_eq!(status.last_applied_revision, Some(first.clone()));
    // The upgrade changes the ConfigMap and adds a Deployment that never becomes ready.
    let stuck = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: stuck\nspec:\n  replicas: 1\n  progressDeadlineSeconds: 2\n  selector:\n    matchLabels: {app: stuck}\n  template:\n    metadata:\n      labels: {app: stuck}\n    spec:\n      nodeSelector: {no-such: node}\n      containers:\n      - {name: app, image: registry.invalid/app:1}\n";
    let second = world.commit(&[
        (
            "charts/demo/templates/cm.yaml",
            Some(&cm.replace("key: one", "key: two")),
        ),
        ("charts/demo/templates/stuck.yaml", Some(stuck)),
    ]);
    let status = eventually("rolled back", LONG, status_of("RolledBack"))
        .await
        .unwrap();
    assert_eq!(status.last_applied_revision, Some(first.clone()));
    assert_eq!(status.last_attempted_revision, Some(second));
    let message = &ready(&status.conditions).unwrap().message;
    assert!(
        message.contains("apps/Deployment") && message.contains(&first),
        "{message}"
    );
    // The last good revision's objects are back: the ConfigMap as it was, no Deployment.
    assert_eq!(world.configmap_data("app").await.as_deref(), Some("one"));
    let deployments: Api<k8s_openapi::api::apps::v1::Deployment> = world.ns.api();
    eventually("the Deployment pruned", LONG, || async {
        Ok(deployments.get_opt("stuck").await?.is_none().then_some(()))
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn release_drift_is_healed_by_default_and_only_reported_in_warn_mode() {
    let chart = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  key: desired\n";
    let mut world = World::new(
        "op-helm-drift",
        &[
            ("charts/demo/Chart.yaml", chart),
            ("charts/demo/templates/cm.yaml", cm),
        ],
    )
    .await;
    world.start_operator();
    world.create_source("1m").await;
    let releases = world.ns.api::<gitops_core::api::HelmRelease>();
    let chart_ref = json!({"spec": {"chart": "./charts/demo", "sourceRef": {"kind": "GitRepository", "name": "repo"}}});
    for (name, detection) in [
        ("healed", json!({"mode": "enabled"})),
        ("warned", json!({"mode": "warn"})),
    ] {
        let release: gitops_core::api::HelmRelease = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": world.name()},
            "spec": {"chart": chart_ref, "interval": "2s", "driftDetection": detection},
        }))
        .unwrap();
        releases
            .create(&PostParams::default(), &release)
            .await
            .unwrap();
    }
    for name in ["healed", "warned"] {
        eventually(&format!("{name} installed"), LONG, || async {
            Ok(world
                .configmap_data(name)
                .await
                .filter(|v| v == "desired")
                .map(|_| ()))
        })
        .await
        .unwrap();
    }
    // Someone edits both ConfigMaps by hand.
    for name in ["healed", "warned"] {
        world
            .configmaps()
            .patch(
                name,
                &PatchParams::apply("someone").force(),
                &Patch::Apply(json!({
                    "apiVersion": "v1", "kind": "ConfigMap",
                    "metadata": {"name": name}, "data": {"key": "edited"},
                })),
            )
            .await
            .unwrap();
    }
    eventually("the default release healed", LONG, || async {
        Ok(world
            .configmap_data("healed")
            .await
            .filter(|v| v == "desired")
            .map(|_| ()))
    })
    .await
    .unwrap();
    let message = eventually("the warn release reports drift", LONG, || async {
        let status = releases.get("warned").await?.status.unwrap_or_default();
        Ok(status
            .conditions
            .iter()
            .find(|c| c.type_ == "Drifted" && c.status.as_str() == "True")
            .map(|c| c.message.clone()))
    })
    .await
    .unwrap();
    assert!(
        message.contains(&format!("ConfigMap/{}/warned", world.name())),
        "{message}"
    );
    // Reported, not healed; and still Ready.
    assert_eq!(
        world.configmap_data("warned").await.as_deref(),
        Some("edited")
    );
    let status = releases.get("warned").await.unwrap().status.unwrap();
    assert_eq!(ready(&status.conditions).unwrap().status.as_str(), "True");
}
