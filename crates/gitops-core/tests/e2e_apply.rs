//! The cluster engine against the real control plane of `scripts/testenv`: staged apply,
//! change sets, inventory and prune, CRDs, immutable fields, health waits, drift, levels.
//! Built only with the `e2e` feature (`scripts/test` turns it on).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gitops_core::changeset::Action;
use gitops_core::cluster::{
    self, ApplyOptions, Discovery, InventoryLocation, SyncOptions, SyncReport, WaitOptions,
    WaitOutcome,
};
use gitops_core::diff::Drift;
use gitops_core::health::Status;
use gitops_core::{Object, ObjectRef};
use gitops_testenv::TestNamespace;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

fn obj(value: Value) -> Object {
    Object::from_value(value).unwrap()
}

fn configmap(ns: &str, name: &str, value: &str) -> Object {
    obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns}, "data": {"key": value}}))
}

fn deployment(ns: &str, name: &str, replicas: Option<i64>) -> Object {
    let mut spec = json!({
        "selector": {"matchLabels": {"app": name}},
        "template": {"metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]}}
    });
    if let Some(r) = replicas {
        spec["replicas"] = json!(r);
    }
    obj(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns}, "spec": spec}))
}

/// A Deployment whose pods can never be scheduled, with a short progress deadline.
fn unschedulable(ns: &str) -> Object {
    let mut stuck = deployment(ns, "stuck", Some(1));
    stuck.as_map_mut()["spec"]["progressDeadlineSeconds"] = json!(3);
    stuck.as_map_mut()["spec"]["template"]["spec"]["nodeSelector"] = json!({"no-such": "node"});
    stuck
}

fn service(ns: &str, name: &str) -> Object {
    obj(json!({"apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}))
}

struct Env {
    ns: TestNamespace,
    discovery: Discovery,
}

impl Env {
    async fn new(name: &str) -> Env {
        let ns = TestNamespace::create(name).await.unwrap();
        let discovery = Discovery::new(ns.client());
        Env { ns, discovery }
    }

    fn name(&self) -> &str {
        self.ns.name()
    }

    fn options(&self) -> SyncOptions {
        SyncOptions {
            apply: ApplyOptions {
                default_namespace: self.name().to_owned(),
                timeout: Duration::from_secs(60),
                ..ApplyOptions::default()
            },
            prune: true,
            allow_empty: false,
            inventory: Some(InventoryLocation::for_unit(self.name(), "unit")),
            wait: None,
        }
    }

    async fn sync(&self, objects: Vec<Object>) -> SyncReport {
        cluster::sync(&self.discovery, objects, &self.options()).await
    }

    async fn exists(&self, kind_api: (&str, &str), name: &str) -> bool {
        let id = ObjectRef {
            group: kind_api
                .0
                .split('/')
                .next()
                .filter(|_| kind_api.0.contains('/'))
                .unwrap_or("")
                .into(),
            version: kind_api.0.rsplit('/').next().unwrap().into(),
            kind: kind_api.1.into(),
            namespace: Some(self.name().to_owned()),
            name: name.into(),
        };
        let resource = self.discovery.require(&id).await.unwrap();
        resource
            .api(self.discovery.client(), id.namespace.as_deref())
            .get_opt(name)
            .await
            .unwrap()
            .is_some()
    }
}

fn actions(report: &SyncReport) -> Vec<String> {
    let mut v: Vec<String> = report
        .changes
        .changes
        .iter()
        .map(|c| format!("{} {}", c.object.name, c.action))
        .collect();
    v.sort();
    v
}

fn assert_ok(report: &SyncReport) {
    let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_then_reapply_counts_configured_and_unchanged() {
    let env = Env::new("apply-create").await;
    let ns = env.name();
    let set = |value: &str| {
        vec![
            configmap(ns, "cfg", value),
            service(ns, "web"),
            deployment(ns, "web", Some(1)),
            // No namespace: the default one is used.
            obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"}})),
        ]
    };
    let first = env.sync(set("a")).await;
    assert_ok(&first);
    assert_eq!(
        actions(&first),
        ["cfg created", "plain created", "web created", "web created"]
    );
    assert!(env.exists(("v1", "ConfigMap"), "plain").await);

    let again = env.sync(set("a")).await;
    assert_ok(&again);
    assert_eq!(
        again.changes.count(Action::Unchanged),
        4,
        "{:?}",
        actions(&again)
    );

    let changed = env.sync(set("b")).await;
    assert_ok(&changed);
    assert_eq!(changed.changes.summary(), "1 configured, 3 unchanged");
    assert_eq!(
        changed
            .changes
            .action_of(&configmap(ns, "cfg", "b").object_ref()),
        Some(Action::Configured)
    );

    // A server-side dry run reports the same without changing anything.
    let mut options = env.options();
    options.apply.dry_run = true;
    let dry = cluster::sync(&env.discovery, set("c"), &options).await;
    assert_ok(&dry);
    assert_eq!(dry.changes.summary(), "1 configured, 3 unchanged");
    let cm: ConfigMap = env.ns.api::<ConfigMap>().get("cfg").await.unwrap();
    assert_eq!(cm.data.unwrap()["key"], "b");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_deletes_what_left_except_annotated_objects() {
    let env = Env::new("apply-prune").await;
    let ns = env.name();
    let mut keep_me = configmap(ns, "keep-me", "x");
    keep_me.as_map_mut()["metadata"]["annotations"] =
        json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"});
    let first = env
        .sync(vec![
            configmap(ns, "stays", "x"),
            configmap(ns, "goes", "x"),
            keep_me,
            service(ns, "svc"),
        ])
        .await;
    assert_ok(&first);

    let second = env.sync(vec![configmap(ns, "stays", "x")]).await;
    assert_ok(&second);
    assert_eq!(
        actions(&second),
        [
            "goes deleted",
            "keep-me skipped",
            "stays unchanged",
            "svc deleted"
        ]
    );
    // Reverse apply order: the Service (later kind) is deleted before the ConfigMaps.
    let order: Vec<&str> = second
        .changes
        .changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| c.object.kind.as_str())
        .collect();
    assert_eq!(order[0], "Service");
    assert!(env.exists(("v1", "ConfigMap"), "keep-me").await);
    assert!(!env.exists(("v1", "ConfigMap"), "goes").await);

    // The inventory now holds only what is desired.
    let inventory = InventoryLocation::for_unit(ns, "unit")
        .load(&env.discovery)
        .await
        .unwrap()
        .unwrap();
    let ids: Vec<&str> = inventory.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, [format!("{ns}_stays__ConfigMap")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_prune_when_the_set_is_empty_or_the_apply_fails() {
    let env = Env::new("apply-no-prune").await;
    let ns = env.name();
    assert_ok(
        &env.sync(vec![configmap(ns, "a", "x"), configmap(ns, "b", "x")])
            .await,
    );

    // Empty set: refused, nothing deleted.
    let empty = env.sync(vec![]).await;
    assert_eq!(empty.errors.len(), 1);
    assert!(
        empty.errors[0].to_string().contains("--allow-empty"),
        "{}",
        empty.errors[0]
    );
    assert!(env.exists(("v1", "ConfigMap"), "b").await);

    // A failing object: the apply fails, so `b` (gone from the set) is not pruned.
    let invalid = obj(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "Not_A_Valid_Name", "namespace": ns}}));
    let failed = env.sync(vec![configmap(ns, "a", "x"), invalid]).await;
    assert_eq!(failed.errors.len(), 1);
    let message = failed.errors[0].to_string();
    assert!(
        message.starts_with(&format!(
            "ConfigMap/{ns}/Not_A_Valid_Name: apply failed: Invalid (422)"
        )),
        "{message}"
    );
    assert_eq!(failed.changes.count(Action::Deleted), 0);
    assert!(env.exists(("v1", "ConfigMap"), "b").await);

    // An unknown kind fails the whole apply before anything is applied.
    let unknown = obj(json!({"apiVersion": "nope.example.com/v1", "kind": "Thing",
        "metadata": {"name": "t", "namespace": ns}}));
    let report = env.sync(vec![configmap(ns, "new", "x"), unknown]).await;
    assert_eq!(
        report.errors[0].to_string(),
        format!(
            "nope.example.com/Thing/{ns}/t: the server has no resource for kind `Thing` in \
             `nope.example.com/v1` (is its CRD installed?)"
        )
    );
    assert!(report.changes.changes.is_empty());
    assert!(!env.exists(("v1", "ConfigMap"), "new").await);

    // With --allow-empty an empty set prunes everything the unit had.
    let mut options = env.options();
    options.allow_empty = true;
    let all_gone = cluster::sync(&env.discovery, vec![], &options).await;
    assert_ok(&all_gone);
    assert_eq!(
        all_gone.changes.count(Action::Deleted),
        2,
        "{:?}",
        actions(&all_gone)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_and_custom_resource_in_one_apply() {
    let env = Env::new("apply-crd").await;
    let ns = env.name();
    let group = format!("apply{}.gitops.test", std::process::id());
    let crd = obj(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("gadgets.{group}")},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget", "listKind": "GadgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "properties": {"spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}}}]
        }
    }));
    // No namespace on the custom resource: its scope is read from the CRD in the same set.
    let gadget = obj(
        json!({"apiVersion": format!("{group}/v1"), "kind": "Gadget",
        "metadata": {"name": "g1"}, "spec": {"size": 2}}),
    );
    let report = env.sync(vec![gadget, crd]).await;
    assert_ok(&report);
    assert_eq!(
        actions(&report),
        ["g1 created".to_owned(), format!("gadgets.{group} created")]
    );
    let order: Vec<&str> = report
        .changes
        .changes
        .iter()
        .map(|c| c.object.kind.as_str())
        .collect();
    assert_eq!(order, ["CustomResourceDefinition", "Gadget"]);
    assert_eq!(report.objects[1].namespace.as_deref(), Some(ns));

    // Prune in reverse order removes the custom resource before its CRD.
    let mut options = env.options();
    options.allow_empty = true;
    let gone = cluster::sync(&env.discovery, vec![], &options).await;
    assert_ok(&gone);
    let order: Vec<&str> = gone
        .changes
        .changes
        .iter()
        .map(|c| c.object.kind.as_str())
        .collect();
    assert_eq!(order, ["Gadget", "CustomResourceDefinition"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn immutable_field_change_fails_clearly_and_force_recreates() {
    let env = Env::new("apply-immutable").await;
    let ns = env.name();
    let job = |image: &str| {
        obj(json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "once", "namespace": ns},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": image}]}}}}))
    };
    assert_ok(&env.sync(vec![job("registry.invalid/a:1")]).await);
    let failed = env.sync(vec![job("registry.invalid/a:2")]).await;
    assert_eq!(failed.errors.len(), 1);
    let message = failed.errors[0].to_string();
    assert!(
        message.starts_with(&format!("batch/Job/{ns}/once: apply failed: Invalid (422)")),
        "{message}"
    );
    assert!(message.contains("immutable"), "{message}");
    assert!(message.contains("pass --force"), "{message}");

    let mut options = env.options();
    options.apply.force = true;
    let forced = cluster::sync(&env.discovery, vec![job("registry.invalid/a:2")], &options).await;
    assert_ok(&forced);
    let change = &forced.changes.changes[0];
    assert_eq!(change.action, Action::Created);
    assert_eq!(
        change.reason.as_deref(),
        Some("recreated: immutable field changed")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_is_waited_for_until_available() {
    let env = Env::new("apply-wait").await;
    let ns = env.name();
    let mut options = env.options();
    options.wait = Some(Duration::from_secs(90));
    let report = cluster::sync(
        &env.discovery,
        vec![deployment(ns, "web", Some(2)), configmap(ns, "cfg", "x")],
        &options,
    )
    .await;
    assert_ok(&report);
    let wait = report.wait.as_ref().unwrap();
    assert_eq!(wait.outcome, WaitOutcome::Ready, "{wait:#?}");
    let d: Deployment = env.ns.api::<Deployment>().get("web").await.unwrap();
    assert_eq!(d.status.unwrap().available_replicas, Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_that_cannot_progress_is_failed_before_the_timeout() {
    let env = Env::new("apply-failing").await;
    let ns = env.name();
    // Its pods can never be scheduled; the controller marks the rollout as failed after the
    // progress deadline, and the wait stops then instead of at the timeout.
    let stuck = unschedulable(ns);
    let mut options = env.options();
    options.wait = Some(Duration::from_secs(120));
    let report = cluster::sync(&env.discovery, vec![stuck], &options).await;
    assert_ok(&report);
    let wait = report.wait.as_ref().unwrap();
    assert_eq!(wait.outcome, WaitOutcome::Failed, "{wait:#?}");
    assert!(wait.elapsed < Duration::from_secs(120));
    let health = &wait.objects[0].health;
    assert_eq!(health.status, Status::Failed);
    assert!(
        health.message.contains("Progress deadline exceeded"),
        "{}",
        health.message
    );
    assert!(!report.succeeded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_drift_is_reported_and_healed_but_hpa_owned_replicas_are_left_alone() {
    let env = Env::new("apply-drift").await;
    let ns = env.name();
    let pinned = deployment(ns, "pinned", Some(2));
    let autoscaled = deployment(ns, "autoscaled", None);
    let set = || vec![pinned.clone(), autoscaled.clone()];
    assert_ok(&env.sync(set()).await);
    let options = env.options().apply;
    let (diffs, errors) = cluster::diff(&env.discovery, &set(), None, &options).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert!(diffs.iter().all(|d| d.drift == Drift::InSync), "{diffs:#?}");

    // Another manager (as `kubectl scale` and the HPA controller do) sets replicas of both.
    let deployments = env.ns.api::<Deployment>();
    for name in ["pinned", "autoscaled"] {
        deployments
            .patch_scale(
                name,
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 5}})),
            )
            .await
            .unwrap();
    }
    let (diffs, errors) = cluster::diff(&env.discovery, &set(), None, &options).await;
    assert!(errors.is_empty(), "{errors:?}");
    let drift: Vec<(String, Drift)> = diffs
        .iter()
        .map(|d| (d.object.name.clone(), d.drift))
        .collect();
    // Ours is drift; the one whose manifest omits replicas is not fought over.
    assert_eq!(
        drift,
        [
            ("pinned".to_owned(), Drift::Changed),
            ("autoscaled".to_owned(), Drift::InSync)
        ]
    );
    let text = &diffs[0].diff;
    assert!(
        text.contains("-  replicas: 5") && text.contains("+  replicas: 2"),
        "{text}"
    );

    let healed = env.sync(set()).await;
    assert_ok(&healed);
    assert_eq!(
        actions(&healed),
        ["autoscaled unchanged", "pinned configured"]
    );
    let replicas = |d: Deployment| d.spec.unwrap().replicas;
    assert_eq!(replicas(deployments.get("pinned").await.unwrap()), Some(2));
    assert_eq!(
        replicas(deployments.get("autoscaled").await.unwrap()),
        Some(5)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_objects_in_the_inventory_are_reported_as_drift() {
    let env = Env::new("apply-extra").await;
    let ns = env.name();
    assert_ok(
        &env.sync(vec![configmap(ns, "a", "x"), configmap(ns, "b", "x")])
            .await,
    );
    let inventory = InventoryLocation::for_unit(ns, "unit")
        .load(&env.discovery)
        .await
        .unwrap();
    let desired = vec![configmap(ns, "a", "x"), configmap(ns, "c", "x")];
    let (diffs, errors) = cluster::diff(
        &env.discovery,
        &desired,
        inventory.as_ref(),
        &env.options().apply,
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    let drift: Vec<(String, Drift)> = diffs
        .iter()
        .map(|d| (d.object.name.clone(), d.drift))
        .collect();
    assert_eq!(
        drift,
        [
            ("a".to_owned(), Drift::InSync),
            ("c".to_owned(), Drift::Missing),
            ("b".to_owned(), Drift::Extra)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_wait_for_dependencies_before_dependents() {
    let env = Env::new("apply-levels").await;
    let ns = env.name();
    let unit = |name: &str| {
        let mut o = env.options();
        o.inventory = Some(InventoryLocation::for_unit(ns, name));
        o.wait = Some(Duration::from_secs(90));
        o
    };
    // A dependency that becomes ready: the dependent is applied after it is Available.
    let reports = cluster::sync_levels(
        &env.discovery,
        vec![
            vec![(vec![deployment(ns, "db", Some(1))], unit("db"))],
            vec![(vec![configmap(ns, "app", "x")], unit("app"))],
        ],
    )
    .await;
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().flatten().all(SyncReport::succeeded));
    let db: Deployment = env.ns.api::<Deployment>().get("db").await.unwrap();
    let available_at = db
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Available" && c.status == "True")
        .unwrap()
        .last_transition_time
        .unwrap()
        .0;
    let cm: ConfigMap = env.ns.api::<ConfigMap>().get("app").await.unwrap();
    assert!(cm.metadata.creation_timestamp.unwrap().0 >= available_at);

    // A dependency that fails: the dependent level is never applied.
    let stuck = unschedulable(ns);
    let reports = cluster::sync_levels(
        &env.discovery,
        vec![
            vec![(vec![stuck], unit("stuck"))],
            vec![(vec![configmap(ns, "never", "x")], unit("never"))],
        ],
    )
    .await;
    assert_eq!(reports.len(), 1);
    assert!(!reports[0][0].succeeded());
    assert!(!env.exists(("v1", "ConfigMap"), "never").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespaces_we_did_not_create_are_never_pruned() {
    let env = Env::new("apply-ns").await;
    let ns = env.name();
    let mine = format!("{ns}-mine");
    let namespace = |name: &str| {
        obj(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}))
    };
    // The test namespace existed before (not ours); the other one is created by the apply.
    let report = env.sync(vec![namespace(ns), namespace(&mine)]).await;
    assert_ok(&report);
    assert_eq!(
        actions(&report),
        [format!("{ns} unchanged"), format!("{mine} created")]
    );
    let report = env.sync(vec![configmap(ns, "only", "x")]).await;
    assert_ok(&report);
    assert_eq!(
        actions(&report),
        [format!("{mine} deleted"), "only created".to_owned()]
    );
    let wait = cluster::wait(
        &env.discovery,
        &[namespace(ns).object_ref()],
        &WaitOptions {
            timeout: Duration::from_secs(5),
            ..WaitOptions::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(wait.outcome, WaitOutcome::Ready);
}

/// The no-op check the apply engine uses to skip unchanged objects agrees with the real API
/// server: live objects we applied (with the server's defaults, e.g. a port's protocol) are
/// recognised as unchanged, and a field someone else changed, or a value we change, is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_noop_check_recognises_live_objects_as_applied_and_edits_as_changes() {
    let env = Env::new("apply-noop").await;
    let ns = env.name();
    let mut web = deployment(ns, "web", Some(1));
    web.as_map_mut()["spec"]["template"]["spec"]["containers"][0]["ports"] =
        json!([{"containerPort": 8080}]);
    web.as_map_mut()["metadata"]["labels"] = json!({"tier": "front"});
    let set = vec![configmap(ns, "cfg", "a"), service(ns, "web"), web.clone()];
    assert_ok(&env.sync(set.clone()).await);

    let live = |kind: &'static str, name: &'static str| {
        let env = &env;
        async move {
            let id = ObjectRef {
                group: if kind == "Deployment" { "apps" } else { "" }.into(),
                version: "v1".into(),
                kind: kind.into(),
                namespace: Some(env.name().to_owned()),
                name: name.into(),
            };
            let resource = env.discovery.require(&id).await.unwrap();
            let object = resource
                .api(env.discovery.client(), Some(env.name()))
                .get(name)
                .await
                .unwrap();
            serde_json::to_value(object).unwrap()
        }
    };
    for (object, kind) in set.iter().zip(["ConfigMap", "Service", "Deployment"]) {
        let live = live(kind, if kind == "ConfigMap" { "cfg" } else { "web" }).await;
        assert!(
            gitops_core::ssa_noop::apply_is_noop(&object.to_value(), &live, "gitops"),
            "{kind} as applied is not recognised: {live:#}"
        );
    }

    // kubectl scale: our replicas changed by another manager.
    let deployments = env.ns.api::<Deployment>();
    deployments
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .unwrap();
    let scaled = live("Deployment", "web").await;
    assert!(!gitops_core::ssa_noop::apply_is_noop(
        &web.to_value(),
        &scaled,
        "gitops"
    ));

    // A value we change, and a field we add.
    let cm = live("ConfigMap", "cfg").await;
    assert!(!gitops_core::ssa_noop::apply_is_noop(
        &configmap(ns, "cfg", "b").to_value(),
        &cm,
        "gitops"
    ));
    let mut labelled = configmap(ns, "cfg", "a");
    labelled.as_map_mut()["metadata"]["labels"] = json!({"new": "label"});
    assert!(!gitops_core::ssa_noop::apply_is_noop(
        &labelled.to_value(),
        &cm,
        "gitops"
    ));

    // And the engine heals the scale drift (it does not skip the Deployment).
    let again = env.sync(set).await;
    assert_ok(&again);
    assert_eq!(again.changes.summary(), "1 configured, 2 unchanged");
    assert_eq!(
        deployments.get("web").await.unwrap().spec.unwrap().replicas,
        Some(1)
    );
}
