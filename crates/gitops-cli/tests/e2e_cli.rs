//! `gitops apply`, `diff` and `drift` against the control plane of `scripts/testenv`. Built only
//! with the `e2e` feature (`scripts/test` turns it on).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use gitops_testenv::{Cluster, TestNamespace};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn gitops(ns: &str, args: &[&str]) -> Run {
    let cluster = Cluster::shared().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(args)
        .args(["--kubeconfig", cluster.kubeconfig().to_str().unwrap()])
        .args(["-n", ns, "--inventory-namespace", ns])
        .env_remove("RUST_LOG")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).replace(ns, "NS"),
        stderr: String::from_utf8_lossy(&output.stderr).replace(ns, "NS"),
    }
}

fn kubectl(ns: &str, args: &[&str]) {
    let cluster = Cluster::shared().unwrap();
    let bin = cluster
        .bin_dir()
        .map(|d| d.join("kubectl"))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("kubectl"));
    let status = Command::new(bin)
        .args([
            "--kubeconfig",
            cluster.kubeconfig().to_str().unwrap(),
            "-n",
            ns,
        ])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "kubectl {args:?}");
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: registry.invalid/web:1
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_diff_drift_and_heal() {
    let ns = TestNamespace::create("cli-apply").await.unwrap();
    let ns = ns.name().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("shop");
    std::fs::create_dir(&src).unwrap();
    write(&src, "deployment.yaml", DEPLOYMENT);
    write(&src, "settings.yaml", CONFIGMAP);
    let src = src.to_str().unwrap();

    let first = gitops(
        &ns,
        &["apply", src, "--prune", "--wait", "--timeout", "90s"],
    );
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        first.stdout,
        "ConfigMap/NS/settings created\napps/Deployment/NS/web created\n"
    );
    assert!(
        first.stderr.contains("apply shop: 2 created"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("all 2 objects are Current"),
        "{}",
        first.stderr
    );

    let in_sync = gitops(&ns, &["diff", src]);
    assert_eq!(
        (in_sync.code, in_sync.stdout.as_str()),
        (0, ""),
        "{}",
        in_sync.stderr
    );

    // Drift made with kubectl: reported by diff (exit 1) and drift, healed by apply.
    kubectl(&ns, &["scale", "deployment/web", "--replicas=4"]);
    let drift = gitops(&ns, &["diff", src]);
    assert_eq!(drift.code, 1, "{}", drift.stderr);
    assert!(
        drift
            .stdout
            .starts_with("--- live/apps/Deployment/NS/web\n+++ desired/apps/Deployment/NS/web\n"),
        "{}",
        drift.stdout
    );
    assert!(
        drift.stdout.contains("\n-  replicas: 4\n+  replicas: 2\n"),
        "{}",
        drift.stdout
    );
    let listed = gitops(&ns, &["drift", src]);
    assert_eq!(
        (listed.code, listed.stdout.as_str()),
        (1, "apps/Deployment/NS/web changed\n")
    );
    let json = gitops(&ns, &["diff", src, "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value[0]["drift"], "changed");

    let healed = gitops(&ns, &["apply", src]);
    assert_eq!(healed.code, 0, "{}", healed.stderr);
    assert_eq!(
        healed.stdout,
        "ConfigMap/NS/settings unchanged\napps/Deployment/NS/web configured\n"
    );
    assert_eq!(gitops(&ns, &["diff", src]).code, 0);

    // A file removed: drift reports the object as extra, apply --prune deletes it.
    std::fs::remove_file(Path::new(src).join("settings.yaml")).unwrap();
    let extra = gitops(&ns, &["drift", src]);
    assert_eq!(
        (extra.code, extra.stdout.as_str()),
        (1, "ConfigMap/NS/settings extra\n")
    );
    // But not when the render fails: a broken file stops everything before the cluster.
    write(Path::new(src), "broken.yaml", "kind: [unclosed\n");
    let broken = gitops(&ns, &["apply", src, "--prune"]);
    assert_eq!(broken.code, 1);
    assert!(broken.stderr.contains("broken.yaml"), "{}", broken.stderr);
    assert_eq!(gitops(&ns, &["drift", src]).code, 2);
    std::fs::remove_file(Path::new(src).join("broken.yaml")).unwrap();
    let pruned = gitops(&ns, &["apply", src, "--prune"]);
    assert_eq!(pruned.code, 0, "{}", pruned.stderr);
    assert_eq!(
        pruned.stdout,
        "apps/Deployment/NS/web unchanged\nConfigMap/NS/settings deleted\n"
    );

    // An empty source is refused unless --allow-empty.
    std::fs::remove_file(Path::new(src).join("deployment.yaml")).unwrap();
    let empty = gitops(&ns, &["apply", src, "--prune"]);
    assert_eq!(empty.code, 1);
    assert!(empty.stderr.contains("--allow-empty"), "{}", empty.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diff_errors_exit_2_and_unit_flags_are_explained() {
    let ns = TestNamespace::create("cli-diff-error").await.unwrap();
    let ns = ns.name().to_owned();
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "thing.yaml",
        "apiVersion: nope.example.com/v1\nkind: Thing\nmetadata:\n  name: t\n",
    );
    let src = dir.path().to_str().unwrap();
    let run = gitops(&ns, &["diff", src]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("nope.example.com/Thing/t: the server has no resource for kind `Thing`"),
        "{}",
        run.stderr
    );
    let apply = gitops(&ns, &["apply", src]);
    assert_eq!(apply.code, 1);
    let unit = gitops(&ns, &["apply", src, "--unit", "x"]);
    assert_eq!(unit.code, 1);
    assert!(unit.stderr.contains("--unit x"), "{}", unit.stderr);
}

/// Runs `gitops` with the test cluster's kubeconfig and nothing else.
fn gitops_plain(args: &[&str]) -> Run {
    let cluster = Cluster::shared().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(args)
        .args(["--kubeconfig", cluster.kubeconfig().to_str().unwrap()])
        .env_remove("RUST_LOG")
        .env_remove("KUBECONFIG")
        .output()
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn install_applies_the_operator_with_established_crds() {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    // Its own namespace, so that it does not meet an installation made by another test.
    let ns = TestNamespace::create("cli-install").await.unwrap();
    let name = ns.name().to_owned();
    let first = gitops_plain(&["install", "--namespace", &name]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    for line in [
        "CustomResourceDefinition/gitrepositories.gitops.rs".to_owned(),
        "CustomResourceDefinition/receivers.gitops.rs".to_owned(),
        format!("ServiceAccount/{name}/gitops-operator created"),
        format!("apps/Deployment/{name}/gitops-operator created"),
        "rbac.authorization.k8s.io/ClusterRoleBinding/gitops-operator-cluster-admin".to_owned(),
    ] {
        assert!(first.stdout.contains(&line), "{line} in\n{}", first.stdout);
    }
    let client = Cluster::shared().unwrap().client().await.unwrap();
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(client);
    for crd in ["gitrepositories.gitops.rs", "kustomizations.gitops.rs"] {
        let crd = crds.get(crd).await.unwrap();
        let established = crd
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .into_iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{:?} not Established", crd.metadata.name);
    }
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(ns.client(), &name);
    let deployment = deployments.get("gitops-operator").await.unwrap();
    let image = deployment.spec.unwrap().template.spec.unwrap().containers[0]
        .image
        .clone();
    assert_eq!(
        image.as_deref(),
        Some(concat!(
            "ghcr.io/gitops-rs/gitops-operator:",
            env!("CARGO_PKG_VERSION")
        ))
    );

    // Installing again changes nothing of what it owns.
    let again = gitops_plain(&["install", "--namespace", &name]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stdout
            .contains(&format!("apps/Deployment/{name}/gitops-operator unchanged")),
        "{}",
        again.stdout
    );
    // The Namespace was made by the install: the test namespace's cleanup removes it.
    let _ = &ns;
}

/// Installs the gitops.rs CRDs (server-side apply, idempotent) and waits until they are
/// Established; stands in for `gitops install` in tests that only need the kinds.
async fn install_crds(client: &kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    use kube::api::{Patch, PatchParams};
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(client.clone());
    for crd in gitops_core::api::crds() {
        let name = crd["metadata"]["name"].as_str().unwrap().to_owned();
        crds.patch(
            &name,
            &PatchParams::apply("e2e").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
        gitops_testenv::eventually(&name, std::time::Duration::from_secs(30), || {
            let crds = crds.clone();
            let name = name.clone();
            async move {
                let crd = crds.get(&name).await?;
                let established = crd
                    .status
                    .and_then(|s| s.conditions)
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Established" && c.status == "True");
                Ok(established.then_some(()))
            }
        })
        .await
        .unwrap();
    }
}

/// Creates one of our objects in `ns` from JSON, then sets its status through the status
/// subresource (standing in for the operator).
async fn create_with_status(
    ns: &TestNamespace,
    object: serde_json::Value,
    status: serde_json::Value,
) {
    use kube::api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams};
    let kind = object["kind"].as_str().unwrap();
    let resource = match kind {
        "Kustomization" => ApiResource::erase::<gitops_core::api::Kustomization>(&()),
        "HelmRelease" => ApiResource::erase::<gitops_core::api::HelmRelease>(&()),
        _ => ApiResource::erase::<gitops_core::api::GitRepository>(&()),
    };
    let api: kube::Api<DynamicObject> =
        kube::Api::namespaced_with(ns.client(), ns.name(), &resource);
    let object: DynamicObject = serde_json::from_value(object).unwrap();
    let name = object.metadata.name.clone().unwrap();
    api.create(&PostParams::default(), &object).await.unwrap();
    if !status.is_null() {
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({ "status": status })),
        )
        .await
        .unwrap();
    }
}

fn ready_condition(status: &str, message: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "Ready", "status": status, "reason": if status == "True" { "Succeeded" } else { "Failed" },
        "message": message, "lastTransitionTime": "2026-01-01T00:00:00Z",
    })
}

fn git_repository(name: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "GitRepository",
        "metadata": {"name": name},
        "spec": {"url": "https://git.example.invalid/fleet.git", "interval": "1m"},
    })
}

fn kustomization(name: &str, source: &str) -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "Kustomization",
        "metadata": {"name": name},
        "spec": {"sourceRef": {"kind": "GitRepository", "name": source}, "path": "./apps", "prune": true, "interval": "5m"},
    })
}

/// Runs `gitops` with the test cluster's kubeconfig; ns names are replaced by `NS`.
fn gitops_in(ns: &str, args: &[&str]) -> Run {
    let mut run = gitops_plain(args);
    run.stdout = run.stdout.replace(ns, "NS");
    run.stderr = run.stderr.replace(ns, "NS");
    run
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_suspend_and_resume_units_and_sources() {
    use kube::api::{ApiResource, DynamicObject};
    let ns = TestNamespace::create("cli-get").await.unwrap();
    let name = ns.name().to_owned();
    install_crds(&ns.client()).await;
    create_with_status(
        &ns,
        git_repository("fleet"),
        serde_json::json!({
            "conditions": [ready_condition("True", "stored artifact for revision 'main@sha1:4f2a'")],
            "artifact": {"revision": "main@sha1:4f2a", "digest": "sha256:00", "lastUpdateTime": "2026-01-01T00:00:00Z"},
        }),
    )
    .await;
    create_with_status(
        &ns,
        kustomization("apps", "fleet"),
        serde_json::json!({
            "conditions": [ready_condition("True", "Applied revision: main@sha1:4f2a")],
            "lastAppliedRevision": "main@sha1:4f2a",
        }),
    )
    .await;
    create_with_status(
        &ns,
        kustomization("infra", "fleet"),
        serde_json::json!({
            "conditions": [ready_condition("False", "health check failed: Deployment/NS/web")],
        }),
    )
    .await;

    let units = gitops_in(&name, &["get", "units", "-n", &name]);
    assert_eq!(units.code, 0, "{}", units.stderr);
    assert_eq!(
        units.stdout,
        "NAME                  REVISION         SUSPENDED   READY   MESSAGE\n\
         kustomization/apps    main@sha1:4f2a   False       True    Applied revision: main@sha1:4f2a\n\
         kustomization/infra                    False       False   health check failed: Deployment/NS/web\n"
    );
    let sources = gitops_in(&name, &["get", "sources", "-n", &name]);
    assert_eq!(
        sources.stdout,
        "NAME                  REVISION         SUSPENDED   READY   MESSAGE\n\
         gitrepository/fleet   main@sha1:4f2a   False       True    stored artifact for revision 'main@sha1:4f2a'\n"
    );
    let all = gitops_in(&name, &["get", "units", "-A"]);
    assert_eq!(all.code, 0, "{}", all.stderr);
    assert!(all.stdout.starts_with("NAMESPACE "), "{}", all.stdout);
    assert!(
        all.stdout
            .lines()
            .any(|l| l.starts_with("NS ") && l.contains("kustomization/apps")),
        "{}",
        all.stdout
    );
    let json = gitops_in(&name, &["get", "units", "-n", &name, "-o", "json"]);
    let rows: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(rows[0]["name"], "apps");
    assert_eq!(rows[0]["kind"], "Kustomization");
    assert_eq!(rows[1]["ready"], "False");
    let empty = gitops_in(&name, &["get", "units", "-n", "default"]);
    assert_eq!((empty.code, empty.stdout.as_str()), (0, ""));
    assert_eq!(empty.stderr, "no units in namespace `default`\n");

    // Suspend and resume: spec.suspend, the SUSPENDED column, and a reconcile request.
    let suspended = gitops_in(&name, &["suspend", "unit", "apps", "-n", &name]);
    assert_eq!(
        (suspended.code, suspended.stdout.as_str()),
        (0, "Kustomization/NS/apps suspended\n"),
        "{}",
        suspended.stderr
    );
    let units = gitops_in(&name, &["get", "units", "-n", &name]);
    assert!(
        units
            .stdout
            .contains("kustomization/apps    main@sha1:4f2a   True "),
        "{}",
        units.stdout
    );
    let refused = gitops_in(&name, &["reconcile", "unit", "apps", "-n", &name]);
    assert_eq!(refused.code, 1);
    assert!(
        refused
            .stderr
            .contains("Kustomization/NS/apps is suspended"),
        "{}",
        refused.stderr
    );
    let resumed = gitops_in(
        &name,
        &["resume", "unit", "kustomization/apps", "-n", &name],
    );
    assert_eq!(
        (resumed.code, resumed.stdout.as_str()),
        (
            0,
            "Kustomization/NS/apps resumed; reconciliation requested\n"
        ),
        "{}",
        resumed.stderr
    );
    let api: kube::Api<DynamicObject> = kube::Api::namespaced_with(
        ns.client(),
        &name,
        &ApiResource::erase::<gitops_core::api::Kustomization>(&()),
    );
    let apps = api.get("apps").await.unwrap();
    assert_eq!(apps.data["spec"]["suspend"], false);
    assert!(
        apps.metadata
            .annotations
            .unwrap_or_default()
            .contains_key("reconcile.gitops.rs/requestedAt")
    );
    assert_eq!(
        gitops_in(&name, &["suspend", "source", "fleet", "-n", &name]).stdout,
        "GitRepository/NS/fleet suspended\n"
    );
    let missing = gitops_in(&name, &["suspend", "unit", "nope", "-n", &name]);
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr,
        "error: no Kustomization or HelmRelease named `nope` in namespace `NS`\n"
    );
}

/// Stands in for the operator: once `name` carries a reconcile request other than `handled`,
/// writes it back as handled with the given Ready condition and revision; returns the request.
async fn handle_request(
    ns: &TestNamespace,
    resource: &kube::api::ApiResource,
    name: &str,
    handled: Option<&str>,
    ready: serde_json::Value,
    revision: (&str, &str),
) -> String {
    use kube::api::{DynamicObject, Patch, PatchParams};
    let api: kube::Api<DynamicObject> =
        kube::Api::namespaced_with(ns.client(), ns.name(), resource);
    let requested = gitops_testenv::eventually(
        &format!("a reconcile request on {name}"),
        std::time::Duration::from_secs(30),
        || {
            let api = api.clone();
            async move {
                let object = api.get(name).await?;
                Ok(object
                    .metadata
                    .annotations
                    .unwrap_or_default()
                    .get("reconcile.gitops.rs/requestedAt")
                    .filter(|value| Some(value.as_str()) != handled)
                    .cloned())
            }
        },
    )
    .await
    .unwrap();
    let mut status = serde_json::json!({
        "conditions": [ready],
        "lastHandledReconcileAt": requested,
    });
    let (pointer, value) = revision;
    if pointer == "artifact" {
        status["artifact"] = serde_json::json!({"revision": value, "digest": "sha256:00", "lastUpdateTime": "2026-01-01T00:00:00Z"});
    } else {
        status[pointer] = serde_json::json!(value);
    }
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "status": status })),
    )
    .await
    .unwrap();
    requested
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_waits_for_the_operator_to_handle_the_request() {
    use kube::api::ApiResource;
    let ns = TestNamespace::create("cli-reconcile").await.unwrap();
    let name = ns.name().to_owned();
    install_crds(&ns.client()).await;
    create_with_status(&ns, git_repository("fleet"), serde_json::Value::Null).await;
    create_with_status(&ns, kustomization("apps", "fleet"), serde_json::Value::Null).await;
    let kubeconfig = Cluster::shared().unwrap().kubeconfig().to_owned();
    let spawn = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_gitops"))
            .args(args)
            .args(["-n", &name, "--timeout", "60s", "--kubeconfig"])
            .arg(&kubeconfig)
            .env_remove("RUST_LOG")
            .env_remove("KUBECONFIG")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let repo = ApiResource::erase::<gitops_core::api::GitRepository>(&());
    let unit = ApiResource::erase::<gitops_core::api::Kustomization>(&());

    // --with-source: the source is requested and handled first, then the unit.
    let child = spawn(&["reconcile", "unit", "apps", "--with-source"]);
    let first = handle_request(
        &ns,
        &repo,
        "fleet",
        None,
        ready_condition("True", "stored artifact"),
        ("artifact", "main@sha1:5e6f"),
    )
    .await;
    handle_request(
        &ns,
        &unit,
        "apps",
        None,
        ready_condition("True", "Applied revision: main@sha1:5e6f"),
        ("lastAppliedRevision", "main@sha1:5e6f"),
    )
    .await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).replace(&name, "NS");
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&name, "NS");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stdout,
        "GitRepository/NS/fleet reconciled: revision main@sha1:5e6f\n\
         Kustomization/NS/apps reconciled: revision main@sha1:5e6f\n"
    );

    // A request handled with Ready=False fails with the Ready message.
    let child = spawn(&["reconcile", "source", "fleet"]);
    handle_request(
        &ns,
        &repo,
        "fleet",
        Some(&first),
        ready_condition("False", "authentication required: check secretRef"),
        ("artifact", "main@sha1:5e6f"),
    )
    .await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&name, "NS");
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "error: GitRepository/NS/fleet is not Ready: authentication required: check secretRef"
        ),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_pushes_the_manifests_and_installs_the_operator() {
    use gitops_testenv::git::{GitDaemon, GitRepos, git};
    use kube::api::{ApiResource, DynamicObject};
    let ns = TestNamespace::create("cli-bootstrap").await.unwrap();
    let name = ns.name().to_owned();
    let repos = GitRepos::new().unwrap();
    repos.create("fleet", &[("README.md", "fleet\n")]).unwrap();
    let daemon = GitDaemon::start(&repos).unwrap();
    let url = daemon.url("fleet");
    let args = [
        "bootstrap",
        "--repo",
        &url,
        "--path",
        "clusters/dev",
        "--namespace",
        &name,
    ];
    let run = gitops_plain(&args);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, daemon.log());
    assert!(run.stderr.contains("pushed main@sha1:"), "{}", run.stderr);

    // The repository has the manifests: install.yaml is what `install --export` prints.
    let work = tempfile::tempdir().unwrap();
    let clone = work.path().join("fleet");
    git(None, &["clone", "--quiet", &url, clone.to_str().unwrap()]).unwrap();
    let installed =
        std::fs::read_to_string(clone.join("clusters/dev/gitops-system/install.yaml")).unwrap();
    let exported = gitops_plain(&["install", "--export", "--namespace", &name]);
    assert_eq!(
        installed,
        format!("# Generated by `gitops bootstrap`.\n{}", exported.stdout)
    );
    let sync = std::fs::read_to_string(clone.join("clusters/dev/gitops-system/sync.yaml")).unwrap();
    assert!(sync.contains(&format!("  url: {url}\n")), "{sync}");
    assert!(sync.contains("  path: ./clusters/dev\n"), "{sync}");

    // The cluster has the operator and the objects that make it follow the repository.
    let repositories: kube::Api<DynamicObject> = kube::Api::namespaced_with(
        ns.client(),
        &name,
        &ApiResource::erase::<gitops_core::api::GitRepository>(&()),
    );
    let repository = repositories.get("gitops-system").await.unwrap();
    assert_eq!(repository.data["spec"]["url"], url.as_str());
    assert_eq!(repository.data["spec"]["ref"]["branch"], "main");
    let units: kube::Api<DynamicObject> = kube::Api::namespaced_with(
        ns.client(),
        &name,
        &ApiResource::erase::<gitops_core::api::Kustomization>(&()),
    );
    let unit = units.get("gitops-system").await.unwrap();
    assert_eq!(unit.data["spec"]["path"], "./clusters/dev");
    assert_eq!(unit.data["spec"]["sourceRef"]["name"], "gitops-system");
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(ns.client(), &name);
    assert!(
        deployments
            .get_opt("gitops-operator")
            .await
            .unwrap()
            .is_some()
    );

    // Bootstrapping again commits nothing.
    let again = gitops_plain(&args);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again
            .stderr
            .contains("the repository already has these manifests"),
        "{}",
        again.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_prints_the_table_again_when_a_unit_changes() {
    use kube::api::{ApiResource, DynamicObject, Patch, PatchParams};
    use std::io::BufRead as _;
    let ns = TestNamespace::create("cli-watch").await.unwrap();
    let name = ns.name().to_owned();
    install_crds(&ns.client()).await;
    create_with_status(
        &ns,
        kustomization("apps", "fleet"),
        serde_json::json!({"conditions": [ready_condition("Unknown", "reconciliation in progress")]}),
    )
    .await;
    let kubeconfig = Cluster::shared().unwrap().kubeconfig().to_owned();
    let mut child = Command::new(env!("CARGO_BIN_EXE_gitops"))
        .args(["get", "units", "--watch", "-n", &name, "--kubeconfig"])
        .arg(&kubeconfig)
        .env_remove("RUST_LOG")
        .env_remove("KUBECONFIG")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next_line = |rx: &std::sync::mpsc::Receiver<String>| {
        rx.recv_timeout(std::time::Duration::from_secs(30)).unwrap()
    };
    assert!(next_line(&rx).starts_with("NAME "));
    let first = next_line(&rx);
    assert!(
        first.ends_with("Unknown   reconciliation in progress"),
        "{first}"
    );

    // The unit turns Ready: the table is printed again after a blank line.
    let api: kube::Api<DynamicObject> = kube::Api::namespaced_with(
        ns.client(),
        &name,
        &ApiResource::erase::<gitops_core::api::Kustomization>(&()),
    );
    api.patch_status(
        "apps",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"status": {
            "conditions": [ready_condition("True", "Applied revision: main@sha1:77aa")],
            "lastAppliedRevision": "main@sha1:77aa",
        }})),
    )
    .await
    .unwrap();
    assert_eq!(next_line(&rx), "");
    assert!(next_line(&rx).starts_with("NAME "));
    let second = next_line(&rx);
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(
        second,
        "kustomization/apps   main@sha1:77aa   False       True    Applied revision: main@sha1:77aa"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_of_a_working_copy_commits_there_and_pushes_to_origin() {
    use gitops_testenv::git::{GitDaemon, GitRepos, git};
    use kube::api::{ApiResource, DynamicObject};
    let ns = TestNamespace::create("cli-bootstrap-local").await.unwrap();
    let name = ns.name().to_owned();
    let repos = GitRepos::new().unwrap();
    repos.create("fleet", &[("README.md", "fleet\n")]).unwrap();
    let daemon = GitDaemon::start(&repos).unwrap();
    let url = daemon.url("fleet");
    let work = tempfile::tempdir().unwrap();
    let copy = work.path().join("copy");
    git(None, &["clone", "--quiet", &url, copy.to_str().unwrap()]).unwrap();
    let run = gitops_plain(&[
        "bootstrap",
        "--repo",
        copy.to_str().unwrap(),
        "--path",
        ".",
        "--namespace",
        &name,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("pushed to origin main"),
        "{}",
        run.stderr
    );
    // Committed in the working copy by the given author, and the same commit is on the remote.
    let log = git(Some(&copy), &["log", "-1", "--format=%an <%ae> %s"]).unwrap();
    assert_eq!(
        log.trim(),
        "gitops <gitops@localhost> Add gitops-system manifests for ."
    );
    let local = git(Some(&copy), &["rev-parse", "HEAD"]).unwrap();
    let remote = git(Some(&copy), &["ls-remote", &url, "refs/heads/main"]).unwrap();
    assert!(remote.starts_with(local.trim()), "{remote} vs {local}");
    assert!(copy.join("gitops-system/sync.yaml").exists());
    // The operator follows origin's URL.
    let repositories: kube::Api<DynamicObject> = kube::Api::namespaced_with(
        ns.client(),
        &name,
        &ApiResource::erase::<gitops_core::api::GitRepository>(&()),
    );
    let repository = repositories.get("gitops-system").await.unwrap();
    assert_eq!(repository.data["spec"]["url"], url.as_str());

    // Without an origin and without --url there is nothing to point the operator at.
    let lone = work.path().join("lone");
    git(None, &["init", "--quiet", lone.to_str().unwrap()]).unwrap();
    let refused = gitops_plain(&["bootstrap", "--repo", lone.to_str().unwrap(), "--path", "."]);
    assert_eq!(refused.code, 1);
    assert!(
        refused.stderr.contains("has no `origin`"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("hint: pass --url"),
        "{}",
        refused.stderr
    );
}
