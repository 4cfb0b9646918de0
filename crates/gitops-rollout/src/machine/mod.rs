//! The rollout state machine: a pure function from (spec, status, observations, now) to (new
//! status, actions, when to call again).
//!
//! It never sleeps and never reads a clock: `now` is an input, and [`Decision::requeue_after`]
//! says when the machine next wants to be called. One call may walk several steps (a weight
//! change, then a timed pause); it stops whenever it needs fresh observations (after scaling,
//! after starting an analysis run) or has to wait.
//!
//! Rules every strategy shares:
//! - the first revision seen becomes stable without a rollout;
//! - a new revision, even mid-rollout, stops any analysis and restarts from step 0;
//! - `abort`, a missed progress deadline and `threshold` failed checks all return every request
//!   to stable (weight 0, header routes removed, services switched back) and scale the canary to
//!   zero; the failed revision is not retried until a `retry` command or a newer revision;
//! - reverting the workload to the stable revision cancels the rollout.

mod types;

use std::collections::BTreeMap;

pub use types::{
    Action, Command, Decision, Observations, Phase, Promotion, Role, RolloutStatus, RunResult,
    Timestamp,
};

use crate::plan::{Plan, PlanError, PlanKind, PlanStep};
use crate::spec::{AnalysisRef, Rollout};

/// Seconds between readiness checks while the machine waits for a workload.
pub const READY_POLL_SECONDS: u64 = 10;
/// Seconds between looks at a running analysis.
pub const ANALYSIS_POLL_SECONDS: u64 = 10;

/// Decides what to do for `rollout` given what it did before (`status`) and what the cluster
/// shows now (`observations`).
///
/// # Errors
/// A spec the machine cannot run (see [`Plan::build`]), with its field path.
pub fn reconcile(
    rollout: &Rollout,
    status: &RolloutStatus,
    observations: &Observations,
    now: Timestamp,
) -> Result<Decision, PlanError> {
    let plan = Plan::build(rollout)?;
    Ok(reconcile_plan(rollout, &plan, status, observations, now))
}

/// As [`reconcile`] with a plan built beforehand (the simulator builds it once).
#[must_use]
pub fn reconcile_plan(
    rollout: &Rollout,
    plan: &Plan,
    status: &RolloutStatus,
    observations: &Observations,
    now: Timestamp,
) -> Decision {
    let mut machine = Machine {
        rollout,
        plan,
        obs: observations,
        now,
        st: status.clone(),
        actions: Vec::new(),
        requeue: None,
        promote: false,
        skip: false,
    };
    machine.run();
    let Machine {
        st,
        mut actions,
        requeue,
        ..
    } = machine;
    if st.phase != status.phase || st.message != status.message {
        actions.push(Action::Mark {
            phase: st.phase,
            message: st.message.clone(),
        });
    }
    Decision {
        status: st,
        actions,
        requeue_after: requeue,
    }
}

struct Machine<'a> {
    rollout: &'a Rollout,
    plan: &'a Plan,
    obs: &'a Observations,
    now: Timestamp,
    st: RolloutStatus,
    actions: Vec<Action>,
    requeue: Option<u64>,
    /// A promote command not yet consumed by a step.
    promote: bool,
    /// A skip-analysis command not yet consumed by a step.
    skip: bool,
}

/// What a step did.
enum Flow {
    /// Go to the next step in this call.
    Next,
    /// Stay on this step, but look at it again in this call.
    Again,
    /// Stop here; `requeue` says when to come back.
    Wait,
}

impl Machine<'_> {
    fn run(&mut self) {
        let rev = self.obs.revision.clone();
        let Some(stable) = self.st.stable_revision.clone() else {
            self.st.stable_revision = Some(rev.clone());
            self.set_phase(Phase::Healthy, format!("revision {rev} is stable"));
            return;
        };
        if rev == stable {
            if self.st.canary_revision.as_ref().is_some_and(|c| *c != rev) {
                self.cancel(&rev);
                return;
            }
        } else if self.st.canary_revision.as_deref() != Some(rev.as_str()) {
            self.start(rev);
            return;
        }
        for command in &self.obs.commands {
            self.command(*command);
        }
        if self.st.canary_revision.is_none() {
            if self.st.phase != Phase::Healthy {
                self.set_phase(Phase::Healthy, format!("revision {stable} is stable"));
            }
            return;
        }
        if self.st.phase.is_failed() {
            return;
        }
        if self.st.paused {
            self.set_phase(Phase::Paused, "paused by command".to_owned());
            return;
        }
        if let Some(promotion) = self.st.promotion {
            self.promotion(promotion);
            return;
        }
        self.steps();
    }

    fn in_flight(&self) -> bool {
        self.st.canary_revision.is_some() && !self.st.phase.is_failed()
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Abort if self.in_flight() => {
                self.abort(Phase::Degraded, "aborted by command".to_owned());
            }
            Command::Retry if self.st.phase.is_failed() => {
                if let Some(rev) = self.st.canary_revision.clone() {
                    self.start(rev);
                }
            }
            Command::Pause if self.in_flight() => self.st.paused = true,
            Command::Resume => {
                self.st.paused = false;
                if self.st.inconclusive {
                    self.st.inconclusive = false;
                    self.st.step_started_at = Some(self.now);
                }
            }
            Command::Promote => {
                self.st.paused = false;
                self.promote = true;
            }
            Command::SkipAnalysis => self.skip = true,
            Command::Abort | Command::Retry | Command::Pause => {}
        }
    }

    /// A new revision: everything starts over from step 0.
    fn start(&mut self, rev: String) {
        if let Some(run) = self.st.analysis_run.take() {
            self.actions.push(Action::StopAnalysis { run });
        }
        self.return_traffic();
        self.st.canary_revision = Some(rev.clone());
        self.st.current_step = 0;
        self.st.step_started_at = None;
        self.st.failed_checks = 0;
        self.st.inconclusive = false;
        self.st.paused = false;
        self.st.promotion = None;
        self.st.waiting_since = Some(self.now);
        let replicas = if self.plan.kind == PlanKind::Canary && !self.plan.routed() {
            1
        } else {
            self.obs.replicas
        };
        // The canary's pods change with the revision even when the count does not.
        self.st.canary_replicas = replicas;
        self.actions.push(Action::ScaleCanary { replicas });
        self.set_phase(Phase::Progressing, format!("rolling out revision {rev}"));
        self.requeue = Some(0);
    }

    /// The workload went back to the stable revision: drop the rollout.
    fn cancel(&mut self, stable: &str) {
        if let Some(run) = self.st.analysis_run.take() {
            self.actions.push(Action::StopAnalysis { run });
        }
        if self.st.promotion == Some(Promotion::UpdatingStable) {
            self.actions.push(Action::PromoteStable {
                revision: stable.to_owned(),
            });
        }
        self.return_traffic();
        self.scale_canary(0);
        self.reset();
        self.set_phase(
            Phase::Healthy,
            format!("revision {stable} is wanted again: rollout cancelled"),
        );
    }

    fn reset(&mut self) {
        self.st.canary_revision = None;
        self.st.current_step = 0;
        self.st.step_started_at = None;
        self.st.inconclusive = false;
        self.st.paused = false;
        self.st.promotion = None;
        self.st.waiting_since = None;
        self.requeue = None;
    }

    /// Sends every request back to the stable workload.
    fn return_traffic(&mut self) {
        if !self.st.header_route.is_empty() {
            self.st.header_route.clear();
            self.actions.push(Action::ClearHeaderRoute);
        }
        for service in std::mem::take(&mut self.st.switched_services) {
            self.actions.push(Action::SwitchService {
                service,
                to: Role::Stable,
            });
        }
        if self.st.canary_weight != 0 && self.plan.kind == PlanKind::Canary {
            self.actions.push(Action::SetWeight {
                canary: 0,
                stable: 100,
            });
        }
        self.st.canary_weight = 0;
        if self.plan.kind == PlanKind::Canary && !self.plan.routed() {
            self.actions.push(Action::ScaleStable {
                replicas: self.obs.replicas,
            });
        }
    }

    fn abort(&mut self, phase: Phase, message: String) {
        if let Some(run) = self.st.analysis_run.take() {
            self.actions.push(Action::StopAnalysis { run });
        }
        self.return_traffic();
        self.scale_canary(0);
        self.st.inconclusive = false;
        self.st.paused = false;
        self.st.promotion = None;
        self.st.waiting_since = None;
        self.set_phase(phase, message);
        self.requeue = None;
    }

    fn set_phase(&mut self, phase: Phase, message: String) {
        self.st.phase = phase;
        self.st.message = message;
    }

    /// Asks for `replicas` canary pods; true when that is a change.
    fn scale_canary(&mut self, replicas: u32) -> bool {
        if self.st.canary_replicas == replicas {
            return false;
        }
        self.st.canary_replicas = replicas;
        self.actions.push(Action::ScaleCanary { replicas });
        true
    }

    /// Waits for a workload to become ready, aborting past the progress deadline.
    fn await_ready(&mut self, what: &str) {
        let deadline = self.plan.progress_deadline;
        let since = *self.st.waiting_since.get_or_insert(self.now);
        let waited = self.now.saturating_sub(since);
        if waited >= deadline {
            self.abort(
                Phase::Degraded,
                format!("{what} not ready within progressDeadlineSeconds ({deadline}s)"),
            );
            return;
        }
        if self.st.phase != Phase::Promoting {
            self.set_phase(
                Phase::Progressing,
                format!("waiting for the {what} to become ready"),
            );
        }
        self.requeue = Some(READY_POLL_SECONDS.min(deadline - waited));
    }

    fn steps(&mut self) {
        if !self.obs.canary_ready {
            self.await_ready("canary");
            return;
        }
        self.st.waiting_since = None;
        // Each step either moves on or stops; `Again` happens at most once per failed check.
        let bound = 2 * self.plan.steps.len() + 2;
        for _ in 0..bound {
            let Some(step) = self.plan.steps.get(self.st.current_step) else {
                self.begin_promotion();
                return;
            };
            let started = *self.st.step_started_at.get_or_insert(self.now);
            let flow = match step {
                PlanStep::SetWeight(w) => self.set_weight(*w),
                PlanStep::Pause(duration) => self.pause(*duration, started),
                PlanStep::Analysis { analysis, delay } => self.analysis(analysis, *delay, started),
                PlanStep::SetCanaryScale(scale) => {
                    let n = self.obs.replicas;
                    let replicas = match (scale.replicas, scale.weight) {
                        (Some(r), _) => r,
                        (None, Some(w)) => ratio(n, w),
                        (None, None) => self.weight_replicas(self.st.canary_weight),
                    };
                    if self.scale_canary(replicas) {
                        self.requeue = Some(0);
                        self.advance();
                        Flow::Wait
                    } else {
                        Flow::Next
                    }
                }
                PlanStep::SetHeaderRoute(matches) => {
                    if matches.is_empty() {
                        if !self.st.header_route.is_empty() {
                            self.actions.push(Action::ClearHeaderRoute);
                        }
                    } else {
                        self.actions.push(Action::SetHeaderRoute {
                            matches: matches.clone(),
                        });
                    }
                    self.st.header_route.clone_from(matches);
                    Flow::Next
                }
                PlanStep::SwitchService { service, active } => {
                    self.actions.push(Action::SwitchService {
                        service: service.clone(),
                        to: Role::Canary,
                    });
                    self.st.switched_services.push(service.clone());
                    if *active {
                        self.st.canary_weight = 100;
                    }
                    Flow::Next
                }
            };
            match flow {
                Flow::Next => self.advance(),
                Flow::Again => {}
                Flow::Wait => return,
            }
        }
        // Unreachable with a valid plan; wait rather than spin.
        self.requeue = Some(ANALYSIS_POLL_SECONDS);
    }

    fn advance(&mut self) {
        self.st.current_step += 1;
        self.st.step_started_at = None;
        if self.st.phase != Phase::Progressing {
            let step = self.st.current_step;
            self.set_phase(Phase::Progressing, format!("at step {step}"));
        }
    }

    /// Canary replicas for a weight when replica counts stand in for a router.
    fn weight_replicas(&self, weight: u8) -> u32 {
        if self.plan.routed() || self.plan.kind == PlanKind::BlueGreen {
            self.obs.replicas
        } else {
            ratio(self.obs.replicas, weight).max(1)
        }
    }

    fn set_weight(&mut self, w: u8) -> Flow {
        if self.st.canary_weight != w {
            self.actions.push(Action::SetWeight {
                canary: w,
                stable: 100 - w,
            });
            self.st.canary_weight = w;
        }
        if self.plan.routed() {
            return Flow::Next;
        }
        let n = self.obs.replicas;
        let stable = n.saturating_sub(ratio(n, w)).max(u32::from(w < 100));
        self.actions.push(Action::ScaleStable { replicas: stable });
        if self.scale_canary(self.weight_replicas(w)) {
            self.requeue = Some(0);
            self.advance();
            return Flow::Wait;
        }
        Flow::Next
    }

    fn pause(&mut self, duration: Option<u64>, started: Timestamp) -> Flow {
        if self.promote {
            self.promote = false;
            return Flow::Next;
        }
        let step = self.st.current_step;
        match duration {
            None => {
                self.set_phase(
                    Phase::Paused,
                    format!("paused at step {step} until promoted"),
                );
                self.requeue = None;
                Flow::Wait
            }
            Some(d) if self.now >= started.saturating_add(d) => Flow::Next,
            Some(d) => {
                let left = started.saturating_add(d) - self.now;
                self.set_phase(
                    Phase::Paused,
                    format!("paused at step {step} for {d}s ({left}s left)"),
                );
                self.requeue = Some(left);
                Flow::Wait
            }
        }
    }

    fn analysis(&mut self, analysis: &AnalysisRef, delay: u64, started: Timestamp) -> Flow {
        if self.skip {
            self.skip = false;
            self.st.inconclusive = false;
            if let Some(run) = self.st.analysis_run.take() {
                self.actions.push(Action::StopAnalysis { run });
            }
            return Flow::Next;
        }
        if self.st.inconclusive {
            if self.promote {
                self.promote = false;
                self.st.inconclusive = false;
                return Flow::Next;
            }
            self.set_phase(
                Phase::Paused,
                "analysis inconclusive: resume to measure again, promote or skip analysis to go on"
                    .to_owned(),
            );
            self.requeue = None;
            return Flow::Wait;
        }
        let Some(run) = self.st.analysis_run.clone() else {
            let due = started.saturating_add(delay);
            if self.now < due {
                if self.st.phase != Phase::Progressing || self.st.message.is_empty() {
                    let step = self.st.current_step;
                    self.set_phase(Phase::Progressing, format!("at step {step}"));
                }
                self.requeue = Some(due - self.now);
                return Flow::Wait;
            }
            if analysis.is_empty() {
                return Flow::Next;
            }
            let run = self.start_run(analysis);
            self.set_phase(Phase::Analyzing, format!("analysis run {run} started"));
            self.requeue = Some(ANALYSIS_POLL_SECONDS);
            return Flow::Wait;
        };
        match self.obs.analysis.get(&run).copied() {
            None | Some(RunResult::Running) => {
                self.set_phase(Phase::Analyzing, format!("analysis run {run} running"));
                self.requeue = Some(ANALYSIS_POLL_SECONDS);
                Flow::Wait
            }
            Some(RunResult::Successful) => {
                self.st.analysis_run = None;
                Flow::Next
            }
            Some(RunResult::Inconclusive) => {
                self.st.analysis_run = None;
                self.st.inconclusive = true;
                Flow::Again
            }
            Some(result @ (RunResult::Failed | RunResult::Error)) => {
                self.st.analysis_run = None;
                self.st.failed_checks += 1;
                let (failed, threshold) = (self.st.failed_checks, self.plan.threshold);
                let what = if result == RunResult::Error {
                    "errored"
                } else {
                    "failed"
                };
                if failed >= threshold {
                    self.abort(
                        Phase::RolledBack,
                        format!(
                            "analysis run {run} {what} ({failed} of {threshold} failed checks): rolled back"
                        ),
                    );
                    return Flow::Wait;
                }
                self.st.step_started_at = Some(self.now);
                self.set_phase(
                    Phase::Progressing,
                    format!(
                        "analysis run {run} {what} ({failed} of {threshold} failed checks): checking again"
                    ),
                );
                if delay == 0 {
                    Flow::Again
                } else {
                    self.requeue = Some(delay);
                    Flow::Wait
                }
            }
        }
    }

    fn start_run(&mut self, analysis: &AnalysisRef) -> String {
        let rollout = self.rollout;
        let rev = self.st.canary_revision.clone().unwrap_or_default();
        self.st.runs_started += 1;
        let short: String = rev.chars().take(10).collect();
        let run = format!("{}-{short}-{}", rollout.metadata.name, self.st.runs_started);
        let mut args = BTreeMap::from([
            ("namespace".to_owned(), rollout.namespace().to_owned()),
            ("name".to_owned(), rollout.spec.target_ref.name.clone()),
            ("service".to_owned(), rollout.service_name().to_owned()),
            ("canary-service".to_owned(), rollout.canary_service()),
            ("stable-service".to_owned(), rollout.stable_service()),
            ("revision".to_owned(), rev),
        ]);
        for arg in &analysis.args {
            if let Some(value) = &arg.value {
                args.insert(arg.name.clone(), value.clone());
            }
        }
        self.actions.push(Action::StartAnalysis {
            run: run.clone(),
            templates: analysis
                .templates
                .iter()
                .map(|t| t.template_name.clone())
                .collect(),
            args,
        });
        self.st.analysis_run = Some(run.clone());
        run
    }

    fn begin_promotion(&mut self) {
        let rev = self.st.canary_revision.clone().unwrap_or_default();
        self.st.promotion = Some(Promotion::UpdatingStable);
        self.st.waiting_since = Some(self.now);
        self.actions.push(Action::PromoteStable {
            revision: rev.clone(),
        });
        self.set_phase(
            Phase::Promoting,
            format!("promoting revision {rev} to stable"),
        );
        self.requeue = Some(0);
    }

    fn promotion(&mut self, promotion: Promotion) {
        let rev = self.st.canary_revision.clone().unwrap_or_default();
        match promotion {
            Promotion::UpdatingStable => {
                if !(self.obs.stable_ready && self.obs.stable_revision.as_deref() == Some(&rev)) {
                    self.await_ready("stable");
                    return;
                }
                self.st.waiting_since = None;
                self.return_traffic();
                self.st.stable_revision = Some(rev.clone());
                let delay = self.plan.scale_down_delay;
                if delay == 0 {
                    self.finish(&rev);
                } else {
                    self.st.promotion =
                        Some(Promotion::ScaleDownAt(self.now.saturating_add(delay)));
                    self.set_phase(
                        Phase::Promoting,
                        format!(
                            "revision {rev} serves all traffic; scaling down the canary in {delay}s"
                        ),
                    );
                    self.requeue = Some(delay);
                }
            }
            Promotion::ScaleDownAt(at) if self.now >= at => self.finish(&rev),
            Promotion::ScaleDownAt(at) => self.requeue = Some(at - self.now),
        }
    }

    fn finish(&mut self, rev: &str) {
        self.scale_canary(0);
        self.reset();
        self.set_phase(Phase::Healthy, format!("revision {rev} promoted"));
    }
}

/// `weight` percent of `n`, rounded up.
fn ratio(n: u32, weight: u8) -> u32 {
    let scaled = u64::from(n) * u64::from(weight.min(100));
    u32::try_from(scaled.div_ceil(100)).unwrap_or(n)
}
