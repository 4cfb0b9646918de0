//! The order in which objects are applied, as a pure function of the objects.
//!
//! CustomResourceDefinitions and Namespaces come first, then built-in kinds in the order Helm
//! installs them, then everything else (custom resources, unknown kinds) by kind. Within a kind,
//! objects sort by name, then namespace, so the result never depends on input order.

use std::cmp::Ordering;

use crate::object::Object;

/// Built-in kinds in Helm's install order (after the CRDs and Namespaces that go first).
const KIND_ORDER: &[&str] = &[
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

/// API groups whose kinds are Kubernetes' own; a `Service` of another group (Knative's, say) is
/// a custom resource and sorts with the unknown kinds.
const BUILTIN_GROUPS: &[&str] = &[
    "",
    "apps",
    "batch",
    "autoscaling",
    "policy",
    "extensions",
    "networking.k8s.io",
    "rbac.authorization.k8s.io",
    "storage.k8s.io",
    "apiextensions.k8s.io",
    "apiregistration.k8s.io",
];

fn is_builtin(group: &str) -> bool {
    BUILTIN_GROUPS.contains(&group)
}

/// Whether the object is a CustomResourceDefinition.
#[must_use]
pub fn is_crd(object: &Object) -> bool {
    object.kind() == "CustomResourceDefinition" && object.group() == "apiextensions.k8s.io"
}

/// Whether the object is a Namespace.
#[must_use]
pub fn is_namespace(object: &Object) -> bool {
    object.kind() == "Namespace" && object.group().is_empty()
}

/// Position of the object's kind in the apply order: lower applies earlier.
#[must_use]
pub fn kind_rank(object: &Object) -> usize {
    rank_of(object.group(), object.kind())
}

/// [`kind_rank`] for a group and kind, as in an [`crate::ObjectRef`].
#[must_use]
pub fn rank_of(group: &str, kind: &str) -> usize {
    if kind == "CustomResourceDefinition" && group == "apiextensions.k8s.io" {
        return 0;
    }
    if kind == "Namespace" && group.is_empty() {
        return 1;
    }
    if is_builtin(group)
        && let Some(i) = KIND_ORDER.iter().position(|k| *k == kind)
    {
        return 2 + i;
    }
    2 + KIND_ORDER.len()
}

/// [`compare_for_apply`] on identities: rank, kind, group, name, namespace.
#[must_use]
pub fn compare_refs_for_apply(a: &crate::ObjectRef, b: &crate::ObjectRef) -> Ordering {
    rank_of(&a.group, &a.kind)
        .cmp(&rank_of(&b.group, &b.kind))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.name.cmp(&b.name))
        .then_with(|| a.namespace.cmp(&b.namespace))
}

/// Total order of two objects for applying.
#[must_use]
pub fn compare_for_apply(a: &Object, b: &Object) -> Ordering {
    kind_rank(a)
        .cmp(&kind_rank(b))
        .then_with(|| a.kind().cmp(b.kind()))
        .then_with(|| a.group().cmp(b.group()))
        .then_with(|| a.name().cmp(b.name()))
        .then_with(|| a.namespace().cmp(&b.namespace()))
        .then_with(|| a.version().cmp(b.version()))
}

/// Sorts objects into apply order. Stable, so objects with the same identity keep their relative
/// order (such a set is invalid anyway; see [`crate::check_unique`]).
pub fn sort_for_apply<T: AsRef<Object>>(items: &mut [T]) {
    items.sort_by(|a, b| compare_for_apply(a.as_ref(), b.as_ref()));
}

/// The stages of a staged apply: each is applied, and waited for, before the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Stage {
    /// CRDs, Namespaces and ClusterRoles: what other objects need to exist to be accepted.
    Definitions,
    /// `*Class` kinds (StorageClass, IngressClass, …) that workloads refer to.
    Classes,
    /// Everything else.
    Resources,
}

/// The stage an object is applied in.
#[must_use]
pub fn stage_of(object: &Object) -> Stage {
    if is_crd(object)
        || is_namespace(object)
        || (object.kind() == "ClusterRole" && object.group() == "rbac.authorization.k8s.io")
    {
        Stage::Definitions
    } else if object.kind().ends_with("Class") {
        Stage::Classes
    } else {
        Stage::Resources
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn obj(api: &str, kind: &str, name: &str) -> Object {
        Object::from_value(json!({"apiVersion": api, "kind": kind, "metadata": {"name": name}}))
            .unwrap()
    }

    fn crd(group: &str, kind: &str) -> Object {
        let mut o = obj(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            &format!("{}s.{group}", kind.to_lowercase()),
        );
        o.as_map_mut().insert(
            "spec".into(),
            json!({"group": group, "names": {"kind": kind}}),
        );
        o
    }

    fn names(objs: &[Object]) -> Vec<String> {
        objs.iter().map(|o| o.object_ref().to_string()).collect()
    }

    #[test]
    fn follows_helm_kind_order_with_crds_and_namespaces_first() {
        let mut objs = vec![
            obj("example.com/v1", "Widget", "w"),
            obj("apps/v1", "Deployment", "b"),
            obj("apps/v1", "Deployment", "a"),
            obj("v1", "Service", "a"),
            obj("serving.knative.dev/v1", "Service", "k"),
            obj("v1", "Namespace", "prod"),
            obj("networking.k8s.io/v1", "Ingress", "i"),
            obj("v1", "ConfigMap", "c"),
            crd("example.com", "Widget"),
        ];
        sort_for_apply(&mut objs);
        insta::assert_snapshot!(names(&objs).join("\n"));
    }

    #[test]
    fn stages_split_definitions_classes_and_the_rest() {
        assert_eq!(stage_of(&crd("x.io", "X")), Stage::Definitions);
        assert_eq!(stage_of(&obj("v1", "Namespace", "n")), Stage::Definitions);
        assert_eq!(
            stage_of(&obj("rbac.authorization.k8s.io/v1", "ClusterRole", "r")),
            Stage::Definitions
        );
        assert_eq!(
            stage_of(&obj("storage.k8s.io/v1", "StorageClass", "s")),
            Stage::Classes
        );
        assert_eq!(
            stage_of(&obj("apps/v1", "Deployment", "d")),
            Stage::Resources
        );
    }

    fn arb_object() -> impl Strategy<Value = Object> {
        let kinds = prop::sample::select(vec![
            ("v1", "Namespace"),
            ("v1", "Service"),
            ("v1", "ConfigMap"),
            ("apps/v1", "Deployment"),
            ("batch/v1", "Job"),
            ("example.com/v1", "Widget"),
            ("other.io/v2", "Gadget"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole"),
            ("serving.knative.dev/v1", "Service"),
            ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
        ]);
        (kinds, "[a-c]{1,2}", prop::option::of("[x-z]")).prop_map(|((api, kind), name, ns)| {
            let mut meta = json!({"name": name});
            if let Some(ns) = ns {
                meta["namespace"] = json!(ns);
            }
            Object::from_value(json!({"apiVersion": api, "kind": kind, "metadata": meta})).unwrap()
        })
    }

    proptest! {
        #[test]
        fn order_does_not_depend_on_input_order(
            objs in prop::collection::vec(arb_object(), 0..30),
            seed in any::<u64>(),
        ) {
            let mut unique = Vec::new();
            for o in objs {
                if !unique.iter().any(|u: &Object| u.object_ref() == o.object_ref() && u.version() == o.version()) {
                    unique.push(o);
                }
            }
            let mut a = unique.clone();
            let mut b = unique;
            // A deterministic shuffle from the seed.
            let len = b.len();
            let mut s = seed;
            for i in (1..len).rev() {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                b.swap(i, (s >> 33) as usize % (i + 1));
            }
            sort_for_apply(&mut a);
            sort_for_apply(&mut b);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn crds_precede_their_custom_resources(objs in prop::collection::vec(arb_object(), 0..30)) {
            let mut all = objs;
            all.push(crd("example.com", "Widget"));
            all.push(crd("other.io", "Gadget"));
            all.push(crd("serving.knative.dev", "Service"));
            sort_for_apply(&mut all);
            for (i, o) in all.iter().enumerate() {
                if is_crd(o) && o.as_map().contains_key("spec") {
                    let group = o.as_map()["spec"]["group"].as_str().unwrap();
                    let kind = o.as_map()["spec"]["names"]["kind"].as_str().unwrap();
                    prop_assert!(!all[..i].iter().any(|e| e.group() == group && e.kind() == kind));
                }
            }
        }
    }
}
