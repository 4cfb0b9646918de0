//! `gitops rollout`: simulate a rollout's timeline, render its provider objects; the commands
//! against a cluster are in [`super::rollouts`].

use std::path::Path;

use anyhow::{Context, bail};
use gitops_core::yaml::{self, Schema};
use gitops_rollout::Command;
use gitops_rollout::load::{self, Loaded};
use gitops_rollout::providers::{self, TrafficState};
use gitops_rollout::simulate::{self, Script};
use gitops_rollout::spec::ProviderKind;

use super::ExitStatus;
use crate::cli::{Provider, RenderArgs, RolloutCommand, SimulateArgs, TimelineFormat};
use crate::printer::Printer;

pub(crate) fn run(command: &RolloutCommand, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match command {
        RolloutCommand::Simulate(args) => simulate(args, printer),
        RolloutCommand::Render(args) => render(args, printer),
        RolloutCommand::Status(args) => super::rollouts::status(args, printer),
        RolloutCommand::Promote(args) => super::rollouts::command(args, Command::Promote, printer),
        RolloutCommand::Abort(args) => super::rollouts::command(args, Command::Abort, printer),
        RolloutCommand::Pause(args) => super::rollouts::command(args, Command::Pause, printer),
        RolloutCommand::Resume(args) => super::rollouts::command(args, Command::Resume, printer),
        RolloutCommand::Retry(args) => super::rollouts::command(args, Command::Retry, printer),
    }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// The rollout of `file` (the one named `name` when it holds several), warning about fields
/// its reader could not carry over.
fn rollout(file: &Path, name: Option<&str>, printer: &Printer) -> anyhow::Result<Loaded> {
    let text = read(file)?;
    let mut all = load::load_all(&text, Some(file))?;
    let loaded = match name {
        Some(name) => {
            let Some(i) = all.iter().position(|l| l.rollout.metadata.name == name) else {
                bail!(
                    "{}: no rollout named {name:?} (found {})",
                    file.display(),
                    names(&all)
                );
            };
            all.swap_remove(i)
        }
        None if all.len() == 1 => all.remove(0),
        None => bail!(
            "{}: holds {} rollouts ({}); choose one with --name",
            file.display(),
            all.len(),
            names(&all)
        ),
    };
    for u in &loaded.unsupported {
        printer.warning(&format!("{}: {u}", file.display()));
    }
    Ok(loaded)
}

fn names(all: &[Loaded]) -> String {
    all.iter()
        .map(|l| l.rollout.metadata.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn simulate(args: &SimulateArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let loaded = rollout(&args.file, args.name.as_deref(), printer)?;
    let path = &args.observations;
    let text = read(path)?;
    let value = yaml::parse_value(&text, Schema::Yaml12)
        .map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
    let script: Script = serde_path_to_error::deserialize(value).map_err(|e| {
        let pointer = gitops_rollout::readers::path_to_pointer(&e.path().to_string());
        let at = yaml::locate(&text, Schema::Yaml12, 0, &pointer)
            .map_or_else(String::new, |p| format!(":{p}"));
        anyhow::anyhow!("{}{at}: {}: {}", path.display(), e.path(), e.inner())
    })?;
    let timeline = simulate::simulate(&loaded.rollout, &script)
        .with_context(|| format!("{}: the rollout cannot run", args.file.display()))?;
    match args.output {
        TimelineFormat::Text => printer.data(&timeline.to_text())?,
        TimelineFormat::Json => {
            let mut text = serde_json::to_string_pretty(&timeline)?;
            text.push('\n');
            printer.data(&text)?;
        }
    }
    Ok(if timeline.status.phase == gitops_rollout::Phase::Healthy {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

fn render(args: &RenderArgs, printer: &Printer) -> anyhow::Result<ExitStatus> {
    let loaded = rollout(&args.file, args.name.as_deref(), printer)?;
    let rollout = &loaded.rollout;
    gitops_rollout::plan::Plan::build(rollout)
        .with_context(|| format!("{}: the rollout cannot run", args.file.display()))?;
    let state = TrafficState::for_weight(rollout, args.weight, args.header_route);
    let objects = match args.provider {
        None => providers::render(rollout, &state),
        Some(p) => providers::render_with(rollout, provider(p), &state),
    }
    .with_context(|| format!("{}: cannot render", args.file.display()))?;
    printer.objects(objects.iter(), args.output)?;
    Ok(ExitStatus::Success)
}

fn provider(p: Provider) -> ProviderKind {
    match p {
        Provider::Smi => ProviderKind::Smi,
        Provider::Gateway => ProviderKind::Gateway,
        Provider::Istio => ProviderKind::Istio,
        Provider::Nginx => ProviderKind::Nginx,
        Provider::Plain => ProviderKind::Plain,
    }
}
