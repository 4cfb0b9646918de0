//! One module per command; each turns parsed arguments into calls of the library crates.

mod build;
mod convert;
mod graph;
mod plan;
mod repo;
mod rollout;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::printer::Printer;

/// How a command ended, as the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ExitStatus {
    /// Everything worked.
    Success,
    /// Invalid input, drift, or a failed check.
    Failure,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> Self {
        match status {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
        }
    }
}

pub(crate) fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Build(args) => build::run(&args, printer),
        Command::Graph(args) => graph::run(&args, printer),
        Command::Plan(args) => plan::run(&args, printer),
        Command::Convert(args) => convert::run(&args, printer),
        Command::Rollout(command) => rollout::run(&command, printer),
    }
}
