//! NGINX Ingress: a second `Ingress` for the canary service carrying the controller's canary
//! annotations (`canary-weight`, `canary-by-header[-value|-pattern]`, `canary-by-cookie`).
//! NGINX routes by at most one header and one cookie, and by cookie only on the value `always`.

use serde_json::{Map, Value, json};

use super::{Ctx, ProviderError, prefix_regex};
use crate::spec::{NginxRouting, ProviderKind, StringMatch};

const PREFIX: &str = "nginx.ingress.kubernetes.io/";

pub(crate) fn render(ctx: &Ctx<'_>, n: &NginxRouting) -> Result<Vec<Value>, ProviderError> {
    let r = ctx.rollout;
    let stable_ingress = n.ingress.clone().unwrap_or_else(|| r.metadata.name.clone());
    let mut ann = Map::new();
    let mut set = |k: &str, v: String| {
        ann.insert(format!("{PREFIX}{k}"), Value::String(v));
    };
    set("canary", "true".to_owned());
    set(
        "canary-weight",
        ctx.state.canary_weight.min(100).to_string(),
    );
    let unsupported = |what: &str, hint: &str| ProviderError::Unsupported {
        provider: ProviderKind::Nginx,
        what: what.to_owned(),
        hint: hint.to_owned(),
    };
    let headers: Vec<_> = ctx
        .state
        .header_route
        .iter()
        .flat_map(|m| &m.headers)
        .collect();
    let cookies: Vec<_> = ctx
        .state
        .header_route
        .iter()
        .flat_map(|m| &m.cookies)
        .collect();
    if headers.len() > 1 {
        return Err(unsupported(
            "more than one header",
            "canary-by-header takes a single header; use gatewayAPI or istio",
        ));
    }
    if cookies.len() > 1 {
        return Err(unsupported(
            "more than one cookie",
            "canary-by-cookie takes a single cookie",
        ));
    }
    if let Some((name, m)) = headers.first() {
        set("canary-by-header", (*name).clone());
        match m {
            StringMatch::Exact(v) => set("canary-by-header-value", v.clone()),
            StringMatch::Prefix(v) => set("canary-by-header-pattern", prefix_regex(v)),
            StringMatch::Regex(v) => set("canary-by-header-pattern", v.clone()),
        }
    }
    if let Some((name, m)) = cookies.first() {
        if **m != StringMatch::Exact("always".to_owned()) {
            return Err(unsupported(
                "a cookie value other than \"always\"",
                "NGINX sends requests to the canary when the cookie's value is always",
            ));
        }
        set("canary-by-cookie", (*name).clone());
    }
    let path = n.path.clone().unwrap_or_else(|| "/".to_owned());
    let http = json!({"paths": [{
        "path": path,
        "pathType": "Prefix",
        "backend": {"service": {"name": r.canary_service(), "port": {"number": ctx.port()}}},
    }]});
    let rules: Vec<Value> = if r.spec.service.hosts.is_empty() {
        vec![json!({"http": http})]
    } else {
        r.spec
            .service
            .hosts
            .iter()
            .map(|h| json!({"host": h, "http": http}))
            .collect()
    };
    let mut metadata = ctx.metadata(&format!("{stable_ingress}-canary"));
    metadata["annotations"] = Value::Object(ann);
    Ok(vec![json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": {
            "ingressClassName": n.ingress_class_name.clone().unwrap_or_else(|| "nginx".to_owned()),
            "rules": rules,
        },
    })])
}
