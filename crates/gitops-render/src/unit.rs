//! The unit renderer: what Flux's kustomize-controller does with a Kustomization's source tree.
//!
//! `(source root, UnitSpec) → objects`:
//! 1. the unit's `path` is resolved inside the root (it may not leave it);
//! 2. the overlay fields (`targetNamespace`, `namePrefix`, `nameSuffix`, `patches`, `images`,
//!    `components`) go into a kustomization as Flux writes it: the path's own kustomization
//!    file with the fields set or appended, or, when the path has none, one generated to list
//!    every `*.yaml`/`*.yml` below it (a subdirectory with a kustomization is listed as a
//!    directory and not entered); that kustomization is built by the Kustomize engine
//!    ([`crate::kustomize::build_inline`], with load restrictions off as in Flux);
//! 3. without overlay fields the path is rendered as its source type ([`crate::render`]);
//! 4. post-build substitution ([`crate::substitute`]) runs on every object;
//! 5. `commonMetadata` labels and annotations are set on every object (overriding equal keys);
//! 6. the result is validated: every object has `apiVersion`, `kind` and `metadata.name`
//!    (checked when objects are read and again after substitution), and no two objects share an
//!    identity.

use std::path::{Component, Path, PathBuf};

use gitops_core::SourcedObject;
use gitops_core::api::{CommonMetadata, Image, KustomizationSpec, Patch};
use serde_json::{Map, Value};

use crate::substitute::{self, PostBuild, VariableSource};
use crate::{Error, RenderOptions, Rendered, SourceKind, detect};

/// What a Flux Kustomization says about how to build its path: the fields of its `spec` that
/// shape objects, with the `substituteFrom` data already resolved by the caller.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct UnitSpec {
    /// The directory (or file) to build, relative to the source root; empty for the root.
    pub path: PathBuf,
    /// `spec.targetNamespace`.
    pub target_namespace: Option<String>,
    /// `spec.namePrefix`.
    pub name_prefix: Option<String>,
    /// `spec.nameSuffix`.
    pub name_suffix: Option<String>,
    /// `spec.commonMetadata`.
    pub common_metadata: CommonMetadata,
    /// `spec.patches`: strategic-merge or JSON 6902 patches with optional targets.
    pub patches: Vec<Patch>,
    /// `spec.images`.
    pub images: Vec<Image>,
    /// `spec.components`: paths relative to `path`.
    pub components: Vec<String>,
    /// `spec.postBuild`.
    pub post_build: PostBuild,
}

impl UnitSpec {
    /// The unit of a Flux `Kustomization` spec; `substitute_from` holds the data of the
    /// ConfigMaps and Secrets its `postBuild.substituteFrom` names, in order (optional ones that
    /// do not exist left out), which only the cluster edge can read.
    #[must_use]
    pub fn from_flux(spec: &KustomizationSpec, substitute_from: Vec<VariableSource>) -> Self {
        let mut post_build = PostBuild::default();
        if let Some(flux) = &spec.post_build {
            post_build.substitute.clone_from(&flux.substitute);
        }
        post_build.substitute_from = substitute_from;
        Self {
            path: spec.path.clone().map(PathBuf::from).unwrap_or_default(),
            target_namespace: spec.target_namespace.clone(),
            name_prefix: spec.name_prefix.clone(),
            name_suffix: spec.name_suffix.clone(),
            common_metadata: spec.common_metadata.clone().unwrap_or_default(),
            patches: spec.patches.clone(),
            images: spec.images.clone(),
            components: spec.components.clone(),
            post_build,
        }
    }

    /// Whether any field needs a kustomization around the path.
    #[must_use]
    pub fn has_overlay(&self) -> bool {
        self.target_namespace.is_some()
            || self.name_prefix.is_some()
            || self.name_suffix.is_some()
            || !self.patches.is_empty()
            || !self.images.is_empty()
            || !self.components.is_empty()
    }
}

/// Why a unit could not be rendered (beyond the errors of its source).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnitError {
    /// The unit's path leaves the source root.
    #[error("unit path `{}` leaves the source root `{}`", .path.display(), .root.display())]
    OutsideRoot {
        /// The source root.
        root: PathBuf,
        /// The path as given.
        path: PathBuf,
    },
    /// An overlay field was given for a source that kustomize cannot build (Flux builds only
    /// kustomizations and plain manifest directories).
    #[error(
        "`{}` is a {kind} source: {fields} can only be applied to a kustomization or a directory \
         of manifests",
        .path.display()
    )]
    OverlayOnUnsupportedSource {
        /// The unit's directory.
        path: PathBuf,
        /// What it was detected as.
        kind: SourceKind,
        /// The overlay fields that were given.
        fields: String,
    },
}

/// Renders the unit `spec` of the source tree at `root`.
///
/// # Errors
/// A path outside the root, any rendering error of the source, a substitution error, or a
/// duplicate object.
pub fn render(root: &Path, spec: &UnitSpec, options: &RenderOptions) -> Result<Rendered, Error> {
    let dir = resolve(root, &spec.path)?;
    render_path(&dir, spec, &options.clone().within(root))
}

/// Renders `path` (a directory or a file, already resolved) with the fields of `spec` other
/// than `spec.path`; what `gitops build PATH` does.
///
/// # Errors
/// As [`render`].
pub fn render_path(
    path: &Path,
    spec: &UnitSpec,
    options: &RenderOptions,
) -> Result<Rendered, Error> {
    let mut rendered = if spec.has_overlay() {
        let kind = detect(path)?;
        if !matches!(kind, SourceKind::Kustomize | SourceKind::Plain) {
            return Err(UnitError::OverlayOnUnsupportedSource {
                path: path.to_owned(),
                kind,
                fields: overlay_fields(spec),
            }
            .into());
        }
        let boundary = options.boundary(path)?;
        boundary.resolve(path).map_err(|source| Error::Read {
            path: path.to_owned(),
            source,
        })?;
        let kustomization = flux_kustomization_within(path, spec, &boundary)?;
        // Flux builds with kustomize's load restrictions off: files anywhere in the source, and
        // nowhere outside it.
        let mut kustomize_options = options
            .kustomize
            .clone()
            .with_load_restrictor(crate::kustomize::LoadRestrictor::None);
        kustomize_options.boundary = Some(boundary);
        let objects = crate::kustomize::build_inline(path, &kustomization, &kustomize_options)?;
        Rendered {
            kind: SourceKind::Kustomize,
            objects,
        }
    } else {
        crate::render(path, options)?
    };
    substitute::substitute_all(&mut rendered.objects, &spec.post_build)?;
    set_common_metadata(&mut rendered.objects, &spec.common_metadata);
    gitops_core::check_unique(&rendered.objects)?;
    Ok(rendered)
}

fn overlay_fields(spec: &UnitSpec) -> String {
    let fields = [
        ("targetNamespace", spec.target_namespace.is_some()),
        ("namePrefix", spec.name_prefix.is_some()),
        ("nameSuffix", spec.name_suffix.is_some()),
        ("patches", !spec.patches.is_empty()),
        ("images", !spec.images.is_empty()),
        ("components", !spec.components.is_empty()),
    ];
    fields
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `root` joined with `path`, refusing a path that climbs out of the root.
fn resolve(root: &Path, path: &Path) -> Result<PathBuf, UnitError> {
    let mut depth = 0usize;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => depth -= 1,
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(UnitError::OutsideRoot {
                    root: root.to_owned(),
                    path: path.to_owned(),
                });
            }
        }
    }
    Ok(root.join(path))
}

/// The kustomization Flux builds for `dir`: its own kustomization file, or one listing every
/// manifest below it, with the unit's overlay fields set (namespace, prefix, suffix) or appended
/// (patches, components; images replace an entry of the same name).
///
/// # Errors
/// An unreadable directory or a kustomization file that is not a YAML mapping.
pub fn flux_kustomization(dir: &Path, spec: &UnitSpec) -> Result<Value, Error> {
    let boundary = RenderOptions::default().boundary(dir)?;
    flux_kustomization_within(dir, spec, &boundary)
}

/// [`flux_kustomization`], following links only inside `boundary`.
fn flux_kustomization_within(
    dir: &Path,
    spec: &UnitSpec,
    boundary: &gitops_core::confine::Boundary,
) -> Result<Value, Error> {
    let mut kustomization = match existing_kustomization(dir, boundary)? {
        Some(map) => map,
        None => generated_kustomization(dir, boundary)?,
    };
    let mut set = |key: &str, value: &Option<String>| {
        if let Some(value) = value {
            kustomization.insert(key.to_owned(), Value::String(value.clone()));
        }
    };
    set("namespace", &spec.target_namespace);
    set("namePrefix", &spec.name_prefix);
    set("nameSuffix", &spec.name_suffix);
    let patches = spec.patches.iter().map(to_json).collect();
    append(&mut kustomization, "patches", patches);
    let components = spec.components.iter().cloned().map(Value::String).collect();
    append(&mut kustomization, "components", components);
    if !spec.images.is_empty() {
        let mut images = match kustomization.get("images") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        for image in spec.images.iter().map(to_json) {
            let name = image.get("name").cloned();
            match images.iter_mut().find(|i| i.get("name") == name.as_ref()) {
                Some(existing) => *existing = image,
                None => images.push(image),
            }
        }
        kustomization.insert("images".to_owned(), Value::Array(images));
    }
    Ok(Value::Object(kustomization))
}

/// A patch or image as kustomize spells it (the API types serialise to kustomize's field names).
fn to_json(item: &(impl serde::Serialize + ?Sized)) -> Value {
    serde_json::to_value(item).unwrap_or(Value::Null)
}

/// Appends `items` to the list `key` of `map` (creating it; a non-list is replaced).
fn append(map: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    if items.is_empty() {
        return;
    }
    match map.get_mut(key) {
        Some(Value::Array(existing)) => existing.extend(items),
        _ => {
            map.insert(key.to_owned(), Value::Array(items));
        }
    }
}

fn existing_kustomization(
    dir: &Path,
    boundary: &gitops_core::confine::Boundary,
) -> Result<Option<Map<String, Value>>, Error> {
    let Some(file) = crate::KUSTOMIZATION_FILES
        .iter()
        .map(|name| dir.join(name))
        .find(|f| f.is_file())
    else {
        return Ok(None);
    };
    let text = boundary
        .read_to_string(&file)
        .map_err(|source| Error::Read {
            path: file.clone(),
            source,
        })?;
    let value =
        gitops_core::yaml::parse_value(&text, gitops_core::yaml::Schema::Yaml12).map_err(|e| {
            gitops_core::ManifestError::Syntax {
                file: Some(file.as_path().into()),
                position: e.position,
                message: e.message,
            }
        })?;
    match value {
        Value::Object(map) => Ok(Some(map)),
        Value::Null => Ok(Some(Map::new())),
        other => Err(gitops_core::ManifestError::Invalid {
            file: Some(file.as_path().into()),
            position: None,
            document: 0,
            error: gitops_core::ObjectError::NotAMapping {
                found: gitops_core::type_name(&other),
            },
        }
        .into()),
    }
}

/// Flux's generated kustomization: every `*.yaml`/`*.yml` below `dir` in path order, and
/// subdirectories holding a kustomization as directories.
fn generated_kustomization(
    dir: &Path,
    boundary: &gitops_core::confine::Boundary,
) -> Result<Map<String, Value>, Error> {
    let wanted = |name: &str| name.ends_with(".yaml") || name.ends_with(".yml");
    let resources = crate::plain::walk_manifests(dir, boundary, &wanted)?
        .iter()
        .map(|found| {
            let relative = found.path().strip_prefix(dir).unwrap_or(found.path());
            Value::String(Path::new(".").join(relative).display().to_string())
        })
        .collect();
    let mut map = Map::new();
    map.insert(
        "apiVersion".to_owned(),
        Value::String("kustomize.config.k8s.io/v1beta1".to_owned()),
    );
    map.insert("kind".to_owned(), Value::String("Kustomization".to_owned()));
    map.insert("resources".to_owned(), Value::Array(resources));
    Ok(map)
}

/// Sets the unit's common labels and annotations on every object.
fn set_common_metadata(objects: &mut [SourcedObject], common: &CommonMetadata) {
    if common.labels.is_empty() && common.annotations.is_empty() {
        return;
    }
    for sourced in objects {
        let map = sourced.object.as_map_mut();
        let Some(Value::Object(metadata)) = map.get_mut("metadata") else {
            continue;
        };
        for (field, values) in [
            ("labels", &common.labels),
            ("annotations", &common.annotations),
        ] {
            if values.is_empty() {
                continue;
            }
            let entry = metadata
                .entry(field.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            if let Value::Object(target) = entry {
                for (key, value) in values {
                    target.insert(key.clone(), Value::String(value.clone()));
                }
            }
        }
    }
}
