//! The model and engine of `gitops`.
//!
//! - [`Object`] and [`ObjectRef`]: a Kubernetes object as JSON, and its identity
//!   (`apps/Deployment/prod/web`, or Flux's inventory form `prod_web_apps_Deployment`).
//! - [`yaml`]: all YAML reading and writing, with positions for error messages.
//! - [`manifest`]: objects from YAML/JSON text with their [`Origin`], and duplicate checks.
//! - [`order`]: the apply order and the stages of a staged apply, as pure functions.
//! - [`inventory`]: the objects a unit applied, and the prune set when it changes.
//! - [`health`]: kstatus-like health of a live object (Current, InProgress, Failed).
//! - [`diff`]: normalised desired-vs-live comparison with masked Secrets.
//! - [`changeset`]: what an apply did to each object (created, configured, ...).
//! - [`confine`]: reading a repository's files without leaving it (links judged where they
//!   land, only regular files, bounded size).
//!
//! The I/O edges live behind features: `git` (Git sources and [`chartrepo`] downloads) and
//! `cluster` (the Kubernetes API).
//!
//! ```
//! use gitops_core::{manifest, order, yaml::Schema};
//!
//! let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n---\n\
//!             apiVersion: v1\nkind: Namespace\nmetadata: {name: prod}\n";
//! let mut objects = manifest::parse_yaml(text, None, Schema::Yaml12)?;
//! order::sort_for_apply(&mut objects);
//! assert_eq!(objects[0].object.object_ref().to_string(), "Namespace/prod");
//! # Ok::<(), gitops_core::manifest::ManifestError>(())
//! ```

pub mod api;
pub mod changeset;
#[cfg(feature = "git")]
pub mod chartrepo;
pub mod confine;
pub mod diff;
pub mod graph;
pub mod health;
pub mod inventory;
pub mod manifest;
mod object;
pub mod order;
mod origin;
pub mod ssa_noop;
pub mod unit;
pub mod yaml;

#[cfg(feature = "cluster")]
pub mod cluster;
#[cfg(feature = "git")]
pub mod git;

pub use manifest::{DuplicateError, ManifestError, check_unique};
pub use object::{InventoryIdError, Object, ObjectError, ObjectRef, split_api_version, type_name};
pub use origin::{Origin, SourcedObject};

/// An error and its causes on one line, joined with `: `, each cause once: an error that
/// already quotes its cause in its own message does not print it twice.
#[must_use]
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}
