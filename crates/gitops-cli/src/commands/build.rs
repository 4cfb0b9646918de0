//! `gitops build`: render a source and print its objects in apply order.

use gitops_core::order;
use gitops_render::RenderOptions;
use gitops_render::kustomize::{self, LoadRestrictor};

use super::ExitStatus;
use crate::cli::{BuildArgs, LoadRestrictorArg};
use crate::printer::Printer;

pub(crate) fn run(args: &BuildArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if let (Some(unit), Some(entry)) = (&args.unit, &args.repo_entry) {
        let mut objects = super::repo::render_unit(&args.path, entry, unit)?;
        order::sort_for_apply(&mut objects);
        printer.objects(objects.iter().map(|o| &o.object), args.output)?;
        return Ok(ExitStatus::Success);
    }
    let mut options = RenderOptions::default();
    options.kustomize =
        kustomize::Options::default().with_load_restrictor(match args.load_restrictor {
            LoadRestrictorArg::RootOnly => LoadRestrictor::RootOnly,
            LoadRestrictorArg::None => LoadRestrictor::None,
        });
    let mut rendered = gitops_render::render(&args.path, &options)?;
    if !rendered.has_tool_order() {
        order::sort_for_apply(&mut rendered.objects);
    }
    tracing::info!(objects = rendered.objects.len(), kind = %rendered.kind, path = %args.path.display(), "rendered");
    printer.objects(rendered.objects.iter().map(|o| &o.object), args.output)?;
    Ok(ExitStatus::Success)
}
