//! `GitRepository`: where a unit's files come from.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(feature = "cluster")]
use super::GitRepositoryStatus;

use super::LocalObjectReference;

/// A Git repository to fetch, as Flux's `GitRepository` spec.
#[cfg_attr(feature = "cluster", derive(kube::CustomResource))]
#[cfg_attr(
    feature = "cluster",
    kube(
        group = "gitops.rs",
        version = "v1alpha1",
        kind = "GitRepository",
        namespaced,
        status = "GitRepositoryStatus",
        shortname = "gitrepo",
        category = "gitops",
        derive = "PartialEq",
        doc = "A Git repository the operator fetches on an interval; its artifact feeds units.",
        printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
        printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
        printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.artifact.revision"}"#,
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
    )
)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    /// Repository URL: `https://`, `http://`, `ssh://`, `git://` or `file://`.
    #[schemars(regex(pattern = r"^(https?|ssh|git|file)://.+$"))]
    pub url: String,
    /// Which revision to check out; the default branch when absent.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRef>,
    /// How often to fetch, as a Go duration (`1m0s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,
    /// Timeout of one fetch, as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
    /// Secret with credentials (username/password, bearerToken, identity/known_hosts, caFile).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Extra ignore rules in gitignore syntax, applied to the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Artifacts of other repositories to include.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<GitRepositoryInclude>,
    /// Stop fetching.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

/// A Git reference; the first set of commit, name, semver, tag, branch wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRef {
    /// Branch name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// Semver range over tags; the highest match wins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// A full reference name, e.g. `refs/pull/1/head`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A commit SHA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// Another repository's artifact copied into this one's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The `GitRepository` to include.
    pub repository: LocalObjectReference,
    /// Directory of that artifact to copy (default: all of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// Where to put it in this artifact (default: the repository's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}
