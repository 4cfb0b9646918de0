//! Helm's rendering engine: every template of the chart and its subcharts is parsed into one
//! set (deeper charts first, so parents' `define`s win), and every template that is not a
//! partial (`_*`) is executed with its chart's scope (`.Values` section, `.Chart`, `.Files`,
//! `.Subcharts`, `.Template`). `<no value>` is removed from the output as Helm does.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::HelmError;
use super::chart::Chart;
use super::funcs::{ERR_END, ERR_START, RenderMemo, helm_funcs};
use super::objects::{Capabilities, Files, chart_value};
use crate::gotemplate::{Exec, Names, Object, TreeMap, Value, parse_text_with};

struct Renderable {
    text: String,
    vals: Value,
    base_path: String,
    library: bool,
}

/// Renders all templates; returns template path → text (partials excluded). The templates and
/// files of `chart` and its subcharts move into the render (they are not copied), and are left
/// empty.
pub(crate) fn render(
    chart: &mut Chart,
    values: Value,
    release: Value,
    caps: Rc<dyn Object>,
) -> Result<BTreeMap<String, String>, HelmError> {
    let mut tpls: BTreeMap<String, Renderable> = BTreeMap::new();
    let mut top = BTreeMap::new();
    top.insert("Values".to_owned(), values);
    top.insert("Release".to_owned(), release);
    top.insert("Capabilities".to_owned(), Value::Object(caps));
    let name = chart.name.clone();
    collect(chart, &name, true, &Value::map(top), &mut tpls);

    // Parse in Helm's order: deeper paths first, then reverse lexical; later parses win.
    let mut keys: Vec<&String> = tpls.keys().collect();
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });
    let mut trees = TreeMap::default();
    let mut names = Names::default();
    for k in &keys {
        let r = &tpls[*k];
        let parsed = parse_text_with(k, &r.text, &mut names).map_err(|e| HelmError::Parse {
            message: format!(
                "parse error at ({}): {}",
                location(k, &r.text, e.offset),
                e.message
            ),
        })?;
        for (name, tree) in parsed {
            let empty = tree_is_empty(&tree);
            if empty && trees.contains_key(&name) && name != **k {
                continue;
            }
            trees.insert(name, tree);
        }
    }
    let funcs = helm_funcs();
    let shared = Rc::new(trees);
    let memo: Rc<dyn std::any::Any> = Rc::new(RenderMemo::default());
    let mut out = BTreeMap::new();
    for k in keys {
        let r = &tpls[k];
        let base = k.rsplit('/').next().unwrap_or(k);
        if base.starts_with('_') || r.library {
            continue;
        }
        if let Value::Map(m) = &r.vals {
            let mut t = BTreeMap::new();
            t.insert("Name".to_owned(), Value::str(k.as_str()));
            t.insert("BasePath".to_owned(), Value::str(r.base_path.as_str()));
            m.borrow_mut().insert("Template".to_owned(), Value::map(t));
        }
        let mut exec = Exec::new(shared.clone(), &funcs);
        exec.host = Some(memo.clone());
        let text = exec.execute(k, &r.vals).map_err(|e| HelmError::Render {
            message: clean_error(k, &e.to_string()),
        })?;
        out.insert(k.clone(), strip_no_value(text));
    }
    Ok(out)
}

/// Removes `<no value>` as Helm does; text without it is kept as it is (not copied).
pub(crate) fn strip_no_value(text: String) -> String {
    if text.contains("<no value>") {
        text.replace("<no value>", "")
    } else {
        text
    }
}

fn tree_is_empty(t: &crate::gotemplate::Tree) -> bool {
    t.is_empty()
}

fn location(name: &str, text: &str, offset: usize) -> String {
    let src = crate::gotemplate::Source {
        name: name.to_owned(),
        text: text.to_owned(),
    };
    let (line, _) = src.line_col(offset);
    format!("{name}:{line}")
}

/// Helm's `cleanupExecError`: `required`/`fail` messages are reported alone with the location.
fn clean_error(_file: &str, msg: &str) -> String {
    let (Some(s), Some(e)) = (msg.find(ERR_START), msg.find(ERR_END)) else {
        return msg.to_owned();
    };
    let inner = &msg[s + ERR_START.len()..e];
    let location = msg
        .strip_prefix("template: ")
        .and_then(|r| r.split(": ").next())
        .unwrap_or_default();
    format!("execution error at ({location}): {inner}")
}

/// Builds the scope of `chart` and its subcharts (Helm's `recAllTpls`).
fn collect(
    chart: &mut Chart,
    full_path: &str,
    is_root: bool,
    parent: &Value,
    out: &mut BTreeMap<String, Renderable>,
) -> Value {
    let Value::Map(pm) = parent else {
        return Value::Nil;
    };
    let pm = pm.borrow();
    let values = if is_root {
        pm.get("Values").cloned().unwrap_or_else(Value::empty_map)
    } else {
        match pm.get("Values") {
            Some(Value::Map(v)) => match v.borrow().get(&chart.name) {
                Some(sub @ Value::Map(_)) => sub.clone(),
                _ => Value::empty_map(),
            },
            _ => Value::empty_map(),
        }
    };
    let subcharts = Value::empty_map();
    let mut next = BTreeMap::new();
    next.insert("Chart".to_owned(), chart_value(chart, is_root));
    next.insert(
        "Files".to_owned(),
        Value::Object(Rc::new(Files {
            files: Rc::new(std::mem::take(&mut chart.files)),
        })),
    );
    next.insert(
        "Release".to_owned(),
        pm.get("Release").cloned().unwrap_or_default(),
    );
    next.insert(
        "Capabilities".to_owned(),
        pm.get("Capabilities").cloned().unwrap_or_default(),
    );
    next.insert("Values".to_owned(), values);
    next.insert("Subcharts".to_owned(), subcharts.clone());
    drop(pm);
    let next = Value::map(next);
    for sub in &mut chart.subcharts {
        let sub_path = format!("{full_path}/charts/{}", sub.name);
        let v = collect(sub, &sub_path, false, &next, out);
        if let Value::Map(s) = &subcharts {
            s.borrow_mut().insert(sub.name.clone(), v);
        }
    }
    let library = chart.chart_type == "library";
    for (name, text) in std::mem::take(&mut chart.templates) {
        out.insert(
            format!("{full_path}/{name}"),
            Renderable {
                text,
                vals: next.clone(),
                base_path: format!("{full_path}/templates"),
                library,
            },
        );
    }
    next
}

/// The capabilities object for the given Kubernetes version and extra API versions.
pub(crate) fn capabilities(kube_version: Option<&str>, extra_apis: &[String]) -> Rc<dyn Object> {
    let mut apis: Vec<String> = super::objects::DEFAULT_API_VERSIONS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    apis.extend(extra_apis.iter().cloned());
    let kv = kube_version.map_or_else(
        || super::objects::DEFAULT_KUBE_VERSION.to_owned(),
        |v| {
            let v = v.trim_start_matches('v');
            let mut parts: Vec<&str> = v.split('.').collect();
            while parts.len() < 3 {
                parts.push("0");
            }
            format!("v{}", parts.join("."))
        },
    );
    Rc::new(Capabilities {
        kube_version: kv,
        api_versions: apis,
    })
}
