//! The conditions every controller writes (`Ready`, `Reconciling`, `Stalled`, `Drifted`) and the
//! transitions between two sets of them that deserve a Kubernetes Event. Pure: the time is
//! passed in.

use gitops_core::api::status::{self, DRIFTED, READY, RECONCILING, STALLED};
use gitops_core::api::{Condition, ConditionStatus};

/// Reasons, as CamelCase words a program can match on.
pub mod reason {
    /// The unit applied its revision and every health check passed.
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// The source fetched and stored an artifact.
    pub const SUCCEEDED: &str = "Succeeded";
    /// A reconciliation is in progress.
    pub const PROGRESSING: &str = "Progressing";
    /// A dependency is not ready yet.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// The units' `dependsOn` form a cycle.
    pub const DEPENDENCY_CYCLE: &str = "DependencyCycle";
    /// The source has no artifact, or it cannot be read.
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// Rendering the unit failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// Applying or pruning failed.
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// A health check failed or timed out.
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// The spec cannot be acted on (a malformed duration, an unsupported source kind).
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// Fetching from Git failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// The credentials Secret is missing or malformed.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// Live objects differ from the desired ones.
    pub const DRIFT_DETECTED: &str = "DriftDetected";
    /// The kubeconfig of `spec.kubeConfig` is missing, malformed or refused.
    pub const KUBE_CONFIG_FAILED: &str = "KubeConfigFailed";
    /// The unit sets `spec.decryption`, which this operator does not do: it is not applied.
    pub const DECRYPTION_NOT_SUPPORTED: &str = "DecryptionNotSupported";
}

/// Sets `Ready` to `status` with `reason` and `message`, for `generation` at time `now`.
pub fn set(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &str,
) {
    status::set_condition(
        conditions,
        Condition {
            type_: type_.to_owned(),
            status,
            reason: reason.to_owned(),
            message: message.into(),
            last_transition_time: now.to_owned(),
            observed_generation: generation,
        },
    );
}

/// The object reached its desired state: `Ready=True`, no `Reconciling`, no `Stalled`.
pub fn mark_ready(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &str,
) {
    set(
        conditions,
        READY,
        ConditionStatus::True,
        reason,
        message,
        generation,
        now,
    );
    status::remove_condition(conditions, RECONCILING);
    status::remove_condition(conditions, STALLED);
}

/// Drift found by a comparison with the cluster: `Drifted=True` naming the drifted objects (and
/// how many could not be compared), or no `Drifted` condition when there was none.
pub fn mark_drift(
    conditions: &mut Vec<Condition>,
    drifted: &[String],
    errors: &[String],
    generation: Option<i64>,
    now: &str,
) {
    if drifted.is_empty() && errors.is_empty() {
        status::remove_condition(conditions, DRIFTED);
        return;
    }
    let mut message = format!("{} objects drifted: {}", drifted.len(), drifted.join(", "));
    if !errors.is_empty() {
        message.push_str(&format!("; {} could not be compared", errors.len()));
    }
    set(
        conditions,
        DRIFTED,
        ConditionStatus::True,
        reason::DRIFT_DETECTED,
        message,
        generation,
        now,
    );
}

/// A reconciliation failed and will be retried: `Ready=False`; `Stalled=True` too when
/// `stalled` (nothing changes without a change to the object or its source).
pub fn mark_failed(
    conditions: &mut Vec<Condition>,
    reason: &str,
    message: impl Into<String>,
    stalled: bool,
    generation: Option<i64>,
    now: &str,
) {
    let message = message.into();
    set(
        conditions,
        READY,
        ConditionStatus::False,
        reason,
        message.clone(),
        generation,
        now,
    );
    status::remove_condition(conditions, RECONCILING);
    if stalled {
        set(
            conditions,
            STALLED,
            ConditionStatus::True,
            reason,
            message,
            generation,
            now,
        );
    } else {
        status::remove_condition(conditions, STALLED);
    }
}

/// A reconciliation started: `Reconciling=True`, and `Ready=Unknown` unless it is already known.
pub fn mark_reconciling(
    conditions: &mut Vec<Condition>,
    message: impl Into<String>,
    generation: Option<i64>,
    now: &str,
) {
    let message = message.into();
    set(
        conditions,
        RECONCILING,
        ConditionStatus::True,
        reason::PROGRESSING,
        message.clone(),
        generation,
        now,
    );
    if status::find_condition(conditions, READY).is_none() {
        set(
            conditions,
            READY,
            ConditionStatus::Unknown,
            reason::PROGRESSING,
            message,
            generation,
            now,
        );
    }
}

/// Whether `Ready` is `True`.
#[must_use]
pub fn is_ready(conditions: &[Condition]) -> bool {
    status::find_condition(conditions, READY).is_some_and(|c| c.status == ConditionStatus::True)
}

/// The reason of `Ready`, if set.
#[must_use]
pub fn ready_reason(conditions: &[Condition]) -> Option<&str> {
    status::find_condition(conditions, READY).map(|c| c.reason.as_str())
}

/// A change of conditions worth an Event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// `false` for a warning (not ready, stalled, drifted).
    pub normal: bool,
    /// The condition's reason.
    pub reason: String,
    /// The condition's message.
    pub message: String,
}

/// The transitions from `old` to `new`: `Reconciling` turning true (work started on news: a
/// revision, a spec change, a request), `Ready` changing status or reason (or its message, when
/// it is a failure: a different failure is news), and `Stalled`/`Drifted` turning true or
/// changing message.
#[must_use]
pub fn transitions(old: &[Condition], new: &[Condition]) -> Vec<Transition> {
    let mut out = Vec::new();
    if let Some(reconciling) = status::find_condition(new, RECONCILING)
        && reconciling.status == ConditionStatus::True
        && status::find_condition(old, RECONCILING)
            .is_none_or(|b| b.status != ConditionStatus::True)
    {
        out.push(Transition {
            normal: true,
            reason: reconciling.reason.clone(),
            message: reconciling.message.clone(),
        });
    }
    if let Some(ready) = status::find_condition(new, READY) {
        let before = status::find_condition(old, READY);
        let changed = before.is_none_or(|b| {
            b.status != ready.status
                || b.reason != ready.reason
                || (ready.status != ConditionStatus::True && b.message != ready.message)
        });
        if changed && ready.status != ConditionStatus::Unknown {
            out.push(Transition {
                normal: ready.status == ConditionStatus::True,
                reason: ready.reason.clone(),
                message: ready.message.clone(),
            });
        }
    }
    for type_ in [STALLED, DRIFTED] {
        let Some(cond) = status::find_condition(new, type_) else {
            continue;
        };
        let before = status::find_condition(old, type_);
        let news = cond.status == ConditionStatus::True
            && before.is_none_or(|b| b.status != cond.status || b.message != cond.message);
        // A Stalled condition repeats Ready's reason and message: one event is enough.
        let duplicate = out
            .iter()
            .any(|t| t.reason == cond.reason && t.message == cond.message);
        if news && !duplicate {
            out.push(Transition {
                normal: false,
                reason: cond.reason.clone(),
                message: cond.message.clone(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_names_the_objects_and_goes_away_when_nothing_drifted() {
        let mut c = Vec::new();
        let drifted = ["v1/ConfigMap/apps/web changed".to_owned()];
        mark_drift(&mut c, &drifted, &["timeout".to_owned()], Some(2), "t1");
        let found = status::find_condition(&c, DRIFTED).unwrap();
        assert_eq!(found.status, ConditionStatus::True);
        assert_eq!(found.reason, reason::DRIFT_DETECTED);
        assert_eq!(
            found.message,
            "1 objects drifted: v1/ConfigMap/apps/web changed; 1 could not be compared"
        );
        mark_drift(&mut c, &[], &[], Some(2), "t2");
        assert!(status::find_condition(&c, DRIFTED).is_none());
    }

    #[test]
    fn ready_clears_reconciling_and_stalled() {
        let mut c = Vec::new();
        mark_reconciling(&mut c, "applying main@sha1:a", Some(1), "t1");
        assert_eq!(c.len(), 2);
        assert_eq!(
            status::find_condition(&c, READY).unwrap().status,
            ConditionStatus::Unknown
        );
        mark_failed(
            &mut c,
            reason::BUILD_FAILED,
            "kustomization.yaml: bad",
            true,
            Some(1),
            "t2",
        );
        assert!(status::find_condition(&c, STALLED).is_some());
        assert!(status::find_condition(&c, RECONCILING).is_none());
        mark_ready(
            &mut c,
            reason::RECONCILIATION_SUCCEEDED,
            "Applied revision: a",
            Some(1),
            "t3",
        );
        assert!(is_ready(&c));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].last_transition_time, "t3");
    }

    #[test]
    fn reconciling_keeps_a_known_ready_condition() {
        let mut c = Vec::new();
        mark_ready(
            &mut c,
            reason::RECONCILIATION_SUCCEEDED,
            "ok",
            Some(1),
            "t1",
        );
        mark_reconciling(&mut c, "applying b", Some(2), "t2");
        assert!(is_ready(&c));
        assert_eq!(ready_reason(&c), Some(reason::RECONCILIATION_SUCCEEDED));
    }

    #[test]
    fn transitions_report_ready_changes_and_new_failures_once() {
        let mut old = Vec::new();
        mark_reconciling(&mut old, "applying", Some(1), "t0");
        let mut new = old.clone();
        mark_ready(
            &mut new,
            reason::RECONCILIATION_SUCCEEDED,
            "Applied revision: a",
            Some(1),
            "t1",
        );
        assert_eq!(
            transitions(&old, &new),
            vec![Transition {
                normal: true,
                reason: reason::RECONCILIATION_SUCCEEDED.into(),
                message: "Applied revision: a".into()
            }]
        );
        // The same state again is no news.
        assert!(transitions(&new, &new.clone()).is_empty());
        let mut failed = new.clone();
        mark_failed(
            &mut failed,
            reason::BUILD_FAILED,
            "bad yaml",
            true,
            Some(1),
            "t2",
        );
        let t = transitions(&new, &failed);
        assert_eq!(t.len(), 1, "{t:?}");
        assert!(!t[0].normal);
        // A different failure message is news; the same one is not.
        let mut other = failed.clone();
        mark_failed(
            &mut other,
            reason::BUILD_FAILED,
            "other yaml",
            true,
            Some(1),
            "t3",
        );
        assert_eq!(transitions(&failed, &other).len(), 1);
        assert!(transitions(&other, &other.clone()).is_empty());
    }

    #[test]
    fn work_starting_is_an_event_once() {
        let mut old = Vec::new();
        mark_ready(
            &mut old,
            reason::RECONCILIATION_SUCCEEDED,
            "ok",
            Some(1),
            "t1",
        );
        let mut new = old.clone();
        mark_reconciling(&mut new, "applying revision b", Some(2), "t2");
        let t = transitions(&old, &new);
        assert_eq!(t.len(), 1, "{t:?}");
        assert_eq!(t[0].reason, reason::PROGRESSING);
        assert!(t[0].normal);
        assert!(transitions(&new, &new.clone()).is_empty());
    }

    #[test]
    fn drift_turning_true_is_a_warning() {
        let mut old = Vec::new();
        mark_ready(
            &mut old,
            reason::RECONCILIATION_SUCCEEDED,
            "ok",
            Some(1),
            "t1",
        );
        let mut new = old.clone();
        set(
            &mut new,
            DRIFTED,
            ConditionStatus::True,
            reason::DRIFT_DETECTED,
            "ConfigMap/ns/a changed",
            Some(1),
            "t2",
        );
        let t = transitions(&old, &new);
        assert_eq!(t.len(), 1);
        assert!(!t[0].normal);
        assert_eq!(t[0].reason, reason::DRIFT_DETECTED);
    }
}
