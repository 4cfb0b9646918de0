//! Webhooks of a `Rollout` (`spec.webhooks`): Flagger's gates, asked by the operator over HTTP.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::Duration;

/// A gate: an HTTP POST with the rollout's name, namespace, phase and `metadata` (Flagger's
/// payload); a 2xx answer lets the rollout go on, anything else holds it and asks again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Webhook {
    /// A name for messages.
    pub name: String,
    /// When it is asked.
    #[serde(rename = "type")]
    pub kind: WebhookKind,
    /// The URL posted to.
    pub url: String,
    /// How long an answer may take; default 10s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    /// Sent as the payload's `metadata`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// When a [`Webhook`] is asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum WebhookKind {
    /// Before a new revision starts rolling out.
    ConfirmRollout,
    /// Before the new revision is copied into the stable workload.
    ConfirmPromotion,
}
