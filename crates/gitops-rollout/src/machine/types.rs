//! The machine's inputs and outputs: status, observations, commands, actions.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::RouteMatch;

/// Seconds since the Unix epoch (or any fixed origin: the machine only subtracts).
pub type Timestamp = u64;

/// Where a rollout stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
pub enum Phase {
    /// Moving through the steps.
    Progressing,
    /// Waiting for a command or a timed pause.
    Paused,
    /// An analysis run is under way.
    Analyzing,
    /// The new revision is being made stable.
    Promoting,
    /// The stable revision serves all traffic; nothing to do.
    #[default]
    Healthy,
    /// Aborted (by command or progress deadline): all traffic back on stable.
    Degraded,
    /// Analysis failed `threshold` times: rolled back automatically, all traffic on stable.
    RolledBack,
}

impl Phase {
    /// Whether the rollout waits for something outside the machine: a new revision, a retry or
    /// a command. Every run of the machine ends in one of these.
    #[must_use]
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            Self::Healthy | Self::Degraded | Self::RolledBack | Self::Paused
        )
    }

    /// Whether the rollout ended without promotion.
    #[must_use]
    pub fn is_failed(self) -> bool {
        matches!(self, Self::Degraded | Self::RolledBack)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// How far promotion got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Promotion {
    /// The stable workload is being updated to the new revision.
    UpdatingStable,
    /// Traffic is back on stable; the canary is scaled down at this time.
    ScaleDownAt(Timestamp),
}

/// What the machine remembers between calls; stored in the resource's status.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RolloutStatus {
    /// Where the rollout stands.
    pub phase: Phase,
    /// Why, in words.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// The revision serving users.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<String>,
    /// The revision being rolled out (kept after an abort so it is not retried by itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_revision: Option<String>,
    /// The index of the current plan step.
    #[serde(default)]
    pub current_step: usize,
    /// When the current step started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_started_at: Option<Timestamp>,
    /// The traffic share of the canary.
    #[serde(default)]
    pub canary_weight: u8,
    /// Header routes to the canary in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_route: Vec<RouteMatch>,
    /// Canary replicas last asked for.
    #[serde(default)]
    pub canary_replicas: u32,
    /// Blue-green services pointing at the canary.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub switched_services: Vec<String>,
    /// Failed checks in this rollout.
    #[serde(default)]
    pub failed_checks: u32,
    /// The analysis run in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis_run: Option<String>,
    /// Analysis runs started in this rollout (names runs uniquely).
    #[serde(default)]
    pub runs_started: u32,
    /// The last run came back inconclusive; waiting for resume, promote or skip.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inconclusive: bool,
    /// Paused by command.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Since when the machine waits for a workload to become ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<Timestamp>,
    /// Promotion progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub promotion: Option<Promotion>,
}

/// The outcome of an analysis run as the operator reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub enum RunResult {
    /// Still measuring.
    #[default]
    Running,
    /// Every metric passed.
    Successful,
    /// A metric failed beyond its limit.
    Failed,
    /// A metric was inconclusive beyond its limit (e.g. no data).
    Inconclusive,
    /// The run could not be carried out (bad query, provider down).
    Error,
}

/// A user command, as `kubectl gitops promote` or an annotation would give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Command {
    /// Go past an indefinite pause, an inconclusive analysis or the blue-green gate.
    Promote,
    /// Stop the rollout and send all traffic back to stable.
    Abort,
    /// Start an aborted or rolled-back rollout again from step 0.
    Retry,
    /// Hold the rollout where it is.
    Pause,
    /// Undo `pause`; re-run an inconclusive analysis.
    Resume,
    /// Treat the current analysis as successful.
    SkipAnalysis,
}

/// What the operator saw in the cluster for this call.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Observations {
    /// The revision (template hash) the target workload asks for now.
    pub revision: String,
    /// The workload's desired replica count; default 1.
    #[serde(default = "one")]
    pub replicas: u32,
    /// The canary workload has all the replicas last asked for, ready.
    #[serde(default)]
    pub canary_ready: bool,
    /// The revision the stable workload runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_revision: Option<String>,
    /// The stable workload is fully rolled out and ready.
    #[serde(default)]
    pub stable_ready: bool,
    /// Results of analysis runs by run name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub analysis: BTreeMap<String, RunResult>,
    /// Commands given since the last call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Command>,
}

fn one() -> u32 {
    1
}

/// Which workload a service or weight points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// The revision serving users.
    Stable,
    /// The revision being rolled out.
    Canary,
}

/// Something to do to the cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", tag = "action")]
pub enum Action {
    /// Scale the canary workload.
    ScaleCanary {
        /// Replicas.
        replicas: u32,
    },
    /// Scale the stable workload (replica-ratio routing only).
    ScaleStable {
        /// Replicas.
        replicas: u32,
    },
    /// Set router weights; they always sum to 100.
    SetWeight {
        /// Share to the canary.
        canary: u8,
        /// Share to stable.
        stable: u8,
    },
    /// Route requests matching these rules to the canary.
    SetHeaderRoute {
        /// The rules.
        matches: Vec<RouteMatch>,
    },
    /// Remove the header route.
    ClearHeaderRoute,
    /// Point a service's selector at a workload.
    SwitchService {
        /// The service.
        service: String,
        /// The workload.
        to: Role,
    },
    /// Start an analysis run.
    StartAnalysis {
        /// The run's name, unique within the rollout.
        run: String,
        /// Template names.
        templates: Vec<String>,
        /// Arguments: the step's plus `namespace`, `name`, `service`, `canary-service`,
        /// `stable-service` and `revision`.
        args: BTreeMap<String, String>,
    },
    /// Stop an analysis run.
    StopAnalysis {
        /// The run's name.
        run: String,
    },
    /// Give the stable workload the new revision's template.
    PromoteStable {
        /// The revision.
        revision: String,
    },
    /// Record a phase change (an event for users).
    Mark {
        /// The new phase.
        phase: Phase,
        /// Why.
        message: String,
    },
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ScaleCanary { replicas } => write!(f, "scale canary to {replicas}"),
            Self::ScaleStable { replicas } => write!(f, "scale stable to {replicas}"),
            Self::SetWeight { canary, stable } => {
                write!(f, "set weight canary={canary} stable={stable}")
            }
            Self::SetHeaderRoute { matches } => {
                f.write_str("route ")?;
                for (i, m) in matches.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" or ")?;
                    }
                    let mut first = true;
                    for (kind, map) in [("header", &m.headers), ("cookie", &m.cookies)] {
                        for (name, value) in map {
                            if !first {
                                f.write_str(" and ")?;
                            }
                            first = false;
                            write!(f, "{kind} {name} {}", crate::spec::describe_match(value))?;
                        }
                    }
                }
                f.write_str(" to canary")
            }
            Self::ClearHeaderRoute => f.write_str("remove header route"),
            Self::SwitchService { service, to } => {
                let to = match to {
                    Role::Stable => "stable",
                    Role::Canary => "canary",
                };
                write!(f, "switch service {service} to {to}")
            }
            Self::StartAnalysis { run, templates, .. } => {
                write!(f, "start analysis {run} ({})", templates.join(", "))
            }
            Self::StopAnalysis { run } => write!(f, "stop analysis {run}"),
            Self::PromoteStable { revision } => write!(f, "promote {revision} to stable"),
            Self::Mark { phase, message } => write!(f, "mark {phase}: {message}"),
        }
    }
}

/// What one call of the machine decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    /// The status to store.
    pub status: RolloutStatus,
    /// What to do, in order.
    pub actions: Vec<Action>,
    /// Call again after this many seconds at the latest (`Some(0)`: as soon as the actions are
    /// applied); `None`: only when something changes.
    pub requeue_after: Option<u64>,
}
