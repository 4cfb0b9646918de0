//! A GitOps repository as a whole: discovering its units from an entry path, following each
//! unit's path in the same repository, and planning what every unit will apply, in order.
//!
//! [`discover`] renders the entry path (what `flux bootstrap --path` names), reads the unit and
//! source objects in its output ([`gitops_core::unit::read`]), renders every unit whose files are
//! in this repository, and repeats on their output. Units whose sources are elsewhere (another
//! Git URL, a Helm repository) are listed as external unless `sources` maps them to a directory.
//! [`plan`] turns a discovery into per-unit apply plans in dependency order.

mod discover;
mod locate;
mod plan;
mod render;

use std::collections::BTreeMap;
use std::path::PathBuf;

pub use discover::{DiscoveredUnit, Discovery, discover};
pub use locate::Location;
pub use plan::{Plan, PlanError, PlannedObject, PlannedUnit, UnitOutcome, plan};

use crate::RenderOptions;

/// How to discover a repository.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RepoOptions {
    /// Sources that live outside the repository mapped to local directories, by source name
    /// (`GitRepository` name) or by URL (Argo CD `repoURL`).
    pub sources: BTreeMap<String, PathBuf>,
    /// Options for every render.
    pub render: RenderOptions,
}

impl RepoOptions {
    /// Options with the given source mappings.
    #[must_use]
    pub fn with_sources(sources: BTreeMap<String, PathBuf>) -> Self {
        Self {
            sources,
            render: RenderOptions::default(),
        }
    }
}
