//! Jsonnet sources render the same objects as go-jsonnet (the evaluator Argo CD embeds): Argo
//! CD's `jsonnet-guestbook` examples from `../shared/corpus` and the project's own fixtures.
//! go-jsonnet runs through the PyPI package `gojsonnet` (installed by `scripts/install-deps`);
//! without it the comparisons are skipped with a notice.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use gitops_render::jsonnet::{self, ExtValue, JsonnetOptions};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const GO_JSONNET: &str = r#"
import json, sys
import _gojsonnet
a = json.loads(sys.argv[1])
print(_gojsonnet.evaluate_file(a["file"], jpathdir=a["jpath"], ext_vars=a["ext_vars"],
      ext_codes=a["ext_codes"], tla_vars=a["tla_vars"], tla_codes=a["tla_codes"]))
"#;

/// go-jsonnet's output for `file` with `options`; `None` when go-jsonnet is not installed.
fn go_jsonnet(file: &Path, options: &JsonnetOptions) -> Option<Value> {
    let split = |vars: &BTreeMap<String, ExtValue>, code: bool| -> BTreeMap<String, String> {
        vars.iter()
            .filter_map(|(k, v)| match (v, code) {
                (ExtValue::Str(s), false) | (ExtValue::Code(s), true) => {
                    Some((k.clone(), s.clone()))
                }
                _ => None,
            })
            .collect()
    };
    // go-jsonnet searches jpathdir first to last; `-J` means the last one wins.
    let jpath: Vec<_> = options.library_paths.iter().rev().collect();
    let args = json!({
        "file": file, "jpath": jpath,
        "ext_vars": split(&options.ext_vars, false), "ext_codes": split(&options.ext_vars, true),
        "tla_vars": split(&options.tlas, false), "tla_codes": split(&options.tlas, true),
    });
    let output = Command::new("python3")
        .args(["-c", GO_JSONNET, &args.to_string()])
        .output()
        .ok()?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.contains("No module named '_gojsonnet'") {
            println!("skipped: go-jsonnet is not installed (pip install gojsonnet)");
            return None;
        }
        panic!("go-jsonnet failed on {}: {stderr}", file.display());
    }
    Some(serde_json::from_slice(&output.stdout).unwrap())
}

/// Argo CD's reading of an output: an array of objects or one object; lists stand for items.
fn argo_objects(value: Value) -> Vec<Value> {
    let items = match value {
        Value::Array(items) => items,
        other => vec![other],
    };
    items
        .into_iter()
        .filter(|v| !v.is_null())
        .flat_map(|v| match v.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => vec![v],
        })
        .collect()
}

/// Our evaluation equals go-jsonnet's, and our objects are Argo CD's reading of it.
fn assert_same_as_go(file: &Path, options: &JsonnetOptions) {
    let ours = jsonnet::evaluate_file(file, options).unwrap();
    let Some(theirs) = go_jsonnet(file, options) else {
        return;
    };
    assert_eq!(ours, theirs, "{}", file.display());
    let objects: Vec<Value> = jsonnet::render_file(file, options)
        .unwrap()
        .into_iter()
        .map(|o| o.object.into_value())
        .collect();
    assert_eq!(objects, argo_objects(theirs), "{}", file.display());
}

fn argocd_example(name: &str) -> Option<PathBuf> {
    gitops_testenv::corpus::path(&format!("argocd-example-apps/{name}"))
}

#[test]
fn argocd_jsonnet_guestbook_matches_go_jsonnet() {
    let Some(dir) = argocd_example("jsonnet-guestbook") else {
        return;
    };
    let options = JsonnetOptions::default();
    assert_same_as_go(&dir.join("guestbook-ui.jsonnet"), &options);
    // Directory mode renders the one top-level program; params.libsonnet is only imported.
    let objects = jsonnet::render_dir(&dir, &options).unwrap();
    let ids: Vec<String> = objects
        .iter()
        .map(|o| o.object.object_ref().to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "Service/jsonnet-guestbook-ui",
            "apps/Deployment/jsonnet-guestbook-ui"
        ]
    );
}

#[test]
fn argocd_jsonnet_guestbook_with_tlas_matches_go_jsonnet() {
    let Some(dir) = argocd_example("jsonnet-guestbook-tla") else {
        return;
    };
    let file = dir.join("guestbook-ui.jsonnet");
    assert_same_as_go(&file, &JsonnetOptions::default());
    let mut options = JsonnetOptions::default();
    options
        .tlas
        .insert("name".into(), ExtValue::Str("guestbook-prod".into()));
    options
        .tlas
        .insert("replicas".into(), ExtValue::Code("1 + 2".into()));
    options
        .tlas
        .insert("type".into(), ExtValue::Str("ClusterIP".into()));
    assert_same_as_go(&file, &options);
    let objects = jsonnet::render_file(&file, &options).unwrap();
    assert_eq!(objects[1].object.as_map()["spec"]["replicas"], json!(3));
}

#[test]
fn fixture_app_with_ext_vars_library_paths_and_imports_matches_go_jsonnet() {
    let dir = workspace().join("fixtures/jsonnet/app");
    let mut options = JsonnetOptions::default();
    options
        .ext_vars
        .insert("env".into(), ExtValue::Str("prod".into()));
    options.library_paths.push(dir.join("vendor"));
    assert_same_as_go(&dir.join("main.jsonnet"), &options);
}

#[test]
fn fixture_tla_program_matches_go_jsonnet() {
    let file = workspace().join("fixtures/jsonnet/tla/app.jsonnet");
    let mut options = JsonnetOptions::default();
    options
        .tlas
        .insert("name".into(), ExtValue::Str("api".into()));
    options.tlas.insert(
        "labels".into(),
        ExtValue::Code("{ tier: 'backend' }".into()),
    );
    assert_same_as_go(&file, &options);
}
