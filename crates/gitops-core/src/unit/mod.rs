//! Units: the things a GitOps repository declares that each render a set of objects — Flux
//! `Kustomization`s and `HelmRelease`s, Argo CD `Application`s and our own kinds — read into one
//! model, together with the sources they point at.
//!
//! [`read`] recognises a unit or source object by `apiVersion` and `kind` and maps it, unchanged
//! input accepted; fields the model does not know are kept as warnings, never dropped silently.

mod argo;
pub mod convert;
mod id;
mod read;

use serde::Serialize;

pub use argo::{ApplicationSource, ApplicationSpec};
pub use id::{SourceId, UnitId, UnitKind};
pub use read::{Read, ReadError, read};

use crate::Origin;
use crate::api::{GitRef, HelmReleaseSpec, KustomizationSpec};

/// Which API family an object was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Dialect {
    /// `gitops.rs/v1alpha1`.
    Gitops,
    /// Flux's toolkit APIs.
    Flux,
    /// Argo CD's `argoproj.io` API.
    Argo,
}

/// One unit of a repository.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unit {
    /// Kind, namespace and name.
    pub id: UnitId,
    /// API family it was written in.
    pub dialect: Dialect,
    /// `apiVersion` as written.
    pub api_version: String,
    /// Where it was declared.
    #[serde(skip)]
    pub origin: Origin,
    /// Units that must be Ready before this one is applied (namespaces defaulted).
    pub depends_on: Vec<UnitId>,
    /// Argo CD sync wave (`argocd.argoproj.io/sync-wave`), 0 when absent.
    pub sync_wave: i64,
    /// What the unit renders.
    pub body: UnitBody,
    /// Fields that were read but are not understood (JSON pointers under the object).
    pub unknown_fields: Vec<String>,
}

/// What a unit renders, by kind.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
#[non_exhaustive]
pub enum UnitBody {
    /// A path of a source, rendered and customised.
    Kustomization(Box<KustomizationSpec>),
    /// A Helm chart with values.
    HelmRelease(Box<HelmReleaseSpec>),
    /// An Argo CD application.
    Application(Box<ApplicationSpec>),
}

/// A source of files that units refer to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Source {
    /// Kind, namespace and name.
    pub id: SourceId,
    /// API family it was written in.
    pub dialect: Dialect,
    /// `apiVersion` as written.
    pub api_version: String,
    /// Where it was declared.
    #[serde(skip)]
    pub origin: Origin,
    /// URL of the repository or bucket.
    pub url: String,
    /// Git reference, for Git repositories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRef>,
}
