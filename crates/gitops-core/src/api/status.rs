//! What the operator reports on our objects: conditions, the fetched artifact, the applied
//! revision and the inventory. Pure data plus the condition bookkeeping every controller needs.
//!
//! Times are RFC 3339 strings (`2026-01-02T03:04:05Z`) as the API server stores them; the
//! controllers format them, this module only compares and copies them.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::inventory::Inventory;

/// Condition type: the object reached its desired state.
pub const READY: &str = "Ready";
/// Condition type: a reconciliation is in progress.
pub const RECONCILING: &str = "Reconciling";
/// Condition type: reconciliation cannot proceed without a change to the object or the cluster.
pub const STALLED: &str = "Stalled";
/// Condition type: live objects differ from the desired ones (`driftPolicy: report`).
pub const DRIFTED: &str = "Drifted";

/// Annotation that requests an immediate reconciliation; its value is any string that differs
/// from the last handled one (the CLI and the Receiver write the current time).
pub const REQUESTED_AT_ANNOTATION: &str = "reconcile.gitops.rs/requestedAt";

/// One observation about an object, as `metav1.Condition`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Condition type: `Ready`, `Reconciling`, `Stalled`, `Drifted`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: ConditionStatus,
    /// A CamelCase word a program can match on.
    pub reason: String,
    /// What happened, for a human: which object, what was expected, what was found.
    #[serde(default)]
    pub message: String,
    /// When `status` last changed (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_transition_time: String,
    /// The `metadata.generation` the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// The status of a condition.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet.
    #[default]
    Unknown,
}

impl ConditionStatus {
    /// The status as the API writes it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }
}

/// Finds the condition of type `type_`.
#[must_use]
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Sets `condition` in `conditions`, replacing the one of the same type. The transition time is
/// kept from the old condition when the status did not change, so it tells when the state
/// began rather than when it was last observed. Returns whether anything changed.
pub fn set_condition(conditions: &mut Vec<Condition>, mut condition: Condition) -> bool {
    match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(old) => {
            if old.status == condition.status {
                condition
                    .last_transition_time
                    .clone_from(&old.last_transition_time);
            }
            let changed = *old != condition;
            *old = condition;
            changed
        }
        None => {
            conditions.push(condition);
            true
        }
    }
}

/// Removes the condition of type `type_`; returns whether there was one.
pub fn remove_condition(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

/// A fetched source: what revision, its content digest, and when it was stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// The revision, `<ref>@sha1:<commit>` (`main@sha1:4f2a...`).
    pub revision: String,
    /// Digest of the artifact's content, `sha256:<hex>`.
    pub digest: String,
    /// When the artifact was stored (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub last_update_time: String,
    /// Where the operator keeps the artifact, relative to its storage directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Status of a `GitRepository`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: `Ready`, `Reconciling`, `Stalled`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The last artifact fetched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// The last `reconcile.gitops.rs/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Status of a `HelmRepository`: the same shape as a GitRepository's; the artifact is the
/// repository's `index.yaml` and its revision the index's digest (`sha256:<hex>`).
pub type HelmRepositoryStatus = GitRepositoryStatus;

/// Status of a `Kustomization`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: `Ready`, `Reconciling`, `Stalled`, `Drifted`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The source revision last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The source revision last tried, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// Digest of the source artifact last tried: a new digest at the same revision (an
    /// included repository changed) is new content too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_source_digest: Option<String>,
    /// The objects applied; what gets pruned when they leave the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// The last `reconcile.gitops.rs/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Status of a `HelmRelease`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: `Ready`, `Reconciling`, `Stalled`, `Drifted`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The chart revision (`<version>` or `<source revision>`) last applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// The chart revision last tried, successful or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// Digest of the values of the last attempt, so that a values change triggers an upgrade.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_values_digest: Option<String>,
    /// Digest of the values of the last success (the values themselves are in the Secret
    /// `gitops.rs.release.<name>`, for rollbacks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_values_digest: Option<String>,
    /// Failed attempts since the last success; remediation acts on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failures: Option<i64>,
    /// The objects applied; what gets pruned when they leave the chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<Inventory>,
    /// The last `reconcile.gitops.rs/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// Status of a `Receiver`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Conditions: `Ready`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The path on the operator's HTTP server that accepts this receiver's webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(status: ConditionStatus, reason: &str, time: &str) -> Condition {
        Condition {
            type_: READY.into(),
            status,
            reason: reason.into(),
            message: String::new(),
            last_transition_time: time.into(),
            observed_generation: Some(1),
        }
    }

    #[test]
    fn set_condition_keeps_the_transition_time_while_the_status_holds() {
        let mut conditions = vec![cond(ConditionStatus::True, "Applied", "t1")];
        let changed = set_condition(
            &mut conditions,
            cond(ConditionStatus::True, "Applied", "t2"),
        );
        assert!(!changed);
        assert_eq!(conditions[0].last_transition_time, "t1");
        assert!(set_condition(
            &mut conditions,
            cond(ConditionStatus::True, "Other", "t3")
        ));
        assert_eq!(conditions[0].last_transition_time, "t1");
        assert!(set_condition(
            &mut conditions,
            cond(ConditionStatus::False, "Failed", "t4")
        ));
        assert_eq!(conditions[0].last_transition_time, "t4");
        assert_eq!(conditions.len(), 1);
    }

    #[test]
    fn conditions_are_added_found_and_removed_by_type() {
        let mut conditions = Vec::new();
        assert!(set_condition(
            &mut conditions,
            cond(ConditionStatus::Unknown, "Progressing", "t")
        ));
        let mut stalled = cond(ConditionStatus::True, "BuildFailed", "t");
        stalled.type_ = STALLED.into();
        set_condition(&mut conditions, stalled);
        assert_eq!(
            find_condition(&conditions, STALLED).map(|c| c.reason.as_str()),
            Some("BuildFailed")
        );
        assert!(remove_condition(&mut conditions, STALLED));
        assert!(!remove_condition(&mut conditions, STALLED));
        assert_eq!(conditions.len(), 1);
    }

    #[test]
    fn status_serializes_with_api_field_names() {
        let status = KustomizationStatus {
            conditions: vec![cond(
                ConditionStatus::True,
                "ReconciliationSucceeded",
                "2026-01-01T00:00:00Z",
            )],
            last_applied_revision: Some("main@sha1:abc".into()),
            ..Default::default()
        };
        let value = serde_json::to_value(&status).unwrap();
        assert_eq!(value["conditions"][0]["type"], "Ready");
        assert_eq!(value["conditions"][0]["status"], "True");
        assert_eq!(
            value["conditions"][0]["lastTransitionTime"],
            "2026-01-01T00:00:00Z"
        );
        assert_eq!(value["lastAppliedRevision"], "main@sha1:abc");
        let back: KustomizationStatus = serde_json::from_value(value).unwrap();
        assert_eq!(back, status);
    }
}
