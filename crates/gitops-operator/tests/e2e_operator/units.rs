//! Units: apply and prune, dependencies, health checks, drift, suspend, deletion,
//! substitution, impersonation, on-demand reconciles, force.

use super::*;

#[tokio::test]
async fn a_commit_is_applied_then_a_second_commit_changes_one_object_and_prunes_another() {
    let a = configmap_yaml("a", "one");
    let b = configmap_yaml("b", "one");
    let mut world = World::new("op-apply", &[("app/a.yaml", &a), ("app/b.yaml", &b)]).await;
    world.start_operator();
    world.create_source("1s").await;
    world
        .create_unit(
            "app",
            json!({"path": "./app", "interval": "1m", "prune": true}),
        )
        .await;
    let first = world.head();
    let unit = world.ready_at("app", &first).await;
    assert_eq!(world.configmap_data("a").await.as_deref(), Some("one"));
    assert_eq!(world.configmap_data("b").await.as_deref(), Some("one"));
    let inventory = unit.status.unwrap().inventory.unwrap();
    assert_eq!(inventory.len(), 2, "{inventory:?}");
    // The transition to Ready is an Event on the unit.
    let events: Api<k8s_openapi::api::events::v1::Event> = world.ns.api();
    eventually("a ReconciliationSucceeded event", LONG, || async {
        let list = events.list(&Default::default()).await?;
        Ok(list
            .items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("ReconciliationSucceeded")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("app")
                    && e.note.as_deref().is_some_and(|n| n.contains(&first))
            })
            .then_some(()))
    })
    .await
    .unwrap();

    let changed = configmap_yaml("a", "two");
    let second = world.commit(&[("app/a.yaml", Some(&changed)), ("app/b.yaml", None)]);
    let unit = world.ready_at("app", &second).await;
    assert_eq!(world.configmap_data("a").await.as_deref(), Some("two"));
    assert_eq!(world.configmap_data("b").await, None, "b was pruned");
    let status = unit.status.unwrap();
    assert_eq!(
        status.last_attempted_revision.as_deref(),
        Some(second.as_str())
    );
    assert_eq!(status.inventory.unwrap().len(), 1);
    let source = world.ns.api::<GitRepository>().get("repo").await.unwrap();
    let artifact = source.status.unwrap().artifact.unwrap();
    assert_eq!(artifact.revision, second);
    assert!(
        artifact.digest.starts_with("sha256:"),
        "{}",
        artifact.digest
    );
}

/// Transition times of each unit as the watch saw them: first `Reconciling=True` and first
/// `Ready=True` (operator clock, milliseconds).
#[derive(Debug, Default, Clone)]
struct Times {
    reconciling: Option<Timestamp>,
    ready: Option<Timestamp>,
}

fn record_times(
    api: Api<Kustomization>,
) -> (
    Arc<Mutex<HashMap<String, Times>>>,
    tokio::task::JoinHandle<()>,
) {
    let times: Arc<Mutex<HashMap<String, Times>>> = Arc::default();
    let sink = Arc::clone(&times);
    let task = tokio::spawn(async move {
        let mut stream = watcher(api, watcher::Config::default()).boxed();
        while let Some(event) = stream.next().await {
            let Ok(watcher::Event::Apply(unit) | watcher::Event::InitApply(unit)) = event else {
                continue;
            };
            let name = unit.metadata.name.clone().unwrap_or_default();
            let mut times = sink.lock().unwrap();
            let entry = times.entry(name).or_default();
            let at = |c: &Condition| c.last_transition_time.parse::<Timestamp>().ok();
            if entry.reconciling.is_none()
                && let Some(c) =
                    condition(&unit, "Reconciling").filter(|c| c.status.as_str() == "True")
            {
                entry.reconciling = at(c);
            }
            if entry.ready.is_none()
                && let Some(c) = condition(&unit, "Ready").filter(|c| c.status.as_str() == "True")
            {
                entry.ready = at(c);
            }
        }
    });
    (times, task)
}

#[tokio::test]
async fn a_dependency_chain_reconciles_in_order_and_each_dependent_starts_within_two_seconds() {
    let files = [
        ("a/cm.yaml", configmap_yaml("a", "x")),
        ("b/cm.yaml", configmap_yaml("b", "x")),
        ("c/cm.yaml", configmap_yaml("c", "x")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let mut world = World::new("op-deps", &files).await;
    let (times, watch) = record_times(world.units());
    world.create_source("1m").await;
    // Created dependents first: they must wait, not fail for good.
    world
        .create_unit(
            "c",
            json!({"path": "./c", "dependsOn": [{"name": "b"}], "wait": true}),
        )
        .await;
    world
        .create_unit(
            "b",
            json!({"path": "./b", "dependsOn": [{"name": "a"}], "wait": true}),
        )
        .await;
    world
        .create_unit("a", json!({"path": "./a", "wait": true}))
        .await;
    world.start_operator();
    let head = world.head();
    for unit in ["a", "b", "c"] {
        world.ready_at(unit, &head).await;
    }
    // Let the watch deliver the last events.
    tokio::time::sleep(Duration::from_millis(500)).await;
    watch.abort();
    let times = times.lock().unwrap().clone();
    eprintln!("{times:#?}");
    for (dependency, dependent) in [("a", "b"), ("b", "c")] {
        let ready = times[dependency].ready.expect("dependency Ready time");
        let started = times[dependent]
            .reconciling
            .expect("dependent Reconciling time");
        let gap = started.duration_since(ready);
        assert!(
            gap.is_positive() || gap.is_zero(),
            "{dependent} started at {started} before {dependency} was Ready at {ready}"
        );
        assert!(
            gap.as_secs_f64() < 2.0,
            "{dependent} started {gap} after {dependency} turned Ready"
        );
        eprintln!(
            "{dependent} started {:.3}s after {dependency} turned Ready",
            gap.as_secs_f64()
        );
    }
}

#[tokio::test]
async fn a_dependency_cycle_is_reported_on_every_unit_in_it() {
    let files = [
        ("a/cm.yaml", configmap_yaml("a", "x")),
        ("b/cm.yaml", configmap_yaml("b", "x")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let mut world = World::new("op-cycle", &files).await;
    world.create_source("1m").await;
    world
        .create_unit("a", json!({"path": "./a", "dependsOn": [{"name": "b"}]}))
        .await;
    world
        .create_unit("b", json!({"path": "./b", "dependsOn": [{"name": "a"}]}))
        .await;
    world.start_operator();
    let units = world.units();
    for (name, cycle) in [("a", "a → b → a"), ("b", "b → a → b")] {
        let unit = eventually(&format!("{name} Stalled"), LONG, || async {
            let unit = units.get(name).await?;
            Ok(condition(&unit, "Stalled").is_some().then_some(unit))
        })
        .await
        .unwrap();
        let stalled = condition(&unit, "Stalled").unwrap();
        assert_eq!(stalled.reason, "DependencyCycle");
        assert!(stalled.message.contains(cycle), "{}", stalled.message);
    }
    assert_eq!(world.configmap_data("a").await, None);
}

#[tokio::test]
async fn a_failing_health_check_sets_ready_false_naming_the_object() {
    let mut world = World::new("op-health", &[("app/cm.yaml", &configmap_yaml("a", "x"))]).await;
    world.start_operator();
    world.create_source("1s").await;
    world
        .create_unit(
            "app",
            json!({"path": "./app", "timeout": "3s", "retryInterval": "1m", "healthChecks": [
                {"apiVersion": "apps/v1", "kind": "Deployment", "name": "missing"}]}),
        )
        .await;
    let units = world.units();
    // (It may first wait for the source's artifact: ArtifactFailed, then retry.)
    let unit = eventually("Ready=False with HealthCheckFailed", LONG, || async {
        let unit = units.get("app").await?;
        Ok(condition(&unit, "Ready")
            .is_some_and(|c| c.status.as_str() == "False" && c.reason == "HealthCheckFailed")
            .then_some(unit))
    })
    .await
    .unwrap();
    let ready = condition(&unit, "Ready").unwrap();
    let object = format!("apps/Deployment/{}/missing", world.name());
    assert!(ready.message.contains(&object), "{}", ready.message);
    // The objects were applied all the same; only readiness failed.
    assert_eq!(world.configmap_data("a").await.as_deref(), Some("x"));

    // `wait: true` with a Deployment that can never be scheduled: it fails its progress deadline.
    let stuck = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: stuck\nspec:\n  replicas: 1\n  progressDeadlineSeconds: 2\n  selector:\n    matchLabels: {app: stuck}\n  template:\n    metadata:\n      labels: {app: stuck}\n    spec:\n      nodeSelector: {no-such: node}\n      containers:\n      - {name: app, image: registry.invalid/app:1}\n";
    let revision = world.commit(&[("stuck/deploy.yaml", Some(stuck))]);
    world
        .create_unit(
            "stuck",
            json!({"path": "./stuck", "wait": true, "timeout": "10s", "retryInterval": "1m"}),
        )
        .await;
    let unit = eventually(
        "stuck: Ready=False with HealthCheckFailed",
        LONG,
        || async {
            let unit = units.get("stuck").await?;
            Ok(condition(&unit, "Ready")
                .is_some_and(|c| c.status.as_str() == "False" && c.reason == "HealthCheckFailed")
                .then_some(unit))
        },
    )
    .await
    .unwrap();
    let message = &condition(&unit, "Ready").unwrap().message;
    let object = format!("apps/Deployment/{}/stuck", world.name());
    assert!(message.contains(&object), "{message}");
    let status = unit.status.unwrap();
    assert_eq!(status.last_attempted_revision, Some(revision));
    assert_eq!(status.last_applied_revision, None);
}

async fn edit_configmap(world: &World, name: &str, value: &str) {
    world
        .configmaps()
        .patch(
            name,
            &PatchParams::apply("someone-else").force(),
            &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name}, "data": {"key": value}})),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn drift_is_healed_by_default_and_only_reported_with_drift_policy_report() {
    let files = [
        ("heal/cm.yaml", configmap_yaml("healed", "desired")),
        ("report/cm.yaml", configmap_yaml("reported", "desired")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let mut world = World::new("op-drift", &files).await;
    world.start_operator();
    world.create_source("1m").await;
    world
        .create_unit("heal", json!({"path": "./heal", "interval": "2s"}))
        .await;
    world
        .create_unit(
            "report",
            json!({"path": "./report", "interval": "2s", "driftPolicy": "report"}),
        )
        .await;
    let head = world.head();
    world.ready_at("heal", &head).await;
    world.ready_at("report", &head).await;
    edit_configmap(&world, "healed", "edited").await;
    edit_configmap(&world, "reported", "edited").await;
    eventually("the healed ConfigMap restored", LONG, || async {
        Ok((world.configmap_data("healed").await.as_deref() == Some("desired")).then_some(()))
    })
    .await
    .unwrap();
    let units = world.units();
    let unit = eventually("report: Drifted=True", LONG, || async {
        let unit = units.get("report").await?;
        Ok(condition(&unit, "Drifted").is_some().then_some(unit))
    })
    .await
    .unwrap();
    let drifted = condition(&unit, "Drifted").unwrap();
    assert_eq!(drifted.reason, "DriftDetected");
    let object = format!("ConfigMap/{}/reported", world.name());
    assert!(drifted.message.contains(&object), "{}", drifted.message);
    // The report is also a Warning Event naming the object.
    let events: Api<k8s_openapi::api::events::v1::Event> = world.ns.api();
    eventually(
        "a DriftDetected warning naming the object",
        LONG,
        || async {
            let list = events.list(&Default::default()).await?;
            Ok(list
                .items
                .iter()
                .any(|e| {
                    e.reason.as_deref() == Some("DriftDetected")
                        && e.type_.as_deref() == Some("Warning")
                        && e.note.as_deref().is_some_and(|n| n.contains(&object))
                })
                .then_some(()))
        },
    )
    .await
    .unwrap();
    // Two more intervals: still not restored.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        world.configmap_data("reported").await.as_deref(),
        Some("edited")
    );
}

#[tokio::test]
async fn a_suspended_unit_is_left_alone_until_resumed() {
    let mut world = World::new(
        "op-suspend",
        &[("app/cm.yaml", &configmap_yaml("a", "one"))],
    )
    .await;
    world.start_operator();
    world.create_source("1s").await;
    world
        .create_unit("app", json!({"path": "./app", "interval": "2s"}))
        .await;
    let first = world.head();
    world.ready_at("app", &first).await;
    world
        .units()
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": true}})),
        )
        .await
        .unwrap();
    let second = world.commit(&[("app/cm.yaml", Some(&configmap_yaml("a", "two")))]);
    let repos = world.ns.api::<GitRepository>();
    eventually("the source at the second commit", LONG, || async {
        let repo = repos.get("repo").await?;
        Ok(
            (repo.status.and_then(|s| s.artifact).map(|a| a.revision) == Some(second.clone()))
                .then_some(()),
        )
    })
    .await
    .unwrap();
    edit_configmap(&world, "a", "edited").await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    assert_eq!(
        world.configmap_data("a").await.as_deref(),
        Some("edited"),
        "no heal while suspended"
    );
    let unit = world.units().get("app").await.unwrap();
    assert_eq!(unit.status.unwrap().last_applied_revision, Some(first));
    world
        .units()
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"suspend": false}})),
        )
        .await
        .unwrap();
    world.ready_at("app", &second).await;
    assert_eq!(world.configmap_data("a").await.as_deref(), Some("two"));
}

#[tokio::test]
async fn deleting_a_unit_with_prune_deletes_its_objects() {
    let files = [
        ("app/a.yaml", configmap_yaml("a", "x")),
        ("app/b.yaml", configmap_yaml("b", "x")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let mut world = World::new("op-delete", &files).await;
    world.start_operator();
    world.create_source("1m").await;
    world
        .create_unit("app", json!({"path": "./app", "prune": true}))
        .await;
    world.ready_at("app", &world.head()).await;
    world
        .units()
        .delete("app", &DeleteParams::default())
        .await
        .unwrap();
    let units = world.units();
    eventually("the unit and its objects gone", LONG, || async {
        let unit = units.get_opt("app").await?;
        let a = world.configmap_data("a").await;
        let b = world.configmap_data("b").await;
        Ok((unit.is_none() && a.is_none() && b.is_none()).then_some(()))
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn post_build_substitutes_variables_from_configmaps_and_secrets() {
    let template = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  key: ${greeting}-${secret_word}-${inline}\n";
    let mut world = World::new("op-substitute", &[("app/cm.yaml", template)]).await;
    let vars: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "vars"}, "data": {"greeting": "hello"}}))
    .unwrap();
    world
        .configmaps()
        .create(&PostParams::default(), &vars)
        .await
        .unwrap();
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "metadata": {"name": "secret-vars"}, "stringData": {"secret_word": "swordfish"}}))
    .unwrap();
    world
        .ns
        .api::<k8s_openapi::api::core::v1::Secret>()
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    world.start_operator();
    world.create_source("1m").await;
    world
        .create_unit(
            "app",
            json!({"path": "./app", "postBuild": {
            "substitute": {"inline": "there"},
            "substituteFrom": [
                {"kind": "ConfigMap", "name": "vars"},
                {"kind": "Secret", "name": "secret-vars"},
                {"kind": "ConfigMap", "name": "absent", "optional": true},
            ]}}),
        )
        .await;
    world.ready_at("app", &world.head()).await;
    assert_eq!(
        world.configmap_data("a").await.as_deref(),
        Some("hello-swordfish-there")
    );
}

#[tokio::test]
async fn a_unit_applies_as_its_service_account() {
    let mut world = World::new(
        "op-impersonate",
        &[("app/cm.yaml", &configmap_yaml("a", "x"))],
    )
    .await;
    let account: k8s_openapi::api::core::v1::ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "restricted"}})).unwrap();
    world
        .ns
        .api::<k8s_openapi::api::core::v1::ServiceAccount>()
        .create(&PostParams::default(), &account)
        .await
        .unwrap();
    world.start_operator();
    world.create_source("1m").await;
    world
        .create_unit(
            "app",
            json!({"path": "./app", "serviceAccountName": "restricted", "retryInterval": "1m"}),
        )
        .await;
    let units = world.units();
    let unit = eventually("Ready=False", LONG, || async {
        let unit = units.get("app").await?;
        Ok(condition(&unit, "Ready")
            .is_some_and(|c| c.status.as_str() == "False" && c.reason == "ReconciliationFailed")
            .then_some(unit))
    })
    .await
    .unwrap();
    let message = &condition(&unit, "Ready").unwrap().message;
    let user = format!("system:serviceaccount:{}:restricted", world.name());
    assert!(message.contains(&user), "{message}");
    assert_eq!(world.configmap_data("a").await, None);
}

#[tokio::test]
async fn a_requested_reconcile_fetches_and_applies_at_once() {
    let mut world = World::new(
        "op-request",
        &[("app/cm.yaml", &configmap_yaml("a", "one"))],
    )
    .await;
    world.start_operator();
    world.create_source("1h").await;
    world
        .create_unit("app", json!({"path": "./app", "interval": "1h"}))
        .await;
    world.ready_at("app", &world.head()).await;
    let second = world.commit(&[("app/cm.yaml", Some(&configmap_yaml("a", "two")))]);
    world
        .ns
        .api::<GitRepository>()
        .patch(
            "repo",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"metadata": {"annotations": {"reconcile.gitops.rs/requestedAt": "now-1"}}}),
            ),
        )
        .await
        .unwrap();
    world.ready_at("app", &second).await;
    assert_eq!(world.configmap_data("a").await.as_deref(), Some("two"));
    let repo = world.ns.api::<GitRepository>().get("repo").await.unwrap();
    assert_eq!(
        repo.status.unwrap().last_handled_reconcile_at.as_deref(),
        Some("now-1")
    );
}

#[tokio::test]
async fn force_recreates_an_object_whose_immutable_fields_changed() {
    let immutable = |value: &str| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{name}}\nimmutable: true\ndata:\n  key: {value}\n"
        )
    };
    let forced = immutable("one").replace("{name}", "forced");
    let plain = immutable("one").replace("{name}", "plain");
    let mut world = World::new(
        "op-force",
        &[("forced/cm.yaml", &forced), ("plain/cm.yaml", &plain)],
    )
    .await;
    world.start_operator();
    world.create_source("1s").await;
    world
        .create_unit("forced", json!({"path": "./forced", "force": true}))
        .await;
    world
        .create_unit("plain", json!({"path": "./plain", "retryInterval": "1m"}))
        .await;
    let first = world.head();
    world.ready_at("forced", &first).await;
    world.ready_at("plain", &first).await;
    let second = world.commit(&[
        (
            "forced/cm.yaml",
            Some(&immutable("two").replace("{name}", "forced")),
        ),
        (
            "plain/cm.yaml",
            Some(&immutable("two").replace("{name}", "plain")),
        ),
    ]);
    world.ready_at("forced", &second).await;
    assert_eq!(world.configmap_data("forced").await.as_deref(), Some("two"));
    let units = world.units();
    let unit = eventually(
        "plain: Ready=False at the second revision",
        LONG,
        || async {
            let unit = units.get("plain").await?;
            let status = unit.status.clone().unwrap_or_default();
            let failed = ready(&status.conditions).is_some_and(|c| c.status.as_str() == "False");
            Ok(
                (failed && status.last_attempted_revision.as_deref() == Some(second.as_str()))
                    .then_some(unit),
            )
        },
    )
    .await
    .unwrap();
    let message = &condition(&unit, "Ready").unwrap().message;
    assert!(message.contains("immutable"), "{message}");
    assert_eq!(world.configmap_data("plain").await.as_deref(), Some("one"));
}

#[tokio::test]
async fn an_included_repository_is_composed_into_the_artifact_and_follows_its_changes() {
    let world = World::new("op-include", &[("README.md", "app\n")]).await;
    let lib = world
        .repos
        .create(
            "lib",
            &[("manifests/cm.yaml", &configmap_yaml("from-lib", "one"))],
        )
        .unwrap();
    let _operator = Operator::start(world.name(), "gitops-operator");
    let repos = world.ns.api::<GitRepository>();
    // The including repository and the unit have hour-long intervals: only the change of the
    // included repository (fetched every second) can wake them within the test.
    for (name, spec) in [
        (
            "lib",
            json!({"url": world.daemon.url("lib"), "interval": "1s"}),
        ),
        (
            "repo",
            json!({"url": world.daemon.url("repo"), "interval": "1h",
            "include": [{"repository": {"name": "lib"}, "fromPath": "manifests", "toPath": "vendor"}]}),
        ),
    ] {
        let repo: GitRepository = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": world.name()}, "spec": spec,
        }))
        .unwrap();
        repos.create(&PostParams::default(), &repo).await.unwrap();
    }
    world
        .create_unit("app", json!({"path": "./vendor", "interval": "1h"}))
        .await;
    world.ready_at("app", &world.head()).await;
    assert_eq!(
        world.configmap_data("from-lib").await.as_deref(),
        Some("one")
    );
    let before = repos
        .get("repo")
        .await
        .unwrap()
        .status
        .unwrap()
        .artifact
        .unwrap();
    commit(
        &lib,
        &[
            (
                "manifests/cm.yaml",
                Some(&configmap_yaml("from-lib", "two")),
            ),
            (
                "manifests/new.yaml",
                Some(&configmap_yaml("new-in-lib", "three")),
            ),
        ],
    );
    // Well within the hour: the including artifact holds the new file (same revision, new
    // digest) and the unit applied it.
    eventually("the included change applied", LONG, || async {
        Ok(
            (world.configmap_data("from-lib").await.as_deref() == Some("two")
                && world.configmap_data("new-in-lib").await.as_deref() == Some("three"))
            .then_some(()),
        )
    })
    .await
    .unwrap();
    let after = repos
        .get("repo")
        .await
        .unwrap()
        .status
        .unwrap()
        .artifact
        .unwrap();
    assert_eq!(after.revision, before.revision);
    assert_ne!(after.digest, before.digest);
}
