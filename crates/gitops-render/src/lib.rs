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

use std::path::{Path, PathBuf};

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
    /// The directory no file may be read from outside of: the root of the repository or
    /// artifact a source comes from. Paths are judged where they land after every symbolic link
    /// in them is followed ([`gitops_core::confine`]). `None`: the rendered path itself (its
    /// directory for a file); Kustomize then keeps to its own load restrictor, so that an overlay
    /// can reach `../base`.
    pub root: Option<PathBuf>,
}

impl RenderOptions {
    /// The boundary for rendering `path`: [`RenderOptions::root`], else `path` itself (its
    /// directory for a file).
    ///
    /// # Errors
    /// When the directory cannot be resolved.
    pub fn boundary(&self, path: &Path) -> Result<gitops_core::confine::Boundary, Error> {
        let dir = match &self.root {
            Some(root) => root.as_path(),
            None if path.is_dir() => path,
            None => path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new(".")),
        };
        gitops_core::confine::Boundary::new(dir).map_err(|source| Error::Read {
            path: dir.to_owned(),
            source,
        })
    }

    /// Whether the user lifted the restriction on where files may be read from
    /// (`--load-restrictor none`) and named no root: Jsonnet imports then go anywhere, as
    /// with `jsonnet` itself.
    fn unrestricted(&self) -> bool {
        self.root.is_none() && self.kustomize.load_restrictor == kustomize::LoadRestrictor::None
    }

    /// These options with `root` as [`RenderOptions::root`], unless one is set already.
    #[must_use]
    pub fn within(mut self, root: &Path) -> Self {
        if self.root.is_none() {
            self.root = Some(root.to_owned());
        }
        self
    }
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
    let boundary = options.boundary(path)?;
    boundary.resolve(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    let kind = detect(path)?;
    let objects = match kind {
        SourceKind::Plain => plain::render_dir_within(path, &boundary, options)?,
        SourceKind::PlainFile => plain::render_file(path)?,
        SourceKind::Kustomize => {
            let mut kustomize = options.kustomize.clone();
            if options.root.is_some() {
                kustomize.boundary = Some(boundary);
            }
            kustomize::build(path, &kustomize)?
        }
        SourceKind::Jsonnet => {
            let mut jsonnet = options.jsonnet.clone();
            if jsonnet.boundary.is_none() && !options.unrestricted() {
                jsonnet.boundary = Some(boundary);
            }
            if path.is_dir() {
                jsonnet::render_dir(path, &jsonnet)?
            } else {
                jsonnet::render_file(path, &jsonnet)?
            }
        }
        SourceKind::Helm => {
            let mut helm = options.helm.clone();
            if helm.boundary.is_none() {
                helm.boundary = Some(boundary);
            }
            helm::render_chart(path, &helm)?.objects()?
        }
    };
    gitops_core::check_unique(&objects)?;
    Ok(Rendered { kind, objects })
}
