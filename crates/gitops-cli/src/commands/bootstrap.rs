//! `gitops bootstrap`: commit the operator's manifests and its own GitRepository + Kustomization
//! into a repository, install the operator, and apply the sync objects, so that the operator
//! manages the repository directory (and itself) from then on.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use gitops_core::api::install::{
    InstallOptions, SyncOptions, bootstrap_files, install_manifests, sync_manifests,
};
use gitops_core::git::push::{Author, Change, CommitRequest, commit_and_push};
use gitops_core::git::url::is_remote_url;
use gitops_core::git::{Credentials, GitRef, GitSource};

use super::git_url::read_secret;
use super::install::{apply_values, connect};
use super::{ExitStatus, source};
use crate::cli::BootstrapArgs;
use crate::printer::Printer;

pub(crate) fn run(args: &BootstrapArgs, printer: &Arc<Printer>) -> anyhow::Result<ExitStatus> {
    let mut install = InstallOptions {
        namespace: args.namespace.clone(),
        extra_crds: vec![gitops_rollout::object::crd()],
        ..InstallOptions::default()
    };
    if let Some(image) = &args.image {
        install.image.clone_from(image);
    }
    let remote = is_remote_url(&args.repo);
    let url = match (&args.url, remote) {
        (Some(url), _) => url.clone(),
        (None, true) => args.repo.clone(),
        (None, false) => origin_url(Path::new(&args.repo))?,
    };
    let sync = SyncOptions {
        url,
        branch: args.branch.clone(),
        path: args.path.clone(),
    };
    let files = bootstrap_files(&install, &sync);
    let message = format!("Add gitops-system manifests for {}", args.path);
    if remote {
        push_remote(args, &files, &message, printer)?;
    } else {
        commit_local(args, &files, &message, printer)?;
    }
    let runtime = source::runtime()?;
    let succeeded = runtime.block_on(async {
        let discovery = connect(&args.kube).await?;
        let installed = apply_values(
            &discovery,
            install_manifests(&install),
            &args.namespace,
            args.timeout,
            printer,
            "install",
        )
        .await?;
        if !installed {
            return anyhow::Ok(false);
        }
        apply_values(
            &discovery,
            sync_manifests(&install, &sync),
            &args.namespace,
            args.timeout,
            printer,
            "sync",
        )
        .await
    })?;
    if succeeded {
        printer.note(&format!(
            "bootstrapped: the operator reconciles `{}` of {} (branch `{}`)",
            args.path, sync.url, args.branch
        ));
    }
    Ok(if succeeded {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn push_remote(
    args: &BootstrapArgs,
    files: &[(String, String)],
    message: &str,
    printer: &Printer,
) -> anyhow::Result<()> {
    let credentials = match &args.secret_file {
        Some(path) => Credentials::from_secret_data(&read_secret(path)?)
            .with_context(|| format!("secret file {}", path.display()))?,
        None => Credentials::default(),
    };
    let source = GitSource::new(args.repo.clone())
        .with_ref(GitRef {
            branch: Some(args.branch.clone()),
            ..GitRef::default()
        })
        .with_credentials(credentials);
    let request = CommitRequest {
        branch: args.branch.clone(),
        base: None,
        changes: files
            .iter()
            .map(|(path, content)| Change {
                path: path.clone(),
                content: Some(content.clone().into_bytes()),
            })
            .collect(),
        author: Author {
            name: args.author_name.clone(),
            email: args.author_email.clone(),
        },
        message: message.to_owned(),
    };
    match commit_and_push(&source, &request)
        .with_context(|| format!("cannot push the manifests to {}", source.redacted_url()))?
    {
        Some(pushed) => printer.note(&format!("pushed {}", pushed.revision)),
        None => printer.note("the repository already has these manifests"),
    }
    Ok(())
}

/// Runs `git` in the working copy `dir`.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run `git {}` in {}", args.join(" "), dir.display()))?;
    if !output.status.success() {
        bail!(
            "`git {}` failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn origin_url(dir: &Path) -> anyhow::Result<String> {
    git(dir, &["remote", "get-url", "origin"]).with_context(|| {
        format!(
            "cannot tell the URL the operator should fetch: {} has no `origin`\n  hint: pass --url",
            dir.display()
        )
    })
}

fn commit_local(
    args: &BootstrapArgs,
    files: &[(String, String)],
    message: &str,
    printer: &Printer,
) -> anyhow::Result<()> {
    let dir = Path::new(&args.repo);
    for (path, content) in files {
        let file = dir.join(path);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&file, content)
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    let mut add = vec!["add", "--"];
    add.extend(files.iter().map(|(p, _)| p.as_str()));
    git(dir, &add)?;
    if git(dir, &["diff", "--cached", "--quiet"]).is_ok() {
        printer.note("the repository already has these manifests");
    } else {
        let author = format!("{} <{}>", args.author_name, args.author_email);
        git(
            dir,
            &[
                "-c",
                &format!("user.name={}", args.author_name),
                "-c",
                &format!("user.email={}", args.author_email),
                "commit",
                "--quiet",
                "--author",
                &author,
                "-m",
                message,
            ],
        )?;
        printer.note(&format!("committed {}", git(dir, &["rev-parse", "HEAD"])?));
    }
    if git(dir, &["remote", "get-url", "origin"]).is_ok() {
        git(
            dir,
            &[
                "push",
                "--quiet",
                "origin",
                &format!("HEAD:refs/heads/{}", args.branch),
            ],
        )?;
        printer.note(&format!("pushed to origin {}", args.branch));
    }
    Ok(())
}
