//! A HelmRelease's chart: its values (`valuesFrom` merged under `values`) and its rendering by
//! the native Helm engine into the release's objects and hooks.

use gitops_core::api::HelmRelease;
use gitops_core::{Object, yaml};
use gitops_render::helm::{HelmOptions, render_chart};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use serde_json::{Map, Value};

use super::hooks::Hook;
use super::{Context, chain};
use crate::deps::UnitKey;

/// `valuesFrom` in order, then `values` on top (deep merge), as Helm merges `-f` files.
pub(super) async fn values(
    hr: &HelmRelease,
    ctx: &Context,
    key: &UnitKey,
) -> Result<Value, String> {
    let mut merged = Map::new();
    for (i, reference) in hr.spec.values_from.iter().enumerate() {
        let what = format!(
            "spec.valuesFrom[{i}]: {} {}/{}",
            reference.kind, key.namespace, reference.name
        );
        if reference.target_path.is_some() {
            return Err(format!("{what}: targetPath is not supported yet"));
        }
        let values_key = reference
            .values_key
            .clone()
            .unwrap_or_else(|| "values.yaml".to_owned());
        let text: Option<String> = match reference.kind.as_str() {
            "ConfigMap" => ctx
                .api::<ConfigMap>(&key.namespace)
                .get_opt(&reference.name)
                .await
                .map_err(|e| format!("{what}: cannot read it: {e}"))?
                .map(|cm| {
                    cm.data
                        .unwrap_or_default()
                        .get(&values_key)
                        .cloned()
                        .unwrap_or_default()
                }),
            "Secret" => ctx
                .api::<Secret>(&key.namespace)
                .get_opt(&reference.name)
                .await
                .map_err(|e| format!("{what}: cannot read it: {e}"))?
                .map(|s| {
                    s.data
                        .unwrap_or_default()
                        .get(&values_key)
                        .map(|v| String::from_utf8_lossy(&v.0).into_owned())
                        .unwrap_or_default()
                }),
            other => {
                return Err(format!(
                    "{what}: kind `{other}` is not supported (expected ConfigMap or Secret)"
                ));
            }
        };
        match text {
            Some(text) => {
                let value = yaml::parse_value(&text, yaml::Schema::Yaml11)
                    .map_err(|e| format!("{what}: key `{values_key}` is not YAML: {e:?}"))?;
                if let Value::Object(map) = value {
                    merge(&mut merged, map);
                }
            }
            None if reference.optional => {}
            None => return Err(format!("{what} does not exist")),
        }
    }
    if let Some(Value::Object(inline)) = &hr.spec.values {
        merge(&mut merged, inline.clone());
    }
    Ok(Value::Object(merged))
}

fn merge(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// Renders the chart at `chart` (a path in the artifact) with the values files of the spec
/// (paths in the artifact) and the merged values, in a render process bounded by `limits`.
pub(super) async fn render(
    limits: crate::isolate::RenderLimits,
    root: &std::path::Path,
    chart: &str,
    values_files: &[String],
    values: &str,
    release: String,
    namespace: String,
) -> Result<(Vec<Object>, Vec<Hook>), String> {
    // Every path comes from the repository: it is judged where it lands, links followed.
    let boundary = gitops_core::confine::Boundary::new(root)
        .map_err(|e| format!("cannot read the source: {e}"))?;
    let chart_dir = root.join(chart.trim_start_matches("./"));
    if !chart_dir.starts_with(root) || chart.contains("..") {
        return Err(format!("spec.chart.spec.chart `{chart}` leaves the source"));
    }
    boundary
        .resolve(&chart_dir)
        .map_err(|e| format!("spec.chart.spec.chart `{chart}`: {e}"))?;
    let mut files = Vec::new();
    for file in values_files {
        let path = root.join(file.trim_start_matches("./"));
        boundary
            .resolve(&path)
            .map_err(|e| format!("spec.chart.spec.valuesFiles `{file}`: {e}"))?;
        files.push(path);
    }
    let values = match serde_json::from_str::<Value>(values) {
        Ok(Value::Object(map)) => map,
        Ok(_) => Map::new(),
        Err(e) => return Err(format!("the merged values are not JSON: {e}")),
    };
    let request = crate::isolate::Request::Chart {
        root: root.to_owned(),
        chart: chart_dir,
        values_files: files,
        values,
        release,
        namespace,
    };
    match crate::isolate::render(&request, limits).await? {
        crate::isolate::Answer::Release { objects, hooks } => {
            let objects = objects
                .into_iter()
                .map(Object::from_value)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("render failed: {e}"))?;
            let mut out = Vec::new();
            for (object, events) in hooks {
                let object =
                    Object::from_value(object).map_err(|e| format!("render failed: {e}"))?;
                out.push(Hook::new(object, &events));
            }
            Ok((objects, out))
        }
        crate::isolate::Answer::Failed(message) => Err(message),
        crate::isolate::Answer::Objects(_) => {
            Err("the render process answered a unit, not a release".to_owned())
        }
    }
}

/// A release's objects and each hook object with its `helm.sh/hook` events, as the render
/// process hands them over.
pub(crate) type RenderedRelease = (Vec<Object>, Vec<(Value, String)>);

/// Renders a chart here, in the render process: the objects and each hook with its
/// `helm.sh/hook` events.
pub(crate) fn render_chart_here(
    root: &std::path::Path,
    chart: &std::path::Path,
    values_files: Vec<std::path::PathBuf>,
    values: Map<String, Value>,
    release: String,
    namespace: String,
) -> Result<RenderedRelease, String> {
    let mut options = HelmOptions::default();
    options.release_name = release;
    options.namespace = namespace;
    options.values_files = values_files;
    options.values = values;
    options.boundary = Some(
        gitops_core::confine::Boundary::new(root)
            .map_err(|e| format!("cannot read the source: {e}"))?,
    );
    let output =
        render_chart(chart, &options).map_err(|e| format!("render failed: {}", chain(&e)))?;
    split(&output).map_err(|e| format!("render failed: {e}"))
}

/// The release's objects (CRDs, then manifests in Helm's order) and its hooks.
fn split(output: &gitops_render::helm::HelmOutput) -> Result<RenderedRelease, String> {
    let (manifests, hooks) = output.sorted().map_err(|e| chain(&e))?;
    let parse = |path: &str, text: &str| {
        gitops_core::manifest::parse_yaml(
            text,
            Some(std::sync::Arc::from(std::path::Path::new(path))),
            yaml::Schema::Yaml11,
        )
        .map_err(|e| chain(&e))
    };
    let mut main = Vec::new();
    for (path, text) in &output.crds {
        main.extend(parse(path, text)?.into_iter().map(|o| o.object));
    }
    for m in &manifests {
        main.extend(parse(&m.path, &m.content)?.into_iter().map(|o| o.object));
    }
    let mut out = Vec::new();
    for m in &hooks {
        let events = m.hook.clone().unwrap_or_default();
        for o in parse(&m.path, &m.content)? {
            out.push((o.object.into_value(), events.clone()));
        }
    }
    Ok((main, out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_merge_deeply_with_later_values_winning() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "d": [1]})
            .as_object()
            .cloned()
            .unwrap();
        merge(
            &mut base,
            json!({"a": {"c": 3}, "d": [2], "e": true})
                .as_object()
                .cloned()
                .unwrap(),
        );
        assert_eq!(
            Value::Object(base),
            json!({"a": {"b": 1, "c": 3}, "d": [2], "e": true})
        );
    }
}
