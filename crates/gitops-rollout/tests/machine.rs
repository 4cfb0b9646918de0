//! The state machine: a table of strategies and commands driven through the simulator, direct
//! calls for the edges, and property tests of its invariants.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use gitops_rollout::machine::reconcile_plan;
use gitops_rollout::plan::Plan;
use gitops_rollout::simulate::{Script, Timeline, simulate};
use gitops_rollout::spec::{
    AnalysisRef, AnalysisTemplate, BlueGreenStrategy, CanaryStep, CanaryStrategy, Duration,
    Metadata, Metric, MetricProvider, PauseStep, PrometheusMetric, ProviderKind, Rollout,
    RolloutSpec, ServiceSpec, Strategy, TemplateRef, WeightLoop, WorkloadRef,
};
use gitops_rollout::{Action, Command, Observations, Phase, RolloutStatus, RunResult};
use proptest::prelude::{
    Just, ProptestConfig, TestCaseError, any, prop_assert, prop_assert_eq, prop_oneof, proptest,
};
use proptest::strategy::Strategy as _;

const CANARY: &str = r"
apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  targetRef: {name: web}
  trafficRouting: {smi: {}}
  strategy:
    canary:
      steps:
        - setWeight: 20
        - analysis: {templates: [{templateName: t}]}
        - pause: {}
        - setWeight: 50
        - pause: {duration: 60}
  analysisTemplates:
    - name: t
      metrics: [{name: m, provider: {prometheus: {query: up}}}]
";

const LOOP: &str = r"
apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  targetRef: {name: web}
  trafficRouting: {smi: {}}
  strategy:
    canary:
      analysis:
        interval: 10s
        threshold: 2
        stepWeight: 25
        maxWeight: 50
        templates: [{templateName: t}]
  analysisTemplates:
    - name: t
      metrics: [{name: m, provider: {prometheus: {query: up}}}]
";

const PLAIN: &str = r"
apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  targetRef: {name: web}
  strategy:
    canary:
      steps: [{setWeight: 25}, {pause: {duration: 10}}, {setWeight: 50}]
";

const BLUE_GREEN_AUTO: &str = r"
apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  targetRef: {name: web}
  strategy:
    blueGreen:
      activeService: web
      previewService: web-preview
      autoPromotionSeconds: 30
      postPromotionAnalysis: {templates: [{templateName: t}]}
      scaleDownDelaySeconds: 0
  analysisTemplates:
    - name: t
      metrics: [{name: m, provider: {prometheus: {query: up}}}]
";

fn script(text: &str) -> Script {
    let value = gitops_core::yaml::parse_value(text, gitops_core::yaml::Schema::Yaml12).unwrap();
    serde_json::from_value(value).unwrap()
}

fn run(rollout: &str, script_text: &str) -> Timeline {
    simulate(&common::parse(rollout), &script(script_text)).unwrap()
}

fn has(t: &Timeline, f: impl Fn(&Action) -> bool) -> bool {
    t.entries.iter().flat_map(|e| &e.actions).any(f)
}

#[test]
fn strategies_and_commands() {
    // (name, rollout, script, final phase, final canary weight, stable revision)
    let cases: &[(&str, &str, &str, Phase, u8, &str)] = &[
        (
            "canary stops at an indefinite pause",
            CANARY,
            "events: [{at: 0, revision: v2}]",
            Phase::Paused,
            20,
            "v1",
        ),
        (
            "promote goes past the pause",
            CANARY,
            "events: [{at: 0, revision: v2}, {at: 100, commands: [promote]}]",
            Phase::Healthy,
            0,
            "v2",
        ),
        (
            "abort returns traffic to stable",
            CANARY,
            "events: [{at: 0, revision: v2}, {at: 100, commands: [abort]}]",
            Phase::Degraded,
            0,
            "v1",
        ),
        (
            "retry after abort starts over",
            CANARY,
            "events: [{at: 0, revision: v2}, {at: 100, commands: [abort]}, {at: 200, commands: [retry]}]",
            Phase::Paused,
            20,
            "v1",
        ),
        (
            "pause holds, resume continues to the next pause",
            CANARY,
            "events: [{at: 0, revision: v2}, {at: 5, commands: [pause]}, {at: 50, commands: [resume]}]",
            Phase::Paused,
            20,
            "v1",
        ),
        (
            "failed analysis rolls back",
            CANARY,
            "analysis: [Failed]\nevents: [{at: 0, revision: v2}]",
            Phase::RolledBack,
            0,
            "v1",
        ),
        (
            "errored analysis rolls back",
            CANARY,
            "analysis: [Error]\nevents: [{at: 0, revision: v2}]",
            Phase::RolledBack,
            0,
            "v1",
        ),
        (
            "inconclusive analysis pauses",
            CANARY,
            "analysis: [Inconclusive]\nevents: [{at: 0, revision: v2}]",
            Phase::Paused,
            20,
            "v1",
        ),
        (
            "resume re-runs an inconclusive analysis",
            CANARY,
            "analysis: [Inconclusive, Successful]\nevents: [{at: 0, revision: v2}, {at: 100, commands: [resume]}, {at: 200, commands: [promote]}]",
            Phase::Healthy,
            0,
            "v2",
        ),
        (
            "skip analysis goes on while a run is under way",
            CANARY,
            "analysis: [Running]\nevents: [{at: 0, revision: v2}, {at: 5, commands: [skipAnalysis]}, {at: 100, commands: [promote]}]",
            Phase::Healthy,
            0,
            "v2",
        ),
        (
            "a canary never ready misses the progress deadline",
            CANARY,
            "events: [{at: 0, revision: v2, canaryReady: false}]",
            Phase::Degraded,
            0,
            "v1",
        ),
        (
            "reverting to stable cancels",
            CANARY,
            "events: [{at: 0, revision: v2}, {at: 50, revision: v1}]",
            Phase::Healthy,
            0,
            "v1",
        ),
        (
            "weight loop tolerates threshold - 1 failures",
            LOOP,
            "analysis: [Failed, Successful, Successful]\nevents: [{at: 0, revision: v2}]",
            Phase::Healthy,
            0,
            "v2",
        ),
        (
            "weight loop rolls back at the threshold",
            LOOP,
            "analysis: [Successful, Failed, Failed]\nevents: [{at: 0, revision: v2}]",
            Phase::RolledBack,
            0,
            "v1",
        ),
        (
            "plain canary promotes",
            PLAIN,
            "events: [{at: 0, revision: v2}]",
            Phase::Healthy,
            0,
            "v2",
        ),
        (
            "blue-green promotes itself after autoPromotionSeconds",
            BLUE_GREEN_AUTO,
            "events: [{at: 0, revision: v2}]",
            Phase::Healthy,
            0,
            "v2",
        ),
        (
            "blue-green post-promotion failure switches back",
            BLUE_GREEN_AUTO,
            "analysis: [Failed]\nevents: [{at: 0, revision: v2}]",
            Phase::RolledBack,
            0,
            "v1",
        ),
        (
            "blue-green stable never ready misses the deadline",
            BLUE_GREEN_AUTO,
            "events: [{at: 0, revision: v2, stableReady: false}]",
            Phase::Degraded,
            0,
            "v1",
        ),
    ];
    for (name, rollout, script_text, phase, weight, stable) in cases {
        let t = run(rollout, script_text);
        assert_eq!(t.status.phase, *phase, "{name}\n{}", t.to_text());
        assert_eq!(t.status.canary_weight, *weight, "{name}\n{}", t.to_text());
        assert_eq!(
            t.status.stable_revision.as_deref(),
            Some(*stable),
            "{name}\n{}",
            t.to_text()
        );
    }
}

#[test]
fn a_new_revision_mid_rollout_restarts_at_step_0() {
    let t = run(
        CANARY,
        "analysis: [Running]\nevents: [{at: 0, revision: v2}, {at: 30, revision: v3}]",
    );
    let restart = t.entries.iter().find(|e| e.at == 30).unwrap();
    assert_eq!(
        restart.actions[..3],
        [
            Action::StopAnalysis {
                run: "web-v2-1".into()
            },
            Action::SetWeight {
                canary: 0,
                stable: 100
            },
            Action::ScaleCanary { replicas: 4 },
        ]
    );
    assert_eq!(restart.step, 0);
    assert_eq!(t.status.canary_revision.as_deref(), Some("v3"));
}

#[test]
fn plain_routing_approximates_weights_by_replicas() {
    let t = run(PLAIN, "replicas: 4\nevents: [{at: 0, revision: v2}]");
    assert!(has(&t, |a| *a == Action::ScaleCanary { replicas: 1 }));
    assert!(has(&t, |a| *a == Action::ScaleStable { replicas: 3 }));
    assert!(has(&t, |a| *a == Action::ScaleCanary { replicas: 2 }));
    assert!(has(&t, |a| *a == Action::ScaleStable { replicas: 2 }));
    let last = t.entries.last().unwrap();
    assert!(last.actions.contains(&Action::ScaleStable { replicas: 4 }));
    assert!(last.actions.contains(&Action::ScaleCanary { replicas: 0 }));
}

#[test]
fn analysis_runs_get_the_builtin_arguments() {
    let t = run(CANARY, "events: [{at: 0, revision: v2}]");
    let args = t
        .entries
        .iter()
        .flat_map(|e| &e.actions)
        .find_map(|a| match a {
            Action::StartAnalysis { args, .. } => Some(args.clone()),
            _ => None,
        })
        .unwrap();
    insta::assert_json_snapshot!(args, @r#"
    {
      "canary-service": "web-canary",
      "name": "web",
      "namespace": "default",
      "revision": "v2",
      "service": "web",
      "stable-service": "web-primary"
    }
    "#);
}

#[test]
fn the_first_revision_is_adopted_and_an_idle_rollout_asks_for_nothing() {
    let rollout = common::parse(CANARY);
    let obs = Observations {
        revision: "v1".into(),
        ..Observations::default()
    };
    let first = gitops_rollout::reconcile(&rollout, &RolloutStatus::default(), &obs, 0).unwrap();
    assert_eq!(first.status.phase, Phase::Healthy);
    assert_eq!(first.requeue_after, None);
    let again = gitops_rollout::reconcile(&rollout, &first.status, &obs, 50).unwrap();
    assert!(again.actions.is_empty());
    assert_eq!(again.status, first.status);
    // Commands without a rollout change nothing.
    let obs = Observations {
        commands: vec![Command::Abort, Command::Promote, Command::Retry],
        ..obs
    };
    let idle = gitops_rollout::reconcile(&rollout, &first.status, &obs, 60).unwrap();
    assert!(idle.actions.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Property tests

#[derive(Debug, Clone)]
enum GenStep {
    Weight(u8),
    Pause(Option<u64>),
    Analysis,
}

fn metric() -> Metric {
    Metric {
        name: "m".into(),
        provider: MetricProvider::Prometheus(PrometheusMetric {
            address: None,
            query: "up".into(),
            timeout: None,
        }),
        interval: None,
        count: None,
        success_condition: None,
        failure_condition: None,
        failure_limit: None,
        inconclusive_limit: None,
        threshold_range: None,
    }
}

fn analysis() -> AnalysisRef {
    AnalysisRef {
        templates: vec![TemplateRef {
            template_name: "t".into(),
        }],
        args: Vec::new(),
    }
}

fn rollout_with(strategy: Strategy, provider: Option<ProviderKind>) -> Rollout {
    Rollout {
        api_version: "gitops.rs/v1alpha1".into(),
        kind: "Rollout".into(),
        metadata: Metadata {
            name: "r".into(),
            ..Metadata::default()
        },
        spec: RolloutSpec {
            target_ref: WorkloadRef {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: "r".into(),
            },
            service: ServiceSpec::default(),
            progress_deadline_seconds: Some(120),
            traffic_routing: provider.map(ProviderKind::default_routing),
            strategy,
            analysis_templates: vec![AnalysisTemplate {
                name: "t".into(),
                args: Vec::new(),
                metrics: vec![metric()],
            }],
            webhooks: Vec::new(),
        },
    }
}

fn strategy() -> impl proptest::strategy::Strategy<Value = Strategy> {
    let step = prop_oneof![
        (0u8..=100).prop_map(GenStep::Weight),
        proptest::option::of(0u64..300).prop_map(GenStep::Pause),
        Just(GenStep::Analysis),
    ];
    let steps = proptest::collection::vec(step, 1..8).prop_map(|steps| {
        Strategy::Canary(CanaryStrategy {
            steps: steps
                .into_iter()
                .map(|s| match s {
                    GenStep::Weight(w) => CanaryStep::SetWeight(w),
                    GenStep::Pause(d) => CanaryStep::Pause(PauseStep {
                        duration: d.map(Duration),
                    }),
                    GenStep::Analysis => CanaryStep::Analysis(analysis()),
                })
                .collect(),
            analysis: None,
        })
    });
    let weight_loop = (1u8..=60, 1u8..=100, 1u32..=3, 1u64..60).prop_map(|(step, max, t, i)| {
        Strategy::Canary(CanaryStrategy {
            steps: Vec::new(),
            analysis: Some(WeightLoop {
                interval: Duration(i),
                threshold: Some(t),
                max_weight: Some(max),
                step_weight: Some(step),
                step_weights: Vec::new(),
                templates: analysis().templates,
                args: Vec::new(),
            }),
        })
    });
    let blue_green = (any::<bool>(), proptest::option::of(0u64..100), 0u64..100).prop_map(
        |(auto, secs, delay)| {
            Strategy::BlueGreen(BlueGreenStrategy {
                active_service: "r".into(),
                preview_service: Some("r-preview".into()),
                auto_promotion_enabled: Some(auto),
                auto_promotion_seconds: secs,
                pre_promotion_analysis: Some(analysis()),
                post_promotion_analysis: Some(analysis()),
                scale_down_delay_seconds: Some(delay),
            })
        },
    );
    prop_oneof![steps, weight_loop, blue_green]
}

fn provider() -> impl proptest::strategy::Strategy<Value = Option<ProviderKind>> {
    prop_oneof![
        Just(None),
        Just(Some(ProviderKind::Smi)),
        Just(Some(ProviderKind::Istio)),
        Just(Some(ProviderKind::Plain)),
    ]
}

fn result() -> impl proptest::strategy::Strategy<Value = RunResult> {
    prop_oneof![
        4 => Just(RunResult::Successful),
        2 => Just(RunResult::Failed),
        1 => Just(RunResult::Inconclusive),
        1 => Just(RunResult::Error),
    ]
}

fn command() -> impl proptest::strategy::Strategy<Value = Command> {
    prop_oneof![
        Just(Command::Promote),
        Just(Command::Abort),
        Just(Command::Retry),
        Just(Command::Pause),
        Just(Command::Resume),
        Just(Command::SkipAnalysis),
    ]
}

fn events() -> impl proptest::strategy::Strategy<Value = Vec<gitops_rollout::simulate::Event>> {
    let event = (
        0u64..2000,
        proptest::option::of(0u8..3),
        proptest::option::of(command()),
    )
        .prop_map(|(at, rev, cmd)| gitops_rollout::simulate::Event {
            at,
            revision: rev.map(|r| format!("v{}", r + 2)),
            commands: cmd.into_iter().collect(),
            ..Default::default()
        });
    proptest::collection::vec(event, 0..6)
}

fn scripted(results: Vec<RunResult>, mut events: Vec<gitops_rollout::simulate::Event>) -> Script {
    events.push(gitops_rollout::simulate::Event {
        at: 0,
        revision: Some("v2".into()),
        ..Default::default()
    });
    Script {
        stable: "v1".into(),
        replicas: 5,
        until: 100_000,
        analysis: results,
        events,
    }
}

fn check_weights(t: &Timeline) -> Result<(), TestCaseError> {
    for e in &t.entries {
        prop_assert!(e.canary_weight <= 100);
        prop_assert_eq!(u16::from(e.canary_weight) + u16::from(e.stable_weight), 100);
        for a in &e.actions {
            if let Action::SetWeight { canary, stable } = a {
                prop_assert!(*canary <= 100 && *stable <= 100);
                prop_assert_eq!(u16::from(*canary) + u16::from(*stable), 100);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    /// Weights stay within 0..=100 and sum to 100, whatever happens.
    #[test]
    fn weights_are_percentages(
        s in strategy(), p in provider(),
        results in proptest::collection::vec(result(), 0..10), ev in events(),
    ) {
        let rollout = rollout_with(s, p);
        let t = simulate(&rollout, &scripted(results, ev)).unwrap();
        check_weights(&t)?;
    }

    /// An abort at any time leaves no traffic on the canary and the canary scaled to zero.
    #[test]
    fn abort_reaches_zero_canary_weight(
        s in strategy(), p in provider(),
        results in proptest::collection::vec(result(), 0..10), at in 0u64..1000,
    ) {
        let rollout = rollout_with(s, p);
        let ev = vec![gitops_rollout::simulate::Event {
            at,
            commands: vec![Command::Abort],
            ..Default::default()
        }];
        let t = simulate(&rollout, &scripted(results, ev)).unwrap();
        let abort = t.entries.iter().find(|e| e.commands.contains(&Command::Abort));
        if let Some(e) = abort
            && e.phase == Phase::Degraded
        {
                prop_assert_eq!(e.canary_weight, 0);
                let to_canary = e.actions.iter().any(|a| {
                    matches!(a, Action::SwitchService { to: gitops_rollout::machine::Role::Canary, .. })
                });
                prop_assert!(!to_canary);
                prop_assert_eq!(t.status.canary_weight, 0);
                prop_assert_eq!(t.status.canary_replicas, 0);
                prop_assert!(t.status.header_route.is_empty() && t.status.switched_services.is_empty());
            }
    }

    /// Without commands every run settles (Healthy, Degraded/RolledBack or Paused), within a
    /// number of calls bounded by steps × threshold.
    #[test]
    fn every_run_settles_within_the_bound(
        s in strategy(), p in provider(),
        results in proptest::collection::vec(result(), 0..30),
    ) {
        let rollout = rollout_with(s, p);
        let plan = Plan::build(&rollout).unwrap();
        let t = simulate(&rollout, &scripted(results, Vec::new())).unwrap();
        prop_assert!(t.status.phase.is_settled(), "{}", t.to_text());
        // Per step: a readiness look, and per failed check a start and a look; plus promotion.
        let bound = (plan.steps.len() + 1) * (3 * plan.threshold as usize + 3) + 8;
        prop_assert!(t.calls <= bound, "{} calls > {bound}\n{}", t.calls, t.to_text());
    }

    /// The same inputs give the same outputs.
    #[test]
    fn the_machine_is_deterministic(
        s in strategy(), p in provider(),
        results in proptest::collection::vec(result(), 0..10), ev in events(),
    ) {
        let rollout = rollout_with(s, p);
        let script = scripted(results, ev);
        let a = simulate(&rollout, &script).unwrap();
        let b = simulate(&rollout, &script).unwrap();
        prop_assert_eq!(&a, &b);
        // And one call, repeated, decides the same.
        let plan = Plan::build(&rollout).unwrap();
        let obs = Observations { revision: "v2".into(), canary_ready: true, ..Default::default() };
        let status = RolloutStatus { stable_revision: Some("v1".into()), ..Default::default() };
        prop_assert_eq!(
            reconcile_plan(&rollout, &plan, &status, &obs, 7),
            reconcile_plan(&rollout, &plan, &status, &obs, 7)
        );
    }
}
