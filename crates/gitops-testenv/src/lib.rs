//! Test harness for the project's integration tests: the real thing, on loopback.
//!
//! * [`Cluster`]: a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
//!   kube-scheduler, and kwok for fake Nodes and Pods) started by `scripts/testenv up`, one per
//!   test process, and [`TestNamespace`]: one namespace per test, deleted afterwards.
//! * [`git`]: Git servers on 127.0.0.1 — `git daemon` (git://), `git http-backend` behind
//!   lighttpd (smart HTTP, with or without basic auth) and OpenSSH's `sshd` (ssh://).
//! * [`http`]: a static file server on 127.0.0.1 (lighttpd), for Helm chart repositories.
//! * [`registry`]: an OCI registry on 127.0.0.1 (`docker-registry`), for charts in OCI.
//!
//! # Lifetime of the control plane
//!
//! The first call to [`Cluster::shared`] in a test process runs `scripts/testenv up --owner-pid
//! <this process>` with a state directory of its own. The script starts the components detached
//! and also starts a small watcher process that runs `scripts/testenv down` as soon as the test
//! process is gone, however it ends (normal exit, panic, abort, signal). Rust runs no destructor
//! for statics, so this is the teardown: nothing in the test process has to run at exit.
//!
//! To reuse a control plane that is already up (for instance one started by hand with
//! `scripts/testenv up`), set `GITOPS_TESTENV_REUSE=1` and `KUBECONFIG` to its kubeconfig.
//!
//! The Debian packages that the Git servers need are installed by `scripts/install-deps`, which
//! `scripts/test` runs first.

mod cluster;
pub mod corpus;
pub mod git;
pub mod http;
pub mod registry;

use std::future::Future;
use std::time::{Duration, Instant};

pub use cluster::{Cluster, TestNamespace};

/// Installs rustls' ring crypto provider as the process default, once. Every entry point of this
/// crate calls it; tests that build their own TLS clients may call it too.
pub fn init_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err means another provider was installed first, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Polls `check` every 200 ms until it yields `Some`, and returns that value; fails with the
/// last error (or a timeout naming `what`) after `timeout`. Errors from `check` are retried.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + timeout;
    let mut last_error = None;
    loop {
        match check().await {
            Ok(Some(value)) => return Ok(value),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() >= deadline {
            return Err(match last_error {
                Some(e) => e.context(format!("timed out after {timeout:?} waiting for {what}")),
                None => anyhow::anyhow!("timed out after {timeout:?} waiting for {what}"),
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
