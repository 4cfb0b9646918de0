//! Command-line arguments: what the user typed, before any resolution.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// GitOps for Kubernetes: render what Git holds, order it, and apply it.
#[derive(Debug, Parser)]
#[command(name = "gitops", version, about, long_about = None, propagate_version = true)]
#[command(after_help = "Exit codes: 0 success, 1 invalid input or a failed check, 2 usage error.")]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
}

/// Flags every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Print more about what is happening (repeat for more detail)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = "Global options")]
    pub(crate) verbose: u8,
    /// Print only errors
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub(crate) quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Render a source into Kubernetes objects, in apply order
    ///
    /// PATH is a directory of plain manifests (every *.yaml, *.yml and *.json file below it,
    /// dotfiles skipped) or a single manifest file. The objects are printed on stdout as one
    /// multi-document YAML stream, or a JSON array with `-o json`; they are ordered for apply:
    /// CRDs and Namespaces first, then built-in kinds in Helm's order, then custom resources.
    Build(BuildArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The source to render: a directory or a manifest file
    pub(crate) path: PathBuf,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub(crate) output: OutputFormat,
}

/// How objects are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// A multi-document YAML stream, documents separated by `---`
    Yaml,
    /// A JSON array of objects
    Json,
}
