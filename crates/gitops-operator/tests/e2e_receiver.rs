//! The Receiver controller and webhook handler against the control plane of `scripts/testenv`,
//! over a real socket. Built only with the `e2e` feature (`scripts/test` turns it on).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use gitops_core::api::status::REQUESTED_AT_ANNOTATION;
use gitops_core::api::{GitRepository, Receiver};
use gitops_operator::http::{self, Metrics};
use gitops_operator::receiver::{self, verify::webhook_path};
use gitops_testenv::{Cluster, TestNamespace, eventually};
use hmac::{Hmac, Mac};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const TOKEN: &str = "e2e-webhook-token";

/// Installs our CRDs (server-side apply, idempotent) and waits until they are Established.
async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in gitops_core::api::crds() {
        let name = crd["metadata"]["name"].as_str().unwrap().to_owned();
        crds.patch(
            &name,
            &PatchParams::apply("e2e").force(),
            &Patch::Apply(&crd),
        )
        .await
        .unwrap();
        eventually(
            &format!("CRD {name} Established"),
            Duration::from_secs(30),
            || {
                let crds = crds.clone();
                let name = name.clone();
                async move {
                    let crd = crds.get(&name).await?;
                    let established = crd
                        .status
                        .and_then(|s| s.conditions)
                        .unwrap_or_default()
                        .iter()
                        .any(|c| c.type_ == "Established" && c.status == "True");
                    Ok(established.then_some(()))
                }
            },
        )
        .await
        .unwrap();
    }
}

fn sign(body: &[u8]) -> String {
    sign_with(TOKEN, body)
}

/// GitHub's `X-Hub-Signature-256` of `body` under `token`.
fn sign_with(token: &str, body: &[u8]) -> String {
    let mut mac =
        <Hmac<sha2::Sha256> as hmac::digest::KeyInit>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The operator's HTTP server and Receiver controller, in process, on a free loopback port.
struct Served {
    addr: std::net::SocketAddr,
    stop: tokio::sync::watch::Sender<bool>,
    server: tokio::task::JoinHandle<Result<(), http::Error>>,
    controller: tokio::task::JoinHandle<()>,
}

impl Served {
    async fn start(client: &kube::Client) -> Served {
        let registry = receiver::Registry::default();
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let controller = tokio::spawn(receiver::run(
            client.clone(),
            registry.clone(),
            stopped(stop_rx.clone()),
        ));
        let router = http::router(
            Arc::new(Metrics::new()),
            Arc::new(AtomicBool::new(true)),
            receiver::routes(client.clone(), registry, "gitops-operator".into()),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(http::serve_on(listener, router, stopped(stop_rx)));
        Served {
            addr,
            stop,
            server,
            controller,
        }
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.server.await.unwrap().unwrap();
        self.controller.await.unwrap();
    }
}

/// Waits until Receiver `name` is Ready with webhook path `expected`.
async fn wait_for_path(receivers: &Api<Receiver>, name: &str, expected: &str, within: Duration) {
    eventually(
        &format!("receiver {name} Ready at {expected}"),
        within,
        || {
            let receivers = receivers.clone();
            async move {
                let status = receivers.get(name).await?.status.unwrap_or_default();
                let ready = status
                    .conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status.as_str() == "True");
                Ok((ready && status.webhook_path.as_deref() == Some(expected)).then_some(()))
            }
        },
    )
    .await
    .unwrap();
}

/// A bare HTTP/1.1 POST over a socket: status code and body.
async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

fn git_repository(name: &str, labels: &[(&str, &str)]) -> GitRepository {
    let mut repo: GitRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "gitops.rs/v1alpha1",
        "kind": "GitRepository",
        "metadata": {"name": name},
        "spec": {"url": "https://git.example.invalid/org/repo.git", "interval": "1h"},
    }))
    .unwrap();
    repo.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    );
    repo
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_webhooks_annotate_sources_and_bad_ones_are_refused_with_an_event() {
    let ns = TestNamespace::create("receiver").await.unwrap();
    let name = ns.name().to_owned();
    let client = Cluster::shared().unwrap().client().await.unwrap();
    install_crds(&client).await;

    let secrets: Api<Secret> = ns.api();
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "webhook-token"},
        "stringData": {"token": TOKEN},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let repos: Api<GitRepository> = ns.api();
    for repo in [
        git_repository("app", &[]),
        git_repository("team-a", &[("team", "a")]),
        git_repository("team-b", &[("team", "b")]),
    ] {
        repos.create(&PostParams::default(), &repo).await.unwrap();
    }
    let receivers: Api<Receiver> = ns.api();
    let rcv: Receiver = serde_json::from_value(serde_json::json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "Receiver",
        "metadata": {"name": "github"},
        "spec": {
            "type": "github",
            "events": ["push"],
            "secretRef": {"name": "webhook-token"},
            "resources": [
                {"kind": "GitRepository", "name": "app"},
                {"kind": "GitRepository", "name": "*", "matchLabels": {"team": "a"}},
            ],
        },
    }))
    .unwrap();
    receivers
        .create(&PostParams::default(), &rcv)
        .await
        .unwrap();

    // The operator's HTTP server and Receiver controller, in process.
    let served = Served::start(&client).await;
    let addr = served.addr;

    // The controller publishes Flux's path and Ready.
    let expected = webhook_path(TOKEN, "github", &name);
    let path = eventually(
        "the receiver's webhook path",
        Duration::from_secs(30),
        || {
            let receivers = receivers.clone();
            async move {
                let status = receivers.get("github").await?.status.unwrap_or_default();
                let ready = status
                    .conditions
                    .iter()
                    .any(|c| c.type_ == "Ready" && c.status.as_str() == "True");
                Ok(status.webhook_path.filter(|_| ready))
            }
        },
    )
    .await
    .unwrap();
    assert_eq!(path, expected);

    // A good signature: the named repository and the labelled one are annotated, not the other.
    let body = br#"{"ref":"refs/heads/main","after":"0123456789abcdef"}"#;
    let (code, text) = post(
        addr,
        &path,
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &sign(body)),
        ],
        body,
    )
    .await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(
        text,
        format!("triggered: GitRepository/{name}/app, GitRepository/{name}/team-a\n")
    );
    let requested = |repo: GitRepository| {
        repo.metadata
            .annotations
            .unwrap_or_default()
            .get(REQUESTED_AT_ANNOTATION)
            .cloned()
    };
    let app = requested(repos.get("app").await.unwrap()).expect("app annotated");
    assert!(
        app.parse::<jiff::Timestamp>().is_ok(),
        "{app} is not RFC 3339"
    );
    assert!(requested(repos.get("team-a").await.unwrap()).is_some());
    assert_eq!(requested(repos.get("team-b").await.unwrap()), None);

    // A bad signature: 401, nothing more annotated, a ValidationFailed Event on the Receiver.
    repos
        .patch(
            "app",
            &PatchParams::default(),
            &Patch::Merge(
                serde_json::json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: null}}}),
            ),
        )
        .await
        .unwrap();
    let (code, text) = post(
        addr,
        &path,
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &sign(b"forged")),
        ],
        body,
    )
    .await;
    assert_eq!(code, 401, "{text}");
    assert_eq!(requested(repos.get("app").await.unwrap()), None);
    let events: Api<Event> = ns.api();
    let event = eventually("a ValidationFailed event", Duration::from_secs(30), || {
        let events = events.clone();
        async move {
            let list = events.list(&ListParams::default()).await?;
            Ok(list.items.into_iter().find(|e| {
                e.reason.as_deref() == Some("ValidationFailed")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("github")
            }))
        }
    })
    .await
    .unwrap();
    assert_eq!(event.type_.as_deref(), Some("Warning"));
    assert!(
        event
            .note
            .as_deref()
            .unwrap_or_default()
            .contains("does not match the body"),
        "{:?}",
        event.note
    );

    // An unknown path: 404.
    let (code, _) = post(addr, "/hook/0000", &[], b"{}").await;
    assert_eq!(code, 404);

    served.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_token_takes_effect_at_once() {
    const OLD: &str = "old-webhook-token";
    const NEW: &str = "new-webhook-token";
    let ns = TestNamespace::create("receiver-rotate").await.unwrap();
    let name = ns.name().to_owned();
    let client = Cluster::shared().unwrap().client().await.unwrap();
    install_crds(&client).await;
    let secrets: Api<Secret> = ns.api();
    let secret: Secret = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "webhook-token"},
        "stringData": {"token": OLD},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let repos: Api<GitRepository> = ns.api();
    repos
        .create(&PostParams::default(), &git_repository("app", &[]))
        .await
        .unwrap();
    let receivers: Api<Receiver> = ns.api();
    let rcv: Receiver = serde_json::from_value(serde_json::json!({
        "apiVersion": "gitops.rs/v1alpha1", "kind": "Receiver",
        "metadata": {"name": "github"},
        "spec": {
            "type": "github",
            "secretRef": {"name": "webhook-token"},
            "resources": [{"kind": "GitRepository", "name": "app"}],
        },
    }))
    .unwrap();
    receivers
        .create(&PostParams::default(), &rcv)
        .await
        .unwrap();
    let served = Served::start(&client).await;
    let old_path = webhook_path(OLD, "github", &name);
    wait_for_path(&receivers, "github", &old_path, Duration::from_secs(30)).await;

    // Rotate. The controller resyncs ready receivers every 10 minutes; the Secret watch must
    // move the path well within 20 s.
    secrets
        .patch(
            "webhook-token",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"stringData": {"token": NEW}})),
        )
        .await
        .unwrap();
    let new_path = webhook_path(NEW, "github", &name);
    wait_for_path(&receivers, "github", &new_path, Duration::from_secs(20)).await;

    let body = br#"{"ref":"refs/heads/main"}"#;
    let post_signed = |path: &str, token: &str| {
        let signature = sign_with(token, body);
        let path = path.to_owned();
        let addr = served.addr;
        async move {
            post(
                addr,
                &path,
                &[
                    ("X-GitHub-Event", "push"),
                    ("X-Hub-Signature-256", &signature),
                ],
                body,
            )
            .await
        }
    };
    // The new token at the new path is accepted.
    let (code, text) = post_signed(&new_path, NEW).await;
    assert_eq!(code, 200, "{text}");
    assert_eq!(text, format!("triggered: GitRepository/{name}/app\n"));
    // The old token at the new path is refused.
    let (code, text) = post_signed(&new_path, OLD).await;
    assert_eq!(code, 401, "{text}");
    assert!(text.contains("does not match the body"), "{text}");
    // The old path is no longer served.
    let (code, text) = post_signed(&old_path, OLD).await;
    assert_eq!(code, 404, "{text}");

    served.stop().await;
}
