//! Traffic providers: the desired traffic state → the router's objects to apply. Pure.
//!
//! | provider | objects |
//! | --- | --- |
//! | `smi` | `split.smi-spec.io/v1alpha2 TrafficSplit` (Linkerd) — weights only |
//! | `gateway` | `gateway.networking.k8s.io/v1 HTTPRoute` — backend weights and header matches |
//! | `istio` | `networking.istio.io/v1beta1 VirtualService` + `DestinationRule` subsets |
//! | `nginx` | the canary `Ingress` with `nginx.ingress.kubernetes.io/canary-*` annotations |
//! | `plain` | `Service`s: selector switches (blue-green), or one service over both revisions whose replica ratio approximates the weight |
//!
//! Pods of the two revisions carry [`ROLE_LABEL`] `stable` or `canary`; subsets and selectors
//! use it.

mod gateway;
mod istio;
mod nginx;
mod plain;
mod smi;

use std::collections::BTreeMap;

use gitops_core::Object;
use serde_json::{Value, json};

use crate::machine::RolloutStatus;
use crate::plan::{Plan, PlanStep};
use crate::spec::{ProviderKind, Rollout, RouteMatch, Strategy, StringMatch};

/// The pod label telling the stable revision's pods from the canary's.
pub const ROLE_LABEL: &str = "gitops.rs/rollout-role";
/// The label every generated object carries, naming its rollout.
pub const ROLLOUT_LABEL: &str = "gitops.rs/rollout";

/// A provider cannot express the desired state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Header or cookie routing asked of a provider without it.
    #[error("provider {provider} cannot route by {what}: {hint}")]
    Unsupported {
        /// The provider.
        provider: ProviderKind,
        /// What was asked.
        what: String,
        /// What would work.
        hint: String,
    },
    /// The generated value is no Kubernetes object (a bug).
    #[error("provider {provider} built an invalid object: {message}")]
    Invalid {
        /// The provider.
        provider: ProviderKind,
        /// Why.
        message: String,
    },
}

/// What traffic should look like.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TrafficState {
    /// Share of requests to the canary, 0..=100.
    pub canary_weight: u8,
    /// Requests matching any of these rules go to the canary.
    pub header_route: Vec<RouteMatch>,
    /// Blue-green services that select the canary.
    pub switched_services: Vec<String>,
}

impl TrafficState {
    /// The traffic state a machine status asks for.
    #[must_use]
    pub fn from_status(status: &RolloutStatus) -> Self {
        Self {
            canary_weight: status.canary_weight,
            header_route: status.header_route.clone(),
            switched_services: status.switched_services.clone(),
        }
    }

    /// The state at `weight` for `rollout`: blue-green services switch at 100 (active) or above
    /// 0 (preview); with `header_route`, the strategy's first header rules are added.
    #[must_use]
    pub fn for_weight(rollout: &Rollout, weight: u8, header_route: bool) -> Self {
        let weight = weight.min(100);
        let mut state = Self {
            canary_weight: weight,
            ..Self::default()
        };
        match &rollout.spec.strategy {
            Strategy::BlueGreen(bg) => {
                if weight > 0
                    && let Some(preview) = &bg.preview_service
                {
                    state.switched_services.push(preview.clone());
                }
                if weight == 100 {
                    state.switched_services.push(bg.active_service.clone());
                }
            }
            Strategy::AbTest(ab) if header_route => state.header_route.clone_from(&ab.matches),
            Strategy::Canary(_) if header_route => {
                if let Ok(plan) = Plan::build(rollout) {
                    state.header_route = plan
                        .steps
                        .iter()
                        .find_map(|s| match s {
                            PlanStep::SetHeaderRoute(m) if !m.is_empty() => Some(m.clone()),
                            _ => None,
                        })
                        .unwrap_or_default();
                }
            }
            _ => {}
        }
        state
    }
}

/// The objects the rollout's own provider needs for `state` (`plain` when it has none).
///
/// # Errors
/// The provider cannot express `state` (e.g. header routes with SMI).
pub fn render(rollout: &Rollout, state: &TrafficState) -> Result<Vec<Object>, ProviderError> {
    let kind = rollout
        .spec
        .traffic_routing
        .as_ref()
        .map_or(ProviderKind::Plain, |r| r.provider());
    render_with(rollout, kind, state)
}

/// As [`render`] with another provider (its settings from the rollout when it is the rollout's
/// own, defaults otherwise).
///
/// # Errors
/// As [`render`].
pub fn render_with(
    rollout: &Rollout,
    kind: ProviderKind,
    state: &TrafficState,
) -> Result<Vec<Object>, ProviderError> {
    let routing = match &rollout.spec.traffic_routing {
        Some(r) if r.provider() == kind => r.clone(),
        _ => kind.default_routing(),
    };
    let ctx = Ctx { rollout, state };
    let values = match &routing {
        crate::spec::TrafficRouting::Smi(s) => smi::render(&ctx, s)?,
        crate::spec::TrafficRouting::GatewayApi(g) => gateway::render(&ctx, g),
        crate::spec::TrafficRouting::Istio(i) => istio::render(&ctx, i),
        crate::spec::TrafficRouting::Nginx(n) => nginx::render(&ctx, n)?,
        crate::spec::TrafficRouting::Plain(_) => plain::render(&ctx)?,
    };
    values
        .into_iter()
        .map(|v| {
            Object::from_value(v).map_err(|e| ProviderError::Invalid {
                provider: kind,
                message: e.to_string(),
            })
        })
        .collect()
}

/// What every provider reads.
pub(crate) struct Ctx<'a> {
    pub(crate) rollout: &'a Rollout,
    pub(crate) state: &'a TrafficState,
}

impl Ctx<'_> {
    /// `metadata` for a generated object.
    pub(crate) fn metadata(&self, name: &str) -> Value {
        json!({
            "name": name,
            "namespace": self.rollout.namespace(),
            "labels": {ROLLOUT_LABEL: self.rollout.metadata.name},
        })
    }

    pub(crate) fn weights(&self) -> (u64, u64) {
        let w = u64::from(self.state.canary_weight.min(100));
        (100 - w, w)
    }

    /// The selector of one revision's pods.
    pub(crate) fn role_selector(&self, role: &str) -> BTreeMap<String, String> {
        let mut labels = self.rollout.selector();
        labels.insert(ROLE_LABEL.to_owned(), role.to_owned());
        labels
    }

    pub(crate) fn port(&self) -> u64 {
        u64::from(self.rollout.port())
    }
}

/// A regular expression matching strings that start with `prefix`.
pub(crate) fn prefix_regex(prefix: &str) -> String {
    let mut out = String::from("^");
    for c in prefix.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str(".*");
    out
}

/// The `cookie` header regex matching a cookie (Flagger's and Argo's shape).
pub(crate) fn cookie_regex(name: &str, m: &StringMatch) -> String {
    let value = match m {
        StringMatch::Exact(v) => v.clone(),
        StringMatch::Prefix(v) => format!("{v}[^;]*"),
        StringMatch::Regex(v) => v.clone(),
    };
    format!("^(.*?;)?({name}={value})(;.*)?$")
}
