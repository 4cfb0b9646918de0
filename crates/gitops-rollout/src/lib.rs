//! Progressive delivery for gitops: what Flagger and Argo Rollouts do, as a library.
//!
//! - [`spec`]: the `Rollout` resource (`gitops.rs/v1alpha1`) with canary, blue-green and A/B
//!   strategies, traffic routing and analysis templates; [`readers`] turn Flagger `Canary` and
//!   Argo `Rollout` objects into it and list the fields they could not carry over.
//! - [`plan`]: validation, and every strategy flattened into one list of steps.
//! - [`machine`]: the pure state machine.
//! - [`providers`]: desired weights and header routes → the router's objects (SMI, Gateway API,
//!   Istio, NGINX, plain Services).
//! - [`analysis`]: argument templating, condition evaluation and run bookkeeping; the Prometheus
//!   client (I/O) is in `analysis::prometheus` behind the `prometheus` feature.
//! - [`simulate`]: runs the machine against a scripted cluster, for docs, tests and the CLI.
//! - [`webhook`]: the `confirm-rollout` and `confirm-promotion` gates of `spec.webhooks`.
//! - [`workload`]: the Flagger model of a target Deployment (its `-primary` copy, revisions).
//! - [`object`]: the `Rollout` as a cluster object: its status, user commands, and (feature
//!   `cluster`) its CRD; the operator's controller is the cluster edge of the machine.
//! - [`report`]: rows and descriptions of live rollouts, for `gitops get rollouts` and
//!   `gitops rollout status`.
//!
//! # Driving a rollout (what the operator's Rollout controller does)
//!
//! Per reconcile of one `Rollout`, the controller (`gitops-operator`):
//! 1. gathers [`Observations`]: the target's current revision and replica count, whether the
//!    canary and stable workloads are ready, results of analysis runs it is carrying out, and user
//!    commands;
//! 2. calls [`reconcile`] with the spec, the status it stored last time and the current time;
//! 3. applies [`Decision::actions`] in order — [`providers::render`] turns the traffic state of
//!    the new status into objects to apply; `StartAnalysis` runs become
//!    [`analysis::AnalysisRun`]s measured with [`analysis::AnalysisRun::tick`];
//! 4. stores [`Decision::status`] and calls again after [`Decision::requeue_after`] seconds, or
//!    when something changes.
//!
//! ```
//! use gitops_rollout::{Observations, RolloutStatus, reconcile};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let rollout = gitops_rollout::load::from_yaml(
//!     "apiVersion: gitops.rs/v1alpha1\nkind: Rollout\nmetadata: {name: web}\n\
//!      spec:\n  targetRef: {name: web}\n  strategy:\n    canary:\n      steps:\n\
//!      \x20       - setWeight: 20\n        - pause: {}\n",
//!     None,
//! )?
//! .rollout;
//! let obs = Observations { revision: "v1".into(), replicas: 2, ..Default::default() };
//! let first = reconcile(&rollout, &RolloutStatus::default(), &obs, 0)?;
//! assert_eq!(first.status.stable_revision.as_deref(), Some("v1"));
//! # Ok(()) }
//! ```

pub mod analysis;
pub mod load;
pub mod machine;
pub mod object;
pub mod plan;
pub mod providers;
pub mod readers;
pub mod report;
pub mod simulate;
pub mod spec;
pub mod webhook;
pub mod workload;

pub use machine::{
    Action, Command, Decision, Observations, Phase, RolloutStatus, RunResult, Timestamp, reconcile,
};
pub use spec::Rollout;
#[cfg(feature = "cluster")]
pub use spec::RolloutObject;
