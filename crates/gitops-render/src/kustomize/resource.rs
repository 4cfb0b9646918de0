//! Resources as kustomize tracks them while building: the object plus the bookkeeping kustomize
//! keeps in build annotations (previous ids, name prefixes and suffixes, hash-suffix requests,
//! generator behaviour, variables that refer to it), and the ordered list of them.

use std::fmt;

use gitops_core::Origin;
use serde_json::{Map, Value};

/// Group, version and kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(super) struct Gvk {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl Gvk {
    pub(super) fn from_api_version(api_version: &str, kind: &str) -> Self {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version.to_owned()),
        };
        Self {
            group,
            version,
            kind: kind.to_owned(),
        }
    }

    /// Whether `selector` (empty fields are wildcards) selects this gvk.
    pub(super) fn is_selected_by(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    pub(super) fn is_cluster_scoped(&self) -> bool {
        CLUSTER_SCOPED_KINDS.contains(&self.kind.as_str())
    }

    /// kustomize's legacy sort string of a gvk (`group_version_kind`, `~G` etc. for empty parts).
    pub(super) fn legacy_sort_string(&self) -> String {
        let or = |s: &str, d: &'static str| {
            if s.is_empty() {
                d.to_owned()
            } else {
                s.to_owned()
            }
        };
        format!(
            "{}_{}_{}",
            or(&self.group, "~G"),
            or(&self.version, "~V"),
            or(&self.kind, "~K")
        )
    }
}

/// Built-in kinds that are not namespaced. Like kustomize (which asks its built-in OpenAPI
/// schema), kinds not in this list, including all custom resources, are treated as namespaced.
const CLUSTER_SCOPED_KINDS: &[&str] = &[
    "APIService",
    "CSIDriver",
    "CSINode",
    "CertificateSigningRequest",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterTrustBundle",
    "ComponentStatus",
    "CustomResourceDefinition",
    "DeviceClass",
    "FlowSchema",
    "IPAddress",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "SelfSubjectAccessReview",
    "SelfSubjectRulesReview",
    "ServiceCIDR",
    "StorageClass",
    "StorageVersion",
    "SubjectAccessReview",
    "TokenReview",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
    "VolumeAttributesClass",
];

/// The identity of a resource.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub(super) struct ResId {
    pub gvk: Gvk,
    pub name: String,
    pub namespace: String,
}

impl ResId {
    /// The namespace as the API server would see it: `default` for an unset namespace of a
    /// namespaced kind, empty for cluster-scoped kinds.
    pub(super) fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            ""
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// Same gvk, name and effective namespace (kustomize's `ResId.Equals`).
    pub(super) fn equals(&self, other: &ResId) -> bool {
        self.gvk == other.gvk
            && self.name == other.name
            && self.effective_namespace() == other.effective_namespace()
    }

    pub(super) fn ns_equals(&self, other: &ResId) -> bool {
        self.effective_namespace() == other.effective_namespace()
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.gvk.group.is_empty() {
            write!(f, "{}/", self.gvk.group)?;
        }
        write!(f, "{}/", self.gvk.kind)?;
        if !self.namespace.is_empty() {
            write!(f, "{}/", self.namespace)?;
        }
        f.write_str(&self.name)
    }
}

/// What a generated object does to an existing one of the same id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) enum Behavior {
    #[default]
    Create,
    Merge,
    Replace,
}

/// One object being built.
#[derive(Debug, Clone)]
pub(super) struct Resource {
    pub obj: Map<String, Value>,
    pub origin: Origin,
    /// Ids the resource had before renames, oldest first.
    pub prev_ids: Vec<ResId>,
    pub prefixes: Vec<String>,
    pub suffixes: Vec<String>,
    pub needs_hash: bool,
    pub behavior: Behavior,
    pub ref_vars: Vec<String>,
}

impl Resource {
    pub(super) fn new(obj: Map<String, Value>, origin: Origin) -> Self {
        Self {
            obj,
            origin,
            prev_ids: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            needs_hash: false,
            behavior: Behavior::Create,
            ref_vars: Vec::new(),
        }
    }

    fn str_field(&self, key: &str) -> &str {
        self.obj
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    fn meta_str(&self, key: &str) -> &str {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub(super) fn kind(&self) -> &str {
        self.str_field("kind")
    }

    pub(super) fn name(&self) -> &str {
        self.meta_str("name")
    }

    pub(super) fn namespace(&self) -> &str {
        self.meta_str("namespace")
    }

    pub(super) fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.str_field("apiVersion"), self.kind())
    }

    pub(super) fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_owned(),
            namespace: self.namespace().to_owned(),
        }
    }

    /// The id the resource had when it was read or generated.
    pub(super) fn org_id(&self) -> ResId {
        self.prev_ids
            .first()
            .cloned()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Whether any id, past or present, satisfies `f`.
    pub(super) fn any_id(&self, f: impl Fn(&ResId) -> bool) -> bool {
        f(&self.cur_id()) || self.prev_ids.iter().any(&f)
    }

    pub(super) fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev_ids.push(id);
    }

    fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let meta = self
            .obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !meta.is_object() {
            *meta = Value::Object(Map::new());
        }
        match meta {
            Value::Object(m) => m,
            _ => unreachable!("metadata was just made an object"),
        }
    }

    pub(super) fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.to_owned()));
    }

    pub(super) fn set_namespace(&mut self, ns: &str) {
        self.metadata_mut()
            .insert("namespace".into(), Value::String(ns.to_owned()));
    }

    pub(super) fn set_kind(&mut self, kind: &str) {
        self.obj
            .insert("kind".into(), Value::String(kind.to_owned()));
    }

    pub(super) fn string_map(&self, key: &str) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    pub(super) fn set_string_map(&mut self, key: &str, map: Map<String, Value>) {
        if map.is_empty() {
            self.metadata_mut().remove(key);
        } else {
            self.metadata_mut()
                .insert(key.to_owned(), Value::Object(map));
        }
    }

    /// Kustomize's `PrefixesSuffixesEquals`.
    pub(super) fn prefixes_suffixes_equal(&self, other: &Resource, allow_empty: bool) -> bool {
        if allow_empty {
            let pre = self.prefixes.is_empty()
                || other.prefixes.is_empty()
                || same_ending(&self.prefixes, &other.prefixes);
            let suf = self.suffixes.is_empty()
                || other.suffixes.is_empty()
                || same_ending(&self.suffixes, &other.suffixes);
            pre && suf
        } else {
            same_ending(&self.prefixes, &other.prefixes)
                && same_ending(&self.suffixes, &other.suffixes)
        }
    }
}

/// Whether one slice ends with the other (the shorter is a suffix of the longer).
fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    long.ends_with(short)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_compare_by_effective_namespace() {
        let a = ResId {
            gvk: Gvk::from_api_version("v1", "ConfigMap"),
            name: "x".into(),
            namespace: String::new(),
        };
        let mut b = a.clone();
        b.namespace = "default".into();
        assert!(a.equals(&b));
        b.namespace = "prod".into();
        assert!(!a.equals(&b));
    }

    #[test]
    fn same_ending_compares_tails() {
        let s = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(same_ending(&s(&["a", "b"]), &s(&["b"])));
        assert!(!same_ending(&s(&["a", "b"]), &s(&["a"])));
        assert!(same_ending(&s(&[]), &s(&["a"])));
    }
}
