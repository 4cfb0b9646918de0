//! The operator as a process against the real control plane of `scripts/testenv`, with Git
//! served by `git daemon` on loopback. Each test has its own namespace (watched by its own
//! operator, which also holds its Lease there). Built only with the `e2e` feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt as _;
use gitops_core::api::{Condition, GitRepository, Kustomization};
use gitops_testenv::git::{GitDaemon, GitRepos, git};
use gitops_testenv::{Cluster, TestNamespace, eventually};
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use kube::{Api, Client};
use serde_json::{Value, json};

const LONG: Duration = Duration::from_secs(60);

/// An operator process, killed on drop; its log is kept in a file for assertions and failures.
struct Operator {
    child: Child,
    log: PathBuf,
    _storage: tempfile::TempDir,
}

impl Operator {
    fn start(namespace: &str, lease: &str) -> Operator {
        Operator::start_with(
            namespace,
            lease,
            &["--lease-duration", "4s", "--http-addr", "127.0.0.1:0"],
        )
    }

    /// Starts an operator with `extra` flags (which must include `--lease-duration` and
    /// `--http-addr`).
    fn start_with(namespace: &str, lease: &str, extra: &[&str]) -> Operator {
        let storage = tempfile::Builder::new()
            .prefix("gitops-operator-e2e-")
            .tempdir()
            .unwrap();
        let log = storage.path().join("operator.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_gitops-operator"))
            .args(["--kubeconfig"])
            .arg(Cluster::shared().unwrap().kubeconfig())
            .args(["--watch-namespace", namespace])
            .args(["--lease-namespace", namespace])
            .args(["--lease-name", lease])
            .args(extra)
            .args(["--default-interval", "1m"])
            .arg("--storage-path")
            .arg(storage.path().join("data"))
            .env("RUST_LOG", "info,kube=warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap();
        Operator {
            child,
            log,
            _storage: storage,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "--- operator log ({}) ---\n{}",
                self.log.display(),
                self.log()
            );
        }
    }
}

/// Installs the CRDs (server-side apply, idempotent) and waits until they are served.
async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in gitops_core::api::crds() {
        let name = crd["metadata"]["name"].as_str().unwrap().to_owned();
        crds.patch(
            &name,
            &PatchParams::apply("gitops-e2e").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
    }
    eventually("the CRDs to be served", LONG, || async {
        let ks: Api<Kustomization> = Api::all(client.clone());
        let repos: Api<GitRepository> = Api::all(client.clone());
        Ok(
            match (
                ks.list(&Default::default()).await,
                repos.list(&Default::default()).await,
            ) {
                (Ok(_), Ok(_)) => Some(()),
                _ => None,
            },
        )
    })
    .await
    .unwrap();
}

/// A test's world: namespace, Git server with one repository, and its operator.
struct World {
    ns: TestNamespace,
    repos: GitRepos,
    daemon: GitDaemon,
    operator: Option<Operator>,
}

impl World {
    async fn new(prefix: &str, files: &[(&str, &str)]) -> World {
        let ns = TestNamespace::create(prefix).await.unwrap();
        let client = ns.client();
        install_crds(&client).await;
        let repos = GitRepos::new().unwrap();
        repos.create("repo", files).unwrap();
        let daemon = GitDaemon::start(&repos).unwrap();
        World {
            ns,
            repos,
            daemon,
            operator: None,
        }
    }

    fn start_operator(&mut self) {
        self.operator = Some(Operator::start(self.ns.name(), "gitops-operator"));
    }

    fn name(&self) -> &str {
        self.ns.name()
    }

    fn units(&self) -> Api<Kustomization> {
        self.ns.api()
    }

    fn configmaps(&self) -> Api<ConfigMap> {
        self.ns.api()
    }

    /// Commits `changes` (path, Some(content) or None to delete) to `main` and returns the
    /// revision the operator will report.
    fn commit(&self, changes: &[(&str, Option<&str>)]) -> String {
        commit(&self.repos.root().join("repo.git"), changes)
    }

    fn head(&self) -> String {
        let bare = self.repos.root().join("repo.git");
        format!(
            "main@sha1:{}",
            git(Some(&bare), &["rev-parse", "main"]).unwrap().trim()
        )
    }

    async fn create_source(&self, interval: &str) {
        let repo: GitRepository = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "GitRepository",
            "metadata": {"name": "repo", "namespace": self.name()},
            "spec": {"url": self.daemon.url("repo"), "ref": {"branch": "main"}, "interval": interval},
        }))
        .unwrap();
        self.ns
            .api::<GitRepository>()
            .create(&PostParams::default(), &repo)
            .await
            .unwrap();
    }

    async fn create_unit(&self, name: &str, spec: Value) -> Kustomization {
        let mut full = json!({"sourceRef": {"kind": "GitRepository", "name": "repo"}});
        for (k, v) in spec.as_object().unwrap() {
            full[k] = v.clone();
        }
        let unit: Kustomization = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": self.name()},
            "spec": full,
        }))
        .unwrap();
        self.units()
            .create(&PostParams::default(), &unit)
            .await
            .unwrap()
    }

    /// Waits until unit `name` is Ready at `revision` and returns it.
    async fn ready_at(&self, name: &str, revision: &str) -> Kustomization {
        let units = self.units();
        eventually(
            &format!("unit {name} Ready at {revision}"),
            LONG,
            || async {
                let unit = units.get(name).await?;
                let status = unit.status.clone().unwrap_or_default();
                let ok = ready(&status.conditions).is_some_and(|c| c.status.as_str() == "True")
                    && status.last_applied_revision.as_deref() == Some(revision);
                Ok(ok.then_some(unit))
            },
        )
        .await
        .unwrap()
    }

    async fn configmap_data(&self, name: &str) -> Option<String> {
        self.configmaps()
            .get_opt(name)
            .await
            .unwrap()
            .and_then(|cm| cm.data)
            .and_then(|d| d.get("key").cloned())
    }
}

fn ready(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == "Ready")
}

fn condition<'a>(unit: &'a Kustomization, type_: &str) -> Option<&'a Condition> {
    unit.status
        .as_ref()
        .and_then(|s| s.conditions.iter().find(|c| c.type_ == type_))
}

fn commit(bare: &Path, changes: &[(&str, Option<&str>)]) -> String {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("w");
    git(
        None,
        &[
            "clone",
            "--quiet",
            &bare.to_string_lossy(),
            &dir.to_string_lossy(),
        ],
    )
    .unwrap();
    for (path, content) in changes {
        let file = dir.join(path);
        match content {
            Some(text) => {
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, text).unwrap();
            }
            None => std::fs::remove_file(&file).unwrap(),
        }
    }
    git(Some(&dir), &["add", "--all"]).unwrap();
    git(Some(&dir), &["commit", "--quiet", "-m", "change"]).unwrap();
    git(Some(&dir), &["push", "--quiet", "origin", "main"]).unwrap();
    format!(
        "main@sha1:{}",
        git(Some(&dir), &["rev-parse", "HEAD"]).unwrap().trim()
    )
}

fn configmap_yaml(name: &str, value: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  key: {value}\n")
}

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
async fn killing_the_leader_hands_over_to_the_standby_without_double_applies() {
    let mut world = World::new("op-leader", &[("app/cm.yaml", &configmap_yaml("a", "one"))]).await;
    let mut leader = Operator::start(world.name(), "shared-lease");
    // The first one takes the Lease before the standby starts.
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = world.ns.api();
    let holder = eventually("a Lease holder", LONG, || async {
        let lease = leases.get_opt("shared-lease").await?;
        Ok(lease.and_then(|l| l.spec).and_then(|s| s.holder_identity))
    })
    .await
    .unwrap();
    assert!(
        holder.ends_with(&format!("-{}", leader.child.id())),
        "{holder}"
    );
    let standby = Operator::start(world.name(), "shared-lease");
    world.create_source("1s").await;
    world
        .create_unit("app", json!({"path": "./app", "interval": "1m"}))
        .await;
    world.ready_at("app", &world.head()).await;
    assert!(leader.log().contains("reconciled"), "{}", leader.log());
    leader.kill();
    let killed_log = standby.log();
    assert!(
        !killed_log.contains("reconciled") && !killed_log.contains("fetched"),
        "the standby worked while the leader held the Lease:\n{killed_log}"
    );
    let second = world.commit(&[("app/cm.yaml", Some(&configmap_yaml("a", "two")))]);
    world.ready_at("app", &second).await;
    assert_eq!(world.configmap_data("a").await.as_deref(), Some("two"));
    let standby_log = standby.log();
    assert!(standby_log.contains("became leader"), "{standby_log}");
    let holder = leases
        .get("shared-lease")
        .await
        .unwrap()
        .spec
        .unwrap()
        .holder_identity
        .unwrap();
    assert!(
        holder.ends_with(&format!("-{}", standby.child.id())),
        "{holder}"
    );
    drop(world.operator.take());
}

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

/// A port free at the time of the call.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `GET path` on 127.0.0.1:port; the status code, or None when nothing answers.
fn http_status(port: u16, path: &str) -> Option<u16> {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn a_label_selector_shards_objects_and_probes_answer() {
    let files = [
        ("a/cm.yaml", configmap_yaml("a", "x")),
        ("b/cm.yaml", configmap_yaml("b", "x")),
    ];
    let files: Vec<(&str, &str)> = files.iter().map(|(p, c)| (*p, c.as_str())).collect();
    let world = World::new("op-shard", &files).await;
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let _operator = Operator::start_with(
        world.name(),
        "gitops-operator",
        &[
            "--lease-duration",
            "4s",
            "--http-addr",
            &addr,
            "--watch-label-selector",
            "shard=one",
        ],
    );
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "GitRepository",
        "metadata": {"name": "repo", "namespace": world.name(), "labels": {"shard": "one"}},
        "spec": {"url": world.daemon.url("repo"), "interval": "1m"},
    }))
    .unwrap();
    world
        .ns
        .api::<GitRepository>()
        .create(&PostParams::default(), &repo)
        .await
        .unwrap();
    for (name, shard) in [("a", "one"), ("b", "two")] {
        let unit: Kustomization = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": world.name(), "labels": {"shard": shard}},
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "repo"}, "path": format!("./{name}")},
        }))
        .unwrap();
        world
            .units()
            .create(&PostParams::default(), &unit)
            .await
            .unwrap();
    }
    world.ready_at("a", &world.head()).await;
    eventually("/healthz and /readyz answer 200", LONG, || async {
        Ok((http_status(port, "/healthz") == Some(200)
            && http_status(port, "/readyz") == Some(200))
        .then_some(()))
    })
    .await
    .unwrap();
    // The other shard's unit is not touched: no status, no objects.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(world.units().get("b").await.unwrap().status.is_none());
    assert_eq!(world.configmap_data("b").await, None);
}

#[tokio::test]
async fn sigterm_releases_the_lease_so_the_standby_takes_over_at_once() {
    let world = World::new("op-sigterm", &[("app/cm.yaml", &configmap_yaml("a", "x"))]).await;
    // A Lease of 60 s: only a release lets the standby lead within the test's bound.
    let flags = ["--lease-duration", "60s", "--http-addr", "127.0.0.1:0"];
    let first = Operator::start_with(world.name(), "long-lease", &flags);
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> = world.ns.api();
    let holder = |pid: u32| {
        let leases = leases.clone();
        async move {
            let lease = leases.get_opt("long-lease").await?;
            let holder = lease.and_then(|l| l.spec).and_then(|s| s.holder_identity);
            Ok(holder
                .filter(|h| h.ends_with(&format!("-{pid}")))
                .map(|_| ()))
        }
    };
    eventually("the first operator leads", LONG, || {
        holder(first.child.id())
    })
    .await
    .unwrap();
    let standby = Operator::start_with(world.name(), "long-lease", &flags);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let status = Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    eventually("the standby leads", Duration::from_secs(20), || {
        holder(standby.child.id())
    })
    .await
    .unwrap();
    assert!(
        first.log().contains("released the leader Lease"),
        "{}",
        first.log()
    );
    world.create_source("1m").await;
    world.create_unit("app", json!({"path": "./app"})).await;
    world.ready_at("app", &world.head()).await;
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
