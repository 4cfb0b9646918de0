//! `gitops build`: render a source and print its objects in apply order. Helm charts print
//! what `helm template` prints (or the objects with `-o json`).

use gitops_core::order;
use gitops_render::helm::HelmOptions;
use gitops_render::kustomize::{self, LoadRestrictor};
use gitops_render::{RenderOptions, SourceKind};

use super::ExitStatus;
use crate::cli::{BuildArgs, LoadRestrictorArg, OutputFormat};
use crate::printer::Printer;

fn helm_options(args: &BuildArgs) -> HelmOptions {
    let mut o = HelmOptions::default();
    o.release_name.clone_from(&args.release_name);
    o.namespace.clone_from(&args.namespace);
    o.values_files.clone_from(&args.values);
    o.set.clone_from(&args.set);
    o.set_string.clone_from(&args.set_string);
    o.kube_version.clone_from(&args.kube_version);
    o.api_versions.clone_from(&args.api_versions);
    o.include_crds = args.include_crds;
    o
}

pub(crate) fn run(args: &BuildArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if let (Some(unit), Some(entry)) = (&args.unit, &args.repo_entry) {
        let mut objects = super::repo::render_unit(&args.path, entry, unit)?;
        order::sort_for_apply(&mut objects);
        printer.objects(objects.iter().map(|o| &o.object), args.output)?;
        return Ok(ExitStatus::Success);
    }
    let helm = helm_options(args);
    if args.output == OutputFormat::Yaml && gitops_render::detect(&args.path)? == SourceKind::Helm {
        let out = gitops_render::helm::render_chart(&args.path, &helm)?;
        tracing::info!(templates = out.templates.len(), path = %args.path.display(), "rendered Helm chart");
        printer.data(&out.text(helm.include_crds)?)?;
        return Ok(ExitStatus::Success);
    }
    let mut options = RenderOptions::default();
    options.kustomize =
        kustomize::Options::default().with_load_restrictor(match args.load_restrictor {
            LoadRestrictorArg::RootOnly => LoadRestrictor::RootOnly,
            LoadRestrictorArg::None => LoadRestrictor::None,
        });
    options.helm = helm;
    let mut rendered = gitops_render::render(&args.path, &options)?;
    if !rendered.has_tool_order() {
        order::sort_for_apply(&mut rendered.objects);
    }
    tracing::info!(objects = rendered.objects.len(), kind = %rendered.kind, path = %args.path.display(), "rendered");
    printer.objects(rendered.objects.iter().map(|o| &o.object), args.output)?;
    Ok(ExitStatus::Success)
}
