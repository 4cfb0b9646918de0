//! Flagger `flagger.app/v1beta1 Canary` → [`Rollout`].
//!
//! - `analysis.stepWeight`/`stepWeights` → a canary weight loop;
//! - `analysis.match` + `iterations` → A/B testing;
//! - `analysis.iterations` alone → blue-green (active = the apex service, preview = the canary
//!   service), each metric measured `iterations` times, `threshold - 1` failures tolerated;
//! - the built-in metrics `request-success-rate` and `request-duration` become analysis templates
//!   with Flagger's queries for the provider (Linkerd/SMI, Istio, NGINX), keeping `thresholdRange`.
//!
//! Webhooks, alerts, `MetricTemplate` references, session affinity and mirroring are reported as
//! unsupported.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Fields, ReadError, Unsupported, metadata};
use crate::spec::{API_VERSION, KIND, Rollout};
use crate::spec::{
    AbTestStrategy, AnalysisRef, AnalysisTemplate, Arg, BlueGreenStrategy, CanaryStrategy,
    Duration, GatewayRouting, IstioRouting, Metric, MetricProvider, NginxRouting, PlainRouting,
    PrometheusMetric, RolloutSpec, RouteMatch, ServiceSpec, SmiRouting, Strategy, StringMatch,
    TemplateRef, ThresholdRange, TrafficRouting, WeightLoop, WorkloadRef,
};

/// Reads a Flagger `Canary`.
///
/// # Errors
/// A field we read has the wrong type, or the analysis fits no strategy.
pub fn read(value: &Value) -> Result<(Rollout, Vec<Unsupported>), ReadError> {
    let mut out = Vec::new();
    let mut root = Fields::new(Some(value), "")?;
    root.raw("apiVersion");
    root.raw("kind");
    root.raw("status");
    let metadata = metadata(&mut root, &mut out)?;
    let mut spec = root.nested("spec")?;

    let provider_name: Option<String> = spec.get("provider")?;
    let mut target = spec.nested("targetRef")?;
    let target_ref = WorkloadRef {
        api_version: target
            .get("apiVersion")?
            .unwrap_or_else(|| "apps/v1".to_owned()),
        kind: target
            .get("kind")?
            .unwrap_or_else(|| "Deployment".to_owned()),
        name: target.require("name")?,
    };
    target.finish(&mut out);
    if target_ref.kind != "Deployment" {
        out.push(Unsupported {
            path: "spec.targetRef.kind".to_owned(),
            reason: format!("only Deployments are rolled out, found {}", target_ref.kind),
        });
    }
    let mut ingress = spec.nested("ingressRef")?;
    let ingress_name: Option<String> = ingress.get("name")?;
    ingress.raw("apiVersion");
    ingress.raw("kind");
    ingress.finish(&mut out);
    let mut route = spec.nested("routeRef")?;
    let route_name: Option<String> = route.get("name")?;
    route.raw("apiVersion");
    route.raw("kind");
    route.finish(&mut out);

    let mut svc = spec.nested("service")?;
    let mut service = ServiceSpec {
        name: svc.get("name")?,
        port: svc.get("port")?,
        target_port: svc.get("targetPort")?,
        hosts: svc.get("hosts")?.unwrap_or_default(),
        ..ServiceSpec::default()
    };
    let istio_gateways: Vec<String> = svc.get("gateways")?.unwrap_or_default();
    let mut gateway_refs = Vec::new();
    if let Some(refs) = svc.raw("gatewayRefs").and_then(Value::as_array) {
        for r in refs {
            let name = r.get("name").and_then(Value::as_str).unwrap_or_default();
            gateway_refs.push(match r.get("namespace").and_then(Value::as_str) {
                Some(ns) => format!("{ns}/{name}"),
                None => name.to_owned(),
            });
        }
    }
    svc.raw("portName");
    svc.finish(&mut out);
    let progress_deadline_seconds = spec.get("progressDeadlineSeconds")?;

    let provider = provider_name.as_deref().unwrap_or("");
    let traffic_routing = match provider {
        "linkerd" | "smi" | "osm" | "smi:v1alpha2" | "smi:v1alpha3" => {
            Some(TrafficRouting::Smi(SmiRouting::default()))
        }
        "istio" => Some(TrafficRouting::Istio(IstioRouting {
            gateways: istio_gateways,
            ..IstioRouting::default()
        })),
        "nginx" => Some(TrafficRouting::Nginx(NginxRouting {
            ingress: ingress_name,
            ..NginxRouting::default()
        })),
        p if p.starts_with("gatewayapi") => Some(TrafficRouting::GatewayApi(GatewayRouting {
            http_route: route_name,
            gateways: gateway_refs,
        })),
        "kubernetes" => Some(TrafficRouting::Plain(PlainRouting {})),
        "" => None,
        other => {
            out.push(Unsupported {
                path: "spec.provider".to_owned(),
                reason: format!(
                    "provider {other:?} is not supported (linkerd, smi, osm, istio, nginx, gatewayapi, kubernetes are)"
                ),
            });
            None
        }
    };

    let mut an = spec.nested("analysis")?;
    let interval: Duration = an.get("interval")?.unwrap_or(Duration(60));
    let threshold: Option<u32> = an.get("threshold")?;
    let max_weight: Option<u8> = an.get("maxWeight")?;
    let step_weight: Option<u8> = an.get("stepWeight")?;
    let step_weights: Vec<u8> = an.get("stepWeights")?.unwrap_or_default();
    let iterations: Option<u32> = an.get("iterations")?;
    let matches = match an.raw("match") {
        Some(m) => route_matches(m, "spec.analysis.match")?,
        None => Vec::new(),
    };
    let name = metadata.name.clone();
    let namespace = metadata.namespace.clone();
    let blue_green = matches.is_empty() && step_weight.is_none() && step_weights.is_empty();
    let ctx = MetricContext {
        provider,
        ingress: ingress_name_for(&name, provider, spec_ingress(&traffic_routing)),
        count: if blue_green { iterations } else { None },
        interval,
        failure_limit: if blue_green {
            threshold.map(|t| t.saturating_sub(1))
        } else {
            None
        },
    };
    let mut templates = Vec::new();
    if let Some(metrics) = an.raw("metrics") {
        let Value::Array(metrics) = metrics else {
            return Err(ReadError {
                path: "spec.analysis.metrics".to_owned(),
                message: "expected a list".to_owned(),
            });
        };
        for (i, m) in metrics.iter().enumerate() {
            if let Some(t) = metric(m, i, &ctx, &mut out)? {
                templates.push(t);
            }
        }
    }
    for (key, reason) in [
        (
            "webhooks",
            "webhooks (load tests, gates, notifications) are not supported",
        ),
        ("alerts", "alerts are not supported"),
        ("mirror", "traffic mirroring is not supported"),
        ("mirrorWeight", "traffic mirroring is not supported"),
        ("sessionAffinity", "session affinity is not supported"),
        (
            "stepWeightPromotion",
            "promotion steps are not supported: promotion is at once",
        ),
        (
            "canaryReadyThreshold",
            "readiness thresholds are not supported: all replicas must be ready",
        ),
        (
            "primaryReadyThreshold",
            "readiness thresholds are not supported: all replicas must be ready",
        ),
    ] {
        an.refuse(key, reason, &mut out);
    }
    an.finish(&mut out);
    for (key, reason) in [
        ("autoscalerRef", "autoscaler references are not supported"),
        ("skipAnalysis", "use the skipAnalysis command instead"),
        ("revertOnDeletion", "not supported"),
        ("suspend", "use the pause command instead"),
    ] {
        spec.refuse(key, reason, &mut out);
    }
    spec.finish(&mut out);
    root.finish(&mut out);

    let analysis = AnalysisRef {
        templates: templates
            .iter()
            .map(|t: &AnalysisTemplate| TemplateRef {
                template_name: t.name.clone(),
            })
            .collect(),
        args: Vec::new(),
    };
    let strategy = if !matches.is_empty() {
        Strategy::AbTest(AbTestStrategy {
            matches,
            iterations: iterations.unwrap_or(1),
            interval,
            threshold,
            templates: analysis.templates,
            args: analysis.args,
        })
    } else if blue_green {
        let service_name = service
            .name
            .clone()
            .unwrap_or_else(|| target_ref.name.clone());
        Strategy::BlueGreen(BlueGreenStrategy {
            active_service: service_name.clone(),
            preview_service: Some(format!("{service_name}-canary")),
            auto_promotion_enabled: None,
            auto_promotion_seconds: None,
            pre_promotion_analysis: (!analysis.templates.is_empty()).then_some(analysis),
            post_promotion_analysis: None,
            scale_down_delay_seconds: None,
        })
    } else {
        Strategy::Canary(CanaryStrategy {
            steps: Vec::new(),
            analysis: Some(WeightLoop {
                interval,
                threshold,
                max_weight,
                step_weight,
                step_weights,
                templates: analysis.templates,
                args: analysis.args,
            }),
        })
    };
    if service.selector.is_empty() {
        service.selector = BTreeMap::from([("app".to_owned(), target_ref.name.clone())]);
    }
    let rollout = Rollout {
        api_version: API_VERSION.to_owned(),
        kind: KIND.to_owned(),
        metadata: crate::spec::Metadata {
            namespace,
            ..metadata
        },
        spec: RolloutSpec {
            target_ref,
            service,
            progress_deadline_seconds,
            traffic_routing,
            strategy,
            analysis_templates: templates,
            webhooks: Vec::new(),
        },
    };
    Ok((rollout, out))
}

fn spec_ingress(routing: &Option<TrafficRouting>) -> Option<&str> {
    match routing {
        Some(TrafficRouting::Nginx(n)) => n.ingress.as_deref(),
        _ => None,
    }
}

fn ingress_name_for(name: &str, provider: &str, ingress: Option<&str>) -> String {
    let _ = provider;
    ingress.unwrap_or(name).to_owned()
}

struct MetricContext<'a> {
    provider: &'a str,
    ingress: String,
    count: Option<u32>,
    interval: Duration,
    failure_limit: Option<u32>,
}

/// Flagger's header matches: `[{headers: {name: {exact|prefix|suffix|regex: v}}}]`; a `cookie`
/// header with a regex becomes a cookie match when it has the `^(.*?;)?(name=value)(;.*)?$` shape.
pub(crate) fn route_matches(value: &Value, path: &str) -> Result<Vec<RouteMatch>, ReadError> {
    let Value::Array(items) = value else {
        return Err(ReadError {
            path: path.to_owned(),
            message: "expected a list of {headers: ...} rules".to_owned(),
        });
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let mut rule = RouteMatch::default();
        let headers = item.get("headers").and_then(Value::as_object);
        for (name, m) in headers.into_iter().flatten() {
            let p = format!("{path}[{i}].headers.{name}");
            let sm = string_match(m, &p)?;
            if name == "cookie"
                && let StringMatch::Regex(re) = &sm
                && let Some((cookie, value)) = cookie_from_regex(re)
            {
                rule.cookies.insert(cookie, StringMatch::Exact(value));
                continue;
            }
            rule.headers.insert(name.clone(), sm);
        }
        if rule.headers.is_empty() && rule.cookies.is_empty() {
            return Err(ReadError {
                path: format!("{path}[{i}]"),
                message: "expected header rules, found none".to_owned(),
            });
        }
        out.push(rule);
    }
    Ok(out)
}

fn string_match(m: &Value, path: &str) -> Result<StringMatch, ReadError> {
    let get = |k: &str| m.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(v) = get("exact") {
        return Ok(StringMatch::Exact(v));
    }
    if let Some(v) = get("prefix") {
        return Ok(StringMatch::Prefix(v));
    }
    if let Some(v) = get("regex") {
        return Ok(StringMatch::Regex(v));
    }
    if let Some(v) = get("suffix") {
        return Ok(StringMatch::Regex(format!(".*{}$", escape_regex(&v))));
    }
    Err(ReadError {
        path: path.to_owned(),
        message: "expected one of exact, prefix, suffix or regex".to_owned(),
    })
}

fn escape_regex(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn cookie_from_regex(re: &str) -> Option<(String, String)> {
    let inner = re.strip_prefix("^(.*?;)?(")?.strip_suffix(")(;.*)?$")?;
    let (name, value) = inner.split_once('=')?;
    Some((name.to_owned(), value.to_owned()))
}

/// Flagger's built-in queries, per provider, with `{{args.*}}` placeholders; `RANGE` is the
/// metric's interval.
fn builtin_query(metric: &str, provider: &str) -> Option<&'static str> {
    Some(match (metric, provider) {
        ("request-success-rate", "linkerd" | "smi" | "osm" | "smi:v1alpha2" | "smi:v1alpha3") => {
            "sum(rate(response_total{namespace=\"{{args.namespace}}\", deployment=~\"{{args.name}}\", classification!=\"failure\", direction=\"inbound\"}[RANGE])) / sum(rate(response_total{namespace=\"{{args.namespace}}\", deployment=~\"{{args.name}}\", direction=\"inbound\"}[RANGE])) * 100"
        }
        ("request-duration", "linkerd" | "smi" | "osm" | "smi:v1alpha2" | "smi:v1alpha3") => {
            "histogram_quantile(0.99, sum(rate(response_latency_ms_bucket{namespace=\"{{args.namespace}}\", deployment=~\"{{args.name}}\", direction=\"inbound\"}[RANGE])) by (le))"
        }
        ("request-success-rate", "istio") => {
            "sum(rate(istio_requests_total{reporter=\"destination\", destination_workload_namespace=\"{{args.namespace}}\", destination_workload=~\"{{args.name}}\", response_code!~\"5.*\"}[RANGE])) / sum(rate(istio_requests_total{reporter=\"destination\", destination_workload_namespace=\"{{args.namespace}}\", destination_workload=~\"{{args.name}}\"}[RANGE])) * 100"
        }
        ("request-duration", "istio") => {
            "histogram_quantile(0.99, sum(rate(istio_request_duration_milliseconds_bucket{reporter=\"destination\", destination_workload_namespace=\"{{args.namespace}}\", destination_workload=~\"{{args.name}}\"}[RANGE])) by (le))"
        }
        ("request-success-rate", "nginx") => {
            "sum(rate(nginx_ingress_controller_requests{namespace=\"{{args.namespace}}\", ingress=\"{{args.ingress}}\", canary!=\"\", status!~\"5.*\"}[RANGE])) / sum(rate(nginx_ingress_controller_requests{namespace=\"{{args.namespace}}\", ingress=\"{{args.ingress}}\", canary!=\"\"}[RANGE])) * 100"
        }
        ("request-duration", "nginx") => {
            "sum(rate(nginx_ingress_controller_response_duration_seconds_sum{namespace=\"{{args.namespace}}\", ingress=\"{{args.ingress}}\", canary!=\"\"}[RANGE])) / sum(rate(nginx_ingress_controller_response_duration_seconds_count{namespace=\"{{args.namespace}}\", ingress=\"{{args.ingress}}\", canary!=\"\"}[RANGE])) * 1000"
        }
        _ => return None,
    })
}

fn metric(
    value: &Value,
    index: usize,
    ctx: &MetricContext<'_>,
    out: &mut Vec<Unsupported>,
) -> Result<Option<AnalysisTemplate>, ReadError> {
    let path = format!("spec.analysis.metrics[{index}]");
    let mut m = Fields::new(Some(value), &path)?;
    let name: String = m.require("name")?;
    let range: Option<ThresholdRange> = m.get("thresholdRange")?;
    let interval: Duration = m.get("interval")?.unwrap_or(Duration(60));
    let inline: Option<String> = m.get("query")?;
    let template_ref = m.raw("templateRef").is_some();
    m.refuse(
        "templateVariables",
        "MetricTemplate variables are not read",
        out,
    );
    m.finish(out);
    let query = match (inline, template_ref) {
        (Some(q), _) => q,
        (None, true) => {
            out.push(Unsupported {
                path: format!("{path}.templateRef"),
                reason:
                    "MetricTemplate objects are not read: write the query in spec.analysisTemplates"
                        .to_owned(),
            });
            return Ok(None);
        }
        (None, false) => {
            let Some(q) = builtin_query(&name, ctx.provider) else {
                out.push(Unsupported {
                    path: format!("{path}.name"),
                    reason: format!(
                        "no built-in query for metric {name:?} with provider {:?}",
                        ctx.provider
                    ),
                });
                return Ok(None);
            };
            q.replace("RANGE", &interval.to_string())
        }
    };
    let mut args = Vec::new();
    if query.contains("{{args.ingress}}") {
        args.push(Arg {
            name: "ingress".to_owned(),
            value: Some(ctx.ingress.clone()),
        });
    }
    Ok(Some(AnalysisTemplate {
        name,
        args,
        metrics: vec![Metric {
            name: "result".to_owned(),
            provider: MetricProvider::Prometheus(PrometheusMetric {
                address: None,
                query,
                timeout: None,
            }),
            interval: ctx.count.map(|_| ctx.interval),
            count: ctx.count,
            success_condition: None,
            failure_condition: None,
            failure_limit: ctx.failure_limit,
            inconclusive_limit: None,
            threshold_range: range,
        }],
    }))
}
