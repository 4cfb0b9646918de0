//! The metrics hook: what the controllers report as they work. The operator's Prometheus
//! registry implements [`Observer`]; without one, [`NoopObserver`] discards everything.

/// Receives the controllers' measurements. Kinds are `GitRepository`, `HelmRepository`,
/// `Kustomization`, `HelmRelease` and `Rollout`.
pub trait Observer: Send + Sync {
    /// One reconciliation of an object of `kind` took `seconds` and succeeded or not.
    fn observe_reconcile(&self, kind: &str, seconds: f64, success: bool);
    /// The `Ready` condition of one object.
    fn set_ready(&self, kind: &str, namespace: &str, name: &str, ready: bool);
    /// `n` objects were applied (created or changed) by units of `kind`.
    fn add_applied(&self, kind: &str, n: u64);
    /// `n` objects were pruned by units of `kind`.
    fn add_pruned(&self, kind: &str, n: u64);
    /// One Git fetch took `seconds` and succeeded or not.
    fn observe_fetch(&self, seconds: f64, success: bool);
    /// The canary weight and phase of a Rollout after a reconcile.
    fn set_rollout(&self, _namespace: &str, _name: &str, _weight: u8, _phase: &str) {}
    /// An analysis run of a Rollout ended with `result` (`Successful`, `Failed`, …).
    fn add_analysis(&self, _namespace: &str, _name: &str, _result: &str) {}
}

/// An [`Observer`] that records nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopObserver;

impl Observer for NoopObserver {
    fn observe_reconcile(&self, _kind: &str, _seconds: f64, _success: bool) {}
    fn set_ready(&self, _kind: &str, _namespace: &str, _name: &str, _ready: bool) {}
    fn add_applied(&self, _kind: &str, _n: u64) {}
    fn add_pruned(&self, _kind: &str, _n: u64) {}
    fn observe_fetch(&self, _seconds: f64, _success: bool) {}
}

/// Two observers fed the same measurements (the Prometheus registry and the embedder's own).
pub struct Both(
    pub std::sync::Arc<dyn Observer>,
    pub std::sync::Arc<dyn Observer>,
);

impl Observer for Both {
    fn observe_reconcile(&self, kind: &str, seconds: f64, success: bool) {
        self.0.observe_reconcile(kind, seconds, success);
        self.1.observe_reconcile(kind, seconds, success);
    }
    fn set_ready(&self, kind: &str, namespace: &str, name: &str, ready: bool) {
        self.0.set_ready(kind, namespace, name, ready);
        self.1.set_ready(kind, namespace, name, ready);
    }
    fn add_applied(&self, kind: &str, n: u64) {
        self.0.add_applied(kind, n);
        self.1.add_applied(kind, n);
    }
    fn add_pruned(&self, kind: &str, n: u64) {
        self.0.add_pruned(kind, n);
        self.1.add_pruned(kind, n);
    }
    fn observe_fetch(&self, seconds: f64, success: bool) {
        self.0.observe_fetch(seconds, success);
        self.1.observe_fetch(seconds, success);
    }
    fn set_rollout(&self, namespace: &str, name: &str, weight: u8, phase: &str) {
        self.0.set_rollout(namespace, name, weight, phase);
        self.1.set_rollout(namespace, name, weight, phase);
    }
    fn add_analysis(&self, namespace: &str, name: &str, result: &str) {
        self.0.add_analysis(namespace, name, result);
        self.1.add_analysis(namespace, name, result);
    }
}

impl Observer for crate::http::Metrics {
    fn observe_reconcile(&self, kind: &str, seconds: f64, success: bool) {
        crate::http::Metrics::observe_reconcile(self, kind, seconds, success);
    }
    fn set_ready(&self, kind: &str, namespace: &str, name: &str, ready: bool) {
        crate::http::Metrics::set_ready(self, kind, namespace, name, ready);
    }
    fn add_applied(&self, kind: &str, n: u64) {
        crate::http::Metrics::add_applied(self, kind, n);
    }
    fn add_pruned(&self, kind: &str, n: u64) {
        crate::http::Metrics::add_pruned(self, kind, n);
    }
    fn observe_fetch(&self, seconds: f64, success: bool) {
        crate::http::Metrics::observe_fetch(self, seconds, success);
    }
    fn set_rollout(&self, namespace: &str, name: &str, weight: u8, phase: &str) {
        crate::http::Metrics::set_rollout(self, namespace, name, weight, phase);
    }
    fn add_analysis(&self, namespace: &str, name: &str, result: &str) {
        crate::http::Metrics::add_analysis(self, namespace, name, result);
    }
}
