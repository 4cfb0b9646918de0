//! The CustomResourceDefinitions of our kinds, generated from the Rust types so that the schema
//! the API server validates against is the one the operator deserializes with.

use kube::CustomResourceExt;
use serde_json::Value;

use super::{GitRepository, HelmRelease, HelmRepository, Kustomization, Receiver};

/// The CRDs of `GitRepository`, `HelmRepository`, `Kustomization`, `HelmRelease` and
/// `Receiver`, in that order, as
/// JSON objects ready to apply.
#[must_use]
pub fn crds() -> Vec<Value> {
    [
        GitRepository::crd(),
        HelmRepository::crd(),
        Kustomization::crd(),
        HelmRelease::crd(),
        Receiver::crd(),
    ]
    .iter()
    // A CRD is plain data; its serialization cannot fail.
    .filter_map(|crd| serde_json::to_value(crd).ok())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_status_subresource_columns_and_short_names() {
        let crds = crds();
        assert_eq!(crds.len(), 5);
        for crd in &crds {
            let name = crd["metadata"]["name"].as_str().unwrap_or_default();
            assert!(name.ends_with(".gitops.rs"), "{name}");
            let version = &crd["spec"]["versions"][0];
            assert!(version["subresources"]["status"].is_object(), "{name}");
            let columns: Vec<&str> = version["additionalPrinterColumns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap())
                .collect();
            assert_eq!(columns[..2], ["Ready", "Status"], "{name}");
            assert_eq!(columns.last(), Some(&"Age"), "{name}");
            assert_eq!(
                crd["spec"]["names"]["shortNames"].as_array().unwrap().len(),
                1
            );
        }
    }
}
