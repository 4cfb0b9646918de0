//! What `gitops get rollouts` and `gitops rollout status` print about live rollouts: one row per
//! rollout, and a description of one (step, weights, revisions, analysis, what it waits for).
//! Pure: the CLI reads the objects and prints these.

use std::fmt::Write as _;

use serde::Serialize;

use crate::object::{RolloutObjectStatus, RunRecord};
use crate::plan::Plan;
use crate::spec::Rollout;

/// One rollout as a table row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutRow {
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The machine's phase (`Initializing` before the first status).
    pub phase: String,
    /// The canary's share of traffic.
    pub weight: u8,
    /// `current/total` steps while a revision rolls out, `-` otherwise.
    pub step: String,
    /// The stable revision.
    pub stable: String,
    /// The revision being rolled out, `-` when none.
    pub canary: String,
    /// Why, in words.
    pub message: String,
}

/// The row of `rollout` with `status` (none yet: `Initializing`).
#[must_use]
pub fn row(rollout: &Rollout, status: Option<&RolloutObjectStatus>) -> RolloutRow {
    let steps = Plan::build(rollout).map_or(0, |p| p.steps.len());
    let dash = || "-".to_owned();
    match status.filter(|s| s.rollout.stable_revision.is_some()) {
        None => RolloutRow {
            namespace: rollout.namespace().to_owned(),
            name: rollout.metadata.name.clone(),
            phase: "Initializing".to_owned(),
            weight: 0,
            step: dash(),
            stable: dash(),
            canary: dash(),
            message: status
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                .map(|c| c.message.clone())
                .unwrap_or_default(),
        },
        Some(s) => {
            let m = &s.rollout;
            let rolling = m.canary_revision.is_some() && !m.phase.is_failed();
            RolloutRow {
                namespace: rollout.namespace().to_owned(),
                name: rollout.metadata.name.clone(),
                phase: m.phase.to_string(),
                weight: m.canary_weight,
                step: if rolling {
                    format!("{}/{steps}", m.current_step.min(steps))
                } else {
                    dash()
                },
                stable: m.stable_revision.clone().unwrap_or_else(dash),
                canary: m.canary_revision.clone().unwrap_or_else(dash),
                message: m.message.clone(),
            }
        }
    }
}

/// An aligned table of `rows` (with a NAMESPACE column for `all_namespaces`).
#[must_use]
pub fn table(rows: &[RolloutRow], all_namespaces: bool) -> String {
    let mut lines: Vec<Vec<String>> = Vec::with_capacity(rows.len() + 1);
    let mut header = vec![
        "NAME", "PHASE", "WEIGHT", "STEP", "STABLE", "CANARY", "MESSAGE",
    ];
    if all_namespaces {
        header.insert(0, "NAMESPACE");
    }
    lines.push(header.into_iter().map(str::to_owned).collect());
    for r in rows {
        let mut cells = vec![
            r.name.clone(),
            r.phase.clone(),
            r.weight.to_string(),
            r.step.clone(),
            r.stable.clone(),
            r.canary.clone(),
            r.message.lines().collect::<Vec<_>>().join(" "),
        ];
        if all_namespaces {
            cells.insert(0, r.namespace.clone());
        }
        lines.push(cells);
    }
    gitops_core::api::summary::align_columns(&lines)
}

/// `rollout` described for `gitops rollout status`: phase and message, step, weights,
/// revisions, the analysis run in progress (or the last one) with its metrics.
#[must_use]
pub fn describe(rollout: &Rollout, status: Option<&RolloutObjectStatus>) -> String {
    let r = row(rollout, status);
    let mut out = String::new();
    let _ = writeln!(out, "Rollout:   {}/{}", r.namespace, r.name);
    let _ = writeln!(out, "Phase:     {}", r.phase);
    if !r.message.is_empty() {
        let _ = writeln!(out, "Message:   {}", r.message);
    }
    let _ = writeln!(out, "Step:      {}", r.step);
    let _ = writeln!(
        out,
        "Weights:   canary {} / stable {}",
        r.weight,
        100 - r.weight.min(100)
    );
    let _ = writeln!(out, "Stable:    {}", r.stable);
    let _ = writeln!(out, "Canary:    {}", r.canary);
    let Some(status) = status else {
        return out;
    };
    if status.rollout.failed_checks > 0 {
        let _ = writeln!(out, "Failed checks: {}", status.rollout.failed_checks);
    }
    for (label, run) in [
        ("Analysis:", status.analysis.as_ref()),
        ("Last analysis:", status.last_analysis.as_ref()),
    ] {
        if let Some(run) = run {
            write_run(&mut out, label, run);
        }
    }
    for c in &status.conditions {
        let _ = writeln!(
            out,
            "Condition: {}={} ({}) {}",
            c.type_,
            serde_json::to_value(c.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            c.reason,
            c.message
        );
    }
    out
}

fn write_run(out: &mut String, label: &str, run: &RunRecord) {
    let _ = writeln!(out, "{label} {} {:?}", run.name, run.result);
    for m in &run.metrics {
        let value = m
            .last_value
            .iter()
            .map(f64::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "  - {}: successful {} failed {} inconclusive {} errors {}; last [{value}]{}",
            m.name,
            m.successful,
            m.failed,
            m.inconclusive,
            m.errors,
            m.last_message
                .as_deref()
                .map(|msg| format!(" ({msg})"))
                .unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Phase, RolloutStatus};

    fn rollout() -> Rollout {
        crate::load::from_yaml(
            "apiVersion: gitops.rs/v1alpha1\nkind: Rollout\nmetadata: {name: web, namespace: shop}\n\
             spec:\n  targetRef: {name: web}\n  strategy:\n    canary:\n      steps: [{setWeight: 20}, {pause: {}}]\n",
            None,
        )
        .unwrap()
        .rollout
    }

    #[test]
    fn a_rollout_in_progress_shows_its_step_weight_and_revisions() {
        let status = RolloutObjectStatus {
            rollout: RolloutStatus {
                phase: Phase::Paused,
                message: "paused at step 1 until promoted".into(),
                stable_revision: Some("aaa".into()),
                canary_revision: Some("bbb".into()),
                current_step: 1,
                canary_weight: 20,
                ..RolloutStatus::default()
            },
            ..RolloutObjectStatus::default()
        };
        let rows = [row(&rollout(), Some(&status)), row(&rollout(), None)];
        assert_eq!(
            table(&rows, false),
            "NAME   PHASE          WEIGHT   STEP   STABLE   CANARY   MESSAGE\n\
             web    Paused         20       1/2    aaa      bbb      paused at step 1 until promoted\n\
             web    Initializing   0        -      -        -\n"
        );
        let text = describe(&rollout(), Some(&status));
        assert!(
            text.contains("Weights:   canary 20 / stable 80\n"),
            "{text}"
        );
    }
}
