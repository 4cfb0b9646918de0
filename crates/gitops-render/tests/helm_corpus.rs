#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]
//! Conformance against the shared corpus: every chart with a Helm reference in
//! `../shared/corpus/_goldens/helm` renders the same text per template; `.err` references are
//! refused. Skipped with a notice when the corpus is absent.
//!
//! Random output (generated certificates and keys, random passwords, and checksums over them) is
//! compared under a mask: the corpus lists those fields per template in
//! `<chart>.nondeterministic.json`; both sides must have them, their values are replaced by a
//! marker, and the rest of the template must be identical. Every other template is compared as
//! exact text.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gitops_render::helm::{HelmOptions, render_chart};

fn corpus() -> Option<PathBuf> {
    gitops_testenv::corpus::path("_goldens/helm")?;
    gitops_testenv::corpus::root()
}

fn goldens(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            goldens(&p, out);
        } else if p.extension().is_some_and(|x| x == "json" || x == "err")
            && !p.to_string_lossy().ends_with(".nondeterministic.json")
        {
            out.push(p);
        }
    }
}

/// Replaces the values at the nondeterministic pointers by a marker, after checking they exist.
fn mask(text: &str, pointers: &[(usize, String)]) -> Result<String, String> {
    let mut docs: Vec<serde_json::Value> =
        gitops_core::yaml::parse_documents(text, gitops_core::yaml::Schema::Yaml11)
            .map_err(|e| e.to_string())?
            .into_iter()
            .map(|d| d.value)
            .collect();
    for (i, ptr) in pointers {
        let doc = docs
            .get_mut(*i)
            .ok_or_else(|| format!("document {i} missing"))?;
        let v = doc
            .pointer_mut(ptr)
            .ok_or_else(|| format!("field {ptr} missing in document {i}"))?;
        *v = serde_json::Value::String("<nondeterministic>".to_owned());
    }
    Ok(gitops_core::yaml::to_string_multi(docs.iter()))
}

#[test]
fn corpus_charts_render_like_helm() {
    let Some(corpus) = corpus() else {
        return;
    };
    let root = corpus.join("_goldens/helm");
    let mut files = Vec::new();
    goldens(&root, &mut files);
    files.sort();
    let (mut pass, mut total, mut tpl_pass, mut tpl_total) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for golden in files {
        let rel = golden.strip_prefix(&root).unwrap().with_extension("");
        let chart = corpus.join(&rel);
        total += 1;
        let mut opts = HelmOptions::default();
        opts.release_name = "release".to_owned();
        let result = render_chart(&chart, &opts);
        if golden.extension().is_some_and(|x| x == "err") {
            match result {
                Err(e) => {
                    println!("ok   {} refused: {e}", rel.display());
                    pass += 1;
                }
                Ok(_) => failures.push(format!("{}: rendered, but Helm refuses it", rel.display())),
            }
            continue;
        }
        let want: BTreeMap<String, String> =
            serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
        let nondet_path = golden.with_extension("nondeterministic.json");
        let mut nondet: BTreeMap<String, Vec<(usize, String)>> = BTreeMap::new();
        if let Ok(t) = std::fs::read_to_string(&nondet_path) {
            let list: Vec<(String, usize, String)> = serde_json::from_str(&t).unwrap();
            for (tpl, i, p) in list {
                nondet.entry(tpl).or_default().push((i, p));
            }
        }
        let got = match result {
            Ok(o) => o.templates,
            Err(e) => {
                tpl_total += want.len();
                failures.push(format!("{}: {e}", rel.display()));
                continue;
            }
        };
        let mut chart_ok = true;
        for (name, text) in &want {
            tpl_total += 1;
            let Some(mine) = got.get(name) else {
                chart_ok = false;
                failures.push(format!("{}: template {name} not rendered", rel.display()));
                continue;
            };
            let same = match nondet.get(name) {
                Some(ptrs) => match (mask(text, ptrs), mask(mine, ptrs)) {
                    (Ok(a), Ok(b)) => a == b,
                    (_, Err(e)) => {
                        failures.push(format!("{}: {name}: {e}", rel.display()));
                        false
                    }
                    _ => false,
                },
                None => mine == text,
            };
            if same {
                tpl_pass += 1;
            } else {
                chart_ok = false;
                failures.push(format!(
                    "{}: template {name} differs:\n--- want\n{text}\n--- got\n{mine}",
                    rel.display()
                ));
            }
        }
        for name in got.keys().filter(|k| !want.contains_key(*k)) {
            chart_ok = false;
            failures.push(format!("{}: extra template {name}", rel.display()));
        }
        if chart_ok {
            println!("ok   {}", rel.display());
            pass += 1;
        }
    }
    println!("Helm corpus: {pass}/{total} charts pass, {tpl_pass}/{tpl_total} templates identical");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
