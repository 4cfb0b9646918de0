//! Converting unit and source objects between Flux's APIs and `gitops.rs/v1alpha1`.
//!
//! Our kinds keep Flux's field names, so converting is mostly a change of `apiVersion`; fields
//! that Flux's v1 dropped (`patchesStrategicMerge`, `patchesJson6902`, `validation`) are migrated
//! on the way in, as [`super::read`] does.

use serde_json::Value;

use crate::Object;
use crate::api;

/// Which API family to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Target {
    /// `gitops.rs/v1alpha1`.
    Gitops,
    /// Flux's current versions.
    Flux,
}

/// An object that cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot convert {object}: {message}")]
pub struct ConvertError {
    /// The object.
    pub object: String,
    /// Why.
    pub message: String,
}

/// Converts one object; objects that are not units or Git sources are returned unchanged.
///
/// # Errors
/// When a unit's `spec` is not a mapping.
pub fn convert(mut object: Object, target: Target) -> Result<Object, ConvertError> {
    let group = object.group().to_owned();
    let kind = object.kind().to_owned();
    let new_api_version = match (target, group.as_str(), kind.as_str()) {
        (Target::Gitops, "source.toolkit.fluxcd.io", "GitRepository" | "HelmRepository")
        | (Target::Gitops, "kustomize.toolkit.fluxcd.io", "Kustomization")
        | (Target::Gitops, "helm.toolkit.fluxcd.io", "HelmRelease") => api::API_VERSION,
        (Target::Flux, api::GROUP, "GitRepository" | "HelmRepository") => {
            "source.toolkit.fluxcd.io/v1"
        }
        (Target::Flux, api::GROUP, "Kustomization") => "kustomize.toolkit.fluxcd.io/v1",
        (Target::Flux, api::GROUP, "HelmRelease") => "helm.toolkit.fluxcd.io/v2",
        (Target::Flux, "kustomize.toolkit.fluxcd.io", "Kustomization") => {
            "kustomize.toolkit.fluxcd.io/v1"
        }
        _ => return Ok(object),
    };
    if kind == "Kustomization" {
        let map = object.as_map_mut();
        if let Some(spec) = map.get_mut("spec") {
            if !spec.is_object() {
                return Err(ConvertError {
                    object: object.object_ref().to_string(),
                    message: "`spec` is not a mapping".to_owned(),
                });
            }
            let (migrated, _) = super::read::migrate_flux_kustomization(spec.take());
            *spec = migrated;
        }
    }
    object.as_map_mut().insert(
        "apiVersion".to_owned(),
        Value::String(new_api_version.to_owned()),
    );
    Ok(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Object {
        Object::from_value(v).unwrap()
    }

    #[test]
    fn flux_units_become_ours_and_back() {
        let flux = obj(json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1beta2", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                     "validation": "client",
                     "patchesJson6902": [{"target": {"kind": "Deployment", "name": "web"},
                                          "patch": [{"op": "remove", "path": "/spec/replicas"}]}]}
        }));
        let ours = convert(flux, Target::Gitops).unwrap();
        assert_eq!(ours.api_version(), "gitops.rs/v1alpha1");
        assert_eq!(
            ours.as_map()["spec"],
            json!({"path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                   "patches": [{"patch": "[{\"op\":\"remove\",\"path\":\"/spec/replicas\"}]",
                                "target": {"kind": "Deployment", "name": "web"}}]})
        );
        let back = convert(ours, Target::Flux).unwrap();
        assert_eq!(back.api_version(), "kustomize.toolkit.fluxcd.io/v1");
        let repo = obj(
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "r"}, "spec": {"url": "https://x"}}),
        );
        assert_eq!(
            convert(repo, Target::Gitops).unwrap().api_version(),
            "gitops.rs/v1alpha1"
        );
        let cm = obj(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}));
        assert_eq!(convert(cm.clone(), Target::Gitops).unwrap(), cm);
    }
}
