//! What the cluster shows: the target and primary Deployments, and the machine's
//! [`Observations`] made of them, the analysis result and a user command.

use std::collections::BTreeMap;

use gitops_core::Object;
use gitops_core::health::{Status, health};
use gitops_rollout::object::{COMMAND_ANNOTATION, RolloutObjectStatus, parse_command};
use gitops_rollout::workload::{REVISION_ANNOTATION, primary_name, revision};
use gitops_rollout::{Observations, Rollout, RunResult};
use k8s_openapi::api::apps::v1::Deployment;
use serde_json::Value;

use super::Failure;
use crate::controller::Context;

/// The live target and primary Deployments, as JSON.
pub(crate) struct Workloads {
    /// The target (from Git).
    pub(crate) target: Value,
    /// The primary, once created.
    pub(crate) primary: Option<Value>,
}

impl Workloads {
    /// The target's pod-template revision.
    pub(crate) fn revision(&self) -> String {
        revision(&self.target["spec"]["template"])
    }

    /// The target's replica count (1 when unset, as the API defaults it).
    pub(crate) fn target_replicas(&self) -> u32 {
        replicas(&self.target).unwrap_or(1)
    }

    /// Whether the primary runs the target's current revision, fully rolled out and available.
    pub(crate) fn primary_current(&self) -> bool {
        self.primary.as_ref().is_some_and(|p| {
            annotation(p, REVISION_ANNOTATION) == Some(self.revision()) && rolled_out(p)
        })
    }
}

/// Reads the target and the primary.
pub(crate) async fn workloads(ctx: &Context, rollout: &Rollout) -> Result<Workloads, Failure> {
    let api = ctx.api::<Deployment>(rollout.namespace());
    let target_name = &rollout.spec.target_ref.name;
    let read = |name: String| {
        let api = api.clone();
        async move {
            api.get_opt(&name).await.map_err(|e| {
                Failure::transient(
                    "ReconciliationFailed",
                    format!("cannot read Deployment {}/{name}: {e}", rollout.namespace()),
                )
            })
        }
    };
    let Some(target) = read(target_name.clone()).await? else {
        return Err(Failure::transient(
            "TargetNotFound",
            format!(
                "spec.targetRef: Deployment {}/{target_name} not found",
                rollout.namespace()
            ),
        ));
    };
    let primary = read(primary_name(target_name)).await?;
    let to_json = |d: Deployment| {
        serde_json::to_value(d)
            .map_err(|e| Failure::transient("ReconciliationFailed", e.to_string()))
    };
    Ok(Workloads {
        target: with_kind(to_json(target)?),
        primary: primary.map(to_json).transpose()?.map(with_kind),
    })
}

/// What the machine is told, and the command annotation to record as handled (if new).
pub(crate) fn observations(
    rollout: &Rollout,
    workloads: &Workloads,
    status: &RolloutObjectStatus,
    run: Option<(String, RunResult)>,
) -> (Observations, Option<String>) {
    let wanted = status.rollout.canary_replicas;
    let target = &workloads.target;
    let canary_ready = replicas(target) == Some(wanted) && rolled_out(target);
    let (stable_revision, stable_ready) = match &workloads.primary {
        Some(p) => (annotation(p, REVISION_ANNOTATION), rolled_out(p)),
        None => (None, false),
    };
    let mut commands = Vec::new();
    let mut handled = None;
    if let Some(value) = rollout.metadata.annotations.get(COMMAND_ANNOTATION)
        && status.last_handled_command.as_deref() != Some(value.as_str())
    {
        match parse_command(value) {
            Ok(command) => commands.push(command),
            Err(e) => {
                tracing::warn!(namespace = rollout.namespace(), name = %rollout.metadata.name, "{e}");
            }
        }
        handled = Some(value.clone());
    }
    let observations = Observations {
        revision: workloads.revision(),
        replicas: status
            .replicas
            .unwrap_or_else(|| workloads.target_replicas()),
        canary_ready,
        stable_revision,
        stable_ready,
        analysis: run.into_iter().collect::<BTreeMap<_, _>>(),
        commands,
    };
    (observations, handled)
}

/// A Deployment's `spec.replicas`.
fn replicas(deployment: &Value) -> Option<u32> {
    deployment["spec"]["replicas"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
}

fn annotation(object: &Value, key: &str) -> Option<String> {
    object["metadata"]["annotations"][key]
        .as_str()
        .map(str::to_owned)
}

/// Whether a Deployment is fully rolled out and available (kstatus' `Current`).
fn rolled_out(deployment: &Value) -> bool {
    Object::from_value(deployment.clone()).is_ok_and(|o| health(&o).status == Status::Current)
}

/// Typed reads drop `apiVersion` and `kind`; the health rules need them.
fn with_kind(mut value: Value) -> Value {
    value["apiVersion"] = Value::from("apps/v1");
    value["kind"] = Value::from("Deployment");
    value
}
