//! Post-build variable substitution, as Flux's kustomize-controller does it (`spec.postBuild`).
//!
//! The variables are the data of the `substituteFrom` ConfigMaps and Secrets, in order (a later
//! source overrides an earlier one), then the inline `substitute` map, which wins; newlines are
//! removed from every value. Each object is written as YAML, expanded with Flux's `envsubst`
//! grammar ([`expand`]) and read back with YAML 1.1 rules, as Flux reads it (sigs.k8s.io/yaml),
//! so `${var}` inside a string can become a number or a boolean, exactly as in Flux.
//!
//! - An object labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` is left
//!   as it is.
//! - With no variables at all nothing is substituted, even in strict mode (as in Flux).
//! - Variable names must match `^[_[:alpha:]][_[:alpha:][:digit:]]*$`.
//! - Undefined variables become empty; in strict mode they are an error naming the variable and
//!   the object, unless a default form (`${var:=x}`, `${var:-x}`, ...) covers them.
//!
//! Everything here is pure: the caller supplies the ConfigMap and Secret data (Secret values
//! already base64-decoded).

mod envsubst;
mod glob;

use std::collections::BTreeMap;

use gitops_core::yaml::{self, Schema};
use gitops_core::{Object, ObjectError, ObjectRef, Origin, SourcedObject};

pub use envsubst::{EnvsubstError, MAX_NESTING, expand};

/// The label or annotation that opts an object out of substitution, and its value.
pub const DISABLE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// The value of [`DISABLE_KEY`] that opts out.
pub const DISABLED: &str = "disabled";
/// What a variable name must look like (Flux's rule, in POSIX classes).
pub const NAME_RULE: &str = "^[_[:alpha:]][_[:alpha:][:digit:]]*$";

/// One `substituteFrom` entry with its data, resolved by the caller.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VariableSource {
    /// `ConfigMap` or `Secret` (for messages).
    pub kind: String,
    /// The object's name (for messages).
    pub name: String,
    /// Its data; Secret values decoded.
    pub data: BTreeMap<String, String>,
}

/// The `postBuild` part of a unit: where variables come from and how strictly they are used.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PostBuild {
    /// Inline variables; they override `substitute_from`.
    pub substitute: BTreeMap<String, String>,
    /// ConfigMap and Secret data, in the order of `substituteFrom`; a later one overrides an
    /// earlier one.
    pub substitute_from: Vec<VariableSource>,
    /// Fail on a variable without a value and without a default.
    pub strict: bool,
}

impl PostBuild {
    /// The variables in effect: `substitute_from` in order, then `substitute`, newlines
    /// removed from the values.
    #[must_use]
    pub fn variables(&self) -> BTreeMap<String, String> {
        let mut vars = BTreeMap::new();
        let sources = self.substitute_from.iter().map(|s| &s.data);
        for data in sources.chain(std::iter::once(&self.substitute)) {
            for (key, value) in data {
                vars.insert(key.clone(), value.replace('\n', ""));
            }
        }
        vars
    }

    /// Whether there is anything to do.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.substitute.is_empty() && self.substitute_from.iter().all(|s| s.data.is_empty())
    }
}

/// Why substitution failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SubstituteError {
    /// A variable's name breaks Flux's rule.
    #[error("variable name `{name}` is invalid: it must match `{}`", NAME_RULE)]
    InvalidName {
        /// The name.
        name: String,
    },
    /// An expression in the object is malformed, or (strict mode) names an unset variable.
    #[error("{origin}: {object}: substitution failed: {error}")]
    Expand {
        /// The object.
        object: ObjectRef,
        /// Where it came from.
        origin: Origin,
        /// What went wrong.
        error: EnvsubstError,
    },
    /// After substitution the object is no longer valid YAML.
    #[error("{origin}: {object}: the result of substitution is not valid YAML: {error}")]
    Yaml {
        /// The object.
        object: ObjectRef,
        /// Where it came from.
        origin: Origin,
        /// The parser's complaint, with a position in the substituted text.
        error: yaml::ParseError,
    },
    /// A line of a `.env` file is not `KEY=VALUE`.
    #[error("{}:{line}: expected `KEY=VALUE`, found `{found}`", .file.display())]
    EnvFile {
        /// The file (for the message).
        file: std::path::PathBuf,
        /// Line number, from 1.
        line: usize,
        /// The line.
        found: String,
    },
    /// After substitution the object is no longer a Kubernetes object.
    #[error("{origin}: {object}: the result of substitution is not a valid object: {error}")]
    Object {
        /// The object as it was before.
        object: ObjectRef,
        /// Where it came from.
        origin: Origin,
        /// What is wrong now.
        error: ObjectError,
    },
}

/// Substitutes the variables of `post_build` into every object, in place.
///
/// # Errors
/// An invalid variable name, or the first object whose substitution fails.
pub fn substitute_all(
    objects: &mut [SourcedObject],
    post_build: &PostBuild,
) -> Result<(), SubstituteError> {
    let vars = post_build.variables();
    if vars.is_empty() {
        return Ok(());
    }
    check_names(&vars)?;
    for sourced in objects.iter_mut() {
        if let Some(object) =
            substitute_object(&sourced.object, &sourced.origin, &vars, post_build.strict)?
        {
            sourced.object = object;
        }
    }
    Ok(())
}

/// Reads variables from the text of a `.env` file: `KEY=VALUE` lines, split at the first `=`,
/// the value kept as written; blank lines and lines starting with `#` are skipped. `file` only
/// names the file in errors.
///
/// # Errors
/// A line that is not blank, a comment or `KEY=VALUE` with a non-empty key.
pub fn parse_env(
    text: &str,
    file: &std::path::Path,
) -> Result<BTreeMap<String, String>, SubstituteError> {
    let mut vars = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        match trimmed.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                vars.insert(key.trim().to_owned(), value.to_owned());
            }
            _ => {
                return Err(SubstituteError::EnvFile {
                    file: file.to_owned(),
                    line: i + 1,
                    found: line.to_owned(),
                });
            }
        }
    }
    Ok(vars)
}

/// Checks every variable name against Flux's rule.
///
/// # Errors
/// The first invalid name.
pub fn check_names(vars: &BTreeMap<String, String>) -> Result<(), SubstituteError> {
    for name in vars.keys() {
        let mut chars = name.chars();
        let valid = chars
            .next()
            .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
            && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
        if !valid {
            return Err(SubstituteError::InvalidName { name: name.clone() });
        }
    }
    Ok(())
}

/// Whether `object` opts out of substitution by label or annotation.
#[must_use]
pub fn is_disabled(object: &Object) -> bool {
    let has = |map: Option<&serde_json::Map<String, serde_json::Value>>| {
        map.and_then(|m| m.get(DISABLE_KEY))
            .and_then(serde_json::Value::as_str)
            == Some(DISABLED)
    };
    has(object.labels()) || has(object.annotations())
}

/// Substitutes `vars` into one object: `None` when it is unchanged (it opted out, or holds no
/// expression). Names are not checked here (see [`check_names`]).
///
/// # Errors
/// A malformed expression or (strict) an unset variable; YAML or an object that the
/// substitution broke.
pub fn substitute_object(
    object: &Object,
    origin: &Origin,
    vars: &BTreeMap<String, String>,
    strict: bool,
) -> Result<Option<Object>, SubstituteError> {
    if is_disabled(object) {
        return Ok(None);
    }
    let text = yaml::to_string(&object.to_value());
    let lookup = |name: &str| vars.get(name).cloned();
    let expanded = expand(&text, &lookup, strict).map_err(|error| SubstituteError::Expand {
        object: object.object_ref(),
        origin: origin.clone(),
        error,
    })?;
    if expanded == text {
        return Ok(None);
    }
    let value =
        yaml::parse_value(&expanded, Schema::Yaml11).map_err(|error| SubstituteError::Yaml {
            object: object.object_ref(),
            origin: origin.clone(),
            error,
        })?;
    Object::from_value(value)
        .map(Some)
        .map_err(|error| SubstituteError::Object {
            object: object.object_ref(),
            origin: origin.clone(),
            error,
        })
}
