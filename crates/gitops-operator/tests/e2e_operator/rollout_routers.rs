//! Rollouts through the other routers: Gateway API (A/B with a header match), Istio
//! (`VirtualService` weights over `DestinationRule` subsets), NGINX (the canary `Ingress`), and
//! blue-green Service selectors. Upstream CRDs are installed as they are.

use gitops_rollout::RolloutObject;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};

use super::rollouts::{
    deployment_yaml, give, image, initialized, record, record_named, rollout_in,
    rollout_with_steps, start_world_with,
};
use super::*;

const GATEWAY_CRDS: &str = "../../../shared/corpus/upstream/crds/gateway-api-standard.yaml";
const ISTIO_CRDS: &str = "../../../shared/corpus/upstream/crds/istio-networking.yaml";

fn dynamic(world: &World, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
    let gvk = GroupVersionKind::gvk(group, version, kind);
    Api::namespaced_with(
        world.ns.client(),
        world.name(),
        &ApiResource::from_gvk(&gvk),
    )
}

/// 20 %, a 1 s pause, 50 %, a 1 s pause, through `routing` (a `trafficRouting` value).
fn canary_via(routing: &str) -> String {
    rollout_with_steps(
        "        - setWeight: 20\n        - pause: {duration: 1s}\n        - setWeight: 50\n        - pause: {duration: 1s}\n",
    )
    .replace("    smi: {}\n", &format!("    {routing}\n"))
}

/// Commits web:2 and waits until it is promoted.
async fn roll_out_web_2(world: &World, first: &str) {
    world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:2")))]);
    let rollouts: Api<RolloutObject> = world.ns.api();
    rollout_in(&rollouts, gitops_rollout::Phase::Healthy, "promoted", |s| {
        s.rollout
            .stable_revision
            .as_deref()
            .is_some_and(|r| r != first)
    })
    .await;
    let deployments: Api<Deployment> = world.ns.api();
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:2"
    );
}

async fn history<T: PartialEq + Clone + std::fmt::Debug>(seen: &Mutex<Vec<T>>, expected: &[T]) {
    eventually(&format!("stored history {expected:?}"), LONG, || async {
        Ok((seen.lock().unwrap().as_slice() == expected).then_some(()))
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}: saw {:?}", seen.lock().unwrap()));
}

#[tokio::test]
async fn an_istio_canary_shifts_virtual_service_weights_over_subsets() {
    let world = start_world_with("ro-istio", &canary_via("istio: {}"), &[], &[ISTIO_CRDS]).await;
    let first = initialized(&world).await;
    let rules = dynamic(&world, "networking.istio.io", "v1beta1", "DestinationRule")
        .get("web")
        .await
        .unwrap();
    let role = gitops_rollout::providers::ROLE_LABEL;
    let subsets: Vec<(String, String)> = rules.data["spec"]["subsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap().to_owned(),
                s["labels"][role].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        subsets,
        [
            ("stable".into(), "stable".into()),
            ("canary".into(), "canary".into())
        ]
    );
    let weights = record(
        dynamic(&world, "networking.istio.io", "v1beta1", "VirtualService"),
        |vs| {
            let route = &vs["spec"]["http"][0]["route"];
            (
                route[0]["weight"].as_i64().unwrap_or(-1),
                route[1]["weight"].as_i64().unwrap_or(-1),
            )
        },
    );
    roll_out_web_2(&world, &first).await;
    history(&weights, &[(100, 0), (80, 20), (50, 50), (100, 0)]).await;
}

#[tokio::test]
async fn an_nginx_canary_ingress_carries_the_weight_annotation() {
    let world = start_world_with("ro-nginx", &canary_via("nginx: {ingress: web}"), &[], &[]).await;
    let first = initialized(&world).await;
    let annotation = "nginx.ingress.kubernetes.io/canary-weight";
    let weights = record_named(
        dynamic(&world, "networking.k8s.io", "v1", "Ingress"),
        "web-canary",
        move |ingress| {
            ingress["metadata"]["annotations"][annotation]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        },
    );
    roll_out_web_2(&world, &first).await;
    history(
        &weights,
        &["0".to_owned(), "20".into(), "50".into(), "0".into()],
    )
    .await;
}

#[tokio::test]
async fn a_gateway_api_ab_test_routes_the_header_to_the_canary_then_promotes() {
    let rollout = "apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  targetRef: {name: web}
  service: {port: 80, targetPort: 8080}
  trafficRouting:
    gatewayAPI: {gateways: [edge]}
  strategy:
    abTest:
      match: [{headers: {x-canary: {exact: insider}}}]
      iterations: 2
      interval: 1s
";
    let world = start_world_with("ro-gw", rollout, &[], &[GATEWAY_CRDS]).await;
    let first = initialized(&world).await;
    let gvk = GroupVersionKind::gvk("gateway.networking.k8s.io", "v1", "HTTPRoute");
    let routes: Api<DynamicObject> = Api::namespaced_with(
        world.ns.client(),
        world.name(),
        &ApiResource::from_gvk(&gvk),
    );
    // Per stored version: the header rule's (header, value, backend), if any.
    let seen = record(routes, |route| {
        let rules = route["spec"]["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        rules.iter().find_map(|r| {
            let header = &r["matches"][0]["headers"][0];
            header.is_object().then(|| {
                (
                    header["name"].as_str().unwrap_or_default().to_owned(),
                    header["value"].as_str().unwrap_or_default().to_owned(),
                    r["backendRefs"][0]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
        })
    });
    eventually("the HTTPRoute without header rule", LONG, || async {
        Ok((seen.lock().unwrap().last() == Some(&None)).then_some(()))
    })
    .await
    .unwrap();

    world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:2")))]);
    let rollouts: Api<RolloutObject> = world.ns.api();
    rollout_in(&rollouts, gitops_rollout::Phase::Healthy, "promoted", |s| {
        s.rollout
            .stable_revision
            .as_ref()
            .is_some_and(|r| *r != first)
    })
    .await;
    let deployments: Api<Deployment> = world.ns.api();
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:2"
    );
    eventually("the HTTPRoute without header rule again", LONG, || async {
        Ok(
            (seen.lock().unwrap().len() >= 3 && seen.lock().unwrap().last() == Some(&None))
                .then_some(()),
        )
    })
    .await
    .unwrap();
    let insider = Some((
        "x-canary".to_owned(),
        "insider".to_owned(),
        "web-canary".to_owned(),
    ));
    assert_eq!(seen.lock().unwrap().clone(), [None, insider, None]);
}

#[tokio::test]
async fn a_blue_green_rollout_switches_the_active_service_when_promoted() {
    let rollout = "apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata:
  name: web
spec:
  targetRef: {name: web}
  service: {port: 80, targetPort: 8080}
  strategy:
    blueGreen:
      activeService: web
      previewService: web-preview
      autoPromotionEnabled: false
      scaleDownDelaySeconds: 0
";
    let world = start_world_with("ro-bg", rollout, &[], &[]).await;
    let first = initialized(&world).await;
    let services: Api<DynamicObject> = Api::namespaced_with(
        world.ns.client(),
        world.name(),
        &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Service")),
    );
    let role = gitops_rollout::providers::ROLE_LABEL;
    let active = record(services, move |service| {
        service["spec"]["selector"][role]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    world.commit(&[("app/deploy.yaml", Some(&deployment_yaml("web:2")))]);
    let rollouts: Api<RolloutObject> = world.ns.api();
    rollout_in(
        &rollouts,
        gitops_rollout::Phase::Paused,
        "at the promotion gate",
        |s| {
            s.rollout
                .canary_revision
                .as_ref()
                .is_some_and(|r| *r != first)
        },
    )
    .await;
    let preview = world
        .ns
        .api::<k8s_openapi::api::core::v1::Service>()
        .get("web-preview")
        .await
        .unwrap();
    assert_eq!(
        preview
            .spec
            .unwrap()
            .selector
            .unwrap()
            .get(role)
            .map(String::as_str),
        Some("canary")
    );
    assert!(
        !active.lock().unwrap().iter().any(|r| r == "canary"),
        "active not switched before promotion"
    );

    give(&rollouts, gitops_rollout::Command::Promote).await;
    rollout_in(&rollouts, gitops_rollout::Phase::Healthy, "promoted", |s| {
        s.rollout
            .stable_revision
            .as_ref()
            .is_some_and(|r| *r != first)
    })
    .await;
    let deployments: Api<Deployment> = world.ns.api();
    assert_eq!(
        image(&deployments.get("web-primary").await.unwrap()),
        "web:2"
    );
    // Active switched to the new pods, then back to the primary once it runs them.
    let expected = ["stable", "canary", "stable"];
    eventually("the active service's selector history", LONG, || async {
        Ok((*active.lock().unwrap() == expected).then_some(()))
    })
    .await
    .unwrap();
}
