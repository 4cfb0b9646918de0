//! `gitops get rollouts` and `gitops rollout status|promote|abort` against the control plane of
//! `scripts/testenv`, with the Rollout CRD installed and the status written by the test through
//! the status subresource (standing in for the operator, whose own end-to-end tests drive real
//! rollouts). Built only with the `e2e` feature.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output};
use std::time::Duration;

use gitops_rollout::RolloutObject;
use gitops_rollout::object::COMMAND_ANNOTATION;
use gitops_testenv::{Cluster, TestNamespace, eventually};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::json;

const LONG: Duration = Duration::from_secs(30);

fn gitops(args: &[&str]) -> std::process::Command {
    let cluster = Cluster::shared().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_gitops"));
    command
        .args(args)
        .args(["--kubeconfig", cluster.kubeconfig().to_str().unwrap()])
        .env_remove("RUST_LOG")
        .env_remove("KUBECONFIG");
    command
}

fn text(output: &Output) -> (i32, String, String) {
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn install_crd(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = gitops_rollout::object::crd();
    crds.patch(
        "rollouts.gitops.rs",
        &PatchParams::apply("e2e").force(),
        &Patch::Apply(&crd),
    )
    .await
    .unwrap();
    let rollouts: Api<RolloutObject> = Api::all(client.clone());
    eventually("Rollouts served", LONG, || async {
        Ok(rollouts.list(&Default::default()).await.ok().map(|_| ()))
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_status_and_promote_read_and_command_a_live_rollout() {
    let ns = TestNamespace::create("cli-ro").await.unwrap();
    install_crd(&ns.client()).await;
    let rollouts: Api<RolloutObject> = ns.api();
    let rollout: RolloutObject = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "Rollout",
        "metadata": {"name": "web"},
        "spec": {"targetRef": {"name": "web"}, "strategy": {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}]}}},
    }))
    .unwrap();
    rollouts
        .create(&PostParams::default(), &rollout)
        .await
        .unwrap();
    rollouts
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "phase": "Paused", "message": "paused at step 1 until promoted",
                "stableRevision": "aaa", "canaryRevision": "bbb",
                "currentStep": 1, "canaryWeight": 20, "canaryReplicas": 2,
            }})),
        )
        .await
        .unwrap();
    let name = ns.name();

    let (code, stdout, stderr) = text(&gitops(&["get", "rollouts", "-n", name]).output().unwrap());
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        stdout,
        "NAME   PHASE    WEIGHT   STEP   STABLE   CANARY   MESSAGE\n\
         web    Paused   20       1/2    aaa      bbb      paused at step 1 until promoted\n"
    );
    let (code, stdout, _) = text(
        &gitops(&["get", "rollouts", "-n", name, "-o", "json"])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(rows[0]["weight"], 20);
    assert_eq!(rows[0]["step"], "1/2");

    let (code, stdout, _) = text(
        &gitops(&["rollout", "status", "web", "-n", name])
            .output()
            .unwrap(),
    );
    assert_eq!(code, 0);
    assert!(stdout.contains("Phase:     Paused\n"), "{stdout}");
    assert!(
        stdout.contains("Weights:   canary 20 / stable 80\n"),
        "{stdout}"
    );

    // `promote` annotates and waits until the operator (here: the test) has handled it.
    let child = gitops(&["rollout", "promote", "web", "-n", name, "--timeout", "30s"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let value = eventually("the command annotation", LONG, || async {
        let object = rollouts.get("web").await?;
        Ok(object
            .metadata
            .annotations
            .unwrap_or_default()
            .get(COMMAND_ANNOTATION)
            .cloned())
    })
    .await
    .unwrap();
    assert!(value.starts_with("promote@"), "{value}");
    rollouts
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {
                "phase": "Progressing", "message": "at step 2", "currentStep": 2,
                "lastHandledCommand": value,
            }})),
        )
        .await
        .unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let (code, stdout, stderr) = text(&output);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Phase:     Progressing\n"), "{stdout}");

    let (code, _, stderr) = text(
        &gitops(&["rollout", "abort", "nope", "-n", name])
            .output()
            .unwrap(),
    );
    assert_ne!(code, 0);
    assert!(stderr.contains("no Rollout named `nope`"), "{stderr}");
    ns.delete().await.unwrap();
}
