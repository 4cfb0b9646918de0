//! `HelmRepository`: a Helm chart repository (an HTTP server with an `index.yaml`) whose charts
//! HelmReleases install by name and version range.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(feature = "cluster")]
use super::HelmRepositoryStatus;

use super::LocalObjectReference;

/// A Helm chart repository, as Flux's `HelmRepository` spec: an HTTP repository or an OCI
/// registry (`type: oci`).
#[cfg_attr(feature = "cluster", derive(kube::CustomResource))]
#[cfg_attr(
    feature = "cluster",
    kube(
        group = "gitops.rs",
        version = "v1alpha1",
        kind = "HelmRepository",
        namespaced,
        status = "HelmRepositoryStatus",
        shortname = "helmrepo",
        category = "gitops",
        derive = "PartialEq",
        doc = "A Helm chart repository whose index the operator fetches on an interval; HelmReleases take charts from it.",
        printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
        printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
        printcolumn = r#"{"name":"Revision","type":"string","jsonPath":".status.artifact.revision"}"#,
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
    )
)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelmRepositorySpec {
    /// Repository URL (`https://` or `http://`); the index is `<url>/index.yaml`.
    #[schemars(regex(pattern = r"^(https?|oci)://.+$"))]
    pub url: String,
    /// `default` (an HTTP repository with an `index.yaml`) or `oci` (charts in an OCI
    /// registry, `oci://host/path`, listed by tag).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// How often to fetch the index, as a Go duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: Option<String>,
    /// Timeout of one index or chart download, as a Go duration (default `60s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
    /// Secret with `username`/`password` (basic auth) and/or `ca.crt` (extra CA, PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Secret with `ca.crt`: an extra CA (PEM) to trust, as Flux's `certSecretRef`
    /// (client certificates, `tls.crt`/`tls.key`, are not supported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// Send the credentials to chart URLs on other hosts too (Flux's `passCredentials`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pass_credentials: bool,
    /// Talk plain HTTP to an OCI registry (for registries without TLS, on loopback).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Stop fetching.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}
