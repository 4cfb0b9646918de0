//! Health of a live object, from its JSON alone: `Current`, `InProgress` or `Failed`, and why.
//!
//! The rules are kstatus' (the library behind `kubectl wait`-like tools, Flux and cli-utils) per
//! kind, plus what kstatus leaves out: a `LoadBalancer` Service is not ready until it has an
//! ingress address, and a Pod that failed or whose container is in `CrashLoopBackOff` (or cannot
//! pull its image) is a failure, not progress. Polling is the caller's job
//! ([`crate::cluster`] waits); this module is pure.

use serde_json::Value;

use crate::Object;

/// The health of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub enum Status {
    /// Reconciled: the object is what its spec asks for.
    Current,
    /// Still converging (or not yet observed by its controller).
    InProgress,
    /// Will not converge without a change: a failed Pod or Job, an exceeded progress deadline,
    /// a `Stalled` condition.
    Failed,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Current => "Current",
            Self::InProgress => "InProgress",
            Self::Failed => "Failed",
        })
    }
}

/// A status and the reason for it, as a short sentence.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Health {
    /// The status.
    pub status: Status,
    /// Why, for example `Available: 1/3`.
    pub message: String,
}

impl Health {
    fn new(status: Status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    fn current(message: impl Into<String>) -> Self {
        Self::new(Status::Current, message)
    }
    fn progress(message: impl Into<String>) -> Self {
        Self::new(Status::InProgress, message)
    }
    fn failed(message: impl Into<String>) -> Self {
        Self::new(Status::Failed, message)
    }
}

/// Container waiting reasons that do not go away by waiting.
const FAILING_WAIT_REASONS: &[&str] = &[
    "CrashLoopBackOff",
    "ImagePullBackOff",
    "ErrImagePull",
    "InvalidImageName",
    "CreateContainerConfigError",
];

/// The health of a live object.
#[must_use]
pub fn health(object: &Object) -> Health {
    let value = object.as_map();
    let meta = value.get("metadata").unwrap_or(&Value::Null);
    if !meta["deletionTimestamp"].is_null() {
        return Health::progress("Terminating");
    }
    let status = value.get("status").unwrap_or(&Value::Null);
    if let (Some(generation), Some(observed)) = (
        meta["generation"].as_i64(),
        status["observedGeneration"].as_i64(),
    ) && observed < generation
    {
        return Health::progress(format!(
            "the controller has not observed generation {generation} yet (observed {observed})"
        ));
    }
    if let Some(h) = generic_conditions(status) {
        return h;
    }
    let spec = value.get("spec").unwrap_or(&Value::Null);
    let group = object.group();
    match (group, object.kind()) {
        ("apps", "Deployment") => deployment(spec, status),
        ("apps", "StatefulSet") => statefulset(spec, status),
        ("apps", "DaemonSet") => daemonset(status),
        ("apps", "ReplicaSet") => replicaset(spec, status),
        ("batch", "Job") => job(status),
        ("", "Pod") => pod(status),
        ("", "PersistentVolumeClaim") => match status["phase"].as_str() {
            Some("Bound") => Health::current("PVC is Bound"),
            phase => Health::progress(format!("PVC is {}", phase.unwrap_or("not Bound"))),
        },
        ("", "Service") => service(spec, status),
        ("", "Namespace") => match status["phase"].as_str() {
            Some("Terminating") => Health::progress("Namespace is Terminating"),
            _ => Health::current("Namespace is Active"),
        },
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(status),
        _ => Health::current(if status.is_null() {
            "Resource is current"
        } else {
            "Resource is Ready"
        }),
    }
}

fn condition<'a>(status: &'a Value, kind: &str) -> Option<&'a Value> {
    status["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
}

fn condition_is(status: &Value, kind: &str, value: &str) -> bool {
    condition(status, kind).is_some_and(|c| c["status"] == value)
}

fn describe(c: &Value) -> String {
    let reason = c["reason"].as_str().unwrap_or_default();
    let message = c["message"].as_str().unwrap_or_default();
    match (reason.is_empty(), message.is_empty()) {
        (false, false) => format!("{reason}: {message}"),
        (false, true) => reason.to_owned(),
        (true, false) => message.to_owned(),
        (true, true) => String::new(),
    }
}

/// kstatus' generic rules: `Stalled=True` fails, `Reconciling=True` is progress, and for kinds
/// without rules of their own a `Ready` condition decides.
fn generic_conditions(status: &Value) -> Option<Health> {
    if let Some(c) = condition(status, "Stalled").filter(|c| c["status"] == "True") {
        return Some(Health::failed(format!("Stalled: {}", describe(c))));
    }
    if let Some(c) = condition(status, "Reconciling").filter(|c| c["status"] == "True") {
        return Some(Health::progress(format!("Reconciling: {}", describe(c))));
    }
    let ready = condition(status, "Ready")?;
    Some(match ready["status"].as_str() {
        Some("True") => Health::current(format!("Ready: {}", describe(ready))),
        _ => Health::progress(format!("not Ready: {}", describe(ready))),
    })
}

fn int(value: &Value, key: &str) -> i64 {
    value[key].as_i64().unwrap_or(0)
}

fn replicas(spec: &Value) -> i64 {
    spec["replicas"].as_i64().unwrap_or(1)
}

fn deployment(spec: &Value, status: &Value) -> Health {
    if let Some(c) = condition(status, "Progressing")
        && c["reason"] == "ProgressDeadlineExceeded"
    {
        return Health::failed(format!("Progress deadline exceeded: {}", describe(c)));
    }
    let want = replicas(spec);
    let have = int(status, "replicas");
    let updated = int(status, "updatedReplicas");
    let available = int(status, "availableReplicas");
    let ready = int(status, "readyReplicas");
    if want > have {
        return Health::progress(format!("Replicas: {have}/{want}"));
    }
    if want > updated {
        return Health::progress(format!("Updated: {updated}/{want}"));
    }
    if have > want {
        return Health::progress(format!("Pending termination: {}", have - want));
    }
    if want > available {
        return Health::progress(format!("Available: {available}/{want}"));
    }
    if want > ready {
        return Health::progress(format!("Ready: {ready}/{want}"));
    }
    let progressing = condition(status, "Progressing")
        .is_some_and(|c| c["status"] == "True" && c["reason"] == "NewReplicaSetAvailable");
    if want > 0 && !progressing {
        return Health::progress("ReplicaSet not Available");
    }
    if want > 0 && !condition_is(status, "Available", "True") {
        return Health::progress("Deployment not Available");
    }
    Health::current(format!("Deployment is available. Replicas: {have}"))
}

fn statefulset(spec: &Value, status: &Value) -> Health {
    if spec["updateStrategy"]["type"] == "OnDelete" {
        return Health::current("StatefulSet updates on delete");
    }
    let want = replicas(spec);
    let have = int(status, "replicas");
    let ready = int(status, "readyReplicas");
    let updated = int(status, "updatedReplicas");
    if want > have {
        return Health::progress(format!("Replicas: {have}/{want}"));
    }
    if want > ready {
        return Health::progress(format!("Ready: {ready}/{want}"));
    }
    if have > want {
        return Health::progress(format!("Pending termination: {}", have - want));
    }
    if let Some(partition) = spec["updateStrategy"]["rollingUpdate"]["partition"].as_i64() {
        let need = (want - partition).max(0);
        if updated < need {
            return Health::progress(format!("Partitioned roll out: {updated}/{need}"));
        }
        return Health::current(format!("Partitioned roll out complete: {updated}/{need}"));
    }
    if want > updated {
        return Health::progress(format!("Updated: {updated}/{want}"));
    }
    if status["currentRevision"] != status["updateRevision"] {
        return Health::progress("Waiting for the update revision to become current");
    }
    Health::current(format!(
        "All replicas scheduled as expected. Replicas: {have}"
    ))
}

fn daemonset(status: &Value) -> Health {
    let Some(desired) = status["desiredNumberScheduled"].as_i64() else {
        return Health::progress("Missing .status.desiredNumberScheduled");
    };
    for (key, what) in [
        ("currentNumberScheduled", "Current"),
        ("updatedNumberScheduled", "Updated"),
        ("numberAvailable", "Available"),
        ("numberReady", "Ready"),
    ] {
        let n = int(status, key);
        if desired > n {
            return Health::progress(format!("{what}: {n}/{desired}"));
        }
    }
    Health::current(format!(
        "All replicas scheduled as expected. Replicas: {desired}"
    ))
}

fn replicaset(spec: &Value, status: &Value) -> Health {
    if let Some(c) = condition(status, "ReplicaFailure").filter(|c| c["status"] == "True") {
        return Health::progress(format!("Replica failure: {}", describe(c)));
    }
    let want = replicas(spec);
    for (key, what) in [
        ("fullyLabeledReplicas", "Labelled"),
        ("availableReplicas", "Available"),
        ("readyReplicas", "Ready"),
    ] {
        let n = int(status, key);
        if want > n {
            return Health::progress(format!("{what}: {n}/{want}"));
        }
    }
    let have = int(status, "replicas");
    if have > want {
        return Health::progress(format!("Pending termination: {}", have - want));
    }
    Health::current(format!("ReplicaSet is available. Replicas: {have}"))
}

fn job(status: &Value) -> Health {
    if let Some(c) = condition(status, "Failed").filter(|c| c["status"] == "True") {
        return Health::failed(format!("Job failed: {}", describe(c)));
    }
    if condition_is(status, "Complete", "True") {
        return Health::current(format!(
            "Job completed: {} succeeded",
            int(status, "succeeded")
        ));
    }
    if status["startTime"].is_null() {
        return Health::progress("Job not started");
    }
    Health::progress(format!(
        "Job in progress: active {}, succeeded {}, failed {}",
        int(status, "active"),
        int(status, "succeeded"),
        int(status, "failed")
    ))
}

fn pod(status: &Value) -> Health {
    let containers = ["initContainerStatuses", "containerStatuses"]
        .iter()
        .filter_map(|key| status[*key].as_array())
        .flatten();
    for c in containers {
        let waiting = &c["state"]["waiting"];
        if let Some(reason) = waiting["reason"].as_str()
            && FAILING_WAIT_REASONS.contains(&reason)
        {
            let name = c["name"].as_str().unwrap_or("?");
            let message = waiting["message"].as_str().unwrap_or_default();
            return Health::failed(
                format!("container {name}: {reason} {message}")
                    .trim_end()
                    .to_owned(),
            );
        }
    }
    match status["phase"].as_str() {
        Some("Succeeded") => Health::current("Pod has completed successfully"),
        Some("Failed") => {
            let reason = status["reason"].as_str().unwrap_or("Failed");
            let message = status["message"].as_str().unwrap_or_default();
            Health::failed(
                format!("Pod failed: {reason} {message}")
                    .trim_end()
                    .to_owned(),
            )
        }
        Some("Running") if condition_is(status, "Ready", "True") => Health::current("Pod is Ready"),
        Some("Running") => Health::progress("Pod is running but not Ready"),
        Some(phase) => Health::progress(format!("Pod phase is {phase}")),
        None => Health::progress("Pod has no phase yet"),
    }
}

fn service(spec: &Value, status: &Value) -> Health {
    if spec["type"] == "LoadBalancer" {
        let ingress = status["loadBalancer"]["ingress"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if !ingress {
            return Health::progress("LoadBalancer has no ingress address yet");
        }
    }
    Health::current("Service is ready")
}

fn crd(status: &Value) -> Health {
    if let Some(c) = condition(status, "NamesAccepted").filter(|c| c["status"] == "False") {
        return Health::failed(format!("names not accepted: {}", describe(c)));
    }
    if condition_is(status, "Established", "True") {
        Health::current("CRD is Established")
    } else {
        Health::progress("CRD is not Established yet")
    }
}

#[cfg(test)]
mod tests;
