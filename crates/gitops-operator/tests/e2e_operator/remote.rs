//! `spec.kubeConfig`: a unit applied through the kubeconfig in a Secret (here the test cluster
//! itself, reached as a ServiceAccount with its own token, so that the identity shows), broken
//! kubeconfigs, and the refused `spec.decryption`.

use k8s_openapi::ByteString;
use k8s_openapi::api::authentication::v1::TokenRequest;
use k8s_openapi::api::core::v1::{Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};

use super::*;

/// A kubeconfig for the test cluster as ServiceAccount `account` of `namespace` (a bound token),
/// with the CA inline: the admin kubeconfig's files would be refused.
async fn kubeconfig_as(ns: &TestNamespace, account: &str) -> String {
    let admin =
        kube::config::Kubeconfig::read_from(Cluster::shared().unwrap().kubeconfig()).unwrap();
    let cluster = admin.clusters[0].cluster.clone().unwrap();
    let server = cluster.server.unwrap();
    let ca = match (
        cluster.certificate_authority_data,
        cluster.certificate_authority,
    ) {
        (Some(data), _) => data,
        (None, Some(file)) => {
            let pem = std::fs::read(file).unwrap();
            serde_json::to_value(ByteString(pem))
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        }
        (None, None) => panic!("the test cluster's kubeconfig has no CA"),
    };
    let request: TokenRequest =
        serde_json::from_value(json!({"spec": {"audiences": [], "expirationSeconds": 3600}}))
            .unwrap();
    let token = ns
        .api::<ServiceAccount>()
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token;
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: remote\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: {account}\n  user:\n    token: {token}\ncontexts:\n- name: remote\n  context:\n    cluster: remote\n    user: {account}\ncurrent-context: remote\n"
    )
}

async fn create<K>(ns: &TestNamespace, object: Value)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let object: K = serde_json::from_value(object).unwrap();
    ns.api::<K>()
        .create(&PostParams::default(), &object)
        .await
        .unwrap();
}

/// Creates ServiceAccount `deployer`, which may manage the ConfigMaps of the namespace and
/// nothing else, and stores a kubeconfig acting as it in Secret `secret` (key `value`).
async fn store_deployer_kubeconfig(world: &World, secret: &str) {
    let ns = world.name();
    let api = world.ns.api::<ServiceAccount>();
    if api.get_opt("deployer").await.unwrap().is_none() {
        create::<ServiceAccount>(&world.ns, json!({"metadata": {"name": "deployer"}})).await;
        create::<Role>(
            &world.ns,
            json!({"metadata": {"name": "configmaps"}, "rules": [{"apiGroups": [""],
                "resources": ["configmaps"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]}]}),
        )
        .await;
        create::<RoleBinding>(
            &world.ns,
            json!({"metadata": {"name": "deployer"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "configmaps"},
                "subjects": [{"kind": "ServiceAccount", "name": "deployer", "namespace": ns}]}),
        )
        .await;
    }
    let kubeconfig = kubeconfig_as(&world.ns, "deployer").await;
    create::<Secret>(
        &world.ns,
        json!({"metadata": {"name": secret}, "stringData": {"value": kubeconfig}}),
    )
    .await;
}

/// Waits until unit `name` has Ready=`status` with `reason` and returns the Ready message.
async fn ready_condition(world: &World, name: &str, status: &str, reason: &str) -> String {
    let units = world.units();
    eventually(
        &format!("unit {name} Ready={status} ({reason})"),
        LONG,
        || async {
            let unit = units.get(name).await?;
            Ok(condition(&unit, "Ready")
                .filter(|c| c.status.as_str() == status && c.reason == reason)
                .map(|c| c.message.clone()))
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_unit_with_kube_config_applies_as_the_kubeconfigs_user() {
    let secret_yaml =
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: forbidden\nstringData:\n  key: x\n";
    let mut world = World::new(
        "op-kubeconfig",
        &[
            ("app/cm.yaml", &configmap_yaml("through-kubeconfig", "one")),
            ("forbidden/secret.yaml", secret_yaml),
        ],
    )
    .await;
    let ns = world.name().to_owned();
    store_deployer_kubeconfig(&world, "remote").await;
    create::<Secret>(
        &world.ns,
        json!({"metadata": {"name": "broken"}, "stringData": {"value": "clusters: [not a kubeconfig"}}),
    )
    .await;
    world.start_operator();
    world.create_source("1m").await;
    let remote = json!({"secretRef": {"name": "remote"}});
    for (name, spec) in [
        ("app", json!({"path": "./app", "kubeConfig": remote})),
        (
            "forbidden",
            json!({"path": "./forbidden", "kubeConfig": remote, "retryInterval": "1m"}),
        ),
        (
            "broken",
            json!({"path": "./app", "kubeConfig": {"secretRef": {"name": "broken"}}, "retryInterval": "1m"}),
        ),
        (
            "wrong-key",
            json!({"path": "./app", "kubeConfig": {"secretRef": {"name": "remote", "key": "config"}}, "retryInterval": "1m"}),
        ),
        (
            "sops",
            json!({"path": "./app", "decryption": {"provider": "sops", "secretRef": {"name": "sops-age"}}}),
        ),
    ] {
        world.create_unit(name, spec).await;
    }

    // Through the kubeconfig: applied, and the inventory lists the object.
    let unit = world.ready_at("app", &world.head()).await;
    assert_eq!(
        world.configmap_data("through-kubeconfig").await.as_deref(),
        Some("one")
    );
    assert_eq!(unit.status.unwrap().inventory.unwrap().len(), 1);
    // The kubeconfig's user is the one applying: it may not create Secrets, the operator may.
    let message = ready_condition(&world, "forbidden", "False", "ReconciliationFailed").await;
    let user = format!("system:serviceaccount:{ns}:deployer");
    assert!(message.contains(&user), "{message}");
    assert!(
        world
            .ns
            .api::<Secret>()
            .get_opt("forbidden")
            .await
            .unwrap()
            .is_none()
    );
    // A broken kubeconfig and a missing key name the Secret and the key.
    let message = ready_condition(&world, "broken", "False", "KubeConfigFailed").await;
    assert!(
        message.starts_with(&format!(
            "spec.kubeConfig: Secret {ns}/broken key `value`: not a kubeconfig"
        )),
        "{message}"
    );
    let message = ready_condition(&world, "wrong-key", "False", "KubeConfigFailed").await;
    assert_eq!(
        message,
        format!("spec.kubeConfig: Secret {ns}/remote has no key `config` (keys: value)")
    );
    // Decryption is refused, not ignored.
    let message = ready_condition(&world, "sops", "False", "DecryptionNotSupported").await;
    assert!(message.starts_with("spec.decryption is set"), "{message}");
}

#[tokio::test]
async fn deleting_a_remote_unit_prunes_through_its_kubeconfig_or_skips_once_the_secret_is_gone() {
    let mut world = World::new(
        "op-kubeconfig-delete",
        &[
            ("pruned/cm.yaml", &configmap_yaml("pruned", "x")),
            ("kept/cm.yaml", &configmap_yaml("kept", "x")),
        ],
    )
    .await;
    store_deployer_kubeconfig(&world, "pruned").await;
    store_deployer_kubeconfig(&world, "kept").await;
    world.start_operator();
    world.create_source("1m").await;
    for name in ["pruned", "kept"] {
        world
            .create_unit(
                name,
                json!({"path": format!("./{name}"), "prune": true,
                    "kubeConfig": {"secretRef": {"name": name}}}),
            )
            .await;
    }
    let head = world.head();
    world.ready_at("pruned", &head).await;
    world.ready_at("kept", &head).await;
    // With its Secret: deletion prunes.
    let units = world.units();
    units
        .delete("pruned", &DeleteParams::default())
        .await
        .unwrap();
    eventually("unit pruned and its ConfigMap gone", LONG, || async {
        let unit = units.get_opt("pruned").await?;
        let data = world.configmap_data("pruned").await;
        Ok((unit.is_none() && data.is_none()).then_some(()))
    })
    .await
    .unwrap();
    // Without it (as when its namespace is deleted): the unit goes, its objects stay, an Event
    // says why.
    world
        .ns
        .api::<Secret>()
        .delete("kept", &DeleteParams::default())
        .await
        .unwrap();
    units
        .delete("kept", &DeleteParams::default())
        .await
        .unwrap();
    eventually("unit kept deleted", LONG, || async {
        Ok(units.get_opt("kept").await?.is_none().then_some(()))
    })
    .await
    .unwrap();
    assert_eq!(world.configmap_data("kept").await.as_deref(), Some("x"));
    let events: Api<k8s_openapi::api::events::v1::Event> = world.ns.api();
    let list = events.list(&Default::default()).await.unwrap();
    let skipped = list
        .items
        .iter()
        .find(|e| {
            e.reason.as_deref() == Some("PruneSkipped")
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("kept")
        })
        .expect("a PruneSkipped event");
    let note = skipped.note.as_deref().unwrap_or_default();
    assert!(
        note.contains(&format!(
            "Secret {}/kept of spec.kubeConfig is gone",
            world.name()
        )),
        "{note}"
    );
}

#[tokio::test]
async fn a_helm_release_with_kube_config_installs_as_the_kubeconfigs_user() {
    let chart = "apiVersion: v2\nname: demo\nversion: 0.1.0\n";
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  key: remote\n";
    let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}-secret\nstringData:\n  key: x\n";
    let mut world = World::new(
        "op-kubeconfig-helm",
        &[
            ("charts/cm/Chart.yaml", chart),
            ("charts/cm/templates/cm.yaml", cm),
            ("charts/secret/Chart.yaml", chart),
            ("charts/secret/templates/secret.yaml", secret),
        ],
    )
    .await;
    let ns = world.name().to_owned();
    store_deployer_kubeconfig(&world, "remote").await;
    world.start_operator();
    world.create_source("1m").await;
    let releases = world.ns.api::<gitops_core::api::HelmRelease>();
    for (name, path) in [("allowed", "./charts/cm"), ("refused", "./charts/secret")] {
        let release: gitops_core::api::HelmRelease = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": ns},
            "spec": {
                "chart": {"spec": {"chart": path, "sourceRef": {"kind": "GitRepository", "name": "repo"}}},
                "kubeConfig": {"secretRef": {"name": "remote"}},
                "timeout": "10s",
            },
        }))
        .unwrap();
        releases
            .create(&PostParams::default(), &release)
            .await
            .unwrap();
    }
    let status_of = |name: &'static str, wanted: &'static str| {
        let releases = releases.clone();
        move || {
            let releases = releases.clone();
            async move {
                let status = releases.get(name).await?.status.unwrap_or_default();
                Ok(ready(&status.conditions)
                    .filter(|c| c.status.as_str() == wanted)
                    .map(|c| c.message.clone()))
            }
        }
    };
    eventually(
        "the ConfigMap release installed",
        LONG,
        status_of("allowed", "True"),
    )
    .await
    .unwrap();
    assert_eq!(
        world.configmap_data("allowed").await.as_deref(),
        Some("remote")
    );
    // The kubeconfig's user may not create Secrets; the operator could.
    let message = eventually(
        "the Secret release refused",
        LONG,
        status_of("refused", "False"),
    )
    .await
    .unwrap();
    assert!(
        message.contains(&format!("system:serviceaccount:{ns}:deployer")),
        "{message}"
    );
}
