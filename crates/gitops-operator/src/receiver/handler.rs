//! `POST /hook/{path}`: find the receiver, verify the request, trigger its resources. The
//! cluster is behind [`Backend`], so the status codes of every path are unit-tested.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::future::BoxFuture;
use gitops_core::api::ReceiverSpec;

use super::ReceiverKey;
use super::verify::{Decision, verify};

/// Largest webhook body accepted; larger ones are answered 413 before anything is read into
/// memory. GitHub caps payloads at 25 MiB but push payloads are a few KiB; 1 MiB is plenty.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A receiver found by its webhook path, with what verification needs.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Namespace and name.
    pub key: ReceiverKey,
    /// The object's UID, for Events.
    pub uid: Option<String>,
    /// Its spec as the API server has it now.
    pub spec: ReceiverSpec,
    /// The `token` of its Secret.
    pub token: Vec<u8>,
}

/// The cluster side of the handler.
pub trait Backend: Send + Sync + 'static {
    /// The receiver serving `path` (`/hook/<hex>`), or `None` when no receiver does.
    fn resolve<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Option<Resolved>, String>>;
    /// Requests a reconciliation of the receiver's resources; returns the objects annotated
    /// (`GitRepository/ns/name`).
    fn trigger<'a>(&'a self, receiver: &'a Resolved) -> BoxFuture<'a, Result<Vec<String>, String>>;
    /// Records that a request to the receiver failed verification (a warning Event).
    fn rejected<'a>(&'a self, receiver: &'a Resolved, message: &'a str) -> BoxFuture<'a, ()>;
}

/// The route `POST /hook/{path}` served by the Kubernetes backend: receivers are found through
/// `registry` (filled by [`super::run`]), resources annotated and Events recorded with `client`,
/// Events reported as `controller`.
pub fn routes(client: kube::Client, registry: super::Registry, controller: String) -> Router {
    routes_with(Arc::new(super::trigger::KubeBackend::new(
        client, registry, controller,
    )))
}

/// The route `POST /hook/{path}` over any [`Backend`].
pub fn routes_with(backend: Arc<dyn Backend>) -> Router {
    Router::new()
        .route("/hook/{path}", post(hook))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(backend)
}

async fn hook(
    State(backend): State<Arc<dyn Backend>>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = format!("/hook/{path}");
    let receiver = match backend.resolve(&path).await {
        Ok(Some(receiver)) => receiver,
        Ok(None) => return (StatusCode::NOT_FOUND, "no receiver at this path\n").into_response(),
        Err(message) => {
            tracing::error!(%message, "cannot look up the receiver of a webhook");
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{message}\n")).into_response();
        }
    };
    let ReceiverKey { namespace, name } = &receiver.key;
    if receiver.spec.suspend {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("receiver {namespace}/{name} is suspended\n"),
        )
            .into_response();
    }
    let decision = verify(
        receiver.spec.type_,
        &receiver.token,
        &receiver.spec.events,
        &headers,
        &body,
    );
    match decision {
        Err(rejection) => {
            let message = format!(
                "{} webhook refused: {rejection}",
                receiver.spec.type_.as_str()
            );
            tracing::warn!(receiver = %format!("{namespace}/{name}"), %message);
            backend.rejected(&receiver, &message).await;
            (StatusCode::UNAUTHORIZED, format!("{message}\n")).into_response()
        }
        Ok(Decision::Ping) => (StatusCode::OK, "pong\n").into_response(),
        Ok(Decision::Ignored { event }) => (
            StatusCode::OK,
            format!("event `{event}` is not in spec.events; nothing triggered\n"),
        )
            .into_response(),
        Ok(Decision::Trigger { event }) => match backend.trigger(&receiver).await {
            Ok(triggered) => {
                tracing::info!(
                    receiver = %format!("{namespace}/{name}"),
                    event = event.as_deref().unwrap_or(""),
                    triggered = %triggered.join(", "),
                    "webhook triggered a reconciliation"
                );
                (
                    StatusCode::OK,
                    format!("triggered: {}\n", triggered.join(", ")),
                )
                    .into_response()
            }
            Err(message) => {
                tracing::error!(receiver = %format!("{namespace}/{name}"), %message);
                (StatusCode::INTERNAL_SERVER_ERROR, format!("{message}\n")).into_response()
            }
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Mutex;

    use axum::body::Body;
    use axum::http::Request;
    use gitops_core::api::{LocalObjectReference, ReceiverResource, ReceiverType};
    use hmac::{Hmac, Mac};
    use http_body_util::BodyExt as _;
    use sha2::Sha256;
    use tower::ServiceExt as _;

    use super::*;
    use crate::receiver::verify::{GITHUB_EVENT, GITHUB_SIGNATURE};

    const PATH: &str = "/hook/0123abcd";

    /// Serves one receiver at [`PATH`] and records what the handler asked of it.
    #[derive(Default)]
    struct Fake {
        spec: ReceiverSpec,
        triggered: Mutex<usize>,
        rejected: Mutex<Vec<String>>,
    }

    impl Backend for Fake {
        fn resolve<'a>(&'a self, path: &'a str) -> BoxFuture<'a, Result<Option<Resolved>, String>> {
            let found = (path == PATH).then(|| Resolved {
                key: ReceiverKey {
                    namespace: "ns".into(),
                    name: "github".into(),
                },
                uid: None,
                spec: self.spec.clone(),
                token: b"token".to_vec(),
            });
            Box::pin(async move { Ok(found) })
        }

        fn trigger<'a>(&'a self, _: &'a Resolved) -> BoxFuture<'a, Result<Vec<String>, String>> {
            *self.triggered.lock().unwrap() += 1;
            Box::pin(async { Ok(vec!["GitRepository/ns/repo".to_owned()]) })
        }

        fn rejected<'a>(&'a self, _: &'a Resolved, message: &'a str) -> BoxFuture<'a, ()> {
            self.rejected.lock().unwrap().push(message.to_owned());
            Box::pin(async {})
        }
    }

    fn spec(events: &[&str]) -> ReceiverSpec {
        ReceiverSpec {
            type_: ReceiverType::Github,
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            secret_ref: LocalObjectReference {
                name: "token".into(),
            },
            resources: vec![ReceiverResource {
                kind: "GitRepository".into(),
                name: "repo".into(),
                ..ReceiverResource::default()
            }],
            suspend: false,
        }
    }

    fn signature(body: &[u8]) -> String {
        let mut mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new_from_slice(b"token").unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    async fn post(
        fake: &Arc<Fake>,
        path: &str,
        event: &str,
        signature: Option<&str>,
        body: Vec<u8>,
    ) -> (StatusCode, String) {
        let mut request = Request::post(path).header(GITHUB_EVENT, event);
        if let Some(sig) = signature {
            request = request.header(GITHUB_SIGNATURE, sig);
        }
        let backend: Arc<dyn Backend> = Arc::clone(fake) as Arc<dyn Backend>;
        let response = routes_with(backend)
            .oneshot(request.body(Body::from(body)).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn a_signed_push_triggers_the_resources() {
        let fake = Arc::new(Fake {
            spec: spec(&["push"]),
            ..Fake::default()
        });
        let body = br#"{"ref":"refs/heads/main"}"#.to_vec();
        let (status, text) = post(&fake, PATH, "push", Some(&signature(&body)), body).await;
        assert_eq!(
            (status, text.as_str()),
            (StatusCode::OK, "triggered: GitRepository/ns/repo\n")
        );
        assert_eq!(*fake.triggered.lock().unwrap(), 1);
        assert!(fake.rejected.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_bad_or_missing_signature_is_401_and_recorded() {
        let fake = Arc::new(Fake {
            spec: spec(&[]),
            ..Fake::default()
        });
        let body = b"{}".to_vec();
        let (status, text) = post(
            &fake,
            PATH,
            "push",
            Some(&signature(b"other")),
            body.clone(),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            text,
            "github webhook refused: the signature in header `x-hub-signature-256` does not match the body\n"
        );
        let (status, _) = post(&fake, PATH, "push", None, body).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(*fake.triggered.lock().unwrap(), 0);
        let rejected = fake.rejected.lock().unwrap();
        assert_eq!(rejected.len(), 2);
        assert!(
            rejected[1].contains("missing header `x-hub-signature-256`"),
            "{rejected:?}"
        );
    }

    #[tokio::test]
    async fn an_unknown_path_is_404() {
        let fake = Arc::new(Fake::default());
        let (status, _) = post(&fake, "/hook/ffff", "push", None, Vec::new()).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(fake.rejected.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_filtered_event_or_a_ping_triggers_nothing() {
        let fake = Arc::new(Fake {
            spec: spec(&["push"]),
            ..Fake::default()
        });
        let body = b"{}".to_vec();
        let (status, text) =
            post(&fake, PATH, "issues", Some(&signature(&body)), body.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(
            text,
            "event `issues` is not in spec.events; nothing triggered\n"
        );
        let (status, text) = post(&fake, PATH, "ping", Some(&signature(&body)), body).await;
        assert_eq!((status, text.as_str()), (StatusCode::OK, "pong\n"));
        assert_eq!(*fake.triggered.lock().unwrap(), 0);
    }

    #[tokio::test]
    async fn an_oversize_body_is_413() {
        let fake = Arc::new(Fake {
            spec: spec(&[]),
            ..Fake::default()
        });
        let body = vec![b'x'; MAX_BODY_BYTES + 1];
        let sig = signature(&body);
        let (status, _) = post(&fake, PATH, "push", Some(&sig), body).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(*fake.triggered.lock().unwrap(), 0);
        // Exactly the limit is accepted.
        let body = vec![b'x'; MAX_BODY_BYTES];
        let sig = signature(&body);
        assert_eq!(
            post(&fake, PATH, "push", Some(&sig), body).await.0,
            StatusCode::OK
        );
    }

    #[tokio::test]
    async fn a_suspended_receiver_is_503() {
        let mut suspended = spec(&[]);
        suspended.suspend = true;
        let fake = Arc::new(Fake {
            spec: suspended,
            ..Fake::default()
        });
        let body = b"{}".to_vec();
        let (status, _) = post(&fake, PATH, "push", Some(&signature(&body)), body).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(*fake.triggered.lock().unwrap(), 0);
    }
}
