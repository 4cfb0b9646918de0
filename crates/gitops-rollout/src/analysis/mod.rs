//! Analysis: templates resolved into runs, measurements judged, runs kept track of.
//!
//! An [`AnalysisRun`] is what the operator keeps for each `StartAnalysis` action: the metrics of
//! the named templates with their queries filled in, and every measurement so far. It is pure
//! bookkeeping: [`AnalysisRun::tick`] asks a [`MetricSource`] (the Prometheus client in
//! `prometheus`, or a fake in tests) for the metrics that are due and records the values.
//!
//! Per metric (Argo Rollouts' rules): a measurement is *inconclusive* when the query returns no
//! data (or NaN) or neither condition decides; *failed* when a value is outside `thresholdRange`,
//! `failureCondition` holds, or `successCondition` does not; an *error* when the query fails.
//! The metric fails once failures exceed `failureLimit`, is inconclusive once inconclusive
//! measurements exceed `inconclusiveLimit`, errors after [`CONSECUTIVE_ERROR_LIMIT`] errors in
//! a row, and succeeds after `count` measurements otherwise.

pub mod condition;
#[cfg(feature = "prometheus")]
pub mod prometheus;
pub mod template;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::machine::{RunResult, Timestamp};
use crate::spec::{Metric, MetricProvider, Rollout};

/// Errors in a row after which a metric errors (Argo's default).
pub const CONSECUTIVE_ERROR_LIMIT: u32 = 4;
/// Seconds between measurements when the metric gives no interval.
pub const DEFAULT_INTERVAL_SECONDS: u64 = 60;

/// A run that cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnalysisError {
    /// The template is not in `spec.analysisTemplates`.
    #[error("analysis template {name:?} not found in spec.analysisTemplates")]
    UnknownTemplate {
        /// Its name.
        name: String,
    },
    /// A query's placeholder cannot be filled.
    #[error("template {template:?}, metric {metric:?}: {source}")]
    Template {
        /// The template.
        template: String,
        /// The metric.
        metric: String,
        /// What is wrong.
        source: template::TemplateError,
    },
}

/// A query that could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// Where measurements come from.
pub trait MetricSource {
    /// Runs `query` (an instant query) against `address` (or the source's default) and returns
    /// the values of the result; an empty list means no data.
    ///
    /// # Errors
    /// The query could not be carried out.
    fn query(
        &self,
        address: Option<&str>,
        query: &str,
        timeout: Option<u64>,
    ) -> Result<Vec<f64>, SourceError>;
}

/// How one measurement was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Assessment {
    /// Passed.
    Successful,
    /// Did not pass.
    Failed,
    /// Could not be decided (no data, or no condition decided).
    Inconclusive,
    /// The query or a condition failed.
    Error,
}

/// One measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measurement {
    /// When it was taken.
    pub at: Timestamp,
    /// The values.
    pub value: Vec<f64>,
    /// The judgement.
    pub assessment: Assessment,
    /// Why, for errors and failures.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Judges one measurement of `metric`.
#[must_use]
pub fn assess(metric: &Metric, value: &[f64]) -> (Assessment, Option<String>) {
    if value.is_empty() || value.iter().any(|v| v.is_nan()) {
        return (Assessment::Inconclusive, Some("no data".to_owned()));
    }
    if let Some(range) = metric.threshold_range {
        let v = value[0];
        if let Some(min) = range.min
            && v < min
        {
            return (
                Assessment::Failed,
                Some(format!("{v} is below the minimum {min}")),
            );
        }
        if let Some(max) = range.max
            && v > max
        {
            return (
                Assessment::Failed,
                Some(format!("{v} is above the maximum {max}")),
            );
        }
    }
    let eval = |c: &Option<String>| {
        c.as_deref()
            .map(|c| condition::evaluate(c, value))
            .transpose()
    };
    let (success, failure) = match (
        eval(&metric.success_condition),
        eval(&metric.failure_condition),
    ) {
        (Ok(s), Ok(f)) => (s, f),
        (Err(e), _) | (_, Err(e)) => return (Assessment::Error, Some(e.to_string())),
    };
    match (success, failure) {
        (_, Some(true)) => (
            Assessment::Failed,
            Some("failureCondition holds".to_owned()),
        ),
        (Some(true), _) => (Assessment::Successful, None),
        (Some(false), Some(false)) => (
            Assessment::Inconclusive,
            Some("neither successCondition nor failureCondition holds".to_owned()),
        ),
        (Some(false), None) => (
            Assessment::Failed,
            Some("successCondition does not hold".to_owned()),
        ),
        (None, _) => (Assessment::Successful, None),
    }
}

/// One metric of a run, with its measurements and counters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRun {
    /// The template it came from.
    pub template: String,
    /// The metric as written.
    #[serde(skip)]
    pub metric: Metric,
    /// The query with its arguments filled in.
    pub query: String,
    /// Measurements so far.
    pub measurements: Vec<Measurement>,
    /// Successful measurements.
    pub successful: u32,
    /// Failed measurements.
    pub failed: u32,
    /// Inconclusive measurements.
    pub inconclusive: u32,
    /// Errored measurements.
    pub errors: u32,
    /// Errors since the last good measurement.
    pub consecutive_errors: u32,
    /// When the next measurement is due.
    pub next_at: Timestamp,
    /// The metric's outcome once decided.
    pub result: Option<RunResult>,
}

impl MetricRun {
    fn count(&self) -> u32 {
        self.metric.count.unwrap_or(1).max(1)
    }

    fn interval(&self) -> u64 {
        self.metric
            .interval
            .map_or(DEFAULT_INTERVAL_SECONDS, |d| d.seconds())
    }

    /// Adds a measurement and decides the metric when it can.
    pub fn record(&mut self, at: Timestamp, value: Result<Vec<f64>, SourceError>) {
        let (value, (assessment, message)) = match value {
            Ok(v) => {
                let a = assess(&self.metric, &v);
                (v, a)
            }
            Err(e) => (Vec::new(), (Assessment::Error, Some(e.0))),
        };
        match assessment {
            Assessment::Successful => self.successful += 1,
            Assessment::Failed => self.failed += 1,
            Assessment::Inconclusive => self.inconclusive += 1,
            Assessment::Error => self.errors += 1,
        }
        if assessment == Assessment::Error {
            self.consecutive_errors += 1;
        } else {
            self.consecutive_errors = 0;
        }
        self.measurements.push(Measurement {
            at,
            value,
            assessment,
            message,
        });
        self.next_at = at.saturating_add(self.interval());
        // Counted, not `measurements.len()`: a run restored from a status keeps only the last.
        let taken = self
            .successful
            .saturating_add(self.failed)
            .saturating_add(self.inconclusive)
            .saturating_add(self.errors);
        self.result = if self.failed > self.metric.failure_limit.unwrap_or(0) {
            Some(RunResult::Failed)
        } else if self.inconclusive > self.metric.inconclusive_limit.unwrap_or(0) {
            Some(RunResult::Inconclusive)
        } else if self.consecutive_errors > CONSECUTIVE_ERROR_LIMIT {
            Some(RunResult::Error)
        } else if taken >= self.count() && self.consecutive_errors == 0 {
            Some(RunResult::Successful)
        } else {
            None
        };
    }
}

/// One analysis run: the metrics of its templates and their measurements.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AnalysisRun {
    /// The run's name (from the machine's `StartAnalysis`).
    pub name: String,
    /// When it started.
    pub started_at: Timestamp,
    /// The metrics.
    pub metrics: Vec<MetricRun>,
}

impl AnalysisRun {
    /// Sets up the run the machine asked for: templates looked up in the rollout, arguments
    /// (the action's over the template's defaults) filled into the queries.
    ///
    /// # Errors
    /// An unknown template or an argument without value.
    pub fn new(
        rollout: &Rollout,
        name: &str,
        templates: &[String],
        args: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<Self, AnalysisError> {
        let mut metrics = Vec::new();
        for t in templates {
            let template = rollout
                .spec
                .analysis_templates
                .iter()
                .find(|x| &x.name == t)
                .ok_or_else(|| AnalysisError::UnknownTemplate { name: t.clone() })?;
            let mut values: BTreeMap<String, String> = template
                .args
                .iter()
                .filter_map(|a| a.value.clone().map(|v| (a.name.clone(), v)))
                .collect();
            values.extend(args.iter().map(|(k, v)| (k.clone(), v.clone())));
            for metric in &template.metrics {
                let MetricProvider::Prometheus(prom) = &metric.provider;
                let query = template::render(&prom.query, &values).map_err(|source| {
                    AnalysisError::Template {
                        template: t.clone(),
                        metric: metric.name.clone(),
                        source,
                    }
                })?;
                metrics.push(MetricRun {
                    template: t.clone(),
                    metric: metric.clone(),
                    query,
                    measurements: Vec::new(),
                    successful: 0,
                    failed: 0,
                    inconclusive: 0,
                    errors: 0,
                    consecutive_errors: 0,
                    next_at: now,
                    result: None,
                });
            }
        }
        Ok(Self {
            name: name.to_owned(),
            started_at: now,
            metrics,
        })
    }

    /// Indexes of the metrics due for a measurement at `now`.
    #[must_use]
    pub fn due(&self, now: Timestamp) -> Vec<usize> {
        if self.result() != RunResult::Running {
            return Vec::new();
        }
        self.metrics
            .iter()
            .enumerate()
            .filter(|(_, m)| m.result.is_none() && m.next_at <= now)
            .map(|(i, _)| i)
            .collect()
    }

    /// When the next measurement is due, while the run is undecided.
    #[must_use]
    pub fn next_due(&self) -> Option<Timestamp> {
        if self.result() != RunResult::Running {
            return None;
        }
        self.metrics
            .iter()
            .filter(|m| m.result.is_none())
            .map(|m| m.next_at)
            .min()
    }

    /// Measures every due metric through `source` and returns the run's result.
    pub fn tick(&mut self, source: &dyn MetricSource, now: Timestamp) -> RunResult {
        for i in self.due(now) {
            let m = &self.metrics[i];
            let MetricProvider::Prometheus(prom) = &m.metric.provider;
            let value = source.query(
                prom.address.as_deref(),
                &m.query,
                prom.timeout.map(|d| d.seconds()),
            );
            self.metrics[i].record(now, value);
            if self.result() != RunResult::Running {
                break;
            }
        }
        self.result()
    }

    /// The run's result: the first failed, errored or inconclusive metric decides; successful
    /// when every metric is; running otherwise. A run without metrics is successful.
    #[must_use]
    pub fn result(&self) -> RunResult {
        for bad in [RunResult::Failed, RunResult::Error, RunResult::Inconclusive] {
            if self.metrics.iter().any(|m| m.result == Some(bad)) {
                return bad;
            }
        }
        if self
            .metrics
            .iter()
            .all(|m| m.result == Some(RunResult::Successful))
        {
            RunResult::Successful
        } else {
            RunResult::Running
        }
    }
}
