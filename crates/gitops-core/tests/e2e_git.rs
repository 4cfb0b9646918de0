//! Git sources against real servers on loopback (the test harness's `git daemon`, `git
//! http-backend` behind lighttpd with and without basic auth, and `sshd`), and local paths.
//! Built only with the `e2e` feature, which `scripts/test` enables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use gitops_core::git::push::{Author, Change, CommitRequest, commit_and_push};
use gitops_core::git::{
    ArtifactStore, Cache, Credentials, FailureKind, GitError, GitRef, GitSource, Include, RefError,
};
use gitops_testenv::git::{BasicAuth, GitDaemon, GitHttp, GitRepos, GitSsh, git};

const FILES: &[(&str, &str)] = &[
    ("README.md", "hello\n"),
    ("deploy/app.yaml", "kind: ConfigMap\n"),
];

/// A clone of a bare repository to make commits, tags and (forced) pushes with.
struct Work {
    dir: tempfile::TempDir,
}

impl Work {
    fn clone(bare: &Path) -> Work {
        let dir = tempfile::tempdir().unwrap();
        git(
            None,
            &[
                "clone",
                "--quiet",
                &bare.to_string_lossy(),
                &dir.path().to_string_lossy(),
            ],
        )
        .unwrap();
        Work { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn commit(&self, files: &[(&str, &str)], message: &str) -> String {
        for (path, content) in files {
            let file = self.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, content).unwrap();
        }
        git(Some(self.path()), &["add", "--all"]).unwrap();
        git(Some(self.path()), &["commit", "--quiet", "-m", message]).unwrap();
        self.head()
    }

    fn head(&self) -> String {
        git(Some(self.path()), &["rev-parse", "HEAD"])
            .unwrap()
            .trim()
            .to_owned()
    }

    fn run(&self, args: &[&str]) -> String {
        git(Some(self.path()), args).unwrap()
    }
}

struct Env {
    repos: GitRepos,
    bare: PathBuf,
    cache: tempfile::TempDir,
}

impl Env {
    fn new(files: &[(&str, &str)]) -> Env {
        let repos = GitRepos::new().unwrap();
        let bare = repos.create("app", files).unwrap();
        Env {
            repos,
            bare,
            cache: tempfile::tempdir().unwrap(),
        }
    }

    fn cache(&self) -> Cache {
        Cache::new(self.cache.path().join("git"))
    }

    fn store(&self) -> ArtifactStore {
        ArtifactStore::new(self.cache.path().join("artifacts"))
    }

    fn head(&self) -> String {
        git(Some(&self.bare), &["rev-parse", "main"])
            .unwrap()
            .trim()
            .to_owned()
    }
}

fn source(url: &str, reference: GitRef) -> GitSource {
    let mut source = GitSource::new(url).with_ref(reference);
    source.timeout = Duration::from_secs(30);
    source.retries = 0;
    // The harness serves basic auth over plain HTTP.
    source.allow_insecure_http = true;
    source
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn http_without_auth_fetches_the_default_branch_into_a_content_addressed_artifact() {
    let env = Env::new(FILES);
    let http = GitHttp::start(&env.repos, None).unwrap();
    let artifact = source(&http.url("app"), GitRef::default())
        .artifact(&env.cache(), &env.store())
        .unwrap_or_else(|e| panic!("{e}\n{}", http.log()));
    assert_eq!(artifact.revision, format!("main@sha1:{}", env.head()));
    assert_eq!(
        read(&artifact.path.join("deploy/app.yaml")),
        "kind: ConfigMap\n"
    );
    assert_eq!(
        artifact.path,
        env.store().path_of(&artifact.digest),
        "stored under its digest"
    );
    assert_eq!(artifact.files, 2);
}

#[test]
fn http_basic_auth_right_wrong_and_missing_credentials() {
    let env = Env::new(FILES);
    let password = "s3cret-pass-4242";
    let http = GitHttp::start(
        &env.repos,
        Some(BasicAuth {
            user: "alice".into(),
            password: password.into(),
        }),
    )
    .unwrap();

    // Credentials from a Secret.
    let creds = Credentials {
        username: Some("alice".into()),
        password: Some(password.into()),
        ..Credentials::default()
    };
    let fetched = source(&http.url("app"), GitRef::branch("main"))
        .with_credentials(creds)
        .fetch(&env.cache())
        .unwrap_or_else(|e| panic!("{e}\n{}", http.log()));
    assert_eq!(fetched.commit, env.head());

    // Credentials in the URL.
    let fetched = source(&http.url_with_credentials("app"), GitRef::default())
        .fetch(&env.cache())
        .unwrap();
    assert_eq!(fetched.commit, env.head());

    // Wrong password: an authentication error that never shows the password.
    let wrong = http
        .url("app")
        .replace("http://", "http://alice:wrong-pass-999@");
    let err = source(&wrong, GitRef::branch("main"))
        .fetch(&env.cache())
        .unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(
            err,
            GitError::Fetch {
                kind: FailureKind::Auth,
                ..
            }
        ),
        "{message}"
    );
    assert!(!message.contains("wrong-pass-999"), "{message}");
    assert!(message.contains("alice:***@127.0.0.1"), "{message}");
    assert!(message.contains("branch main"), "{message}");

    // The wrong password through a Secret is not shown either.
    let err = source(&http.url("app"), GitRef::branch("main"))
        .with_credentials(Credentials {
            username: Some("alice".into()),
            password: Some("another-wrong-77".into()),
            ..Credentials::default()
        })
        .fetch(&env.cache())
        .unwrap_err();
    assert!(
        !format!("{err} {err:?}").contains("another-wrong-77"),
        "{err:?}"
    );

    // Without the explicit allowance, credentials are not sent over plain HTTP at all.
    let mut strict = source(&http.url_with_credentials("app"), GitRef::default());
    strict.allow_insecure_http = false;
    let err = strict.fetch(&env.cache()).unwrap_err();
    assert!(matches!(err, GitError::InsecureCredentials { .. }), "{err}");
    assert!(!err.to_string().contains(password), "{err}");

    // No credentials at all: refused without prompting.
    let err = source(&http.url("app"), GitRef::default())
        .fetch(&env.cache())
        .unwrap_err();
    assert!(
        matches!(
            err,
            GitError::Fetch {
                kind: FailureKind::Auth,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn git_daemon_branch_tag_semver_and_commit() {
    let env = Env::new(FILES);
    let daemon = GitDaemon::start(&env.repos).unwrap();
    let work = Work::clone(&env.bare);
    let first = work.head();
    work.run(&["tag", "v1.0.0"]);
    let second = work.commit(&[("deploy/app.yaml", "kind: Secret\n")], "second");
    work.run(&["tag", "-a", "v1.1.0", "-m", "annotated"]);
    work.run(&["tag", "not-a-version"]);
    let third = work.commit(&[("README.md", "third\n")], "third");
    work.run(&["tag", "v2.0.0-rc.1"]);
    work.run(&["checkout", "--quiet", "-b", "dev"]);
    let dev = work.commit(&[("dev.yaml", "dev: true\n")], "dev");
    work.run(&["push", "--quiet", "origin", "main", "dev", "--tags"]);
    let url = daemon.url("app");
    let cache = env.cache();
    let fetch = |reference: GitRef| {
        source(&url, reference)
            .fetch(&cache)
            .unwrap_or_else(|e| panic!("{e}\n{}", daemon.log()))
    };

    assert_eq!(
        fetch(GitRef::branch("main")).revision,
        format!("main@sha1:{third}")
    );
    assert_eq!(
        fetch(GitRef::branch("dev")).revision,
        format!("dev@sha1:{dev}")
    );
    let tag = GitRef {
        tag: Some("v1.0.0".into()),
        ..GitRef::default()
    };
    assert_eq!(fetch(tag).revision, format!("v1.0.0@sha1:{first}"));
    let semver = |range: &str| GitRef {
        semver: Some(range.into()),
        ..GitRef::default()
    };
    // The annotated tag resolves to its commit; the pre-release and the non-version tag are
    // not candidates for `>=1.0.0`.
    assert_eq!(
        fetch(semver(">=1.0.0")).revision,
        format!("v1.1.0@sha1:{second}")
    );
    assert_eq!(
        fetch(semver("~1.0")).revision,
        format!("v1.0.0@sha1:{first}")
    );
    let commit = GitRef {
        commit: Some(second.clone()),
        ..GitRef::default()
    };
    let fetched = fetch(commit);
    assert_eq!(fetched.revision, format!("sha1:{second}"));
    let dir = tempfile::tempdir().unwrap();
    let artifact = source(&url, GitRef::default())
        .export(&fetched, &dir.path().join("out"))
        .unwrap();
    assert_eq!(
        read(&artifact.path.join("deploy/app.yaml")),
        "kind: Secret\n"
    );
    let commit_on_branch = GitRef {
        commit: Some(first.clone()),
        branch: Some("main".into()),
        ..GitRef::default()
    };
    assert_eq!(
        fetch(commit_on_branch).revision,
        format!("main@sha1:{first}")
    );

    // Errors name the URL, the reference and the cause.
    let err = source(&url, semver(">=3")).fetch(&cache).unwrap_err();
    assert!(matches!(
        err,
        GitError::Ref {
            source: RefError::NoSemverMatch { .. },
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!("{url}: no tag matches semver range \">=3\" (3 version tags, highest v2.0.0-rc.1)")
    );
    let err = source(&url, GitRef::branch("nope"))
        .fetch(&cache)
        .unwrap_err();
    assert_eq!(err.to_string(), format!("{url}: branch nope not found"));
    let missing = GitRef {
        commit: Some("0123456789012345678901234567890123456789".into()),
        ..GitRef::default()
    };
    let err = source(&url, missing).fetch(&cache).unwrap_err();
    assert!(
        err.to_string()
            .contains("0123456789012345678901234567890123456789"),
        "{err}"
    );
    let err = source(&daemon.url("missing"), GitRef::default())
        .fetch(&cache)
        .unwrap_err();
    assert!(err.to_string().contains("missing.git"), "{err}");
}

#[test]
fn ssh_with_key_and_known_hosts() {
    let env = Env::new(FILES);
    let ssh = GitSsh::start(&env.repos).unwrap();
    let creds = Credentials {
        ssh_identity: Some(std::fs::read(ssh.user_key()).unwrap()),
        known_hosts: Some(std::fs::read(ssh.known_hosts()).unwrap()),
        ..Credentials::default()
    };
    let fetched = source(&ssh.url("app"), GitRef::branch("main"))
        .with_credentials(creds.clone())
        .fetch(&env.cache())
        .unwrap_or_else(|e| panic!("{e}\n{}", ssh.log()));
    assert_eq!(fetched.commit, env.head());

    // A host key that is not in known_hosts: refused, no prompt.
    let other_host = format!(
        "[127.0.0.1]:{} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n",
        ssh.port()
    );
    let err = source(&ssh.url("app"), GitRef::branch("main"))
        .with_credentials(Credentials {
            known_hosts: Some(other_host.into_bytes()),
            ..creds.clone()
        })
        .fetch(&env.cache())
        .unwrap_err();
    assert!(
        matches!(
            err,
            GitError::Fetch {
                kind: FailureKind::HostKey,
                ..
            }
        ),
        "{err}"
    );

    // A key the server does not accept.
    let keys = tempfile::tempdir().unwrap();
    let other_key = keys.path().join("key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other_key)
        .status()
        .unwrap();
    assert!(status.success());
    let err = source(&ssh.url("app"), GitRef::branch("main"))
        .with_credentials(Credentials {
            ssh_identity: Some(std::fs::read(&other_key).unwrap()),
            ..creds
        })
        .fetch(&env.cache())
        .unwrap_err();
    assert!(
        matches!(
            err,
            GitError::Fetch {
                kind: FailureKind::Auth,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn file_urls_and_local_paths() {
    let env = Env::new(FILES);
    for url in [
        format!("file://{}", env.bare.display()),
        env.bare.display().to_string(),
    ] {
        let fetched = source(&url, GitRef::default()).fetch(&env.cache()).unwrap();
        assert_eq!(fetched.revision, format!("main@sha1:{}", env.head()));
    }
}

#[test]
fn new_commits_and_force_pushes_are_picked_up_by_the_next_fetch() {
    let env = Env::new(FILES);
    let http = GitHttp::start(&env.repos, None).unwrap();
    let url = http.url("app");
    let cache = env.cache();
    let first = source(&url, GitRef::branch("main")).fetch(&cache).unwrap();

    let work = Work::clone(&env.bare);
    let next = work.commit(&[("deploy/app.yaml", "kind: Secret\n")], "next");
    work.run(&["push", "--quiet", "origin", "main"]);
    let second = source(&url, GitRef::branch("main")).fetch(&cache).unwrap();
    assert_eq!(second.commit, next);
    assert_eq!(
        second.repository, first.repository,
        "the same cache repository"
    );

    // Rewrite history: a new root commit, force-pushed.
    work.run(&["checkout", "--quiet", "--orphan", "rewritten"]);
    let rewritten = work.commit(&[("only.yaml", "kind: Namespace\n")], "rewritten");
    work.run(&["push", "--quiet", "--force", "origin", "rewritten:main"]);
    let third = source(&url, GitRef::branch("main")).fetch(&cache).unwrap();
    assert_eq!(third.commit, rewritten);
    let artifact = source(&url, GitRef::branch("main"))
        .store(&third, &env.store())
        .unwrap();
    assert!(artifact.path.join("only.yaml").is_file());
}

#[test]
fn ignore_rules_and_digest_stability() {
    let files: &[(&str, &str)] = &[
        ("deploy/app.yaml", "kind: ConfigMap\n"),
        ("deploy/logo.png", "PNG"),
        (".github/workflows/ci.yml", "on: push\n"),
        (".gitignore", "target/\n"),
        (".sourceignore", "docs/\n*.md\n"),
        ("docs/guide.yaml", "kind: Doc\n"),
        ("README.md", "readme\n"),
        ("apps/.sourceignore", "/local.yaml\n"),
        ("apps/local.yaml", "kind: Local\n"),
        ("apps/web.yaml", "kind: Web\n"),
    ];
    let env = Env::new(files);
    let url = env.bare.display().to_string();
    let artifact = source(&url, GitRef::default())
        .artifact(&env.cache(), &env.store())
        .unwrap();
    let mut listed = list(&artifact.path);
    listed.sort();
    assert_eq!(
        listed,
        [
            ".sourceignore",
            "apps/.sourceignore",
            "apps/web.yaml",
            "deploy/app.yaml"
        ]
    );

    // The spec's ignore replaces the defaults (the .png stays) and wins over .sourceignore.
    let mut custom = source(&url, GitRef::default());
    custom.ignore = Some("/apps/\n!README.md\n".into());
    let with_spec = custom.artifact(&env.cache(), &env.store()).unwrap();
    let mut listed = list(&with_spec.path);
    listed.sort();
    assert_eq!(
        listed,
        [
            ".github/workflows/ci.yml",
            ".sourceignore",
            "README.md",
            "deploy/app.yaml",
            "deploy/logo.png"
        ]
    );

    // Same content in a second repository and a second cache: the same digest.
    let other = Env::new(files);
    let again = source(&other.bare.display().to_string(), GitRef::default())
        .artifact(&other.cache(), &other.store())
        .unwrap();
    assert_eq!(again.digest, artifact.digest);
    assert_ne!(
        again.revision, "",
        "revisions may differ (commit times), digests do not"
    );

    // One changed byte: another digest.
    let work = Work::clone(&other.bare);
    work.commit(&[("deploy/app.yaml", "kind: ConfigMaq\n")], "one byte");
    work.run(&["push", "--quiet", "origin", "main"]);
    let changed = source(&other.bare.display().to_string(), GitRef::default())
        .artifact(&other.cache(), &other.store())
        .unwrap();
    assert_ne!(changed.digest, artifact.digest);

    // A change only in an ignored file: the same digest.
    work.commit(&[("README.md", "edited\n")], "ignored");
    work.run(&["push", "--quiet", "origin", "main"]);
    let ignored = source(&other.bare.display().to_string(), GitRef::default())
        .artifact(&other.cache(), &other.store())
        .unwrap();
    assert_eq!(ignored.digest, changed.digest);
    assert_ne!(ignored.revision, changed.revision);
}

fn list(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                out.push(
                    path.strip_prefix(root)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out
}

#[test]
fn include_places_another_artifact_at_to_path() {
    let env = Env::new(FILES);
    let other = env
        .repos
        .create("lib", &[("base/kustomization.yaml", "resources: []\n")])
        .unwrap();
    let store = env.store();
    let base = source(&env.bare.display().to_string(), GitRef::default())
        .artifact(&env.cache(), &store)
        .unwrap();
    let lib = source(&other.display().to_string(), GitRef::default())
        .artifact(&env.cache(), &store)
        .unwrap();
    let composed = store
        .compose(
            &base,
            &[Include {
                artifact: &lib,
                from_path: Some("base".into()),
                to_path: "vendor/lib".into(),
            }],
        )
        .unwrap();
    assert_eq!(
        read(&composed.path.join("vendor/lib/kustomization.yaml")),
        "resources: []\n"
    );
    assert_eq!(
        read(&composed.path.join("deploy/app.yaml")),
        "kind: ConfigMap\n"
    );
    assert_ne!(composed.digest, base.digest);
    assert_eq!(composed.revision, base.revision);
    let err = store
        .compose(
            &base,
            &[Include {
                artifact: &lib,
                from_path: None,
                to_path: "../escape".into(),
            }],
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "include path \"../escape\": must not contain `..`"
    );
}

#[test]
fn push_a_commit_and_refuse_a_non_fast_forward() {
    let env = Env::new(FILES);
    let http = GitHttp::start(&env.repos, None).unwrap();
    let url = http.url("app");
    let src = source(&url, GitRef::branch("main"));
    let base = src.fetch(&env.cache()).unwrap();
    let author = Author {
        name: "gitops-bot".into(),
        email: "bot@example.com".into(),
    };
    let request = CommitRequest {
        branch: "main".into(),
        base: Some(base.commit.clone()),
        changes: vec![
            Change {
                path: "deploy/app.yaml".into(),
                content: Some(b"kind: ConfigMap\ndata: {image: v2}\n".to_vec()),
            },
            Change {
                path: "README.md".into(),
                content: None,
            },
        ],
        author,
        message: "Update image to v2\n".into(),
    };
    let pushed = commit_and_push(&src, &request)
        .unwrap_or_else(|e| panic!("{e}\n{}", http.log()))
        .expect("a change was made");
    assert_eq!(env.head(), pushed.commit);
    assert_eq!(pushed.revision, format!("main@sha1:{}", pushed.commit));
    let show = git(
        Some(&env.bare),
        &["show", "-s", "--format=%an <%ae>|%s|%P", "main"],
    )
    .unwrap();
    assert_eq!(
        show.trim(),
        format!(
            "gitops-bot <bot@example.com>|Update image to v2|{}",
            base.commit
        )
    );
    let fetched = src.fetch(&env.cache()).unwrap();
    assert_eq!(fetched.commit, pushed.commit);

    // The same changes again: nothing to commit, nothing pushed.
    let again = CommitRequest {
        base: Some(pushed.commit.clone()),
        ..request.clone()
    };
    assert_eq!(commit_and_push(&src, &again).unwrap(), None);

    // Based on the old commit while the branch moved on: rejected, the branch keeps its commit.
    let stale = CommitRequest {
        changes: vec![Change {
            path: "deploy/app.yaml".into(),
            content: Some(b"kind: ConfigMap\ndata: {image: v3}\n".to_vec()),
        }],
        ..request
    };
    let err = commit_and_push(&src, &stale).unwrap_err();
    assert!(matches!(err, GitError::PushRejected { .. }), "{err}");
    assert!(err.to_string().contains("not a fast-forward"), "{err}");
    assert_eq!(env.head(), pushed.commit);
}

#[test]
fn push_over_ssh_and_with_basic_auth() {
    let env = Env::new(FILES);
    let ssh = GitSsh::start(&env.repos).unwrap();
    let creds = Credentials {
        ssh_identity: Some(std::fs::read(ssh.user_key()).unwrap()),
        known_hosts: Some(std::fs::read(ssh.known_hosts()).unwrap()),
        ..Credentials::default()
    };
    let request = CommitRequest {
        branch: "main".into(),
        base: None,
        changes: vec![Change {
            path: "new/file.yaml".into(),
            content: Some(b"kind: New\n".to_vec()),
        }],
        author: Author {
            name: "bot".into(),
            email: "bot@localhost".into(),
        },
        message: "add a file".into(),
    };
    let pushed = commit_and_push(
        &source(&ssh.url("app"), GitRef::branch("main")).with_credentials(creds),
        &request,
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", ssh.log()))
    .unwrap();
    assert_eq!(env.head(), pushed.commit);

    let password = "push-pass-31337";
    let http = GitHttp::start(
        &env.repos,
        Some(BasicAuth {
            user: "bob".into(),
            password: password.into(),
        }),
    )
    .unwrap();
    let creds = Credentials {
        username: Some("bob".into()),
        password: Some(password.into()),
        ..Credentials::default()
    };
    let second = CommitRequest {
        changes: vec![Change {
            path: "new/file.yaml".into(),
            content: Some(b"kind: Newer\n".to_vec()),
        }],
        ..request.clone()
    };
    let pushed = commit_and_push(
        &source(&http.url("app"), GitRef::branch("main")).with_credentials(creds),
        &second,
    )
    .unwrap_or_else(|e| panic!("{e}\n{}", http.log()))
    .unwrap();
    assert_eq!(env.head(), pushed.commit);

    // A wrong password: a clear error without the password.
    let wrong = Credentials {
        username: Some("bob".into()),
        password: Some("nope-nope-123".into()),
        ..Credentials::default()
    };
    let err = commit_and_push(
        &source(&http.url("app"), GitRef::branch("main")).with_credentials(wrong),
        &CommitRequest {
            changes: vec![Change {
                path: "x".into(),
                content: Some(b"x".to_vec()),
            }],
            ..request
        },
    )
    .unwrap_err();
    let message = err.to_string();
    assert!(!message.contains("nope-nope-123"), "{message}");
    assert!(message.contains(&http.url("app")), "{message}");
}

#[test]
fn unknown_hosts_and_closed_ports_are_named() {
    let env = Env::new(FILES);
    let err = source("http://no-such-host.invalid/r.git", GitRef::default())
        .fetch(&env.cache())
        .unwrap_err();
    assert!(
        matches!(
            err,
            GitError::Fetch {
                kind: FailureKind::UnknownHost,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().starts_with(
            "fetching the default branch from http://no-such-host.invalid/r.git: unknown host"
        ),
        "{err}"
    );
    // A port nothing listens on (bound, then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = source(&format!("git://127.0.0.1:{port}/r.git"), GitRef::default())
        .fetch(&env.cache())
        .unwrap_err();
    assert!(
        matches!(
            err,
            GitError::Fetch {
                kind: FailureKind::Unreachable,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn https_with_a_custom_ca_and_basic_auth() {
    let env = Env::new(FILES);
    let http = GitHttp::start_tls(
        &env.repos,
        Some(BasicAuth {
            user: "carol".into(),
            password: "tls-pass-2718".into(),
        }),
    )
    .unwrap();
    let ca = std::fs::read(http.ca_cert().unwrap()).unwrap();
    let creds = Credentials {
        username: Some("carol".into()),
        password: Some("tls-pass-2718".into()),
        ca_cert: Some(ca),
        ..Credentials::default()
    };
    let url = http.url("app");
    assert!(url.starts_with("https://"));
    let fetched = source(&url, GitRef::branch("main"))
        .with_credentials(creds.clone())
        .fetch(&env.cache())
        .unwrap_or_else(|e| panic!("{e}\n{}", http.log()));
    assert_eq!(fetched.commit, env.head());

    // Without the CA the server's certificate is not trusted.
    let err = source(&url, GitRef::branch("main"))
        .with_credentials(Credentials {
            ca_cert: None,
            ..creds
        })
        .fetch(&env.cache())
        .unwrap_err();
    let message = err.to_string();
    assert!(message.to_lowercase().contains("certificate"), "{message}");
    assert!(!message.contains("tls-pass-2718"), "{message}");
}

/// The attack of issue 19: links that each stay inside on their own (`.l0 → .`,
/// `.l1 → .l0/..`, …) climb out of the tree together, and `leak.yaml` reaches a host file
/// through them. Neither an export nor a stored artifact may contain such a link.
#[test]
fn symlink_chain_out_of_the_repository_is_not_exported() {
    let env = Env::new(FILES);
    let secret_dir = tempfile::tempdir().unwrap();
    let secret = secret_dir.path().join("token");
    std::fs::write(&secret, "service-account-token").unwrap();

    let work = Work::clone(&env.bare);
    std::os::unix::fs::symlink(".", work.path().join(".l0")).unwrap();
    for i in 1..=20 {
        std::os::unix::fs::symlink(
            format!(".l{}/..", i - 1),
            work.path().join(format!(".l{i}")),
        )
        .unwrap();
    }
    let absolute = secret.to_string_lossy();
    std::os::unix::fs::symlink(
        format!(".l20/{}", absolute.trim_start_matches('/')),
        work.path().join("leak.yaml"),
    )
    .unwrap();
    std::os::unix::fs::symlink("deploy/app.yaml", work.path().join("inside.yaml")).unwrap();
    work.commit(&[], "links");
    work.run(&["push", "--quiet", "origin", "main"]);

    let url = format!("file://{}", env.bare.display());
    let fetched = source(&url, GitRef::default()).fetch(&env.cache()).unwrap();
    let out = tempfile::tempdir().unwrap();
    let exported = source(&url, GitRef::default())
        .export(&fetched, out.path())
        .unwrap();
    let stored = source(&url, GitRef::default())
        .store(&fetched, &env.store())
        .unwrap();
    for dir in [&exported.path, &stored.path] {
        assert!(
            std::fs::symlink_metadata(dir.join("leak.yaml")).is_err(),
            "leak.yaml must not be written to {}",
            dir.display()
        );
        for i in 1..=20 {
            assert!(std::fs::symlink_metadata(dir.join(format!(".l{i}"))).is_err());
        }
        assert_eq!(
            std::fs::read_to_string(dir.join("inside.yaml")).unwrap(),
            "kind: ConfigMap\n",
            "a link that stays inside is kept"
        );
    }
    assert_eq!(exported.digest, stored.digest);
}
