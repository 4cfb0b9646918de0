//! A rollout spec is untrusted input: hostile numbers end in a clear error or a correct timeline,
//! never in a crash, a huge allocation or a wrapped clock. Each test is named after the attack.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use gitops_rollout::Phase;
use gitops_rollout::plan::{MAX_ITERATIONS, Plan};
use gitops_rollout::simulate::simulate;

const AB_TEST: &str = r"
apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  targetRef: {name: web}
  trafficRouting: {gatewayAPI: {httpRoute: web}}
  strategy:
    abTest:
      match: [{headers: {x-user: {exact: beta}}}]
      iterations: ITERATIONS
      interval: 1m
";

#[test]
fn ab_test_with_four_billion_iterations_is_refused_with_its_field_path() {
    let rollout = common::parse(&AB_TEST.replace("ITERATIONS", "4294967295"));
    let err = Plan::build(&rollout).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.strategy.abTest.iterations: expected at most 10000 iterations, found 4294967295"
    );
    let rollout = common::parse(&AB_TEST.replace("ITERATIONS", &MAX_ITERATIONS.to_string()));
    assert_eq!(
        Plan::build(&rollout).unwrap().steps.len(),
        MAX_ITERATIONS as usize + 1
    );
}

#[test]
fn scale_down_delay_of_u64_max_does_not_wrap_the_clock_to_an_immediate_scale_down() {
    let rollout = common::parse(
        r"
apiVersion: gitops.rs/v1alpha1
kind: Rollout
metadata: {name: web}
spec:
  targetRef: {name: web}
  trafficRouting: {plain: {}}
  strategy:
    blueGreen:
      activeService: web
      autoPromotionEnabled: false
      scaleDownDelaySeconds: 18446744073709551615
",
    );
    let script = serde_json::from_value(serde_json::json!({
        "stable": "v1",
        "until": u64::MAX,
        "events": [{"at": 0, "revision": "v2"}, {"at": 300, "commands": ["promote"]}],
    }))
    .unwrap();
    let t = simulate(&rollout, &script).unwrap();
    // v2 serves all traffic from t=300; the canary is scaled down at the end of time, not at
    // once (300 + u64::MAX wrapped to 299).
    let times: Vec<u64> = t.entries.iter().map(|e| e.at).collect();
    assert_eq!(times, [0, 0, 300, 300, u64::MAX], "{}", t.to_text());
    assert_eq!(t.status.phase, Phase::Healthy, "{}", t.to_text());
    assert_eq!(t.status.stable_revision.as_deref(), Some("v2"));
}
