//! The controllers and what they share: the client, settings, the metrics observer, the event
//! recorder, and per-object memory of the last run and failures (for intervals and backoff).

mod chart;
mod events;
mod helmrepo;
mod hooks;
mod inputs;
mod release;
mod release_drift;
mod remote;
mod repochart;
mod rollback;
mod rollout;
mod source;
mod sync;
mod unit;

pub(crate) use chart::render_chart_here;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use gitops_core::api::{GitRepository, HelmRelease, HelmRepository, Kustomization};
use kube::Api;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::runtime::{Controller, watcher};

use crate::deps::UnitKey;
use crate::observe::Observer;

/// The server-side apply field manager of everything the operator writes.
pub(crate) const FIELD_MANAGER: &str = "gitops-operator";

/// Resolved operator settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Directory for artifacts (`artifacts/`) and the Git cache (`git/`).
    pub storage: PathBuf,
    /// Interval of objects that set none.
    pub default_interval: Duration,
    /// Reconciliations in flight at once, per controller.
    pub concurrency: u16,
    /// The only namespace watched, if any.
    pub namespace: Option<String>,
    /// Label selector of the objects this operator reconciles, if any.
    pub label_selector: Option<String>,
    /// This replica's identity (Events, the Lease).
    pub identity: String,
    /// The bounds of every render (each runs in a child process, see [`crate::isolate`]).
    pub render_limits: crate::isolate::RenderLimits,
    /// The Prometheus server of analysis metrics that name no address.
    pub prometheus_address: Option<String>,
}

/// What outlives one leadership term: client, configuration and settings.
#[derive(Clone)]
pub(crate) struct Shared {
    client: kube::Client,
    config: kube::Config,
    settings: Settings,
    observer: Arc<dyn Observer>,
}

impl Shared {
    pub(crate) fn new(
        client: kube::Client,
        config: kube::Config,
        settings: Settings,
        observer: Arc<dyn Observer>,
    ) -> Self {
        Self {
            client,
            config,
            settings,
            observer,
        }
    }
}

/// What a controller remembers about one object between wake-ups (not persisted: after a
/// restart or a leader change every object is looked at once).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Memory {
    /// When this operator last fetched or applied/checked it.
    pub(crate) last_run: Option<Instant>,
    /// When the last failure happened.
    pub(crate) last_failure: Option<Instant>,
    /// Consecutive failures.
    pub(crate) failures: u32,
}

/// The context of both controllers.
pub(crate) struct Context {
    pub(crate) client: kube::Client,
    pub(crate) config: kube::Config,
    pub(crate) settings: Settings,
    pub(crate) observer: Arc<dyn Observer>,
    pub(crate) recorder: Recorder,
    /// Kinds to API resources, for what the Rollout controller applies (routers' kinds).
    pub(crate) discovery: gitops_core::cluster::Discovery,
    /// The Kustomizations seen by the unit controller (for cycles and dependents).
    pub(crate) units: Store<Kustomization>,
    memory: Mutex<HashMap<(&'static str, UnitKey), Memory>>,
    /// Parsed chart repository indexes by stored path (the path names the index's digest, so
    /// an entry never goes stale): large public indexes take a while to parse.
    indexes: Mutex<HashMap<PathBuf, Arc<gitops_render::helm::repo::RepoIndex>>>,
}

impl Context {
    pub(crate) fn memory(&self, kind: &'static str, key: &UnitKey) -> Memory {
        self.memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(kind, key.clone()))
            .copied()
            .unwrap_or_default()
    }

    /// Records a run; `success` resets the failure count, a failure increments it.
    pub(crate) fn remember(&self, kind: &'static str, key: &UnitKey, success: bool) {
        let mut memory = self.memory.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = memory.entry((kind, key.clone())).or_default();
        let now = Instant::now();
        entry.last_run = Some(now);
        if success {
            entry.failures = 0;
            entry.last_failure = None;
        } else {
            entry.failures = entry.failures.saturating_add(1);
            entry.last_failure = Some(now);
        }
    }

    pub(crate) fn forget(&self, kind: &'static str, key: &UnitKey) {
        self.memory
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(kind, key.clone()));
    }

    /// The parsed index stored at `path`, if one was kept.
    pub(crate) fn cached_index(
        &self,
        path: &std::path::Path,
    ) -> Option<Arc<gitops_render::helm::repo::RepoIndex>> {
        self.indexes
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(path)
            .cloned()
    }

    /// Keeps the parsed index stored at `path` (a few at most).
    pub(crate) fn keep_index(
        &self,
        path: PathBuf,
        index: Arc<gitops_render::helm::repo::RepoIndex>,
    ) {
        let mut indexes = self.indexes.lock().unwrap_or_else(PoisonError::into_inner);
        // Old digests are never asked for again; a bound is enough.
        if indexes.len() >= 16 {
            indexes.clear();
        }
        indexes.insert(path, index);
    }

    /// The API of `K` in `namespace`.
    pub(crate) fn api<K>(&self, namespace: &str) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), namespace)
    }

    /// Where charts downloaded from HelmRepositories are unpacked, one directory per version.
    pub(crate) fn charts_dir(&self) -> PathBuf {
        self.settings.storage.join("helmcharts")
    }

    /// The storage directory of artifacts.
    pub(crate) fn artifacts_dir(&self) -> PathBuf {
        self.settings.storage.join("artifacts")
    }

    /// The Git cache directory.
    pub(crate) fn git_cache_dir(&self) -> PathBuf {
        self.settings.storage.join("git")
    }
}

/// The current time as the API writes it, with milliseconds (RFC 3339).
pub(crate) fn now() -> String {
    let now = k8s_openapi::jiff::Timestamp::now();
    format!("{now:.3}")
}

/// An error with its causes, each once: `a: b: c`.
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// Runs `reconcile` through our finalizer on `object` (of `kind`): its apply branch while the
/// object lives, its cleanup branch once it is being deleted, and the finalizer is removed only
/// after a successful cleanup. The errors of either branch come back as they are.
pub(crate) async fn finalized<K, F, Fut>(
    api: &Api<K>,
    object: Arc<K>,
    key: UnitKey,
    kind: &'static str,
    reconcile: F,
) -> Result<kube::runtime::controller::Action, Error>
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
    F: FnOnce(kube::runtime::finalizer::Event<K>) -> Fut,
    Fut: Future<Output = Result<kube::runtime::controller::Action, Error>>,
{
    kube::runtime::finalizer::finalizer(api, unit::FINALIZER, object, reconcile)
        .await
        .map_err(|e| match e {
            kube::runtime::finalizer::Error::ApplyFailed(e)
            | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
            other => Error::Finalizer {
                kind,
                key,
                message: chain(&other),
            },
        })
}

/// Writes `status` (the whole status of `object`, of our `kind`) with server-side apply as our
/// field manager, then publishes an Event for each condition that changed from `old` to `new`.
/// Every controller ends its reconcile with this.
pub(crate) async fn apply_status<K>(
    ctx: &Context,
    object: &K,
    key: &UnitKey,
    kind: &'static str,
    status: &impl serde::Serialize,
    old: &[gitops_core::api::Condition],
    new: &[gitops_core::api::Condition],
) -> Result<(), Error>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let patch = serde_json::json!({
        "apiVersion": gitops_core::api::API_VERSION,
        "kind": kind,
        "status": status,
    });
    ctx.api::<K>(&key.namespace)
        .patch_status(
            &key.name,
            &kube::api::PatchParams::apply(FIELD_MANAGER).force(),
            &kube::api::Patch::Apply(&patch),
        )
        .await
        .map_err(|source| Error::Status {
            kind,
            key: key.clone(),
            source,
        })?;
    events::publish_transitions(ctx, &object.object_ref(&Default::default()), old, new).await;
    Ok(())
}

/// Why a reconciliation returned an error (the controller retries it with backoff).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// Reading the object itself failed.
    #[error("cannot read {kind} {key}")]
    Read {
        kind: &'static str,
        key: UnitKey,
        #[source]
        source: kube::Error,
    },
    /// Writing the status failed.
    #[error("cannot write the status of {kind} {key}")]
    Status {
        kind: &'static str,
        key: UnitKey,
        #[source]
        source: kube::Error,
    },
    /// Pruning on deletion failed; the finalizer stays until it succeeds.
    #[error("cannot prune the objects of {kind} {key} on deletion: {message}")]
    Cleanup {
        kind: &'static str,
        key: UnitKey,
        message: String,
    },
    /// Adding or removing the finalizer failed.
    #[error("finalizer of {kind} {key}: {message}")]
    Finalizer {
        kind: &'static str,
        key: UnitKey,
        message: String,
    },
}

/// Deletion of a unit or release (`object`, of `kind`) that applied `inventory`: prunes it
/// through the cluster of `kube_config` (impersonating `account`), with the rules of
/// [`sync::prune_all`], and records an Event with `reason`. When the kubeconfig Secret is gone,
/// nothing is pruned (see [`remote::prune_impossible`]); a failure keeps the finalizer.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn prune_on_deletion(
    ctx: &Context,
    object: &k8s_openapi::api::core::v1::ObjectReference,
    kind: &'static str,
    key: &UnitKey,
    kube_config: Option<&serde_json::Value>,
    account: Option<&str>,
    inventory: &gitops_core::inventory::Inventory,
    reason: &str,
) -> Result<kube::runtime::controller::Action, Error> {
    let done = kube::runtime::controller::Action::await_change();
    let entries = inventory.entries.len();
    if remote::prune_impossible(ctx, object, &key.namespace, kube_config, entries).await {
        return Ok(done);
    }
    let failed = |message: String| Error::Cleanup {
        kind,
        key: key.clone(),
        message,
    };
    let client = remote::client(ctx, &key.namespace, kube_config, account)
        .await
        .map_err(|(_, message, _)| failed(message))?;
    let (deleted, errors) =
        sync::prune_all(gitops_core::cluster::Discovery::new(client), inventory, 16).await;
    if !errors.is_empty() {
        return Err(failed(errors.join("; ")));
    }
    let n = deleted.count(gitops_core::changeset::Action::Deleted);
    ctx.observer.add_pruned(kind, n as u64);
    tracing::info!(kind, namespace = %key.namespace, name = %key.name, pruned = n, "pruned on deletion");
    events::publish(
        ctx,
        object,
        true,
        reason,
        "Delete",
        &format!("pruned {n} objects on deletion"),
    )
    .await;
    Ok(done)
}

/// Runs both controllers until `stop` completes.
pub(crate) async fn run(shared: Shared, stop: impl Future<Output = ()> + Send + Sync + 'static) {
    let Shared {
        client,
        config,
        settings,
        observer,
    } = shared;
    let mut wc = watcher::Config::default();
    if let Some(selector) = &settings.label_selector {
        wc = wc.labels(selector);
    }
    let helm_repos_api: Api<HelmRepository> = match &settings.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let (units_api, repos_api, releases_api): (
        Api<Kustomization>,
        Api<GitRepository>,
        Api<HelmRelease>,
    ) = match &settings.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (
            Api::all(client.clone()),
            Api::all(client.clone()),
            Api::all(client.clone()),
        ),
    };
    let controller_config =
        kube::runtime::controller::Config::default().concurrency(settings.concurrency.max(1));
    let units =
        Controller::new(units_api.clone(), wc.clone()).with_config(controller_config.clone());
    let store = units.store();
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "gitops-operator".to_owned(),
            instance: Some(settings.identity.clone()),
        },
    );
    let context = Arc::new(Context {
        discovery: gitops_core::cluster::Discovery::new(client.clone()),
        client,
        config,
        settings,
        observer,
        recorder,
        units: store.clone(),
        memory: Mutex::default(),
        indexes: Mutex::default(),
    });
    // One stop signal for both controllers.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        stop.await;
        let _ = stop_tx.send(true);
    });
    let units = units
        .watches(
            units_api,
            wc.clone(),
            unit::dependents_mapper(store.clone()),
        )
        .watches(repos_api.clone(), wc.clone(), unit::source_mapper(store))
        .graceful_shutdown_on(crate::stopped(stop_rx.clone()))
        .run(unit::reconcile, unit::error_policy, Arc::clone(&context))
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %chain(&e), "Kustomization controller");
            }
        });
    let releases_api_deps = releases_api.clone();
    let releases = Controller::new(releases_api, wc.clone()).with_config(controller_config.clone());
    let release_store = releases.store();
    let releases = releases
        .watches(
            releases_api_deps,
            wc.clone(),
            release::dependents_mapper(release_store.clone()),
        )
        .watches(
            repos_api.clone(),
            wc.clone(),
            release::source_mapper::<GitRepository>(release_store.clone(), "GitRepository"),
        )
        .watches(
            helm_repos_api.clone(),
            wc.clone(),
            release::source_mapper::<HelmRepository>(release_store, "HelmRepository"),
        )
        .graceful_shutdown_on(crate::stopped(stop_rx.clone()))
        .run(
            release::reconcile,
            release::error_policy,
            Arc::clone(&context),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %chain(&e), "HelmRelease controller");
            }
        });
    let repos_api_for_gc = repos_api.clone();
    let artifacts_dir = context.artifacts_dir();
    let stop_rx_gc = stop_rx.clone();
    let sources =
        Controller::new(repos_api.clone(), wc.clone()).with_config(controller_config.clone());
    let source_store = sources.store();
    let sources = sources
        .watches(
            repos_api,
            wc.clone(),
            source::includers_mapper(source_store),
        )
        .graceful_shutdown_on(crate::stopped(stop_rx.clone()))
        .run(
            source::reconcile,
            source::error_policy,
            Arc::clone(&context),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %chain(&e), "GitRepository controller");
            }
        });
    let helm_repos = Controller::new(helm_repos_api, wc.clone())
        .with_config(controller_config.clone())
        .graceful_shutdown_on(crate::stopped(stop_rx.clone()))
        .run(
            helmrepo::reconcile,
            helmrepo::error_policy,
            Arc::clone(&context),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %chain(&e), "HelmRepository controller");
            }
        });
    let rollouts = rollouts(&context, &wc, controller_config, stop_rx.clone());
    let collector = collect_garbage(
        repos_api_for_gc,
        artifacts_dir,
        context.charts_dir(),
        crate::stopped(stop_rx_gc),
    );
    tokio::join!(units, releases, sources, helm_repos, rollouts, collector);
}

/// The Rollout controller, woken by its Rollouts and by their target and primary Deployments.
fn rollouts(
    context: &Arc<Context>,
    wc: &watcher::Config,
    config: kube::runtime::controller::Config,
    stop: tokio::sync::watch::Receiver<bool>,
) -> impl Future<Output = ()> + use<> {
    let client = context.client.clone();
    let (rollouts_api, deployments_api): (
        Api<gitops_rollout::RolloutObject>,
        Api<k8s_openapi::api::apps::v1::Deployment>,
    ) = match &context.settings.namespace {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client, ns),
        ),
        None => (Api::all(client.clone()), Api::all(client)),
    };
    let controller = Controller::new(rollouts_api, wc.clone()).with_config(config);
    let store = controller.store();
    controller
        .watches(
            deployments_api,
            watcher::Config::default(),
            rollout::workload_mapper(store),
        )
        .graceful_shutdown_on(crate::stopped(stop))
        .run(
            rollout::reconcile,
            rollout::error_policy,
            Arc::clone(context),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                tracing::debug!(error = %chain(&e), "Rollout controller");
            }
        })
}

/// Removes unreferenced artifacts every few minutes (see [`crate::gc`]).
async fn collect_garbage(
    repos: Api<GitRepository>,
    dir: PathBuf,
    charts_dir: PathBuf,
    stop: impl Future<Output = ()>,
) {
    let work = async {
        loop {
            tokio::time::sleep(Duration::from_secs(300)).await;
            let Ok(list) = repos.list(&Default::default()).await else {
                continue;
            };
            let referenced = list
                .items
                .iter()
                .filter_map(|r| r.status.as_ref()?.artifact.as_ref()?.path.clone())
                .filter_map(|p| {
                    Some(
                        std::path::Path::new(&p)
                            .file_name()?
                            .to_string_lossy()
                            .into_owned(),
                    )
                })
                .collect();
            let dir = dir.clone();
            let charts_dir = charts_dir.clone();
            let _ = tokio::task::spawn_blocking(move || {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    return;
                };
                let stored: Vec<crate::gc::StoredDir> = entries
                    .flatten()
                    .filter_map(|e| {
                        let age = e.metadata().ok()?.modified().ok()?.elapsed().unwrap_or_default();
                        Some(crate::gc::StoredDir {
                            name: e.file_name().to_string_lossy().into_owned(),
                            age,
                        })
                    })
                    .collect();
                for name in crate::gc::garbage(&stored, &referenced, crate::gc::GRACE) {
                    let path = dir.join(&name);
                    match std::fs::remove_dir_all(&path) {
                        Ok(()) => tracing::info!(path = %path.display(), "removed an unreferenced artifact"),
                        Err(e) => tracing::warn!(path = %path.display(), error = %e, "cannot remove an artifact"),
                    }
                }
                collect_charts(&charts_dir);
            })
            .await;
        }
    };
    tokio::select! {
        () = work => {}
        () = stop => {}
    }
}

/// Removes the unpacked charts no release used for [`CHART_GRACE`] (each use touches the
/// chart's `.complete` marker), and scratch directories left by an interrupted unpack.
fn collect_charts(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let stored: Vec<crate::gc::StoredDir> = entries
        .flatten()
        .filter_map(|e| {
            let marker = e.path().join(".complete");
            let modified = std::fs::metadata(&marker)
                .or_else(|_| e.metadata())
                .ok()?
                .modified()
                .ok()?;
            Some(crate::gc::StoredDir {
                name: e.file_name().to_string_lossy().into_owned(),
                age: modified.elapsed().unwrap_or_default(),
            })
        })
        .collect();
    for name in crate::gc::garbage(&stored, &Default::default(), CHART_GRACE) {
        let path = dir.join(&name);
        if std::fs::remove_dir_all(&path).is_ok() {
            tracing::info!(path = %path.display(), "removed an unused chart");
        }
    }
}

/// How long an unpacked chart stays after its last use.
const CHART_GRACE: Duration = Duration::from_secs(3600);
