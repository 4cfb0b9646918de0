//! Mapping unit and source objects of every supported API version into the unit model.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{ApplicationSpec, Dialect, Source, SourceId, Unit, UnitBody, UnitId, UnitKind};
use crate::api::{self, DependencyReference, GitRef, HelmReleaseSpec, KustomizationSpec};
use crate::{ObjectRef, Origin, SourcedObject};

/// What an object turned out to be.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Read {
    /// A unit.
    Unit(Box<Unit>),
    /// A source.
    Source(Box<Source>),
    /// An ordinary object.
    Other,
}

/// A unit or source object whose spec cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {object}: {message}")]
pub struct ReadError {
    /// Where the object was declared.
    pub origin: Origin,
    /// The object.
    pub object: ObjectRef,
    /// What is wrong, naming the field.
    pub message: String,
}

const FLUX_SOURCE_GROUP: &str = "source.toolkit.fluxcd.io";
const FLUX_KUSTOMIZE_GROUP: &str = "kustomize.toolkit.fluxcd.io";
const FLUX_HELM_GROUP: &str = "helm.toolkit.fluxcd.io";
const ARGO_GROUP: &str = "argoproj.io";

/// Reads `object` as a unit or a source, if it is one.
///
/// Recognised: `gitops.rs/v1alpha1` GitRepository, HelmRepository, Kustomization, HelmRelease; Flux
/// `source.toolkit.fluxcd.io` (v1, v1beta2, v1beta1) GitRepository, OCIRepository,
/// HelmRepository, Bucket; `kustomize.toolkit.fluxcd.io` (v1, v1beta2, v1beta1) Kustomization;
/// `helm.toolkit.fluxcd.io` (v2, v2beta2, v2beta1) HelmRelease; Argo CD `argoproj.io/v1alpha1`
/// Application.
///
/// # Errors
/// When a recognised object's spec has a missing field or a field of the wrong type.
pub fn read(sourced: &SourcedObject) -> Result<Read, ReadError> {
    let object = &sourced.object;
    let (group, version, kind) = (object.group(), object.version(), object.kind());
    let dialect = match group {
        api::GROUP if version == api::VERSION => Dialect::Gitops,
        FLUX_SOURCE_GROUP | FLUX_KUSTOMIZE_GROUP | FLUX_HELM_GROUP => Dialect::Flux,
        ARGO_GROUP if version == "v1alpha1" => Dialect::Argo,
        _ => return Ok(Read::Other),
    };
    let err = |message: String| ReadError {
        origin: sourced.origin.clone(),
        object: object.object_ref(),
        message,
    };
    let namespace = object.namespace().unwrap_or("default").to_owned();
    let spec = object
        .as_map()
        .get("spec")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    if !spec.is_object() {
        return Err(err(format!(
            "field `spec`: expected a mapping, found {}",
            crate::type_name(&spec)
        )));
    }
    let source = |url: String, reference: Option<GitRef>| {
        Ok(Read::Source(Box::new(Source {
            id: SourceId {
                kind: kind.to_owned(),
                namespace: namespace.clone(),
                name: object.name().to_owned(),
            },
            dialect,
            api_version: object.api_version().to_owned(),
            origin: sourced.origin.clone(),
            url,
            reference,
        })))
    };
    match (dialect, group, kind) {
        (Dialect::Gitops, _, "GitRepository")
        | (Dialect::Flux, FLUX_SOURCE_GROUP, "GitRepository") => {
            let spec: api::GitRepositorySpec = typed(&spec).map_err(err)?;
            source(spec.url, spec.reference)
        }
        (Dialect::Gitops, _, "HelmRepository")
        | (Dialect::Flux, FLUX_SOURCE_GROUP, "OCIRepository" | "HelmRepository" | "Bucket") => {
            let url = spec
                .get("url")
                .or_else(|| spec.get("endpoint"))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            source(url, None)
        }
        (Dialect::Gitops, _, "Kustomization")
        | (Dialect::Flux, FLUX_KUSTOMIZE_GROUP, "Kustomization") => {
            let (spec, mut unknown) = migrate_flux_kustomization(spec);
            let typed_spec: KustomizationSpec = typed(&spec).map_err(err)?;
            unknown.extend(unknown_spec_fields::<KustomizationSpec>(&spec));
            let depends_on =
                dependencies(&typed_spec.depends_on, UnitKind::Kustomization, &namespace);
            Ok(unit(
                sourced,
                dialect,
                UnitKind::Kustomization,
                depends_on,
                UnitBody::Kustomization(Box::new(typed_spec)),
                unknown,
            ))
        }
        (Dialect::Gitops, _, "HelmRelease") | (Dialect::Flux, FLUX_HELM_GROUP, "HelmRelease") => {
            let typed_spec: HelmReleaseSpec = typed(&spec).map_err(err)?;
            let unknown = unknown_spec_fields::<HelmReleaseSpec>(&spec);
            let depends_on =
                dependencies(&typed_spec.depends_on, UnitKind::HelmRelease, &namespace);
            Ok(unit(
                sourced,
                dialect,
                UnitKind::HelmRelease,
                depends_on,
                UnitBody::HelmRelease(Box::new(typed_spec)),
                unknown,
            ))
        }
        (Dialect::Argo, _, "Application") => {
            let typed_spec: ApplicationSpec = typed(&spec).map_err(err)?;
            let unknown = unknown_spec_fields::<ApplicationSpec>(&spec);
            Ok(unit(
                sourced,
                dialect,
                UnitKind::Application,
                Vec::new(),
                UnitBody::Application(Box::new(typed_spec)),
                unknown,
            ))
        }
        _ => Ok(Read::Other),
    }
}

fn unit(
    sourced: &SourcedObject,
    dialect: Dialect,
    kind: UnitKind,
    depends_on: Vec<UnitId>,
    body: UnitBody,
    unknown_fields: Vec<String>,
) -> Read {
    let object = &sourced.object;
    let sync_wave = object
        .annotation("argocd.argoproj.io/sync-wave")
        .and_then(|w| w.trim().parse().ok())
        .unwrap_or(0);
    Read::Unit(Box::new(Unit {
        id: UnitId::new(kind, object.namespace().unwrap_or("default"), object.name()),
        dialect,
        api_version: object.api_version().to_owned(),
        origin: sourced.origin.clone(),
        depends_on,
        sync_wave,
        body,
        unknown_fields,
    }))
}

/// `dependsOn` entries as unit identities; a missing namespace means the dependent's (Flux).
fn dependencies(refs: &[DependencyReference], kind: UnitKind, namespace: &str) -> Vec<UnitId> {
    refs.iter()
        .map(|d| UnitId::new(kind, d.namespace.as_deref().unwrap_or(namespace), &d.name))
        .collect()
}

fn typed<T: DeserializeOwned>(spec: &Value) -> Result<T, String> {
    serde_json::from_value(spec.clone()).map_err(|e| format!("invalid `spec`: {e}"))
}

fn unknown_spec_fields<T: schemars::JsonSchema>(spec: &Value) -> Vec<String> {
    let schema = schemars::schema_for!(T);
    let schema = serde_json::to_value(&schema).unwrap_or_default();
    api::unknown_fields(&schema, spec)
        .into_iter()
        .map(|p| format!("/spec{p}"))
        .collect()
}

/// Maps the fields Flux's `v1beta2`/`v1beta1` Kustomization had and `v1` dropped onto `v1`
/// ones: `patchesStrategicMerge` and `patchesJson6902` become `patches`; `validation` (a no-op
/// since Flux 0.29) is dropped and reported.
pub(super) fn migrate_flux_kustomization(mut spec: Value) -> (Value, Vec<String>) {
    let mut reported = Vec::new();
    let Some(map) = spec.as_object_mut() else {
        return (spec, reported);
    };
    let mut patches: Vec<Value> = match map.shift_remove("patches") {
        Some(Value::Array(p)) => p,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    if let Some(Value::Array(smps)) = map.shift_remove("patchesStrategicMerge") {
        for smp in smps {
            patches.push(serde_json::json!({ "patch": crate::yaml::to_string(&smp) }));
        }
    }
    if let Some(Value::Array(jsons)) = map.shift_remove("patchesJson6902") {
        for item in jsons {
            let ops = item
                .get("patch")
                .cloned()
                .unwrap_or(Value::Array(Vec::new()));
            let mut patch =
                serde_json::json!({ "patch": serde_json::to_string(&ops).unwrap_or_default() });
            if let Some(target) = item.get("target") {
                patch["target"] = target.clone();
            }
            patches.push(patch);
        }
    }
    if !patches.is_empty() {
        map.insert("patches".to_owned(), Value::Array(patches));
    }
    if map.shift_remove("validation").is_some() {
        reported.push("/spec/validation".to_owned());
    }
    (spec, reported)
}

#[cfg(test)]
mod tests;
