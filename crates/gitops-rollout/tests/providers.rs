//! Traffic providers: every generated object validates against its API's schema (kept under
//! `tests/schemas/`, written from the published specs), and snapshots show what is applied.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use gitops_core::{Object, yaml};
use gitops_rollout::providers::{ProviderError, TrafficState, render, render_with};
use gitops_rollout::spec::{ProviderKind, RouteMatch, StringMatch};

fn schema_for(object: &Object) -> jsonschema::Validator {
    let file = format!(
        "{}_{}.json",
        object.api_version().replace('/', "_"),
        object.kind()
    );
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/schemas")
        .join(&file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("no schema {file} for a generated object: {e}"));
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

fn validate(objects: &[Object]) {
    for o in objects {
        let validator = schema_for(o);
        let value = o.to_value();
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| e.to_string())
            .collect();
        assert!(
            errors.is_empty(),
            "{} {} invalid: {errors:#?}\n{}",
            o.kind(),
            o.name(),
            yaml::to_string(&value)
        );
    }
}

fn header_route() -> Vec<RouteMatch> {
    let mut rule = RouteMatch::default();
    rule.headers
        .insert("x-user".into(), StringMatch::Exact("beta".into()));
    let mut cookie = RouteMatch::default();
    cookie
        .cookies
        .insert("canary".into(), StringMatch::Exact("always".into()));
    vec![rule, cookie]
}

#[test]
fn every_provider_validates_at_every_weight() {
    let rollouts = [
        common::rollout("canary.yaml"),
        common::rollout("ab-test.yaml"),
        common::rollout("blue-green.yaml"),
    ];
    for rollout in &rollouts {
        for kind in ProviderKind::ALL {
            for weight in [0u8, 1, 37, 50, 99, 100] {
                let state = TrafficState::for_weight(rollout, weight, false);
                let objects = render_with(rollout, kind, &state).unwrap();
                assert!(!objects.is_empty(), "{kind}");
                validate(&objects);
            }
            let state = TrafficState {
                canary_weight: 10,
                header_route: header_route(),
                ..TrafficState::default()
            };
            match render_with(rollout, kind, &state) {
                Ok(objects) => validate(&objects),
                Err(ProviderError::Unsupported { provider, .. }) => {
                    assert!(
                        matches!(provider, ProviderKind::Smi | ProviderKind::Plain),
                        "{provider}"
                    );
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
}

#[test]
fn a_schema_rejects_a_broken_object() {
    // The schemas are strict enough to catch mistakes: a weight as a string, an unknown field.
    let bad = Object::from_value(serde_json::json!({
        "apiVersion": "split.smi-spec.io/v1alpha2",
        "kind": "TrafficSplit",
        "metadata": {"name": "web"},
        "spec": {"service": "web", "backends": [{"service": "web-primary", "weight": "100"}], "extra": 1},
    }))
    .unwrap();
    let value = bad.to_value();
    assert_eq!(schema_for(&bad).iter_errors(&value).count(), 2);
}

fn snapshot(rollout: &str, kind: ProviderKind, weight: u8, headers: bool) -> String {
    let rollout = common::rollout(rollout);
    let state = TrafficState::for_weight(&rollout, weight, headers);
    let objects = render_with(&rollout, kind, &state).unwrap();
    validate(&objects);
    let values: Vec<_> = objects.iter().map(Object::to_value).collect();
    yaml::to_string_multi(&values)
}

#[test]
fn smi_traffic_split() {
    insta::assert_snapshot!(snapshot("canary.yaml", ProviderKind::Smi, 30, false));
}

#[test]
fn gateway_http_route_with_header_matches() {
    insta::assert_snapshot!(snapshot("ab-test.yaml", ProviderKind::Gateway, 0, true));
}

#[test]
fn istio_virtual_service_and_destination_rule() {
    insta::assert_snapshot!(snapshot("ab-test.yaml", ProviderKind::Istio, 20, true));
}

#[test]
fn nginx_canary_ingress() {
    let rollout = common::rollout("ab-test.yaml");
    let state = TrafficState {
        canary_weight: 20,
        header_route: vec![header_route().remove(0)],
        ..TrafficState::default()
    };
    let objects = render_with(&rollout, ProviderKind::Nginx, &state).unwrap();
    validate(&objects);
    let values: Vec<_> = objects.iter().map(Object::to_value).collect();
    insta::assert_snapshot!(yaml::to_string_multi(&values));
}

#[test]
fn plain_services_switch_for_blue_green() {
    insta::assert_snapshot!(snapshot("blue-green.yaml", ProviderKind::Plain, 100, false));
}

#[test]
fn unsupported_routes_are_refused_with_a_hint() {
    let rollout = common::rollout("canary.yaml");
    let mut routes = header_route();
    routes[1]
        .cookies
        .insert("canary".into(), StringMatch::Exact("beta".into()));
    let state = TrafficState {
        header_route: routes,
        ..TrafficState::default()
    };
    let cases = [
        (
            ProviderKind::Smi,
            "provider smi cannot route by header or cookie: TrafficSplit v1alpha2 only splits by weight; use gatewayAPI, istio or nginx",
        ),
        (
            ProviderKind::Plain,
            "provider plain cannot route by header or cookie: a Service selects pods, not requests; use gatewayAPI, istio or nginx",
        ),
        (
            ProviderKind::Nginx,
            "provider nginx cannot route by a cookie value other than \"always\": NGINX sends requests to the canary when the cookie's value is always",
        ),
    ];
    for (kind, want) in cases {
        assert_eq!(
            render_with(&rollout, kind, &state).unwrap_err().to_string(),
            want
        );
    }
    // The rollout's own provider is the default.
    assert_eq!(
        render(&rollout, &TrafficState::default()).unwrap()[0].kind(),
        "TrafficSplit"
    );
}
