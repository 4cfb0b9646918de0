#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Snapshot tests of `fixtures/kustomize/<case>/`: each case's output (or error) is snapshotted;
//! `scripts/check-kustomize-fixtures` re-checks every output against `kubectl kustomize`.

use std::path::{Path, PathBuf};

use gitops_core::yaml;
use gitops_render::kustomize::{self, Options};

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/kustomize");
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n == "kustomization.yaml") {
                let text = std::fs::read_to_string(&path).unwrap();
                if !text.contains("kind: Component") {
                    out.push(dir.strip_prefix(&root).unwrap().to_owned());
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn fixtures_build_as_kustomize_does() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/kustomize");
    let cases = cases();
    assert!(cases.len() >= 8, "{cases:?}");
    for case in cases {
        let name = case.display().to_string().replace('/', "__");
        let result = kustomize::build_with_warnings(&root.join(&case), None, &Options::default());
        let text = match result {
            Ok(out) => {
                let values: Vec<_> = out.objects.iter().map(|o| o.object.to_value()).collect();
                let mut text = String::new();
                for w in &out.warnings {
                    text.push_str(&format!("# stderr: {w}\n"));
                }
                text + &yaml::to_string_multi(values.iter())
            }
            Err(e) => {
                let canonical = std::fs::canonicalize(&root).unwrap();
                format!("error: {e}\n")
                    .replace(&canonical.display().to_string(), "<fixtures>")
                    .replace(&root.display().to_string(), "<fixtures>")
            }
        };
        insta::assert_snapshot!(name, text);
    }
}
