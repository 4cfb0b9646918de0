//! Runs the machine against a scripted cluster: documentation and debugging in one.
//!
//! The simulated cluster does what the actions say at once: canaries are ready unless a script
//! event says otherwise, `PromoteStable` updates the stable workload, and each analysis run ends
//! with the next result of the script's `analysis` list (`Successful` when the list is used up),
//! seen at the machine's next look. The machine is called at every script event and whenever it
//! asks to be; the timeline records every call that acted or changed phase.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::machine::{
    Action, Command, Observations, Phase, RolloutStatus, RunResult, Timestamp, reconcile_plan,
};
use crate::plan::{Plan, PlanError};
use crate::spec::Rollout;

/// Calls after which a simulation stops (a bug guard; real scripts need far fewer).
pub const MAX_CALLS: usize = 10_000;

/// A scripted cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Script {
    /// The revision running before the script starts.
    #[serde(default = "default_stable")]
    pub stable: String,
    /// The workload's replicas.
    #[serde(default = "default_replicas")]
    pub replicas: u32,
    /// Simulated seconds after which the simulation stops.
    #[serde(default = "default_until")]
    pub until: u64,
    /// Results of the analysis runs, in the order they start.
    #[serde(default)]
    pub analysis: Vec<RunResult>,
    /// What happens when.
    #[serde(default)]
    pub events: Vec<Event>,
}

fn default_stable() -> String {
    "v1".to_owned()
}

fn default_replicas() -> u32 {
    4
}

fn default_until() -> u64 {
    24 * 3600
}

/// Something that happens at a time.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    /// Seconds from the start.
    pub at: u64,
    /// A new revision of the workload (a Git change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// The canary's pods become ready or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_ready: Option<bool>,
    /// The stable pods become ready or not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_ready: Option<bool>,
    /// Commands given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Command>,
}

/// One call of the machine that did something.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Seconds from the start.
    pub at: Timestamp,
    /// The phase after the call.
    pub phase: Phase,
    /// The plan step after the call.
    pub step: usize,
    /// The plan's step count.
    pub steps: usize,
    /// Canary traffic share.
    pub canary_weight: u8,
    /// Stable traffic share.
    pub stable_weight: u8,
    /// Commands given at this call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Command>,
    /// What the machine did.
    pub actions: Vec<Action>,
    /// The status message.
    pub message: String,
}

/// A simulation's result.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    /// Calls that acted, in order.
    pub entries: Vec<Entry>,
    /// The status after the last call.
    pub status: RolloutStatus,
    /// Calls made.
    pub calls: usize,
}

/// Runs `script` against `rollout`.
///
/// # Errors
/// A spec the machine cannot run.
pub fn simulate(rollout: &Rollout, script: &Script) -> Result<Timeline, PlanError> {
    let plan = Plan::build(rollout)?;
    let mut events: Vec<&Event> = script.events.iter().collect();
    events.sort_by_key(|e| e.at);
    let mut events: VecDeque<&Event> = events.into();
    let mut results: VecDeque<RunResult> = script.analysis.iter().copied().collect();
    let mut obs = Observations {
        revision: script.stable.clone(),
        replicas: script.replicas,
        canary_ready: true,
        stable_revision: Some(script.stable.clone()),
        stable_ready: true,
        analysis: BTreeMap::new(),
        commands: Vec::new(),
    };
    // The stable revision is adopted before the script starts.
    let mut status = reconcile_plan(rollout, &plan, &RolloutStatus::default(), &obs, 0).status;
    let mut entries = Vec::new();
    let mut now: Timestamp = 0;
    let mut calls = 1;
    while calls < MAX_CALLS {
        while let Some(e) = events.front().filter(|e| e.at <= now) {
            if let Some(rev) = &e.revision {
                obs.revision.clone_from(rev);
            }
            if let Some(ready) = e.canary_ready {
                obs.canary_ready = ready;
            }
            if let Some(ready) = e.stable_ready {
                obs.stable_ready = ready;
            }
            obs.commands.extend(e.commands.iter().copied());
            events.pop_front();
        }
        calls += 1;
        let decision = reconcile_plan(rollout, &plan, &status, &obs, now);
        let commands = std::mem::take(&mut obs.commands);
        for action in &decision.actions {
            match action {
                Action::StartAnalysis { run, .. } => {
                    let result = results.pop_front().unwrap_or(RunResult::Successful);
                    obs.analysis.insert(run.clone(), result);
                }
                Action::PromoteStable { revision } => {
                    obs.stable_revision = Some(revision.clone());
                }
                _ => {}
            }
        }
        let st = &decision.status;
        if !decision.actions.is_empty() || !commands.is_empty() {
            entries.push(Entry {
                at: now,
                phase: st.phase,
                step: st.current_step,
                steps: plan.steps.len(),
                canary_weight: st.canary_weight,
                stable_weight: 100 - st.canary_weight.min(100),
                commands,
                actions: decision.actions.clone(),
                message: st.message.clone(),
            });
        }
        status = decision.status;
        let next_event = events.front().map(|e| e.at.max(now));
        let next = match (
            decision.requeue_after.map(|r| now.saturating_add(r)),
            next_event,
        ) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        if next > script.until {
            break;
        }
        now = next;
    }
    Ok(Timeline {
        entries,
        status,
        calls,
    })
}

impl Timeline {
    /// The timeline as text: one block per entry, actions indented below.
    #[must_use]
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            let _ = writeln!(
                out,
                "{:>7}  {:<11}  step {}/{}  weight {}/{}  {}",
                format!("t={}s", e.at),
                e.phase.to_string(),
                e.step,
                e.steps,
                e.canary_weight,
                e.stable_weight,
                e.message
            );
            for c in &e.commands {
                let _ = writeln!(
                    out,
                    "         < {}",
                    serde_json::to_value(c)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                );
            }
            for a in &e.actions {
                if !matches!(a, Action::Mark { .. }) {
                    let _ = writeln!(out, "         - {a}");
                }
            }
        }
        let _ = writeln!(
            out,
            "result: {} ({}) after {} call(s)",
            self.status.phase, self.status.message, self.calls
        );
        out
    }
}
