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
