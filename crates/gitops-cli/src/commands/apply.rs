//! `gitops apply`: render a source, apply it with server-side apply, record the inventory,
//! prune and wait.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use gitops_core::cluster::{self, OnChange, SyncOptions, WaitOutcome};

use super::ExitStatus;
use super::source;
use crate::cli::ApplyArgs;
use crate::printer::Printer;

pub(crate) fn run(args: &ApplyArgs, printer: &Arc<Printer>) -> anyhow::Result<ExitStatus> {
    let source = source::render(&args.source)?;
    let location = source::inventory(&args.cluster, &source)?;
    let total = source.objects.len();
    let mut apply = source::apply_options(&args.cluster);
    apply.force = args.force;
    apply.dry_run = args.dry_run;
    apply.timeout = args.timeout;
    let done = Arc::new(AtomicUsize::new(0));
    let suffix = if args.dry_run {
        " (server dry run)"
    } else {
        ""
    };
    let on_change: OnChange = {
        let printer = Arc::clone(printer);
        let done = Arc::clone(&done);
        let suffix = suffix.to_owned();
        Arc::new(move |change| {
            let n = done.fetch_add(1, Ordering::Relaxed) + 1;
            printer.line(&format!("{change}{suffix}"));
            printer.progress(&format!("applied {n}/{total}"));
        })
    };
    apply.on_change = Some(on_change);
    let options = SyncOptions {
        apply,
        prune: args.prune,
        allow_empty: args.allow_empty,
        inventory: Some(location.clone()),
        wait: args.wait.then_some(args.timeout),
    };
    let runtime = source::runtime()?;
    let report = runtime.block_on(async {
        let discovery = source::connect(&args.cluster).await?;
        anyhow::Ok(cluster::sync(&discovery, source.objects, &options).await)
    })?;
    for e in &report.errors {
        printer.error(&anyhow::Error::new(clone_error(e)));
    }
    printer.note(&format!(
        "apply {}: {}{suffix}",
        location.name.trim_start_matches("gitops-inventory-"),
        report.changes.summary()
    ));
    if let Some(wait) = &report.wait {
        for o in wait.not_ready() {
            printer.line(&format!(
                "{} {}: {}",
                o.object, o.health.status, o.health.message
            ));
        }
        let secs = wait.elapsed.as_secs_f64();
        match wait.outcome {
            WaitOutcome::Ready => printer.note(&format!(
                "all {} objects are Current after {secs:.1}s",
                wait.objects.len()
            )),
            WaitOutcome::Failed => printer.note(&format!("an object Failed after {secs:.1}s")),
            WaitOutcome::TimedOut => printer.note(&format!(
                "timed out after {secs:.1}s with {} objects not Current",
                wait.not_ready().count()
            )),
        }
    }
    Ok(if report.succeeded() {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// Errors are printed by message; the report keeps the originals.
fn clone_error(e: &cluster::Error) -> MessageError {
    MessageError(e.to_string())
}

#[derive(Debug)]
struct MessageError(String);

impl std::fmt::Display for MessageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MessageError {}
