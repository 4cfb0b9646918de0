//! `git clone` (and push) over each transport that the harness serves on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use gitops_testenv::git::{BasicAuth, GitDaemon, GitHttp, GitRepos, GitSsh, git, git_command};

const FILES: &[(&str, &str)] = &[
    ("README", "hello\n"),
    ("deploy/app.yaml", "kind: ConfigMap\n"),
];

fn repos() -> GitRepos {
    let repos = GitRepos::new().unwrap();
    repos.create("app", FILES).unwrap();
    repos
}

/// Asserts that `dir` is a clone of the repository made from `FILES`.
fn assert_cloned(dir: &Path) {
    assert_eq!(
        std::fs::read_to_string(dir.join("README")).unwrap(),
        "hello\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("deploy/app.yaml")).unwrap(),
        "kind: ConfigMap\n"
    );
    let branch = git(Some(dir), &["rev-parse", "--abbrev-ref", "HEAD"]).unwrap();
    assert_eq!(branch.trim(), "main");
}

/// Commits a change in `dir` and pushes it with `command_for`, then checks the bare repository.
fn push_change(dir: &Path, bare: &Path, push: &mut std::process::Command) {
    std::fs::write(dir.join("README"), "changed\n").unwrap();
    git(Some(dir), &["commit", "--quiet", "-am", "change"]).unwrap();
    let out = push.current_dir(dir).output().unwrap();
    assert!(
        out.status.success(),
        "push failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let local = git(Some(dir), &["rev-parse", "HEAD"]).unwrap();
    let remote = git(Some(bare), &["rev-parse", "main"]).unwrap();
    assert_eq!(local, remote);
}

#[test]
fn clone_and_push_over_git_daemon() {
    let repos = repos();
    let daemon = GitDaemon::start(&repos).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("clone");
    let out = git_command(
        None,
        &[
            "clone",
            "--quiet",
            &daemon.url("app"),
            &dest.to_string_lossy(),
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        daemon.log()
    );
    assert_cloned(&dest);
    push_change(
        &dest,
        &repos.root().join("app.git"),
        &mut git_command(None, &["push", "--quiet", "origin", "main"]),
    );

    // A repository that does not exist is an error, not an empty clone.
    let missing = git_command(
        None,
        &[
            "clone",
            &daemon.url("missing"),
            &work.path().join("m").to_string_lossy(),
        ],
    )
    .output()
    .unwrap();
    assert!(!missing.status.success());
}

#[test]
fn clone_and_push_over_smart_http_without_auth() {
    let repos = repos();
    let http = GitHttp::start(&repos, None).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("clone");
    let out = git_command(
        None,
        &[
            "clone",
            "--quiet",
            &http.url("app"),
            &dest.to_string_lossy(),
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        http.log()
    );
    assert_cloned(&dest);
    push_change(
        &dest,
        &repos.root().join("app.git"),
        &mut git_command(None, &["push", "--quiet", "origin", "main"]),
    );
}

#[test]
fn clone_over_smart_http_with_basic_auth() {
    let repos = repos();
    let auth = BasicAuth {
        user: "alice".into(),
        password: "s3cret-pass".into(),
    };
    let http = GitHttp::start(&repos, Some(auth)).unwrap();
    let work = tempfile::tempdir().unwrap();

    // Right credentials: clone and push.
    let dest = work.path().join("clone");
    let out = git_command(
        None,
        &[
            "clone",
            "--quiet",
            &http.url_with_credentials("app"),
            &dest.to_string_lossy(),
        ],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        http.log()
    );
    assert_cloned(&dest);
    push_change(
        &dest,
        &repos.root().join("app.git"),
        &mut git_command(None, &["push", "--quiet", "origin", "main"]),
    );

    // No credentials: refused (git cannot prompt).
    let out = git_command(
        None,
        &[
            "clone",
            &http.url("app"),
            &work.path().join("anon").to_string_lossy(),
        ],
    )
    .output()
    .unwrap();
    assert!(!out.status.success(), "clone without credentials succeeded");

    // Wrong password: refused.
    let wrong = http.url("app").replace("http://", "http://alice:wrong@");
    let out = git_command(
        None,
        &[
            "clone",
            &wrong,
            &work.path().join("wrong").to_string_lossy(),
        ],
    )
    .output()
    .unwrap();
    assert!(
        !out.status.success(),
        "clone with a wrong password succeeded"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Authentication failed") || stderr.contains("401"),
        "{stderr}"
    );
}

#[test]
fn clone_and_push_over_ssh() {
    let repos = repos();
    let ssh = GitSsh::start(&repos).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("clone");
    let out = ssh
        .git_command(
            None,
            &["clone", "--quiet", &ssh.url("app"), &dest.to_string_lossy()],
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        ssh.log()
    );
    assert_cloned(&dest);
    push_change(
        &dest,
        &repos.root().join("app.git"),
        &mut ssh.git_command(None, &["push", "--quiet", "origin", "main"]),
    );

    // Another key is refused.
    let other = work.path().join("other_key");
    let keygen = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .output()
        .unwrap();
    assert!(keygen.status.success());
    let command = ssh.ssh_command().replace(
        &ssh.user_key().display().to_string(),
        &other.display().to_string(),
    );
    let out = git_command(
        None,
        &[
            "clone",
            &ssh.url("app"),
            &work.path().join("refused").to_string_lossy(),
        ],
    )
    .env("GIT_SSH_COMMAND", command)
    .output()
    .unwrap();
    assert!(!out.status.success(), "clone with an unknown key succeeded");
}
