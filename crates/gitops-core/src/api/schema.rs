//! Finding fields a schema does not know, so that readers report them instead of dropping them.

use serde_json::{Map, Value};

/// Lists the JSON pointers of fields in `value` that `schema` (a schemars JSON Schema) does not
/// declare, following `$ref`s into `$defs`. Fields under a schema that allows any value (such as
/// Helm `values`) are not checked.
#[must_use]
pub fn unknown_fields(schema: &Value, value: &Value) -> Vec<String> {
    let defs = schema
        .get("$defs")
        .or_else(|| schema.get("definitions"))
        .and_then(Value::as_object);
    let mut out = Vec::new();
    walk(schema, value, defs, String::new(), &mut out);
    out
}

fn resolve<'a>(schema: &'a Value, defs: Option<&'a Map<String, Value>>) -> &'a Value {
    let mut current = schema;
    for _ in 0..16 {
        let Some(reference) = current.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let name = reference.rsplit('/').next().unwrap_or_default();
        match defs.and_then(|d| d.get(name)) {
            Some(next) => current = next,
            None => break,
        }
    }
    current
}

fn walk(
    schema: &Value,
    value: &Value,
    defs: Option<&Map<String, Value>>,
    pointer: String,
    out: &mut Vec<String>,
) {
    let schema = resolve(schema, defs);
    // `anyOf`/`oneOf` (Option<T> is `anyOf [T, null]`): check against the first object-like branch.
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(branches) = schema.get(key).and_then(Value::as_array) {
            if let Some(branch) = branches
                .iter()
                .map(|b| resolve(b, defs))
                .find(|b| b.get("properties").is_some() || b.get("items").is_some())
            {
                walk(branch, value, defs, pointer, out);
            }
            return;
        }
    }
    match value {
        Value::Object(map) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (key, child) in map {
                let child_pointer = format!("{pointer}/{key}");
                match properties.get(key) {
                    Some(child_schema) => walk(child_schema, child, defs, child_pointer, out),
                    None => out.push(child_pointer),
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    walk(item_schema, item, defs, format!("{pointer}/{i}"), out);
                }
            }
        }
        _ => {}
    }
}

/// Schema of a free-form object kept as given (Helm values, Flux options we pass through): an
/// object whose fields the API server keeps without checking them.
pub(super) fn preserved_object(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "x-kubernetes-preserve-unknown-fields": true,
    })
}

/// Schema of a list of free-form objects.
pub(super) fn preserved_object_list(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": preserved_object(generator),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::KustomizationSpec;
    use serde_json::json;

    #[test]
    fn reports_unknown_fields_at_any_depth_and_skips_free_form_values() {
        let schema = serde_json::to_value(schemars::schema_for!(KustomizationSpec)).unwrap();
        let spec = json!({
            "sourceRef": {"kind": "GitRepository", "name": "x", "colour": "red"},
            "path": "./apps",
            "prune": true,
            "validation": "client",
            "patches": [{"patch": "p", "target": {"kind": "Deployment", "nme": "x"}}],
            "postBuild": {"substitute": {"anything": "goes"}},
            "kubeConfig": {"secretRef": {"name": "k"}},
        });
        assert_eq!(
            unknown_fields(&schema, &spec),
            ["/sourceRef/colour", "/validation", "/patches/0/target/nme"]
        );
    }
}
