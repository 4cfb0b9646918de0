//! The HelmRelease controller: a chart from a GitRepository path or a HelmRepository (by name
//! and version range, [`super::repochart`]) rendered by the native Helm engine with `values` and
//! `valuesFrom`, applied as one unit with its inventory in `status.inventory` (no Helm release
//! Secrets), pruned like a unit, every object waited for, uninstalled (pruned) on deletion;
//! `dependsOn` (other HelmReleases) event-driven as for units; pre/post install and upgrade
//! hooks in Helm's order ([`super::hooks`]); upgrade failure remediation by rollback to the last
//! good revision and values (`spec.upgrade.remediation`, [`super::rollback`]). Not yet:
//! uninstall remediation, test hooks, `chartRef`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gitops_core::Object;
use gitops_core::api::status::{DRIFTED, REQUESTED_AT_ANNOTATION, remove_condition};
use gitops_core::api::{HelmRelease, HelmReleaseStatus};
use gitops_core::cluster::{ApplyOptions, Discovery, WaitOutcome};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::Event as Finalizer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Resource as _, ResourceExt as _};
use serde_json::Value;

use super::chart::{render, values};
use super::hooks::{self, Hook};
use super::inputs::artifact_of;
use super::release_drift::{self, DriftMode, drift_mode};
use super::repochart::locate;
use super::rollback::{Rollback, remember_good};
use super::sync::{self, HealthChecks, UnitSync};
use super::{Context, Error, FIELD_MANAGER, chain, now};
use crate::conditions::{self, reason};
use crate::deps::{self, DependencyGraph, DependencyState, DependencyView, UnitKey};
use crate::duration;
use crate::plan::{self, Plan, UnitFacts};

const KIND: &str = "HelmRelease";
const ARTIFACT_WAIT: Duration = Duration::from_secs(2);
/// Ready reason after a failed upgrade was rolled back to the last good revision.
const ROLLED_BACK: &str = "RolledBack";
/// First retry after a failure; it doubles with each further failure.
const RETRY: Duration = Duration::from_secs(5);

fn key_of(hr: &HelmRelease) -> UnitKey {
    UnitKey::new(hr.namespace().unwrap_or_default(), hr.name_any())
}

/// Maps a changed source of kind `kind` (GitRepository or HelmRepository) to the releases whose
/// chart comes from it.
pub(crate) fn source_mapper<K: kube::Resource>(
    store: Store<HelmRelease>,
    kind: &'static str,
) -> impl Fn(K) -> Vec<ObjectRef<HelmRelease>> + Send + Sync + 'static {
    move |repo| {
        let repo_ns = repo.namespace().unwrap_or_default();
        let repo_name = repo.name_any();
        store
            .state()
            .iter()
            .filter(|hr| {
                hr.spec.chart.as_ref().is_some_and(|c| {
                    let source = &c.spec.source_ref;
                    let ns = source
                        .namespace
                        .clone()
                        .unwrap_or_else(|| hr.namespace().unwrap_or_default());
                    source.kind == kind && source.name == repo_name && ns == repo_ns
                })
            })
            .map(|hr| ObjectRef::from_obj(&**hr))
            .collect()
    }
}

fn dependencies_of(hr: &HelmRelease) -> Vec<UnitKey> {
    let namespace = hr.namespace().unwrap_or_default();
    hr.spec
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

/// Maps a changed HelmRelease to the releases that depend on it, so that they start as soon as
/// it turns Ready.
pub(crate) fn dependents_mapper(
    store: Store<HelmRelease>,
) -> impl Fn(HelmRelease) -> Vec<ObjectRef<HelmRelease>> + Send + Sync + 'static {
    move |changed| {
        let graph = DependencyGraph::new(
            store
                .state()
                .iter()
                .map(|r| (key_of(r), dependencies_of(r))),
        );
        graph
            .dependents_of(&key_of(&changed))
            .into_iter()
            .map(|k| ObjectRef::new(&k.name).within(&k.namespace))
            .collect()
    }
}

async fn dependency_state(ctx: &Context, dep: &UnitKey) -> DependencyState {
    let found = match ctx
        .api::<HelmRelease>(&dep.namespace)
        .get_opt(&dep.name)
        .await
    {
        Ok(found) => found,
        Err(e) => return DependencyState::NotReady(format!("cannot read it: {e}")),
    };
    let Some(release) = found else {
        return deps::dependency_state(None);
    };
    let status = release.status.clone().unwrap_or_default();
    let ready = gitops_core::api::status::find_condition(&status.conditions, "Ready");
    let source_revision = match &release.spec.chart {
        // A repository chart's version is known only once the dependency chose it.
        Some(chart) if chart.spec.source_ref.kind == "HelmRepository" => None,
        Some(chart) => artifact_of(
            ctx,
            &chart.spec.source_ref,
            &dep.namespace,
            "spec.chart.spec.sourceRef",
        )
        .await
        .ok()
        .map(|a| a.revision),
        None => None,
    };
    let view = DependencyView {
        ready: ready.is_some_and(|c| c.status == gitops_core::api::ConditionStatus::True),
        ready_message: ready.map(|c| c.message.clone()),
        generation: release.meta().generation,
        observed_generation: status.observed_generation,
        last_applied_revision: status.last_applied_revision,
        source_revision,
    };
    deps::dependency_state(Some(&view))
}

/// Reconciles one HelmRelease (through the finalizer, so that deletion uninstalls).
pub(crate) async fn reconcile(hr: Arc<HelmRelease>, ctx: Arc<Context>) -> Result<Action, Error> {
    let key = key_of(&hr);
    let api = ctx.api::<HelmRelease>(&key.namespace);
    super::finalized(&api, hr, key, KIND, |event| async {
        match event {
            Finalizer::Apply(hr) => apply(&hr, &ctx).await,
            Finalizer::Cleanup(hr) => cleanup(&hr, &ctx).await,
        }
    })
    .await
}

/// Retries after an error of [`reconcile`].
pub(crate) fn error_policy(hr: Arc<HelmRelease>, error: &Error, ctx: Arc<Context>) -> Action {
    tracing::warn!(kind = KIND, key = %key_of(&hr), error = %chain(error), "reconcile failed");
    let failures = ctx.memory(KIND, &key_of(&hr)).failures;
    Action::requeue(plan::retry_delay(Duration::from_secs(5), failures.max(1)))
}

fn release_name(hr: &HelmRelease) -> String {
    if let Some(name) = &hr.spec.release_name {
        return name.clone();
    }
    match &hr.spec.target_namespace {
        Some(ns) => format!("{ns}-{}", hr.name_any()),
        None => hr.name_any(),
    }
}

async fn apply(hr: &HelmRelease, ctx: &Context) -> Result<Action, Error> {
    let key = key_of(hr);
    if hr.spec.suspend {
        return Ok(Action::await_change());
    }
    let start = Instant::now();
    let old = hr.status.clone().unwrap_or_default();
    let generation = hr.meta().generation;
    let requested = hr.annotations().get(REQUESTED_AT_ANNOTATION).cloned();
    let mut status = old.clone();
    status.observed_generation = generation;
    if requested.is_some() {
        status.last_handled_reconcile_at.clone_from(&requested);
    }
    let interval = match duration::field(
        hr.spec.interval.as_deref(),
        "interval",
        ctx.settings.default_interval,
    ) {
        Ok(i) => i.max(Duration::from_secs(1)),
        Err(message) => {
            return invalid_spec(ctx, hr, &key, &old, status, message).await;
        }
    };
    let timeout = match duration::field(
        hr.spec.timeout.as_deref(),
        "timeout",
        Duration::from_secs(300),
    ) {
        Ok(t) => t,
        Err(message) => {
            return invalid_spec(ctx, hr, &key, &old, status, message).await;
        }
    };
    let Some(chart) = &hr.spec.chart else {
        let message = "spec.chart is required (spec.chartRef is not supported yet)".to_owned();
        return invalid_spec(ctx, hr, &key, &old, status, message).await;
    };
    let located = match locate(ctx, &chart.spec, &key.namespace, None).await {
        Ok(Some(located)) => located,
        Ok(None) => return Ok(Action::requeue(ARTIFACT_WAIT)),
        Err(message) => {
            return fail(
                ctx,
                hr,
                &key,
                &old,
                status,
                reason::ARTIFACT_FAILED,
                message,
                false,
                Action::requeue(interval),
            )
            .await;
        }
    };
    // dependsOn names other HelmReleases (as in Flux); fresh reads, as for units.
    let mut states = Vec::new();
    for dep in dependencies_of(hr) {
        let state = dependency_state(ctx, &dep).await;
        states.push((dep, state));
    }
    if let Some(message) = deps::first_not_ready(&states) {
        return fail(
            ctx,
            hr,
            &key,
            &old,
            status,
            reason::DEPENDENCY_NOT_READY,
            message,
            false,
            Action::requeue(interval),
        )
        .await;
    }
    let values = match values(hr, ctx, &key).await {
        Ok(v) => v,
        Err(message) => {
            return fail(
                ctx,
                hr,
                &key,
                &old,
                status,
                "ValuesFailed",
                message,
                false,
                Action::requeue(interval),
            )
            .await;
        }
    };
    let values_text = serde_json::to_string(&values).unwrap_or_default();
    let digest = format!(
        "sha256:{}",
        gitops_core::git::digest::sha256_hex(values_text.as_bytes())
    );
    let memory = ctx.memory(KIND, &key);
    let facts = UnitFacts {
        new_revision: old.last_attempted_revision.as_deref() != Some(located.revision.as_str())
            || old.last_attempted_values_digest.as_deref() != Some(digest.as_str()),
        spec_changed: generation != old.observed_generation,
        requested: requested.is_some() && requested != old.last_handled_reconcile_at,
        failed: !conditions::is_ready(&old.conditions),
        was_waiting_for_dependencies: matches!(
            conditions::ready_reason(&old.conditions),
            Some(reason::ARTIFACT_FAILED | reason::DEPENDENCY_NOT_READY)
        ),
        since_last_run: memory.last_run.map(|t| t.elapsed()),
        since_failure: memory.last_failure.map(|t| t.elapsed()),
        failures: memory.failures,
    };
    // After a rollback, the failed revision is not tried again until something changes.
    if conditions::ready_reason(&old.conditions) == Some(ROLLED_BACK)
        && !(facts.new_revision || facts.spec_changed || facts.requested)
    {
        return Ok(Action::requeue(interval));
    }
    let plan = plan::plan_unit(&facts, interval, RETRY.min(interval));
    if let Plan::Wait(wait) = plan {
        return Ok(Action::requeue(wait));
    }
    let namespace = hr
        .spec
        .target_namespace
        .clone()
        .unwrap_or_else(|| key.namespace.clone());
    // Interval runs re-apply (drift is healed) unless driftDetection says warn or disabled.
    if plan == Plan::DriftCheck {
        let mode = match drift_mode(hr.spec.drift_detection.as_ref(), hr.spec.drift_policy) {
            Ok(mode) => mode,
            Err(message) => return invalid_spec(ctx, hr, &key, &old, status, message).await,
        };
        if mode != DriftMode::Heal {
            ctx.remember(KIND, &key, true);
            if mode == DriftMode::Warn {
                let rendered = render(
                    ctx.settings.render_limits,
                    &located.root,
                    &located.chart,
                    &located.values_files,
                    &values_text,
                    release_name(hr),
                    namespace.clone(),
                )
                .await;
                let client = client_for(hr, ctx, &key)
                    .await
                    .map_err(|(_, message, _)| message);
                match (rendered, client) {
                    (Ok((objects, _)), Ok(client)) => {
                        let discovery = Discovery::new(client);
                        release_drift::report(
                            &discovery,
                            &namespace,
                            objects,
                            generation,
                            &mut status,
                        )
                        .await;
                    }
                    (Err(e), _) | (_, Err(e)) => {
                        tracing::warn!(%key, error = %e, "cannot check the release for drift");
                    }
                }
                write_status(ctx, hr, &key, &old, &status, false).await?;
            }
            return Ok(Action::requeue(interval));
        }
    }
    let before = status.clone();
    conditions::mark_reconciling(
        &mut status.conditions,
        format!("applying revision {}", located.revision),
        generation,
        &now(),
    );
    if let Err(e) = write_status(ctx, hr, &key, &before, &status, false).await {
        tracing::warn!(%key, error = %chain(&e), "cannot mark the release Reconciling");
    }
    status.last_attempted_revision = Some(located.revision.clone());
    status.last_attempted_values_digest = Some(digest);
    let installing = old.last_applied_revision.is_none();
    let (objects, hooks) = match render(
        ctx.settings.render_limits,
        &located.root,
        &located.chart,
        &located.values_files,
        &values_text,
        release_name(hr),
        namespace.clone(),
    )
    .await
    {
        Ok(o) => o,
        Err(message) => {
            let why = if installing {
                "InstallFailed"
            } else {
                "UpgradeFailed"
            };
            return finish_failure(ctx, hr, &key, &old, status, why, message, start, interval)
                .await;
        }
    };
    let discovery = match client_for(hr, ctx, &key).await {
        Ok(c) => Discovery::new(c),
        Err((_, message, true)) => {
            return invalid_spec(ctx, hr, &key, &old, status, message).await;
        }
        Err((why, message, false)) => {
            return finish_failure(ctx, hr, &key, &old, status, why, message, start, interval)
                .await;
        }
    };
    if let Err(message) = roll_out(
        ctx,
        &discovery,
        &namespace,
        timeout,
        objects,
        &hooks,
        installing,
        &mut status,
    )
    .await
    {
        let mut message = message;
        let mut why = if installing {
            "InstallFailed"
        } else {
            "UpgradeFailed"
        };
        let failures = ctx.memory(KIND, &key).failures + 1;
        if !installing && remediate(hr.spec.upgrade.as_ref(), failures) {
            let rollback = Rollback {
                chart,
                values: &values_text,
                release: release_name(hr),
                namespace: &namespace,
                timeout,
            };
            match rollback
                .run(
                    ctx,
                    &key,
                    &discovery,
                    old.last_applied_revision.as_deref(),
                    &mut status,
                )
                .await
            {
                Ok(to) => {
                    message = format!("{message}; rolled back to {to}");
                    why = ROLLED_BACK;
                }
                Err(e) => message = format!("{message}; rollback failed: {e}"),
            }
        }
        return finish_failure(ctx, hr, &key, &old, status, why, message, start, interval).await;
    }
    ctx.remember(KIND, &key, true);
    status.failures = None;
    remove_condition(&mut status.conditions, DRIFTED);
    if old.last_applied_revision.as_deref() != Some(located.revision.as_str())
        || old.last_applied_values_digest != status.last_attempted_values_digest
    {
        // Without the record a later rollback still works, with the values of its time.
        match remember_good(ctx, hr, &key, &located.revision, &values_text).await {
            Ok(()) => status
                .last_applied_values_digest
                .clone_from(&status.last_attempted_values_digest),
            Err(e) => tracing::warn!(%key, error = %e, "cannot record the release's good state"),
        }
    }
    status.last_applied_revision = Some(located.revision.clone());
    let (why, verb) = if installing {
        ("InstallSucceeded", "install")
    } else {
        ("UpgradeSucceeded", "upgrade")
    };
    conditions::mark_ready(
        &mut status.conditions,
        why,
        format!(
            "Helm {verb} succeeded for release {}/{} with chart {} at {}",
            key.namespace,
            release_name(hr),
            chart.spec.chart,
            located.revision
        ),
        generation,
        &now(),
    );
    write_status(ctx, hr, &key, &old, &status, true).await?;
    ctx.observer
        .observe_reconcile(KIND, start.elapsed().as_secs_f64(), true);
    ctx.observer
        .set_ready(KIND, &key.namespace, &key.name, true);
    tracing::info!(kind = KIND, namespace = %key.namespace, name = %key.name, revision = %located.revision, duration_ms = start.elapsed().as_millis() as u64, "reconciled");
    Ok(Action::requeue(interval))
}

#[allow(clippy::too_many_arguments)]
async fn finish_failure(
    ctx: &Context,
    hr: &HelmRelease,
    key: &UnitKey,
    old: &HelmReleaseStatus,
    mut status: HelmReleaseStatus,
    why: &str,
    message: String,
    start: Instant,
    interval: Duration,
) -> Result<Action, Error> {
    ctx.remember(KIND, key, false);
    let failures = ctx.memory(KIND, key).failures;
    status.failures = Some(i64::from(failures));
    conditions::mark_failed(
        &mut status.conditions,
        why,
        message,
        false,
        hr.meta().generation,
        &now(),
    );
    write_status(ctx, hr, key, old, &status, true).await?;
    ctx.observer
        .observe_reconcile(KIND, start.elapsed().as_secs_f64(), false);
    ctx.observer
        .set_ready(KIND, &key.namespace, &key.name, false);
    // No retryInterval in the spec: back off from 5 s (a namespace made by another unit may
    // just be late), never beyond the interval.
    Ok(Action::requeue(
        plan::retry_delay(RETRY, failures).min(interval),
    ))
}

/// A spec that cannot work until it is edited: Stalled, and no retry before the next change.
async fn invalid_spec(
    ctx: &Context,
    hr: &HelmRelease,
    key: &UnitKey,
    old: &HelmReleaseStatus,
    status: HelmReleaseStatus,
    message: String,
) -> Result<Action, Error> {
    let action = Action::await_change();
    fail(
        ctx,
        hr,
        key,
        old,
        status,
        reason::INVALID_SPEC,
        message,
        true,
        action,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn fail(
    ctx: &Context,
    hr: &HelmRelease,
    key: &UnitKey,
    old: &HelmReleaseStatus,
    mut status: HelmReleaseStatus,
    why: &str,
    message: String,
    stalled: bool,
    action: Action,
) -> Result<Action, Error> {
    conditions::mark_failed(
        &mut status.conditions,
        why,
        message,
        stalled,
        hr.meta().generation,
        &now(),
    );
    write_status(ctx, hr, key, old, &status, false).await?;
    ctx.observer
        .set_ready(KIND, &key.namespace, &key.name, false);
    Ok(action)
}

/// Runs the pre hooks, applies the objects (pruning what left, waiting for all), then the post
/// hooks; records the inventory in `status`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn roll_out(
    ctx: &Context,
    discovery: &Discovery,
    namespace: &str,
    timeout: Duration,
    objects: Vec<Object>,
    hooks: &[Hook],
    installing: bool,
    status: &mut HelmReleaseStatus,
) -> Result<(), String> {
    let (pre, post) = if installing {
        ("pre-install", "post-install")
    } else {
        ("pre-upgrade", "post-upgrade")
    };
    let apply = ApplyOptions {
        field_manager: FIELD_MANAGER.to_owned(),
        default_namespace: namespace.to_owned(),
        timeout,
        ..ApplyOptions::default()
    };
    // Hooks are recreated (before-hook-creation) or forced when their template changed.
    let hook_apply = ApplyOptions {
        force: true,
        ..apply.clone()
    };
    let pre_hooks: Vec<Hook> = hooks::for_event(hooks, pre).into_iter().cloned().collect();
    hooks::run(discovery.clone(), pre_hooks, hook_apply.clone(), timeout).await?;
    let options = UnitSync {
        apply,
        prune: true,
        health: HealthChecks::All,
        timeout,
    };
    let synced = sync::sync_unit(
        discovery.clone(),
        objects,
        status.inventory.clone().unwrap_or_default(),
        options,
    )
    .await;
    status.inventory = Some(synced.inventory.clone());
    ctx.observer.add_applied(KIND, synced.applied());
    ctx.observer.add_pruned(KIND, synced.pruned());
    if !synced.errors.is_empty() {
        return Err(format!("apply failed: {}", synced.errors.join("; ")));
    }
    if let Some(health) = synced
        .health
        .as_ref()
        .filter(|h| h.outcome != WaitOutcome::Ready)
    {
        return Err(format!(
            "health check failed: {}",
            sync::describe_unhealthy(health)
        ));
    }
    let post_hooks: Vec<Hook> = hooks::for_event(hooks, post).into_iter().cloned().collect();
    hooks::run(discovery.clone(), post_hooks, hook_apply, timeout).await?;
    Ok(())
}

/// Whether a failed upgrade (the `failures`th in a row) is remediated by a rollback, from
/// `spec.upgrade.remediation` as Flux reads it: `retries` (default 0; negative: retry forever),
/// `remediateLastFailure` (default: whether `retries` > 0), `strategy` (`rollback`, the default,
/// or `uninstall`, not supported). Without `remediation` nothing is rolled back.
fn remediate(upgrade: Option<&Value>, failures: u32) -> bool {
    let Some(remediation) = upgrade.and_then(|u| u.get("remediation")) else {
        return false;
    };
    let retries = remediation
        .get("retries")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let last = remediation
        .get("remediateLastFailure")
        .and_then(Value::as_bool)
        .unwrap_or(retries > 0);
    let strategy = remediation
        .get("strategy")
        .and_then(Value::as_str)
        .unwrap_or("rollback");
    strategy == "rollback" && retries >= 0 && last && i64::from(failures) > retries
}

/// The client to apply with: the operator's or `spec.kubeConfig`'s, impersonating
/// `spec.serviceAccountName` when set. A failure is (reason, message, stalled).
async fn client_for(
    hr: &HelmRelease,
    ctx: &Context,
    key: &UnitKey,
) -> Result<kube::Client, super::source::Failure> {
    super::remote::client(
        ctx,
        &key.namespace,
        hr.spec.kube_config.as_ref(),
        hr.spec.service_account_name.as_deref(),
    )
    .await
}

async fn cleanup(hr: &HelmRelease, ctx: &Context) -> Result<Action, Error> {
    let key = key_of(hr);
    ctx.forget(KIND, &key);
    let inventory = hr
        .status
        .as_ref()
        .and_then(|s| s.inventory.clone())
        .unwrap_or_default();
    if hr.spec.suspend || inventory.is_empty() {
        return Ok(Action::await_change());
    }
    super::prune_on_deletion(
        ctx,
        &hr.object_ref(&()),
        KIND,
        &key,
        hr.spec.kube_config.as_ref(),
        hr.spec.service_account_name.as_deref(),
        &inventory,
        "Uninstalled",
    )
    .await
}

async fn write_status(
    ctx: &Context,
    hr: &HelmRelease,
    key: &UnitKey,
    old: &HelmReleaseStatus,
    status: &HelmReleaseStatus,
    force: bool,
) -> Result<(), Error> {
    if old == status && !force {
        return Ok(());
    }
    super::apply_status(
        ctx,
        hr,
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
    use serde_json::json;

    #[test]
    fn upgrades_are_rolled_back_only_as_remediation_asks() {
        assert!(!remediate(None, 5));
        let once = json!({"remediation": {"retries": 0, "remediateLastFailure": true}});
        assert!(remediate(Some(&once), 1));
        let no_last = json!({"remediation": {"retries": 0}});
        assert!(!remediate(Some(&no_last), 3));
        let twice = json!({"remediation": {"retries": 2}});
        assert!(!remediate(Some(&twice), 2));
        assert!(remediate(Some(&twice), 3));
        let forever = json!({"remediation": {"retries": -1, "remediateLastFailure": true}});
        assert!(!remediate(Some(&forever), 100));
        let uninstall = json!({"remediation": {"retries": 1, "strategy": "uninstall"}});
        assert!(!remediate(Some(&uninstall), 5));
    }
}
