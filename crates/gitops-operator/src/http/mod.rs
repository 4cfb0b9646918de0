//! The operator's HTTP server: Prometheus metrics, liveness and readiness probes, and the
//! Receiver webhooks, on one port (the Deployment's `http` port).
//!
//! - `GET /metrics`: [`Metrics::encode`], OpenMetrics text.
//! - `GET /healthz`: 200 while the process serves requests (liveness).
//! - `GET /readyz`: 200 once the controllers are started, 503 before (readiness).
//! - `POST /hook/{path}`: the Receiver webhooks ([`crate::receiver::routes`]).

mod metrics;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

pub use metrics::Metrics;

/// Content type of `/metrics`.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct Probes {
    metrics: Arc<Metrics>,
    ready: Arc<AtomicBool>,
}

/// The operator's routes: `/metrics`, `/healthz`, `/readyz`, merged with `hooks` (the Receiver
/// routes of [`crate::receiver::routes`]). `ready` is set by the operator once its controllers
/// run; until then `/readyz` answers 503 so that no traffic (webhooks) is sent to it.
pub fn router(metrics: Arc<Metrics>, ready: Arc<AtomicBool>, hooks: Router) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(Probes { metrics, ready })
        .merge(hooks)
}

async fn serve_metrics(State(probes): State<Probes>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, OPENMETRICS)],
        probes.metrics.encode(),
    )
}

async fn readyz(State(probes): State<Probes>) -> impl IntoResponse {
    if probes.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "ok\n")
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "controllers are not started yet\n",
        )
    }
}

/// Errors of [`serve`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The address could not be bound (in use, or not local).
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("the HTTP server on {addr} failed")]
    Serve {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// Serves `router` on `addr` until `shutdown` completes, then finishes the requests in flight.
///
/// # Errors
///
/// [`Error::Bind`] when the address cannot be bound, [`Error::Serve`] when serving fails.
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Bind { addr, source })?;
    serve_on(listener, router, shutdown).await
}

/// As [`serve`], on a listener already bound (port 0 in tests).
///
/// # Errors
///
/// [`Error::Serve`] when serving fails.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), Error> {
    let addr = listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
    tracing::info!(%addr, "HTTP server listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|source| Error::Serve { addr, source })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt as _;
    use tower::ServiceExt as _;

    use super::*;

    fn app() -> (Router, Arc<Metrics>, Arc<AtomicBool>) {
        let metrics = Arc::new(Metrics::new());
        let ready = Arc::new(AtomicBool::new(false));
        let hooks = Router::new().route("/hook/{path}", axum::routing::post(|| async { "hook" }));
        (
            router(Arc::clone(&metrics), Arc::clone(&ready), hooks),
            metrics,
            ready,
        )
    }

    async fn get(router: &Router, uri: &str) -> (StatusCode, String, Option<String>) {
        let response = router
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            String::from_utf8_lossy(&body).into_owned(),
            content_type,
        )
    }

    #[tokio::test]
    async fn healthz_answers_while_the_process_runs() {
        let (router, _, _) = app();
        assert_eq!(get(&router, "/healthz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn readyz_answers_503_until_the_controllers_are_started() {
        let (router, _, ready) = app();
        let (status, body, _) = get(&router, "/readyz").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body, "controllers are not started yet\n");
        ready.store(true, Ordering::Release);
        assert_eq!(get(&router, "/readyz").await.0, StatusCode::OK);
    }

    #[tokio::test]
    async fn metrics_are_served_as_openmetrics_text() {
        let (router, metrics, _) = app();
        metrics.add_applied("Kustomization", 7);
        let (status, body, content_type) = get(&router, "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type.as_deref(), Some(OPENMETRICS));
        assert!(
            body.contains("gitops_applied_objects_total{kind=\"Kustomization\"} 7"),
            "{body}"
        );
    }

    #[tokio::test]
    async fn hooks_are_merged_and_other_paths_are_404() {
        let (router, _, _) = app();
        let response = router
            .clone()
            .oneshot(Request::post("/hook/abc").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(get(&router, "/nope").await.0, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn serve_stops_on_shutdown() {
        let (router, _, _) = app();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_on(listener, router, async move {
            let _ = rx.await;
        }));
        tx.send(()).unwrap();
        server.await.unwrap().unwrap();
    }
}
