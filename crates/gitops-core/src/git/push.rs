//! The write side: commit changed files on a branch and push the commit, for image automation
//! and rollbacks.
//!
//! gix cannot push (it has no send-pack), so this module runs the `git` program for the whole
//! write: a shallow fetch of the base commit into a scratch repository, the commit, and the push.
//! `git` runs isolated from the user's and system's configuration, never prompts, and gets its
//! credentials through the environment and private files: HTTP user and password through an
//! askpass script reading environment variables, a bearer token through `http.extraHeader` set
//! in environment-only configuration, CA certificates through `GIT_SSL_CAINFO`, and SSH through
//! `GIT_SSH_COMMAND` with the key and known_hosts (strict host key checking, batch mode).

use std::path::{Component, Path};
use std::process::{Command, Output, Stdio};

use super::credentials::Materialized;
use super::{GitError, GitSource, url};

/// Who a commit is by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    /// Name, as in `user.name`.
    pub name: String,
    /// E-mail address.
    pub email: String,
}

/// One file change: new content, or `None` to delete the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Slash-separated path relative to the repository root.
    pub path: String,
    /// The new content; `None` removes the file.
    pub content: Option<Vec<u8>>,
}

/// A commit to make and push.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    /// The branch to push to.
    pub branch: String,
    /// The commit to build on (hex). With `None`, the branch's current tip. With a base that is
    /// no longer the tip, the push is rejected as not a fast-forward: nothing is overwritten.
    pub base: Option<String>,
    /// The file changes.
    pub changes: Vec<Change>,
    /// Author and committer.
    pub author: Author,
    /// The commit message.
    pub message: String,
}

/// A pushed commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The new commit, hex.
    pub commit: String,
    /// Flux's revision string for it on the branch.
    pub revision: String,
}

/// A scratch repository where `git` runs with the source's credentials.
struct Scratch<'a> {
    source: &'a GitSource,
    url: String,
    work: tempfile::TempDir,
    files: Materialized,
    username: Option<String>,
    password: Option<String>,
    bearer: Option<String>,
}

impl Scratch<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("git");
        command
            .args(args)
            .current_dir(self.work.path())
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.files.dir())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_SSH_COMMAND", &self.files.ssh_program)
            .env("GIT_ASKPASS", self.files.dir().join("askpass"))
            .env("SSH_ASKPASS", "/bin/false")
            .env("LC_ALL", "C")
            .stdin(Stdio::null());
        if let Some(user) = &self.username {
            command.env("GITOPS_GIT_USERNAME", user);
        }
        if let Some(password) = &self.password {
            command.env("GITOPS_GIT_PASSWORD", password);
        }
        if let Some(ca) = &self.files.ca_file {
            command.env("GIT_SSL_CAINFO", ca);
        }
        if let Some(token) = &self.bearer {
            command
                .env("GIT_CONFIG_COUNT", "1")
                .env("GIT_CONFIG_KEY_0", "http.extraHeader")
                .env(
                    "GIT_CONFIG_VALUE_0",
                    format!("Authorization: Bearer {token}"),
                );
        }
        command
    }

    fn run(&self, args: &[&str], what: &str) -> Result<Output, GitError> {
        let output = self
            .command(args)
            .output()
            .map_err(GitError::io("running git in", self.work.path()))?;
        if output.status.success() {
            Ok(output)
        } else {
            Err(self.failed(what, &output))
        }
    }

    fn failed(&self, what: &str, output: &Output) -> GitError {
        let secrets = self.source.secrets();
        let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
        let text = self.files.with_ssh_stderr(format!(
            "{}{}",
            String::from_utf8_lossy(&output.stderr),
            String::from_utf8_lossy(&output.stdout)
        ));
        GitError::GitProgram {
            command: what.to_owned(),
            url: self.source.redacted_url(),
            cause: url::redact(text.trim(), &secrets),
        }
    }
}

fn check_path(path: &str) -> Result<(), GitError> {
    let p = Path::new(path);
    let ok = !path.is_empty()
        && p.components().all(|c| matches!(c, Component::Normal(_)))
        && p.components().next() != Some(Component::Normal(".git".as_ref()));
    if ok {
        Ok(())
    } else {
        Err(GitError::IncludePath {
            path: path.to_owned(),
            reason: "a changed file must be a relative path inside the repository, not under .git",
        })
    }
}

/// Commits `request.changes` on top of the base and pushes to `request.branch` of `source`.
/// Returns `None` when the changes leave the tree as it was (nothing is pushed).
pub fn commit_and_push(
    source: &GitSource,
    request: &CommitRequest,
) -> Result<Option<Pushed>, GitError> {
    for change in &request.changes {
        check_path(&change.path)?;
    }
    let (url, creds) = source.connection()?;
    let files =
        Materialized::new(&creds, source.timeout.as_secs().max(1)).map_err(GitError::io(
            "writing credentials to a temporary directory",
            std::env::temp_dir(),
        ))?;
    let askpass = files.dir().join("askpass");
    write_script(
        &askpass,
        "#!/bin/sh\ncase \"$1\" in\n  Username*) printf '%s\\n' \"$GITOPS_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$GITOPS_GIT_PASSWORD\" ;;\nesac\n",
    )?;
    let work = tempfile::Builder::new()
        .prefix("gitops-git-push-")
        .tempdir()
        .map_err(GitError::io(
            "creating a temporary directory in",
            std::env::temp_dir(),
        ))?;
    let scratch = Scratch {
        source,
        url,
        work,
        files,
        username: creds.username.clone(),
        password: creds.password.clone(),
        bearer: creds.bearer_token,
    };
    scratch.run(&["init", "--quiet"], "init")?;
    let branch_ref = format!("refs/heads/{}", request.branch);
    let base = request.base.as_deref().unwrap_or(&branch_ref);
    if scratch
        .run(
            &["fetch", "--quiet", "--depth=1", &scratch.url, base],
            "fetch",
        )
        .is_err()
    {
        // Not every server hands out commits by id: fetch the branch and find the base in it.
        scratch.run(&["fetch", "--quiet", &scratch.url, &branch_ref], "fetch")?;
    }
    let base_commit = request
        .base
        .clone()
        .unwrap_or_else(|| "FETCH_HEAD".to_owned());
    scratch.run(
        &["checkout", "--quiet", "--detach", &base_commit],
        "checkout",
    )?;
    let base_commit = rev_parse(&scratch, "HEAD")?;
    for change in &request.changes {
        let path = scratch.work.path().join(&change.path);
        match &change.content {
            Some(content) => {
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(GitError::io("creating", parent))?;
                }
                std::fs::write(&path, content).map_err(GitError::io("writing", &path))?;
            }
            None => match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(GitError::io("removing", &path)(e)),
            },
        }
    }
    scratch.run(&["add", "--all"], "add")?;
    let unchanged = scratch
        .command(&["diff", "--cached", "--quiet"])
        .status()
        .map_err(GitError::io("running git in", scratch.work.path()))?
        .success();
    if unchanged {
        return Ok(None);
    }
    let mut commit = scratch.command(&["commit", "--quiet", "--no-verify", "-F", "-"]);
    commit
        .env("GIT_AUTHOR_NAME", &request.author.name)
        .env("GIT_AUTHOR_EMAIL", &request.author.email)
        .env("GIT_COMMITTER_NAME", &request.author.name)
        .env("GIT_COMMITTER_EMAIL", &request.author.email)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = commit
        .spawn()
        .map_err(GitError::io("running git in", scratch.work.path()))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        stdin
            .write_all(request.message.as_bytes())
            .map_err(GitError::io(
                "writing the commit message to git in",
                scratch.work.path(),
            ))?;
    }
    let output = child
        .wait_with_output()
        .map_err(GitError::io("running git in", scratch.work.path()))?;
    if !output.status.success() {
        return Err(scratch.failed("commit", &output));
    }
    let new_commit = rev_parse(&scratch, "HEAD")?;
    let refspec = format!("HEAD:{branch_ref}");
    let output = scratch
        .command(&["push", "--porcelain", &scratch.url, &refspec])
        .output()
        .map_err(GitError::io("running git in", scratch.work.path()))?;
    if !output.status.success() {
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        if text.contains("[rejected]")
            || text.contains("non-fast-forward")
            || text.contains("fetch first")
        {
            return Err(GitError::PushRejected {
                url: source.redacted_url(),
                branch: request.branch.clone(),
                base: base_commit,
            });
        }
        return Err(scratch.failed("push", &output));
    }
    Ok(Some(Pushed {
        revision: super::reference::revision(Some(&request.branch), &new_commit),
        commit: new_commit,
    }))
}

fn rev_parse(scratch: &Scratch<'_>, rev: &str) -> Result<String, GitError> {
    let output = scratch.run(&["rev-parse", rev], "rev-parse")?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn write_script(path: &Path, text: &str) -> Result<(), GitError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o700)
        .open(path)
        .map_err(GitError::io("writing", path))?;
    file.write_all(text.as_bytes())
        .map_err(GitError::io("writing", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_paths_stay_inside_the_work_tree() {
        assert!(check_path("deploy/app.yaml").is_ok());
        for bad in ["", "/etc/passwd", "../x", "a/../../x", ".git/config", "./a"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }
}
