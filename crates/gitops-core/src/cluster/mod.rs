//! The Kubernetes API edge: client configuration now; discovery, server-side apply, prune and
//! wait as the cluster engine lands.

mod client;

pub use client::{Error, client_from_kubeconfig};
