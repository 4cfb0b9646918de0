//! The operator's Prometheus metrics: one registry owned by the process (no global state), so
//! that tests and several operators in one process do not share counters.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a reconcile duration: the kind reconciled and whether it succeeded.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ReconcileLabels {
    kind: String,
    result: &'static str,
}

/// Labels of the Ready gauge: one series per object.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ObjectLabels {
    kind: String,
    namespace: String,
    name: String,
}

/// Labels of the apply and prune counters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// Labels of the Git fetch duration.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

/// Labels of a rollout's phase gauge: one series per rollout and phase.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct PhaseLabels {
    namespace: String,
    name: String,
    phase: String,
}

/// Labels of the analysis run counter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AnalysisLabels {
    namespace: String,
    name: String,
    result: String,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The operator's metrics: reconcile durations by kind and result, a Ready gauge per object,
/// applied and pruned object counters by kind, and Git fetch durations. Cheap to share behind
/// an `Arc`; every method takes `&self`.
pub struct Metrics {
    registry: Registry,
    reconcile: HistogramFamily<ReconcileLabels>,
    ready: Family<ObjectLabels, Gauge>,
    applied: Family<KindLabels, Counter>,
    pruned: Family<KindLabels, Counter>,
    fetch: HistogramFamily<ResultLabels>,
    rollout_weight: Family<ObjectLabels, Gauge>,
    rollout_phase: Family<PhaseLabels, Gauge>,
    analysis: Family<AnalysisLabels, Counter>,
}

/// The rollout phases, for the phase gauge (one series per phase, 1 for the current one).
const PHASES: [&str; 7] = [
    "Progressing",
    "Paused",
    "Analyzing",
    "Promoting",
    "Healthy",
    "Degraded",
    "RolledBack",
];

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// Buckets from 10 ms to about 5.5 min: a reconcile or a fetch takes milliseconds to minutes.
fn duration_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

fn result(success: bool) -> &'static str {
    if success { "success" } else { "failure" }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered and no samples yet.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let reconcile: HistogramFamily<ReconcileLabels> =
            Family::new_with_constructor(duration_histogram);
        let ready = Family::<ObjectLabels, Gauge>::default();
        let applied = Family::<KindLabels, Counter>::default();
        let pruned = Family::<KindLabels, Counter>::default();
        let fetch: HistogramFamily<ResultLabels> = Family::new_with_constructor(duration_histogram);
        registry.register(
            "gitops_reconcile_duration_seconds",
            "Duration of one reconciliation, by kind and result",
            reconcile.clone(),
        );
        registry.register(
            "gitops_ready",
            "Whether an object's Ready condition is True (1) or not (0)",
            ready.clone(),
        );
        registry.register(
            "gitops_applied_objects",
            "Objects created or changed by server-side apply, by unit kind",
            applied.clone(),
        );
        registry.register(
            "gitops_pruned_objects",
            "Objects deleted because they left their unit, by unit kind",
            pruned.clone(),
        );
        registry.register(
            "gitops_git_fetch_duration_seconds",
            "Duration of one Git fetch, by result",
            fetch.clone(),
        );
        let rollout_weight = Family::<ObjectLabels, Gauge>::default();
        let rollout_phase = Family::<PhaseLabels, Gauge>::default();
        let analysis = Family::<AnalysisLabels, Counter>::default();
        registry.register(
            "gitops_rollout_canary_weight",
            "The canary's share of traffic (percent) of a Rollout",
            rollout_weight.clone(),
        );
        registry.register(
            "gitops_rollout_phase",
            "A Rollout's phase: 1 for the current one, 0 for the others",
            rollout_phase.clone(),
        );
        registry.register(
            "gitops_rollout_analysis_runs",
            "Analysis runs that ended, by Rollout and result",
            analysis.clone(),
        );
        Self {
            rollout_weight,
            rollout_phase,
            analysis,
            registry,
            reconcile,
            ready,
            applied,
            pruned,
            fetch,
        }
    }

    /// Records one reconciliation of an object of `kind` that took `seconds`.
    pub fn observe_reconcile(&self, kind: &str, seconds: f64, success: bool) {
        self.reconcile
            .get_or_create(&ReconcileLabels {
                kind: kind.to_owned(),
                result: result(success),
            })
            .observe(seconds);
    }

    /// Sets whether the object `kind` `namespace`/`name` is Ready.
    pub fn set_ready(&self, kind: &str, namespace: &str, name: &str, ready: bool) {
        self.ready
            .get_or_create(&ObjectLabels {
                kind: kind.to_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            })
            .set(i64::from(ready));
    }

    /// Counts `n` objects applied (created or configured) by a unit of `kind`.
    pub fn add_applied(&self, kind: &str, n: u64) {
        self.applied
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc_by(n);
    }

    /// Counts `n` objects pruned by a unit of `kind`.
    pub fn add_pruned(&self, kind: &str, n: u64) {
        self.pruned
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .inc_by(n);
    }

    /// Records one Git fetch that took `seconds`.
    pub fn observe_fetch(&self, seconds: f64, success: bool) {
        self.fetch
            .get_or_create(&ResultLabels {
                result: result(success),
            })
            .observe(seconds);
    }

    /// Sets the canary weight and phase of the Rollout `namespace`/`name`.
    pub fn set_rollout(&self, namespace: &str, name: &str, weight: u8, phase: &str) {
        self.rollout_weight
            .get_or_create(&ObjectLabels {
                kind: "Rollout".to_owned(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            })
            .set(i64::from(weight));
        for p in PHASES {
            self.rollout_phase
                .get_or_create(&PhaseLabels {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    phase: p.to_owned(),
                })
                .set(i64::from(p == phase));
        }
    }

    /// Counts an analysis run of the Rollout `namespace`/`name` that ended with `result`.
    pub fn add_analysis(&self, namespace: &str, name: &str, result: &str) {
        self.analysis
            .get_or_create(&AnalysisLabels {
                namespace: namespace.to_owned(),
                name: name.to_owned(),
                result: result.to_owned(),
            })
            .inc();
    }

    /// The metrics in the OpenMetrics text format, as `/metrics` serves them.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_is_encoded_with_its_labels() {
        let metrics = Metrics::new();
        metrics.observe_reconcile("Kustomization", 0.25, true);
        metrics.observe_reconcile("Kustomization", 3.0, false);
        metrics.set_ready("Kustomization", "apps", "web", true);
        metrics.set_ready("GitRepository", "apps", "repo", false);
        metrics.add_applied("Kustomization", 3);
        metrics.add_applied("Kustomization", 2);
        metrics.add_pruned("HelmRelease", 1);
        metrics.observe_fetch(0.5, true);
        let text = metrics.encode();
        for line in [
            "gitops_reconcile_duration_seconds_count{kind=\"Kustomization\",result=\"success\"} 1",
            "gitops_reconcile_duration_seconds_sum{kind=\"Kustomization\",result=\"failure\"} 3.0",
            "gitops_ready{kind=\"Kustomization\",namespace=\"apps\",name=\"web\"} 1",
            "gitops_ready{kind=\"GitRepository\",namespace=\"apps\",name=\"repo\"} 0",
            "gitops_applied_objects_total{kind=\"Kustomization\"} 5",
            "gitops_pruned_objects_total{kind=\"HelmRelease\"} 1",
            "gitops_git_fetch_duration_seconds_count{result=\"success\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"), "{text}");
    }

    #[test]
    fn ready_follows_the_last_value() {
        let metrics = Metrics::new();
        metrics.set_ready("Kustomization", "a", "b", true);
        metrics.set_ready("Kustomization", "a", "b", false);
        let text = metrics.encode();
        assert!(text.contains("gitops_ready{kind=\"Kustomization\",namespace=\"a\",name=\"b\"} 0"));
        assert!(!text.contains("name=\"b\"} 1"), "{text}");
    }

    #[test]
    fn a_rollout_reports_its_weight_its_phase_and_ended_runs() {
        let metrics = Metrics::new();
        metrics.set_rollout("shop", "web", 20, "Paused");
        metrics.set_rollout("shop", "web", 50, "Analyzing");
        metrics.add_analysis("shop", "web", "Failed");
        let text = metrics.encode();
        for line in [
            "gitops_rollout_canary_weight{kind=\"Rollout\",namespace=\"shop\",name=\"web\"} 50",
            "gitops_rollout_phase{namespace=\"shop\",name=\"web\",phase=\"Analyzing\"} 1",
            "gitops_rollout_phase{namespace=\"shop\",name=\"web\",phase=\"Paused\"} 0",
            "gitops_rollout_analysis_runs_total{namespace=\"shop\",name=\"web\",result=\"Failed\"} 1",
        ] {
            assert!(text.contains(line), "{line}\n{text}");
        }
    }
}
