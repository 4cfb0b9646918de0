//! The gitops operator: the pull-model agent that turns Git changes into cluster changes.
//!
//! Five controllers (kube-runtime) run while this replica holds the leader Lease:
//! - [`GitRepository`](gitops_core::api::GitRepository): fetches on its interval and on demand
//!   (`reconcile.gitops.rs/requestedAt`), stores the artifact under the storage path and reports
//!   `status.artifact`; the repositories of `spec.include` are copied in, and a new artifact of
//!   one of them rebuilds the including artifact at once (same revision, new digest);
//! - [`HelmRepository`](gitops_core::api::HelmRepository): downloads a chart repository's
//!   `index.yaml` on its interval and stores it likewise;
//! - [`Kustomization`](gitops_core::api::Kustomization): renders its path of the source's
//!   artifact, applies it in stages, prunes what left, health-checks, heals or reports drift,
//!   and starts as soon as its `dependsOn` are Ready (a watch, not a periodic requeue) or its
//!   source offers new content (a new revision, or a new digest at the same revision); it
//!   applies to the operator's cluster or to the one of `spec.kubeConfig`, and refuses
//!   `spec.decryption` (not supported) rather than apply encrypted data;
//! - [`HelmRelease`](gitops_core::api::HelmRelease): renders a chart (a GitRepository path, or a
//!   HelmRepository chart by name and version range) with `values`/`valuesFrom`, runs its hooks,
//!   applies it as a unit, heals or reports drift, and rolls a failed upgrade back to the last
//!   good chart and values;
//! - `Rollout` ([`gitops_rollout::RolloutObject`]): progressive delivery of a target Deployment
//!   (Flagger's model: a `-primary` copy serves the stable revision, the target is the canary),
//!   each step decided by the pure [`gitops_rollout::reconcile`], traffic shifted through the
//!   provider's objects, analysis measured against Prometheus (`--prometheus-address`).
//!
//! Leader election ([`Args::enable_leader_election`]) keeps one replica applying; the probes are
//! in [`serve`], the metrics hook in [`observe`], artifact garbage collection in [`gc`].
//!
//! Next to them, on every replica: the [`receiver`] controller, whose verified webhooks request an
//! immediate reconciliation of the sources they name, and the [`http`] server (`/metrics`,
//! `/healthz`, `/readyz`, `/hook/...`) with the Prometheus [`http::Metrics`] the controllers
//! report to.
//!
//! The decisions are pure modules with their own tests: [`deps`] (dependency readiness and
//! cycles), [`plan`] (what a wake-up should do, backoff), [`conditions`] (status conditions and
//! which transitions become Events), [`duration`] (Go durations). The binary is [`run`] behind
//! [`Args`].
//!
//! ```no_run
//! use clap::Parser as _;
//! # async fn demo() -> anyhow::Result<()> {
//! let args = gitops_operator::Args::parse_from(["gitops-operator", "--storage-path", "/tmp/gitops"]);
//! gitops_operator::run(args, std::sync::Arc::new(gitops_operator::observe::NoopObserver)).await
//! # }
//! ```

pub mod conditions;
mod controller;
pub mod deps;
pub mod duration;
pub mod gc;
pub mod http;
pub mod isolate;
mod leader;
pub mod observe;
pub mod plan;
pub mod receiver;
pub mod serve;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::{ArgAction, Parser, ValueEnum};

pub use controller::Settings;
use observe::Observer;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines
    Text,
    /// One JSON object per line
    Json,
}

/// The operator's flags.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "gitops-operator",
    version,
    about = "Reconciles the GitRepositories, Kustomizations and HelmReleases (gitops.rs/v1alpha1) of a cluster"
)]
pub struct Args {
    /// Kubeconfig file; without it, KUBECONFIG, ~/.kube/config or the in-cluster service account
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Reconciliations in flight at once, per controller
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub concurrent: u16,
    /// Directory for artifacts and the Git cache
    #[arg(long, value_name = "DIR", default_value = "/var/lib/gitops")]
    pub storage_path: PathBuf,
    /// Log format
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Watch only this namespace (default: all namespaces)
    #[arg(long, value_name = "NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// Reconcile only objects matching this label selector (to shard objects over operators)
    #[arg(long, value_name = "SELECTOR")]
    pub watch_label_selector: Option<String>,
    /// Address of the HTTP server (/metrics, /healthz, /readyz, /hook/...)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9440")]
    pub http_addr: SocketAddr,
    /// Run controllers only while holding the leader Lease
    #[arg(long, value_name = "BOOL", default_value_t = true, action = ArgAction::Set)]
    pub enable_leader_election: bool,
    /// Name of the leader Lease
    #[arg(long, value_name = "NAME", default_value = "gitops-operator")]
    pub lease_name: String,
    /// Namespace of the leader Lease
    #[arg(long, value_name = "NAMESPACE", default_value = "gitops-system")]
    pub lease_namespace: String,
    /// How long a Lease stays valid without renewal (a standby takes over after it)
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = parse_duration)]
    pub lease_duration: Duration,
    /// Interval of objects that set none
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub default_interval: Duration,
    /// How long one render (a unit's kustomize/Jsonnet/plain build, a release's chart) may run
    /// before it is stopped and its unit fails; renders run in a child process
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    pub render_timeout: Duration,
    /// Address space one render process may use, in MiB; it includes the stacks the renderers
    /// reserve for deep input (512 MiB for kustomize and Jsonnet, 256 MiB for Helm), so values
    /// under 1024 leave them little room
    #[arg(long, value_name = "MIB", default_value_t = 2048)]
    pub render_memory_mib: u64,
    /// Prometheus server of Rollout analysis metrics that name no address (e.g. http://prometheus.monitoring:9090)
    #[arg(long, value_name = "URL")]
    pub prometheus_address: Option<String>,
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    duration::parse(text).map_err(|e| e.to_string())
}

/// Installs the tracing subscriber for `format` (level from `RUST_LOG`, `info` by default).
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Runs the operator until SIGTERM or SIGINT: connects, serves HTTP (metrics, probes, webhooks),
/// runs the Receiver controller, and runs the source and unit controllers (while leading, with
/// leader election), reporting to the Prometheus metrics and to `observer`.
///
/// # Errors
/// When the cluster cannot be reached, the probe address cannot be bound, or leader election
/// cannot start.
pub async fn run(args: Args, observer: Arc<dyn Observer>) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = load_config(args.kubeconfig.as_deref()).await?;
    let client =
        kube::Client::try_from(config.clone()).context("cannot create a Kubernetes client")?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down");
        let _ = stop_tx.send(true);
    });
    let probes = serve::Probes::default();
    let metrics = Arc::new(http::Metrics::new());
    let observer: Arc<dyn Observer> = Arc::new(observe::Both(
        Arc::clone(&metrics) as Arc<dyn Observer>,
        observer,
    ));
    let registry = receiver::Registry::default();
    let hooks = receiver::routes(client.clone(), registry.clone(), "gitops-operator".into());
    let router = http::router(metrics, probes.flag(), hooks);
    let listener = tokio::net::TcpListener::bind(args.http_addr)
        .await
        .with_context(|| format!("cannot listen on {}", args.http_addr))?;
    let server = tokio::spawn(http::serve_on(listener, router, stopped(stop_rx.clone())));
    // Receivers run on every replica: a webhook only annotates sources, which is idempotent.
    let receivers = tokio::spawn(receiver::run(
        client.clone(),
        registry,
        stopped(stop_rx.clone()),
    ));
    let settings = Settings {
        storage: args.storage_path.clone(),
        default_interval: args.default_interval,
        concurrency: args.concurrent,
        namespace: args.watch_namespace.clone(),
        label_selector: args.watch_label_selector.clone(),
        identity: leader::identity(),
        render_limits: isolate::RenderLimits {
            timeout: args.render_timeout,
            memory_bytes: args.render_memory_mib.saturating_mul(1 << 20),
        },
        prometheus_address: args.prometheus_address.clone(),
    };
    std::fs::create_dir_all(&settings.storage).with_context(|| {
        format!(
            "cannot create the storage directory {}",
            settings.storage.display()
        )
    })?;
    let shared = controller::Shared::new(client.clone(), config, settings.clone(), observer);
    let result = if args.enable_leader_election {
        let lease = leader::LeaseSettings {
            name: args.lease_name.clone(),
            namespace: args.lease_namespace.clone(),
            duration: args.lease_duration,
        };
        leader::run_as_leader(client, lease, &settings.identity, probes, stop_rx, shared).await
    } else {
        probes.set_ready(true);
        controller::run(shared, stopped(stop_rx)).await;
        Ok(())
    };
    server.abort();
    receivers.abort();
    result
}

async fn load_config(path: Option<&std::path::Path>) -> anyhow::Result<kube::Config> {
    match path {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .with_context(|| format!("cannot read kubeconfig {}", path.display()))?;
            kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .with_context(|| format!("cannot load kubeconfig {}", path.display()))
        }
        None => kube::Config::infer().await.context(
            "cannot infer a Kubernetes configuration (pass --kubeconfig or set KUBECONFIG)",
        ),
    }
}

/// Completes when `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(mut stop: tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}
