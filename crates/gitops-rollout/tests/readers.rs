//! Readers: Flagger `Canary` (the seed's demo repository in the shared corpus) and Argo
//! `Rollout` map into our spec, listing what they cannot carry; bad input names file, line and
//! field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod common;

use std::path::Path;

use gitops_core::yaml;
use gitops_rollout::load::{self, Format};
use gitops_rollout::plan::Plan;

fn corpus(path: &str) -> Option<(String, std::path::PathBuf)> {
    let file = gitops_testenv::corpus::path(path)?;
    let text = std::fs::read_to_string(&file).ok()?;
    Some((text, file))
}

fn report(loaded: &[load::Loaded]) -> String {
    let mut out = String::new();
    for l in loaded {
        let value = serde_json::to_value(&l.rollout).unwrap();
        out.push_str(&yaml::to_string(&value));
        out.push_str("# unsupported:\n");
        for u in &l.unsupported {
            out.push_str(&format!("#   {u}\n"));
        }
        out.push_str("---\n");
    }
    out
}

#[test]
fn flagger_canaries_of_the_linkerd_demo() {
    let Some((text, file)) = corpus("gitops-linkerd/apps/faces/faces-canary.yaml") else {
        return;
    };
    let loaded = load::load_all(&text, Some(&file)).unwrap();
    assert_eq!(loaded.len(), 3);
    for l in &loaded {
        assert_eq!(l.format, Format::Flagger);
        let plan = Plan::build(&l.rollout).unwrap();
        // stepWeight 5 up to maxWeight 50: ten weights, each followed by a check.
        assert_eq!(plan.steps.len(), 20);
        assert_eq!(plan.threshold, 3);
    }
    insta::assert_snapshot!(report(&loaded[..1]));
}

#[test]
fn flagger_ab_test_of_the_linkerd_demo() {
    let Some((text, file)) = corpus("gitops-linkerd/apps/faces/faces-abtest.yaml") else {
        return;
    };
    let loaded = load::load_all(&text, Some(&file)).unwrap();
    let plan = Plan::build(&loaded[0].rollout).unwrap();
    assert_eq!(plan.steps.len(), 11, "a header route and 10 iterations");
    insta::assert_snapshot!(report(&loaded));
}

#[test]
fn argo_rollout_with_its_analysis_template() {
    let path = common::fixtures().join("argo-canary.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let loaded = load::load_all(&text, Some(&path)).unwrap();
    assert_eq!(loaded[0].format, Format::Argo);
    Plan::build(&loaded[0].rollout).unwrap();
    insta::assert_snapshot!(report(&loaded));
}

#[test]
fn errors_name_file_line_and_field() {
    let cases = [
        (
            "apiVersion: gitops.rs/v1alpha1\nkind: Rollout\nmetadata: {name: a}\nspec:\n  targetRef: {name: a}\n  strategy:\n    canary:\n      steps:\n        - setWeight: lots\n",
            "f.yaml:9:22: spec.strategy.canary.steps[0].setWeight: invalid type: string \"lots\", expected u8",
        ),
        (
            "apiVersion: gitops.rs/v1alpha1\nkind: Rollout\nmetadata: {name: a}\nspec:\n  targetRef: {name: a}\n  strategy: {canary: {steps: []}}\n  colour: blue\n",
            "f.yaml:7:11: spec.colour: unknown field `colour`",
        ),
        (
            "apiVersion: flagger.app/v1beta1\nkind: Canary\nmetadata: {name: a}\nspec:\n  targetRef: {name: a}\n  analysis:\n    interval: soon\n",
            "f.yaml:7:15: spec.analysis.interval: expected a duration such as 30s, 5m or 1h30m, found \"soon\"",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
            "f.yaml: expected a gitops.rs/v1alpha1 Rollout, a flagger.app/v1beta1 Canary or an argoproj.io/v1alpha1 Rollout, found none",
        ),
        ("a: [b\n", "f.yaml:1:4: "),
    ];
    for (text, want) in cases {
        let err = load::from_yaml(text, Some(Path::new("f.yaml")))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(want), "got:  {err}\nwant: {want}");
    }
}

#[test]
fn plan_errors_name_the_field() {
    let base = "apiVersion: gitops.rs/v1alpha1\nkind: Rollout\nmetadata: {name: a}\nspec:\n  targetRef: {name: a}\n";
    let cases = [
        (
            "  strategy: {canary: {steps: [{setWeight: 120}]}}\n",
            "spec.strategy.canary.steps[0].setWeight: expected a weight from 0 to 100, found 120",
        ),
        (
            "  strategy: {canary: {}}\n",
            "spec.strategy.canary: expected steps or analysis, found neither",
        ),
        (
            "  strategy: {canary: {steps: [{analysis: {templates: [{templateName: x}]}}]}}\n",
            "spec.strategy.canary.steps[0].analysis.templates[0].templateName: expected the name of an entry of spec.analysisTemplates, found \"x\"",
        ),
        (
            "  strategy: {canary: {steps: [{setHeaderRoute: {match: [{headers: {a: {exact: b}}}]}}]}}\n",
            "spec.strategy.canary.steps[0].setHeaderRoute: header routes need trafficRouting gatewayAPI, istio or nginx, found none",
        ),
        (
            "  strategy: {canary: {analysis: {interval: 1m, stepWeights: [10, 5]}}}\n",
            "spec.strategy.canary.analysis.stepWeights[1]: expected weights rising above 10, found 5",
        ),
        (
            "  strategy: {canary: {analysis: {interval: 1m, stepWeight: 10, threshold: 0}}}\n",
            "spec.strategy.canary.analysis.threshold: expected at least 1 failed check before rollback, found 0",
        ),
        (
            "  trafficRouting: {nginx: {}}\n  strategy: {abTest: {match: [{headers: {a: {exact: b}}}], iterations: 0, interval: 1m}}\n",
            "spec.strategy.abTest.iterations: expected at least 1 iteration, found 0",
        ),
        (
            "  strategy: {blueGreen: {activeService: a, previewService: a}}\n",
            "spec.strategy.blueGreen.previewService: expected a service other than the active one, found \"a\"",
        ),
    ];
    for (tail, want) in cases {
        let rollout = common::parse(&format!("{base}{tail}"));
        assert_eq!(Plan::build(&rollout).unwrap_err().to_string(), want);
    }
}
