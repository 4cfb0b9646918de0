//! The inventory of a unit: the set of objects it applied, and what to prune when it changes.
//!
//! Entries use Flux's form (`<namespace>_<name>_<group>_<kind>` plus the version), so an
//! inventory reads the same as a Kustomization's `status.inventory`. The one addition is a flag
//! on Namespaces that this tool created: only those may ever be pruned.

use std::collections::BTreeSet;

use crate::object::{InventoryIdError, ObjectRef};
use crate::order;

/// Annotation that keeps an object from being pruned when set to `disabled`.
pub const PRUNE_ANNOTATION: &str = "gitops.rs/prune";
/// Flux's annotation with the same meaning, honoured so that Flux repositories keep working.
pub const FLUX_PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";

/// One applied object.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Entry {
    /// Flux's inventory id, `<namespace>_<name>_<group>_<kind>`.
    pub id: String,
    /// The API version the object was applied with.
    #[serde(rename = "v")]
    pub version: String,
    /// Set on Namespaces that the apply created (they did not exist before): only these are ever
    /// pruned, so a namespace shared with others survives the unit going away.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub created: bool,
}

impl Entry {
    /// The entry of an object reference.
    #[must_use]
    pub fn new(object: &ObjectRef, created: bool) -> Self {
        Self {
            id: object.inventory_id(),
            version: object.version.clone(),
            created,
        }
    }

    /// The object this entry names.
    ///
    /// # Errors
    /// When the id is not in Flux's form (a hand-edited or corrupt inventory).
    pub fn object_ref(&self) -> Result<ObjectRef, InventoryIdError> {
        ObjectRef::from_inventory_id(&self.id, &self.version)
    }
}

/// The objects a unit applied, sorted by id.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Inventory {
    /// The entries, sorted by id and unique.
    pub entries: Vec<Entry>,
}

impl Inventory {
    /// An inventory of the given objects; `created` tells which Namespaces the apply created (or
    /// an earlier apply of the same unit did, as recorded in `previous`).
    #[must_use]
    pub fn from_refs<'a>(
        objects: impl IntoIterator<Item = &'a ObjectRef>,
        created: impl Fn(&ObjectRef) -> bool,
    ) -> Self {
        let mut entries: Vec<Entry> = objects
            .into_iter()
            .map(|o| Entry::new(o, o.kind == "Namespace" && o.group.is_empty() && created(o)))
            .collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        entries.dedup_by(|a, b| a.id == b.id);
        Self { entries }
    }

    /// Whether a Namespace with this reference is recorded as created by us.
    #[must_use]
    pub fn created_namespace(&self, object: &ObjectRef) -> bool {
        let id = object.inventory_id();
        self.entries.iter().any(|e| e.created && e.id == id)
    }

    /// The object references, skipping entries whose id is malformed (returned separately).
    #[must_use]
    pub fn refs(&self) -> (Vec<ObjectRef>, Vec<InventoryIdError>) {
        let mut refs = Vec::with_capacity(self.entries.len());
        let mut errors = Vec::new();
        for entry in &self.entries {
            match entry.object_ref() {
                Ok(r) => refs.push(r),
                Err(e) => errors.push(e),
            }
        }
        (refs, errors)
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the inventory is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What to delete after applying `new` over `old`: the objects of `old` missing from `new`, in
/// reverse apply order (custom resources before their CRDs, workloads before their Namespace).
/// Namespaces that `old` does not record as created by us are left out: pruning never deletes a
/// namespace someone else made.
#[must_use]
pub fn prune_set(old: &Inventory, new: &Inventory) -> Vec<ObjectRef> {
    let keep: BTreeSet<&str> = new.entries.iter().map(|e| e.id.as_str()).collect();
    let mut gone: Vec<ObjectRef> = old
        .entries
        .iter()
        .filter(|e| !keep.contains(e.id.as_str()))
        .filter_map(|e| {
            let r = e.object_ref().ok()?;
            let namespace = r.kind == "Namespace" && r.group.is_empty();
            (!namespace || e.created).then_some(r)
        })
        .collect();
    sort_refs_for_delete(&mut gone);
    gone
}

/// Sorts references into reverse apply order.
pub fn sort_refs_for_delete(refs: &mut [ObjectRef]) {
    refs.sort_by(|a, b| order::compare_refs_for_apply(b, a));
}

/// Whether an object's annotations ask to keep it out of pruning (`gitops.rs/prune: disabled`
/// or Flux's `kustomize.toolkit.fluxcd.io/prune: disabled`).
#[must_use]
pub fn prune_disabled(object: &crate::Object) -> bool {
    [PRUNE_ANNOTATION, FLUX_PRUNE_ANNOTATION]
        .iter()
        .any(|key| object.annotation(key) == Some("disabled"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Object;
    use proptest::prelude::*;
    use serde_json::json;

    fn r(group: &str, kind: &str, ns: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            group: group.into(),
            version: "v1".into(),
            kind: kind.into(),
            namespace: ns.map(Into::into),
            name: name.into(),
        }
    }

    #[test]
    fn prune_set_is_old_minus_new_in_reverse_apply_order() {
        let ns = r("", "Namespace", None, "app");
        let crd = r(
            "apiextensions.k8s.io",
            "CustomResourceDefinition",
            None,
            "w.x.io",
        );
        let cm = r("", "ConfigMap", Some("app"), "cfg");
        let dep = r("apps", "Deployment", Some("app"), "web");
        let widget = r("x.io", "Widget", Some("app"), "w1");
        let old = Inventory::from_refs([&ns, &crd, &cm, &dep, &widget], |_| true);
        let new = Inventory::from_refs([&cm], |_| false);
        let gone = prune_set(&old, &new);
        let names: Vec<String> = gone.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "x.io/Widget/app/w1",
                "apps/Deployment/app/web",
                "Namespace/app",
                "apiextensions.k8s.io/CustomResourceDefinition/w.x.io"
            ]
        );
    }

    #[test]
    fn namespaces_not_created_by_us_are_never_pruned() {
        let ns = r("", "Namespace", None, "shared");
        let old = Inventory::from_refs([&ns], |_| false);
        assert!(!old.entries[0].created);
        assert!(prune_set(&old, &Inventory::default()).is_empty());
    }

    #[test]
    fn entries_round_trip_in_flux_form() {
        let dep = r("apps", "Deployment", Some("prod"), "web");
        let inv = Inventory::from_refs([&dep, &dep], |_| false);
        assert_eq!(inv.len(), 1);
        let text = serde_json::to_string(&inv).unwrap();
        assert_eq!(
            text,
            r#"{"entries":[{"id":"prod_web_apps_Deployment","v":"v1"}]}"#
        );
        let back: Inventory = serde_json::from_str(&text).unwrap();
        assert_eq!(back.refs().0, [dep]);
    }

    #[test]
    fn malformed_entries_are_reported_not_pruned() {
        let inv = Inventory {
            entries: vec![Entry {
                id: "garbage".into(),
                version: "v1".into(),
                created: false,
            }],
        };
        let (refs, errors) = inv.refs();
        assert!(refs.is_empty());
        assert_eq!(errors.len(), 1);
        assert!(prune_set(&inv, &Inventory::default()).is_empty());
    }

    #[test]
    fn prune_annotations() {
        let obj = |a: serde_json::Value| {
            Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "c", "annotations": a}}))
            .unwrap()
        };
        assert!(prune_disabled(&obj(json!({"gitops.rs/prune": "disabled"}))));
        assert!(prune_disabled(&obj(
            json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"})
        )));
        assert!(!prune_disabled(&obj(json!({"gitops.rs/prune": "enabled"}))));
        assert!(!prune_disabled(&obj(json!({}))));
    }

    proptest! {
        #[test]
        fn prune_set_never_holds_kept_objects(
            old in proptest::collection::vec(("[a-c]", "[a-e]"), 0..12),
            new in proptest::collection::vec(("[a-c]", "[a-e]"), 0..12),
        ) {
            let mk = |v: &Vec<(String, String)>| -> Vec<ObjectRef> {
                v.iter().map(|(ns, n)| r("", "ConfigMap", Some(ns), n)).collect()
            };
            let (old_refs, new_refs) = (mk(&old), mk(&new));
            let gone = prune_set(
                &Inventory::from_refs(&old_refs, |_| false),
                &Inventory::from_refs(&new_refs, |_| false),
            );
            for g in &gone {
                prop_assert!(!new_refs.contains(g));
                prop_assert!(old_refs.contains(g));
            }
            let expected: BTreeSet<_> = old_refs.iter().filter(|o| !new_refs.contains(o)).collect();
            prop_assert_eq!(gone.len(), expected.len());
        }
    }
}
