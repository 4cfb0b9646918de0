//! Readers of other projects' rollout resources: Flagger `Canary` and Argo Rollouts `Rollout`.
//!
//! Each maps what our spec can express and lists every other field it met as [`Unsupported`],
//! with its path, instead of dropping it silently. Type errors in fields we read are
//! [`ReadError`]s.

pub mod argo;
pub mod flagger;

use std::collections::BTreeSet;
use std::fmt;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A field the reader met but our spec cannot express.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unsupported {
    /// Its path, such as `spec.analysis.webhooks[0]`.
    pub path: String,
    /// Why it is not carried over.
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// A field of the wrong shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ReadError {
    /// The field's path.
    pub path: String,
    /// What was expected and found.
    pub message: String,
}

/// `spec.steps[2].pause` → `/spec/steps/2/pause`, for [`gitops_core::yaml::locate`].
#[must_use]
pub fn path_to_pointer(path: &str) -> String {
    let mut out = String::new();
    for part in path.split('.') {
        if part.is_empty() || part == "?" {
            continue;
        }
        let (name, rest) = part.split_once('[').unwrap_or((part, ""));
        if !name.is_empty() {
            out.push('/');
            out.push_str(&name.replace('~', "~0").replace('/', "~1"));
        }
        for index in rest.split('[') {
            let index = index.trim_end_matches(']');
            if !index.is_empty() {
                out.push('/');
                out.push_str(index);
            }
        }
    }
    out
}

/// The fields of one mapping, tracking which were read so the rest can be reported.
pub(crate) struct Fields<'a> {
    map: Option<&'a Map<String, Value>>,
    path: String,
    used: BTreeSet<&'static str>,
}

impl<'a> Fields<'a> {
    /// The mapping at `path`; a missing or null value reads as empty, another type is an error.
    pub(crate) fn new(value: Option<&'a Value>, path: &str) -> Result<Self, ReadError> {
        let map = match value {
            None | Some(Value::Null) => None,
            Some(Value::Object(map)) => Some(map),
            Some(other) => {
                return Err(ReadError {
                    path: path.to_owned(),
                    message: format!(
                        "expected a mapping, found {}",
                        gitops_core::type_name(other)
                    ),
                });
            }
        };
        Ok(Self {
            map,
            path: path.to_owned(),
            used: BTreeSet::new(),
        })
    }

    /// The path of a field.
    pub(crate) fn path(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// The raw value of a field, marking it read.
    pub(crate) fn raw(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.insert(key);
        self.map.and_then(|m| m.get(key)).filter(|v| !v.is_null())
    }

    /// A field as `T`.
    pub(crate) fn get<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
    ) -> Result<Option<T>, ReadError> {
        let path = self.path(key);
        self.raw(key)
            .map(|v| {
                serde_path_to_error::deserialize(v).map_err(|e| {
                    let inner = e.path().to_string();
                    ReadError {
                        path: if inner == "." {
                            path.clone()
                        } else {
                            format!("{path}.{inner}")
                        },
                        message: e.inner().to_string(),
                    }
                })
            })
            .transpose()
    }

    /// A required field as `T`.
    pub(crate) fn require<T: DeserializeOwned>(
        &mut self,
        key: &'static str,
    ) -> Result<T, ReadError> {
        let path = self.path(key);
        self.get(key)?.ok_or_else(|| ReadError {
            path,
            message: "expected a value, found none".to_owned(),
        })
    }

    /// The nested mapping of a field.
    pub(crate) fn nested(&mut self, key: &'static str) -> Result<Fields<'a>, ReadError> {
        let path = self.path(key);
        Fields::new(self.raw(key), &path)
    }

    /// Reports a field as unsupported when present (marking it read).
    pub(crate) fn refuse(&mut self, key: &'static str, reason: &str, out: &mut Vec<Unsupported>) {
        if self.raw(key).is_some() {
            out.push(Unsupported {
                path: self.path(key),
                reason: reason.to_owned(),
            });
        }
    }

    /// Reports every field not read.
    pub(crate) fn finish(self, out: &mut Vec<Unsupported>) {
        if let Some(map) = self.map {
            for (key, value) in map {
                if !self.used.contains(key.as_str()) && !value.is_null() {
                    out.push(Unsupported {
                        path: if self.path.is_empty() {
                            key.clone()
                        } else {
                            format!("{}.{key}", self.path)
                        },
                        reason: "not supported by gitops rollouts".to_owned(),
                    });
                }
            }
        }
    }
}

/// Reads `metadata`: name (required), namespace, labels and annotations.
pub(crate) fn metadata(
    root: &mut Fields<'_>,
    out: &mut Vec<Unsupported>,
) -> Result<crate::spec::Metadata, ReadError> {
    let mut meta = root.nested("metadata")?;
    let result = crate::spec::Metadata {
        name: meta.require("name")?,
        namespace: meta.get("namespace")?,
        labels: meta.get("labels")?.unwrap_or_default(),
        annotations: meta.get("annotations")?.unwrap_or_default(),
    };
    for key in [
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "finalizers",
        "ownerReferences",
    ] {
        meta.raw(key);
    }
    meta.finish(out);
    Ok(result)
}
