//! Jsonnet sources, evaluated with jrsonnet and read the way Argo CD reads them.
//!
//! - A single `.jsonnet` file is evaluated and its output turned into objects ([`render_file`]).
//! - A directory is read as Argo CD's directory source does ([`render_dir`]): every `*.jsonnet`
//!   file at its top is a program, `*.yaml`, `*.yml` and `*.json` files at its top are plain
//!   manifests, subdirectories are not entered, and `*.libsonnet` files are only imported.
//! - The output may be one object, an array of objects, or a list (`items`) of objects.
//!
//! Ext vars, top-level arguments and library paths come from [`JsonnetOptions`]; imports resolve
//! relative to the importing file first, then in the library paths (the last one first, as
//! `jsonnet -J` does). Errors carry file:line:column and the Jsonnet stack trace.
//!
//! jrsonnet's values are not `Send`, so evaluation is synchronous on the calling thread; async
//! callers use `tokio::task::spawn_blocking`.

mod error;
mod limits;
mod output;
mod vm;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitops_core::SourcedObject;
use serde_json::Value;

pub use error::{EvaluationError, Frame, JsonnetError, SourceLocation};

use crate::Error;
use vm::Program;

/// The value of an ext var or a top-level argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtValue {
    /// A string (`--ext-str`, `--tla-str`).
    Str(String),
    /// Jsonnet code, evaluated when used (`--ext-code`, `--tla-code`).
    Code(String),
}

/// How Jsonnet programs are evaluated: the knobs of `jsonnet` and of Argo CD's
/// `spec.source.directory.jsonnet`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JsonnetOptions {
    /// External variables, read with `std.extVar(name)`.
    pub ext_vars: BTreeMap<String, ExtValue>,
    /// Top-level arguments, passed when the program's value is a function (ignored otherwise,
    /// as in go-jsonnet).
    pub tlas: BTreeMap<String, ExtValue>,
    /// Library search paths (`-J`), in the order given; the last one is searched first.
    pub library_paths: Vec<PathBuf>,
    /// Where imports may be read from, besides the library paths: the source's root, as
    /// kustomize's load restrictor confines a kustomization (an import that lands outside it,
    /// through `..`, an absolute path or a link, is an error). `None`: anywhere, as `jsonnet`
    /// itself (`--load-restrictor none`).
    pub boundary: Option<gitops_core::confine::Boundary>,
}

/// Evaluates the Jsonnet file `file` and returns its output as JSON.
///
/// # Errors
/// A syntax or runtime error, with file:line:column and the stack trace.
pub fn evaluate_file(file: &Path, options: &JsonnetOptions) -> Result<Value, JsonnetError> {
    vm::evaluate(&Program::File(file), options)
}

/// Evaluates Jsonnet `code` that is not in a file (as `jsonnet -e` does); `name` names it in
/// messages and its imports resolve relative to `dir`.
///
/// # Errors
/// A syntax or runtime error, with file:line:column and the stack trace.
pub fn evaluate_snippet(
    name: &str,
    code: &str,
    dir: &Path,
    options: &JsonnetOptions,
) -> Result<Value, JsonnetError> {
    vm::evaluate(&Program::Snippet { name, code, dir }, options)
}

/// Evaluates the Jsonnet file `file` and turns its output into objects.
///
/// # Errors
/// An evaluation error, or output that is not Kubernetes objects (with its JSON pointer).
pub fn render_file(
    file: &Path,
    options: &JsonnetOptions,
) -> Result<Vec<SourcedObject>, JsonnetError> {
    let value = evaluate_file(file, options)?;
    output::to_objects(value, &Arc::from(file))
}

/// Renders a directory as Argo CD's directory source with Jsonnet does: the files at its top in
/// name order, `*.jsonnet` evaluated, `*.yaml`/`*.yml`/`*.json` read as manifests. The directory
/// itself is the first (lowest-priority) library path, as in Argo CD.
///
/// # Errors
/// The first file that cannot be read, evaluated or turned into objects.
pub fn render_dir(dir: &Path, options: &JsonnetOptions) -> Result<Vec<SourcedObject>, Error> {
    let read_err = |source| Error::Read {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let entry = entry.map_err(read_err)?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let path = entry.path();
        if name.starts_with('.') || !path.is_file() {
            continue;
        }
        if [".jsonnet", ".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| name.ends_with(ext))
        {
            files.push(path);
        }
    }
    files.sort();
    let mut options = options.clone();
    options.library_paths.insert(0, dir.to_owned());
    let mut objects = Vec::new();
    for file in files {
        if file.extension().is_some_and(|e| e == "jsonnet") {
            objects.extend(render_file(&file, &options)?);
        } else {
            if let Some(boundary) = &options.boundary {
                boundary.resolve(&file).map_err(|source| Error::Read {
                    path: file.clone(),
                    source,
                })?;
            }
            objects.extend(crate::plain::render_file(&file)?);
        }
    }
    Ok(objects)
}
