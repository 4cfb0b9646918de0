//! `gitops build`: render a source as a unit (a Flux Kustomization's path with its overlay and
//! post-build substitution) and print its objects in apply order. A Helm chart with no overlay
//! prints what `helm template` prints (or the objects with `-o json`).

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use gitops_core::order;
use gitops_render::helm::{HelmError, HelmOptions};
use gitops_render::jsonnet::{ExtValue, JsonnetOptions};
use gitops_render::kustomize::{self, LoadRestrictor};
use gitops_render::substitute::{self, VariableSource};
use gitops_render::unit::{self, UnitSpec};
use gitops_render::{RenderOptions, SourceKind};

use super::ExitStatus;
use crate::cli::{BuildArgs, JsonnetArgs, LoadRestrictorArg, OutputFormat, UnitArgs};
use crate::printer::Printer;

fn helm_options(args: &BuildArgs) -> anyhow::Result<HelmOptions> {
    let mut o = HelmOptions::default();
    o.release_name = match &args.name_template {
        Some(t) => gitops_render::helm::render_name_template(t)?,
        None => args.release_name.clone(),
    };
    o.namespace.clone_from(&args.namespace);
    o.values_files.clone_from(&args.values);
    o.set.clone_from(&args.set);
    o.set_string.clone_from(&args.set_string);
    o.kube_version.clone_from(&args.kube_version);
    o.api_versions.clone_from(&args.api_versions);
    o.include_crds = args.include_crds;
    o.skip_tests = args.skip_tests;
    o.show_only.clone_from(&args.show_only);
    Ok(o)
}

pub(crate) fn run(args: &BuildArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    if let (Some(unit), Some(entry)) = (&args.unit, &args.repo_entry) {
        let mut objects = super::repo::render_unit(&args.path, entry, unit)?;
        order::sort_for_apply(&mut objects);
        printer.objects(objects.iter().map(|o| &o.object), args.output)?;
        return Ok(ExitStatus::Success);
    }
    let helm = helm_options(args)?;
    let spec = unit_spec(&args.overlay)?;
    if args.output == OutputFormat::Yaml
        && spec == UnitSpec::default()
        && gitops_render::detect(&args.path)? == SourceKind::Helm
    {
        let out = gitops_render::helm::render_chart(&args.path, &helm)?;
        tracing::info!(templates = out.templates.len(), path = %args.path.display(), "rendered Helm chart");
        match out.template_text(&helm) {
            Ok(text) => printer.data(&text)?,
            Err(HelmError::Yaml { message }) if args.debug => {
                // As `helm template --debug`: the rendered text, then the error.
                printer.data(&out.debug_text())?;
                anyhow::bail!("{message}");
            }
            Err(HelmError::Yaml { message }) => {
                anyhow::bail!("{message}\n\nUse --debug flag to render out invalid YAML");
            }
            Err(e) => return Err(e.into()),
        }
        return Ok(ExitStatus::Success);
    }
    let mut options = RenderOptions::default();
    options.kustomize =
        kustomize::Options::default().with_load_restrictor(match args.load_restrictor {
            LoadRestrictorArg::RootOnly => LoadRestrictor::RootOnly,
            LoadRestrictorArg::None => LoadRestrictor::None,
        });
    options.helm = helm;
    options.jsonnet = jsonnet_options(&args.jsonnet)?;
    options.root = match (&args.source_root, args.load_restrictor) {
        (Some(root), _) => Some(root.clone()),
        (None, LoadRestrictorArg::RootOnly) => work_tree_of(&args.path),
        (None, LoadRestrictorArg::None) => None,
    };
    let mut rendered = unit::render_path(&args.path, &spec, &options)?;
    if !rendered.has_tool_order() {
        order::sort_for_apply(&mut rendered.objects);
    }
    tracing::info!(objects = rendered.objects.len(), kind = %rendered.kind, path = %args.path.display(), "rendered");
    printer.objects(rendered.objects.iter().map(|o| &o.object), args.output)?;
    Ok(ExitStatus::Success)
}

/// The top of the Git work tree holding `path`, the repository a CI job checked out: nothing a
/// build reads may come from outside it. `None` outside any work tree (each source then keeps
/// to its own directory).
pub(crate) fn work_tree_of(path: &std::path::Path) -> Option<std::path::PathBuf> {
    let start = std::fs::canonicalize(path).ok()?;
    start
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map(std::path::Path::to_path_buf)
}

fn jsonnet_options(args: &JsonnetArgs) -> anyhow::Result<JsonnetOptions> {
    let mut options = JsonnetOptions::default();
    for flag in &args.ext_str {
        let (key, value) = key_value_or_env(flag, "--ext-str")?;
        options.ext_vars.insert(key, ExtValue::Str(value));
    }
    for flag in &args.ext_code {
        let (key, value) = key_value(flag, "--ext-code")?;
        options.ext_vars.insert(key, ExtValue::Code(value));
    }
    for flag in &args.tla_str {
        let (key, value) = key_value_or_env(flag, "--tla-str")?;
        options.tlas.insert(key, ExtValue::Str(value));
    }
    for flag in &args.tla_code {
        let (key, value) = key_value(flag, "--tla-code")?;
        options.tlas.insert(key, ExtValue::Code(value));
    }
    options.library_paths.clone_from(&args.jpath);
    Ok(options)
}

fn unit_spec(args: &UnitArgs) -> anyhow::Result<UnitSpec> {
    let mut spec = UnitSpec::default();
    spec.target_namespace.clone_from(&args.target_namespace);
    spec.name_prefix.clone_from(&args.name_prefix);
    spec.name_suffix.clone_from(&args.name_suffix);
    for file in &args.substitute_from_file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        spec.post_build.substitute_from.push(VariableSource {
            kind: "file".to_owned(),
            name: file.display().to_string(),
            data: substitute::parse_env(&text, file)?,
        });
    }
    let mut inline = BTreeMap::new();
    for flag in &args.substitute {
        let (key, value) = key_value(flag, "--substitute")?;
        inline.insert(key, value);
    }
    spec.post_build.substitute = inline;
    spec.post_build.strict = args.strict_substitute;
    Ok(spec)
}

fn key_value(flag: &str, name: &str) -> anyhow::Result<(String, String)> {
    match flag.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => bail!("{name} expects KEY=VALUE, found `{flag}`"),
    }
}

/// `KEY=VALUE`, or `KEY` alone for the environment variable KEY (as `jsonnet --ext-str` does).
fn key_value_or_env(flag: &str, name: &str) -> anyhow::Result<(String, String)> {
    if flag.contains('=') {
        return key_value(flag, name);
    }
    let value = std::env::var(flag)
        .with_context(|| format!("{name} `{flag}`: no `=` and no environment variable `{flag}`"))?;
    Ok((flag.to_owned(), value))
}
