//! Receivers: webhooks from Git hosts that make sources fetch at once instead of at their next
//! interval.
//!
//! - [`verify`]: pure authentication of a request (GitHub, GitLab, generic, generic-hmac) and the
//!   webhook path; no I/O.
//! - [`routes`]: the axum route `POST /hook/{path}` with a body size limit; answers 404 for an
//!   unknown path, 401 for a request that fails verification (and records a `ValidationFailed`
//!   warning Event on the Receiver), 200 once the resources are annotated.
//! - [`run`]: the `Receiver` controller: reads each Receiver's token Secret, publishes its
//!   `status.webhookPath` and Ready condition, and keeps the [`Registry`] of paths the handler
//!   serves. It watches Secrets too, so a rotated token moves the path at once (the old path
//!   answers 404, the old token at the new path 401).
//!
//! Triggering writes `reconcile.gitops.rs/requestedAt: <now>` on each resource (a merge patch);
//! the source and unit controllers treat a new value as "reconcile now".
//!
//! ```no_run
//! # async fn wire(client: kube::Client) {
//! use gitops_operator::receiver;
//! let registry = receiver::Registry::default();
//! let hooks = receiver::routes(client.clone(), registry.clone(), "gitops-operator".into());
//! let controller = receiver::run(client, registry, std::future::pending());
//! # let _ = (hooks, controller);
//! # }
//! ```

mod controller;
mod handler;
mod trigger;
pub mod verify;

pub use controller::{Error, run};
pub use handler::{Backend, MAX_BODY_BYTES, Resolved, routes, routes_with};
pub use trigger::{TriggerError, request_reconcile};

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

/// A Receiver's identity.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReceiverKey {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Which Receiver serves which webhook path, shared by the controller (which writes it) and the
/// handler (which reads it). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    paths: Arc<RwLock<HashMap<String, ReceiverKey>>>,
}

impl Registry {
    /// Serves `path` for `key`, replacing any other path of that receiver (a new token moves
    /// the path).
    pub fn set(&self, key: &ReceiverKey, path: &str) {
        let mut paths = self
            .paths
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        paths.retain(|_, k| k != key);
        paths.insert(path.to_owned(), key.clone());
    }

    /// Stops serving the paths of `key`.
    pub fn remove(&self, key: &ReceiverKey) {
        let mut paths = self
            .paths
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        paths.retain(|_, k| k != key);
    }

    /// The receiver serving `path` (`/hook/<hex>`).
    #[must_use]
    pub fn get(&self, path: &str) -> Option<ReceiverKey> {
        let paths = self
            .paths
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        paths.get(path).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receiver_has_one_path_at_a_time() {
        let registry = Registry::default();
        let key = ReceiverKey {
            namespace: "ns".into(),
            name: "r".into(),
        };
        registry.set(&key, "/hook/a");
        registry.set(&key, "/hook/b");
        assert_eq!(registry.get("/hook/a"), None);
        assert_eq!(registry.get("/hook/b"), Some(key.clone()));
        registry.remove(&key);
        assert_eq!(registry.get("/hook/b"), None);
    }
}
