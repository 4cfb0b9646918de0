//! The `Rollout` as a cluster object: what its status subresource holds, how users give it
//! commands, and (with the `cluster` feature) its CustomResourceDefinition.
//!
//! The status is the machine's [`RolloutStatus`] (flattened, so `status.phase`,
//! `status.canaryWeight`, … read as in the simulator's output) plus what the operator needs to
//! resume after a restart: the analysis run in progress ([`RunRecord`]), the last command handled,
//! Kubernetes-style conditions and the observed generation. Everything here is pure data and
//! rules, shared by the operator (which writes them) and the CLI (which reads and writes
//! commands).

use std::collections::BTreeMap;

use gitops_core::api::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::analysis::{AnalysisError, AnalysisRun, Assessment, Measurement, MetricRun};
use crate::machine::{Command, RolloutStatus, RunResult, Timestamp};
use crate::spec::Rollout;

/// The annotation through which users give a rollout a [`Command`]: `<command>@<time>`, e.g.
/// `promote@2026-01-02T03:04:05Z`. The operator acts on each distinct value once (it keeps the
/// last one handled in `status.lastHandledCommand`), so the time makes a repeated command new.
pub const COMMAND_ANNOTATION: &str = "rollout.gitops.rs/command";

/// Condition type: the rollout is settled with the stable revision serving (`True`), or is
/// progressing, paused or failed (`False`, the phase as reason).
pub const READY: &str = "Ready";
/// Condition type: the target's current revision is the stable one (`True`, reason
/// `Promoted`), is being rolled out (`False`, `Progressing`), or failed (`False`, the phase).
pub const PROMOTED: &str = "Promoted";

/// The status subresource of a `Rollout`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutObjectStatus {
    /// The state machine's memory.
    #[serde(flatten)]
    pub rollout: RolloutStatus,
    /// The `metadata.generation` last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Replicas of the stable revision: the target's count when the rollout was initialized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// The pod-template revision of the target when last looked at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_revision: Option<String>,
    /// `Ready` and `Promoted`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The analysis run in progress, with its measurements so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<RunRecord>,
    /// The last run that ended, as it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_analysis: Option<RunRecord>,
    /// The value of [`COMMAND_ANNOTATION`] last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_command: Option<String>,
}

impl JsonSchema for RolloutObjectStatus {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RolloutObjectStatus".into()
    }

    /// The fields printer columns and `kubectl explain` use; the rest is kept as written (the
    /// operator is the only writer).
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "Where the rollout stands; written by the operator.",
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {
                "phase": {"type": "string", "description": "Progressing, Paused, Analyzing, Promoting, Healthy, Degraded or RolledBack."},
                "message": {"type": "string"},
                "stableRevision": {"type": "string"},
                "canaryRevision": {"type": "string"},
                "canaryWeight": {"type": "integer"},
                "currentStep": {"type": "integer"},
                "failedChecks": {"type": "integer"},
                "observedGeneration": {"type": "integer", "format": "int64"},
                "conditions": {
                    "type": "array",
                    "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                }
            }
        })
    }
}

/// An analysis run as the status keeps it: enough to carry on measuring after a restart.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// The run's name (from the machine's `StartAnalysis`).
    pub name: String,
    /// The templates run.
    pub templates: Vec<String>,
    /// The arguments.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// When it started.
    pub started_at: Timestamp,
    /// Per metric, in the run's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<MetricRecord>,
    /// The run's outcome so far.
    pub result: RunResult,
}

/// One metric of a [`RunRecord`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MetricRecord {
    /// The metric's name.
    pub name: String,
    /// The query with its arguments filled in.
    pub query: String,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<RunResult>,
    /// The last value measured.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_value: Vec<f64>,
    /// Why the last measurement failed or errored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_message: Option<String>,
}

impl RunRecord {
    /// What the status keeps of `run`.
    #[must_use]
    pub fn from_run(
        run: &AnalysisRun,
        templates: &[String],
        args: &BTreeMap<String, String>,
    ) -> Self {
        Self {
            name: run.name.clone(),
            templates: templates.to_vec(),
            args: args.clone(),
            started_at: run.started_at,
            metrics: run
                .metrics
                .iter()
                .map(|m| {
                    let last = m.measurements.last();
                    MetricRecord {
                        name: m.metric.name.clone(),
                        query: m.query.clone(),
                        successful: m.successful,
                        failed: m.failed,
                        inconclusive: m.inconclusive,
                        errors: m.errors,
                        consecutive_errors: m.consecutive_errors,
                        next_at: m.next_at,
                        result: m.result,
                        last_value: last.map(|l| l.value.clone()).unwrap_or_default(),
                        last_message: last.and_then(|l| l.message.clone()),
                    }
                })
                .collect(),
            result: run.result(),
        }
    }

    /// The run again, from the rollout's templates and the counters kept (the last measurement
    /// only: the counters carry the rest).
    ///
    /// # Errors
    /// A template that left the spec, or an argument that no longer fills its query.
    pub fn restore(&self, rollout: &Rollout) -> Result<AnalysisRun, AnalysisError> {
        let mut run = AnalysisRun::new(
            rollout,
            &self.name,
            &self.templates,
            &self.args,
            self.started_at,
        )?;
        for (metric, record) in run.metrics.iter_mut().zip(&self.metrics) {
            restore_metric(metric, record);
        }
        Ok(run)
    }
}

fn restore_metric(metric: &mut MetricRun, record: &MetricRecord) {
    metric.successful = record.successful;
    metric.failed = record.failed;
    metric.inconclusive = record.inconclusive;
    metric.errors = record.errors;
    metric.consecutive_errors = record.consecutive_errors;
    metric.next_at = record.next_at;
    metric.result = record.result;
    if record.successful + record.failed + record.inconclusive + record.errors > 0 {
        let assessment = if record.consecutive_errors > 0 {
            Assessment::Error
        } else if record.last_message.is_some() {
            Assessment::Failed
        } else {
            Assessment::Successful
        };
        metric.measurements = vec![Measurement {
            at: record.next_at,
            value: record.last_value.clone(),
            assessment,
            message: record.last_message.clone(),
        }];
    }
}

/// A [`COMMAND_ANNOTATION`] value that names no command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "annotation {COMMAND_ANNOTATION}: expected `<command>@<time>` with command promote, abort, retry, pause, resume or skipAnalysis, found {value:?}"
)]
pub struct CommandError {
    /// The annotation's value.
    pub value: String,
}

/// The command in a [`COMMAND_ANNOTATION`] value (`promote@2026-…`, or a bare `promote`).
///
/// # Errors
/// An unknown command.
pub fn parse_command(value: &str) -> Result<Command, CommandError> {
    let word = value.split('@').next().unwrap_or_default().trim();
    serde_json::from_value(serde_json::Value::String(word.to_owned())).map_err(|_| CommandError {
        value: value.to_owned(),
    })
}

/// The [`COMMAND_ANNOTATION`] value for `command` given at `time` (RFC 3339).
#[must_use]
pub fn command_annotation(command: Command, time: &str) -> String {
    let word = serde_json::to_value(command)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    format!("{word}@{time}")
}

/// The CustomResourceDefinition of `Rollout`, ready to apply: kube's structural schema with
/// `additionalProperties: false` removed (the API server refuses it; unknown fields are pruned
/// anyway).
#[cfg(feature = "cluster")]
#[must_use]
pub fn crd() -> serde_json::Value {
    use kube::CustomResourceExt as _;
    let mut crd = serde_json::to_value(crate::spec::RolloutObject::crd()).unwrap_or_default();
    strip_closed_objects(&mut crd);
    crd
}

#[cfg(feature = "cluster")]
fn strip_closed_objects(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            if map.get("additionalProperties") == Some(&serde_json::Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            map.values_mut().for_each(strip_closed_objects);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_closed_objects),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_round_trip_through_the_annotation() {
        let value = command_annotation(Command::SkipAnalysis, "2026-01-02T03:04:05Z");
        assert_eq!(value, "skipAnalysis@2026-01-02T03:04:05Z");
        assert_eq!(parse_command(&value), Ok(Command::SkipAnalysis));
        assert_eq!(parse_command("promote"), Ok(Command::Promote));
        assert!(parse_command("launch@now").is_err());
    }

    #[test]
    fn the_status_flattens_the_machine_state() {
        let status = RolloutObjectStatus {
            rollout: RolloutStatus {
                canary_weight: 20,
                ..RolloutStatus::default()
            },
            observed_generation: Some(3),
            ..RolloutObjectStatus::default()
        };
        let value = serde_json::to_value(&status).unwrap();
        assert_eq!(value["canaryWeight"], 20);
        assert_eq!(value["phase"], "Healthy");
        let back: RolloutObjectStatus = serde_json::from_value(value).unwrap();
        assert_eq!(back, status);
    }

    #[cfg(feature = "cluster")]
    #[test]
    fn the_crd_has_status_columns_and_no_closed_objects() {
        let crd = crd();
        assert_eq!(crd["metadata"]["name"], "rollouts.gitops.rs");
        let version = &crd["spec"]["versions"][0];
        assert!(version["subresources"]["status"].is_object());
        let columns: Vec<&str> = version["additionalPrinterColumns"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(columns, ["Phase", "Weight", "Revision", "Age"]);
        assert!(!crd.to_string().contains("\"additionalProperties\":false"));
    }
}
