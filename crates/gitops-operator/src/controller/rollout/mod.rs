//! The Rollout controller: the cluster edge of [`gitops_rollout::reconcile`].
//!
//! Flagger's model for a `targetRef` Deployment ([`gitops_rollout::workload`]): the operator
//! creates `<target>-primary` (owned by the Rollout) from the target's pod template, the
//! services and the traffic objects at weight 0, waits until the primary is available and scales
//! the target to zero. From then on every wake-up (the Rollout, the target or the primary
//! changed, or the machine's `requeue_after` passed):
//! 1. observes ([`observe`]): the target's pod-template revision and readiness, the primary's
//!    revision and readiness, the analysis run measured now ([`analysis`]), a user command;
//! 2. asks the pure machine what to do, and the `confirm-rollout` / `confirm-promotion`
//!    webhooks ([`webhook`]) when the decision starts a revision or promotes it (a gate that
//!    says no holds the whole decision);
//! 3. acts ([`act`]): scales, copies the template into the primary, applies the provider's
//!    objects for the new traffic state (server-side apply, field manager `gitops-rollout`),
//!    starts and stops analysis runs, records an Event per phase change;
//! 4. writes the status subresource, which holds everything needed to carry on after a restart.

mod act;
mod analysis;
mod observe;
mod webhook;

use std::sync::Arc;
use std::time::Duration;

use gitops_core::api::ConditionStatus;
use gitops_rollout::object::{PROMOTED, READY, RolloutObjectStatus};
use gitops_rollout::spec::WebhookKind;
use gitops_rollout::{Phase, RolloutObject, plan::Plan};
use k8s_openapi::api::apps::v1::Deployment;
use kube::ResourceExt as _;
use kube::runtime::controller::Action;
use kube::runtime::reflector::{ObjectRef, Store};

use super::{Context, Error, now};
use crate::conditions;
use crate::deps::UnitKey;

/// The kind, for logs, metrics and errors.
pub(crate) const KIND: &str = "Rollout";
/// The field manager of what the controller applies to workloads and routers; apart from the
/// operator's own so that a unit applying the target from Git does not take back the replica
/// count and role label (it forces only the fields it sets).
pub(crate) const MANAGER: &str = "gitops-rollout";
/// How often to look again while the primary is not yet available (watches usually come first).
const INIT_POLL: Duration = Duration::from_secs(5);

/// Reconciles one Rollout.
pub(crate) async fn reconcile(
    object: Arc<RolloutObject>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let key = UnitKey::new(object.namespace().unwrap_or_default(), object.name_any());
    // The watch cache may not hold the status written by the previous reconcile yet; acting on
    // an older status would replay its decisions. Read the Rollout itself.
    let object = match ctx
        .api::<RolloutObject>(&key.namespace)
        .get_opt(&key.name)
        .await
    {
        Ok(Some(fresh)) => Arc::new(fresh),
        Ok(None) => return Ok(Action::await_change()),
        Err(source) => {
            return Err(Error::Read {
                kind: KIND,
                key,
                source,
            });
        }
    };
    let start = std::time::Instant::now();
    let rollout = pure(&object, &key);
    let old = object.status.clone().unwrap_or_default();
    let mut status = old.clone();
    status.observed_generation = object.metadata.generation;
    let result = run(&object, &rollout, &mut status, &ctx).await;
    let (action, success) = match result {
        Ok(action) => (action, true),
        Err(Failure {
            reason,
            message,
            retry,
        }) => {
            tracing::warn!(kind = KIND, namespace = %key.namespace, name = %key.name, reason, "{message}");
            set(
                &mut status,
                READY,
                ConditionStatus::False,
                reason,
                &message,
                object.metadata.generation,
            );
            let action = retry.map_or_else(Action::await_change, Action::requeue);
            (action, false)
        }
    };
    ctx.observer
        .observe_reconcile(KIND, start.elapsed().as_secs_f64(), success);
    let ready = status
        .conditions
        .iter()
        .any(|c| c.type_ == READY && c.status == ConditionStatus::True);
    ctx.observer
        .set_ready(KIND, &key.namespace, &key.name, ready);
    if status.rollout.stable_revision.is_some() {
        let phase = phase_reason(status.rollout.phase);
        ctx.observer.set_rollout(
            &key.namespace,
            &key.name,
            status.rollout.canary_weight,
            phase,
        );
    }
    if let Some(run) = &status.last_analysis
        && old
            .last_analysis
            .as_ref()
            .is_none_or(|o| o.name != run.name)
    {
        let result = format!("{:?}", run.result);
        ctx.observer
            .add_analysis(&key.namespace, &key.name, &result);
    }
    if old != status {
        super::apply_status(&ctx, &*object, &key, KIND, &status, &[], &[]).await?;
    }
    Ok(action)
}

/// Retries a failed reconcile after a short pause.
pub(crate) fn error_policy(
    _object: Arc<RolloutObject>,
    error: &Error,
    _ctx: Arc<Context>,
) -> Action {
    tracing::warn!(error = %super::chain(error), "Rollout reconcile failed");
    Action::requeue(Duration::from_secs(5))
}

/// Wakes the rollouts whose target or primary a Deployment is.
pub(crate) fn workload_mapper(
    store: Store<RolloutObject>,
) -> impl Fn(Deployment) -> Vec<ObjectRef<RolloutObject>> + Send + Sync + Clone + 'static {
    move |deployment: Deployment| {
        let namespace = deployment.namespace().unwrap_or_default();
        let name = deployment.name_any();
        store
            .state()
            .iter()
            .filter(|r| r.namespace().as_deref() == Some(namespace.as_str()))
            .filter(|r| {
                let target = &r.spec.target_ref.name;
                *target == name || gitops_rollout::workload::primary_name(target) == name
            })
            .map(|r| ObjectRef::from_obj(&**r))
            .collect()
    }
}

/// Why a reconcile stopped: the Ready reason, the message, and when to try again (`None`:
/// on the next change).
pub(crate) struct Failure {
    reason: &'static str,
    message: String,
    retry: Option<Duration>,
}

impl Failure {
    fn invalid(message: impl Into<String>) -> Self {
        Self {
            reason: conditions::reason::INVALID_SPEC,
            message: message.into(),
            retry: None,
        }
    }

    fn transient(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            reason,
            message: message.into(),
            retry: Some(Duration::from_secs(10)),
        }
    }
}

/// The rollout as the machine reads it.
fn pure(object: &RolloutObject, key: &UnitKey) -> gitops_rollout::Rollout {
    gitops_rollout::Rollout {
        api_version: gitops_rollout::spec::API_VERSION.to_owned(),
        kind: gitops_rollout::spec::KIND.to_owned(),
        metadata: gitops_rollout::spec::Metadata {
            name: key.name.clone(),
            namespace: Some(key.namespace.clone()),
            labels: object.labels().clone(),
            annotations: object.annotations().clone(),
        },
        spec: object.spec.clone(),
    }
}

async fn run(
    object: &RolloutObject,
    rollout: &gitops_rollout::Rollout,
    status: &mut RolloutObjectStatus,
    ctx: &Context,
) -> Result<Action, Failure> {
    Plan::build(rollout).map_err(|e| Failure::invalid(e.to_string()))?;
    let target_ref = &rollout.spec.target_ref;
    if target_ref.kind != "Deployment" || target_ref.api_version != "apps/v1" {
        return Err(Failure::invalid(format!(
            "spec.targetRef: expected an apps/v1 Deployment, found {} {}",
            target_ref.api_version, target_ref.kind
        )));
    }
    let now = unix_now();
    let workloads = observe::workloads(ctx, rollout).await?;
    let owner = owner_reference(object)?;
    let edge = act::Edge {
        ctx,
        rollout,
        owner: &owner,
        reference: kube::Resource::object_ref(object, &()),
    };
    if status.rollout.stable_revision.is_none()
        && !act::initialize(&edge, &workloads, status).await?
    {
        let generation = object.metadata.generation;
        let message = format!(
            "waiting for {} to become available",
            gitops_rollout::workload::primary_name(&target_ref.name)
        );
        set(
            status,
            READY,
            ConditionStatus::False,
            "Initializing",
            &message,
            generation,
        );
        return Ok(Action::requeue(INIT_POLL));
    }
    let run_result = analysis::tick(ctx, rollout, status, now).await;
    let (observations, command) = observe::observations(rollout, &workloads, status, run_result);
    let decision = gitops_rollout::reconcile(rollout, &status.rollout, &observations, now)
        .map_err(|e| Failure::invalid(e.to_string()))?;
    if let Some(kind) = webhook::gate_of(&status.rollout, &decision)
        && let Err(why) = webhook::ask(rollout, kind, phase_reason(decision.status.phase)).await
    {
        // Hold: nothing of this decision happens, the command stays unhandled, ask again soon.
        let reason = match kind {
            WebhookKind::ConfirmRollout => "WaitingForRolloutConfirmation",
            WebhookKind::ConfirmPromotion => "WaitingForPromotionConfirmation",
        };
        set(
            status,
            READY,
            ConditionStatus::False,
            reason,
            &why,
            object.metadata.generation,
        );
        return Ok(Action::requeue(webhook::RETRY));
    }
    if let Some(handled) = command {
        status.last_handled_command = Some(handled);
    }
    act::execute(&edge, &workloads, &decision, status, now).await?;
    status.rollout = decision.status.clone();
    status.target_revision = Some(observations.revision.clone());
    mark(status, object.metadata.generation);
    let next_measurement = status
        .analysis
        .as_ref()
        .and_then(analysis::next_due)
        .map(|at| at.saturating_sub(now));
    let requeue = match (decision.requeue_after, next_measurement) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    Ok(requeue.map_or_else(Action::await_change, |s| {
        Action::requeue(Duration::from_secs(s))
    }))
}

/// The Ready and Promoted conditions for the machine's phase.
fn mark(status: &mut RolloutObjectStatus, generation: Option<i64>) {
    let phase = status.rollout.phase;
    let message = status.rollout.message.clone();
    let reason = phase_reason(phase);
    let (ready, promoted, promoted_reason) = match phase {
        Phase::Healthy => (ConditionStatus::True, ConditionStatus::True, "Promoted"),
        Phase::Degraded | Phase::RolledBack => {
            (ConditionStatus::False, ConditionStatus::False, reason)
        }
        _ => (
            ConditionStatus::False,
            ConditionStatus::False,
            "Progressing",
        ),
    };
    set(status, READY, ready, reason, &message, generation);
    set(
        status,
        PROMOTED,
        promoted,
        promoted_reason,
        &message,
        generation,
    );
}

/// The condition reason of a phase: its name.
fn phase_reason(phase: Phase) -> &'static str {
    match phase {
        Phase::Progressing => "Progressing",
        Phase::Paused => "Paused",
        Phase::Analyzing => "Analyzing",
        Phase::Promoting => "Promoting",
        Phase::Healthy => "Healthy",
        Phase::Degraded => "Degraded",
        Phase::RolledBack => "RolledBack",
    }
}

fn set(
    status: &mut RolloutObjectStatus,
    type_: &str,
    value: ConditionStatus,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) {
    conditions::set(
        &mut status.conditions,
        type_,
        value,
        reason,
        message,
        generation,
        &now(),
    );
}

/// The Rollout as the controlling owner of what the controller creates.
fn owner_reference(object: &RolloutObject) -> Result<serde_json::Value, Failure> {
    let reference = kube::Resource::controller_owner_ref(object, &())
        .ok_or_else(|| Failure::transient("ReconciliationFailed", "the Rollout has no uid yet"))?;
    serde_json::to_value(reference)
        .map_err(|e| Failure::transient("ReconciliationFailed", e.to_string()))
}

/// Seconds since the Unix epoch, the machine's clock.
fn unix_now() -> gitops_rollout::Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
