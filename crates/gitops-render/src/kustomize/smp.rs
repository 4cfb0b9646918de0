//! Strategic merge patch as kustomize (kyaml's merge2) applies it: maps merge, `null` deletes a
//! field, lists with a `merge` patch strategy merge by their merge key (patch elements first, in
//! patch order, then the untouched elements of the target), other lists are replaced. The
//! strategies of built-in kinds come from `data/smp_table.json`, generated from Kubernetes' API
//! types by `tools/smp-table`; custom resources have none (JSON merge semantics), unless the
//! kustomization's `openapi` schema gives them. Lists with several merge keys (ports by port and
//! protocol, topology spread constraints) merge by all of them once an element sets the extra
//! keys, matched elements in place and new ones first ([`MULTI_KEY_LISTS`]).
//!
//! Directives: `$patch: delete|replace|merge` on maps and list elements, `$retainKeys`,
//! `$deleteFromPrimitiveList/<field>`; `$setElementOrder/<field>` is accepted and ignored, as
//! kustomize does.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::resource::Gvk;

#[derive(Deserialize)]
struct Table {
    roots: HashMap<String, String>,
    types: HashMap<String, HashMap<String, (String, String, String)>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        serde_json::from_str(include_str!("data/smp_table.json")).unwrap_or(Table {
            roots: HashMap::new(),
            types: HashMap::new(),
        })
    })
}

/// Where in a schema the merge is.
#[derive(Clone, Copy)]
pub(super) enum Schema<'a> {
    /// No schema: maps merge, lists are replaced.
    None,
    /// A type of the built-in table.
    Builtin(&'a str),
    /// A node of a custom OpenAPI document (`definitions` map) given by `openapi:`.
    OpenApi(&'a Value, &'a Map<String, Value>),
}

/// A field's patch strategy (`merge`, `replace`, `merge,retainKeys`) and merge key.
struct Strategy<'a> {
    strategy: &'a str,
    key: &'a str,
    /// The other keys of the list's `x-kubernetes-list-map-keys` (after `key`), if any.
    more_keys: &'static [&'static str],
}

/// Lists of built-in types whose `x-kubernetes-list-map-keys` (in the API server's
/// `/openapi/v2`, Kubernetes 1.21 to 1.33) hold more than the patch merge key: (type, field,
/// the keys after the merge key). The struct tags `tools/smp-table` reads do not carry these
/// (they are `+listMapKey` comments in k8s.io/api), so they are listed here.
const MULTI_KEY_LISTS: &[(&str, &str, &[&str])] = &[
    ("core/v1.Container", "ports", &["protocol"]),
    ("core/v1.EphemeralContainer", "ports", &["protocol"]),
    ("core/v1.ServiceSpec", "ports", &["protocol"]),
    (
        "core/v1.PodSpec",
        "topologySpreadConstraints",
        &["whenUnsatisfiable"],
    ),
];

fn more_keys(type_name: &str, field: &str) -> &'static [&'static str] {
    MULTI_KEY_LISTS
        .iter()
        .find(|(t, f, _)| *t == type_name && *f == field)
        .map_or(&[], |(_, _, k)| k)
}

impl<'a> Schema<'a> {
    /// The schema of objects of kind `gvk`: from the custom OpenAPI document first, then the
    /// built-in table.
    pub(super) fn for_kind(gvk: &Gvk, custom: Option<&'a Value>) -> Self {
        if let Some(defs) = custom
            .and_then(|c| c.get("definitions"))
            .and_then(Value::as_object)
        {
            for def in defs.values() {
                let matches = def
                    .get("x-kubernetes-group-version-kind")
                    .and_then(Value::as_array)
                    .is_some_and(|list| {
                        list.iter().any(|g| {
                            g.get("kind").and_then(Value::as_str) == Some(gvk.kind.as_str())
                                && g.get("group").and_then(Value::as_str).unwrap_or_default()
                                    == gvk.group
                        })
                    });
                if matches {
                    return Schema::OpenApi(def, defs);
                }
            }
        }
        match table().roots.get(&format!("{}/{}", gvk.group, gvk.kind)) {
            Some(t) => Schema::Builtin(t),
            None => Schema::None,
        }
    }

    fn field(self, name: &str) -> (Schema<'a>, Option<Strategy<'a>>) {
        match self {
            Schema::None => (Schema::None, None),
            Schema::Builtin(t) => {
                let Some(f) = table().types.get(t).and_then(|fields| fields.get(name)) else {
                    return (Schema::None, None);
                };
                let child = if f.0.is_empty() {
                    Schema::None
                } else {
                    Schema::Builtin(&f.0)
                };
                let strategy = (!f.1.is_empty() || !f.2.is_empty()).then_some(Strategy {
                    strategy: &f.1,
                    key: &f.2,
                    more_keys: more_keys(t, name),
                });
                (child, strategy)
            }
            Schema::OpenApi(node, defs) => {
                let Some(prop) = resolve(node, defs)
                    .get("properties")
                    .and_then(|p| p.get(name))
                else {
                    return (Schema::None, None);
                };
                let prop = resolve(prop, defs);
                let strategy = prop
                    .get("x-kubernetes-patch-strategy")
                    .and_then(Value::as_str)
                    .map(|s| Strategy {
                        strategy: s,
                        key: prop
                            .get("x-kubernetes-patch-merge-key")
                            .and_then(Value::as_str)
                            .unwrap_or_default(),
                        more_keys: &[],
                    });
                let child = prop.get("items").map_or(prop, |items| resolve(items, defs));
                (Schema::OpenApi(child, defs), strategy)
            }
        }
    }
}

fn resolve<'a>(node: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    let mut node = node;
    for _ in 0..16 {
        let Some(r) = node.get("$ref").and_then(Value::as_str) else {
            break;
        };
        match r.strip_prefix("#/definitions/").and_then(|n| defs.get(n)) {
            Some(next) => node = next,
            None => break,
        }
    }
    node
}

/// Applies `patch` to `target`; `None` when the patch deletes the whole object.
pub(super) fn apply(target: Value, patch: &Value, schema: Schema<'_>) -> Option<Value> {
    merge_value(Some(target), patch, schema)
}

fn directive(v: &Value) -> Option<&str> {
    v.get("$patch").and_then(Value::as_str)
}

fn merge_value(dest: Option<Value>, src: &Value, schema: Schema<'_>) -> Option<Value> {
    match src {
        Value::Object(sm) => {
            match directive(src) {
                Some("delete") => return None,
                Some("replace") => return Some(clean(src)),
                _ => {}
            }
            let mut dm = match dest {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (k, v) in sm {
                if k.starts_with('$') {
                    continue;
                }
                if v.is_null() {
                    dm.remove(k);
                    continue;
                }
                let (child, strategy) = schema.field(k);
                let old = dm.get_mut(k).map(Value::take);
                let merged = match v {
                    Value::Array(items) => merge_list(old, items, child, strategy.as_ref()),
                    _ => merge_value(old, v, child),
                };
                match merged {
                    Some(m) => {
                        dm.insert(k.clone(), m);
                    }
                    None => {
                        dm.remove(k);
                    }
                }
            }
            if let Some(Value::Array(keep)) = sm.get("$retainKeys") {
                dm.retain(|k, _| keep.iter().any(|x| x.as_str() == Some(k)));
            }
            for (k, v) in sm {
                let (Some(field), Value::Array(gone)) =
                    (k.strip_prefix("$deleteFromPrimitiveList/"), v)
                else {
                    continue;
                };
                if let Some(Value::Array(items)) = dm.get_mut(field) {
                    items.retain(|x| !gone.contains(x));
                }
            }
            Some(Value::Object(dm))
        }
        Value::Array(items) => merge_list(dest, items, schema, None),
        other => Some(other.clone()),
    }
}

fn scalar_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn merge_list(
    dest: Option<Value>,
    src: &[Value],
    elem_schema: Schema<'_>,
    strategy: Option<&Strategy<'_>>,
) -> Option<Value> {
    if src.iter().any(|e| directive(e) == Some("replace")) {
        // The patch's elements become the list; those marked `$patch: delete` are not among
        // them (kustomize v5.6).
        return Some(Value::Array(
            src.iter()
                .filter(|e| !matches!(directive(e), Some("replace" | "delete")))
                .map(clean)
                .collect(),
        ));
    }
    let merge = strategy.is_some_and(|s| s.strategy.split(',').any(|p| p == "merge"));
    if !merge {
        return Some(clean(&Value::Array(src.to_vec())));
    }
    let key = strategy.map(|s| s.key).unwrap_or_default();
    let mut dest_items = match dest {
        Some(Value::Array(items)) => items,
        _ => Vec::new(),
    };
    if key.is_empty() {
        // Primitive list: patch values first, then the target's others.
        let mut out: Vec<Value> = Vec::new();
        for v in src.iter().chain(dest_items.iter()) {
            if !out.contains(v) {
                out.push(v.clone());
            }
        }
        return Some(Value::Array(out));
    }
    let more = strategy.map_or(&[][..], |s| s.more_keys);
    if !more.is_empty()
        && src
            .iter()
            .chain(dest_items.iter())
            .any(|e| more.iter().any(|k| e.get(*k).is_some()))
    {
        return Some(merge_multi_key(dest_items, src, elem_schema, key, more));
    }
    let key_of = |v: &Value| v.get(key).and_then(scalar_key);
    let mut out = Vec::new();
    let mut handled: Vec<String> = Vec::new();
    for s in src {
        let Some(k) = key_of(s) else {
            out.push(clean(s));
            continue;
        };
        if handled.contains(&k) {
            continue;
        }
        handled.push(k.clone());
        let old = dest_items
            .iter_mut()
            .find(|d| key_of(d).as_deref() == Some(k.as_str()))
            .map(Value::take);
        if let Some(merged) = merge_value(old, s, elem_schema) {
            out.push(merged);
        }
    }
    for d in dest_items {
        match key_of(&d) {
            Some(k) if handled.contains(&k) => {}
            _ if d.is_null() => {}
            _ => out.push(d),
        }
    }
    Some(Value::Array(out))
}

/// The identity of a list element under several merge keys: the merge key's value (required)
/// and the others' (absent ones are `None`).
fn key_tuple(v: &Value, key: &str, more: &[&str]) -> Option<Vec<Option<String>>> {
    let first = v.get(key).and_then(scalar_key)?;
    let mut t = vec![Some(first)];
    t.extend(more.iter().map(|k| v.get(*k).and_then(scalar_key)));
    Some(t)
}

/// Merges a list with several merge keys as kustomize (kyaml) does once any element sets one
/// of the extra keys, checked against kustomize v5.6: a patch element merges in place into the
/// target element with the same key values (an absent key equals an absent key); a patch element
/// that differs only by leaving out a key the target element sets, or setting one it leaves out,
/// is dropped; other patch elements are new and go first, in patch order.
fn merge_multi_key(
    mut dest: Vec<Value>,
    src: &[Value],
    elem_schema: Schema<'_>,
    key: &str,
    more: &[&str],
) -> Value {
    let mut new_items = Vec::new();
    let mut handled: Vec<Vec<Option<String>>> = Vec::new();
    let mut deleted = vec![false; dest.len()];
    for s in src {
        let Some(tuple) = key_tuple(s, key, more) else {
            new_items.push(clean(s));
            continue;
        };
        if handled.contains(&tuple) {
            continue;
        }
        handled.push(tuple.clone());
        let same = dest
            .iter()
            .position(|d| key_tuple(d, key, more).as_ref() == Some(&tuple));
        if let Some(i) = same {
            match merge_value(Some(dest[i].take()), s, elem_schema) {
                Some(m) => dest[i] = m,
                None => deleted[i] = true,
            }
            continue;
        }
        let compatible = dest.iter().any(|d| {
            key_tuple(d, key, more).is_some_and(|t| {
                t.iter()
                    .zip(&tuple)
                    .all(|(a, b)| a.is_none() || b.is_none() || a == b)
            })
        });
        if compatible {
            continue;
        }
        if let Some(m) = merge_value(None, s, elem_schema) {
            new_items.push(m);
        }
    }
    new_items.extend(
        dest.into_iter()
            .zip(deleted)
            .filter(|(d, gone)| !gone && !d.is_null())
            .map(|(d, _)| d),
    );
    Value::Array(new_items)
}

/// A patch value as it lands in the target where there was nothing to merge with: directives
/// and null fields removed.
fn clean(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, v)| !k.starts_with('$') && !v.is_null())
                .map(|(k, v)| (k.clone(), clean(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(
            items
                .iter()
                .filter(|e| directive(e) != Some("delete"))
                .map(clean)
                .collect(),
        ),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> Schema<'static> {
        Schema::for_kind(&Gvk::from_api_version("apps/v1", "Deployment"), None)
    }

    #[test]
    fn containers_merge_by_name_patch_first() {
        let target = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a"}, {"name": "b", "image": "b"}, {"name": "c", "image": "c"}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "d", "image": "d"}, {"name": "b", "image": "b2"}, {"name": "c", "$patch": "delete"}
        ]}}}});
        let out = apply(target, &patch, deployment()).unwrap();
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "d", "image": "d"}, {"name": "b", "image": "b2"}, {"name": "a", "image": "a"}])
        );
    }

    #[test]
    fn ports_merge_by_container_port_and_env_by_name() {
        let target = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80, "name": "http"}], "env": [{"name": "X", "value": "1"}]}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "ports": [{"containerPort": 80, "name": "web"}], "env": [{"name": "Y", "value": "2"}]}
        ]}}}});
        let out = apply(target, &patch, deployment()).unwrap();
        let c = &out["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["ports"], json!([{"containerPort": 80, "name": "web"}]));
        assert_eq!(
            c["env"],
            json!([{"name": "Y", "value": "2"}, {"name": "X", "value": "1"}])
        );
    }

    #[test]
    fn ports_with_protocols_merge_by_port_and_protocol() {
        let port = |n: u16, proto: Option<&str>, name: &str| {
            let mut p = json!({"containerPort": n, "name": name});
            if let Some(proto) = proto {
                p["protocol"] = json!(proto);
            }
            p
        };
        let run = |target: Vec<Value>, patch: Vec<Value>| {
            let t = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": target}]}}}});
            let p = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "ports": patch}]}}}});
            apply(t, &p, deployment()).unwrap()["spec"]["template"]["spec"]["containers"][0]["ports"]
                .clone()
        };
        // Cases checked against kustomize v5.6.
        let (tcp, udp) = (Some("TCP"), Some("UDP"));
        assert_eq!(
            run(
                vec![port(53, udp, "a"), port(53, tcp, "b")],
                vec![port(53, tcp, "c"), port(90, tcp, "n")]
            ),
            json!([port(90, tcp, "n"), port(53, udp, "a"), port(53, tcp, "c")])
        );
        assert_eq!(
            run(vec![port(80, tcp, "a")], vec![port(80, None, "b")]),
            json!([port(80, tcp, "a")])
        );
        assert_eq!(
            run(vec![port(80, None, "a")], vec![port(80, tcp, "b")]),
            json!([port(80, None, "a")])
        );
        assert_eq!(
            run(vec![port(80, udp, "a")], vec![port(80, tcp, "b")]),
            json!([port(80, tcp, "b"), port(80, udp, "a")])
        );
        assert_eq!(
            run(
                vec![port(80, tcp, "a"), port(81, None, "c")],
                vec![port(81, None, "d")]
            ),
            json!([port(80, tcp, "a"), port(81, None, "d")])
        );
        // No protocol anywhere: the merge key alone, patch elements first.
        assert_eq!(
            run(
                vec![port(80, None, "a"), port(81, None, "c")],
                vec![port(81, None, "d")]
            ),
            json!([port(81, None, "d"), port(80, None, "a")])
        );
    }

    #[test]
    fn custom_resources_replace_lists_and_null_deletes() {
        let target = json!({"spec": {"values": {"list": [1, 2], "keep": true, "drop": 1}}});
        let patch = json!({"spec": {"values": {"list": [3], "drop": null}}});
        let out = apply(target, &patch, Schema::None).unwrap();
        assert_eq!(
            out,
            json!({"spec": {"values": {"list": [3], "keep": true}}})
        );
    }

    #[test]
    fn list_replace_with_a_deleted_element_drops_it_as_kustomize_does() {
        let target = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "a1"}, {"name": "b", "image": "b1"}, {"name": "c", "image": "c1"}
        ]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"$patch": "replace"}, {"name": "a", "image": "a2"}, {"name": "b", "$patch": "delete"},
            {"name": "d", "image": "d1"}
        ]}}}});
        let out = apply(target, &patch, deployment()).unwrap();
        // `kubectl kustomize` (v5.6) prints a2 and d1 only.
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "a2"}, {"name": "d", "image": "d1"}])
        );
    }

    #[test]
    fn patch_delete_and_replace_directives() {
        assert!(apply(json!({"a": 1}), &json!({"$patch": "delete"}), Schema::None).is_none());
        let out = apply(
            json!({"spec": {"a": 1, "b": 2}}),
            &json!({"spec": {"$patch": "replace", "c": 3}}),
            Schema::None,
        )
        .unwrap();
        assert_eq!(out, json!({"spec": {"c": 3}}));
    }
}
