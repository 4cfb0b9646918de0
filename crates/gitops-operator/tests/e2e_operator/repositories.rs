//! HelmReleases whose charts come from a HelmRepository: a chart repository (index.yaml and
//! chart archives) served by lighttpd on loopback.

use super::*;
use gitops_core::api::{HelmRelease, HelmRepository};
use gitops_testenv::git::BasicAuth;
use gitops_testenv::http::StaticHttp;
use sha2::Digest as _;

/// A chart repository on disk: packaged chart versions and the index that lists them.
struct ChartRepoDir {
    dir: tempfile::TempDir,
    entries: Vec<Value>,
}

impl ChartRepoDir {
    fn new() -> ChartRepoDir {
        ChartRepoDir {
            dir: tempfile::tempdir().unwrap(),
            entries: Vec::new(),
        }
    }

    /// Packages chart `demo` at `version` with `templates` (name, text) and lists it.
    fn publish(&mut self, version: &str, templates: &[(&str, &str)]) {
        let file = format!("demo-{version}.tgz");
        let archive = package(version, templates);
        std::fs::write(self.dir.path().join(&file), &archive).unwrap();
        let digest = hex::encode(sha2::Sha256::digest(&archive));
        self.entries.push(json!({
            "apiVersion": "v2", "name": "demo", "version": version,
            "urls": [file], "digest": digest,
        }));
        let index = json!({"apiVersion": "v1", "entries": {"demo": self.entries}});
        std::fs::write(
            self.dir.path().join("index.yaml"),
            serde_json::to_string_pretty(&index).unwrap(),
        )
        .unwrap();
    }
}

/// Chart `demo` at `version` with `templates` (name, text), packaged as `helm package` does.
fn package(version: &str, templates: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let chart = format!("apiVersion: v2\nname: demo\nversion: {version}\n");
    let values = "greeting: hello\n";
    let mut files = vec![
        ("demo/Chart.yaml".to_owned(), chart),
        ("demo/values.yaml".to_owned(), values.to_owned()),
        (
            "demo/values-prod.yaml".to_owned(),
            "greeting: prod\n".to_owned(),
        ),
    ];
    for (name, text) in templates {
        files.push((format!("demo/templates/{name}"), (*text).to_owned()));
    }
    for (path, text) in &files {
        let mut header = tar::Header::new_gnu();
        header.set_size(text.len() as u64);
        header.set_mode(0o644);
        builder
            .append_data(&mut header, path, text.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// A check for `eventually`: release `app` is Ready with chart `version` applied.
fn applied(
    releases: &Api<HelmRelease>,
    version: &'static str,
) -> impl FnMut() -> std::pin::Pin<
    Box<dyn std::future::Future<Output = anyhow::Result<Option<()>>> + Send>,
> {
    let releases = releases.clone();
    move || {
        let releases = releases.clone();
        Box::pin(async move {
            let status = releases.get("app").await?.status.unwrap_or_default();
            let ok = ready(&status.conditions).is_some_and(|c| c.status.as_str() == "True")
                && status.last_applied_revision.as_deref() == Some(version);
            Ok(ok.then_some(()))
        })
    }
}

const CONFIGMAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  key: {{ .Values.greeting }}-{{ .Chart.Version }}\n";

#[tokio::test]
async fn charts_from_a_helm_repository_follow_the_version_range_and_roll_back_with_their_values() {
    let mut charts = ChartRepoDir::new();
    charts.publish("1.0.0", &[("cm.yaml", CONFIGMAP)]);
    charts.publish("1.1.0", &[("cm.yaml", CONFIGMAP)]);
    let auth = BasicAuth {
        user: "charts".into(),
        password: "s3cret".into(),
    };
    let server = StaticHttp::start(charts.dir.path(), Some(auth)).unwrap();
    let mut world = World::new("op-helmrepo", &[("README", "unused\n")]).await;
    world.start_operator();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "charts-auth", "namespace": world.name()},
        "stringData": {"username": "charts", "password": "s3cret"},
    });
    world
        .ns
        .api::<k8s_openapi::api::core::v1::Secret>()
        .create(
            &PostParams::default(),
            &serde_json::from_value(secret).unwrap(),
        )
        .await
        .unwrap();
    let repo: HelmRepository = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": world.name()},
        "spec": {"url": format!("{}/", server.url()), "interval": "1s", "secretRef": {"name": "charts-auth"}},
    }))
    .unwrap();
    let repos = world.ns.api::<HelmRepository>();
    repos.create(&PostParams::default(), &repo).await.unwrap();
    let stored = eventually("the index stored", LONG, || async {
        let status = repos.get("charts").await?.status.unwrap_or_default();
        Ok(status
            .artifact
            .filter(|_| ready(&status.conditions).is_some_and(|c| c.status.as_str() == "True")))
    })
    .await
    .unwrap();
    assert!(stored.revision.starts_with("sha256:"), "{stored:?}");

    let release: HelmRelease = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": "app", "namespace": world.name()},
        "spec": {
            "chart": {"spec": {"chart": "demo", "version": "~1.0", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}},
            "values": {"greeting": "first"},
            "timeout": "8s",
            "upgrade": {"remediation": {"retries": 0, "remediateLastFailure": true}},
        },
    }))
    .unwrap();
    let releases = world.ns.api::<HelmRelease>();
    releases
        .create(&PostParams::default(), &release)
        .await
        .unwrap();
    let applied = |version: &'static str| applied(&releases, version);
    eventually("1.0.0 installed", LONG, applied("1.0.0"))
        .await
        .unwrap();
    assert_eq!(
        world.configmap_data("app").await.as_deref(),
        Some("first-1.0.0")
    );

    // Another range takes the highest version of it that the index has.
    releases
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"chart": {"spec": {"version": "~1.1"}}}})),
        )
        .await
        .unwrap();
    eventually("1.1.0 upgraded", LONG, applied("1.1.0"))
        .await
        .unwrap();
    assert_eq!(
        world.configmap_data("app").await.as_deref(),
        Some("first-1.1.0")
    );

    // 1.2.0 adds a Deployment that never becomes ready, and the values change with it: the
    // failed upgrade is rolled back to 1.1.0 with the values it had.
    let stuck = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: stuck\nspec:\n  replicas: 1\n  progressDeadlineSeconds: 2\n  selector:\n    matchLabels: {app: stuck}\n  template:\n    metadata:\n      labels: {app: stuck}\n    spec:\n      nodeSelector: {no-such: node}\n      containers:\n      - {name: app, image: registry.invalid/app:1}\n";
    charts.publish("1.2.0", &[("cm.yaml", CONFIGMAP), ("stuck.yaml", stuck)]);
    eventually("the new index stored", LONG, || async {
        let status = repos.get("charts").await?.status.unwrap_or_default();
        Ok(status
            .artifact
            .filter(|a| a.revision != stored.revision)
            .map(|_| ()))
    })
    .await
    .unwrap();
    releases
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {
                "chart": {"spec": {"version": ">=1.1.0"}},
                "values": {"greeting": "second"},
            }})),
        )
        .await
        .unwrap();
    let status = eventually("rolled back", LONG, || async {
        let status = releases.get("app").await?.status.unwrap_or_default();
        Ok(ready(&status.conditions)
            .is_some_and(|c| c.reason == "RolledBack")
            .then_some(status))
    })
    .await
    .unwrap();
    assert_eq!(status.last_applied_revision.as_deref(), Some("1.1.0"));
    assert_eq!(status.last_attempted_revision.as_deref(), Some("1.2.0"));
    let message = &ready(&status.conditions).unwrap().message;
    assert!(
        message.contains("rolled back to 1.1.0 with its values"),
        "{message}"
    );
    assert_eq!(
        world.configmap_data("app").await.as_deref(),
        Some("first-1.1.0")
    );
    // Each chart version was downloaded once, with the credentials.
    let requests = server.requests();
    assert_eq!(requests.matches("demo-1.1.0.tgz").count(), 1, "{requests}");
    assert!(!requests.contains(" 401 "), "{requests}");

    // A chart the index does not have: Ready=False, and the message says what it has.
    let missing: HelmRelease = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": "missing", "namespace": world.name()},
        "spec": {"chart": {"spec": {"chart": "nginx", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}}},
    }))
    .unwrap();
    releases
        .create(&PostParams::default(), &missing)
        .await
        .unwrap();
    let message = eventually("the missing chart reported", LONG, || async {
        let status = releases.get("missing").await?.status.unwrap_or_default();
        Ok(ready(&status.conditions)
            .filter(|c| c.status.as_str() == "False" && c.reason == "ArtifactFailed")
            .map(|c| c.message.clone()))
    })
    .await
    .unwrap();
    assert!(
        message.contains("chart `nginx` is not in the repository index (it has `demo`)"),
        "{message}"
    );
}

#[tokio::test]
async fn a_helm_repository_that_refuses_the_credentials_is_not_ready() {
    let mut charts = ChartRepoDir::new();
    charts.publish("1.0.0", &[("cm.yaml", CONFIGMAP)]);
    let auth = BasicAuth {
        user: "charts".into(),
        password: "right".into(),
    };
    let server = StaticHttp::start(charts.dir.path(), Some(auth)).unwrap();
    let mut world = World::new("op-helmrepo-auth", &[("README", "unused\n")]).await;
    world.start_operator();
    let repo: HelmRepository = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": world.name()},
        "spec": {"url": server.url(), "interval": "1s"},
    }))
    .unwrap();
    let repos = world.ns.api::<HelmRepository>();
    repos.create(&PostParams::default(), &repo).await.unwrap();
    let message = eventually("the refusal reported", LONG, || async {
        let status = repos.get("charts").await?.status.unwrap_or_default();
        Ok(ready(&status.conditions)
            .filter(|c| c.status.as_str() == "False")
            .map(|c| format!("{}: {}", c.reason, c.message)))
    })
    .await
    .unwrap();
    assert!(
        message.starts_with("IndexationFailed: GET")
            && message.contains("/index.yaml: the server answered 401"),
        "{message}"
    );
}

#[tokio::test]
async fn an_https_helm_repository_is_trusted_through_the_ca_of_cert_secret_ref() {
    let mut charts = ChartRepoDir::new();
    charts.publish("1.0.0", &[("cm.yaml", CONFIGMAP)]);
    let server = StaticHttp::start_tls(charts.dir.path()).unwrap();
    let ca = std::fs::read_to_string(server.ca_cert().unwrap()).unwrap();
    let mut world = World::new("op-helmrepo-tls", &[("README", "unused\n")]).await;
    world.start_operator();
    let secret = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "charts-ca", "namespace": world.name()},
        "stringData": {"ca.crt": ca},
    });
    world
        .ns
        .api::<k8s_openapi::api::core::v1::Secret>()
        .create(
            &PostParams::default(),
            &serde_json::from_value(secret).unwrap(),
        )
        .await
        .unwrap();
    let repos = world.ns.api::<HelmRepository>();
    for (name, spec) in [
        ("untrusted", json!({"url": server.url(), "interval": "1m"})),
        (
            "trusted",
            json!({"url": server.url(), "interval": "1m", "certSecretRef": {"name": "charts-ca"}}),
        ),
    ] {
        let repo: HelmRepository = serde_json::from_value(json!({
            "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRepository",
            "metadata": {"name": name, "namespace": world.name()},
            "spec": spec,
        }))
        .unwrap();
        repos.create(&PostParams::default(), &repo).await.unwrap();
    }
    let ready_of = |name: &'static str| {
        let repos = repos.clone();
        move || {
            let repos = repos.clone();
            async move {
                let status = repos.get(name).await?.status.unwrap_or_default();
                Ok(ready(&status.conditions)
                    .filter(|c| c.reason != "Progressing")
                    .map(|c| (c.status.as_str().to_owned(), c.message.clone())))
            }
        }
    };
    let (status, message) = eventually("the trusted repository", LONG, ready_of("trusted"))
        .await
        .unwrap();
    assert_eq!(status, "True", "{message}");
    assert!(message.contains("stored index with 1 charts"), "{message}");
    let (status, message) = eventually("the untrusted repository", LONG, ready_of("untrusted"))
        .await
        .unwrap();
    assert_eq!(status, "False", "{message}");
    assert!(
        message.contains("/index.yaml") && message.to_lowercase().contains("certificate"),
        "{message}"
    );
}

#[tokio::test]
async fn charts_from_an_oci_registry_follow_the_version_range() {
    let registry = gitops_testenv::registry::OciRegistry::start().unwrap();
    for version in ["1.0.0", "1.1.0", "2.0.0-rc.1"] {
        registry
            .push_chart(
                "charts/demo",
                version,
                &package(version, &[("cm.yaml", CONFIGMAP)]),
            )
            .unwrap();
    }
    let mut world = World::new("op-helmrepo-oci", &[("README", "unused\n")]).await;
    world.start_operator();
    let repo: HelmRepository = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRepository",
        "metadata": {"name": "oci", "namespace": world.name()},
        "spec": {"type": "oci", "url": format!("oci://{}/charts", registry.host()), "insecure": true, "interval": "1m"},
    }))
    .unwrap();
    world
        .ns
        .api::<HelmRepository>()
        .create(&PostParams::default(), &repo)
        .await
        .unwrap();
    let release: HelmRelease = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": "app", "namespace": world.name()},
        "spec": {
            "chart": {"spec": {"chart": "demo", "version": "~1.0", "valuesFiles": ["values-prod.yaml"], "sourceRef": {"kind": "HelmRepository", "name": "oci"}}},
        },
    }))
    .unwrap();
    let releases = world.ns.api::<HelmRelease>();
    releases
        .create(&PostParams::default(), &release)
        .await
        .unwrap();
    let applied = |version: &'static str| applied(&releases, version);
    eventually("1.0.0 from the registry", LONG, applied("1.0.0"))
        .await
        .unwrap_or_else(|e| panic!("{e}\nregistry log:\n{}", registry.log()));
    assert_eq!(
        world.configmap_data("app").await.as_deref(),
        Some("prod-1.0.0")
    );
    // The chart's values file was merged (valuesFiles are paths in the chart). Now the highest
    // release of the range; the pre-release is not taken.
    releases
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"chart": {"spec": {"version": ">=1.0.0"}}}})),
        )
        .await
        .unwrap();
    eventually("1.1.0 from the registry", LONG, applied("1.1.0"))
        .await
        .unwrap();
    assert_eq!(
        world.configmap_data("app").await.as_deref(),
        Some("prod-1.1.0")
    );
}

/// A chart repository that can be switched to answer every request with 500, as a broken
/// repository server does: a minimal HTTP/1.1 file server on loopback (lighttpd cannot be made
/// to fail on demand).
struct FlakyCharts {
    url: String,
    failing: Arc<std::sync::atomic::AtomicBool>,
}

impl FlakyCharts {
    fn start(dir: &Path) -> FlakyCharts {
        use std::io::{BufRead as _, Write as _};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (dir, flag) = (dir.to_owned(), failing.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                let path = request.split_whitespace().nth(1).unwrap_or("/");
                let file = dir.join(path.trim_start_matches('/'));
                let (status, body) = if flag.load(Ordering::SeqCst) {
                    ("500 Internal Server Error", b"broken".to_vec())
                } else {
                    match std::fs::read(&file) {
                        Ok(body) => ("200 OK", body),
                        Err(_) => ("404 Not Found", Vec::new()),
                    }
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        FlakyCharts { url, failing }
    }

    fn fail(&self, failing: bool) {
        self.failing
            .store(failing, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn a_chart_repository_answering_500_keeps_the_release_and_recovers() {
    let mut charts = ChartRepoDir::new();
    charts.publish("1.0.0", &[("cm.yaml", CONFIGMAP)]);
    let server = FlakyCharts::start(charts.dir.path());
    let mut world = World::new("op-charts500", &[("README", "unused\n")]).await;
    world.start_operator();
    let repo: HelmRepository = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRepository",
        "metadata": {"name": "charts", "namespace": world.name()},
        "spec": {"url": format!("{}/", server.url), "interval": "1s"},
    }))
    .unwrap();
    let repos = world.ns.api::<HelmRepository>();
    repos.create(&PostParams::default(), &repo).await.unwrap();
    let release: HelmRelease = serde_json::from_value(json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "HelmRelease",
        "metadata": {"name": "app", "namespace": world.name()},
        "spec": {
            "chart": {"spec": {"chart": "demo", "version": ">=1.0.0", "sourceRef": {"kind": "HelmRepository", "name": "charts"}}},
            "values": {"greeting": "hi"},
            "interval": "2s",
        },
    }))
    .unwrap();
    let releases = world.ns.api::<HelmRelease>();
    releases
        .create(&PostParams::default(), &release)
        .await
        .unwrap();
    eventually("1.0.0 installed", LONG, applied(&releases, "1.0.0"))
        .await
        .unwrap();

    // The server breaks, and a new version is published behind it.
    server.fail(true);
    charts.publish("1.1.0", &[("cm.yaml", CONFIGMAP)]);
    let message = eventually("HelmRepository Ready=False on the 500", LONG, || async {
        let status = repos.get("charts").await?.status.unwrap_or_default();
        Ok(ready(&status.conditions)
            .filter(|c| c.status.as_str() == "False")
            .map(|c| c.message.clone()))
    })
    .await
    .unwrap();
    assert!(message.contains("500"), "{message}");
    // The release keeps what it applied: nothing is uninstalled or pruned on a source failure.
    assert_eq!(
        world.configmap_data("app").await.as_deref(),
        Some("hi-1.0.0")
    );

    server.fail(false);
    eventually(
        "1.1.0 upgraded once the repository answers",
        LONG,
        applied(&releases, "1.1.0"),
    )
    .await
    .unwrap();
    assert_eq!(
        world.configmap_data("app").await.as_deref(),
        Some("hi-1.1.0")
    );
    drop(world.operator.take());
}
