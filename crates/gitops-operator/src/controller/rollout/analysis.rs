//! Analysis runs kept in the status: started when the machine asks, measured against Prometheus
//! when their metrics are due (the client blocks, so it runs under `spawn_blocking`), and
//! restored from the status after a restart.

use std::collections::BTreeMap;

use gitops_rollout::analysis::AnalysisRun;
use gitops_rollout::analysis::prometheus::Prometheus;
use gitops_rollout::object::{RolloutObjectStatus, RunRecord};
use gitops_rollout::{Rollout, RunResult, Timestamp};

use crate::controller::Context;

/// Measures the run in progress when a metric is due and returns its name and result, for the
/// machine's observations.
pub(crate) async fn tick(
    ctx: &Context,
    rollout: &Rollout,
    status: &mut RolloutObjectStatus,
    now: Timestamp,
) -> Option<(String, RunResult)> {
    let record = status.analysis.clone()?;
    if record.result != RunResult::Running {
        return Some((record.name, record.result));
    }
    let mut run = match record.restore(rollout) {
        Ok(run) => run,
        Err(e) => {
            tracing::warn!(run = %record.name, "cannot carry on analysis: {e}");
            let failed = RunRecord {
                result: RunResult::Error,
                ..record
            };
            let name = failed.name.clone();
            status.analysis = Some(failed);
            return Some((name, RunResult::Error));
        }
    };
    if !run.due(now).is_empty() {
        let prometheus = prometheus(ctx);
        let measured = tokio::task::spawn_blocking(move || {
            run.tick(&prometheus, now);
            run
        })
        .await;
        match measured {
            Ok(measured) => run = measured,
            Err(e) => {
                tracing::warn!(run = %record.name, error = %e, "analysis task failed");
                return Some((record.name, RunResult::Running));
            }
        }
    }
    let updated = RunRecord::from_run(&run, &record.templates, &record.args);
    let result = updated.result;
    status.analysis = Some(updated);
    Some((record.name, result))
}

/// Sets up the run the machine started; a run that cannot be set up is recorded as errored
/// (the machine counts it as a failed check).
pub(crate) fn start(
    rollout: &Rollout,
    name: &str,
    templates: &[String],
    args: &BTreeMap<String, String>,
    now: Timestamp,
) -> (RunRecord, Option<String>) {
    match AnalysisRun::new(rollout, name, templates, args, now) {
        Ok(run) => (RunRecord::from_run(&run, templates, args), None),
        Err(e) => (
            RunRecord {
                name: name.to_owned(),
                templates: templates.to_vec(),
                args: args.clone(),
                started_at: now,
                metrics: Vec::new(),
                result: RunResult::Error,
            },
            Some(e.to_string()),
        ),
    }
}

/// When the next measurement of `record` is due, while it runs.
pub(crate) fn next_due(record: &RunRecord) -> Option<Timestamp> {
    if record.result != RunResult::Running {
        return None;
    }
    record
        .metrics
        .iter()
        .filter(|m| m.result.is_none())
        .map(|m| m.next_at)
        .min()
}

fn prometheus(ctx: &Context) -> Prometheus {
    Prometheus {
        default_address: ctx.settings.prometheus_address.clone(),
        ..Prometheus::default()
    }
}
