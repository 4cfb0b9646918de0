//! `Receiver`: a webhook endpoint that makes sources fetch as soon as a Git host reports a push.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[cfg(feature = "cluster")]
use super::ReceiverStatus;

use super::LocalObjectReference;

/// A webhook receiver, after Flux's `Receiver` (notification.toolkit.fluxcd.io/v1).
#[cfg_attr(feature = "cluster", derive(kube::CustomResource))]
#[cfg_attr(
    feature = "cluster",
    kube(
        group = "gitops.rs",
        version = "v1alpha1",
        kind = "Receiver",
        namespaced,
        status = "ReceiverStatus",
        shortname = "rcv",
        category = "gitops",
        derive = "PartialEq",
        doc = "A webhook endpoint that triggers sources when a Git host reports a push.",
        printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
        printcolumn = r#"{"name":"Status","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
        printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
    )
)]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverSpec {
    /// Which sender, and so how a request proves it knows the secret.
    #[serde(rename = "type")]
    pub type_: ReceiverType,
    /// Event names to act on (`X-GitHub-Event`, `X-Gitlab-Event`); all when empty. GitHub's
    /// `ping` is always answered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Secret in the receiver's namespace whose `token` key is the shared secret.
    pub secret_ref: LocalObjectReference,
    /// The sources to trigger.
    #[schemars(length(min = 1))]
    pub resources: Vec<ReceiverResource>,
    /// Refuse every request.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suspend: bool,
}

/// How a webhook request is authenticated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ReceiverType {
    /// GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    #[default]
    #[serde(rename = "github")]
    Github,
    /// GitLab: `X-Gitlab-Token: <token>`.
    #[serde(rename = "gitlab")]
    Gitlab,
    /// Any sender that can sign: `X-Signature: sha256=<hex HMAC-SHA256 of the body>` (also
    /// `sha1=`).
    #[serde(rename = "generic-hmac")]
    GenericHmac,
    /// Any sender: no signature, the secret webhook path alone authenticates.
    #[serde(rename = "generic")]
    Generic,
}

impl ReceiverType {
    /// The name as written in `spec.type`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::GenericHmac => "generic-hmac",
            Self::Generic => "generic",
        }
    }
}

/// A source a receiver triggers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverResource {
    /// API version (default `gitops.rs/v1alpha1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind; `GitRepository`.
    pub kind: String,
    /// Name, or `*` for every object of the kind in the namespace that has `matchLabels`.
    #[schemars(length(min = 1))]
    pub name: String,
    /// Namespace (default: the receiver's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// With name `*`: the labels the objects must have (all objects when empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
}
