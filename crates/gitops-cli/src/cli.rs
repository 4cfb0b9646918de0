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
    /// dotfiles skipped), a single manifest file, a directory with *.jsonnet files at its top
    /// (read as Argo CD reads it: every top-level .jsonnet and manifest file; .libsonnet files
    /// are only imported) or a single .jsonnet file. The objects are printed on stdout as one
    /// multi-document YAML stream, or a JSON array with `-o json`; they are ordered for apply:
    /// CRDs and Namespaces first, then built-in kinds in Helm's order, then custom resources.
    ///
    /// The unit options apply what a Flux Kustomization adds on top of its path: a target
    /// namespace, name prefix and suffix, and post-build variable substitution (`${var}`,
    /// `${var:=default}`, ... with Flux's rules).
    Build(BuildArgs),
    /// Show the units of a GitOps repository and how they depend on each other
    ///
    /// Starting at PATH inside REPO (what `flux bootstrap --path` names), every Flux
    /// Kustomization and HelmRelease, Argo CD Application and gitops.rs unit is found, following
    /// unit paths in the same repository. Prints units, edges (dependsOn, sync waves, and which
    /// unit declares which) and the levels in which they can be reconciled.
    Graph(GraphArgs),
    /// Show what every unit of a repository will apply, in dependency order
    ///
    /// For each unit, level by level: its rendered objects in apply order with their stage, and
    /// counts per kind. A unit that fails to render is reported and the rest of the plan is still
    /// shown; the exit code is 1 if anything failed.
    Plan(PlanArgs),
    /// Convert Flux objects to gitops.rs ones, or back
    ///
    /// Flux GitRepository, Kustomization and HelmRelease objects (any served version) become
    /// `gitops.rs/v1alpha1` objects with the same spec (fields Flux v1 dropped are migrated);
    /// other objects pass through unchanged. Comments are not kept.
    Convert(ConvertArgs),
}

/// Where a repository is and how to read it.
#[derive(Debug, Args)]
pub(crate) struct RepoArgs {
    /// The repository: a directory
    pub(crate) repo: PathBuf,
    /// The entry path inside the repository, as given to `flux bootstrap --path`
    #[arg(long = "path", default_value = ".", value_name = "PATH")]
    pub(crate) entry: String,
    /// Map a source that is not this repository to a local directory (by GitRepository name or
    /// Argo CD repoURL)
    #[arg(long = "source", value_name = "NAME=DIR", value_parser = parse_key_value)]
    pub(crate) sources: Vec<(String, PathBuf)>,
}

fn parse_key_value(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_owned(), PathBuf::from(v))),
        _ => Err(format!("expected NAME=DIR, found `{s}`")),
    }
}

#[derive(Debug, Args)]
pub(crate) struct GraphArgs {
    #[command(flatten)]
    pub(crate) repo: RepoArgs,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = GraphFormat::Text)]
    pub(crate) output: GraphFormat,
}

/// How a unit graph is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    /// Units by level, with their kind, source and path, then the edges
    Text,
    /// Units, edges, levels and errors as JSON
    Json,
    /// Graphviz DOT (render with `dot -Tpng`)
    Dot,
    /// A Mermaid flowchart
    Mermaid,
}

#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    #[command(flatten)]
    pub(crate) repo: RepoArgs,
    /// Only this unit and what it depends on (`NAME`, `NAMESPACE/NAME` or `KIND/NAMESPACE/NAME`)
    #[arg(long)]
    pub(crate) unit: Option<String>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = PlanFormat::Text)]
    pub(crate) output: PlanFormat,
}

/// How a plan is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum PlanFormat {
    /// Units by level with their objects and a summary
    Text,
    /// The whole plan as JSON
    Json,
}

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// The YAML file to convert
    pub(crate) file: PathBuf,
    /// Which API family to convert to
    #[arg(long, value_enum, default_value_t = ConvertTarget::Gitops)]
    pub(crate) to: ConvertTarget,
}

/// The API family `convert` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConvertTarget {
    /// `gitops.rs/v1alpha1`
    Gitops,
    /// Flux's `source.toolkit.fluxcd.io/v1`, `kustomize.toolkit.fluxcd.io/v1`, `helm.toolkit.fluxcd.io/v2`
    Flux,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The source to render: a directory or a manifest file
    pub(crate) path: PathBuf,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub(crate) output: OutputFormat,
    /// Treat PATH as a repository and render one of its units, as it would be applied
    #[arg(long, value_name = "NAME", requires = "repo_entry")]
    pub(crate) unit: Option<String>,
    /// With `--unit`: the entry path inside the repository
    #[arg(long = "path", id = "repo_entry", value_name = "ENTRY")]
    pub(crate) repo_entry: Option<String>,
    /// Which files a kustomization may read: `root-only` (files in or below its own directory,
    /// kustomize's default) or `none` (any local file)
    #[arg(long, value_enum, default_value_t = LoadRestrictorArg::RootOnly)]
    pub(crate) load_restrictor: LoadRestrictorArg,
    #[command(flatten)]
    pub(crate) jsonnet: JsonnetArgs,
    #[command(flatten)]
    pub(crate) overlay: UnitArgs,
}

/// `--load-restrictor` values, as kustomize names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LoadRestrictorArg {
    /// Only files in or below the kustomization's directory
    RootOnly,
    /// Any local file
    None,
}

/// The knobs of `jsonnet` that Argo CD exposes.
#[derive(Debug, Args)]
#[command(next_help_heading = "Jsonnet")]
pub(crate) struct JsonnetArgs {
    /// Set an external variable to a string; `KEY` alone takes the value of the environment
    /// variable KEY (repeatable)
    #[arg(long = "ext-str", value_name = "KEY[=VALUE]")]
    pub(crate) ext_str: Vec<String>,
    /// Set an external variable to Jsonnet code (repeatable)
    #[arg(long = "ext-code", value_name = "KEY=CODE")]
    pub(crate) ext_code: Vec<String>,
    /// Pass a top-level argument as a string; `KEY` alone takes the environment variable
    /// (repeatable)
    #[arg(long = "tla-str", value_name = "KEY[=VALUE]")]
    pub(crate) tla_str: Vec<String>,
    /// Pass a top-level argument as Jsonnet code (repeatable)
    #[arg(long = "tla-code", value_name = "KEY=CODE")]
    pub(crate) tla_code: Vec<String>,
    /// Add a library search path; the last one given is searched first (repeatable)
    #[arg(short = 'J', long = "jpath", value_name = "DIR")]
    pub(crate) jpath: Vec<PathBuf>,
}

/// What a Flux Kustomization adds on top of its path.
#[derive(Debug, Args)]
#[command(next_help_heading = "Unit (Flux Kustomization) options")]
pub(crate) struct UnitArgs {
    /// Set the namespace of every namespaced object
    #[arg(long, value_name = "NS")]
    pub(crate) target_namespace: Option<String>,
    /// Prefix the name of every object
    #[arg(long, value_name = "PREFIX")]
    pub(crate) name_prefix: Option<String>,
    /// Suffix the name of every object
    #[arg(long, value_name = "SUFFIX")]
    pub(crate) name_suffix: Option<String>,
    /// Substitute ${KEY} with VALUE after the build; wins over --substitute-from-file
    /// (repeatable)
    #[arg(long, value_name = "KEY=VALUE")]
    pub(crate) substitute: Vec<String>,
    /// Read substitution variables from a .env file (KEY=VALUE lines); later files win
    /// (repeatable)
    #[arg(long, value_name = "FILE")]
    pub(crate) substitute_from_file: Vec<PathBuf>,
    /// Fail when a ${var} without a default has no value
    #[arg(long)]
    pub(crate) strict_substitute: bool,
}

/// How objects are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    /// A multi-document YAML stream, documents separated by `---`
    Yaml,
    /// A JSON array of objects
    Json,
}
