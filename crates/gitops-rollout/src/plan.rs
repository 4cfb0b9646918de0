//! Every strategy, checked and flattened into one list of steps the state machine walks.
//!
//! Argo-style canary steps map one to one; a Flagger-style weight loop becomes `setWeight` +
//! timed check pairs; A/B testing becomes a header route and `iterations` checks; blue-green
//! becomes preview switch, pre-promotion analysis, the promotion gate, the active switch and
//! post-promotion analysis. Validation happens here, so the machine never meets a bad spec.

use std::collections::BTreeSet;

use crate::spec::{
    AnalysisRef, CanaryScale, CanaryStep, ProviderKind, Rollout, RouteMatch, Strategy,
};

/// The default progress deadline, as in Argo Rollouts and Flagger.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: u64 = 600;
/// The default delay before the old revision of a blue-green rollout is scaled down.
pub const DEFAULT_SCALE_DOWN_DELAY_SECONDS: u64 = 30;

/// The most checks an A/B test may run: a week of checks one minute apart (10,080), rounded.
/// Flagger sets no bound, but the plan holds one step per check, and `iterations: 4294967295`
/// would ask for billions of them.
pub const MAX_ITERATIONS: u32 = 10_000;

/// A spec the machine cannot run: where and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct PlanError {
    /// The field, as a path such as `spec.strategy.canary.steps[2].setWeight`.
    pub path: String,
    /// What was expected and what was found.
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> PlanError {
    PlanError {
        path: path.into(),
        message: message.into(),
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq)]
pub enum PlanStep {
    /// Send this share of traffic to the canary.
    SetWeight(u8),
    /// Wait this long, or for a promote command when `None`.
    Pause(Option<u64>),
    /// Wait `delay` seconds, then run the analysis (if it has templates) and go on when it
    /// succeeds.
    Analysis {
        /// The templates and arguments.
        analysis: AnalysisRef,
        /// Seconds to wait before the run starts (a Flagger check interval).
        delay: u64,
    },
    /// Scale the canary apart from the weight.
    SetCanaryScale(CanaryScale),
    /// Route matching requests to the canary; an empty list removes the route.
    SetHeaderRoute(Vec<RouteMatch>),
    /// Point a service (blue-green preview or active) at the new revision.
    SwitchService {
        /// The service.
        service: String,
        /// Whether it carries user traffic (the active service): the weight becomes 100.
        active: bool,
    },
}

/// Which family of strategy a plan came from; it decides how traffic returns to stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanKind {
    /// Weights and header routes.
    Canary,
    /// Service switches.
    BlueGreen,
}

/// A checked, flattened strategy.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The steps in order.
    pub steps: Vec<PlanStep>,
    /// Failed checks that trigger the rollback.
    pub threshold: u32,
    /// Seconds a step may wait for readiness.
    pub progress_deadline: u64,
    /// Canary or blue-green.
    pub kind: PlanKind,
    /// The traffic provider; `None` approximates weights by replica counts.
    pub provider: Option<ProviderKind>,
    /// Blue-green: the active and preview services.
    pub services: Vec<String>,
    /// Seconds before the old revision is scaled down after promotion.
    pub scale_down_delay: u64,
}

impl Plan {
    /// Checks `rollout` and flattens its strategy.
    ///
    /// # Errors
    /// The first problem found, with its field path.
    pub fn build(rollout: &Rollout) -> Result<Self, PlanError> {
        let spec = &rollout.spec;
        if spec.target_ref.name.is_empty() {
            return Err(err(
                "spec.targetRef.name",
                "expected a workload name, found \"\"",
            ));
        }
        let provider = spec.traffic_routing.as_ref().map(|r| r.provider());
        let templates: BTreeSet<&str> = spec
            .analysis_templates
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        let check_ref = |path: &str, analysis: &AnalysisRef| -> Result<(), PlanError> {
            for (i, t) in analysis.templates.iter().enumerate() {
                if !templates.contains(t.template_name.as_str()) {
                    return Err(err(
                        format!("{path}.templates[{i}].templateName"),
                        format!(
                            "expected the name of an entry of spec.analysisTemplates, found {:?}",
                            t.template_name
                        ),
                    ));
                }
            }
            Ok(())
        };
        let header_routes_ok = |path: &str| -> Result<(), PlanError> {
            match provider {
                Some(ProviderKind::Gateway | ProviderKind::Istio | ProviderKind::Nginx) => Ok(()),
                other => Err(err(
                    path,
                    format!(
                        "header routes need trafficRouting gatewayAPI, istio or nginx, found {}",
                        other.map_or("none", ProviderKind::as_str)
                    ),
                )),
            }
        };
        let mut plan = Self {
            steps: Vec::new(),
            threshold: 1,
            progress_deadline: spec
                .progress_deadline_seconds
                .unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS),
            kind: PlanKind::Canary,
            provider,
            services: Vec::new(),
            scale_down_delay: 0,
        };
        match &spec.strategy {
            Strategy::Canary(canary) => {
                let base = "spec.strategy.canary";
                match (&canary.analysis, canary.steps.is_empty()) {
                    (Some(_), false) => {
                        return Err(err(base, "expected either steps or analysis, found both"));
                    }
                    (None, true) => {
                        return Err(err(base, "expected steps or analysis, found neither"));
                    }
                    (None, false) => {
                        for (i, step) in canary.steps.iter().enumerate() {
                            let path = format!("{base}.steps[{i}]");
                            plan.steps.push(match step {
                                CanaryStep::SetWeight(w) => {
                                    percent(&format!("{path}.setWeight"), *w)?;
                                    PlanStep::SetWeight(*w)
                                }
                                CanaryStep::Pause(p) => {
                                    PlanStep::Pause(p.duration.map(|d| d.seconds()))
                                }
                                CanaryStep::Analysis(a) => {
                                    check_ref(&format!("{path}.analysis"), a)?;
                                    PlanStep::Analysis {
                                        analysis: a.clone(),
                                        delay: 0,
                                    }
                                }
                                CanaryStep::SetCanaryScale(s) => {
                                    if let Some(w) = s.weight {
                                        percent(&format!("{path}.setCanaryScale.weight"), w)?;
                                    }
                                    let set = usize::from(s.replicas.is_some())
                                        + usize::from(s.weight.is_some())
                                        + usize::from(s.match_traffic_weight);
                                    if set != 1 {
                                        return Err(err(
                                            format!("{path}.setCanaryScale"),
                                            format!("expected exactly one of replicas, weight or matchTrafficWeight, found {set}"),
                                        ));
                                    }
                                    PlanStep::SetCanaryScale(s.clone())
                                }
                                CanaryStep::SetHeaderRoute(r) => {
                                    header_routes_ok(&format!("{path}.setHeaderRoute"))?;
                                    PlanStep::SetHeaderRoute(r.matches.clone())
                                }
                            });
                        }
                    }
                    (Some(lp), true) => {
                        let path = format!("{base}.analysis");
                        check_ref(&path, &lp.analysis())?;
                        plan.threshold = threshold(&path, lp.threshold)?;
                        let max = lp.max_weight.unwrap_or(100);
                        percent(&format!("{path}.maxWeight"), max)?;
                        let weights: Vec<u8> = match (lp.step_weight, lp.step_weights.is_empty()) {
                            (Some(_), false) => {
                                return Err(err(
                                    &path,
                                    "expected either stepWeight or stepWeights, found both",
                                ));
                            }
                            (None, true) => {
                                return Err(err(
                                    &path,
                                    "expected stepWeight or stepWeights, found neither",
                                ));
                            }
                            (Some(0), true) => {
                                return Err(err(
                                    format!("{path}.stepWeight"),
                                    "expected a weight from 1 to 100, found 0",
                                ));
                            }
                            (Some(step), true) => {
                                let mut ws = Vec::new();
                                let mut w = 0u8;
                                while w < max {
                                    w = w.saturating_add(step).min(max);
                                    ws.push(w);
                                }
                                ws
                            }
                            (None, false) => {
                                let mut last = 0;
                                for (i, w) in lp.step_weights.iter().enumerate() {
                                    let p = format!("{path}.stepWeights[{i}]");
                                    percent(&p, *w)?;
                                    if *w <= last {
                                        return Err(err(
                                            p,
                                            format!(
                                                "expected weights rising above {last}, found {w}"
                                            ),
                                        ));
                                    }
                                    last = *w;
                                }
                                lp.step_weights.clone()
                            }
                        };
                        for w in weights {
                            plan.steps.push(PlanStep::SetWeight(w));
                            plan.steps.push(PlanStep::Analysis {
                                analysis: lp.analysis(),
                                delay: lp.interval.seconds(),
                            });
                        }
                    }
                }
            }
            Strategy::AbTest(ab) => {
                let path = "spec.strategy.abTest";
                check_ref(path, &ab.analysis())?;
                header_routes_ok(&format!("{path}.match"))?;
                if ab.matches.is_empty() {
                    return Err(err(
                        format!("{path}.match"),
                        "expected at least one header or cookie rule, found none",
                    ));
                }
                if ab.iterations == 0 {
                    return Err(err(
                        format!("{path}.iterations"),
                        "expected at least 1 iteration, found 0",
                    ));
                }
                if ab.iterations > MAX_ITERATIONS {
                    return Err(err(
                        format!("{path}.iterations"),
                        format!(
                            "expected at most {MAX_ITERATIONS} iterations, found {}",
                            ab.iterations
                        ),
                    ));
                }
                plan.threshold = threshold(path, ab.threshold)?;
                plan.steps
                    .push(PlanStep::SetHeaderRoute(ab.matches.clone()));
                for _ in 0..ab.iterations {
                    plan.steps.push(PlanStep::Analysis {
                        analysis: ab.analysis(),
                        delay: ab.interval.seconds(),
                    });
                }
            }
            Strategy::BlueGreen(bg) => {
                let path = "spec.strategy.blueGreen";
                plan.kind = PlanKind::BlueGreen;
                plan.scale_down_delay = bg
                    .scale_down_delay_seconds
                    .unwrap_or(DEFAULT_SCALE_DOWN_DELAY_SECONDS);
                if bg.active_service.is_empty() {
                    return Err(err(
                        format!("{path}.activeService"),
                        "expected a service name, found \"\"",
                    ));
                }
                plan.services.push(bg.active_service.clone());
                if let Some(preview) = &bg.preview_service {
                    if preview == &bg.active_service {
                        return Err(err(
                            format!("{path}.previewService"),
                            format!(
                                "expected a service other than the active one, found {preview:?}"
                            ),
                        ));
                    }
                    plan.services.push(preview.clone());
                    plan.steps.push(PlanStep::SwitchService {
                        service: preview.clone(),
                        active: false,
                    });
                }
                if let Some(pre) = &bg.pre_promotion_analysis {
                    check_ref(&format!("{path}.prePromotionAnalysis"), pre)?;
                    plan.steps.push(PlanStep::Analysis {
                        analysis: pre.clone(),
                        delay: 0,
                    });
                }
                match (
                    bg.auto_promotion_enabled.unwrap_or(true),
                    bg.auto_promotion_seconds,
                ) {
                    (false, _) => plan.steps.push(PlanStep::Pause(None)),
                    (true, Some(secs)) => plan.steps.push(PlanStep::Pause(Some(secs))),
                    (true, None) => {}
                }
                plan.steps.push(PlanStep::SwitchService {
                    service: bg.active_service.clone(),
                    active: true,
                });
                if let Some(post) = &bg.post_promotion_analysis {
                    check_ref(&format!("{path}.postPromotionAnalysis"), post)?;
                    plan.steps.push(PlanStep::Analysis {
                        analysis: post.clone(),
                        delay: 0,
                    });
                }
            }
        }
        Ok(plan)
    }

    /// Whether weights are shifted by a router (else by replica counts).
    #[must_use]
    pub fn routed(&self) -> bool {
        !matches!(self.provider, None | Some(ProviderKind::Plain))
    }
}

fn percent(path: &str, w: u8) -> Result<(), PlanError> {
    if w > 100 {
        return Err(err(
            path,
            format!("expected a weight from 0 to 100, found {w}"),
        ));
    }
    Ok(())
}

fn threshold(path: &str, t: Option<u32>) -> Result<u32, PlanError> {
    match t {
        Some(0) => Err(err(
            format!("{path}.threshold"),
            "expected at least 1 failed check before rollback, found 0",
        )),
        Some(t) => Ok(t),
        None => Ok(1),
    }
}
