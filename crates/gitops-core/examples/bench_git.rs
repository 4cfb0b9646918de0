//! Benchmark of Git source fetches (run by `scripts/bench-git`): a repository with 5,000 files
//! and 1,000 commits served by `git http-backend` behind lighttpd on loopback, fetched
//!
//! * cold: empty cache, shallow fetch of `main` and export of the artifact;
//! * incremental: the same cache after one more commit that changes 10 files;
//!
//! against `git clone --depth 1` + `git archive | tar -x` (cold) and `git fetch --depth 1` +
//! `git archive | tar -x` (incremental) from the same server. Prints the median of several runs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use gitops_core::git::{ArtifactStore, Cache, GitRef, GitSource};
use gitops_testenv::git::{GitHttp, GitRepos, git, git_command};

const FILES: usize = 5_000;
const COMMITS: usize = 1_000;
const RUNS: usize = 5;

/// Builds the repository with `git fast-import`: the first commit adds every file, each later
/// commit changes five of them.
fn populate(bare: &Path) {
    let mut child = git_command(Some(bare), &["fast-import", "--quiet", "--force"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = std::io::BufWriter::new(child.stdin.take().unwrap());
    let file = |i: usize, version: usize| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  namespace: team-{}\ndata:\n  version: \"{version}\"\n  payload: \"{}\"\n",
            i % 50,
            "x".repeat(200 + i % 300)
        )
    };
    for c in 0..COMMITS {
        writeln!(input, "commit refs/heads/main").unwrap();
        writeln!(
            input,
            "committer bench <bench@localhost> {} +0000",
            1_700_000_000 + c
        )
        .unwrap();
        let message = format!("commit {c}");
        writeln!(input, "data {}\n{message}", message.len()).unwrap();
        let changed: Vec<usize> = if c == 0 {
            (0..FILES).collect()
        } else {
            (0..5).map(|k| (c * 37 + k * 997) % FILES).collect()
        };
        for i in changed {
            let content = file(i, c);
            writeln!(
                input,
                "M 100644 inline apps/team-{}/cm-{i}.yaml\ndata {}\n{content}",
                i % 50,
                content.len()
            )
            .unwrap();
        }
        writeln!(input).unwrap();
    }
    drop(input);
    assert!(child.wait().unwrap().success());
}

fn commit_ten(bare: &Path, round: usize) {
    let work = tempfile::tempdir().unwrap();
    git(
        None,
        &[
            "clone",
            "--quiet",
            "--depth=1",
            &bare.to_string_lossy(),
            &work.path().to_string_lossy(),
        ],
    )
    .unwrap();
    for k in 0..10 {
        let path = work.path().join(format!("apps/team-{k}/cm-{k}.yaml"));
        std::fs::write(path, format!("kind: ConfigMap\nround: {round}\n")).unwrap();
    }
    git(
        Some(work.path()),
        &["commit", "--quiet", "-am", "ten files"],
    )
    .unwrap();
    git(Some(work.path()), &["push", "--quiet", "origin", "main"]).unwrap();
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn git_archive_into(repo: &Path, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    let mut archive = git_command(Some(repo), &["archive", "--format=tar", "HEAD"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let status = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(out)
        .stdin(archive.stdout.take().unwrap())
        .status()
        .unwrap();
    assert!(status.success());
    assert!(archive.wait().unwrap().success());
}

fn main() {
    let repos = GitRepos::new().unwrap();
    let bare = repos.create("big", &[]).unwrap();
    let start = Instant::now();
    populate(&bare);
    println!(
        "repository: {FILES} files, {COMMITS} commits (generated in {:.1?})",
        start.elapsed()
    );
    let http = GitHttp::start(&repos, None).unwrap();
    let url = http.url("big");
    let source = GitSource::new(&url).with_ref(GitRef::branch("main"));

    let (mut gix_cold, mut gix_incr, mut git_cold, mut git_incr) = (vec![], vec![], vec![], vec![]);
    let mut digest = String::new();
    for run in 0..RUNS {
        let tmp = tempfile::tempdir().unwrap();
        let cache = Cache::new(tmp.path().join("cache"));
        let store = ArtifactStore::new(tmp.path().join("store"));
        gix_cold.push(time(|| {
            digest = source.artifact(&cache, &store).unwrap().digest;
        }));
        let clone = tmp.path().join("clone");
        git_cold.push(time(|| {
            git(
                None,
                &[
                    "clone",
                    "--quiet",
                    "--depth=1",
                    "--branch=main",
                    &url,
                    &clone.to_string_lossy(),
                ],
            )
            .unwrap();
            git_archive_into(&clone, &tmp.path().join("archive-cold"));
        }));

        commit_ten(&bare, run);
        gix_incr.push(time(|| {
            source.artifact(&cache, &store).unwrap();
        }));
        git_incr.push(time(|| {
            git(
                Some(&clone),
                &["fetch", "--quiet", "--depth=1", "origin", "main"],
            )
            .unwrap();
            git(
                Some(&clone),
                &["checkout", "--quiet", "--detach", "FETCH_HEAD"],
            )
            .unwrap();
            git_archive_into(&clone, &tmp.path().join("archive-incr"));
        }));
    }
    println!("artifact digest (first run): {digest}");
    println!("median of {RUNS} runs:");
    println!(
        "  gitops (gix) cold fetch + export:          {:>8.1?}",
        median(gix_cold)
    );
    println!(
        "  git clone --depth 1 + git archive | tar:   {:>8.1?}",
        median(git_cold)
    );
    println!(
        "  gitops (gix) incremental fetch + export:   {:>8.1?}",
        median(gix_incr)
    );
    println!(
        "  git fetch --depth 1 + git archive | tar:   {:>8.1?}",
        median(git_incr)
    );
}
