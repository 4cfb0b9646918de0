//! The manifests that install the operator in a cluster: our CRDs, its Namespace,
//! ServiceAccount, RBAC, Service and Deployment. `gitops install --export` prints them,
//! `gitops install` applies them, and `deploy/install.yaml` is a checked-in copy kept equal to
//! them by a test.
//!
//! # RBAC
//!
//! The operator applies whatever its units hold — Namespaces, CRDs, ClusterRoles, workloads of
//! any kind — so, as Flux's kustomize-controller (bound to `cluster-admin` by Flux's
//! `cluster-reconciler` binding), its ServiceAccount is bound to `cluster-admin`. Tenants are
//! confined with `spec.serviceAccountName`, which the operator impersonates when applying. The
//! rights the operator needs for itself (its own kinds with their status and finalizers, Leases
//! for leader election, Events, Secrets and ConfigMaps it reads) are also listed in a ClusterRole
//! of their own, so that an installation that replaces the `cluster-admin` binding with narrower
//! rights keeps a working operator.

use serde_json::{Value, json};

use super::crds;

/// Where and what to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallOptions {
    /// Namespace of the operator (`gitops-system`).
    pub namespace: String,
    /// The operator's container image.
    pub image: String,
    /// CRDs of kinds the operator serves that are defined outside this crate (the `Rollout` of
    /// gitops-rollout, which depends on this crate), installed after ours. Empty by default:
    /// `gitops install` fills it.
    pub extra_crds: Vec<Value>,
}

/// The operator's namespace by default.
pub const DEFAULT_NAMESPACE: &str = "gitops-system";

/// The name of the operator's Deployment, ServiceAccount, Service and ClusterRole.
pub const OPERATOR_NAME: &str = "gitops-operator";

/// Port of the operator's HTTP server (`/metrics`, `/healthz`, `/readyz`, `/hook/...`).
pub const HTTP_PORT: u16 = 9090;

/// Where the operator keeps fetched artifacts in its container (an `emptyDir` volume).
pub const STORAGE_PATH: &str = "/data";

impl Default for InstallOptions {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_NAMESPACE.to_owned(),
            image: format!(
                "ghcr.io/gitops-rs/gitops-operator:{}",
                env!("CARGO_PKG_VERSION")
            ),
            extra_crds: Vec::new(),
        }
    }
}

/// The install manifests in apply order: CRDs, Namespace, ServiceAccount, ClusterRoles and
/// their bindings, Service, Deployment.
#[must_use]
pub fn install_manifests(options: &InstallOptions) -> Vec<Value> {
    let ns = options.namespace.as_str();
    let labels = json!({
        "app.kubernetes.io/name": OPERATOR_NAME,
        "app.kubernetes.io/part-of": "gitops",
        "app.kubernetes.io/version": env!("CARGO_PKG_VERSION"),
    });
    let mut objects = crds();
    objects.extend(options.extra_crds.iter().cloned());
    for crd in &mut objects {
        crd["metadata"]["labels"] = labels.clone();
    }
    objects.extend([
        json!({
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": labels},
        }),
        json!({
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": OPERATOR_NAME, "namespace": ns, "labels": labels},
        }),
        own_rights(&labels),
        binding(ns, OPERATOR_NAME, OPERATOR_NAME, &labels),
        // Units apply any kind: the same choice as Flux's kustomize-controller.
        binding(
            ns,
            &format!("{OPERATOR_NAME}-cluster-admin"),
            "cluster-admin",
            &labels,
        ),
        service(ns, &labels),
        deployment(options, &labels),
    ]);
    objects
}

/// The rights the operator needs for its own work, whatever its units hold.
fn own_rights(labels: &Value) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": OPERATOR_NAME, "labels": labels},
        "rules": [
            {
                "apiGroups": [super::GROUP],
                "resources": [
                    "gitrepositories", "helmrepositories", "kustomizations", "helmreleases",
                    "receivers", "rollouts",
                    "gitrepositories/status", "helmrepositories/status",
                    "kustomizations/status", "helmreleases/status", "receivers/status",
                    "rollouts/status",
                    "gitrepositories/finalizers", "helmrepositories/finalizers",
                    "kustomizations/finalizers", "helmreleases/finalizers",
                    "receivers/finalizers", "rollouts/finalizers",
                ],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            // Rollouts: the target and primary Deployments, the Services and the routers'
            // objects (SMI, Gateway API, Istio, NGINX Ingress).
            {
                "apiGroups": ["apps"],
                "resources": ["deployments"],
                "verbs": ["get", "list", "watch", "create", "update", "patch"],
            },
            {
                "apiGroups": ["", "networking.k8s.io", "split.smi-spec.io", "gateway.networking.k8s.io", "networking.istio.io"],
                "resources": ["services", "ingresses", "trafficsplits", "httproutes", "virtualservices", "destinationrules"],
                "verbs": ["get", "list", "watch", "create", "update", "patch"],
            },
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            },
            {
                "apiGroups": ["", "events.k8s.io"],
                "resources": ["events"],
                "verbs": ["create", "patch", "update"],
            },
            {
                "apiGroups": [""],
                "resources": ["secrets", "configmaps", "serviceaccounts"],
                "verbs": ["get", "list", "watch"],
            },
            {
                "apiGroups": [""],
                "resources": ["serviceaccounts"],
                "verbs": ["impersonate"],
            },
        ],
    })
}

fn binding(ns: &str, name: &str, role: &str, labels: &Value) -> Value {
    json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": labels},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": role,
        },
        "subjects": [{"kind": "ServiceAccount", "name": OPERATOR_NAME, "namespace": ns}],
    })
}

/// The Service in front of the HTTP server: webhooks reach Receivers through it, Prometheus
/// scrapes it.
fn service(ns: &str, labels: &Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": OPERATOR_NAME, "namespace": ns, "labels": labels},
        "spec": {
            "type": "ClusterIP",
            "selector": {"app.kubernetes.io/name": OPERATOR_NAME},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        },
    })
}

fn deployment(options: &InstallOptions, labels: &Value) -> Value {
    let probe = |path: &str| {
        json!({
            "httpGet": {"path": path, "port": "http"},
            "initialDelaySeconds": 2,
            "periodSeconds": 10,
        })
    };
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": OPERATOR_NAME, "namespace": options.namespace, "labels": labels},
        "spec": {
            // One replica; a second one waits as a standby behind the leader-election Lease.
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": OPERATOR_NAME}},
            "template": {
                "metadata": {
                    "labels": labels,
                    "annotations": {
                        "prometheus.io/scrape": "true",
                        "prometheus.io/port": HTTP_PORT.to_string(),
                    },
                },
                "spec": {
                    "serviceAccountName": OPERATOR_NAME,
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": {
                        "runAsNonRoot": true,
                        "runAsUser": 65532,
                        "fsGroup": 65532,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [{
                        "name": "operator",
                        "image": options.image,
                        "imagePullPolicy": "IfNotPresent",
                        // Leader election is on by default; the Lease lives in the
                        // operator's namespace (`$(POD_NAMESPACE)` is expanded by the kubelet).
                        "args": [
                            format!("--http-addr=0.0.0.0:{HTTP_PORT}"),
                            format!("--storage-path={STORAGE_PATH}"),
                            "--log-format=json",
                            "--lease-namespace=$(POD_NAMESPACE)",
                        ],
                        "env": [
                            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        ],
                        "ports": [{"name": "http", "containerPort": HTTP_PORT, "protocol": "TCP"}],
                        "livenessProbe": probe("/healthz"),
                        "readinessProbe": probe("/readyz"),
                        "resources": {
                            "requests": {"cpu": "100m", "memory": "64Mi"},
                            "limits": {"cpu": "1", "memory": "1Gi"},
                        },
                        "securityContext": {
                            "allowPrivilegeEscalation": false,
                            "readOnlyRootFilesystem": true,
                            "capabilities": {"drop": ["ALL"]},
                        },
                        "volumeMounts": [
                            {"name": "data", "mountPath": STORAGE_PATH},
                            {"name": "tmp", "mountPath": "/tmp"},
                        ],
                    }],
                    "volumes": [
                        {"name": "data", "emptyDir": {}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    })
}

/// What `gitops bootstrap` points the operator at: the repository, the branch it follows, and
/// the directory it reconciles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncOptions {
    /// The URL the operator fetches.
    pub url: String,
    /// The branch it follows.
    pub branch: String,
    /// The directory of the repository it reconciles (`clusters/dev`); `.` for the root.
    pub path: String,
}

/// The name of the bootstrap GitRepository and Kustomization (Flux calls both `flux-system`).
pub const SYNC_NAME: &str = "gitops-system";

/// `path` without `./` or `/` at its ends; empty for the repository root.
fn clean_path(path: &str) -> &str {
    let mut p = path.trim().trim_matches('/');
    while let Some(rest) = p.strip_prefix("./") {
        p = rest.trim_start_matches('/');
    }
    if p == "." { "" } else { p }
}

/// The GitRepository and Kustomization that make the operator manage its own repository
/// directory (itself included, as the manifests live in that directory).
#[must_use]
pub fn sync_manifests(install: &InstallOptions, sync: &SyncOptions) -> Vec<Value> {
    let ns = install.namespace.as_str();
    vec![
        json!({
            "apiVersion": super::API_VERSION,
            "kind": "GitRepository",
            "metadata": {"name": SYNC_NAME, "namespace": ns},
            "spec": {
                "url": sync.url,
                "ref": {"branch": sync.branch},
                "interval": "1m0s",
            },
        }),
        json!({
            "apiVersion": super::API_VERSION,
            "kind": "Kustomization",
            "metadata": {"name": SYNC_NAME, "namespace": ns},
            "spec": {
                "sourceRef": {"kind": "GitRepository", "name": SYNC_NAME},
                "path": format!("./{}", clean_path(&sync.path)),
                "prune": true,
                "interval": "10m0s",
            },
        }),
    ]
}

/// The files `gitops bootstrap` commits: `<path>/gitops-system/install.yaml` (the install
/// manifests) and `<path>/gitops-system/sync.yaml` (the GitRepository and Kustomization), as
/// (slash-separated path in the repository, content).
#[must_use]
pub fn bootstrap_files(install: &InstallOptions, sync: &SyncOptions) -> Vec<(String, String)> {
    let dir = match clean_path(&sync.path) {
        "" => SYNC_NAME.to_owned(),
        p => format!("{p}/{SYNC_NAME}"),
    };
    let header = "# Generated by `gitops bootstrap`.\n";
    vec![
        (
            format!("{dir}/install.yaml"),
            format!(
                "{header}{}",
                crate::yaml::to_string_multi(&install_manifests(install))
            ),
        ),
        (
            format!("{dir}/sync.yaml"),
            format!(
                "{header}{}",
                crate::yaml::to_string_multi(&sync_manifests(install, sync))
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(objects: &[Value]) -> Vec<String> {
        objects
            .iter()
            .map(|o| {
                format!(
                    "{}/{}",
                    o["kind"].as_str().unwrap_or(""),
                    o["metadata"]["name"]
                )
            })
            .collect()
    }

    #[test]
    fn manifests_come_in_apply_order_with_crds_first() {
        let objects = install_manifests(&InstallOptions::default());
        let kinds = kinds(&objects);
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition/\"gitrepositories.gitops.rs\"",
                "CustomResourceDefinition/\"helmrepositories.gitops.rs\"",
                "CustomResourceDefinition/\"kustomizations.gitops.rs\"",
                "CustomResourceDefinition/\"helmreleases.gitops.rs\"",
                "CustomResourceDefinition/\"receivers.gitops.rs\"",
                "Namespace/\"gitops-system\"",
                "ServiceAccount/\"gitops-operator\"",
                "ClusterRole/\"gitops-operator\"",
                "ClusterRoleBinding/\"gitops-operator\"",
                "ClusterRoleBinding/\"gitops-operator-cluster-admin\"",
                "Service/\"gitops-operator\"",
                "Deployment/\"gitops-operator\"",
            ]
        );
    }

    #[test]
    fn namespace_and_image_follow_the_options() {
        let options = InstallOptions {
            namespace: "ops".into(),
            image: "registry.example/op:dev".into(),
            extra_crds: Vec::new(),
        };
        let objects = install_manifests(&options);
        let deployment = objects.last().unwrap();
        assert_eq!(deployment["metadata"]["namespace"], "ops");
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(container["image"], "registry.example/op:dev");
        assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
        assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
        for o in &objects {
            if o["metadata"]["namespace"].is_string() {
                assert_eq!(o["metadata"]["namespace"], "ops", "{}", o["kind"]);
            }
            if let Some(subjects) = o["subjects"].as_array() {
                assert_eq!(subjects[0]["namespace"], "ops");
            }
        }
    }

    #[test]
    fn bootstrap_files_live_under_the_path_and_point_at_it() {
        let sync = SyncOptions {
            url: "ssh://git@example.invalid/fleet.git".into(),
            branch: "main".into(),
            path: "./clusters/dev/".into(),
        };
        let files = bootstrap_files(&InstallOptions::default(), &sync);
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "clusters/dev/gitops-system/install.yaml",
                "clusters/dev/gitops-system/sync.yaml"
            ]
        );
        insta::assert_snapshot!(files[1].1);
        let root = SyncOptions {
            path: ".".into(),
            ..sync
        };
        let files = bootstrap_files(&InstallOptions::default(), &root);
        assert_eq!(files[0].0, "gitops-system/install.yaml");
        assert!(files[1].1.contains("path: ./\n"), "{}", files[1].1);
    }

    #[test]
    fn the_operator_may_update_status_and_finalizers_and_hold_leases() {
        let objects = install_manifests(&InstallOptions::default());
        let role = objects
            .iter()
            .find(|o| o["kind"] == "ClusterRole")
            .unwrap()
            .to_string();
        for needed in [
            "kustomizations/status",
            "helmrepositories/status",
            "gitrepositories/finalizers",
            "leases",
            "events",
        ] {
            assert!(role.contains(needed), "{needed}");
        }
    }
}
