//! One kustomization and its build: accumulating resources (files and nested kustomizations),
//! components, generators, then the built-in transformers in kustomize's order; at the top, the
//! hash suffixes, name references, vars and the output order.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use gitops_core::{Origin, manifest, yaml};
use serde_json::Value;

use super::fieldspec::{FieldSpec, TransformerConfig};
use super::generators::{self, FileSource};
use super::kustfile::{Kustomization, Patch, Var};
use super::loader::{Loader, Target};
use super::patches::{self, Matcher, Parsed};
use super::resource::{Behavior, Resource};
use super::{Error, Options, nameref, order, replacements, transformers, vars};

/// State shared by the whole build.
pub(super) struct Ctx {
    options: Options,
    /// Canonical directories of the kustomizations being built, outermost first.
    stack: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

impl Ctx {
    pub(super) fn new(options: &Options) -> Self {
        Self {
            options: options.clone(),
            stack: Vec::new(),
            warnings: Vec::new(),
        }
    }
}

/// A loaded kustomization.
pub(super) struct Kt {
    ldr: Loader,
    k: Kustomization,
    openapi: Option<Value>,
}

impl Kt {
    /// Loads the kustomization file of `dir`.
    pub(super) fn load(ctx: &mut Ctx, dir: &Path) -> Result<Self, Error> {
        let found: Vec<PathBuf> = crate::KUSTOMIZATION_FILES
            .iter()
            .map(|f| dir.join(f))
            .filter(|p| p.is_file())
            .collect();
        let file = match found.as_slice() {
            [] => {
                return Err(Error::MissingKustomization {
                    dir: dir.to_owned(),
                });
            }
            [one] => one.clone(),
            _ => {
                return Err(Error::MultipleKustomizations {
                    dir: dir.to_owned(),
                });
            }
        };
        let text = match &ctx.options.boundary {
            Some(boundary) => boundary.read_to_string(&file),
            None => gitops_core::confine::read_to_string(&file),
        }
        .map_err(|source| Error::Read {
            kustomization: file.clone(),
            path: file.clone(),
            source,
        })?;
        let value = yaml::parse_value(&text, yaml::Schema::Yaml12).map_err(|e| Error::Invalid {
            file: file.clone(),
            message: format!("{}: {}", e.position, e.message),
        })?;
        Self::new(ctx, dir, file, &value)
    }

    /// A kustomization given as a document, standing for the kustomization file of `dir`.
    pub(super) fn from_value(ctx: &mut Ctx, dir: &Path, value: &Value) -> Result<Self, Error> {
        Self::new(ctx, dir, dir.join("kustomization.yaml"), value)
    }

    fn new(ctx: &mut Ctx, dir: &Path, file: PathBuf, value: &Value) -> Result<Self, Error> {
        let (k, warnings) = Kustomization::from_value(value, &file)?;
        ctx.warnings.extend(warnings);
        let root = std::fs::canonicalize(dir).map_err(|source| Error::Read {
            kustomization: file.clone(),
            path: dir.to_owned(),
            source,
        })?;
        let ldr = Loader {
            dir: dir.to_owned(),
            root,
            file,
            restrictor: ctx.options.load_restrictor,
            boundary: ctx.options.boundary.clone(),
        };
        let openapi = match k.openapi.as_ref().and_then(|o| o.get("path")) {
            Some(path) => {
                let text = ldr.read_text("openapi.path", path)?;
                Some(yaml::parse_value(&text, yaml::Schema::Yaml12).map_err(|e| {
                    Error::field(&ldr.file, "openapi.path", path.as_str(), e.to_string())
                })?)
            }
            None => None,
        };
        Ok(Self { ldr, k, openapi })
    }

    fn err(&self, message: impl Into<String>) -> Error {
        Error::transform(&self.ldr.file, message)
    }
}

impl FileSource for Loader {
    fn read(&self, field: &str, path: &str) -> Result<Vec<u8>, Error> {
        Loader::read(self, field, path)
    }

    fn error(&self, field: &str, value: &str, message: String) -> Error {
        Error::field(&self.file, field, value, message)
    }
}

/// What has been accumulated so far.
struct Acc {
    res: Vec<Resource>,
    config: Arc<TransformerConfig>,
    vars: Vec<Var>,
}

impl Acc {
    fn new() -> Self {
        Self {
            res: Vec::new(),
            config: TransformerConfig::defaults(),
            vars: Vec::new(),
        }
    }
}

/// Builds `kt` completely: `kustomize build`.
pub(super) fn build(ctx: &mut Ctx, kt: Kt) -> Result<Vec<Resource>, Error> {
    ctx.stack.push(kt.ldr.root.clone());
    let mut acc = accumulate(ctx, &kt, Acc::new())?;
    // Hash suffixes for generated objects.
    for r in &mut acc.res {
        if r.needs_hash {
            let h = generators::hash(&r.obj);
            r.store_previous_id();
            let name = format!("{}-{h}", r.name());
            r.set_name(&name);
        }
    }
    nameref::fix(&mut acc.res, &acc.config.name_reference).map_err(|m| kt.err(m))?;
    vars::resolve(&mut acc.res, &acc.vars, &acc.config.var_reference).map_err(|m| kt.err(m))?;
    order::sort(&mut acc.res, kt.k.sort_options.as_ref());
    if kt.k.build_metadata.iter().any(|b| b == "managedByLabel") {
        for r in &mut acc.res {
            let mut labels = r.string_map("labels");
            labels.insert(
                "app.kubernetes.io/managed-by".into(),
                Value::String("kustomize-v5.6.0".into()),
            );
            r.set_string_map("labels", labels);
        }
    }
    if kt.k.build_metadata.iter().any(|b| b == "originAnnotations") {
        for r in &mut acc.res {
            let Some(file) = r.origin.file.clone() else {
                continue;
            };
            let rel = file.strip_prefix(&kt.ldr.dir).unwrap_or(&file);
            let mut annotations = r.string_map("annotations");
            annotations.insert(
                "config.kubernetes.io/origin".into(),
                Value::String(format!("path: {}\n", rel.display())),
            );
            r.set_string_map("annotations", annotations);
        }
    }
    ctx.stack.pop();
    Ok(acc.res)
}

fn accumulate(ctx: &mut Ctx, kt: &Kt, mut acc: Acc) -> Result<Acc, Error> {
    let mut seen: HashSet<IdKey> = acc.res.iter().map(id_key).collect();
    for (i, path) in kt.k.resources.iter().enumerate() {
        let field = format!("resources[{i}]");
        match kt.ldr.resolve(&field, path)? {
            Target::File { shown } => {
                let text = kt.ldr.read_text(&field, path)?;
                let objects = manifest::parse_yaml(
                    &text,
                    Some(Arc::from(shown.as_path())),
                    yaml::Schema::Yaml12,
                )?;
                for o in objects {
                    let Value::Object(map) = o.object.into_value() else {
                        continue;
                    };
                    append(kt, &mut acc.res, &mut seen, Resource::new(map, o.origin))?;
                }
            }
            Target::Dir { shown, canonical } => {
                let sub = enter(ctx, kt, &field, path, &shown, &canonical)?;
                if sub.k.is_component() {
                    return Err(Error::field(
                        &kt.ldr.file,
                        field,
                        path.as_str(),
                        "is a Component; list it under `components`",
                    ));
                }
                let sub_acc = accumulate(ctx, &sub, Acc::new());
                ctx.stack.pop();
                let sub_acc = sub_acc?;
                for r in sub_acc.res {
                    append(kt, &mut acc.res, &mut seen, r)?;
                }
                TransformerConfig::merge_into(&mut acc.config, &sub_acc.config);
                for v in sub_acc.vars {
                    if acc.vars.iter().any(|k| k.name == v.name) {
                        return Err(kt.err(format!("var '{}' already encountered", v.name)));
                    }
                    acc.vars.push(v);
                }
            }
        }
    }
    for (i, path) in kt.k.configurations.iter().enumerate() {
        let field = format!("configurations[{i}]");
        let text = kt.ldr.read_text(&field, path)?;
        let value = yaml::parse_value(&text, yaml::Schema::Yaml12)
            .map_err(|e| Error::field(&kt.ldr.file, &field, path.as_str(), e.to_string()))?;
        let config = TransformerConfig::from_value(value)
            .map_err(|e| Error::field(&kt.ldr.file, &field, path.as_str(), e))?;
        TransformerConfig::merge_into(&mut acc.config, &config);
    }
    for (i, path) in kt.k.crds.iter().enumerate() {
        // CRD files only add name-reference configuration in kustomize; check they exist.
        kt.ldr.read(&format!("crds[{i}]"), path)?;
    }
    generate(kt, &mut acc)?;
    for (i, path) in kt.k.components.iter().enumerate() {
        let field = format!("components[{i}]");
        let Target::Dir { shown, canonical } = kt.ldr.resolve(&field, path)? else {
            return Err(Error::field(
                &kt.ldr.file,
                field,
                path.as_str(),
                "a component must be a directory",
            ));
        };
        let sub = enter(ctx, kt, &field, path, &shown, &canonical)?;
        if !sub.k.is_component() {
            ctx.stack.pop();
            return Err(Error::field(
                &kt.ldr.file,
                field,
                path.as_str(),
                "expected a directory with `kind: Component`",
            ));
        }
        let result = accumulate(ctx, &sub, acc);
        ctx.stack.pop();
        acc = result?;
    }
    transform(kt, &mut acc)?;
    if let Some(v) = &kt.k.vars {
        vars::merge(&mut acc.res, &mut acc.vars, v).map_err(|m| kt.err(format!("vars: {m}")))?;
    }
    Ok(acc)
}

/// How many kustomizations may be nested below the one built (through `resources` and
/// `components` that are directories). kustomize sets no bound (Go's stacks grow) and builds a
/// chain of 10,000 overlays over a base; so does this engine, on a stack of [`BUILD_STACK`]
/// bytes.
pub(super) const MAX_NESTING: usize = 10_000;

/// The stack a build runs on: [`MAX_NESTING`] levels took 260 MB of a debug build's stack
/// (measured on a chain of 10,001 kustomizations; a release build needs less), twice over.
pub(super) const BUILD_STACK: usize = 512 << 20;

/// Loads the kustomization in `shown`, refusing cycles and nesting deeper than [`MAX_NESTING`].
fn enter(
    ctx: &mut Ctx,
    kt: &Kt,
    field: &str,
    value: &str,
    shown: &Path,
    canonical: &Path,
) -> Result<Kt, Error> {
    if let Some(pos) = ctx.stack.iter().position(|d| d == canonical) {
        let mut cycle: Vec<String> = ctx.stack[pos..]
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        cycle.push(canonical.display().to_string());
        return Err(Error::Cycle {
            cycle: cycle.join(" -> "),
        });
    }
    if ctx.stack.len() > MAX_NESTING {
        return Err(Error::field(
            &kt.ldr.file,
            field,
            value,
            format!("kustomizations are nested more than {MAX_NESTING} deep"),
        ));
    }
    let sub = Kt::load(ctx, shown).map_err(|e| match e {
        Error::MissingKustomization { .. } => Error::field(
            &kt.ldr.file,
            field,
            value,
            format!(
                "`{}` is a directory without a kustomization file",
                shown.display()
            ),
        ),
        e => e,
    })?;
    ctx.stack.push(canonical.to_owned());
    Ok(sub)
}

/// The identity kustomize refuses to see twice: gvk, name and effective namespace.
type IdKey = (super::resource::Gvk, String, String);

fn id_key(r: &Resource) -> IdKey {
    let id = r.cur_id();
    let ns = id.effective_namespace().to_owned();
    (id.gvk, id.name, ns)
}

/// Appends `r`, refusing an id that is already there (`seen` holds the ids of `list`).
fn append(
    kt: &Kt,
    list: &mut Vec<Resource>,
    seen: &mut HashSet<IdKey>,
    r: Resource,
) -> Result<(), Error> {
    let key = id_key(&r);
    if seen.contains(&key) {
        let id = r.cur_id();
        let other = list
            .iter()
            .find(|o| o.cur_id().equals(&id))
            .map(|o| o.origin.to_string())
            .unwrap_or_default();
        return Err(kt.err(format!(
            "may not add resource with an already registered id: {id} (from {other} and {})",
            r.origin
        )));
    }
    seen.insert(key);
    list.push(r);
    Ok(())
}

fn generate(kt: &Kt, acc: &mut Acc) -> Result<(), Error> {
    let global = kt.k.generator_options.as_ref();
    let entries =
        kt.k.config_map_generator
            .iter()
            .enumerate()
            .map(|(i, g)| ("ConfigMap", format!("configMapGenerator[{i}]"), g))
            .chain(
                kt.k.secret_generator
                    .iter()
                    .enumerate()
                    .map(|(i, g)| ("Secret", format!("secretGenerator[{i}]"), g)),
            );
    for (kind, field, args) in entries {
        let mut r = generators::generate(kind, args, global, &field, &kt.ldr)?;
        r.origin = Origin::new(Some(Arc::from(kt.ldr.file.as_path())), 0, 0);
        let id = r.cur_id();
        let matches: Vec<usize> = acc
            .res
            .iter()
            .enumerate()
            .filter(|(_, o)| o.any_id(|oid| oid.equals(&id)))
            .map(|(i, _)| i)
            .collect();
        match (matches.as_slice(), r.behavior) {
            ([], Behavior::Create) => acc.res.push(r),
            ([], _) => {
                return Err(Error::field(
                    &kt.ldr.file,
                    format!("{field}.behavior"),
                    if r.behavior == Behavior::Merge {
                        "merge"
                    } else {
                        "replace"
                    },
                    format!("there is no {id} to merge with or replace"),
                ));
            }
            ([i], Behavior::Merge | Behavior::Replace) => {
                let old = acc.res[*i].clone();
                let mut labels = old.string_map("labels");
                labels.extend(r.string_map("labels"));
                r.set_string_map("labels", labels);
                let mut annotations = old.string_map("annotations");
                annotations.extend(r.string_map("annotations"));
                r.set_string_map("annotations", annotations);
                r.set_name(old.name());
                if old.namespace().is_empty() {
                    if let Some(Value::Object(m)) = r.obj.get_mut("metadata") {
                        m.remove("namespace");
                    }
                } else {
                    r.set_namespace(old.namespace());
                }
                if r.behavior == Behavior::Merge {
                    for key in ["data", "binaryData"] {
                        let mut merged = old
                            .obj
                            .get(key)
                            .and_then(Value::as_object)
                            .cloned()
                            .unwrap_or_default();
                        if let Some(Value::Object(new)) = r.obj.get(key) {
                            merged.extend(new.clone());
                        }
                        if !merged.is_empty() {
                            r.obj.insert(key.into(), Value::Object(merged));
                        }
                    }
                    r.origin = old.origin.clone();
                }
                r.prev_ids = old.prev_ids;
                r.prefixes = old.prefixes;
                r.suffixes = old.suffixes;
                r.behavior = Behavior::Create;
                acc.res[*i] = r;
            }
            ([_], Behavior::Create) => {
                return Err(Error::field(
                    &kt.ldr.file,
                    field,
                    args.name.as_str(),
                    format!("{id} already exists; set `behavior: merge` or `behavior: replace`"),
                ));
            }
            (_, _) => {
                return Err(kt.err(format!("{field}: several objects are {id}")));
            }
        }
    }
    Ok(())
}

fn transform(kt: &Kt, acc: &mut Acc) -> Result<(), Error> {
    let k = &kt.k;
    let tc = acc.config.clone();
    let wrap = |field: &str| {
        let field = field.to_owned();
        move |m: String| kt.err(format!("{field}: {m}"))
    };
    if let Some(list) = &k.patches_strategic_merge {
        for (i, entry) in list.iter().enumerate() {
            let field = format!("patchesStrategicMerge[{i}]");
            let is_file = !entry.contains('\n') && kt.ldr.dir.join(entry.trim()).is_file();
            let text = if is_file {
                kt.ldr.read_text(&field, entry.trim())?
            } else {
                entry.clone()
            };
            let patch = Patch {
                patch: Some(text),
                ..Patch::default()
            };
            apply_patch(kt, acc, &field, &patch)?;
        }
    }
    for (i, patch) in k.patches.iter().enumerate() {
        apply_patch(kt, acc, &format!("patches[{i}]"), patch)?;
    }
    if let Some(ns) = k.namespace.as_deref().filter(|n| !n.is_empty()) {
        transformers::namespace(&mut acc.res, ns, &tc.namespace).map_err(wrap("namespace"))?;
    }
    if let Some(p) = k.name_prefix.as_deref().filter(|n| !n.is_empty()) {
        transformers::affix(&mut acc.res, p, false, &tc.name_prefix).map_err(wrap("namePrefix"))?;
    }
    if let Some(s) = k.name_suffix.as_deref().filter(|n| !n.is_empty()) {
        transformers::affix(&mut acc.res, s, true, &tc.name_suffix).map_err(wrap("nameSuffix"))?;
    }
    for (i, label) in k.labels.iter().enumerate() {
        let mut specs: Vec<FieldSpec> = label.fields.clone();
        let mut add = |from: &[FieldSpec]| {
            for fs in from {
                if !specs.contains(fs) {
                    specs.push(fs.clone());
                }
            }
        };
        add(&tc.labels);
        if label.include_selectors {
            add(&tc.common_labels);
        } else {
            if label.include_templates {
                add(&tc.template_labels);
            }
            add(&[FieldSpec {
                path: "metadata/labels".into(),
                create: true,
                ..FieldSpec::default()
            }]);
        }
        transformers::add_map_entries(&mut acc.res, &label.pairs, &specs)
            .map_err(wrap(&format!("labels[{i}]")))?;
    }
    if let Some(labels) = &k.common_labels {
        transformers::add_map_entries(&mut acc.res, labels, &tc.common_labels)
            .map_err(wrap("commonLabels"))?;
    }
    if let Some(annotations) = &k.common_annotations {
        transformers::add_map_entries(&mut acc.res, annotations, &tc.common_annotations)
            .map_err(wrap("commonAnnotations"))?;
    }
    if let Some(list) = &k.patches_json6902 {
        for (i, patch) in list.iter().enumerate() {
            apply_patch(kt, acc, &format!("patchesJson6902[{i}]"), patch)?;
        }
    }
    for (i, replica) in k.replicas.iter().enumerate() {
        transformers::replicas(&mut acc.res, replica, &tc.replicas)
            .map_err(wrap(&format!("replicas[{i}]")))?;
    }
    for (i, image) in k.images.iter().enumerate() {
        transformers::images(&mut acc.res, image, &tc.images)
            .map_err(wrap(&format!("images[{i}]")))?;
    }
    for (i, entry) in k.replacements.iter().enumerate() {
        let field = format!("replacements[{i}]");
        let list: Vec<Value> = match entry.get("path").and_then(Value::as_str) {
            Some(path) => {
                let text = kt.ldr.read_text(&format!("{field}.path"), path)?;
                let docs = yaml::parse_documents(&text, yaml::Schema::Yaml12)
                    .map_err(|e| Error::field(&kt.ldr.file, &field, path, e.to_string()))?;
                docs.into_iter()
                    .flat_map(|d| match d.value {
                        Value::Array(items) => items,
                        Value::Null => Vec::new(),
                        v => vec![v],
                    })
                    .collect()
            }
            None => vec![entry.clone()],
        };
        for r in list {
            let r: replacements::Replacement = serde_json::from_value(r)
                .map_err(|e| kt.err(format!("{field}: invalid replacement: {e}")))?;
            replacements::apply(&mut acc.res, &r).map_err(wrap(&field))?;
        }
    }
    if !k.transformers.is_empty() {
        return Err(kt.err("transformers: transformer plugins are not supported yet by gitops"));
    }
    if !k.generators.is_empty() {
        return Err(kt.err("generators: generator plugins are not supported yet by gitops"));
    }
    if k.helm_charts.is_some() || k.helm_chart_inflation_generator.is_some() {
        return Err(kt.err(
            "helmCharts: Helm charts inside kustomizations are not supported; use a HelmRelease",
        ));
    }
    Ok(())
}

fn apply_patch(kt: &Kt, acc: &mut Acc, field: &str, patch: &Patch) -> Result<(), Error> {
    let text = match (&patch.patch, &patch.path) {
        (Some(p), None) if !p.trim().is_empty() => p.clone(),
        (None, Some(path)) => kt.ldr.read_text(&format!("{field}.path"), path)?,
        (Some(_), Some(_)) => {
            return Err(Error::field(
                &kt.ldr.file,
                field,
                "",
                "set either `patch` or `path`, not both",
            ));
        }
        _ => {
            return Err(Error::field(
                &kt.ldr.file,
                field,
                "",
                "set one of `patch` and `path`",
            ));
        }
    };
    let shown = patch.path.clone().unwrap_or_else(|| first_line(&text));
    let parsed =
        patches::parse(&text).map_err(|m| Error::field(&kt.ldr.file, field, shown.as_str(), m))?;
    let options = patch.options.unwrap_or_default();
    let matcher = match &patch.target {
        Some(t) => Some(
            Matcher::new(t)
                .map_err(|m| Error::field(&kt.ldr.file, format!("{field}.target"), "", m))?,
        ),
        None => None,
    };
    match parsed {
        Parsed::Json(ops) => {
            let Some(matcher) = matcher else {
                return Err(Error::field(
                    &kt.ldr.file,
                    field,
                    shown.as_str(),
                    "a JSON 6902 patch needs a `target`",
                ));
            };
            for r in acc.res.iter_mut().filter(|r| matcher.matches(r)) {
                patches::apply_json(r, &ops)
                    .map_err(|m| Error::field(&kt.ldr.file, field, shown.as_str(), m))?;
            }
        }
        Parsed::Strategic(docs) => {
            if let Some(matcher) = matcher {
                if docs.len() > 1 {
                    return Err(Error::field(
                        &kt.ldr.file,
                        field,
                        shown.as_str(),
                        "a patch with a `target` must hold one strategic merge patch, not several",
                    ));
                }
                let Some(doc) = docs.first() else {
                    return Ok(());
                };
                let openapi = kt.openapi.as_ref();
                acc.res.retain_mut(|r| {
                    !matcher.matches(r) || patches::apply_strategic(r, doc, options, openapi)
                });
            } else {
                for doc in &docs {
                    let Value::Object(map) = doc else { continue };
                    let id = Resource::new(map.clone(), Origin::default()).cur_id();
                    let found: Vec<usize> = acc
                        .res
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| r.any_id(|rid| rid.equals(&id)))
                        .map(|(i, _)| i)
                        .collect();
                    let i = match found.as_slice() {
                        [i] => *i,
                        [] => {
                            return Err(Error::field(
                                &kt.ldr.file,
                                field,
                                shown.as_str(),
                                format!("no object matches the strategic merge patch for {id}"),
                            ));
                        }
                        _ => {
                            return Err(Error::field(
                                &kt.ldr.file,
                                field,
                                shown.as_str(),
                                format!("several objects match the strategic merge patch for {id}"),
                            ));
                        }
                    };
                    if !patches::apply_strategic(&mut acc.res[i], doc, options, kt.openapi.as_ref())
                    {
                        acc.res.remove(i);
                    }
                }
            }
        }
    }
    Ok(())
}

fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    format!("{line}…")
}
