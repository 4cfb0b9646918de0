//! The operator's readiness: set once it connected and either leads or stands by, and served as
//! `/readyz` by the [`crate::http`] server.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Readiness shared between the operator and its HTTP server.
#[derive(Debug, Clone, Default)]
pub struct Probes {
    ready: Arc<AtomicBool>,
}

impl Probes {
    /// Marks the operator ready (or not).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }

    /// The flag behind [`Probes::is_ready`], for the HTTP server's `/readyz`.
    #[must_use]
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.ready)
    }

    /// Whether the operator is ready.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }
}
