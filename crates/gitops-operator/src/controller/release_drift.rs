//! Drift of a HelmRelease between upgrades, by `spec.driftDetection.mode` (Flux's field):
//! `enabled` (our default) re-applies the release on every interval, which heals drift;
//! `warn` only compares the rendered chart with the cluster and reports what differs in a
//! `Drifted` condition (and so an Event); `disabled` leaves the release alone until something
//! changes. `spec.driftPolicy` (`heal`, `report`), the units' field, is accepted as well.

use gitops_core::Object;
use gitops_core::api::DriftPolicy;
use gitops_core::api::HelmReleaseStatus;
use gitops_core::cluster::{ApplyOptions, Discovery};
use serde_json::Value;

use super::{FIELD_MANAGER, now, sync};
use crate::conditions;

/// What an interval run does with a release that nothing changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum DriftMode {
    /// Re-apply: drift is healed.
    Heal,
    /// Compare and report.
    Warn,
    /// Nothing.
    Off,
}

/// The mode of `spec.driftDetection`, else of `spec.driftPolicy`.
pub(super) fn drift_mode(
    detection: Option<&Value>,
    policy: Option<DriftPolicy>,
) -> Result<DriftMode, String> {
    match detection
        .and_then(|d| d.get("mode"))
        .map(|m| m.as_str().ok_or(m))
    {
        None => Ok(match policy.unwrap_or_default() {
            DriftPolicy::Heal => DriftMode::Heal,
            DriftPolicy::Report => DriftMode::Warn,
        }),
        Some(Ok("enabled")) => Ok(DriftMode::Heal),
        Some(Ok("warn")) => Ok(DriftMode::Warn),
        Some(Ok("disabled")) => Ok(DriftMode::Off),
        Some(Ok(other)) => Err(format!(
            "spec.driftDetection.mode: expected enabled, warn or disabled, found `{other}`"
        )),
        Some(Err(other)) => Err(format!(
            "spec.driftDetection.mode: expected a string, found {other}"
        )),
    }
}

/// Compares the release's objects with the cluster and sets (or clears) `Drifted` in `status`.
pub(super) async fn report(
    discovery: &Discovery,
    namespace: &str,
    objects: Vec<Object>,
    generation: Option<i64>,
    status: &mut HelmReleaseStatus,
) {
    let options = ApplyOptions {
        field_manager: FIELD_MANAGER.to_owned(),
        default_namespace: namespace.to_owned(),
        ..ApplyOptions::default()
    };
    let (drifted, errors) = sync::drifted(
        discovery.clone(),
        objects,
        status.inventory.clone(),
        options,
    )
    .await;
    conditions::mark_drift(
        &mut status.conditions,
        &drifted,
        &errors,
        generation,
        &now(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_mode_defaults_to_healing_and_refuses_unknown_values() {
        assert_eq!(drift_mode(None, None), Ok(DriftMode::Heal));
        assert_eq!(drift_mode(Some(&json!({})), None), Ok(DriftMode::Heal));
        assert_eq!(
            drift_mode(Some(&json!({"mode": "warn"})), None),
            Ok(DriftMode::Warn)
        );
        assert_eq!(
            drift_mode(Some(&json!({"mode": "disabled"})), None),
            Ok(DriftMode::Off)
        );
        assert_eq!(
            drift_mode(Some(&json!({"mode": "heal"})), None),
            Err(
                "spec.driftDetection.mode: expected enabled, warn or disabled, found `heal`".into()
            )
        );
        assert!(drift_mode(Some(&json!({"mode": 1})), None).is_err());
    }
}
