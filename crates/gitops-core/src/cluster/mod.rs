//! The Kubernetes API edge: client configuration, discovery, staged server-side apply,
//! inventories, prune, health waits and diffs. Every decision that needs no I/O lives in the
//! pure modules ([`crate::order`], [`crate::inventory`], [`crate::health`], [`crate::diff`]);
//! this module only talks to the API server.

// Errors carry the object's full identity and the server's message; they are rare next to the
// requests they describe, so their size is not worth boxing.
#![allow(clippy::result_large_err)]

mod apply;
mod client;
mod diff;
mod discovery;
mod error;
mod inventory_store;
mod prune;
mod sync;
mod wait;

pub use apply::{
    ApplyOptions, ApplyReport, FLUX_FORCE_ANNOTATION, FORCE_ANNOTATION, OnChange, apply,
};
pub use client::{Error as ClientError, client_from_kubeconfig};
pub use diff::diff;
pub use discovery::{Discovery, Resource, defined_by_crd_in};
pub use error::Error;
pub use inventory_store::{DATA_KEY, InventoryLocation};
pub use prune::prune;
pub use sync::{SyncOptions, SyncReport, sync, sync_levels};
pub use wait::{ObjectHealth, WaitOptions, WaitOutcome, WaitReport, wait};
