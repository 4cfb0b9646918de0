//! `gitops build`: render a source and print its objects in apply order.

use gitops_core::order;
use gitops_render::RenderOptions;

use super::ExitStatus;
use crate::cli::BuildArgs;
use crate::printer::Printer;

pub(crate) fn run(args: &BuildArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if let (Some(unit), Some(entry)) = (&args.unit, &args.repo_entry) {
        let mut objects = super::repo::render_unit(&args.path, entry, unit)?;
        order::sort_for_apply(&mut objects);
        printer.objects(objects.iter().map(|o| &o.object), args.output)?;
        return Ok(ExitStatus::Success);
    }
    let mut rendered = gitops_render::render(&args.path, &RenderOptions::default())?;
    if !rendered.has_tool_order() {
        order::sort_for_apply(&mut rendered.objects);
    }
    tracing::info!(objects = rendered.objects.len(), kind = %rendered.kind, path = %args.path.display(), "rendered");
    printer.objects(rendered.objects.iter().map(|o| &o.object), args.output)?;
    Ok(ExitStatus::Success)
}
