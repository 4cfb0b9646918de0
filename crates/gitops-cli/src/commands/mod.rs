//! One module per command; each turns parsed arguments into calls of the library crates.

mod apply;
mod bootstrap;
mod build;
mod chart_url;
mod convert;
mod diff;
mod fetch;
mod git_url;
mod graph;
mod install;
mod objects;
mod plan;
mod repo;
mod rollout;
mod rollouts;
mod source;

use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::{Cli, Command, GetCommand, SourceCommand};
use crate::printer::Printer;

/// How a command ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Everything worked.
    Success,
    /// Invalid input, drift, or a failed check.
    Failure,
    /// An error, for commands that keep exit code 1 for a finding (`diff`: 1 is drift, 2 an
    /// error, as kubectl does).
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

pub(crate) fn run(mut cli: Cli, printer: &Arc<Printer>) -> anyhow::Result<ExitStatus> {
    git_url::localize(&mut cli.command)?;
    if let Command::Build(args) = &mut cli.command {
        chart_url::localize(args)?;
    }
    match cli.command {
        Command::Build(args) => build::run(&args, printer),
        Command::Graph(args) => graph::run(&args, printer),
        Command::Plan(args) => plan::run(&args, printer),
        Command::Convert(args) => convert::run(&args, printer),
        Command::Rollout(command) => rollout::run(&command, printer),
        Command::Apply(args) => apply::run(&args, printer),
        Command::Diff(args) => Ok(diff::run(&args, diff::Mode::Diff, printer)),
        Command::Drift(args) => Ok(diff::run(&args, diff::Mode::Drift, printer)),
        Command::Source(SourceCommand::Fetch(args)) => fetch::run(&args, printer),
        Command::Install(args) => install::run(&args, printer),
        Command::Bootstrap(args) => bootstrap::run(&args, printer),
        Command::Get(GetCommand::Rollouts(args)) => rollouts::get(&args, printer),
        Command::Get(command) => objects::get(&command, printer),
        Command::Reconcile(command) => objects::reconcile(&command, printer),
        Command::Suspend(command) => objects::suspend(&command, printer, true),
        Command::Resume(command) => objects::suspend(&command, printer, false),
    }
}
