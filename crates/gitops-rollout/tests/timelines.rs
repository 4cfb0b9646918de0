//! Snapshots of simulated timelines: one per strategy and outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use gitops_rollout::Phase;
use gitops_rollout::simulate::simulate;

fn timeline(rollout: &str, script: &str) -> gitops_rollout::simulate::Timeline {
    simulate(&common::rollout(rollout), &common::script(script)).unwrap()
}

#[test]
fn canary_with_analysis_failing_at_step_3_rolls_back() {
    let t = timeline("canary.yaml", "canary-fails.obs.yaml");
    assert_eq!(t.status.phase, Phase::RolledBack);
    assert_eq!(t.status.canary_weight, 0);
    assert_eq!(t.status.stable_revision.as_deref(), Some("v1"));
    insta::assert_snapshot!(t.to_text());
}

#[test]
fn canary_that_passes_is_promoted() {
    let t = timeline("canary.yaml", "canary-succeeds.obs.yaml");
    assert_eq!(t.status.phase, Phase::Healthy);
    assert_eq!(t.status.stable_revision.as_deref(), Some("v2"));
    insta::assert_snapshot!(t.to_text());
}

#[test]
fn blue_green_waits_for_manual_promotion() {
    let t = timeline("blue-green.yaml", "blue-green.obs.yaml");
    assert_eq!(t.status.phase, Phase::Healthy);
    assert_eq!(t.status.stable_revision.as_deref(), Some("v2"));
    insta::assert_snapshot!(t.to_text());
}

#[test]
fn ab_test_routes_headers_then_promotes() {
    let t = timeline("ab-test.yaml", "ab-test.obs.yaml");
    assert_eq!(t.status.phase, Phase::Healthy);
    insta::assert_snapshot!(t.to_text());
}
