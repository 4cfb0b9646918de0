//! Benchmark of Git source fetches (run by `scripts/bench-git`): a repository with 5,000 files
//! and 1,000 commits served by `git http-backend` behind lighttpd on loopback, fetched
//!
//! * cold: empty cache, shallow fetch of `main` and export of the filtered artifact into a new
//!   directory (what `gitops source fetch --out DIR` does);
//! * incremental: the same cache after one more commit that changes 10 files, exported into
//!   another new directory;
//!
//! against `git clone --depth 1` + `git archive | tar -x` (cold) and `git fetch --depth 1` +
//! `git archive | tar -x` (incremental) from the same server. Every measured step is its own
//! process run under `/usr/bin/time -v` (this program re-runs itself with `fetch URL CACHE OUT`
//! for the gitops side); prints the median wall time, user and system CPU and peak RSS of
//! several runs. `bench_git fetch URL CACHE OUT` alone does one fetch and export.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use gitops_core::git::{Cache, GitRef, GitSource};
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

/// One measured process: wall seconds, user and system CPU seconds, peak RSS in KiB.
#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    wall: f64,
    user: f64,
    system: f64,
    rss_kib: u64,
}

/// Parses `m:ss.ss` or `h:mm:ss` (GNU time's elapsed time) into seconds.
fn clock_seconds(text: &str) -> f64 {
    text.split(':').fold(0.0, |acc, part| {
        acc * 60.0 + part.trim().parse::<f64>().unwrap()
    })
}

/// Runs `command` under `/usr/bin/time -v` and returns what it measured. The file system is
/// synced first: without it, a step's file creations wait for the write-back of the previous
/// steps' files, and whichever step comes second pays for the first (an incremental export
/// right after a cold one measured 5× the system time of the same export a moment later).
fn measure(program: &str, args: &[&str], env_dir: &Path) -> Usage {
    let _ = Command::new("sync").status();
    let output = Command::new("/usr/bin/time")
        .arg("-v")
        .arg(program)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", env_dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {stderr}"
    );
    let field = |name: &str| {
        stderr
            .lines()
            .find_map(|l| l.trim().strip_prefix(name))
            .unwrap_or_else(|| panic!("no `{name}` in: {stderr}"))
            .trim()
            .to_owned()
    };
    Usage {
        wall: clock_seconds(&field("Elapsed (wall clock) time (h:mm:ss or m:ss):")),
        user: field("User time (seconds):").parse().unwrap(),
        system: field("System time (seconds):").parse().unwrap(),
        rss_kib: field("Maximum resident set size (kbytes):")
            .parse()
            .unwrap(),
    }
}

fn median_of(runs: &[Usage]) -> Usage {
    let mid = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut rss: Vec<u64> = runs.iter().map(|u| u.rss_kib).collect();
    rss.sort_unstable();
    Usage {
        wall: mid(runs.iter().map(|u| u.wall).collect()),
        user: mid(runs.iter().map(|u| u.user).collect()),
        system: mid(runs.iter().map(|u| u.system).collect()),
        rss_kib: rss[rss.len() / 2],
    }
}

/// `fetch URL CACHE OUT`: one fetch of `main` into CACHE and export into OUT, as
/// `gitops source fetch --branch main --out OUT` does.
fn fetch_once(url: &str, cache: &str, out: &str) {
    let source = GitSource::new(url).with_ref(GitRef::branch("main"));
    let fetched = source.fetch(&Cache::new(cache)).unwrap();
    let artifact = source.export(&fetched, Path::new(out)).unwrap();
    println!(
        "{} {} {}",
        artifact.revision, artifact.digest, artifact.files
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 5 && args[1] == "fetch" {
        fetch_once(&args[2], &args[3], &args[4]);
        return;
    }
    let me = std::env::current_exe().unwrap();
    let me = me.to_string_lossy().into_owned();
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

    let (mut gix_cold, mut gix_incr, mut git_cold, mut git_incr) = (vec![], vec![], vec![], vec![]);
    for run in 0..RUNS {
        let tmp = tempfile::tempdir().unwrap();
        let p = |name: &str| tmp.path().join(name).to_string_lossy().into_owned();
        let (cache, clone) = (p("cache"), p("clone"));
        gix_cold.push(measure(
            &me,
            &["fetch", &url, &cache, &p("out-cold")],
            tmp.path(),
        ));
        let script = "git clone --quiet --depth=1 --branch=main \"$1\" \"$2\" && mkdir \"$3\" \
                      && git -C \"$2\" archive --format=tar HEAD | tar -x -C \"$3\"";
        git_cold.push(measure(
            "sh",
            &["-c", script, "sh", &url, &clone, &p("archive-cold")],
            tmp.path(),
        ));

        commit_ten(&bare, run);
        gix_incr.push(measure(
            &me,
            &["fetch", &url, &cache, &p("out-incr")],
            tmp.path(),
        ));
        let script = "git -C \"$1\" fetch --quiet --depth=1 origin main && mkdir \"$2\" \
                      && git -C \"$1\" archive --format=tar FETCH_HEAD | tar -x -C \"$2\"";
        git_incr.push(measure(
            "sh",
            &["-c", script, "sh", &clone, &p("archive-incr")],
            tmp.path(),
        ));
    }
    println!("median of {RUNS} runs (each step one process under /usr/bin/time -v):");
    println!("| step | wall s | user s | sys s | peak RSS MiB |");
    println!("|---|---:|---:|---:|---:|");
    for (name, runs) in [
        ("gitops (gix) cold: shallow fetch + export", &gix_cold),
        ("git clone --depth 1 + git archive \\| tar -x", &git_cold),
        ("gitops (gix) incremental: fetch + export", &gix_incr),
        ("git fetch --depth 1 + git archive \\| tar -x", &git_incr),
    ] {
        let m = median_of(runs);
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} | {:.1} |",
            m.wall,
            m.user,
            m.system,
            m.rss_kib as f64 / 1024.0
        );
    }
}
