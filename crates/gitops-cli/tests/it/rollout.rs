use crate::common::{gitops, run};

#[test]
fn simulate_canary_rolled_back_exits_1() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "rollout",
            "simulate",
            "fixtures/rollout/canary.yaml",
            "--observations",
            "fixtures/rollout/canary-fails.obs.yaml",
        ]),
        &[]
    ));
}

#[test]
fn simulate_blue_green_with_manual_promotion() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "rollout",
            "simulate",
            "fixtures/rollout/blue-green.yaml",
            "--observations",
            "fixtures/rollout/blue-green.obs.yaml",
        ]),
        &[]
    ));
}

#[test]
fn simulate_ab_test_as_json() {
    let output = gitops(&[
        "rollout",
        "simulate",
        "fixtures/rollout/ab-test.yaml",
        "--observations",
        "fixtures/rollout/ab-test.obs.yaml",
        "-o",
        "json",
    ])
    .output()
    .unwrap();
    assert!(output.status.success());
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(value["status"]["phase"], "Healthy");
    assert_eq!(
        value["entries"][1]["actions"][0]["action"],
        "setHeaderRoute"
    );
}

#[test]
fn render_ab_test_http_route_with_header_route() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "rollout",
            "render",
            "fixtures/rollout/ab-test.yaml",
            "--weight",
            "0",
            "--header-route",
        ]),
        &[]
    ));
}

#[test]
fn render_with_another_provider() {
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "rollout",
            "render",
            "fixtures/rollout/canary.yaml",
            "--weight",
            "40",
            "--provider",
            "istio",
        ]),
        &[]
    ));
}

#[test]
#[allow(clippy::print_stderr)]
fn render_flagger_canary_warns_about_webhooks() {
    let Some(file) = gitops_testenv::corpus::path("gitops-linkerd/apps/faces/faces-canary.yaml")
    else {
        return;
    };
    let path = file.to_str().unwrap();
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "rollout", "render", path, "--name", "face", "--weight", "25"
        ]),
        &[(path, "[CORPUS]/faces-canary.yaml")]
    ));
}

#[test]
fn errors_name_the_file_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let obs = dir.path().join("obs.yaml");
    std::fs::write(&obs, "events:\n  - at: soon\n").unwrap();
    let root = dir.path().to_str().unwrap();
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "rollout",
            "simulate",
            "fixtures/rollout/canary.yaml",
            "--observations",
            obs.to_str().unwrap(),
        ]),
        &[(root, "[TMP]")]
    ));
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "rollout",
            "render",
            "fixtures/rollout/ab-test.yaml",
            "--weight",
            "10",
            "--header-route",
            "--provider",
            "smi",
        ]),
        &[]
    ));
    insta::assert_snapshot!(run(
        &mut gitops(&[
            "rollout",
            "render",
            "fixtures/rollout/canary.yaml",
            "--weight",
            "101"
        ]),
        &[]
    ));
}
