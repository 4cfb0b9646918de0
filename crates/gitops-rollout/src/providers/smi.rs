//! SMI `TrafficSplit` v1alpha2, as Linkerd reads it: the apex service split between the stable
//! and canary services by integer weights.

use serde_json::{Value, json};

use super::{Ctx, ProviderError};
use crate::spec::{ProviderKind, SmiRouting};

pub(crate) fn render(ctx: &Ctx<'_>, smi: &SmiRouting) -> Result<Vec<Value>, ProviderError> {
    if !ctx.state.header_route.is_empty() {
        return Err(ProviderError::Unsupported {
            provider: ProviderKind::Smi,
            what: "header or cookie".to_owned(),
            hint: "TrafficSplit v1alpha2 only splits by weight; use gatewayAPI, istio or nginx"
                .to_owned(),
        });
    }
    let r = ctx.rollout;
    let name = smi
        .traffic_split_name
        .clone()
        .unwrap_or_else(|| r.metadata.name.clone());
    let (stable, canary) = ctx.weights();
    Ok(vec![json!({
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": ctx.metadata(&name),
        "spec": {
            "service": r.service_name(),
            "backends": [
                {"service": r.stable_service(), "weight": stable},
                {"service": r.canary_service(), "weight": canary},
            ],
        },
    })])
}
