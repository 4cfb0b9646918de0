//! `gitops diff` and `gitops drift`: compare a source with the cluster through a server-side
//! dry run. Exit 0 in sync, 1 on drift, 2 on error (kubectl's convention).

use gitops_core::cluster;
use gitops_core::diff::{Drift, ObjectDiff};

use super::ExitStatus;
use super::source;
use crate::cli::{DiffArgs, DiffFormat};
use crate::printer::Printer;

/// Whether to print diffs (`diff`) or one line per drifted object (`drift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Diff,
    Drift,
}

pub(crate) fn run(args: &DiffArgs, mode: Mode, printer: &Printer) -> ExitStatus {
    match compare(args, mode, printer) {
        Ok(status) => status,
        Err(e) => {
            printer.error(&e);
            ExitStatus::Error
        }
    }
}

fn compare(args: &DiffArgs, mode: Mode, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let source = source::render(&args.source)?;
    let location = source::inventory(&args.cluster, &source)?;
    let options = source::apply_options(&args.cluster);
    let runtime = source::runtime()?;
    let (diffs, errors) = runtime.block_on(async {
        let discovery = source::connect(&args.cluster).await?;
        let inventory = location.load(&discovery).await?;
        anyhow::Ok(cluster::diff(&discovery, &source.objects, inventory.as_ref(), &options).await)
    })?;
    let drifted: Vec<&ObjectDiff> = diffs.iter().filter(|d| d.drift != Drift::InSync).collect();
    match args.output {
        DiffFormat::Json => {
            let text = serde_json::to_string_pretty(&drifted)?;
            printer.line(&text);
        }
        DiffFormat::Text => {
            for d in &drifted {
                match mode {
                    Mode::Diff => printer.diff(&d.diff),
                    Mode::Drift => printer.line(&format!("{} {}", d.object, d.drift)),
                }
            }
        }
    }
    for e in &errors {
        printer.error(&anyhow::anyhow!("{e}"));
    }
    let count = |k: Drift| drifted.iter().filter(|d| d.drift == k).count();
    printer.note(&format!(
        "{} objects: {} in sync, {} changed, {} missing, {} extra",
        diffs.len(),
        diffs.len() - drifted.len(),
        count(Drift::Changed),
        count(Drift::Missing),
        count(Drift::Extra)
    ));
    Ok(if !errors.is_empty() {
        ExitStatus::Error
    } else if drifted.is_empty() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}
