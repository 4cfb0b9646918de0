//! `vars` (deprecated but common): `$(NAME)` in the var-reference fields is replaced by a field
//! of another object, read after all names are final.

use std::collections::HashMap;

use serde_json::Value;

use super::fieldspec::{FieldSpec, visit_path};
use super::kustfile::Var;
use super::resource::{Gvk, ResId, Resource};

type Result<T> = std::result::Result<T, String>;

/// Records which object each var reads (`MergeVars`), and adds the vars to `known`.
pub(super) fn merge(
    resources: &mut [Resource],
    known: &mut Vec<Var>,
    incoming: &[Var],
) -> Result<()> {
    for v in incoming {
        let o = &v.objref;
        let mut gvk = if o.api_version.is_empty() {
            Gvk {
                group: o.group.clone(),
                version: o.version.clone(),
                kind: o.kind.clone(),
            }
        } else {
            Gvk::from_api_version(&o.api_version, &o.kind)
        };
        gvk.kind.clone_from(&o.kind);
        let target = ResId {
            gvk,
            name: o.name.clone(),
            namespace: o.namespace.clone(),
        };
        let exact = !target.namespace.is_empty() || target.gvk.is_cluster_scoped();
        let matched: Vec<usize> = resources
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.any_id(|id| {
                    let gvk_ok = id.gvk.is_selected_by(&target.gvk);
                    gvk_ok
                        && id.name == target.name
                        && (!exact || id.effective_namespace() == target.effective_namespace())
                })
            })
            .map(|(i, _)| i)
            .collect();
        if matched.len() > 1 {
            return Err(format!(
                "found {} objects for var {} (unable to disambiguate)",
                matched.len(),
                v.name
            ));
        }
        if let Some(&i) = matched.first() {
            resources[i].ref_vars.push(v.name.clone());
        }
        if known.iter().any(|k| k.name == v.name) {
            return Err(format!("var '{}' already encountered", v.name));
        }
        known.push(v.clone());
    }
    Ok(())
}

/// Reads every var's value and replaces `$(NAME)` in the var-reference fields.
pub(super) fn resolve(resources: &mut [Resource], vars: &[Var], specs: &[FieldSpec]) -> Result<()> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: HashMap<String, Value> = HashMap::new();
    for v in vars {
        let source = resources
            .iter()
            .find(|r| r.ref_vars.contains(&v.name))
            .ok_or_else(|| {
                format!(
                    "var '{}' cannot be mapped to a field in the set of known resources",
                    v.name
                )
            })?;
        let value = field_value(&Value::Object(source.obj.clone()), &v.fieldref.fieldpath)
            .ok_or_else(|| {
                format!(
                    "field `{}` of var '{}' not found in {}",
                    v.fieldref.fieldpath,
                    v.name,
                    source.cur_id()
                )
            })?;
        values.insert(v.name.clone(), value);
    }
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        for fs in specs {
            if !fs.selects(&gvk) {
                continue;
            }
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let _ = visit_path(&mut root, &fs.segments(), None, &mut |node| {
                substitute(node, &values);
                Ok(())
            });
            if let Value::Object(m) = root {
                r.obj = m;
            }
        }
    }
    Ok(())
}

fn substitute(node: &mut Value, values: &HashMap<String, Value>) {
    match node {
        Value::String(s) => {
            // A field that is exactly `$(VAR)` takes the var's value with its type.
            if let Some(name) = s.strip_prefix("$(").and_then(|r| r.strip_suffix(')'))
                && let Some(v) = values.get(name)
                && !v.is_string()
            {
                *node = v.clone();
                return;
            }
            *s = expand(s, values);
        }
        Value::Array(items) => items.iter_mut().for_each(|i| substitute(i, values)),
        Value::Object(map) => map.values_mut().for_each(|v| substitute(v, values)),
        _ => {}
    }
}

/// Kubernetes' `$(VAR)` expansion: `$$` is a literal `$`, unknown vars stay as written.
fn expand(s: &str, values: &HashMap<String, Value>) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            match inner.find(')') {
                Some(end) => {
                    let name = &inner[..end];
                    match values.get(name) {
                        Some(Value::String(v)) => out.push_str(v),
                        Some(v) => out.push_str(&v.to_string()),
                        None => {
                            out.push_str("$(");
                            out.push_str(name);
                            out.push(')');
                        }
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    out.push_str("$(");
                    rest = inner;
                }
            }
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Reads `a.b[0].c` (or `a.b.0.c`) from `v`.
pub(super) fn field_value(v: &Value, path: &str) -> Option<Value> {
    let mut cur = v;
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = match cur {
                Value::Object(m) => m.get(name)?,
                Value::Array(items) => items.get(name.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        if let Some(i) = index {
            cur = cur.get(i)?;
        }
    }
    Some(cur.clone())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn expansion_follows_kubernetes_rules() {
        let values = HashMap::from([("A".to_owned(), json!("x")), ("N".to_owned(), json!(3))]);
        assert_eq!(
            expand("echo $(A) $(B) $$(A) $(N)", &values),
            "echo x $(B) $(A) 3"
        );
        let mut node = json!("$(N)");
        substitute(&mut node, &values);
        assert_eq!(node, json!(3));
    }

    #[test]
    fn field_values_follow_dotted_paths() {
        let v = json!({"spec": {"ports": [{"port": 80}]}});
        assert_eq!(field_value(&v, "spec.ports[0].port"), Some(json!(80)));
        assert_eq!(field_value(&v, "spec.missing"), None);
    }
}
