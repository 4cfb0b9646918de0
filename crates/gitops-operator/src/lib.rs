//! The gitops operator as a library: the controllers and the HTTP surface that the
//! `gitops-operator` binary wires together.
//!
//! - [`http`]: the HTTP server (`/metrics`, `/healthz`, `/readyz`, `/hook/...`) and the
//!   Prometheus [`http::Metrics`].
//! - [`receiver`]: the `Receiver` controller and webhook handler: verified webhooks request an
//!   immediate reconciliation of the sources they name.

pub mod http;
pub mod receiver;
