#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]
//! Our own Helm fixtures (one chart per function family and construct, `fixtures/helm/`),
//! checked against the reference outputs recorded by `scripts/check-helm-fixtures` with Helm v4.

use std::collections::BTreeMap;
use std::path::Path;

use gitops_render::helm::{HelmOptions, render_chart};

#[test]
fn fixtures_render_like_the_reference() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/helm");
    let mut names: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    names.sort();
    let mut failures = Vec::new();
    let (mut pass, total) = (0, names.len());
    for chart in names {
        let name = chart.file_name().unwrap().to_string_lossy().into_owned();
        let expected: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root.join(format!("{name}.expected.json"))).unwrap(),
        )
        .unwrap();
        let mut opts = HelmOptions::default();
        opts.release_name = "release".to_owned();
        let got = render_chart(&chart, &opts);
        match (expected.get("ok"), got) {
            (Some(want), Ok(out)) => {
                let want: BTreeMap<String, String> = serde_json::from_value(want.clone()).unwrap();
                if want == out.templates {
                    pass += 1;
                } else {
                    for (k, w) in &want {
                        let g = out.templates.get(k).cloned().unwrap_or_default();
                        if &g != w {
                            failures.push(format!("{name}: {k}\n--- want\n{w}\n--- got\n{g}"));
                        }
                    }
                }
            }
            (None, Err(_)) => pass += 1,
            (Some(_), Err(e)) => failures.push(format!("{name}: {e}")),
            (None, Ok(_)) => {
                failures.push(format!("{name}: rendered, but the reference refuses it"));
            }
        }
    }
    println!("Helm fixtures: {pass}/{total} charts identical to the reference");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
