//! The Kustomization controller: render the unit from its source's artifact, apply it in
//! stages, prune by `status.inventory`, health-check, heal or report drift; wait for
//! `dependsOn` and start the moment they are Ready (the dependents mapper); prune on deletion.
//!
//! With `spec.kubeConfig` all of that except the status goes to another cluster (see
//! [`super::remote`]). Not supported: `spec.decryption` (a unit that sets it is not applied and
//! turns Ready=False with reason `DecryptionNotSupported`, so that encrypted data never reaches a
//! cluster as is), and `spec.kubeConfig.configMapRef`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gitops_core::api::status::{DRIFTED, REQUESTED_AT_ANNOTATION, remove_condition};
use gitops_core::api::{
    ConditionStatus, DriftPolicy, GitRepository, Kustomization, KustomizationStatus,
};
use gitops_core::cluster::{ApplyOptions, Discovery, WaitOutcome};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::Event as Finalizer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource as _, ResourceExt as _};

use super::inputs::{SourceArtifact, artifact_of, build, health_refs};
use super::sync::{self, HealthChecks, UnitSync};
use super::{Context, Error, FIELD_MANAGER, chain, events, now};
use crate::conditions::{self, reason};
use crate::deps::{self, DependencyGraph, DependencyState, DependencyView, UnitKey};
use crate::duration;
use crate::plan::{self, Plan, UnitFacts};

const KIND: &str = "Kustomization";
/// The finalizer that prunes a unit's objects when it is deleted.
pub(crate) const FINALIZER: &str = "finalizers.gitops.rs";
/// How soon to look again when the source's artifact is not on this replica's disk yet (a new
/// leader fetches every source once at start).
const ARTIFACT_WAIT: Duration = Duration::from_secs(2);

fn key_of(ks: &Kustomization) -> UnitKey {
    UnitKey::new(ks.namespace().unwrap_or_default(), ks.name_any())
}

fn dependencies_of(ks: &Kustomization) -> Vec<UnitKey> {
    let namespace = ks.namespace().unwrap_or_default();
    ks.spec
        .depends_on
        .iter()
        .map(|d| {
            UnitKey::new(
                d.namespace.clone().unwrap_or_else(|| namespace.clone()),
                &d.name,
            )
        })
        .collect()
}

fn graph(store: &Store<Kustomization>) -> DependencyGraph {
    DependencyGraph::new(
        store
            .state()
            .iter()
            .map(|k| (key_of(k), dependencies_of(k))),
    )
}

/// Maps a changed Kustomization to the units that depend on it, so that they start as soon as
/// it turns Ready.
pub(crate) fn dependents_mapper(
    store: Store<Kustomization>,
) -> impl Fn(Kustomization) -> Vec<ObjectRef<Kustomization>> + Send + Sync + 'static {
    move |changed| {
        graph(&store)
            .dependents_of(&key_of(&changed))
            .into_iter()
            .map(|k| ObjectRef::new(&k.name).within(&k.namespace))
            .collect()
    }
}

/// Maps a changed GitRepository to the units that use it as their source.
pub(crate) fn source_mapper(
    store: Store<Kustomization>,
) -> impl Fn(GitRepository) -> Vec<ObjectRef<Kustomization>> + Send + Sync + 'static {
    move |repo| {
        let repo_ns = repo.namespace().unwrap_or_default();
        let repo_name = repo.name_any();
        store
            .state()
            .iter()
            .filter(|k| {
                let source = &k.spec.source_ref;
                let ns = source
                    .namespace
                    .clone()
                    .unwrap_or_else(|| k.namespace().unwrap_or_default());
                source.kind == "GitRepository" && source.name == repo_name && ns == repo_ns
            })
            .map(|k| ObjectRef::from_obj(&**k))
            .collect()
    }
}

/// Reconciles one Kustomization (through the finalizer, so that deletion prunes).
pub(crate) async fn reconcile(ks: Arc<Kustomization>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&ks);
    let api = ctx.api::<Kustomization>(&key.namespace);
    super::finalized(&api, ks, key, KIND, |event| async {
        match event {
            Finalizer::Apply(ks) => apply(&ks, &ctx).await,
            Finalizer::Cleanup(ks) => cleanup(&ks, &ctx).await,
        }
    })
    .await
}

/// Retries after an error of [`reconcile`].
pub(crate) fn error_policy(ks: Arc<Kustomization>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(kind = KIND, key = %key_of(&ks), error = %chain(error), "reconcile failed");
    let failures = ctx.memory(KIND, &key_of(&ks)).failures;
    Action::requeue(plan::retry_delay(Duration::from_secs(5), failures.max(1)))
}

/// Durations of a unit's spec.
struct Times {
    interval: Duration,
    retry: Duration,
    timeout: Duration,
}

fn times(ks: &Kustomization, default_interval: Duration) -> Result<Times, String> {
    let interval = duration::field(ks.spec.interval.as_deref(), "interval", default_interval)?
        .max(Duration::from_secs(1));
    let retry = duration::field(ks.spec.retry_interval.as_deref(), "retryInterval", interval)?
        .max(Duration::from_secs(1));
    let timeout = duration::field(ks.spec.timeout.as_deref(), "timeout", interval)?
        .max(Duration::from_secs(1));
    Ok(Times {
        interval,
        retry,
        timeout,
    })
}

/// What one reconciliation decided, to be written and reported once at the end.
struct Outcome {
    status: KustomizationStatus,
    action: Action,
    /// Whether work was done (`Some`) and whether it succeeded.
    worked: Option<bool>,
    applied: u64,
    pruned: u64,
}

async fn apply(ks: &Kustomization, ctx: &Context) -> Result<Action, Error> {
    let key = key_of(ks);
    if ks.spec.suspend {
        tracing::debug!(kind = KIND, %key, "suspended");
        return Ok(Action::await_change());
    }
    let start = Instant::now();
    let old = ks.status.clone().unwrap_or_default();
    let outcome = decide(ks, ctx, &key, &old).await;
    finish(ks, ctx, &key, &old, outcome, start).await
}

async fn finish(
    ks: &Kustomization,
    ctx: &Context,
    key: &UnitKey,
    old: &KustomizationStatus,
    outcome: Outcome,
    start: Instant,
) -> Result<Action, Error> {
    // After work, the server may hold an intermediate status (Reconciling): always write.
    write_status(ctx, ks, key, old, &outcome.status, outcome.worked.is_some()).await?;
    if let Some(success) = outcome.worked {
        let seconds = start.elapsed().as_secs_f64();
        ctx.observer.observe_reconcile(KIND, seconds, success);
        ctx.observer.add_applied(KIND, outcome.applied);
        ctx.observer.add_pruned(KIND, outcome.pruned);
        tracing::info!(
            kind = KIND,
            namespace = %key.namespace,
            name = %key.name,
            revision = outcome.status.last_attempted_revision.as_deref().unwrap_or(""),
            duration_ms = start.elapsed().as_millis() as u64,
            success,
            applied = outcome.applied,
            pruned = outcome.pruned,
            "reconciled"
        );
    }
    ctx.observer.set_ready(
        KIND,
        &key.namespace,
        &key.name,
        conditions::is_ready(&outcome.status.conditions),
    );
    Ok(outcome.action)
}

/// Decides and does the work of one wake-up.
async fn decide(
    ks: &Kustomization,
    ctx: &Context,
    key: &UnitKey,
    old: &KustomizationStatus,
) -> Outcome {
    let generation = ks.meta().generation;
    let requested = ks.annotations().get(REQUESTED_AT_ANNOTATION).cloned();
    let mut status = old.clone();
    status.observed_generation = generation;
    if requested.is_some() {
        status.last_handled_reconcile_at.clone_from(&requested);
    }
    let timestamp = now();
    let fail = |mut status: KustomizationStatus,
                why: &str,
                message: String,
                stalled: bool,
                action: Action| {
        conditions::mark_failed(
            &mut status.conditions,
            why,
            message,
            stalled,
            generation,
            &timestamp,
        );
        Outcome {
            status,
            action,
            worked: None,
            applied: 0,
            pruned: 0,
        }
    };
    let times = match times(ks, ctx.settings.default_interval) {
        Ok(t) => t,
        Err(message) => {
            return fail(
                status,
                reason::INVALID_SPEC,
                message,
                true,
                Action::await_change(),
            );
        }
    };
    if let Some((why, message)) = unsupported(ks) {
        return fail(status, why, message, true, Action::await_change());
    }
    if let Some(cycle) = graph(&ctx.units).cycle_through(key) {
        let message = format!("dependsOn forms a cycle: {}", deps::describe_cycle(&cycle));
        return fail(
            status,
            reason::DEPENDENCY_CYCLE,
            message,
            true,
            Action::await_change(),
        );
    }
    // The source and its artifact.
    let artifact = match source_artifact(ks, ctx, key).await {
        Ok(a) => a,
        Err(message) => {
            return fail(
                status,
                reason::ARTIFACT_FAILED,
                message,
                false,
                Action::requeue(times.retry),
            );
        }
    };
    // Dependencies: fresh reads, so that the wake-up of a dependency turning Ready sees it.
    let mut states = Vec::new();
    for dep in dependencies_of(ks) {
        let state = dependency_state(ctx, &dep).await;
        states.push((dep, state));
    }
    if let Some(message) = deps::first_not_ready(&states) {
        return fail(
            status,
            reason::DEPENDENCY_NOT_READY,
            message,
            false,
            Action::requeue(times.retry),
        );
    }
    let Some(dir) = artifact.dir.filter(|d| d.is_dir()) else {
        tracing::info!(kind = KIND, %key, revision = %artifact.revision, "the source's artifact is not on this replica's disk yet");
        return Outcome {
            status: old.clone(),
            action: Action::requeue(ARTIFACT_WAIT),
            worked: None,
            applied: 0,
            pruned: 0,
        };
    };
    let memory = ctx.memory(KIND, key);
    let facts = UnitFacts {
        new_revision: plan::new_content(
            old.last_attempted_revision.as_deref(),
            old.last_attempted_source_digest.as_deref(),
            &artifact.revision,
            &artifact.digest,
        ),
        spec_changed: generation != old.observed_generation,
        requested: requested.is_some() && requested != old.last_handled_reconcile_at,
        failed: !conditions::is_ready(&old.conditions),
        was_waiting_for_dependencies: matches!(
            conditions::ready_reason(&old.conditions),
            Some(reason::DEPENDENCY_NOT_READY | reason::ARTIFACT_FAILED | reason::DEPENDENCY_CYCLE)
        ),
        since_last_run: memory.last_run.map(|t| t.elapsed()),
        since_failure: memory.last_failure.map(|t| t.elapsed()),
        failures: memory.failures,
    };
    let plan = plan::plan_unit(&facts, times.interval, times.retry);
    let drift_only = match plan {
        Plan::Wait(wait) => {
            return Outcome {
                status: old.clone(),
                action: Action::requeue(wait),
                worked: None,
                applied: 0,
                pruned: 0,
            };
        }
        Plan::Apply => false,
        Plan::DriftCheck => true,
    };
    status.last_attempted_source_digest = Some(artifact.digest.clone());
    run_unit(
        ks,
        ctx,
        key,
        status,
        &artifact.revision,
        &dir,
        &times,
        drift_only,
    )
    .await
}

async fn source_artifact(
    ks: &Kustomization,
    ctx: &Context,
    key: &UnitKey,
) -> Result<SourceArtifact, String> {
    artifact_of(ctx, &ks.spec.source_ref, &key.namespace, "spec.sourceRef").await
}

async fn dependency_state(ctx: &Context, dep: &UnitKey) -> DependencyState {
    let found = match ctx
        .api::<Kustomization>(&dep.namespace)
        .get_opt(&dep.name)
        .await
    {
        Ok(found) => found,
        Err(e) => return DependencyState::NotReady(format!("cannot read it: {e}")),
    };
    let Some(dependency) = found else {
        return deps::dependency_state(None);
    };
    let status = dependency.status.clone().unwrap_or_default();
    let ready = gitops_core::api::status::find_condition(&status.conditions, "Ready");
    let source_revision = source_artifact(&dependency, ctx, &key_of(&dependency))
        .await
        .ok()
        .map(|a| a.revision);
    let view = DependencyView {
        ready: ready.is_some_and(|c| c.status == ConditionStatus::True),
        ready_message: ready.map(|c| c.message.clone()),
        generation: dependency.meta().generation,
        observed_generation: status.observed_generation,
        last_applied_revision: status.last_applied_revision,
        source_revision,
    };
    deps::dependency_state(Some(&view))
}

/// Renders, then applies (or, for a drift check, compares and heals or reports).
#[allow(clippy::too_many_arguments)]
async fn run_unit(
    ks: &Kustomization,
    ctx: &Context,
    key: &UnitKey,
    mut status: KustomizationStatus,
    revision: &str,
    dir: &std::path::Path,
    times: &Times,
    drift_only: bool,
) -> Outcome {
    let generation = ks.meta().generation;
    let object_ref = ks.object_ref(&());
    if !drift_only {
        // Tell watchers that work started (and when: dependents are measured against it).
        let before = status.clone();
        conditions::mark_reconciling(
            &mut status.conditions,
            format!("applying revision {revision}"),
            generation,
            &now(),
        );
        if let Err(e) = write_status(ctx, ks, key, &before, &status, false).await {
            tracing::warn!(%key, error = %chain(&e), "cannot mark the unit Reconciling");
        }
    }
    let outcome = |status, success: bool, action, applied, pruned| Outcome {
        status,
        action,
        worked: Some(success),
        applied,
        pruned,
    };
    let failure_action = |ctx: &Context| {
        ctx.remember(KIND, key, false);
        let failures = ctx.memory(KIND, key).failures;
        Action::requeue(plan::retry_delay(times.retry, failures))
    };
    status.last_attempted_revision = Some(revision.to_owned());
    let objects = match build(ks, ctx, key, dir).await {
        Ok(objects) => objects,
        Err((why, message)) => {
            let stalled = why == reason::BUILD_FAILED;
            conditions::mark_failed(
                &mut status.conditions,
                why,
                message,
                stalled,
                generation,
                &now(),
            );
            return outcome(status, false, failure_action(ctx), 0, 0);
        }
    };
    let discovery = match client_for(ks, ctx, key).await {
        Ok(client) => Discovery::new(client),
        Err((why, message, stalled)) => {
            conditions::mark_failed(
                &mut status.conditions,
                why,
                message,
                stalled,
                generation,
                &now(),
            );
            return outcome(status, false, failure_action(ctx), 0, 0);
        }
    };
    let apply_options = ApplyOptions {
        field_manager: FIELD_MANAGER.to_owned(),
        force: ks.spec.force,
        dry_run: false,
        concurrency: 16,
        default_namespace: key.namespace.clone(),
        timeout: times.timeout,
        on_change: None,
    };
    let mut healed = Vec::new();
    if drift_only {
        let (drifted, errors) = sync::drifted(
            discovery.clone(),
            objects.clone(),
            status.inventory.clone(),
            apply_options.clone(),
        )
        .await;
        for e in &errors {
            tracing::warn!(%key, error = %e, "cannot compare an object with the cluster");
        }
        ctx.remember(KIND, key, true);
        let nothing = drifted.is_empty() && errors.is_empty();
        if nothing || ks.spec.drift_policy.unwrap_or_default() == DriftPolicy::Report {
            conditions::mark_drift(
                &mut status.conditions,
                &drifted,
                &errors,
                generation,
                &now(),
            );
            return outcome(status, true, Action::requeue(times.interval), 0, 0);
        }
        healed = drifted;
        tracing::info!(%key, objects = %healed.join(", "), "healing drift");
    }
    let health = if ks.spec.wait {
        HealthChecks::All
    } else if ks.spec.health_checks.is_empty() {
        HealthChecks::None
    } else {
        match health_refs(ks, &objects, key) {
            Ok(refs) => HealthChecks::Listed(refs),
            Err(message) => {
                conditions::mark_failed(
                    &mut status.conditions,
                    reason::INVALID_SPEC,
                    message,
                    true,
                    generation,
                    &now(),
                );
                return outcome(status, false, failure_action(ctx), 0, 0);
            }
        }
    };
    let options = UnitSync {
        apply: apply_options,
        prune: ks.spec.prune,
        health,
        timeout: times.timeout,
    };
    let old_inventory = status.inventory.clone().unwrap_or_default();
    let synced = sync::sync_unit(discovery, objects, old_inventory, options).await;
    status.inventory = Some(synced.inventory.clone());
    let (applied, pruned) = (synced.applied(), synced.pruned());
    if !synced.errors.is_empty() {
        let message = format!("apply failed: {}", synced.errors.join("; "));
        conditions::mark_failed(
            &mut status.conditions,
            reason::RECONCILIATION_FAILED,
            message,
            false,
            generation,
            &now(),
        );
        return outcome(status, false, failure_action(ctx), applied, pruned);
    }
    if let Some(health) = synced
        .health
        .as_ref()
        .filter(|h| h.outcome != WaitOutcome::Ready)
    {
        let how = match health.outcome {
            WaitOutcome::Failed => "failed".to_owned(),
            _ => format!("timed out after {:?}", times.timeout),
        };
        let message = format!("health check {how}: {}", sync::describe_unhealthy(health));
        conditions::mark_failed(
            &mut status.conditions,
            reason::HEALTH_CHECK_FAILED,
            message,
            false,
            generation,
            &now(),
        );
        return outcome(status, false, failure_action(ctx), applied, pruned);
    }
    ctx.remember(KIND, key, true);
    status.last_applied_revision = Some(revision.to_owned());
    remove_condition(&mut status.conditions, DRIFTED);
    conditions::mark_ready(
        &mut status.conditions,
        reason::RECONCILIATION_SUCCEEDED,
        format!("Applied revision: {revision}"),
        generation,
        &now(),
    );
    if !healed.is_empty() {
        events::publish(
            ctx,
            &object_ref,
            true,
            "DriftHealed",
            "Reconcile",
            &format!(
                "re-applied {} drifted objects: {}",
                healed.len(),
                healed.join(", ")
            ),
        )
        .await;
    }
    outcome(
        status,
        true,
        Action::requeue(times.interval),
        applied,
        pruned,
    )
}

/// The client to apply with: the operator's or `spec.kubeConfig`'s, impersonating
/// `spec.serviceAccountName` when set. A failure is (reason, message, stalled).
async fn client_for(
    ks: &Kustomization,
    ctx: &Context,
    key: &UnitKey,
) -> Result<kube::Client, super::source::Failure> {
    super::remote::client(
        ctx,
        &key.namespace,
        ks.spec.kube_config.as_ref(),
        ks.spec.service_account_name.as_deref(),
    )
    .await
}

/// Why the unit's spec asks for something this operator does not do, if it does.
fn unsupported(ks: &Kustomization) -> Option<(&'static str, String)> {
    ks.spec.decryption.as_ref().map(|_| {
        (
            reason::DECRYPTION_NOT_SUPPORTED,
            "spec.decryption is set, but this operator does not decrypt (SOPS); the unit is not \
             applied, so that encrypted data does not reach the cluster as is: decrypt before \
             committing, or remove spec.decryption"
                .to_owned(),
        )
    })
}

/// Deletion: prune the inventory when `prune: true` (and not suspended).
async fn cleanup(ks: &Kustomization, ctx: &Context) -> Result<Action, Error> {
    let key = key_of(ks);
    ctx.forget(KIND, &key);
    let inventory = ks
        .status
        .as_ref()
        .and_then(|s| s.inventory.clone())
        .unwrap_or_default();
    if !ks.spec.prune || ks.spec.suspend || inventory.is_empty() {
        return Ok(Action::await_change());
    }
    super::prune_on_deletion(
        ctx,
        &ks.object_ref(&()),
        KIND,
        &key,
        ks.spec.kube_config.as_ref(),
        ks.spec.service_account_name.as_deref(),
        &inventory,
        "Pruned",
    )
    .await
}

async fn write_status(
    ctx: &Context,
    ks: &Kustomization,
    key: &UnitKey,
    old: &KustomizationStatus,
    status: &KustomizationStatus,
    force: bool,
) -> Result<(), Error> {
    if old == status && !force {
        return Ok(());
    }
    super::apply_status(
        ctx,
        ks,
        key,
        KIND,
        status,
        &old.conditions,
        &status.conditions,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::runtime::{reflector, watcher};
    use serde_json::json;

    fn unit(name: &str, depends_on: &[&str], source: &str) -> Kustomization {
        serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "Kustomization",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": source},
                "dependsOn": depends_on.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
            },
        }))
        .unwrap()
    }

    fn store(units: Vec<Kustomization>) -> Store<Kustomization> {
        let (reader, mut writer) = reflector::store();
        writer.apply_watcher_event(&watcher::Event::Init);
        for u in units {
            writer.apply_watcher_event(&watcher::Event::InitApply(u));
        }
        writer.apply_watcher_event(&watcher::Event::InitDone);
        reader
    }

    fn names(refs: Vec<ObjectRef<Kustomization>>) -> Vec<String> {
        let mut names: Vec<String> = refs.into_iter().map(|r| r.name).collect();
        names.sort();
        names
    }

    #[test]
    fn a_changed_unit_wakes_its_dependents_only() {
        let store = store(vec![
            unit("a", &[], "repo"),
            unit("b", &["a"], "repo"),
            unit("c", &["b"], "repo"),
            unit("d", &["a", "b"], "repo"),
        ]);
        let map = dependents_mapper(store);
        assert_eq!(names(map(unit("a", &[], "repo"))), ["b", "d"]);
        assert_eq!(names(map(unit("b", &["a"], "repo"))), ["c", "d"]);
        assert!(map(unit("c", &["b"], "repo")).is_empty());
    }

    #[test]
    fn a_changed_source_wakes_the_units_using_it() {
        let store = store(vec![
            unit("a", &[], "one"),
            unit("b", &[], "two"),
            unit("c", &[], "one"),
        ]);
        let map = source_mapper(store);
        let repo: GitRepository = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "GitRepository",
            "metadata": {"name": "one", "namespace": "ns"},
            "spec": {"url": "https://example.invalid/repo.git"},
        }))
        .unwrap();
        assert_eq!(names(map(repo.clone())), ["a", "c"]);
        let mut elsewhere = repo;
        elsewhere.metadata.namespace = Some("other".into());
        assert!(map(elsewhere).is_empty());
    }

    #[test]
    fn a_unit_with_decryption_is_refused_with_its_own_reason() {
        let mut ks = unit("a", &[], "repo");
        assert_eq!(unsupported(&ks), None);
        ks.spec.decryption = Some(json!({"provider": "sops", "secretRef": {"name": "sops-age"}}));
        let (why, message) = unsupported(&ks).unwrap();
        assert_eq!(why, "DecryptionNotSupported");
        assert!(message.starts_with("spec.decryption is set"), "{message}");
    }
}
