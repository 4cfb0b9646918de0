//! The control plane of `scripts/testenv` is a real one: controllers, scheduler, fake nodes,
//! CRDs, garbage collection and namespace deletion all work.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use gitops_testenv::{Cluster, TestNamespace, eventually};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams,
};
use kube::{Api, Resource as _};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(90);

fn from_json<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).unwrap()
}

fn condition_true(conditions: Option<&Vec<serde_json::Value>>, kind: &str) -> bool {
    conditions
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fake_nodes_are_ready_and_schedulable() {
    let client = Cluster::shared().unwrap().client().await.unwrap();
    let nodes: Api<Node> = Api::all(client);
    // The node lifecycle controller removes its not-ready taint shortly after a node is Ready.
    eventually(
        "Ready kwok nodes without NoSchedule taints",
        WAIT,
        || async {
            let list = nodes
                .list(&ListParams::default().labels("type=kwok"))
                .await?;
            let good = !list.items.is_empty()
                && list.items.iter().all(|node| {
                    let value = serde_json::to_value(node).unwrap_or_default();
                    let taints = node
                        .spec
                        .as_ref()
                        .and_then(|s| s.taints.clone())
                        .unwrap_or_default();
                    condition_true(value["status"]["conditions"].as_array(), "Ready")
                        && taints.iter().all(|t| t.effect != "NoSchedule")
                });
            Ok(good.then_some(()))
        },
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_becomes_available() {
    let ns = TestNamespace::create("deployment-available").await.unwrap();
    let deployments: Api<Deployment> = ns.api();
    let deployment: Deployment = from_json(json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "registry.invalid/web:1"}]}
            }
        }
    }));
    deployments
        .create(&PostParams::default(), &deployment)
        .await
        .unwrap();

    let status = eventually("the Deployment to become Available", WAIT, || async {
        let d = deployments.get("web").await?;
        let status = serde_json::to_value(d.status)?;
        let available = condition_true(status["conditions"].as_array(), "Available")
            && status["availableReplicas"] == 2;
        Ok(available.then_some(status))
    })
    .await
    .unwrap();
    assert_eq!(status["readyReplicas"], 2);

    // The controller-manager made a ReplicaSet owned by the Deployment, and its Pods.
    let replicasets: Api<ReplicaSet> = ns.api();
    let rs = replicasets
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert_eq!(rs.len(), 1);
    let owner = &rs[0].metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Deployment", "web")
    );
    let pods: Api<Pod> = ns.api();
    let pods = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .unwrap()
        .items;
    assert_eq!(pods.len(), 2);
    for pod in pods {
        // Scheduled by kube-scheduler onto a kwok node, Running by kwok.
        let node = pod.spec.as_ref().unwrap().node_name.clone().unwrap();
        assert!(node.starts_with("kwok-node-"), "{node}");
        let status = pod.status.unwrap();
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(status.pod_ip.is_some());
        // The ServiceAccount admission gave it the projected token volume.
        let volumes = pod.spec.unwrap().volumes.unwrap_or_default();
        assert!(
            volumes
                .iter()
                .any(|v| v.name.starts_with("kube-api-access-"))
        );
    }
    ns.delete().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_completes() {
    let ns = TestNamespace::create("job-completes").await.unwrap();
    let jobs: Api<Job> = ns.api();
    let job: Job = from_json(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "backoffLimit": 0,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "once", "image": "registry.invalid/once:1"}]
            }}
        }
    }));
    jobs.create(&PostParams::default(), &job).await.unwrap();
    eventually("the Job to complete", WAIT, || async {
        let job = jobs.get("once").await?;
        let status = serde_json::to_value(job.status)?;
        Ok((condition_true(status["conditions"].as_array(), "Complete")
            && status["succeeded"] == 1)
            .then_some(()))
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crd_becomes_established_and_serves_custom_resources() {
    let ns = TestNamespace::create("crd-served").await.unwrap();
    let client = ns.client();
    // Cluster-scoped: a group of this process's own, so reused control planes do not collide.
    let group = format!("e2e{}.gitops.test", std::process::id());
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = from_json(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("widgets.{group}")},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "schema": {"openAPIV3Schema": {
                    "type": "object",
                    "properties": {"spec": {
                        "type": "object",
                        "properties": {"size": {"type": "integer"}},
                        "required": ["size"]
                    }}
                }},
                "subresources": {"status": {}}
            }]
        }
    }));
    crds.create(&PostParams::default(), &crd).await.unwrap();
    eventually("the CRD to be Established", WAIT, || async {
        let crd = crds.get(&format!("widgets.{group}")).await?;
        let status = serde_json::to_value(crd.status)?;
        Ok(condition_true(status["conditions"].as_array(), "Established").then_some(()))
    })
    .await
    .unwrap();

    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(&group, "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client, ns.name(), &resource);
    let widget: DynamicObject = from_json(json!({
        "apiVersion": format!("{group}/v1"),
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3}
    }));
    // Discovery can lag behind Established for a moment: retry the first create.
    eventually("the custom resource to be created", WAIT, || async {
        match widgets.create(&PostParams::default(), &widget).await {
            Ok(created) => Ok(Some(created)),
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
            Err(e) => Err(e.into()),
        }
    })
    .await
    .unwrap();
    let got = widgets.get("w1").await.unwrap();
    assert_eq!(got.data["spec"]["size"], 3);
    // The schema is enforced by the apiserver.
    let invalid: DynamicObject = from_json(json!({
        "apiVersion": format!("{group}/v1"),
        "kind": "Widget",
        "metadata": {"name": "w2"},
        "spec": {"size": "three"}
    }));
    let err = widgets
        .create(&PostParams::default(), &invalid)
        .await
        .unwrap_err();
    assert!(
        matches!(err, kube::Error::Api(ref e) if e.code == 422),
        "{err:?}"
    );

    crds.delete(&format!("widgets.{group}"), &DeleteParams::default())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_namespace_removes_its_objects() {
    let ns = TestNamespace::create("namespace-deletion").await.unwrap();
    let client = ns.client();
    let name = ns.name().to_owned();
    let configmaps: Api<ConfigMap> = ns.api();
    for i in 0..3 {
        let cm: ConfigMap =
            from_json(json!({"metadata": {"name": format!("cm-{i}")}, "data": {"k": "v"}}));
        configmaps
            .create(&PostParams::default(), &cm)
            .await
            .unwrap();
    }
    let pods: Api<Pod> = ns.api();
    let pod: Pod = from_json(json!({
        "metadata": {"name": "p"},
        "spec": {"containers": [{"name": "c", "image": "registry.invalid/c:1"}]}
    }));
    pods.create(&PostParams::default(), &pod).await.unwrap();

    ns.delete().await.unwrap();
    // The namespace controller empties the namespace, then the namespace goes away.
    let namespaces: Api<Namespace> = Api::all(client);
    eventually("the namespace to be gone", WAIT, || async {
        Ok(namespaces.get_opt(&name).await?.is_none().then_some(()))
    })
    .await
    .unwrap();
    assert!(
        configmaps
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert!(
        pods.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owner_reference_chain_is_garbage_collected() {
    let ns = TestNamespace::create("garbage-collection").await.unwrap();
    let configmaps: Api<ConfigMap> = ns.api();
    // root <- child <- grandchild, each owned by the one before.
    let mut owner: Option<ConfigMap> = None;
    for name in ["root", "child", "grandchild"] {
        let mut cm: ConfigMap = from_json(json!({"metadata": {"name": name}}));
        if let Some(owner) = &owner {
            cm.metadata.owner_references = Some(vec![owner.controller_owner_ref(&()).unwrap()]);
        }
        owner = Some(
            configmaps
                .create(&PostParams::default(), &cm)
                .await
                .unwrap(),
        );
    }
    // An object with no owner stays.
    let bystander: ConfigMap = from_json(json!({"metadata": {"name": "bystander"}}));
    configmaps
        .create(&PostParams::default(), &bystander)
        .await
        .unwrap();

    configmaps
        .delete("root", &DeleteParams::background())
        .await
        .unwrap();
    eventually(
        "the garbage collector to delete the chain",
        WAIT,
        || async {
            let left: Vec<String> = configmaps
                .list(&ListParams::default())
                .await?
                .items
                .into_iter()
                .filter_map(|cm| cm.metadata.name)
                .filter(|n| n != "kube-root-ca.crt")
                .collect();
            Ok((left == ["bystander"]).then_some(()))
        },
    )
    .await
    .unwrap();
}
