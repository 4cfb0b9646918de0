//! The gitops operator as a library: the controllers and the HTTP surface that the
//! `gitops-operator` binary wires together.
//!
//! - [`http`]: the HTTP server (`/metrics`, `/healthz`, `/readyz`, `/hook/...`) and the
//!   Prometheus [`http::Metrics`].
//! - [`receiver`]: the `Receiver` controller and webhook handler: verified webhooks request an
//!   immediate reconciliation of the sources they name.

//! Wiring the HTTP surface in `main` (the controllers set `ready` once they run):
//!
//! ```no_run
//! # async fn wire(client: kube::Client) -> Result<(), gitops_operator::http::Error> {
//! use std::sync::{Arc, atomic::AtomicBool};
//! use gitops_operator::{http, receiver};
//!
//! let metrics = Arc::new(http::Metrics::new());
//! let ready = Arc::new(AtomicBool::new(false));
//! let registry = receiver::Registry::default();
//! let hooks = receiver::routes(client.clone(), registry.clone(), "gitops-operator".into());
//! let router = http::router(Arc::clone(&metrics), Arc::clone(&ready), hooks);
//! let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
//! tokio::spawn(receiver::run(client, registry, std::future::pending()));
//! http::serve("0.0.0.0:9090".parse().unwrap(), router, shutdown).await
//! # }
//! ```

pub mod http;
pub mod receiver;
