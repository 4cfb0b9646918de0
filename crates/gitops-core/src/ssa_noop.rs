//! Whether a server-side apply of an object would change nothing, decided from the live object
//! alone (no request).
//!
//! A no-op re-apply still costs the API server a full server-side apply per object (decode,
//! merge, compare); with this check the apply engine skips objects whose live state already is
//! what we would write, so a re-apply of an unchanged set costs one list per kind. The check is
//! conservative: it answers `true` only when
//!
//! 1. the live object has exactly one `Apply` entry of our field manager in `managedFields`
//!    (main resource, `FieldsV1`, same apiVersion as ours),
//! 2. every field of the desired object is present in the live object with the same value, and
//!    is owned by that entry (so applying it would neither change a value nor take ownership),
//! 3. every field owned by that entry is in the desired object (so applying would remove
//!    nothing).
//!
//! Then server-side apply, whose result is the live object with our fields set and the fields
//! we dropped removed, returns the live object unchanged. Anything it does not understand
//! (`i:` list positions, `null` values, `status`, server-managed metadata in the manifest,
//! elements in another order) makes it answer `false`, and the object is applied as usual.

use serde_json::{Map, Value};

/// Top-level and metadata fields the API server leaves out of managed fields: never compared.
const IDENTITY_TOP: [&str; 2] = ["apiVersion", "kind"];
const IDENTITY_META: [&str; 2] = ["name", "namespace"];
/// Metadata the server sets itself: a manifest that carries them is applied, not skipped.
const SERVER_META: [&str; 7] = [
    "creationTimestamp",
    "generation",
    "managedFields",
    "resourceVersion",
    "selfLink",
    "uid",
    "deletionTimestamp",
];

/// True when applying `desired` (the body we would send) with `field_manager` to an object
/// whose live state is `live` would change nothing. See the module documentation.
#[must_use]
pub fn apply_is_noop(desired: &Value, live_value: &Value, field_manager: &str) -> bool {
    let (Some(desired), Some(live)) = (desired.as_object(), live_value.as_object()) else {
        return false;
    };
    let Some(owned) = owned_fields(desired, live, field_manager) else {
        return false;
    };
    if desired.contains_key("status") {
        return false;
    }
    // The desired object without its identity (not part of managed fields).
    let mut body = desired.clone();
    for key in IDENTITY_TOP {
        body.remove(key);
    }
    if let Some(Value::Object(meta)) = body.get_mut("metadata") {
        if SERVER_META.iter().any(|k| meta.contains_key(*k)) {
            return false;
        }
        for key in IDENTITY_META {
            meta.remove(key);
        }
        if meta.is_empty() {
            body.remove("metadata");
        }
    }
    covers_map(&body, owned, live_value) && owned_in_map(owned, &body)
}

/// The `fieldsV1` of the only `Apply` entry of `field_manager` for the main resource, when its
/// apiVersion is the desired one.
fn owned_fields<'a>(
    desired: &Map<String, Value>,
    live: &'a Map<String, Value>,
    field_manager: &str,
) -> Option<&'a Map<String, Value>> {
    let entries = live.get("metadata")?.get("managedFields")?.as_array()?;
    let mut ours = entries.iter().filter(|e| {
        e.get("manager").and_then(Value::as_str) == Some(field_manager)
            && e.get("operation").and_then(Value::as_str) == Some("Apply")
            && e.get("subresource")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
    });
    let entry = ours.next()?;
    if ours.next().is_some()
        || entry.get("apiVersion") != desired.get("apiVersion")
        || entry.get("fieldsType").and_then(Value::as_str) != Some("FieldsV1")
    {
        return None;
    }
    entry.get("fieldsV1")?.as_object()
}

/// Every field of `desired` is in `live` with the same value and owned (`owned` is the managed
/// fields node of this map).
fn covers_map(desired: &Map<String, Value>, owned: &Map<String, Value>, live: &Value) -> bool {
    let Some(live) = live.as_object() else {
        return false;
    };
    desired.iter().all(|(key, value)| {
        match (
            owned.get(&format!("f:{key}")).and_then(Value::as_object),
            live.get(key),
        ) {
            (Some(owned), Some(live)) => covers_value(value, owned, live),
            _ => false,
        }
    })
}

fn covers_value(desired: &Value, owned: &Map<String, Value>, live: &Value) -> bool {
    match desired {
        Value::Null => false,
        Value::Bool(_) | Value::Number(_) | Value::String(_) => desired == live,
        // A map owned as a whole (an atomic struct such as a label selector): replaced whole.
        Value::Object(_) if is_leaf(owned) => desired == live,
        Value::Object(map) => covers_map(map, owned, live),
        Value::Array(items) => {
            let Some(live_items) = live.as_array() else {
                return false;
            };
            if is_leaf(owned) {
                // An atomic list (or one we own as a whole): replaced as a whole by apply.
                return desired == live;
            }
            // A granular list: each element is owned by its key (`k:`) or value (`v:`), and
            // found in the live list in the same order.
            let mut next = 0;
            for item in items {
                let Some((node, index)) = find_element(item, owned, live_items) else {
                    return false;
                };
                if index < next || !covers_value(item, node, &live_items[index]) {
                    return false;
                }
                next = index + 1;
            }
            true
        }
    }
}

/// The managed-fields node of a list element and its index in `live_items`: `k:{...}` for an
/// element with keys (a map whose fields match the key's), `v:...` for a scalar element. The
/// element must match exactly one owned key.
fn find_element<'a>(
    item: &Value,
    owned: &'a Map<String, Value>,
    live_items: &[Value],
) -> Option<(&'a Map<String, Value>, usize)> {
    let mut found = None;
    for (path, node) in owned {
        let Some(node) = node.as_object() else {
            continue;
        };
        if let Some(key) = path.strip_prefix("k:") {
            let key: Map<String, Value> = serde_json::from_str(key).ok()?;
            if desired_matches_key(item, &key, node) {
                let index = live_items.iter().position(|l| live_matches_key(l, &key))?;
                if found.replace((node, index)).is_some() {
                    return None;
                }
            }
        } else if let Some(value) = path.strip_prefix("v:") {
            let value: Value = serde_json::from_str(value).ok()?;
            if &value == item {
                let index = live_items.iter().position(|l| l == item)?;
                if found.replace((node, index)).is_some() {
                    return None;
                }
            }
        }
    }
    found
}

/// A live element has exactly the key's values.
fn live_matches_key(item: &Value, key: &Map<String, Value>) -> bool {
    item.as_object()
        .is_some_and(|m| key.iter().all(|(k, v)| m.get(k) == Some(v)))
}

/// A desired element matches a key when each key field it sets has the key's value, and each key
/// field it leaves out was not set by us either (`node` does not own it): the server defaulted
/// it (a port's `protocol: TCP`) and will default it the same way again.
fn desired_matches_key(item: &Value, key: &Map<String, Value>, node: &Map<String, Value>) -> bool {
    let Some(m) = item.as_object() else {
        return false;
    };
    key.iter().any(|(k, _)| m.contains_key(k))
        && key.iter().all(|(k, v)| match m.get(k) {
            Some(value) => value == v,
            None => !node.contains_key(&format!("f:{k}")),
        })
}

/// A managed-fields node that owns a field as a whole: no children but `.`.
fn is_leaf(owned: &Map<String, Value>) -> bool {
    owned.keys().all(|k| k == ".")
}

/// Every field owned (`owned`, the node of this map) is in `desired`.
fn owned_in_map(owned: &Map<String, Value>, desired: &Map<String, Value>) -> bool {
    owned.iter().all(|(path, node)| {
        if path == "." {
            return true;
        }
        let (Some(name), Some(node)) = (path.strip_prefix("f:"), node.as_object()) else {
            return false;
        };
        desired
            .get(name)
            .is_some_and(|value| owned_in_value(node, value))
    })
}

fn owned_in_value(owned: &Map<String, Value>, desired: &Value) -> bool {
    if is_leaf(owned) {
        return true;
    }
    match desired {
        Value::Object(map) => owned_in_map(owned, map),
        Value::Array(items) => owned.iter().all(|(path, node)| {
            if path == "." {
                return true;
            }
            let Some(node) = node.as_object() else {
                return false;
            };
            if let Some(key) = path.strip_prefix("k:") {
                let Ok(key) = serde_json::from_str::<Map<String, Value>>(key) else {
                    return false;
                };
                items
                    .iter()
                    .find(|item| desired_matches_key(item, &key, node))
                    .is_some_and(|item| owned_in_value(node, item))
            } else if let Some(value) = path.strip_prefix("v:") {
                serde_json::from_str::<Value>(value).is_ok_and(|v| items.contains(&v))
            } else {
                false // `i:` positions and anything newer: do not guess
            }
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn desired() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "prod", "labels": {"app": "web"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{
                        "name": "main", "image": "nginx:1", "args": ["-a", "-b"],
                        "ports": [{"containerPort": 80}],
                    }]},
                },
            },
        })
    }

    fn owned() -> Value {
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:replicas": {},
                "f:selector": {},
                "f:template": {
                    "f:metadata": {"f:labels": {"f:app": {}}},
                    "f:spec": {"f:containers": {
                        "k:{\"name\":\"main\"}": {
                            ".": {}, "f:name": {}, "f:image": {}, "f:args": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {}, "f:containerPort": {},
                            }},
                        },
                    }},
                },
            },
        })
    }

    /// The live object as the server returns it: our fields, defaults, status, another
    /// manager's annotation.
    fn live(owned: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": "web", "namespace": "prod", "uid": "1", "resourceVersion": "7",
                "generation": 1, "labels": {"app": "web"},
                "annotations": {"deployment.kubernetes.io/revision": "1"},
                "managedFields": [
                    {"manager": "gitops", "operation": "Apply", "apiVersion": "apps/v1",
                     "fieldsType": "FieldsV1", "fieldsV1": owned},
                    {"manager": "kube-controller-manager", "operation": "Update",
                     "apiVersion": "apps/v1", "fieldsType": "FieldsV1", "subresource": "status",
                     "fieldsV1": {"f:status": {}}},
                ],
            },
            "spec": {
                "replicas": 2, "revisionHistoryLimit": 10,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{
                        "name": "main", "image": "nginx:1", "args": ["-a", "-b"],
                        "imagePullPolicy": "IfNotPresent",
                        "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    }], "restartPolicy": "Always"},
                },
            },
            "status": {"replicas": 2},
        })
    }

    #[test]
    fn an_object_as_we_applied_it_is_a_noop() {
        assert!(apply_is_noop(&desired(), &live(owned()), "gitops"));
    }

    #[test]
    fn a_changed_value_is_not() {
        let mut d = desired();
        d["spec"]["replicas"] = json!(3);
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
        let mut l = live(owned());
        l["spec"]["template"]["spec"]["containers"][0]["image"] = json!("nginx:2");
        assert!(!apply_is_noop(&desired(), &l, "gitops"));
        let mut l = live(owned());
        l["spec"]["template"]["spec"]["containers"][0]["args"] = json!(["-a"]);
        assert!(!apply_is_noop(&desired(), &l, "gitops"));
    }

    #[test]
    fn a_new_field_is_not() {
        let mut d = desired();
        d["metadata"]["labels"]["tier"] = json!("front");
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
        // Present in the live object with the same value, but owned by someone else.
        let mut d = desired();
        d["spec"]["revisionHistoryLimit"] = json!(10);
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
    }

    #[test]
    fn a_dropped_field_is_not() {
        let mut d = desired();
        d["spec"]
            .as_object_mut()
            .map(|s| s.remove("replicas"))
            .unwrap();
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
        let mut d = desired();
        d["spec"]["template"]["spec"]["containers"][0]
            .as_object_mut()
            .map(|c| c.remove("ports"))
            .unwrap();
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
    }

    #[test]
    fn a_key_field_we_set_and_dropped_is_not() {
        // We once applied `protocol: UDP`; the manifest no longer says it (it would become TCP).
        let mut o = owned();
        let ports = &mut o["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"main\"}"]
            ["f:ports"];
        *ports = json!({"k:{\"containerPort\":80,\"protocol\":\"UDP\"}": {
            ".": {}, "f:containerPort": {}, "f:protocol": {},
        }});
        let mut l = live(o);
        l["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("UDP");
        assert!(!apply_is_noop(&desired(), &l, "gitops"));
    }

    #[test]
    fn a_new_list_element_is_not() {
        let mut d = desired();
        d["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar", "image": "busybox"}));
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
    }

    #[test]
    fn without_our_apply_entry_it_is_not() {
        assert!(!apply_is_noop(&desired(), &live(owned()), "flux"));
        let mut l = live(owned());
        l["metadata"]["managedFields"][0]["operation"] = json!("Update");
        assert!(!apply_is_noop(&desired(), &l, "gitops"));
        let mut l = live(owned());
        l["metadata"]["managedFields"][0]["apiVersion"] = json!("apps/v1beta1");
        assert!(!apply_is_noop(&desired(), &l, "gitops"));
    }

    #[test]
    fn what_it_does_not_understand_is_applied() {
        let mut d = desired();
        d["metadata"]["creationTimestamp"] = Value::Null;
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
        let mut d = desired();
        d["status"] = json!({});
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
        let mut d = desired();
        d["spec"]["paused"] = Value::Null;
        assert!(!apply_is_noop(&d, &live(owned()), "gitops"));
        let mut o = owned();
        o["f:spec"]["f:strategy"] = json!({"i:0": {}});
        let mut l = live(o.clone());
        l["spec"]["strategy"] = json!([1]);
        assert!(!apply_is_noop(&desired(), &l, "gitops"));
    }

    #[test]
    fn scalar_list_elements_by_value_and_order() {
        let d = json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t"},
            "spec": {"finalizers": ["a", "b"]}});
        let o = json!({"f:spec": {"f:finalizers": {".": {}, "v:\"a\"": {}, "v:\"b\"": {}}}});
        let l = |items: Value| {
            json!({"apiVersion": "v1", "kind": "Thing", "metadata": {"name": "t",
                "managedFields": [{"manager": "gitops", "operation": "Apply",
                    "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": o}]},
                "spec": {"finalizers": items}})
        };
        assert!(apply_is_noop(&d, &l(json!(["a", "b"])), "gitops"));
        assert!(apply_is_noop(&d, &l(json!(["a", "x", "b"])), "gitops"));
        assert!(!apply_is_noop(&d, &l(json!(["b", "a"])), "gitops"));
        assert!(!apply_is_noop(&d, &l(json!(["a"])), "gitops"));
    }

    #[test]
    fn a_configmap_with_only_identity_metadata() {
        let d = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n"}, "data": {"k": "v"}});
        let l = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "uid": "u",
                "managedFields": [{"manager": "gitops", "operation": "Apply",
                    "apiVersion": "v1", "fieldsType": "FieldsV1",
                    "fieldsV1": {"f:data": {"f:k": {}}}}]},
            "data": {"k": "v"}});
        assert!(apply_is_noop(&d, &l, "gitops"));
        let mut changed = l;
        changed["data"]["k"] = json!("w");
        assert!(!apply_is_noop(&d, &changed, "gitops"));
    }
}
