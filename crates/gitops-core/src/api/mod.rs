//! The `gitops.rs/v1alpha1` API: the kinds users write in Git and the operator serves as CRDs.
//!
//! Field names and meanings follow Flux's (`source.toolkit.fluxcd.io/v1`,
//! `kustomize.toolkit.fluxcd.io/v1`, `helm.toolkit.fluxcd.io/v2`), so that moving from Flux is a
//! change of `apiVersion`. Specs derive `JsonSchema`: the same types validate input, report
//! unknown fields ([`unknown_fields`]) and become CRD schemas.

#[cfg(feature = "cluster")]
mod crd;
mod helmrelease;
mod helmrepository;
#[cfg(feature = "cluster")]
pub mod install;
mod kustomization;
mod receiver;
mod schema;
mod source;
pub mod status;
pub mod summary;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use helmrelease::{HelmChartTemplate, HelmChartTemplateSpec, HelmReleaseSpec, ValuesReference};
pub use helmrepository::HelmRepositorySpec;
pub use kustomization::{
    CommonMetadata, DriftPolicy, Image, KustomizationSpec, Patch, PatchSelector, PostBuild,
    SubstituteReference,
};
pub use receiver::{ReceiverResource, ReceiverSpec, ReceiverType};
pub use schema::unknown_fields;
pub use source::{GitRef, GitRepositoryInclude, GitRepositorySpec};
pub use status::{
    Artifact, Condition, ConditionStatus, GitRepositoryStatus, HelmReleaseStatus,
    HelmRepositoryStatus, KustomizationStatus, ReceiverStatus,
};

#[cfg(feature = "cluster")]
pub use crd::crds;
#[cfg(feature = "cluster")]
pub use helmrelease::HelmRelease;
#[cfg(feature = "cluster")]
pub use helmrepository::HelmRepository;
#[cfg(feature = "cluster")]
pub use kustomization::Kustomization;
#[cfg(feature = "cluster")]
pub use receiver::Receiver;
#[cfg(feature = "cluster")]
pub use source::GitRepository;

/// API group of our kinds.
pub const GROUP: &str = "gitops.rs";
/// API version of our kinds.
pub const VERSION: &str = "v1alpha1";
/// `apiVersion` of our kinds.
pub const API_VERSION: &str = "gitops.rs/v1alpha1";

/// A reference to an object in the same namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocalObjectReference {
    /// Name of the referent.
    pub name: String,
}

/// A reference to a source, possibly in another namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the referent (optional; the kind decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent: `GitRepository`, `OCIRepository`, `Bucket` or `HelmRepository`.
    pub kind: String,
    /// Name of the referent.
    pub name: String,
    /// Namespace of the referent; defaults to the referrer's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// A unit this one depends on: it is reconciled only after that one is Ready.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DependencyReference {
    /// Name of the dependency.
    pub name: String,
    /// Namespace of the dependency; defaults to the dependent's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// An object whose health gates the unit's readiness.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespacedObjectKindReference {
    /// API version of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the object.
    pub kind: String,
    /// Name of the object.
    pub name: String,
    /// Namespace of the object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// The metadata part of our objects that the readers need.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// Name.
    pub name: String,
    /// Namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Labels.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}
