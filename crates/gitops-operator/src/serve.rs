//! The operator's probe endpoints: `/healthz` (the process is alive) and `/readyz` (it is
//! connected and either leading or standing by). A small axum server of its own, so that the
//! full HTTP surface (metrics, webhooks) can replace it in one place.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

/// Readiness shared between the operator and its probe server.
#[derive(Debug, Clone, Default)]
pub struct Probes {
    ready: Arc<AtomicBool>,
}

impl Probes {
    /// Marks the operator ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// Whether the operator is ready.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}

/// The router with `/healthz` and `/readyz`.
pub fn router(probes: Probes) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(|State(probes): State<Probes>| async move {
                if probes.is_ready() {
                    (StatusCode::OK, "ready")
                } else {
                    (StatusCode::SERVICE_UNAVAILABLE, "not ready")
                }
            }),
        )
        .with_state(probes)
}

/// Serves the probes on `addr` until `shutdown` completes.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(
    addr: SocketAddr,
    probes: Probes,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "serving /healthz and /readyz");
    axum::serve(listener, router(probes))
        .with_graceful_shutdown(shutdown)
        .await
}
