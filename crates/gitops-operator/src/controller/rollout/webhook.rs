//! Flagger's gates: `confirm-rollout` before a new revision starts, `confirm-promotion` before
//! it is copied into the primary. Each is an HTTP POST of the rollout's name, namespace, phase
//! and the webhook's `metadata`; a 2xx answer lets the rollout go on. A gate that says no (or
//! does not answer within its timeout) holds the machine's decision: the status is not
//! advanced and the gate is asked again shortly.

use std::time::Duration;

use gitops_rollout::spec::{Webhook, WebhookKind};
use gitops_rollout::{Action, Decision, Rollout, RolloutStatus};
use serde_json::json;

/// How long a gate may take when it sets no timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How soon a closed gate is asked again.
pub(crate) const RETRY: Duration = Duration::from_secs(2);

/// The gate `decision` must pass, if any: `confirm-rollout` when it starts a revision,
/// `confirm-promotion` when it begins promotion.
pub(crate) fn gate_of(before: &RolloutStatus, decision: &Decision) -> Option<WebhookKind> {
    let after = &decision.status;
    let starts = after.canary_revision.is_some()
        && after.canary_revision != before.canary_revision
        && !after.phase.is_failed();
    if starts {
        return Some(WebhookKind::ConfirmRollout);
    }
    let promotes = before.promotion.is_none()
        && decision
            .actions
            .iter()
            .any(|a| matches!(a, Action::PromoteStable { .. }))
        && after.promotion.is_some();
    promotes.then_some(WebhookKind::ConfirmPromotion)
}

/// Asks every webhook of `kind`; `Err` names the first that said no.
pub(crate) async fn ask(rollout: &Rollout, kind: WebhookKind, phase: &str) -> Result<(), String> {
    for hook in rollout.spec.webhooks.iter().filter(|h| h.kind == kind) {
        let payload = json!({
            "name": rollout.metadata.name,
            "namespace": rollout.namespace(),
            "phase": phase,
            "metadata": hook.metadata,
        });
        let hook = hook.clone();
        let answer = tokio::task::spawn_blocking(move || post(&hook, &payload))
            .await
            .map_err(|e| format!("webhook task failed: {e}"))?;
        answer?;
    }
    Ok(())
}

fn post(hook: &Webhook, payload: &serde_json::Value) -> Result<(), String> {
    let timeout = hook
        .timeout
        .map_or(DEFAULT_TIMEOUT, |d| Duration::from_secs(d.seconds()));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .build()
        .into();
    let name = &hook.name;
    let sent = agent
        .post(&hook.url)
        .header("content-type", "application/json")
        .send(payload.to_string());
    match sent {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!(
            "webhook {name} ({}) answered {}",
            hook.url,
            response.status().as_u16()
        )),
        Err(e) => Err(format!("webhook {name} ({}): {e}", hook.url)),
    }
}
