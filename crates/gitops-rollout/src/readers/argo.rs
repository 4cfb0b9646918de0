//! Argo Rollouts `argoproj.io/v1alpha1 Rollout` and `AnalysisTemplate` → our spec.
//!
//! The rollout must point at a Deployment through `spec.workloadRef`: a pod template inside the
//! rollout is reported as unsupported (the target becomes a Deployment named after the rollout).
//! Canary steps, blue-green settings and the SMI, Istio, NGINX and Gateway API plugin routers
//! map field for field.

use serde_json::Value;

use super::{Fields, ReadError, Unsupported, metadata};
use crate::spec::{
    API_VERSION, AnalysisRef, AnalysisTemplate, Arg, BlueGreenStrategy, CanaryScale, CanaryStep,
    CanaryStrategy, Duration, GatewayRouting, HeaderRoute, IstioRouting, KIND, Metric,
    MetricProvider, NginxRouting, PauseStep, PrometheusMetric, Rollout, RolloutSpec, RouteMatch,
    ServiceSpec, SmiRouting, Strategy, StringMatch, TemplateRef, TrafficRouting, WorkloadRef,
};

const GATEWAY_PLUGIN: &str = "argoproj-labs/gatewayAPI";

/// Reads an Argo `Rollout`.
///
/// # Errors
/// A field we read has the wrong type, or there is no canary or blue-green strategy.
pub fn read(value: &Value) -> Result<(Rollout, Vec<Unsupported>), ReadError> {
    let mut out = Vec::new();
    let mut root = Fields::new(Some(value), "")?;
    root.raw("apiVersion");
    root.raw("kind");
    root.raw("status");
    let metadata = metadata(&mut root, &mut out)?;
    let mut spec = root.nested("spec")?;
    let mut service = ServiceSpec::default();

    let target_ref = if let Some(w) = spec.raw("workloadRef") {
        let mut w = Fields::new(Some(w), "spec.workloadRef")?;
        let r = WorkloadRef {
            api_version: w.get("apiVersion")?.unwrap_or_else(|| "apps/v1".to_owned()),
            kind: w.get("kind")?.unwrap_or_else(|| "Deployment".to_owned()),
            name: w.require("name")?,
        };
        w.refuse(
            "scaleDown",
            "the Deployment is scaled by the operator",
            &mut out,
        );
        w.finish(&mut out);
        r
    } else {
        spec.refuse(
            "template",
            "pod templates inside the rollout are not supported: keep them in a Deployment and use workloadRef",
            &mut out,
        );
        WorkloadRef {
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            name: metadata.name.clone(),
        }
    };
    let mut selector = spec.nested("selector")?;
    if let Some(labels) = selector.get("matchLabels")? {
        service.selector = labels;
    }
    selector.finish(&mut out);
    for key in ["replicas", "revisionHistoryLimit", "minReadySeconds"] {
        spec.refuse(key, "belongs to the Deployment", &mut out);
    }
    let progress_deadline_seconds = spec.get("progressDeadlineSeconds")?;
    let mut strat = spec.nested("strategy")?;
    let mut traffic_routing = None;
    let strategy = if let Some(c) = strat.raw("canary") {
        let mut c = Fields::new(Some(c), "spec.strategy.canary")?;
        service.canary_service = c.get("canaryService")?;
        service.stable_service = c.get("stableService")?;
        traffic_routing = routing(&mut c, &mut service, &mut out)?;
        let mut steps = Vec::new();
        if let Some(list) = c.raw("steps") {
            let Value::Array(list) = list else {
                return Err(ReadError {
                    path: "spec.strategy.canary.steps".to_owned(),
                    message: "expected a list".to_owned(),
                });
            };
            for (i, s) in list.iter().enumerate() {
                if let Some(step) = step(s, &format!("spec.strategy.canary.steps[{i}]"), &mut out)?
                {
                    steps.push(step);
                }
            }
        }
        for key in [
            "analysis",
            "maxSurge",
            "maxUnavailable",
            "scaleDownDelaySeconds",
            "dynamicStableScale",
            "abortScaleDownDelaySeconds",
            "antiAffinity",
            "canaryMetadata",
            "stableMetadata",
            "pingPong",
        ] {
            c.refuse(key, "not supported by gitops rollouts", &mut out);
        }
        c.finish(&mut out);
        Strategy::Canary(CanaryStrategy {
            steps,
            analysis: None,
        })
    } else if let Some(b) = strat.raw("blueGreen") {
        let mut b = Fields::new(Some(b), "spec.strategy.blueGreen")?;
        let bg = BlueGreenStrategy {
            active_service: b.require("activeService")?,
            preview_service: b.get("previewService")?,
            auto_promotion_enabled: b.get("autoPromotionEnabled")?,
            auto_promotion_seconds: b.get("autoPromotionSeconds")?,
            pre_promotion_analysis: analysis_ref(&mut b, "prePromotionAnalysis", &mut out)?,
            post_promotion_analysis: analysis_ref(&mut b, "postPromotionAnalysis", &mut out)?,
            scale_down_delay_seconds: b.get("scaleDownDelaySeconds")?,
        };
        b.finish(&mut out);
        Strategy::BlueGreen(bg)
    } else {
        return Err(ReadError {
            path: "spec.strategy".to_owned(),
            message: "expected canary or blueGreen, found neither".to_owned(),
        });
    };
    strat.finish(&mut out);
    spec.finish(&mut out);
    root.finish(&mut out);
    if traffic_routing.is_none() && matches!(strategy, Strategy::BlueGreen(_)) {
        traffic_routing = Some(TrafficRouting::Plain(crate::spec::PlainRouting {}));
    }
    Ok((
        Rollout {
            api_version: API_VERSION.to_owned(),
            kind: KIND.to_owned(),
            metadata,
            spec: RolloutSpec {
                target_ref,
                service,
                progress_deadline_seconds,
                traffic_routing,
                strategy,
                analysis_templates: Vec::new(),
                webhooks: Vec::new(),
            },
        },
        out,
    ))
}

fn routing(
    c: &mut Fields<'_>,
    service: &mut ServiceSpec,
    out: &mut Vec<Unsupported>,
) -> Result<Option<TrafficRouting>, ReadError> {
    let mut tr = c.nested("trafficRouting")?;
    let mut found = None;
    if let Some(v) = tr.raw("smi") {
        let mut f = Fields::new(Some(v), "spec.strategy.canary.trafficRouting.smi")?;
        service.name = f.get("rootService")?;
        found = Some(TrafficRouting::Smi(SmiRouting {
            traffic_split_name: f.get("trafficSplitName")?,
        }));
        f.finish(out);
    }
    if let Some(v) = tr.raw("istio") {
        let mut f = Fields::new(Some(v), "spec.strategy.canary.trafficRouting.istio")?;
        let mut vs = f.nested("virtualService")?;
        let virtual_service = vs.get("name")?;
        vs.refuse(
            "routes",
            "every HTTP route of the VirtualService is managed",
            out,
        );
        vs.finish(out);
        let mut dr = f.nested("destinationRule")?;
        let destination_rule = dr.get("name")?;
        dr.refuse(
            "canarySubsetName",
            "subsets are named stable and canary",
            out,
        );
        dr.refuse(
            "stableSubsetName",
            "subsets are named stable and canary",
            out,
        );
        dr.finish(out);
        found = Some(TrafficRouting::Istio(IstioRouting {
            virtual_service,
            destination_rule,
            gateways: Vec::new(),
        }));
        f.finish(out);
    }
    if let Some(v) = tr.raw("nginx") {
        let mut f = Fields::new(Some(v), "spec.strategy.canary.trafficRouting.nginx")?;
        found = Some(TrafficRouting::Nginx(NginxRouting {
            ingress: f.get("stableIngress")?,
            ..NginxRouting::default()
        }));
        f.finish(out);
    }
    if let Some(v) = tr.raw("plugins") {
        let mut f = Fields::new(Some(v), "spec.strategy.canary.trafficRouting.plugins")?;
        let plugin = f.raw(GATEWAY_PLUGIN);
        if let Some(p) = plugin {
            let mut g = Fields::new(
                Some(p),
                &format!("spec.strategy.canary.trafficRouting.plugins.{GATEWAY_PLUGIN}"),
            )?;
            found = Some(TrafficRouting::GatewayApi(GatewayRouting {
                http_route: g.get("httpRoute")?,
                gateways: Vec::new(),
            }));
            g.raw("namespace");
            g.finish(out);
        }
        f.finish(out);
    }
    tr.raw("managedRoutes");
    tr.finish(out);
    Ok(found)
}

fn step(
    value: &Value,
    path: &str,
    out: &mut Vec<Unsupported>,
) -> Result<Option<CanaryStep>, ReadError> {
    let mut s = Fields::new(Some(value), path)?;
    let step = if let Some(w) = s.get::<u8>("setWeight")? {
        Some(CanaryStep::SetWeight(w))
    } else if let Some(p) = s.raw("pause") {
        let mut p = Fields::new(Some(p), &format!("{path}.pause"))?;
        let duration: Option<Duration> = p.get("duration")?;
        p.finish(out);
        Some(CanaryStep::Pause(PauseStep { duration }))
    } else if s.raw("analysis").is_some() {
        analysis_ref(&mut s, "analysis", out)?.map(CanaryStep::Analysis)
    } else if let Some(scale) = s.get::<CanaryScale>("setCanaryScale")? {
        Some(CanaryStep::SetCanaryScale(scale))
    } else if let Some(route) = s.raw("setHeaderRoute") {
        let mut r = Fields::new(Some(route), &format!("{path}.setHeaderRoute"))?;
        let name = r.get("name")?;
        let mut matches = Vec::new();
        if let Some(Value::Array(list)) = r.raw("match") {
            for (i, m) in list.iter().enumerate() {
                let mp = format!("{path}.setHeaderRoute.match[{i}]");
                let mut mf = Fields::new(Some(m), &mp)?;
                let header: String = mf.require("headerName")?;
                let mut hv = mf.nested("headerValue")?;
                let sm = if let Some(v) = hv.get("exact")? {
                    StringMatch::Exact(v)
                } else if let Some(v) = hv.get("prefix")? {
                    StringMatch::Prefix(v)
                } else if let Some(v) = hv.get("regex")? {
                    StringMatch::Regex(v)
                } else {
                    return Err(ReadError {
                        path: format!("{mp}.headerValue"),
                        message: "expected one of exact, prefix or regex".to_owned(),
                    });
                };
                hv.finish(out);
                mf.finish(out);
                let mut rule = RouteMatch::default();
                rule.headers.insert(header, sm);
                matches.push(rule);
            }
        }
        r.finish(out);
        Some(CanaryStep::SetHeaderRoute(HeaderRoute { name, matches }))
    } else {
        None
    };
    s.finish(out);
    Ok(step)
}

fn analysis_ref(
    parent: &mut Fields<'_>,
    key: &'static str,
    out: &mut Vec<Unsupported>,
) -> Result<Option<AnalysisRef>, ReadError> {
    let path = parent.path(key);
    let Some(value) = parent.raw(key) else {
        return Ok(None);
    };
    let mut a = Fields::new(Some(value), &path)?;
    let mut templates = Vec::new();
    if let Some(Value::Array(list)) = a.raw("templates") {
        for (i, t) in list.iter().enumerate() {
            let mut tf = Fields::new(Some(t), &format!("{path}.templates[{i}]"))?;
            templates.push(TemplateRef {
                template_name: tf.require("templateName")?,
            });
            tf.refuse("clusterScope", "cluster-scoped templates are not read", out);
            tf.finish(out);
        }
    }
    let mut args = Vec::new();
    if let Some(Value::Array(list)) = a.raw("args") {
        for (i, t) in list.iter().enumerate() {
            let mut af = Fields::new(Some(t), &format!("{path}.args[{i}]"))?;
            args.push(Arg {
                name: af.require("name")?,
                value: af.get("value")?,
            });
            af.refuse(
                "valueFrom",
                "argument values from the cluster are not read",
                out,
            );
            af.finish(out);
        }
    }
    a.finish(out);
    Ok(Some(AnalysisRef { templates, args }))
}

/// Reads an Argo `AnalysisTemplate` with Prometheus metrics.
///
/// # Errors
/// A field we read has the wrong type.
pub fn read_template(value: &Value) -> Result<(AnalysisTemplate, Vec<Unsupported>), ReadError> {
    let mut out = Vec::new();
    let mut root = Fields::new(Some(value), "")?;
    root.raw("apiVersion");
    root.raw("kind");
    let meta = metadata(&mut root, &mut out)?;
    let mut spec = root.nested("spec")?;
    let mut args = Vec::new();
    if let Some(Value::Array(list)) = spec.raw("args") {
        for (i, t) in list.iter().enumerate() {
            let mut af = Fields::new(Some(t), &format!("spec.args[{i}]"))?;
            args.push(Arg {
                name: af.require("name")?,
                value: af.get("value")?,
            });
            af.refuse(
                "valueFrom",
                "argument values from the cluster are not read",
                &mut out,
            );
            af.finish(&mut out);
        }
    }
    let mut metrics = Vec::new();
    if let Some(Value::Array(list)) = spec.raw("metrics") {
        for (i, m) in list.iter().enumerate() {
            let path = format!("spec.metrics[{i}]");
            let mut mf = Fields::new(Some(m), &path)?;
            let name: String = mf.require("name")?;
            let mut prov = mf.nested("provider")?;
            let mut prom = prov.nested("prometheus")?;
            let query: Option<String> = prom.get("query")?;
            let address = prom.get("address")?;
            let timeout: Option<u64> = prom.get("timeout")?;
            prom.finish(&mut out);
            prov.finish(&mut out);
            let Some(query) = query else {
                out.push(Unsupported {
                    path: format!("{path}.provider"),
                    reason: "only Prometheus metrics are supported".to_owned(),
                });
                continue;
            };
            metrics.push(Metric {
                name,
                provider: MetricProvider::Prometheus(PrometheusMetric {
                    address,
                    query,
                    timeout: timeout.map(Duration),
                }),
                interval: mf.get("interval")?,
                count: mf.get("count")?,
                success_condition: mf.get("successCondition")?,
                failure_condition: mf.get("failureCondition")?,
                failure_limit: mf.get("failureLimit")?,
                inconclusive_limit: mf.get("inconclusiveLimit")?,
                threshold_range: None,
            });
            mf.finish(&mut out);
        }
    }
    spec.finish(&mut out);
    root.finish(&mut out);
    Ok((
        AnalysisTemplate {
            name: meta.name,
            args,
            metrics,
        },
        out,
    ))
}
