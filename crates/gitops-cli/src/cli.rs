//! Command-line arguments: what the user typed, before any resolution.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// GitOps for Kubernetes: render what Git holds, order it, and apply it.
#[derive(Debug, Parser)]
#[command(name = "gitops", version, about, long_about = None, propagate_version = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 invalid input or a failed check (for diff: drift), 2 usage error (for diff: any error)."
)]
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
    /// PATH is a kustomization (built as `kustomize build` does), a Helm chart (printed as
    /// `helm template` prints it), a directory of plain manifests (every *.yaml, *.yml and
    /// *.json file below it, dotfiles skipped), a single manifest file, a directory with
    /// *.jsonnet files at its top
    /// (read as Argo CD reads it: every top-level .jsonnet and manifest file; .libsonnet files
    /// are only imported) or a single .jsonnet file. The objects are printed on stdout as one
    /// multi-document YAML stream, or a JSON array with `-o json`; they are ordered for apply:
    /// CRDs and Namespaces first, then built-in kinds in Helm's order, then custom resources.
    ///
    /// The unit options apply what a Flux Kustomization adds on top of its path: a target
    /// namespace, name prefix and suffix, and post-build variable substitution (`${var}`,
    /// `${var:=default}`, ... with Flux's rules).
    Build(Box<BuildArgs>),
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
    /// Progressive delivery: simulate a rollout's timeline, render its traffic objects
    ///
    /// FILE holds a gitops.rs/v1alpha1 Rollout, a Flagger flagger.app/v1beta1 Canary or an Argo
    /// argoproj.io/v1alpha1 Rollout (with its AnalysisTemplates); fields the spec cannot express
    /// are listed as warnings on stderr.
    #[command(subcommand)]
    Rollout(RolloutCommand),
    /// Render a source and apply it to a cluster with server-side apply
    ///
    /// Objects are applied in stages: CRDs, Namespaces and ClusterRoles first (waiting until CRDs
    /// are Established and Namespaces Active), then `*Class` kinds, then the rest in apply order.
    /// The applied set is recorded in an inventory ConfigMap, so that `--prune` can delete what
    /// left the source. Prints one line per object: created, configured, unchanged, deleted or
    /// skipped.
    Apply(ApplyArgs),
    /// Show how the cluster differs from a source (server-side dry run), as a unified YAML diff
    ///
    /// Exits 0 when in sync, 1 when there is drift, 2 on error (kubectl's convention).
    Diff(DiffArgs),
    /// List the objects of a source that are missing, changed or extra in the cluster
    ///
    /// Extra objects are those in the unit's inventory that the source no longer has. Exits 0
    /// when in sync, 1 when there is drift, 2 on error.
    Drift(DiffArgs),
    /// Fetch and inspect sources
    #[command(subcommand)]
    Source(SourceCommand),
    /// Install the operator in a cluster, or print its manifests
    ///
    /// The manifests are the gitops.rs CRDs, the `gitops-system` Namespace, the operator's
    /// ServiceAccount, ClusterRoles and bindings (bound to `cluster-admin`, as Flux's
    /// kustomize-controller, since units may apply any kind), a Service and the Deployment.
    /// Without `--export` they are applied with server-side apply, CRDs first (waiting until
    /// they are Established).
    Install(InstallArgs),
    /// Install the operator and make it manage a directory of a Git repository, itself included
    ///
    /// Writes `P/gitops-system/install.yaml` (the manifests of `gitops install --export`) and
    /// `P/gitops-system/sync.yaml` (a GitRepository following the branch and a Kustomization
    /// reconciling P) into the repository, commits and pushes them, then installs the operator
    /// and applies sync.yaml. From then on, changes to P in Git reach the cluster.
    Bootstrap(BootstrapArgs),
    /// List the operator's units or sources with their revision and readiness
    #[command(subcommand)]
    Get(GetCommand),
    /// Ask the operator to reconcile an object now, and wait until it has
    ///
    /// Writes the `reconcile.gitops.rs/requestedAt` annotation, then waits until the object's
    /// `status.lastHandledReconcileAt` equals it: exits 0 with the revision when the object is
    /// Ready, 1 with the Ready message when it is not.
    #[command(subcommand)]
    Reconcile(ReconcileCommand),
    /// Stop the operator from reconciling an object (`spec.suspend: true`)
    #[command(subcommand)]
    Suspend(SuspendCommand),
    /// Let the operator reconcile an object again, and request a reconciliation now
    #[command(subcommand)]
    Resume(SuspendCommand),
}

#[derive(Debug, Args)]
pub(crate) struct BootstrapArgs {
    /// The repository: a Git URL (committed and pushed there) or a local working copy
    /// (committed there, and pushed to its `origin` when it has one)
    #[arg(long, value_name = "DIR_OR_URL")]
    pub(crate) repo: String,
    /// The directory of the repository the operator reconciles
    #[arg(long, value_name = "P")]
    pub(crate) path: String,
    /// The branch to commit to and to follow
    #[arg(long, value_name = "B", default_value = "main")]
    pub(crate) branch: String,
    /// The URL the operator fetches [default: --repo when it is a URL, else the working copy's
    /// `origin`]
    #[arg(long, value_name = "URL")]
    pub(crate) url: Option<String>,
    /// Namespace of the operator
    #[arg(long, value_name = "NS", default_value = "gitops-system")]
    pub(crate) namespace: String,
    /// The operator's image [default: ghcr.io/gitops-rs/gitops-operator:<this version>]
    #[arg(long, value_name = "IMAGE")]
    pub(crate) image: Option<String>,
    /// A Kubernetes Secret (YAML or JSON) with the credentials to push: username, password,
    /// bearerToken, ca.crt, identity, known_hosts
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_file: Option<PathBuf>,
    /// Author of the commit
    #[arg(long, value_name = "NAME", default_value = "gitops")]
    pub(crate) author_name: String,
    /// E-mail of the commit's author
    #[arg(long, value_name = "EMAIL", default_value = "gitops@localhost")]
    pub(crate) author_email: String,
    /// How long to wait for the CRDs to be Established
    #[arg(long, value_name = "D", default_value = "2m", value_parser = parse_duration)]
    pub(crate) timeout: std::time::Duration,
    #[command(flatten)]
    pub(crate) kube: KubeArgs,
}

/// `gitops get …`
#[derive(Debug, Subcommand)]
pub(crate) enum GetCommand {
    /// Kustomizations and HelmReleases: revision applied, suspended, Ready and its message
    Units(GetArgs),
    /// GitRepositories: artifact revision, suspended, Ready and its message
    Sources(GetArgs),
    /// Rollouts: phase, canary weight, step, stable and canary revisions, message
    Rollouts(GetArgs),
}

#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// Namespace to list
    #[arg(short, long, value_name = "NS", default_value = "gitops-system")]
    pub(crate) namespace: String,
    /// List every namespace (adds a NAMESPACE column)
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub(crate) all_namespaces: bool,
    /// Keep listing: print the table again whenever a row changes (until interrupted)
    #[arg(short, long)]
    pub(crate) watch: bool,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = TableFormat::Table)]
    pub(crate) output: TableFormat,
    #[command(flatten)]
    pub(crate) kube: KubeArgs,
}

/// How `gitops get` prints its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TableFormat {
    /// An aligned table, as `flux get` prints it
    Table,
    /// A JSON array, one object per row
    Json,
}

/// `gitops reconcile …`
#[derive(Debug, Subcommand)]
pub(crate) enum ReconcileCommand {
    /// A Kustomization or HelmRelease (`NAME`, or `kustomization/NAME`, `helmrelease/NAME`)
    Unit(ReconcileUnitArgs),
    /// A GitRepository
    Source(ReconcileArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ReconcileArgs {
    #[command(flatten)]
    pub(crate) object: ObjectArgs,
    /// How long to wait for the operator
    #[arg(long, value_name = "D", default_value = "5m", value_parser = parse_duration)]
    pub(crate) timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub(crate) struct ReconcileUnitArgs {
    #[command(flatten)]
    pub(crate) reconcile: ReconcileArgs,
    /// Reconcile the unit's source first (fetch the latest revision), then the unit
    #[arg(long)]
    pub(crate) with_source: bool,
}

/// `gitops suspend …` and `gitops resume …`
#[derive(Debug, Subcommand)]
pub(crate) enum SuspendCommand {
    /// A Kustomization or HelmRelease (`NAME`, or `kustomization/NAME`, `helmrelease/NAME`)
    Unit(ObjectArgs),
    /// A GitRepository
    Source(ObjectArgs),
}

/// One of the operator's objects.
#[derive(Debug, Args)]
pub(crate) struct ObjectArgs {
    /// The object's name
    pub(crate) name: String,
    /// Its namespace
    #[arg(short, long, value_name = "NS", default_value = "gitops-system")]
    pub(crate) namespace: String,
    #[command(flatten)]
    pub(crate) kube: KubeArgs,
}

/// How to reach the cluster, for commands that read and change operator objects.
#[derive(Debug, Args)]
pub(crate) struct KubeArgs {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)
    #[arg(long, value_name = "FILE")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use
    #[arg(long, value_name = "NAME")]
    pub(crate) context: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
    /// Print the manifests as YAML instead of applying them
    #[arg(long)]
    pub(crate) export: bool,
    /// Namespace of the operator
    #[arg(long, value_name = "NS", default_value = "gitops-system")]
    pub(crate) namespace: String,
    /// The operator's image [default: ghcr.io/gitops-rs/gitops-operator:<this version>]
    #[arg(long, value_name = "IMAGE")]
    pub(crate) image: Option<String>,
    /// How long to wait for the CRDs to be Established
    #[arg(long, value_name = "D", default_value = "2m", value_parser = parse_duration)]
    pub(crate) timeout: std::time::Duration,
    #[command(flatten)]
    pub(crate) kube: KubeArgs,
}

/// `gitops source …`
#[derive(Debug, Subcommand)]
pub(crate) enum SourceCommand {
    /// Fetch a Git repository and write its artifact to a directory
    ///
    /// Resolves the reference (default: the remote's default branch), fetches the commit
    /// (shallow, into a per-URL cache for fast incremental fetches), and writes its tree to DIR
    /// without ignored files (.sourceignore files, --ignore, Flux's default exclusions). Prints
    /// the revision (`main@sha1:<hex>`) and the sha256 digest of the artifact.
    Fetch(SourceFetchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct SourceFetchArgs {
    /// The repository: https://, http://, git://, ssh://, file:// URL or a local path
    pub(crate) url: String,
    #[command(flatten)]
    pub(crate) git: GitArgs,
    /// Ignore patterns (gitignore syntax, one per line); they replace Flux's default exclusions
    #[arg(long, value_name = "PATTERNS")]
    pub(crate) ignore: Option<String>,
    /// Where to write the artifact (created; must be empty)
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = ReportFormat::Text)]
    pub(crate) output: ReportFormat,
}

/// How a Git source is fetched: reference, credentials, cache. Unused for local paths.
#[derive(Debug, Clone, Default, Args)]
pub(crate) struct GitArgs {
    /// Branch to check out
    #[arg(long, help_heading = "Git source")]
    pub(crate) branch: Option<String>,
    /// Tag to check out
    #[arg(long, help_heading = "Git source")]
    pub(crate) tag: Option<String>,
    /// Semver range over the tags; the highest matching version is checked out
    #[arg(long, help_heading = "Git source", value_name = "RANGE")]
    pub(crate) semver: Option<String>,
    /// Full reference name (refs/heads/main, refs/pull/1/head)
    #[arg(long = "ref", help_heading = "Git source", value_name = "NAME")]
    pub(crate) ref_name: Option<String>,
    /// Commit to check out (40 hex digits); with --branch the revision is named after it
    #[arg(long, help_heading = "Git source")]
    pub(crate) commit: Option<String>,
    /// A Kubernetes Secret (YAML or JSON) with Flux's keys: username, password, bearerToken,
    /// ca.crt, identity, known_hosts
    #[arg(long, help_heading = "Git source", value_name = "FILE")]
    pub(crate) secret_file: Option<PathBuf>,
    /// Cache directory for fetched repositories [default: $GITOPS_CACHE_DIR, else
    /// $XDG_CACHE_HOME/gitops, else ~/.cache/gitops]
    #[arg(long, help_heading = "Git source", value_name = "DIR")]
    pub(crate) cache_dir: Option<PathBuf>,
    /// Allow sending credentials over plain http:// (they travel in clear text)
    #[arg(long, help_heading = "Git source")]
    pub(crate) allow_insecure_http: bool,
    /// Give up a fetch attempt after this long (two retries follow network failures)
    #[arg(long, help_heading = "Git source", value_name = "D", default_value = "60s", value_parser = parse_duration)]
    pub(crate) fetch_timeout: std::time::Duration,
}

/// How a report (not objects) is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// `key: value` lines
    Text,
    /// One JSON object
    Json,
}

/// Where a repository is and how to read it.
#[derive(Debug, Args)]
pub(crate) struct RepoArgs {
    /// The repository: a directory or a Git URL (https://, http://, git://, ssh://, file://)
    pub(crate) repo: PathBuf,
    #[command(flatten)]
    pub(crate) git: GitArgs,
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

#[derive(Debug, Subcommand)]
pub(crate) enum RolloutCommand {
    /// Print the step-by-step timeline of a rollout against scripted observations
    ///
    /// OBS.yaml scripts the cluster: `stable` (the running revision, default v1), `replicas`
    /// (default 4), `analysis` (results of the analysis runs in the order they start:
    /// Successful, Failed, Inconclusive, Error or Running; Successful when the list is used up),
    /// `until` (seconds, default one day) and `events`, each with `at` (seconds) and any of
    /// `revision`, `canaryReady`, `stableReady` and `commands` (promote, abort, retry, pause,
    /// resume, skipAnalysis). Exit code 0 when the rollout ends Healthy, 1 otherwise.
    Simulate(SimulateArgs),
    /// Print the traffic provider's objects for a canary weight
    Render(RenderArgs),
    /// Show a Rollout in the cluster: phase, step, weights, revisions, analysis
    Status(RolloutStatusArgs),
    /// Go past a pause, an inconclusive analysis or the blue-green gate
    Promote(RolloutObjectArgs),
    /// Stop the rollout: all traffic back to the stable revision
    Abort(RolloutObjectArgs),
    /// Hold the rollout where it is
    Pause(RolloutObjectArgs),
    /// Undo `pause`; measure an inconclusive analysis again
    Resume(RolloutObjectArgs),
    /// Start an aborted or rolled-back revision again from step 0
    Retry(RolloutObjectArgs),
}

/// A Rollout in the cluster.
#[derive(Debug, Args)]
pub(crate) struct RolloutObjectArgs {
    /// The Rollout's name
    pub(crate) name: String,
    /// Its namespace
    #[arg(short, long, value_name = "NS", default_value = "default")]
    pub(crate) namespace: String,
    /// How long to wait for the operator to take the command
    #[arg(long, value_name = "D", default_value = "1m", value_parser = parse_duration)]
    pub(crate) timeout: std::time::Duration,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = TimelineFormat::Text)]
    pub(crate) output: TimelineFormat,
    #[command(flatten)]
    pub(crate) kube: KubeArgs,
}

#[derive(Debug, Args)]
pub(crate) struct RolloutStatusArgs {
    #[command(flatten)]
    pub(crate) object: RolloutObjectArgs,
    /// Keep printing whenever the status changes (until interrupted)
    #[arg(short, long)]
    pub(crate) watch: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SimulateArgs {
    /// The rollout
    pub(crate) file: PathBuf,
    /// The scripted observations
    #[arg(long, value_name = "OBS.yaml")]
    pub(crate) observations: PathBuf,
    /// Which rollout of FILE, when it holds several
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = TimelineFormat::Text)]
    pub(crate) output: TimelineFormat,
}

#[derive(Debug, Args)]
pub(crate) struct RenderArgs {
    /// The rollout
    pub(crate) file: PathBuf,
    /// Percentage of traffic to the canary (blue-green: 100 switches the active service)
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub(crate) weight: u8,
    /// The provider; default the rollout's trafficRouting (plain when none)
    #[arg(long, value_enum)]
    pub(crate) provider: Option<Provider>,
    /// Add the strategy's header route (A/B match rules, or the first setHeaderRoute step)
    #[arg(long)]
    pub(crate) header_route: bool,
    /// Which rollout of FILE, when it holds several
    #[arg(long)]
    pub(crate) name: Option<String>,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub(crate) output: OutputFormat,
}

/// How a timeline is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum TimelineFormat {
    /// One line per machine call, actions indented below
    Text,
    /// The timeline as JSON
    Json,
}

/// Traffic providers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Provider {
    /// SMI TrafficSplit (Linkerd)
    Smi,
    /// Gateway API HTTPRoute
    Gateway,
    /// Istio VirtualService and DestinationRule
    Istio,
    /// NGINX Ingress canary annotations
    Nginx,
    /// Plain Kubernetes Services
    Plain,
}

/// What to render: a directory (or a repository with `--path`).
#[derive(Debug, Args)]
pub(crate) struct SourceArgs {
    /// The source: a directory, a manifest file or a Git URL (https://, http://, git://, ssh://,
    /// file://; `--path` then names the directory inside the repository)
    pub(crate) source: String,
    #[command(flatten)]
    pub(crate) git: GitArgs,
    /// Directory inside SOURCE to render
    #[arg(long, value_name = "P")]
    pub(crate) path: Option<PathBuf>,
    /// Apply one unit of the repository's plan (needs the repository model; not yet available)
    #[arg(long, value_name = "U")]
    pub(crate) unit: Option<String>,
}

/// How to reach the cluster and where the unit's inventory lives.
#[derive(Debug, Args)]
pub(crate) struct ClusterArgs {
    /// Kubeconfig file (default: $KUBECONFIG, then ~/.kube/config, then in-cluster)
    #[arg(long, value_name = "FILE")]
    pub(crate) kubeconfig: Option<PathBuf>,
    /// Kubeconfig context to use
    #[arg(long, value_name = "NAME")]
    pub(crate) context: Option<String>,
    /// Namespace for namespaced objects that name none
    #[arg(short, long, value_name = "NS", default_value = "default")]
    pub(crate) namespace: String,
    /// Server-side apply field manager
    #[arg(long, value_name = "M", default_value = "gitops")]
    pub(crate) field_manager: String,
    /// Namespace of the inventory ConfigMap
    #[arg(long, value_name = "NS", default_value = "default")]
    pub(crate) inventory_namespace: String,
    /// Unit name of the inventory (ConfigMap `gitops-inventory-<N>`; default: the source
    /// directory's name)
    #[arg(long, value_name = "N")]
    pub(crate) inventory_name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Delete objects that were applied before from this source and are gone from it
    #[arg(long)]
    pub(crate) prune: bool,
    /// Wait until every object is healthy (Current); fail early when one is Failed
    #[arg(long)]
    pub(crate) wait: bool,
    /// How long to wait, and to wait for CRDs and Namespaces: `90s`, `5m`, `1h`
    #[arg(long, value_name = "D", default_value = "5m", value_parser = parse_duration)]
    pub(crate) timeout: std::time::Duration,
    /// Ask the server what would change; change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Delete and recreate objects whose immutable fields changed
    #[arg(long)]
    pub(crate) force: bool,
    /// Allow applying an empty set (with --prune: delete everything the unit had)
    #[arg(long)]
    pub(crate) allow_empty: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DiffArgs {
    #[command(flatten)]
    pub(crate) source: SourceArgs,
    #[command(flatten)]
    pub(crate) cluster: ClusterArgs,
    /// Output format: a unified YAML diff per object, or JSON
    #[arg(short, long, value_enum, default_value_t = DiffFormat::Text)]
    pub(crate) output: DiffFormat,
}

/// How a diff is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum DiffFormat {
    /// Unified diffs (coloured on a terminal)
    Text,
    /// A JSON array, one entry per object
    Json,
}

/// Parses `90`, `90s`, `5m`, `1h`, `500ms`.
pub(crate) fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration like 90s, 5m or 1h, found `{text}`"))?;
    let seconds = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "ms" => return Ok(std::time::Duration::from_millis(n)),
        _ => {
            return Err(format!(
                "unknown duration unit `{unit}` in `{text}`: use ms, s, m or h"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(seconds))
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// The source to render: a directory, a manifest file, or a Git URL (see the Git source
    /// options; `--path` then names the directory inside the repository)
    pub(crate) path: PathBuf,
    #[command(flatten)]
    pub(crate) git: GitArgs,
    /// Output format
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Yaml)]
    pub(crate) output: OutputFormat,
    /// Treat PATH as a repository and render one of its units, as it would be applied
    #[arg(long, value_name = "NAME", requires = "repo_entry")]
    pub(crate) unit: Option<String>,
    /// With `--unit`: the entry path inside the repository; with a Git URL alone: the directory
    /// to render
    #[arg(long = "path", id = "repo_entry", value_name = "ENTRY")]
    pub(crate) repo_entry: Option<String>,
    /// Which files the source may read: `root-only` (a kustomization: files in or below its
    /// own directory, kustomize's default; every source: nothing outside its repository, the
    /// Git work tree holding PATH or the fetched artifact, links followed) or `none` (any local
    /// file; for a Git URL, anything inside the artifact)
    #[arg(long, value_enum, default_value_t = LoadRestrictorArg::RootOnly)]
    pub(crate) load_restrictor: LoadRestrictorArg,
    /// The root of the fetched artifact when PATH was a Git URL (set by the Git URL step, not
    /// a flag)
    #[arg(skip)]
    pub(crate) source_root: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) jsonnet: JsonnetArgs,
    #[command(flatten)]
    pub(crate) overlay: UnitArgs,
    /// Helm charts: the release name (`.Release.Name`)
    #[arg(long, default_value = "release-name")]
    pub(crate) release_name: String,
    /// Helm charts: the release namespace (`.Release.Namespace`)
    #[arg(long, short = 'n', default_value = "default")]
    pub(crate) namespace: String,
    /// Helm charts: a values file (repeatable; later files win)
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub(crate) values: Vec<PathBuf>,
    /// Helm charts: set a value (`a.b=c,d[0]=e`, repeatable)
    #[arg(long = "set", value_name = "K=V")]
    pub(crate) set: Vec<String>,
    /// Helm charts: set a string value (repeatable)
    #[arg(long = "set-string", value_name = "K=V")]
    pub(crate) set_string: Vec<String>,
    /// Helm charts: the Kubernetes version of `.Capabilities.KubeVersion`
    #[arg(long)]
    pub(crate) kube_version: Option<String>,
    /// Helm charts: extra API versions for `.Capabilities.APIVersions` (repeatable, or commas)
    #[arg(long = "api-versions", value_name = "G/V")]
    pub(crate) api_versions: Vec<String>,
    /// Helm charts: print the files of `crds/` first (as `helm template --include-crds`)
    #[arg(long)]
    pub(crate) include_crds: bool,
    /// Helm charts: print only templates whose path in the chart matches this glob
    /// (`templates/service.yaml`, `templates/sub/*`; repeatable)
    #[arg(long = "show-only", short = 's', value_name = "PATH")]
    pub(crate) show_only: Vec<String>,
    /// Helm charts: leave out test hooks (`helm.sh/hook: test`)
    #[arg(long)]
    pub(crate) skip_tests: bool,
    /// Helm charts: the release name as a template rendered with the Sprig functions
    /// (overrides `--release-name`)
    #[arg(long, value_name = "TEMPLATE")]
    pub(crate) name_template: Option<String>,
    /// Helm charts: when a template renders invalid YAML, print every rendered template before
    /// the error (as `helm template --debug`)
    #[arg(long)]
    pub(crate) debug: bool,
    #[command(flatten)]
    pub(crate) chart_source: ChartSourceArgs,
}

/// Where a chart named on the command line comes from, as `helm template --repo` or an
/// `oci://` reference: downloaded into the cache directory, then rendered.
#[derive(Debug, Args, Default)]
#[command(next_help_heading = "Helm chart repositories")]
pub(crate) struct ChartSourceArgs {
    /// The chart repository (`https://...`, with an `index.yaml`): PATH is then a chart name
    /// in it. An `oci://host/path/chart` PATH needs no repository
    #[arg(long = "repo", value_name = "URL")]
    pub(crate) repo: Option<String>,
    /// The chart version or semver range (`1.2.3`, `~1.2`, `>=1 <2`); the highest release when
    /// absent
    #[arg(long = "chart-version", value_name = "RANGE")]
    pub(crate) chart_version: Option<String>,
    /// Basic-auth user name for the repository or registry
    #[arg(long, value_name = "USER", requires = "password")]
    pub(crate) username: Option<String>,
    /// Basic-auth password
    #[arg(long, value_name = "PASSWORD")]
    pub(crate) password: Option<String>,
    /// An extra CA certificate (PEM) to trust
    #[arg(long, value_name = "FILE")]
    pub(crate) ca_file: Option<PathBuf>,
    /// Talk plain HTTP to an OCI registry
    #[arg(long)]
    pub(crate) plain_http: bool,
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
