//! `gitops source fetch` and Git URLs as REPO/PATH. The tests that fetch run against the harness's
//! `git daemon` and `git http-backend` on loopback and are built with the `e2e-git` feature
//! (`scripts/test` turns it on); the errors found before any fetch are tested always.

use std::path::Path;

use crate::common::{gitops, run};

/// Runs `gitops` with an isolated cache directory.
fn gitops_cached(cache: &Path, args: &[&str]) -> std::process::Command {
    let mut cmd = gitops(args);
    cmd.env("GITOPS_CACHE_DIR", cache);
    cmd
}

#[test]
fn secret_files_and_insecure_http_are_checked_before_fetching() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_string_lossy().into_owned();
    let secret = tmp.path().join("secret.yaml");
    let secret_s = secret.to_string_lossy().into_owned();
    let out = tmp.path().join("out").to_string_lossy().into_owned();
    // Nothing listens on port 9 of a test machine; these errors come before any connection.
    let url = "http://127.0.0.1:9/app.git";
    let fetch = |extra: &[&str]| {
        let mut args = vec!["source", "fetch", url, "--out", &out];
        args.extend_from_slice(extra);
        run(
            &mut gitops_cached(tmp.path(), &args),
            &[(dir.as_str(), "<tmp>")],
        )
    };
    let mut texts = vec![fetch(&["--secret-file", &secret_s])];
    for content in [
        "kind: Secret\ndata:\n  token: YWJj\n",
        "kind: Secret\ndata:\n  password: not*base64\n",
        "kind: Secret\ndata: [password]\n",
    ] {
        std::fs::write(&secret, content).unwrap();
        texts.push(fetch(&["--secret-file", &secret_s]));
    }
    std::fs::write(
        &secret,
        "kind: Secret\nstringData:\n  username: alice\n  password: hunter2-secret\n",
    )
    .unwrap();
    let insecure = fetch(&["--secret-file", &secret_s]);
    assert!(!insecure.contains("hunter2-secret"), "{insecure}");
    texts.push(insecure);
    texts.push(run(
        &mut gitops_cached(tmp.path(), &["build", url, "--path", "../up"]),
        &[],
    ));
    insta::assert_snapshot!(texts.join("\n=====\n"));
}

#[cfg(feature = "e2e-git")]
mod e2e {
    use std::path::Path;

    use gitops_testenv::git::{BasicAuth, GitDaemon, GitHttp, GitRepos, GitSsh, git};

    use super::gitops_cached;
    use crate::common::{run, workspace_root};

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

    /// A served repository `app` with two commits on `main`: `first` (tagged v1.0.0) and
    /// `second` (tagged v1.1.0, and `latest`, which is not a version).
    struct Served {
        _repos: GitRepos,
        daemon: GitDaemon,
        first: String,
        second: String,
    }

    fn rev(bare: &Path, what: &str) -> String {
        git(Some(bare), &["rev-parse", what])
            .unwrap()
            .trim()
            .to_owned()
    }

    fn served() -> Served {
        let repos = GitRepos::new().unwrap();
        let bare = repos.create("app", FILES).unwrap();
        let first = rev(&bare, "main");
        let work = tempfile::tempdir().unwrap();
        let work_s = work.path().to_string_lossy().into_owned();
        git(
            None,
            &["clone", "--quiet", &bare.to_string_lossy(), &work_s],
        )
        .unwrap();
        std::fs::write(
            work.path().join("deploy/app.yaml"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  k: v2\n",
        )
        .unwrap();
        git(Some(work.path()), &["commit", "--quiet", "-am", "second"]).unwrap();
        git(Some(work.path()), &["push", "--quiet", "origin", "main"]).unwrap();
        let second = rev(&bare, "main");
        for (tag, commit) in [("v1.0.0", &first), ("v1.1.0", &second), ("latest", &second)] {
            git(Some(&bare), &["tag", tag, commit]).unwrap();
        }
        let daemon = GitDaemon::start(&repos).unwrap();
        Served {
            _repos: repos,
            daemon,
            first,
            second,
        }
    }

    /// `digest: sha256:…` values replaced by `<digest-N>`, numbered in order of appearance.
    fn number_digests(text: &str) -> String {
        let mut seen: Vec<String> = Vec::new();
        text.lines()
            .map(|line| match line.strip_prefix("digest: ") {
                Some(digest) => {
                    let n = match seen.iter().position(|d| d == digest) {
                        Some(n) => n,
                        None => {
                            seen.push(digest.to_owned());
                            seen.len() - 1
                        }
                    };
                    format!("digest: <digest-{}>\n", n + 1)
                }
                None => format!("{line}\n"),
            })
            .collect()
    }

    #[test]
    fn source_fetch_resolves_every_kind_of_reference_over_git_daemon() {
        let s = served();
        let tmp = tempfile::tempdir().unwrap();
        let url = s.daemon.url("app");
        let dir = tmp.path().to_string_lossy().into_owned();
        let replace = [
            (url.as_str(), "<url>"),
            (dir.as_str(), "<tmp>"),
            (s.first.as_str(), "<first>"),
            (s.second.as_str(), "<second>"),
        ];
        let cases: [(&str, &[&str]); 8] = [
            ("default branch", &[]),
            ("branch", &["--branch", "main"]),
            ("tag", &["--tag", "v1.0.0"]),
            ("semver, highest match", &["--semver", ">=1.0.0"]),
            ("semver range", &["--semver", ">=1.0.0, <1.1.0"]),
            ("commit", &["--commit", &s.first]),
            (
                "branch and commit",
                &["--branch", "main", "--commit", &s.first],
            ),
            ("full ref name", &["--ref", "refs/tags/latest"]),
        ];
        let mut texts = Vec::new();
        for (n, (name, flags)) in cases.iter().enumerate() {
            let out = tmp.path().join(format!("out-{n}"));
            let out_s = out.to_string_lossy().into_owned();
            let mut args = vec!["source", "fetch", url.as_str(), "--out", &out_s];
            args.extend_from_slice(flags);
            let text = run(
                &mut gitops_cached(&tmp.path().join("cache"), &args),
                &replace,
            );
            let mut header = format!("# {name}: {}", flags.join(" "));
            for (from, to) in replace {
                header = header.replace(from, to);
            }
            texts.push(format!("{header}\n{text}"));
            assert!(out.join("deploy/app.yaml").is_file(), "{text}");
        }
        insta::assert_snapshot!(number_digests(&texts.join("\n")));

        // JSON output; the same tree exported elsewhere has the same digest.
        let out = tmp.path().join("json").to_string_lossy().into_owned();
        let output = gitops_cached(
            &tmp.path().join("cache"),
            &["source", "fetch", &url, "--out", &out, "-o", "json"],
        )
        .output()
        .unwrap();
        assert!(output.status.success());
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["revision"], format!("main@sha1:{}", s.second));
        assert_eq!(json["files"], 3);
        let first_text = &texts[0];
        assert!(
            first_text.contains(json["digest"].as_str().unwrap()),
            "{first_text}\n{json}"
        );
    }

    #[test]
    fn source_fetch_errors_name_the_url_the_reference_and_the_cause() {
        let s = served();
        let tmp = tempfile::tempdir().unwrap();
        let url = s.daemon.url("app");
        let dir = tmp.path().to_string_lossy().into_owned();
        let closed = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let closed_url = format!("git://127.0.0.1:{closed}/app.git");
        let missing = s.daemon.url("missing");
        let replace = [
            (url.as_str(), "<url>"),
            (missing.as_str(), "<missing-url>"),
            (closed_url.as_str(), "<closed-url>"),
            (dir.as_str(), "<tmp>"),
        ];
        let out = tmp.path().join("out").to_string_lossy().into_owned();
        let cases: [(&str, &[&str]); 5] = [
            ("unknown branch", &[url.as_str(), "--branch", "nope"]),
            ("no semver match", &[url.as_str(), "--semver", ">=9"]),
            (
                "commit in no branch",
                &[url.as_str(), "--commit", &"0".repeat(40)],
            ),
            ("missing repository", &[missing.as_str()]),
            (
                "nothing listening",
                &[closed_url.as_str(), "--fetch-timeout", "5s"],
            ),
        ];
        let mut texts = Vec::new();
        for (name, args) in cases {
            let mut all = vec!["source", "fetch", "--out", &out];
            all.extend_from_slice(args);
            let text = run(
                &mut gitops_cached(&tmp.path().join("cache"), &all),
                &replace,
            );
            assert!(text.starts_with("exit code: 1\n"), "{text}");
            texts.push(format!("# {name}\n{text}"));
        }
        // A second fetch into the same directory: refused, it is not empty.
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(Path::new(&out).join("x"), "x").unwrap();
        texts.push(format!(
            "# output directory not empty\n{}",
            run(
                &mut gitops_cached(
                    &tmp.path().join("cache"),
                    &["source", "fetch", &url, "--out", &out]
                ),
                &replace
            )
        ));
        insta::assert_snapshot!(texts.join("\n"));
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
        let secret = tmp.path().join("secret.yaml");
        let secret_s = secret.to_string_lossy().into_owned();
        let url = http.url("app");
        let fetch = |out: &str| {
            run(
                &mut gitops_cached(
                    &tmp.path().join("cache"),
                    &[
                        "source",
                        "fetch",
                        &url,
                        "--secret-file",
                        &secret_s,
                        "--allow-insecure-http",
                        "--out",
                        &tmp.path().join(out).to_string_lossy(),
                    ],
                ),
                &[(url.as_str(), "<url>")],
            )
        };
        // "wrong-pass-5150" in base64.
        std::fs::write(
            &secret,
            "apiVersion: v1\nkind: Secret\nmetadata: {name: git}\ndata:\n  password: d3JvbmctcGFzcy01MTUw\nstringData:\n  username: alice\n",
        )
        .unwrap();
        let wrong = fetch("out");
        assert!(!wrong.contains("wrong-pass-5150"), "{wrong}");
        insta::assert_snapshot!(wrong);

        // The password in the URL: redacted too.
        let in_url = url.replace("http://", "http://alice:wrong-pass-5150@");
        let text = run(
            &mut gitops_cached(
                &tmp.path().join("cache"),
                &[
                    "source",
                    "fetch",
                    &in_url,
                    "--allow-insecure-http",
                    "--out",
                    &tmp.path().join("out2").to_string_lossy(),
                ],
            ),
            &[],
        );
        assert!(!text.contains("wrong-pass-5150"), "{text}");
        assert!(text.contains("authentication failed"), "{text}");

        // The right password through stringData works, and is not printed either.
        std::fs::write(
            &secret,
            "kind: Secret\nstringData:\n  username: alice\n  password: right-pass-8080\n",
        )
        .unwrap();
        let right = fetch("ok");
        assert!(right.starts_with("exit code: 0\n"), "{right}");
        assert!(!right.contains("right-pass-8080"), "{right}");
    }

    /// A Secret file with Flux's SSH keys (`identity`, `known_hosts`), as `flux create secret git`
    /// writes it.
    fn ssh_secret(path: &Path, identity: &Path, known_hosts: &Path) {
        let indent =
            |text: String| -> String { text.lines().map(|l| format!("    {l}\n")).collect() };
        let identity = indent(std::fs::read_to_string(identity).unwrap());
        let known_hosts = indent(std::fs::read_to_string(known_hosts).unwrap());
        std::fs::write(
            path,
            format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: deploy-key\nstringData:\n  identity: |\n{identity}  known_hosts: |\n{known_hosts}"
            ),
        )
        .unwrap();
    }

    #[test]
    fn source_fetch_over_ssh_with_a_deploy_key_and_a_strict_host_key() {
        let repos = GitRepos::new().unwrap();
        repos.create("app", FILES).unwrap();
        let ssh = GitSsh::start(&repos).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let secret = tmp.path().join("deploy-key.yaml");
        ssh_secret(&secret, &ssh.user_key(), &ssh.known_hosts());
        let url = ssh.url("app");
        let fetch = |secret: &Path, out: &str| {
            run(
                &mut gitops_cached(
                    &tmp.path().join("cache"),
                    &[
                        "source",
                        "fetch",
                        &url,
                        "--secret-file",
                        &secret.to_string_lossy(),
                        "--out",
                        &tmp.path().join(out).to_string_lossy(),
                    ],
                ),
                &[(url.as_str(), "<url>")],
            )
        };
        let ok = fetch(&secret, "ok");
        assert!(ok.starts_with("exit code: 0\n"), "{ok}\n{}", ssh.log());
        assert!(ok.contains("main@sha1:"), "{ok}");
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("ok/deploy/app.yaml")).unwrap(),
            FILES[1].1
        );
        assert!(!ok.contains("PRIVATE KEY"), "{ok}");

        // A known_hosts entry for another key: refused as a host key failure, never retried.
        let other = tmp.path().join("other_key");
        let status = std::process::Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&other)
            .status()
            .unwrap();
        assert!(status.success());
        let other_pub = std::fs::read_to_string(tmp.path().join("other_key.pub")).unwrap();
        let mut fields = other_pub.split_whitespace();
        let wrong_hosts = tmp.path().join("wrong_known_hosts");
        std::fs::write(
            &wrong_hosts,
            format!(
                "[127.0.0.1]:{} {} {}\n",
                ssh.port(),
                fields.next().unwrap(),
                fields.next().unwrap()
            ),
        )
        .unwrap();
        let bad_secret = tmp.path().join("bad-host.yaml");
        ssh_secret(&bad_secret, &ssh.user_key(), &wrong_hosts);
        let refused = fetch(&bad_secret, "refused");
        assert!(refused.starts_with("exit code: 1\n"), "{refused}");
        assert!(refused.to_lowercase().contains("host key"), "{refused}");
        assert!(!refused.contains("PRIVATE KEY"), "{refused}");
    }

    #[test]
    fn build_renders_a_directory_of_a_git_url() {
        let s = served();
        let tmp = tempfile::tempdir().unwrap();
        let url = s.daemon.url("app");
        let cache = tmp.path().join("cache");
        let text = run(
            &mut gitops_cached(
                &cache,
                &["build", &url, "--tag", "v1.0.0", "--path", "deploy"],
            ),
            &[],
        );
        insta::assert_snapshot!(text);
        let text = run(
            &mut gitops_cached(&cache, &["build", &url, "--path", "nowhere"]),
            &[(url.as_str(), "<url>")],
        );
        insta::assert_snapshot!(text);
    }

    /// Every file of `dir`, as (relative path, content) pairs.
    fn files_of(dir: &Path) -> Vec<(String, String)> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(next) = stack.pop() {
            for entry in std::fs::read_dir(&next).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let rel = path
                        .strip_prefix(dir)
                        .unwrap()
                        .to_string_lossy()
                        .into_owned();
                    files.push((rel, std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        files.sort();
        files
    }

    #[test]
    fn plan_and_graph_of_a_git_url_match_the_local_checkout() {
        let root = workspace_root();
        let local = root.join("fixtures/platform");
        let owned = files_of(&local);
        let files: Vec<(&str, &str)> = owned
            .iter()
            .map(|(p, c)| (p.as_str(), c.as_str()))
            .collect();
        let repos = GitRepos::new().unwrap();
        repos.create("platform", &files).unwrap();
        let daemon = GitDaemon::start(&repos).unwrap();
        let url = daemon.url("platform");
        let tmp = tempfile::tempdir().unwrap();
        let local_s = local.to_string_lossy().into_owned();
        for command in ["plan", "graph"] {
            let from_git = run(
                &mut gitops_cached(
                    tmp.path(),
                    &[
                        command,
                        &url,
                        "--branch",
                        "main",
                        "--path",
                        "clusters/staging",
                    ],
                ),
                &[],
            );
            let from_dir = run(
                &mut gitops_cached(
                    tmp.path(),
                    &[command, &local_s, "--path", "clusters/staging"],
                ),
                &[],
            );
            assert!(from_git.starts_with("exit code: 0\n"), "{from_git}");
            // The artifact directory stands where the checkout stood.
            let artifacts = tmp.path().join("artifacts").to_string_lossy().into_owned();
            let normalise = |text: &str, root: &str| text.replace(root, "<repo>");
            let artifact_root = from_git
                .split(&artifacts)
                .nth(1)
                .and_then(|rest| rest.split('/').nth(1))
                .map(|digest| format!("{artifacts}/{digest}"));
            let from_git = match artifact_root {
                Some(r) => normalise(&from_git, &r),
                None => from_git,
            };
            assert_eq!(from_git, normalise(&from_dir, &local_s), "{command}");
        }
    }
}

/// `gitops build CHART --repo URL` and `gitops build oci://...`: the chart is downloaded from a
/// chart repository (lighttpd on loopback) or an OCI registry (docker-registry on loopback) and
/// renders exactly as the same chart from its directory.
#[cfg(feature = "e2e-git")]
mod charts {
    use std::process::Command;

    use gitops_testenv::http::StaticHttp;
    use gitops_testenv::registry::OciRegistry;

    use super::gitops_cached;
    use crate::common::workspace_root;

    /// `fixtures/helm/dicts` packaged as `helm package` does (top directory `dicts/`).
    fn package(dir: &std::path::Path) -> Vec<u8> {
        let out = dir.join("dicts-0.1.0.tgz");
        let status = Command::new("tar")
            .arg("-C")
            .arg(workspace_root().join("fixtures/helm"))
            .arg("-czf")
            .arg(&out)
            .arg("dicts")
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read(out).unwrap()
    }

    fn stdout(cmd: &mut Command) -> String {
        let output = cmd.output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn charts_from_a_repository_or_a_registry_render_as_from_their_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let cache = tmp.path().join("cache");
        let served = tmp.path().join("served");
        std::fs::create_dir_all(&served).unwrap();
        let archive = package(&served);
        std::fs::write(
            served.join("index.yaml"),
            "apiVersion: v1\nentries:\n  dicts:\n  - name: dicts\n    version: 0.1.0\n    urls: [dicts-0.1.0.tgz]\n  - name: dicts\n    version: 0.2.0-rc.1\n    urls: [missing.tgz]\n",
        )
        .unwrap();
        let local = stdout(&mut gitops_cached(
            &cache,
            &["build", "fixtures/helm/dicts"],
        ));
        assert!(local.contains("# Source: dicts/templates/"), "{local}");

        let http = StaticHttp::start(&served, None).unwrap();
        let repo = http.url();
        let from_repo = stdout(&mut gitops_cached(
            &cache,
            &["build", "dicts", "--repo", &repo, "--chart-version", "~0.1"],
        ));
        assert_eq!(from_repo, local);
        // A version the index does not have: the error names what it has.
        let output = gitops_cached(
            &cache,
            &["build", "dicts", "--repo", &repo, "--chart-version", ">=1"],
        )
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(
                "no version of chart `dicts` satisfies `>=1` (the index has `0.2.0-rc.1`, `0.1.0`)"
            ),
            "{stderr}"
        );

        let registry = OciRegistry::start().unwrap();
        registry
            .push_chart("charts/dicts", "0.1.0", &archive)
            .unwrap();
        let reference = format!("oci://{}/charts/dicts", registry.host());
        let from_registry = stdout(&mut gitops_cached(
            &cache,
            &["build", &reference, "--plain-http"],
        ));
        assert_eq!(from_registry, local);
    }
}
