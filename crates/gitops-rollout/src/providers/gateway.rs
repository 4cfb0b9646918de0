//! Gateway API `HTTPRoute` (v1): a weighted rule over the stable and canary services, preceded by
//! one rule per header route sending matching requests to the canary. Without gateways the route
//! attaches to the apex Service (GAMMA, service-mesh mode).

use serde_json::{Value, json};

use super::{Ctx, cookie_regex, prefix_regex};
use crate::spec::{GatewayRouting, StringMatch};

pub(crate) fn render(ctx: &Ctx<'_>, g: &GatewayRouting) -> Vec<Value> {
    let r = ctx.rollout;
    let name = g
        .http_route
        .clone()
        .unwrap_or_else(|| r.metadata.name.clone());
    let port = ctx.port();
    let parents: Vec<Value> = if g.gateways.is_empty() {
        vec![json!({"group": "", "kind": "Service", "name": r.service_name(), "port": port})]
    } else {
        g.gateways
            .iter()
            .map(|gw| match gw.split_once('/') {
                Some((ns, n)) => json!({"name": n, "namespace": ns}),
                None => json!({"name": gw}),
            })
            .collect()
    };
    let mut rules = Vec::new();
    if !ctx.state.header_route.is_empty() {
        let matches: Vec<Value> = ctx
            .state
            .header_route
            .iter()
            .map(|m| {
                let mut headers: Vec<Value> = m
                    .headers
                    .iter()
                    .map(|(name, sm)| header(name, sm))
                    .collect();
                for (cookie, sm) in &m.cookies {
                    headers.push(json!({
                        "type": "RegularExpression",
                        "name": "cookie",
                        "value": cookie_regex(cookie, sm),
                    }));
                }
                json!({"headers": headers})
            })
            .collect();
        rules.push(json!({
            "matches": matches,
            "backendRefs": [{"name": r.canary_service(), "port": port, "weight": 100}],
        }));
    }
    let (stable, canary) = ctx.weights();
    rules.push(json!({
        "backendRefs": [
            {"name": r.stable_service(), "port": port, "weight": stable},
            {"name": r.canary_service(), "port": port, "weight": canary},
        ],
    }));
    let mut spec = json!({"parentRefs": parents});
    if !r.spec.service.hosts.is_empty() {
        spec["hostnames"] = json!(r.spec.service.hosts);
    }
    spec["rules"] = Value::Array(rules);
    vec![json!({
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": ctx.metadata(&name),
        "spec": spec,
    })]
}

fn header(name: &str, m: &StringMatch) -> Value {
    match m {
        StringMatch::Exact(v) => json!({"type": "Exact", "name": name, "value": v}),
        StringMatch::Prefix(v) => {
            json!({"type": "RegularExpression", "name": name, "value": prefix_regex(v)})
        }
        StringMatch::Regex(v) => json!({"type": "RegularExpression", "name": name, "value": v}),
    }
}
