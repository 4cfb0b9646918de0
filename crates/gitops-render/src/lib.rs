//! Renderers of `gitops`: files in, objects out.
//!
//! [`render`] looks at a path, decides what kind of source it is ([`detect`]) and renders it to
//! Kubernetes objects with their origins. Each source type has its own module: plain manifest
//! directories and Jsonnet now; Kustomize and Helm charts as they land.
//!
//! ```no_run
//! let rendered = gitops_render::render(std::path::Path::new("fixtures/podinfo"), &Default::default())?;
//! # Ok::<(), gitops_render::Error>(())
//! ```

mod detect;
mod error;
pub mod gotemplate;
pub mod helm;
pub mod jsonnet;
pub mod kustomize;
pub mod plain;
pub mod repo;
mod stack;
pub mod substitute;
pub mod unit;

use std::path::Path;

pub use detect::{KUSTOMIZATION_FILES, SourceKind, detect};
pub use error::Error;
use gitops_core::SourcedObject;

/// Options that apply to rendering any source type.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RenderOptions {
    /// Options of Kustomize builds.
    pub kustomize: kustomize::Options,
    /// Ext vars, top-level arguments and library paths for Jsonnet sources.
    pub jsonnet: jsonnet::JsonnetOptions,
    /// How Helm charts are rendered (release name, namespace, values, capabilities).
    pub helm: helm::HelmOptions,
}

/// What rendering a source produced.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Rendered {
    /// The kind of source that was rendered.
    pub kind: SourceKind,
    /// The objects, in the order the source's own tool prints them (kustomize's and Helm's
    /// orders for those sources, file order for plain directories). Callers that apply sort with
    /// [`gitops_core::order::sort_for_apply`].
    pub objects: Vec<SourcedObject>,
}

impl Rendered {
    /// Whether the source's tool defines an output order that `gitops build` must keep (so that
    /// its output can be compared with the tool's); plain sources have none and are printed in
    /// apply order.
    #[must_use]
    pub fn has_tool_order(&self) -> bool {
        matches!(self.kind, SourceKind::Kustomize | SourceKind::Helm)
    }
}

/// Renders the source at `path` into objects. The result holds no duplicate identities.
///
/// # Errors
/// The first file that cannot be read or rendered, with its location; or a duplicate object.
pub fn render(path: &Path, options: &RenderOptions) -> Result<Rendered, Error> {
    let kind = detect(path)?;
    let objects = match kind {
        SourceKind::Plain => plain::render_dir(path)?,
        SourceKind::PlainFile => plain::render_file(path)?,
        SourceKind::Kustomize => kustomize::build(path, &options.kustomize)?,
        SourceKind::Jsonnet if path.is_dir() => jsonnet::render_dir(path, &options.jsonnet)?,
        SourceKind::Jsonnet => jsonnet::render_file(path, &options.jsonnet)?,
        SourceKind::Helm => helm::render_chart(path, &options.helm)?.objects()?,
    };
    gitops_core::check_unique(&objects)?;
    Ok(Rendered { kind, objects })
}
