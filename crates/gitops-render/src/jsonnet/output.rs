//! From a program's JSON output to objects, by Argo CD's rules: the output is one object or an
//! array of objects (`null` elements are skipped); an object whose `items` is an array is a list
//! and stands for its items; a list whose `items` is `null` (and that has no `spec` or `status`)
//! stands for nothing.

use std::path::Path;
use std::sync::Arc;

use gitops_core::{Object, Origin, SourcedObject, type_name};
use serde_json::Value;

use super::error::JsonnetError;

/// Turns the output of the program `file` into objects, each with `file` as its origin and its
/// index in the output as its document number.
pub(super) fn to_objects(
    value: Value,
    file: &Arc<Path>,
) -> Result<Vec<SourcedObject>, JsonnetError> {
    let mut out = Out {
        file,
        objects: Vec::new(),
    };
    match value {
        Value::Array(items) => {
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::Null => {}
                    Value::Object(_) => out.push_manifest(item, &format!("/{i}"))?,
                    other => return Err(out.wrong(format!("/{i}"), &other)),
                }
            }
        }
        Value::Object(_) => out.push_manifest(value, "")?,
        other => return Err(out.wrong(String::new(), &other)),
    }
    Ok(out.objects)
}

struct Out<'a> {
    file: &'a Arc<Path>,
    objects: Vec<SourcedObject>,
}

impl Out<'_> {
    fn wrong(&self, pointer: String, found: &Value) -> JsonnetError {
        JsonnetError::Output {
            file: self.file.clone(),
            pointer,
            expected: "a Kubernetes object, an array of objects or a list of objects",
            found: type_name(found),
        }
    }

    fn push_manifest(&mut self, value: Value, pointer: &str) -> Result<(), JsonnetError> {
        match value.get("items") {
            Some(Value::Array(_)) => {
                let Value::Object(mut map) = value else {
                    return Ok(());
                };
                let Some(Value::Array(items)) = map.shift_remove("items") else {
                    return Ok(());
                };
                for (i, item) in items.into_iter().enumerate() {
                    let at = format!("{pointer}/items/{i}");
                    if !item.is_object() {
                        return Err(self.wrong(at, &item));
                    }
                    self.push_object(item, &at)?;
                }
                Ok(())
            }
            Some(Value::Null) if value.get("spec").is_none() && value.get("status").is_none() => {
                Ok(())
            }
            _ => self.push_object(value, pointer),
        }
    }

    fn push_object(&mut self, value: Value, pointer: &str) -> Result<(), JsonnetError> {
        let object = Object::from_value(value).map_err(|error| JsonnetError::Object {
            file: self.file.clone(),
            pointer: format!("{pointer}{}", error.pointer()),
            error,
        })?;
        let origin = Origin::new(Some(self.file.clone()), self.objects.len(), 0);
        self.objects.push(SourcedObject { object, origin });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cm(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}})
    }

    fn names(value: Value) -> Vec<String> {
        let file: Arc<Path> = Arc::from(Path::new("main.jsonnet"));
        to_objects(value, &file)
            .unwrap()
            .iter()
            .map(|o| o.object.name().to_owned())
            .collect()
    }

    #[test]
    fn one_object_an_array_and_lists_are_accepted() {
        assert_eq!(names(cm("a")), ["a"]);
        assert_eq!(names(json!([cm("a"), null, cm("b")])), ["a", "b"]);
        let list = json!({"apiVersion": "v1", "kind": "List", "items": [cm("a"), cm("b")]});
        assert_eq!(names(json!([list, cm("c")])), ["a", "b", "c"]);
        let null_list = json!({"apiVersion": "v1", "kind": "ConfigMapList", "items": null});
        assert!(names(null_list).is_empty());
    }

    #[test]
    fn a_scalar_or_a_nested_array_is_refused_with_its_pointer() {
        let file: Arc<Path> = Arc::from(Path::new("main.jsonnet"));
        let err = to_objects(json!([cm("a"), [cm("b")]]), &file).unwrap_err();
        assert_eq!(
            err.to_string(),
            "main.jsonnet: output at /1: expected a Kubernetes object, an array of objects or a \
             list of objects, found a sequence"
        );
        let err = to_objects(json!("text"), &file).unwrap_err();
        assert!(err.to_string().contains("found a string"), "{err}");
    }

    #[test]
    fn an_object_without_a_name_is_refused_with_its_pointer() {
        let file: Arc<Path> = Arc::from(Path::new("main.jsonnet"));
        let err = to_objects(
            json!([cm("a"), {"apiVersion": "v1", "kind": "Secret"}]),
            &file,
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("main.jsonnet: output at /1/metadata"),
            "{err}"
        );
    }
}
