//! `gitops build`: render a source and print its objects in apply order.

use gitops_core::order;
use gitops_render::RenderOptions;

use super::ExitStatus;
use crate::cli::BuildArgs;
use crate::printer::Printer;

pub(crate) fn run(args: &BuildArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let mut objects = gitops_render::render(&args.path, &RenderOptions::default())?;
    order::sort_for_apply(&mut objects);
    tracing::info!(objects = objects.len(), path = %args.path.display(), "rendered");
    printer.objects(objects.iter().map(|o| &o.object), args.output)?;
    Ok(ExitStatus::Success)
}
