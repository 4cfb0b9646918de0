//! Rendering one discovered unit offline as its controller would in the cluster.
//!
//! - A Kustomization goes through the unit renderer ([`crate::unit`]): overlay fields, post-build
//!   substitution and common metadata, as Flux's kustomize-controller applies them.
//! - A HelmRelease with a chart in a Git source renders that chart with the release name and
//!   namespace Flux's helm-controller uses, the chart's `valuesFiles`, then `valuesFrom`, then
//!   `values`, as helm-controller merges them.
//! - Anything else renders its directory as its source type.
//!
//! `postBuild.substituteFrom` and `valuesFrom` name ConfigMaps and Secrets that live in the
//! cluster. Offline they are looked up among the objects the repository itself declares (the entry
//! path's output and every unit rendered before); one that is not found leaves a note, since the
//! plan then differs from what the cluster would apply.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use gitops_core::SourcedObject;
use gitops_core::api::{HelmReleaseSpec, KustomizationSpec};
use gitops_core::unit::{Unit, UnitBody};
use serde_json::{Map, Value};

use super::RepoOptions;
use super::locate::join_inside;
use crate::helm;
use crate::substitute::VariableSource;
use crate::unit::{UnitSpec, render_path};

/// A unit's render and what it could not apply offline.
pub(super) struct UnitRender {
    pub(super) output: Result<Vec<SourcedObject>, String>,
    pub(super) notes: Vec<String>,
}

/// Renders `unit`, whose files are at `dir` inside the source rooted at `source_root`; `known`
/// holds the objects rendered so far, where ConfigMaps and Secrets are looked up.
pub(super) fn render_unit(
    unit: &Unit,
    dir: &Path,
    source_root: &Path,
    options: &RepoOptions,
    known: &[&SourcedObject],
) -> UnitRender {
    // Nothing a unit renders may be read from outside its source.
    let within = RepoOptions {
        render: options.render.clone().within(source_root),
        ..options.clone()
    };
    let options = &within;
    let namespace = unit.id.namespace.as_str();
    match &unit.body {
        UnitBody::Kustomization(spec) => render_kustomization(spec, dir, namespace, options, known),
        UnitBody::HelmRelease(spec) => render_helm_release(
            spec,
            &unit.id.name,
            namespace,
            dir,
            source_root,
            options,
            known,
        ),
        _ => UnitRender {
            output: render_dir(dir, options),
            notes: chart_notes(dir),
        },
    }
}

/// Notes on a Helm chart at `dir` (none for other sources): dependencies it does not vendor.
fn chart_notes(dir: &Path) -> Vec<String> {
    if !declares_dependencies(dir) {
        return Vec::new();
    }
    match helm::missing_dependencies(dir) {
        Ok(missing) if !missing.is_empty() => vec![format!(
            "chart dependencies not vendored in charts/ (run `helm dependency build`): {}; \
             rendered without them",
            missing.join(", ")
        )],
        _ => Vec::new(),
    }
}

fn render_kustomization(
    spec: &KustomizationSpec,
    dir: &Path,
    namespace: &str,
    options: &RepoOptions,
    known: &[&SourcedObject],
) -> UnitRender {
    let mut notes = Vec::new();
    let mut substitute_from = Vec::new();
    if let Some(post_build) = &spec.post_build {
        for reference in &post_build.substitute_from {
            match find_data(known, &reference.kind, &reference.name, namespace) {
                Some(data) => substitute_from.push(VariableSource {
                    kind: reference.kind.clone(),
                    name: reference.name.clone(),
                    data,
                }),
                None if reference.optional => {}
                None => notes.push(format!(
                    "spec.postBuild.substituteFrom: {}/{} is not declared in the repository \
                     (it lives in the cluster); its variables are not substituted here",
                    reference.kind, reference.name
                )),
            }
        }
    }
    let unit_spec = UnitSpec::from_flux(spec, substitute_from);
    let output = render_path(dir, &unit_spec, &options.render)
        .map(|r| r.objects)
        .map_err(|e| error_chain(&e));
    UnitRender { output, notes }
}

fn render_helm_release(
    spec: &HelmReleaseSpec,
    name: &str,
    namespace: &str,
    dir: &Path,
    source_root: &Path,
    options: &RepoOptions,
    known: &[&SourcedObject],
) -> UnitRender {
    let mut notes = Vec::new();
    let mut render = options.render.clone();
    let release_namespace = spec.target_namespace.as_deref().unwrap_or(namespace);
    // helm-controller's default release name: `[targetNamespace-]name`.
    render.helm.release_name = spec.release_name.clone().unwrap_or_else(|| {
        spec.target_namespace
            .as_ref()
            .map_or_else(|| name.to_owned(), |t| format!("{t}-{name}"))
    });
    release_namespace.clone_into(&mut render.helm.namespace);
    if let Some(chart) = &spec.chart {
        let files = chart
            .spec
            .values_file
            .iter()
            .chain(&chart.spec.values_files);
        let boundary = gitops_core::confine::Boundary::new(source_root).ok();
        for file in files {
            let inside = join_inside(source_root, file)
                .filter(|path| boundary.as_ref().is_some_and(|b| b.contains(path)));
            match inside {
                Some(path) => render.helm.values_files.push(path),
                None => {
                    return UnitRender {
                        output: Err(format!(
                            "spec.chart.spec.valuesFiles: `{file}` leaves the chart's source"
                        )),
                        notes,
                    };
                }
            }
        }
    }
    let mut values = Map::new();
    for reference in &spec.values_from {
        let Some(data) = find_data(known, &reference.kind, &reference.name, namespace) else {
            if !reference.optional {
                notes.push(format!(
                    "spec.valuesFrom: {}/{} is not declared in the repository (it lives in the \
                     cluster); its values are not used here",
                    reference.kind, reference.name
                ));
            }
            continue;
        };
        let key = reference.values_key.as_deref().unwrap_or("values.yaml");
        let Some(text) = data.get(key) else {
            if !reference.optional {
                notes.push(format!(
                    "spec.valuesFrom: {}/{} has no key `{key}`",
                    reference.kind, reference.name
                ));
            }
            continue;
        };
        let applied = match reference.target_path.as_deref() {
            Some(path) => helm::set_value(&format!("{path}={text}"), &mut values, false),
            None => parse_values(text).map(|m| helm::merge_values(&mut values, m)),
        };
        if let Err(message) = applied {
            return UnitRender {
                output: Err(format!(
                    "spec.valuesFrom: {}/{} key `{key}`: {message}",
                    reference.kind, reference.name
                )),
                notes,
            };
        }
    }
    if let Some(Value::Object(inline)) = &spec.values {
        helm::merge_values(&mut values, inline.clone());
    }
    render.helm.values = values;
    notes.extend(chart_notes(dir));
    let output = crate::render(dir, &render)
        .map(|r| r.objects)
        .map_err(|e| error_chain(&e));
    UnitRender { output, notes }
}

/// Whether the chart at `dir` declares dependencies (Chart.yaml `dependencies`, or a Helm 2
/// `requirements.yaml`): only then is the chart loaded a second time to list missing ones.
fn declares_dependencies(dir: &Path) -> bool {
    if dir.join("requirements.yaml").is_file() {
        return true;
    }
    std::fs::read_to_string(dir.join("Chart.yaml"))
        .ok()
        .and_then(|text| {
            gitops_core::yaml::parse_value(&text, gitops_core::yaml::Schema::Yaml11).ok()
        })
        .and_then(|chart| {
            chart
                .get("dependencies")
                .and_then(Value::as_array)
                .map(|d| !d.is_empty())
        })
        .unwrap_or(false)
}

/// A values document: YAML whose top level is a map (or empty).
fn parse_values(text: &str) -> Result<Map<String, Value>, String> {
    match gitops_core::yaml::parse_value(text, gitops_core::yaml::Schema::Yaml11) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(Value::Null) => Ok(Map::new()),
        Ok(other) => Err(format!(
            "expected a map of values, found {}",
            gitops_core::type_name(&other)
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// The data of the ConfigMap or Secret `kind/name` in `namespace` among `known` (an object with
/// no namespace counts as the unit's), Secret values decoded.
fn find_data(
    known: &[&SourcedObject],
    kind: &str,
    name: &str,
    namespace: &str,
) -> Option<BTreeMap<String, String>> {
    let object = known.iter().map(|s| &s.object).find(|o| {
        o.kind() == kind
            && o.group().is_empty()
            && o.name() == name
            && o.namespace().is_none_or(|ns| ns == namespace)
    })?;
    let map = object.as_map();
    let mut data = BTreeMap::new();
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if kind == "Secret" {
        for (key, value) in map
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let decoded = value
                .as_str()
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned());
            if let Some(decoded) = decoded {
                data.insert(key.clone(), decoded);
            }
        }
        for (key, value) in map
            .get("stringData")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(value) = text(value) {
                data.insert(key.clone(), value);
            }
        }
    } else {
        for (key, value) in map
            .get("data")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(value) = text(value) {
                data.insert(key.clone(), value);
            }
        }
    }
    Some(data)
}

/// Renders a directory as its source type.
pub(super) fn render_dir(dir: &Path, options: &RepoOptions) -> Result<Vec<SourcedObject>, String> {
    crate::render(dir, &options.render)
        .map(|r| r.objects)
        .map_err(|e| error_chain(&e))
}

/// An error and its causes on one line, for per-unit reports.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
