//! A native Kustomize engine: `kustomize build` semantics (v5.6) without the kustomize binary.
//!
//! [`build`] builds the kustomization in a directory; [`build_inline`] builds a kustomization
//! document as if it were the kustomization file of a directory (what Flux does when it wraps a
//! path with `targetNamespace`, `namePrefix`, `patches`, `images` or `components`). Both return the
//! objects in kustomize's output order, with kustomize's field values (keys sorted, as kustomize
//! prints them).
//!
//! Safety: by default no file outside a kustomization's directory is read
//! ([`LoadRestrictor::RootOnly`], kustomize's default), and remote resources are refused.
//! Deprecation warnings are logged with `tracing::warn!` and returned by [`build_with_warnings`].

mod error;
mod fieldspec;
mod generators;
mod kustfile;
mod loader;
mod nameref;
mod order;
mod patches;
mod replacements;
mod resource;
mod smp;
mod target;
mod transformers;
mod vars;

use std::path::Path;

use gitops_core::{Object, SourcedObject};
use serde_json::Value;

pub use error::Error;

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum LoadRestrictor {
    /// Only files in or below the kustomization's own directory (kustomize's default).
    #[default]
    RootOnly,
    /// Any local file.
    None,
}

/// Options of a build.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Options {
    /// Which files kustomizations may read.
    pub load_restrictor: LoadRestrictor,
    /// Where files and directories may be read from at all, whatever the load restrictor: the
    /// root of the repository a build comes from (Flux builds with the restrictor off, but never
    /// outside the source). `None`: only the load restrictor applies, as in kustomize.
    pub boundary: Option<gitops_core::confine::Boundary>,
}

impl Options {
    /// Options with the given load restrictor.
    #[must_use]
    pub fn with_load_restrictor(mut self, load_restrictor: LoadRestrictor) -> Self {
        self.load_restrictor = load_restrictor;
        self
    }
}

/// What a build produced: the objects in kustomize's order, and kustomize's warnings.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Output {
    /// The objects.
    pub objects: Vec<SourcedObject>,
    /// Deprecation and other warnings, as kustomize prints them to stderr.
    pub warnings: Vec<String>,
}

/// Builds the kustomization in `dir`.
///
/// # Errors
/// A missing, invalid or unsafe kustomization, resource or patch, naming the kustomization file,
/// the field and the value.
pub fn build(dir: &Path, options: &Options) -> Result<Vec<SourcedObject>, Error> {
    Ok(build_with_warnings(dir, None, options)?.objects)
}

/// Builds `kustomization` (a parsed kustomization document) as if it were the kustomization file
/// of `dir`.
///
/// # Errors
/// As [`build`].
pub fn build_inline(
    dir: &Path,
    kustomization: &Value,
    options: &Options,
) -> Result<Vec<SourcedObject>, Error> {
    Ok(build_with_warnings(dir, Some(kustomization), options)?.objects)
}

/// [`build`] or [`build_inline`] (when `kustomization` is given), returning the warnings too.
///
/// # Errors
/// As [`build`].
pub fn build_with_warnings(
    dir: &Path,
    kustomization: Option<&Value>,
    options: &Options,
) -> Result<Output, Error> {
    // Overlays nest as deeply as kustomize lets them; the build recurses once a level.
    crate::stack::run_with_stack("kustomize", target::BUILD_STACK, || {
        build_here(dir, kustomization, options)
    })
    .unwrap_or_else(|message| {
        Err(Error::Invalid {
            file: dir.to_owned(),
            message,
        })
    })
}

fn build_here(
    dir: &Path,
    kustomization: Option<&Value>,
    options: &Options,
) -> Result<Output, Error> {
    let mut ctx = target::Ctx::new(options);
    let kt = match kustomization {
        Some(value) => target::Kt::from_value(&mut ctx, dir, value)?,
        None => target::Kt::load(&mut ctx, dir)?,
    };
    let resources = target::build(&mut ctx, kt)?;
    let objects = resources
        .into_iter()
        .map(|r| {
            let value = sort_keys(Value::Object(r.obj));
            let object = Object::from_value(value).map_err(|e| Error::Invalid {
                file: r
                    .origin
                    .file
                    .as_deref()
                    .map_or_else(|| dir.to_owned(), Path::to_owned),
                message: format!("the built object is not valid: {e}"),
            })?;
            Ok(SourcedObject {
                object,
                origin: r.origin,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    for w in &ctx.warnings {
        tracing::warn!("{w}");
    }
    Ok(Output {
        objects,
        warnings: ctx.warnings,
    })
}

/// Sorts map keys recursively, as kustomize prints objects.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}
