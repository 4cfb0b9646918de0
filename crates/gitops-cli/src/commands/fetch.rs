//! `gitops source fetch`: fetch a Git repository and write its artifact to a directory.

use gitops_core::git::Cache;

use super::ExitStatus;
use super::git_url::{cache_dir, git_source};
use crate::cli::SourceFetchArgs;
use crate::printer::Printer;

pub(crate) fn run(args: &SourceFetchArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let source = git_source(&args.url, &args.git, args.ignore.clone())?;
    let cache = Cache::new(cache_dir(&args.git).join("git"));
    let fetched = source.fetch(&cache)?;
    let artifact = source.export(&fetched, &args.out)?;
    tracing::info!(commit = %fetched.commit, files = artifact.files, "exported");
    printer.report(
        &[
            ("url", source.redacted_url().to_string()),
            ("revision", artifact.revision.clone()),
            ("digest", artifact.digest.clone()),
            ("path", artifact.path.display().to_string()),
            ("files", artifact.files.to_string()),
        ],
        args.output,
    )?;
    Ok(ExitStatus::Success)
}
