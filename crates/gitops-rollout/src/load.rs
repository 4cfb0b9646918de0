//! Reading rollouts from YAML: our own `Rollout`, Flagger `Canary` and Argo `Rollout` (with the
//! Argo `AnalysisTemplate`s found in the same stream).

use std::path::Path;

use gitops_core::yaml::{self, Schema};
use serde_json::Value;

use crate::readers::{self, Unsupported};
use crate::spec::{self, AnalysisTemplate, Rollout};

/// Where a rollout came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `gitops.rs/v1alpha1 Rollout`.
    Native,
    /// `flagger.app/v1beta1 Canary`.
    Flagger,
    /// `argoproj.io/v1alpha1 Rollout`.
    Argo,
}

/// One rollout read from a stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The rollout in our spec.
    pub rollout: Rollout,
    /// The format it was written in.
    pub format: Format,
    /// Fields of the source that the spec cannot express (empty for native rollouts).
    pub unsupported: Vec<Unsupported>,
}

/// A file that holds no usable rollout: which file, where, what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {message}")]
pub struct LoadError {
    /// `file:line:column` as far as known, or `<input>`.
    pub location: String,
    /// The field path (when known), what was expected and what was found.
    pub message: String,
}

fn location(file: Option<&Path>, pos: Option<yaml::Position>) -> String {
    let file = file.map_or_else(|| "<input>".to_owned(), |f| f.display().to_string());
    match pos {
        Some(p) => format!("{file}:{p}"),
        None => file,
    }
}

/// Reads the only rollout of `text`.
///
/// # Errors
/// Malformed YAML, an unknown kind, a field of the wrong type, or not exactly one rollout.
pub fn from_yaml(text: &str, file: Option<&Path>) -> Result<Loaded, LoadError> {
    let mut all = load_all(text, file)?;
    if all.len() != 1 {
        return Err(LoadError {
            location: location(file, None),
            message: format!(
                "expected exactly one rollout, found {} ({})",
                all.len(),
                all.iter()
                    .map(|l| l.rollout.metadata.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    Ok(all.remove(0))
}

/// Reads every rollout of a multi-document stream, skipping other kinds except Argo
/// `AnalysisTemplate`s, which are attached to the Argo rollouts that refer to them.
///
/// # Errors
/// As [`from_yaml`], except for the count.
pub fn load_all(text: &str, file: Option<&Path>) -> Result<Vec<Loaded>, LoadError> {
    let docs = yaml::parse_documents(text, Schema::Yaml12).map_err(|e| LoadError {
        location: location(file, Some(e.position)),
        message: e.message,
    })?;
    let mut out = Vec::new();
    let mut templates: Vec<AnalysisTemplate> = Vec::new();
    for doc in &docs {
        if doc.value.is_null() {
            continue;
        }
        let fail = |err: readers::ReadError| {
            let pointer = readers::path_to_pointer(&err.path);
            let pos =
                yaml::locate(text, Schema::Yaml12, doc.index, &pointer).or(Some(yaml::Position {
                    line: doc.line,
                    column: 1,
                }));
            LoadError {
                location: location(file, pos),
                message: err.to_string(),
            }
        };
        let api_version = doc.value.get("apiVersion").and_then(Value::as_str);
        let kind = doc.value.get("kind").and_then(Value::as_str);
        match (api_version, kind) {
            (Some(spec::API_VERSION), Some(spec::KIND)) => {
                let rollout = native(&doc.value).map_err(fail)?;
                out.push(Loaded {
                    rollout,
                    format: Format::Native,
                    unsupported: Vec::new(),
                });
            }
            (Some("flagger.app/v1beta1"), Some("Canary")) => {
                let (rollout, unsupported) = readers::flagger::read(&doc.value).map_err(fail)?;
                out.push(Loaded {
                    rollout,
                    format: Format::Flagger,
                    unsupported,
                });
            }
            (Some("argoproj.io/v1alpha1"), Some("Rollout")) => {
                let (rollout, unsupported) = readers::argo::read(&doc.value).map_err(fail)?;
                out.push(Loaded {
                    rollout,
                    format: Format::Argo,
                    unsupported,
                });
            }
            (Some("argoproj.io/v1alpha1"), Some("AnalysisTemplate")) => {
                let (template, unsupported) =
                    readers::argo::read_template(&doc.value).map_err(fail)?;
                if let Some(u) = unsupported.into_iter().next() {
                    return Err(fail(readers::ReadError {
                        path: u.path,
                        message: u.reason,
                    }));
                }
                templates.push(template);
            }
            _ => {}
        }
    }
    for loaded in &mut out {
        if loaded.format != Format::Argo {
            continue;
        }
        let spec = &mut loaded.rollout.spec;
        for t in &templates {
            if !spec.analysis_templates.iter().any(|x| x.name == t.name) {
                spec.analysis_templates.push(t.clone());
            }
        }
    }
    if out.is_empty() {
        return Err(LoadError {
            location: location(file, None),
            message: format!(
                "expected a {} {}, a flagger.app/v1beta1 Canary or an argoproj.io/v1alpha1 Rollout, found none",
                spec::API_VERSION,
                spec::KIND
            ),
        });
    }
    Ok(out)
}

fn native(value: &Value) -> Result<Rollout, readers::ReadError> {
    serde_path_to_error::deserialize(value).map_err(|e| readers::ReadError {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })
}
