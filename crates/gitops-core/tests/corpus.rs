//! Every plain Kubernetes manifest in the shared real-world corpus loads, and writes back to YAML
//! that reads as the same objects.
#![allow(clippy::unwrap_used, clippy::print_stderr)]

use std::path::{Path, PathBuf};

use gitops_core::manifest;
use gitops_core::yaml::{self, Schema};

fn corpus() -> Option<PathBuf> {
    gitops_testenv::corpus::root()
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

/// A file is a plain manifest when it parses as YAML and every document is a mapping with
/// `apiVersion` and `kind` (templates, values files and test inputs are not).
fn is_plain_manifest(text: &str) -> bool {
    let Ok(docs) = yaml::parse_documents(text, Schema::Yaml12) else {
        return false;
    };
    let mut any = false;
    for doc in docs.iter().filter(|d| !d.value.is_null()) {
        let ok = doc.value.get("apiVersion").is_some_and(|v| v.is_string())
            && doc.value.get("kind").is_some_and(|v| v.is_string())
            && doc
                .value
                .get("metadata")
                .and_then(|m| m.get("name"))
                .is_some_and(|v| v.is_string());
        if !ok {
            return false;
        }
        any = true;
    }
    any
}

#[test]
fn every_plain_manifest_in_the_corpus_loads_and_round_trips() {
    let Some(dir) = corpus() else {
        eprintln!("notice: ../shared/corpus is absent; corpus test skipped");
        return;
    };
    let mut files = Vec::new();
    yaml_files(&dir, &mut files);
    files.sort();
    let (mut manifests, mut objects, mut other) = (0, 0, 0);
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        // Whatever the file holds, reading it must not panic.
        let _ = yaml::parse_documents(&text, Schema::Yaml12);
        let _ = yaml::parse_documents(&text, Schema::Yaml11);
        if !is_plain_manifest(&text) {
            other += 1;
            continue;
        }
        let loaded = manifest::parse_yaml(&text, None, Schema::Yaml12)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        manifests += 1;
        for o in loaded {
            let value = o.object.to_value();
            let written = yaml::to_string(&value);
            let back = yaml::parse_value(&written, Schema::Yaml12).unwrap_or_else(|e| {
                panic!(
                    "{}: rewritten YAML does not parse: {e}\n{written}",
                    file.display()
                )
            });
            assert_eq!(
                back,
                value,
                "{}: round trip changed the object",
                file.display()
            );
            objects += 1;
        }
    }
    eprintln!(
        "corpus: {manifests} manifest files, {objects} objects round-tripped; {other} other YAML files parsed without panic"
    );
    assert!(
        manifests > 50,
        "expected many manifests in the corpus, found {manifests}"
    );
}
