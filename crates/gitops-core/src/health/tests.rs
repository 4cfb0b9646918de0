use serde_json::{Value, json};

use super::*;

fn check(value: Value) -> Health {
    health(&Object::from_value(value).unwrap())
}

fn deployment(generation: i64, status: Value) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "n", "generation": generation},
        "spec": {"replicas": 2}, "status": status})
}

/// Objects recorded from the test control plane (`scripts/testenv`) by `kubectl get -o json`,
/// trimmed to the fields the rules read. Each file holds `{"expect": STATUS, "object": {...}}`.
#[test]
fn recorded_objects() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/health");
    let mut seen = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let text = std::fs::read_to_string(&path).unwrap();
        let case: Value = serde_json::from_str(&text).unwrap();
        let got = check(case["object"].clone());
        assert_eq!(
            got.status.to_string(),
            case["expect"].as_str().unwrap(),
            "{}: {}",
            path.display(),
            got.message
        );
        if let Some(message) = case["message"].as_str() {
            assert_eq!(got.message, message, "{}", path.display());
        }
        seen += 1;
    }
    assert!(seen >= 8, "only {seen} recorded objects");
}

#[test]
fn deployment_rules() {
    let available = json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
        "readyReplicas": 2, "availableReplicas": 2, "conditions": [
            {"type": "Available", "status": "True"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
    assert_eq!(
        check(deployment(1, available.clone())).status,
        Status::Current
    );
    // A newer generation than observed is in progress whatever the counts say.
    let h = check(deployment(2, available));
    assert_eq!(h.status, Status::InProgress);
    assert!(h.message.contains("generation 2"), "{}", h.message);

    let rolling = json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
        "readyReplicas": 1, "availableReplicas": 1});
    let h = check(deployment(1, rolling));
    assert_eq!(
        (h.status, h.message.as_str()),
        (Status::InProgress, "Available: 1/2")
    );

    let stuck = json!({"observedGeneration": 1, "replicas": 2, "conditions": [
        {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded",
         "message": "ReplicaSet \"web-1\" has timed out progressing."}]});
    let h = check(deployment(1, stuck));
    assert_eq!(h.status, Status::Failed);
    assert!(h.message.contains("timed out progressing"), "{}", h.message);
}

#[test]
fn pods_that_crash_or_fail_are_failed() {
    let pod = |status: Value| {
        json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "p"}, "status": status})
    };
    let crash = pod(
        json!({"phase": "Running", "containerStatuses": [{"name": "app",
        "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}}}]}),
    );
    let h = check(crash);
    assert_eq!(h.status, Status::Failed);
    assert_eq!(h.message, "container app: CrashLoopBackOff back-off 5m0s");
    assert_eq!(
        check(pod(json!({"phase": "Failed", "reason": "Evicted"}))).status,
        Status::Failed
    );
    assert_eq!(
        check(pod(json!({"phase": "Succeeded"}))).status,
        Status::Current
    );
    assert_eq!(
        check(pod(json!({"phase": "Pending"}))).status,
        Status::InProgress
    );
    let ready =
        pod(json!({"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}));
    assert_eq!(check(ready).status, Status::Current);
}

#[test]
fn load_balancers_need_an_ingress_address() {
    let svc = |status: Value| {
        json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "s"}, "spec": {"type": "LoadBalancer", "clusterIP": "10.0.0.1"},
        "status": status})
    };
    assert_eq!(
        check(svc(json!({"loadBalancer": {}}))).status,
        Status::InProgress
    );
    let with_ip = svc(json!({"loadBalancer": {"ingress": [{"ip": "192.0.2.1"}]}}));
    assert_eq!(check(with_ip).status, Status::Current);
    let cluster_ip = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
        "spec": {"type": "ClusterIP"}});
    assert_eq!(check(cluster_ip).status, Status::Current);
}

#[test]
fn generic_conditions_and_termination() {
    let cr = |status: Value| {
        json!({"apiVersion": "x.io/v1", "kind": "Widget",
        "metadata": {"name": "w", "generation": 3}, "status": status})
    };
    let stalled = cr(json!({"observedGeneration": 3, "conditions": [
        {"type": "Stalled", "status": "True", "reason": "Invalid"}]}));
    assert_eq!(check(stalled).status, Status::Failed);
    let reconciling = cr(json!({"observedGeneration": 3, "conditions": [
        {"type": "Reconciling", "status": "True"}]}));
    assert_eq!(check(reconciling).status, Status::InProgress);
    let not_ready = cr(json!({"observedGeneration": 3, "conditions": [
        {"type": "Ready", "status": "False", "reason": "Waiting"}]}));
    assert_eq!(check(not_ready).status, Status::InProgress);
    let ready = cr(json!({"observedGeneration": 3, "conditions": [
        {"type": "Ready", "status": "True"}]}));
    assert_eq!(check(ready).status, Status::Current);
    assert_eq!(check(cr(Value::Null)).status, Status::Current);
    let deleting = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "c", "deletionTimestamp": "2024-01-01T00:00:00Z"}});
    assert_eq!(check(deleting).status, Status::InProgress);
}

#[test]
fn jobs_statefulsets_daemonsets_pvcs() {
    let job = |status: Value| {
        json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j"}, "status": status})
    };
    assert_eq!(check(job(json!({}))).message, "Job not started");
    let failed = job(json!({"conditions": [{"type": "Failed", "status": "True",
        "reason": "BackoffLimitExceeded"}]}));
    assert_eq!(check(failed).status, Status::Failed);

    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "s"},
        "spec": {"replicas": 3}, "status": {"replicas": 3, "readyReplicas": 3,
        "updatedReplicas": 3, "currentRevision": "a", "updateRevision": "b"}});
    assert_eq!(check(sts).status, Status::InProgress);

    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "d"},
        "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 2,
        "updatedNumberScheduled": 2, "numberAvailable": 1, "numberReady": 2}});
    assert_eq!(check(ds).message, "Available: 1/2");

    let pvc = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "p"}, "status": {"phase": "Pending"}});
    assert_eq!(check(pvc).status, Status::InProgress);
}
