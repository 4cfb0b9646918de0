//! Plain Kubernetes `Service`s. Blue-green: the active and preview services select the stable or
//! canary pods, switched by the state. Canary and A/B: no router, so the apex service selects
//! both revisions and the replica ratio approximates the weight; the stable and canary services
//! select one revision each (for analysis and debugging).

use serde_json::{Value, json};

use super::{Ctx, ProviderError};
use crate::spec::{ProviderKind, Strategy};

pub(crate) fn render(ctx: &Ctx<'_>) -> Result<Vec<Value>, ProviderError> {
    if !ctx.state.header_route.is_empty() {
        return Err(ProviderError::Unsupported {
            provider: ProviderKind::Plain,
            what: "header or cookie".to_owned(),
            hint: "a Service selects pods, not requests; use gatewayAPI, istio or nginx".to_owned(),
        });
    }
    let r = ctx.rollout;
    let service = |name: &str, selector: Value| {
        json!({
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": ctx.metadata(name),
            "spec": {
                "selector": selector,
                "ports": [{"name": "http", "port": ctx.port(), "targetPort": target_port(ctx)}],
            },
        })
    };
    Ok(match &r.spec.strategy {
        Strategy::BlueGreen(bg) => {
            let mut names = vec![bg.active_service.clone()];
            names.extend(bg.preview_service.clone());
            names
                .iter()
                .map(|name| {
                    let role = if ctx.state.switched_services.contains(name) {
                        "canary"
                    } else {
                        "stable"
                    };
                    service(name, json!(ctx.role_selector(role)))
                })
                .collect()
        }
        Strategy::Canary(_) | Strategy::AbTest(_) => vec![
            service(r.service_name(), json!(r.selector())),
            service(&r.stable_service(), json!(ctx.role_selector("stable"))),
            service(&r.canary_service(), json!(ctx.role_selector("canary"))),
        ],
    })
}

fn target_port(ctx: &Ctx<'_>) -> Value {
    ctx.rollout
        .spec
        .service
        .target_port
        .clone()
        .unwrap_or_else(|| json!(ctx.port()))
}
