// The operator's e2e harness, shared by the e2e test binaries with `include!` (each binary is
// its own process, so each has its own control plane: fault tests that stop a component run in
// a binary of their own). Not a module: the tests' modules use its items as `super::*`.
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
    for crd in gitops_core::api::crds()
        .into_iter()
        .chain([gitops_rollout::object::crd()])
    {
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
        let helm_repos: Api<gitops_core::api::HelmRepository> = Api::all(client.clone());
        let rollouts: Api<gitops_rollout::RolloutObject> = Api::all(client.clone());
        Ok(
            match (
                ks.list(&Default::default()).await,
                repos.list(&Default::default()).await,
                helm_repos.list(&Default::default()).await,
                rollouts.list(&Default::default()).await,
            ) {
                (Ok(_), Ok(_), Ok(_), Ok(_)) => Some(()),
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

