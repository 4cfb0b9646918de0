//! Istio: a `VirtualService` routing the apex host to the `stable` and `canary` subsets of a
//! `DestinationRule` by weight, with header routes first.

use serde_json::{Map, Value, json};

use super::{Ctx, cookie_regex};
use crate::spec::{IstioRouting, StringMatch};

pub(crate) fn render(ctx: &Ctx<'_>, istio: &IstioRouting) -> Vec<Value> {
    let r = ctx.rollout;
    let host = r.service_name().to_owned();
    let vs_name = istio
        .virtual_service
        .clone()
        .unwrap_or_else(|| r.metadata.name.clone());
    let dr_name = istio
        .destination_rule
        .clone()
        .unwrap_or_else(|| r.metadata.name.clone());
    let dest = |subset: &str, weight: u64| json!({"destination": {"host": host, "subset": subset}, "weight": weight});
    let mut http = Vec::new();
    if !ctx.state.header_route.is_empty() {
        let matches: Vec<Value> = ctx
            .state
            .header_route
            .iter()
            .map(|m| {
                let mut headers = Map::new();
                for (name, sm) in &m.headers {
                    headers.insert(name.clone(), string_match(sm));
                }
                // Istio takes one match per header name: several cookies share one regex.
                if let Some((cookie, sm)) = m.cookies.iter().next() {
                    headers.insert(
                        "cookie".to_owned(),
                        json!({"regex": cookie_regex(cookie, sm)}),
                    );
                }
                json!({"headers": headers})
            })
            .collect();
        http.push(
            json!({"name": "canary-match", "match": matches, "route": [dest("canary", 100)]}),
        );
    }
    let (stable, canary) = ctx.weights();
    http.push(
        json!({"name": "primary", "route": [dest("stable", stable), dest("canary", canary)]}),
    );
    let mut hosts = vec![Value::String(host.clone())];
    hosts.extend(r.spec.service.hosts.iter().cloned().map(Value::String));
    let mut vs_spec = json!({"hosts": hosts});
    if !istio.gateways.is_empty() {
        vs_spec["gateways"] = json!(istio.gateways);
    }
    vs_spec["http"] = Value::Array(http);
    vec![
        json!({
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "VirtualService",
            "metadata": ctx.metadata(&vs_name),
            "spec": vs_spec,
        }),
        json!({
            "apiVersion": "networking.istio.io/v1beta1",
            "kind": "DestinationRule",
            "metadata": ctx.metadata(&dr_name),
            "spec": {
                "host": host,
                "subsets": [
                    {"name": "stable", "labels": ctx.role_selector("stable")},
                    {"name": "canary", "labels": ctx.role_selector("canary")},
                ],
            },
        }),
    ]
}

fn string_match(m: &StringMatch) -> Value {
    match m {
        StringMatch::Exact(v) => json!({"exact": v}),
        StringMatch::Prefix(v) => json!({"prefix": v}),
        StringMatch::Regex(v) => json!({"regex": v}),
    }
}
