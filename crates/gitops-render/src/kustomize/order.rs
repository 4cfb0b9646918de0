//! kustomize's output orders: `legacy` (the default: kinds in a fixed order, then by gvk,
//! namespace and name) and `fifo` (input order).

use std::cmp::Ordering;
use std::collections::HashMap;

use super::kustfile::SortOptions;
use super::resource::Resource;

const ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// Sorts `resources` as `sort_options` (or kustomize's default, legacy) says.
pub(super) fn sort(resources: &mut Vec<Resource>, sort_options: Option<&SortOptions>) {
    let (first, last): (Vec<String>, Vec<String>) = match sort_options {
        Some(o) if o.order.as_deref() == Some("fifo") => return,
        Some(o) => match &o.legacy_sort_options {
            Some(l) => (l.order_first.clone(), l.order_last.clone()),
            None => (own(ORDER_FIRST), own(ORDER_LAST)),
        },
        None => (own(ORDER_FIRST), own(ORDER_LAST)),
    };
    let mut rank: HashMap<String, i64> = HashMap::new();
    let n = i64::try_from(first.len()).unwrap_or(i64::MAX);
    for (i, k) in first.iter().enumerate() {
        rank.insert(k.clone(), -n + i64::try_from(i).unwrap_or(0));
    }
    for (i, k) in last.iter().enumerate() {
        rank.insert(k.clone(), 1 + i64::try_from(i).unwrap_or(0));
    }
    let mut keyed: Vec<(i64, String, bool, String, Resource)> = Vec::new();
    for r in std::mem::take(resources) {
        let id = r.cur_id();
        let ns = if id.namespace.is_empty() {
            "~X".to_owned()
        } else {
            id.namespace.clone()
        };
        let name = if id.name.is_empty() {
            "~N".to_owned()
        } else {
            id.name.clone()
        };
        keyed.push((
            rank.get(&id.gvk.kind).copied().unwrap_or(0),
            id.gvk.legacy_sort_string(),
            id.gvk.kind == "Namespace" && id.gvk.group.is_empty(),
            format!("{ns}|{name}"),
            r,
        ));
    }
    keyed.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| {
                if a.1 == b.1 {
                    return Ordering::Equal;
                }
                // kustomize puts core Namespaces after grouped ones of the same kind.
                if a.4.kind() == "Namespace" && b.4.kind() == "Namespace" && (a.2 || b.2) {
                    b.1.cmp(&a.1)
                } else {
                    a.1.cmp(&b.1)
                }
            })
            .then_with(|| a.3.cmp(&b.3))
    });
    resources.extend(keyed.into_iter().map(|k| k.4));
}

fn own(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}
