#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]
//! Conformance with kustomize v5.6 on the shared corpus: every directory with a reference output
//! in `../shared/corpus/_goldens/kustomize/<dir>.yaml` must build to the same objects in the same
//! order; every `<dir>.err` must fail with a clear message. Byte-identical outputs are counted
//! and printed separately.

use std::path::{Path, PathBuf};

use gitops_core::yaml::{self, Schema};
use gitops_render::kustomize::{self, Options};
use serde_json::Value;

fn corpus() -> Option<PathBuf> {
    gitops_testenv::corpus::root()
}

fn goldens(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            goldens(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().to_owned());
        }
    }
}

/// Cases where we knowingly differ, with the reason; they must fail with a clear error instead.
const EXCEPTIONS: &[(&str, &str)] = &[
    (
        "kustomize/_extracted-md-goldens/valueAdd/case1/input/all",
        VALUE_ADD,
    ),
    (
        "kustomize/_extracted-md-goldens/valueAdd/case1/input/projects/cat-111",
        VALUE_ADD,
    ),
    (
        "kustomize/_extracted-md-goldens/valueAdd/case1/input/projects/dog-222",
        VALUE_ADD,
    ),
    (
        "kustomize/_extracted-md-goldens/valueAdd/case1/input/projects/fox-333",
        VALUE_ADD,
    ),
];
const VALUE_ADD: &str =
    "uses the ValueAddTransformer plugin in `transformers:`, which gitops does not support yet";

#[test]
fn corpus_goldens_match_kustomize() {
    let Some(corpus) = corpus() else {
        return;
    };
    let golden_root = corpus.join("_goldens/kustomize");
    let mut files = Vec::new();
    goldens(&golden_root, &golden_root, &mut files);
    files.sort();
    let (mut same, mut bytes, mut errs, mut failures) = (0, 0, 0, Vec::new());
    for rel in &files {
        let ext = rel.extension().and_then(|e| e.to_str()).unwrap_or_default();
        let dir = corpus.join(rel.with_extension(""));
        let result = kustomize::build(&dir, &Options::default());
        let shown = rel.with_extension("").display().to_string();
        if let Some((_, why)) = EXCEPTIONS.iter().find(|(d, _)| *d == shown) {
            match result {
                Err(e) => println!("exception {shown}: {why}: fails with: {e}"),
                Ok(_) => failures.push(format!("{shown}: listed as an exception but builds")),
            }
            continue;
        }
        if ext == "err" {
            match result {
                Err(e) => {
                    errs += 1;
                    println!("expected failure {shown}: {e}");
                }
                Ok(_) => failures.push(format!("{shown}: kustomize fails but we built it")),
            }
            continue;
        }
        let golden_text = std::fs::read_to_string(golden_root.join(rel)).unwrap();
        let expected: Vec<Value> = yaml::parse_documents(&golden_text, Schema::Yaml12)
            .unwrap()
            .into_iter()
            .map(|d| d.value)
            .filter(|v| !v.is_null())
            .collect();
        match result {
            Err(e) => failures.push(format!("{shown}: {e}")),
            Ok(objects) => {
                let got: Vec<Value> = objects.iter().map(|o| o.object.to_value()).collect();
                if got == expected {
                    same += 1;
                    if yaml::to_string_multi(got.iter()) == golden_text {
                        bytes += 1;
                    }
                } else {
                    let first = got
                        .iter()
                        .zip(&expected)
                        .position(|(a, b)| a != b)
                        .unwrap_or(got.len().min(expected.len()));
                    failures.push(format!(
                        "{shown}: objects differ (got {}, expected {}); first difference at #{first}:\n--- got\n{}--- expected\n{}",
                        got.len(),
                        expected.len(),
                        got.get(first).map(yaml::to_string).unwrap_or_default(),
                        expected.get(first).map(yaml::to_string).unwrap_or_default(),
                    ));
                }
            }
        }
    }
    let outputs = files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "yaml"))
        .count();
    println!(
        "kustomize corpus: {same}/{outputs} outputs give the same objects in the same order, \
         {bytes}/{outputs} byte-identical; {errs} expected failures fail"
    );
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
