//! Carrying out what the machine decided: server-side apply of the target's scale, the primary,
//! and the traffic objects ([`gitops_rollout::providers::render`]), analysis runs started and
//! stopped, an Event per phase change.

use gitops_core::Object;
use gitops_rollout::object::RolloutObjectStatus;
use gitops_rollout::providers::{self, TrafficState};
use gitops_rollout::spec::ProviderKind;
use gitops_rollout::{Action, Decision, Rollout, Timestamp, workload};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::observe::Workloads;
use super::{Failure, MANAGER, analysis, phase_reason};
use crate::controller::{Context, events};

/// What every action needs: the context, the rollout, and its owner reference.
pub(crate) struct Edge<'a> {
    pub(crate) ctx: &'a Context,
    pub(crate) rollout: &'a Rollout,
    /// The Rollout as controlling owner (JSON of an `OwnerReference`).
    pub(crate) owner: &'a Value,
    /// The Rollout, for Events.
    pub(crate) reference: ObjectReference,
}

/// First contact: the primary from the target, the services and traffic objects at weight 0;
/// once the primary is available, the target scaled to zero. True when done.
pub(crate) async fn initialize(
    edge: &Edge<'_>,
    workloads: &Workloads,
    status: &mut RolloutObjectStatus,
) -> Result<bool, Failure> {
    let replicas = *status
        .replicas
        .get_or_insert_with(|| workloads.target_replicas().max(1));
    if !workloads.primary_current() {
        let primary = workload::primary(edge.rollout, &workloads.target, replicas, edge.owner);
        apply(edge, primary).await?;
        traffic(edge, &TrafficState::default()).await?;
        return Ok(false);
    }
    traffic(edge, &TrafficState::default()).await?;
    apply(edge, workload::target_patch(edge.rollout, 0)).await?;
    status.rollout.canary_replicas = 0;
    let primary = workload::primary_name(&edge.rollout.spec.target_ref.name);
    events::publish(
        edge.ctx,
        &edge.reference,
        true,
        "Initialized",
        "Rollout",
        &format!("{primary} is available; the target is scaled to zero"),
    )
    .await;
    Ok(true)
}

/// Applies `decision`'s actions in order. The traffic objects are applied once, at the first
/// traffic action, for the decision's final state (and at the end when no action changed
/// traffic, so that an object edited by hand comes back).
pub(crate) async fn execute(
    edge: &Edge<'_>,
    workloads: &Workloads,
    decision: &Decision,
    status: &mut RolloutObjectStatus,
    now: Timestamp,
) -> Result<(), Failure> {
    let state = TrafficState::from_status(&decision.status);
    let mut routed = false;
    for action in &decision.actions {
        tracing::info!(namespace = edge.rollout.namespace(), rollout = %edge.rollout.metadata.name, "{action}");
        match action {
            Action::ScaleCanary { replicas } => {
                apply(edge, workload::target_patch(edge.rollout, *replicas)).await?;
            }
            Action::ScaleStable { replicas } => {
                apply(edge, workload::primary_scale_patch(edge.rollout, *replicas)).await?;
            }
            Action::PromoteStable { revision } => {
                if workloads.revision() != *revision {
                    tracing::warn!(wanted = %revision, target = %workloads.revision(), "the target changed; copying its current template");
                }
                let replicas = status
                    .replicas
                    .unwrap_or_else(|| workloads.target_replicas());
                let primary =
                    workload::primary(edge.rollout, &workloads.target, replicas, edge.owner);
                apply(edge, primary).await?;
            }
            Action::SetWeight { .. }
            | Action::SetHeaderRoute { .. }
            | Action::ClearHeaderRoute
            | Action::SwitchService { .. } => {
                if !routed {
                    traffic(edge, &state).await?;
                    routed = true;
                }
            }
            Action::StartAnalysis {
                run,
                templates,
                args,
            } => {
                let (record, error) = analysis::start(edge.rollout, run, templates, args, now);
                if let Some(error) = error {
                    events::publish(
                        edge.ctx,
                        &edge.reference,
                        false,
                        "AnalysisFailed",
                        "Analysis",
                        &format!("analysis run {run}: {error}"),
                    )
                    .await;
                }
                status.analysis = Some(record);
            }
            Action::StopAnalysis { run } => {
                if status.analysis.as_ref().is_some_and(|r| r.name == *run) {
                    status.last_analysis = status.analysis.take();
                }
            }
            Action::Mark { phase, message } => {
                events::publish(
                    edge.ctx,
                    &edge.reference,
                    !phase.is_failed(),
                    phase_reason(*phase),
                    "Rollout",
                    message,
                )
                .await;
            }
        }
    }
    // A run the machine is done with (it went on, or stopped looking) is kept as the last one.
    if decision.status.analysis_run.is_none()
        && let Some(done) = status.analysis.take()
    {
        status.last_analysis = Some(done);
    }
    if !routed {
        traffic(edge, &state).await?;
    }
    // A unit applying the target from Git sets its replica count again: take it back.
    let scaled = decision
        .actions
        .iter()
        .any(|a| matches!(a, Action::ScaleCanary { .. }));
    let wanted = decision.status.canary_replicas;
    if !scaled && workloads.target["spec"]["replicas"].as_u64() != Some(u64::from(wanted)) {
        apply(edge, workload::target_patch(edge.rollout, wanted)).await?;
    }
    Ok(())
}

/// Applies the objects of the rollout's provider for `state`, and the apex, stable and canary
/// Services (plain provider) when the provider is another one.
async fn traffic(edge: &Edge<'_>, state: &TrafficState) -> Result<(), Failure> {
    let routing = |e: providers::ProviderError| Failure::invalid(e.to_string());
    let mut objects = providers::render(edge.rollout, state).map_err(routing)?;
    let provider = edge
        .rollout
        .spec
        .traffic_routing
        .as_ref()
        .map_or(ProviderKind::Plain, |r| r.provider());
    if provider != ProviderKind::Plain {
        // The services select pods; the header route is the router's business.
        let services = TrafficState {
            header_route: Vec::new(),
            ..state.clone()
        };
        objects.extend(
            providers::render_with(edge.rollout, ProviderKind::Plain, &services)
                .map_err(routing)?,
        );
    }
    for object in objects {
        let mut value = object.into_value();
        value["metadata"]["ownerReferences"] = json!([edge.owner]);
        apply(edge, value).await?;
    }
    Ok(())
}

/// Server-side applies one object as [`MANAGER`], forcing ownership of the fields it sets.
async fn apply(edge: &Edge<'_>, value: Value) -> Result<(), Failure> {
    let object = Object::from_value(value)
        .map_err(|e| Failure::transient("ReconciliationFailed", e.to_string()))?;
    let id = object.object_ref();
    let failed = |e: String| Failure::transient("ReconciliationFailed", format!("{id}: {e}"));
    // Discovery errors name the object already.
    let resource = edge
        .ctx
        .discovery
        .require(&id)
        .await
        .map_err(|e| Failure::transient("ReconciliationFailed", e.to_string()))?;
    resource
        .api(&edge.ctx.client, id.namespace.as_deref())
        .patch(
            &id.name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(object.as_map()),
        )
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(())
}
