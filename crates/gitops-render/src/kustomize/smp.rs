//! Strategic merge patch as kustomize (kyaml's merge2) applies it: maps merge, `null` deletes a
//! field, lists with a `merge` patch strategy merge by their merge key (patch elements first, in
//! patch order, then the untouched elements of the target), other lists are replaced. The
//! strategies of built-in kinds come from `data/smp_table.json`, generated from Kubernetes' API
//! types by `tools/smp-table`; custom resources have none (JSON merge semantics), unless the
//! kustomization's `openapi` schema gives them.
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
        return Some(Value::Array(
            src.iter()
                .filter(|e| directive(e) != Some("replace"))
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
