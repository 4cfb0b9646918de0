//! The GitRepository controller: fetch on the interval and on demand, store the artifact under
//! the storage path, report `status.artifact` and conditions.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use gitops_core::api::status::REQUESTED_AT_ANNOTATION;
use gitops_core::api::{Artifact, GitRepository, GitRepositoryStatus};
use gitops_core::git::{self, ArtifactStore, Cache, Credentials, GitSource};
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt as _;
use kube::runtime::controller::Action;

use super::{Context, Error, chain, now};
use crate::conditions::{self, reason};
use crate::deps::UnitKey;
use crate::duration;
use crate::plan::{self, SourceFacts};

const KIND: &str = "GitRepository";

/// Reconciles one GitRepository.
pub(crate) async fn reconcile(
    repo: Arc<GitRepository>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let Some(SourceRun {
        key,
        old,
        mut status,
        generation,
        mut facts,
    }) = begin(&*repo, repo.spec.suspend, repo.status.as_ref(), KIND, &ctx)
    else {
        return Ok(Action::await_change());
    };
    let namespace = key.namespace.clone();
    let timestamp = now();
    let interval = match duration::field(
        repo.spec.interval.as_deref(),
        "interval",
        ctx.settings.default_interval,
    ) {
        Ok(i) => i.max(Duration::from_secs(1)),
        Err(message) => {
            conditions::mark_failed(
                &mut status.conditions,
                reason::INVALID_SPEC,
                message,
                true,
                generation,
                &timestamp,
            );
            write_status(&ctx, &repo, &key, &old, &status).await?;
            return Ok(Action::await_change());
        }
    };
    facts.includes_changed = includes_changed(&repo, &namespace, &old, &ctx).await;
    if let Some(wait) = plan::plan_source(&facts, interval) {
        return Ok(Action::requeue(wait));
    }
    let start = Instant::now();
    let result = fetch(&repo, &namespace, &ctx, None).await;
    let seconds = start.elapsed().as_secs_f64();
    let success = result.is_ok();
    ctx.observer.observe_fetch(seconds, success);
    ctx.remember(KIND, &key, success);
    let requeue = match result {
        Ok(artifact) => {
            let path = artifact
                .path
                .strip_prefix(&ctx.settings.storage)
                .unwrap_or(&artifact.path)
                .to_string_lossy()
                .into_owned();
            let unchanged = old
                .artifact
                .as_ref()
                .is_some_and(|a| a.revision == artifact.revision && a.digest == artifact.digest);
            let last_update_time = match (&old.artifact, unchanged) {
                (Some(a), true) => a.last_update_time.clone(),
                _ => timestamp.clone(),
            };
            conditions::mark_ready(
                &mut status.conditions,
                reason::SUCCEEDED,
                format!("stored artifact for revision '{}'", artifact.revision),
                generation,
                &timestamp,
            );
            status.artifact = Some(Artifact {
                revision: artifact.revision.clone(),
                digest: artifact.digest,
                last_update_time,
                path: Some(path),
            });
            tracing::info!(kind = KIND, namespace = %key.namespace, name = %key.name, revision = %artifact.revision, duration_ms = start.elapsed().as_millis() as u64, "fetched");
            Action::requeue(interval)
        }
        Err((why, message, stalled)) => {
            tracing::warn!(kind = KIND, namespace = %key.namespace, name = %key.name, reason = why, duration_ms = start.elapsed().as_millis() as u64, "{message}");
            conditions::mark_failed(
                &mut status.conditions,
                why,
                message,
                stalled,
                generation,
                &timestamp,
            );
            let failures = ctx.memory(KIND, &key).failures;
            Action::requeue(plan::retry_delay(
                interval.min(Duration::from_secs(60)),
                failures.max(1),
            ))
        }
    };
    ctx.observer.observe_reconcile(KIND, seconds, success);
    write_status(&ctx, &repo, &key, &old, &status).await?;
    ctx.observer.set_ready(
        KIND,
        &key.namespace,
        &key.name,
        conditions::is_ready(&status.conditions),
    );
    Ok(requeue)
}

/// Where a source's reconciliation starts, the same for every source kind.
pub(super) struct SourceRun {
    pub(super) key: UnitKey,
    /// The status as read.
    pub(super) old: GitRepositoryStatus,
    /// The status to write: the generation observed and the request handled, so far.
    pub(super) status: GitRepositoryStatus,
    pub(super) generation: Option<i64>,
    /// What decides whether to fetch now (`includes_changed` left for the caller).
    pub(super) facts: SourceFacts,
}

/// Starts the reconciliation of `object` (a source of `kind` with `status`); `None` when it is
/// being deleted (its memory is dropped) or suspended: nothing to do until it changes.
pub(super) fn begin<K: kube::Resource>(
    object: &K,
    suspended: bool,
    status: Option<&GitRepositoryStatus>,
    kind: &'static str,
    ctx: &Context,
) -> Option<SourceRun> {
    let key = UnitKey::new(
        object.meta().namespace.clone().unwrap_or_default(),
        object.meta().name.clone().unwrap_or_default(),
    );
    if object.meta().deletion_timestamp.is_some() {
        ctx.forget(kind, &key);
        return None;
    }
    if suspended {
        tracing::debug!(kind, %key, "suspended");
        return None;
    }
    let old = status.cloned().unwrap_or_default();
    let generation = object.meta().generation;
    let requested = object
        .meta()
        .annotations
        .as_ref()
        .and_then(|a| a.get(REQUESTED_AT_ANNOTATION))
        .cloned();
    let mut status = old.clone();
    status.observed_generation = generation;
    if requested.is_some() {
        status.last_handled_reconcile_at.clone_from(&requested);
    }
    let memory = ctx.memory(kind, &key);
    let facts = SourceFacts {
        no_artifact: old.artifact.is_none(),
        spec_changed: generation != old.observed_generation,
        includes_changed: false,
        requested: requested.is_some() && requested != old.last_handled_reconcile_at,
        failed: !conditions::is_ready(&old.conditions),
        since_last_fetch: memory.last_run.map(|t| t.elapsed()),
        failures: memory.failures,
    };
    Some(SourceRun {
        key,
        old,
        status,
        generation,
        facts,
    })
}

/// Retries after an error of [`reconcile`] (a failed status write).
pub(crate) fn error_policy(_repo: Arc<GitRepository>, error: &Error, _ctx: Arc<Context>) -> Action {
    tracing::warn!(error = %chain(error), "GitRepository reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

pub(super) type Failure = (&'static str, String, bool);

/// Fetches and stores the artifact (of `commit` instead of `spec.ref` when given: a rollback);
/// a failure is (reason, message, stalled).
pub(super) async fn fetch(
    repo: &GitRepository,
    namespace: &str,
    ctx: &Context,
    commit: Option<String>,
) -> Result<git::Artifact, Failure> {
    let spec = &repo.spec;
    let credentials = match &spec.secret_ref {
        Some(secret) => credentials(ctx, namespace, &secret.name).await?,
        None => Credentials::default(),
    };
    let mut reference = spec.reference.clone().unwrap_or_default();
    if let Some(commit) = commit {
        reference = gitops_core::api::GitRef {
            commit: Some(commit),
            ..Default::default()
        };
    }
    let mut source = GitSource::new(spec.url.clone())
        .with_ref(git::GitRef {
            branch: reference.branch,
            tag: reference.tag,
            semver: reference.semver,
            name: reference.name,
            commit: reference.commit,
        })
        .with_credentials(credentials);
    source.ignore.clone_from(&spec.ignore);
    source.timeout = duration::field(spec.timeout.as_deref(), "timeout", Duration::from_secs(60))
        .map_err(|m| (reason::INVALID_SPEC, m, true))?;
    let included = includes(repo, namespace, ctx).await?;
    let cache = Cache::new(ctx.git_cache_dir());
    let store = ArtifactStore::new(ctx.artifacts_dir());
    let url = source.redacted_url().to_string();
    let joined = tokio::task::spawn_blocking(move || {
        let base = source.artifact(&cache, &store)?;
        if included.is_empty() {
            return Ok(base);
        }
        let parts: Vec<git::Include<'_>> = included
            .iter()
            .map(|(artifact, from_path, to_path)| git::Include {
                artifact,
                from_path: from_path.clone(),
                to_path: to_path.clone(),
            })
            .collect();
        store.compose(&base, &parts)
    })
    .await;
    match joined {
        Ok(Ok(artifact)) => Ok(artifact),
        Ok(Err(e)) => Err((
            reason::GIT_OPERATION_FAILED,
            format!("fetching {url}: {}", chain(&e)),
            false,
        )),
        Err(e) => Err((
            reason::GIT_OPERATION_FAILED,
            format!("fetching {url}: the fetch task failed: {e}"),
            false,
        )),
    }
}

/// The artifacts of `spec.include` (each GitRepository's current artifact on this replica's
/// disk) with where they go: (artifact, fromPath, toPath).
async fn includes(
    repo: &GitRepository,
    namespace: &str,
    ctx: &Context,
) -> Result<Vec<(git::Artifact, Option<String>, String)>, Failure> {
    let mut out = Vec::new();
    for (i, include) in repo.spec.include.iter().enumerate() {
        let name = &include.repository.name;
        let what = format!("spec.include[{i}]: GitRepository {namespace}/{name}");
        let not_ready = |why: String| (reason::ARTIFACT_FAILED, format!("{what} {why}"), false);
        let other = ctx
            .api::<GitRepository>(namespace)
            .get_opt(name)
            .await
            .map_err(|e| not_ready(format!("cannot be read: {e}")))?
            .ok_or_else(|| not_ready("does not exist".to_owned()))?;
        let artifact = other
            .status
            .and_then(|s| s.artifact)
            .ok_or_else(|| not_ready("has no artifact yet".to_owned()))?;
        let path = ctx
            .settings
            .storage
            .join(artifact.path.clone().unwrap_or_default());
        if !path.is_dir() {
            return Err(not_ready("has no artifact on this replica yet".to_owned()));
        }
        out.push((
            git::Artifact {
                revision: artifact.revision,
                digest: artifact.digest,
                path,
                files: 0,
            },
            include.from_path.clone(),
            include.to_path.clone().unwrap_or_else(|| name.clone()),
        ));
    }
    Ok(out)
}

/// Whether an included repository's artifact was stored after this one's (times are RFC 3339
/// strings of one format, so they compare as text).
async fn includes_changed(
    repo: &GitRepository,
    namespace: &str,
    old: &GitRepositoryStatus,
    ctx: &Context,
) -> bool {
    let own = old.artifact.as_ref().map(|a| a.last_update_time.as_str());
    for include in &repo.spec.include {
        let other = ctx
            .api::<GitRepository>(namespace)
            .get_opt(&include.repository.name)
            .await
            .ok()
            .flatten()
            .and_then(|r| r.status)
            .and_then(|s| s.artifact);
        if let Some(other) = other
            && own.is_none_or(|own| other.last_update_time.as_str() > own)
        {
            return true;
        }
    }
    false
}

/// Maps a changed GitRepository to the GitRepositories that include it.
pub(crate) fn includers_mapper(
    store: kube::runtime::reflector::Store<GitRepository>,
) -> impl Fn(GitRepository) -> Vec<kube::runtime::reflector::ObjectRef<GitRepository>>
+ Send
+ Sync
+ 'static {
    move |changed| {
        let ns = changed.namespace().unwrap_or_default();
        let name = changed.name_any();
        store
            .state()
            .iter()
            .filter(|r| {
                r.namespace().unwrap_or_default() == ns
                    && r.spec.include.iter().any(|i| i.repository.name == name)
            })
            .map(|r| kube::runtime::reflector::ObjectRef::from_obj(&**r))
            .collect()
    }
}

async fn credentials(ctx: &Context, namespace: &str, name: &str) -> Result<Credentials, Failure> {
    let secret = ctx
        .api::<Secret>(namespace)
        .get_opt(name)
        .await
        .map_err(|e| {
            (
                reason::AUTHENTICATION_FAILED,
                format!("cannot read Secret {namespace}/{name} named by spec.secretRef: {e}"),
                false,
            )
        })?
        .ok_or_else(|| {
            (
                reason::AUTHENTICATION_FAILED,
                format!("Secret {namespace}/{name} named by spec.secretRef does not exist"),
                false,
            )
        })?;
    let data: BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .chain(
            secret
                .string_data
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes())),
        )
        .collect();
    Credentials::from_secret_data(&data).map_err(|e| {
        (
            reason::AUTHENTICATION_FAILED,
            format!("Secret {namespace}/{name} named by spec.secretRef: {e}"),
            true,
        )
    })
}

async fn write_status(
    ctx: &Context,
    repo: &GitRepository,
    key: &UnitKey,
    old: &GitRepositoryStatus,
    status: &GitRepositoryStatus,
) -> Result<(), Error> {
    if old == status {
        return Ok(());
    }
    super::apply_status(
        ctx,
        repo,
        key,
        KIND,
        status,
        &old.conditions,
        &status.conditions,
    )
    .await
}
