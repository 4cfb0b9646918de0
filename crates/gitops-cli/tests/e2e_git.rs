//! `gitops source fetch` and `gitops build <Git URL>` against the harness's Git servers.
//! Built only with the `e2e` feature, which `scripts/test` enables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use gitops_testenv::git::{BasicAuth, GitHttp, GitRepos, git};

const FILES: &[(&str, &str)] = &[
    ("README.md", "hello\n"),
    (
        "deploy/app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  k: v\n",
    ),
    (
        "deploy/ns.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: prod\n",
    ),
];

fn gitops(cache: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitops"));
    cmd.args(args)
        .env("GITOPS_CACHE_DIR", cache)
        .env_remove("RUST_LOG");
    cmd
}

/// Exit code, stdout and stderr with machine-specific values replaced.
fn run(cmd: &mut Command, replace: &[(&str, &str)]) -> String {
    let output = cmd.output().unwrap();
    let mut text = format!(
        "exit code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    text
}

fn digest_of(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("digest: "))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn source_fetch_prints_revision_and_digest() {
    let repos = GitRepos::new().unwrap();
    let bare = repos.create("app", FILES).unwrap();
    let head = git(Some(&bare), &["rev-parse", "main"]).unwrap();
    let head = head.trim();
    let http = GitHttp::start(&repos, None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let out = tmp.path().join("out");
    let url = http.url("app");
    let out_s = out.to_string_lossy().into_owned();
    let text = run(
        &mut gitops(
            &cache,
            &["source", "fetch", &url, "--branch", "main", "--out", &out_s],
        ),
        &[],
    );
    let digest = digest_of(&text);
    let replaced = text
        .replace(head, "<commit>")
        .replace(&digest, "<digest>")
        .replace(&url, "<url>")
        .replace(&out_s, "<out>");
    insta::assert_snapshot!(replaced);
    assert!(out.join("deploy/app.yaml").is_file());
    assert!(!out.join("README.md").exists() || out.join("README.md").is_file());

    // JSON, into another directory: the same digest.
    let out2 = tmp.path().join("out2");
    let output = gitops(
        &cache,
        &[
            "source",
            "fetch",
            &url,
            "--out",
            &out2.to_string_lossy(),
            "-o",
            "json",
        ],
    )
    .output()
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["digest"], digest.as_str());
    assert_eq!(json["revision"], format!("main@sha1:{head}").as_str());
    assert_eq!(json["files"], 3);

    // A non-empty output directory is refused.
    let again = run(
        &mut gitops(&cache, &["source", "fetch", &url, "--out", &out_s]),
        &[(&url, "<url>"), (&out_s, "<out>")],
    );
    insta::assert_snapshot!(again);
}

#[test]
fn a_wrong_password_is_a_clear_error_that_never_shows_the_password() {
    let repos = GitRepos::new().unwrap();
    repos.create("app", FILES).unwrap();
    let http = GitHttp::start(
        &repos,
        Some(BasicAuth {
            user: "alice".into(),
            password: "right-pass-8080".into(),
        }),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cache = tmp.path().join("cache");
    let secret = tmp.path().join("secret.yaml");
    std::fs::write(
        &secret,
        // "wrong-pass-5150" in base64.
        "apiVersion: v1\nkind: Secret\nmetadata: {name: git}\ndata:\n  password: d3JvbmctcGFzcy01MTUw\nstringData:\n  username: alice\n",
    )
    .unwrap();
    let url = http.url("app");
    let text = run(
        &mut gitops(
            &cache,
            &[
                "source",
                "fetch",
                &url,
                "--secret-file",
                &secret.to_string_lossy(),
                "--allow-insecure-http",
                "--out",
                &tmp.path().join("out").to_string_lossy(),
            ],
        ),
        &[(&url, "<url>")],
    );
    assert!(!text.contains("wrong-pass-5150"), "{text}");
    assert!(text.contains("authentication failed"), "{text}");
    assert!(text.starts_with("exit code: 1"), "{text}");

    // The right password through stringData works.
    std::fs::write(
        &secret,
        "kind: Secret\nstringData:\n  username: alice\n  password: right-pass-8080\n",
    )
    .unwrap();
    let output = gitops(
        &cache,
        &[
            "source",
            "fetch",
            &url,
            "--secret-file",
            &secret.to_string_lossy(),
            "--allow-insecure-http",
            "--out",
            &tmp.path().join("ok").to_string_lossy(),
        ],
    )
    .output()
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("right-pass-8080"));
}

#[test]
fn build_renders_a_directory_of_a_git_url() {
    let repos = GitRepos::new().unwrap();
    repos.create("app", FILES).unwrap();
    let http = GitHttp::start(&repos, None).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let url = http.url("app");
    let text = run(
        &mut gitops(
            tmp.path(),
            &["build", &url, "--branch", "main", "--path", "deploy"],
        ),
        &[],
    );
    insta::assert_snapshot!(text);

    let text = run(
        &mut gitops(tmp.path(), &["build", &url, "--path", "nowhere"]),
        &[(&url, "<url>")],
    );
    let text = regex_free_commit(&text);
    insta::assert_snapshot!(text);
}

/// Replaces 40-hex commit ids by `<commit>`.
fn regex_free_commit(text: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in text.chars() {
        if c.is_ascii_hexdigit() && !c.is_ascii_uppercase() {
            run.push(c);
        } else {
            out.push_str(if run.len() == 40 { "<commit>" } else { &run });
            run.clear();
            out.push(c);
        }
    }
    out.push_str(if run.len() == 40 { "<commit>" } else { &run });
    out
}
