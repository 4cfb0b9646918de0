//! Reading Kubernetes manifests from YAML or JSON text, with the origin of every object, and
//! checking a set of them for duplicate identities.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::object::{Object, ObjectError, ObjectRef};
use crate::origin::{Origin, SourcedObject};
use crate::yaml::{self, Position, Schema};

/// A manifest file that could not be read as Kubernetes objects.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The text is not valid YAML or JSON.
    #[error("{}: {message}", Located(.file, Some(*.position)))]
    Syntax {
        /// The file, if the text came from one.
        file: Option<Arc<Path>>,
        /// Where the parser stopped.
        position: Position,
        /// What was wrong.
        message: String,
    },
    /// A document is not a valid Kubernetes object.
    #[error("{}: document {}: {error}", Located(.file, *.position), .document + 1)]
    Invalid {
        /// The file, if the text came from one.
        file: Option<Arc<Path>>,
        /// Where the offending field (or document) starts, when known.
        position: Option<Position>,
        /// Index of the document, from 0.
        document: usize,
        /// What is wrong with it.
        error: ObjectError,
    },
}

struct Located<'a>(&'a Option<Arc<Path>>, Option<Position>);

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(file) => write!(f, "{}", file.display())?,
            None => f.write_str("<input>")?,
        }
        if let Some(p) = self.1 {
            write!(f, ":{}:{}", p.line, p.column)?;
        }
        Ok(())
    }
}

/// Two objects with the same identity in one set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duplicate object {object}: defined at {first} and again at {second}")]
pub struct DuplicateError {
    /// The identity both objects share.
    pub object: ObjectRef,
    /// Where it was defined first.
    pub first: Origin,
    /// Where it was defined again.
    pub second: Origin,
}

/// Parses Kubernetes objects from YAML text (any number of documents).
///
/// Empty documents are skipped; a `List` (`kind: List`, as kubectl prints) is flattened into its
/// items.
///
/// # Errors
/// The first syntax error or invalid object, with file, line and column.
pub fn parse_yaml(
    text: &str,
    file: Option<Arc<Path>>,
    schema: Schema,
) -> Result<Vec<SourcedObject>, ManifestError> {
    let documents = yaml::parse_documents(text, schema).map_err(|e| ManifestError::Syntax {
        file: file.clone(),
        position: e.position,
        message: e.message,
    })?;
    let mut out = Vec::with_capacity(documents.len());
    for doc in documents {
        if doc.value.is_null() {
            continue;
        }
        let origin = Origin::new(file.clone(), doc.index, doc.line);
        collect(doc.value, origin, &mut out).map_err(|(error, pointer)| {
            let position = locate_nearest(text, schema, doc.index, &pointer).or(Some(Position {
                line: doc.line,
                column: 1,
            }));
            ManifestError::Invalid {
                file: file.clone(),
                position,
                document: doc.index,
                error,
            }
        })?;
    }
    Ok(out)
}

/// Parses Kubernetes objects from a JSON document (one object or a `List`).
///
/// # Errors
/// A syntax error with line and column, or the invalid object.
pub fn parse_json(
    text: &str,
    file: Option<Arc<Path>>,
) -> Result<Vec<SourcedObject>, ManifestError> {
    let value: Value = serde_json::from_str(text).map_err(|e| ManifestError::Syntax {
        file: file.clone(),
        position: Position {
            line: e.line(),
            column: e.column(),
        },
        message: strip_serde_position(&e.to_string()),
    })?;
    let mut out = Vec::new();
    collect(value, Origin::new(file.clone(), 0, 1), &mut out).map_err(|(error, _)| {
        ManifestError::Invalid {
            file,
            position: None,
            document: 0,
            error,
        }
    })?;
    Ok(out)
}

/// The position of `pointer`, or of its nearest ancestor that exists (a missing field is reported
/// at the mapping that lacks it).
fn locate_nearest(text: &str, schema: Schema, index: usize, pointer: &str) -> Option<Position> {
    let mut pointer = pointer;
    loop {
        if let Some(p) = yaml::locate(text, schema, index, pointer) {
            return Some(p);
        }
        pointer = &pointer[..pointer.rfind('/')?];
    }
}

fn strip_serde_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn collect(
    value: Value,
    origin: Origin,
    out: &mut Vec<SourcedObject>,
) -> Result<(), (ObjectError, String)> {
    if is_list(&value) {
        let Value::Object(mut map) = value else {
            return Ok(());
        };
        let items = match map.shift_remove("items") {
            Some(Value::Array(items)) => items,
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                return Err((
                    ObjectError::WrongType {
                        field: "items",
                        expected: "a sequence",
                        found: crate::object::type_name(&other),
                    },
                    "/items".to_owned(),
                ));
            }
        };
        for (i, item) in items.into_iter().enumerate() {
            let object = Object::from_value(item)
                .map_err(|e| (e.clone(), format!("/items/{i}{}", e.pointer())))?;
            out.push(SourcedObject {
                object,
                origin: origin.clone(),
            });
        }
        return Ok(());
    }
    let object = Object::from_value(value).map_err(|e| (e.clone(), e.pointer().to_owned()))?;
    out.push(SourcedObject { object, origin });
    Ok(())
}

fn is_list(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str) == Some("List")
        && value.get("apiVersion").and_then(Value::as_str) == Some("v1")
}

/// Checks that no two objects share an identity.
///
/// # Errors
/// The first duplicate, naming both origins.
pub fn check_unique(objects: &[SourcedObject]) -> Result<(), Box<DuplicateError>> {
    let mut seen: HashMap<ObjectRef, &Origin> = HashMap::with_capacity(objects.len());
    for o in objects {
        let r = o.object.object_ref();
        if let Some(first) = seen.get(&r) {
            return Err(Box::new(DuplicateError {
                object: r,
                first: (*first).clone(),
                second: o.origin.clone(),
            }));
        }
        seen.insert(r, &o.origin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> Option<Arc<Path>> {
        Some(Arc::from(Path::new("app/deploy.yaml")))
    }

    #[test]
    fn objects_keep_file_document_and_line() {
        let text = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n# empty\n---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: Secret, metadata: {name: s}}\n";
        let objs = parse_yaml(text, file(), Schema::Yaml12).unwrap();
        let seen: Vec<_> = objs
            .iter()
            .map(|o| {
                (
                    o.object.object_ref().to_string(),
                    o.origin.to_string(),
                    o.origin.document,
                )
            })
            .collect();
        assert_eq!(
            seen,
            vec![
                ("ConfigMap/a".to_owned(), "app/deploy.yaml:2".to_owned(), 0),
                ("Secret/s".to_owned(), "app/deploy.yaml:8".to_owned(), 2),
            ]
        );
    }

    #[test]
    fn broken_documents_report_file_line_and_what_was_wrong() {
        let syntax = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n   labels: x\n";
        let err = parse_yaml(syntax, file(), Schema::Yaml12).unwrap_err();
        let missing = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n";
        let err2 = parse_yaml(missing, file(), Schema::Yaml12).unwrap_err();
        let wrong = "apiVersion: v1\nkind: [ConfigMap]\nmetadata: {name: a}\n";
        let err3 = parse_yaml(wrong, file(), Schema::Yaml12).unwrap_err();
        insta::assert_snapshot!(format!("{err}\n{err2}\n{err3}"));
    }

    #[test]
    fn json_errors_have_positions() {
        let err = parse_json("{\n  \"apiVersion\": \"v1\",\n  \"kind\": }", file()).unwrap_err();
        assert_eq!(err.to_string(), "app/deploy.yaml:3:11: expected value");
    }

    #[test]
    fn duplicates_name_both_origins() {
        let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n";
        let objs = parse_yaml(text, file(), Schema::Yaml12).unwrap();
        assert_eq!(
            check_unique(&objs).unwrap_err().to_string(),
            "duplicate object ConfigMap/x/a: defined at app/deploy.yaml:1 and again at app/deploy.yaml:5"
        );
    }
}
