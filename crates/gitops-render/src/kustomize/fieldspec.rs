//! Field specs (`{group, version, kind, path, create}`: where a transformer writes) and the
//! transformer configuration: kustomize's built-in defaults (data file `data/default_config.yaml`)
//! merged with `configurations:` files and CRD-derived specs.

use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::{Map, Value};

use super::resource::Gvk;

/// Where in which kinds of object a transformer reads or writes.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(super) struct FieldSpec {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub create: bool,
}

impl FieldSpec {
    pub(super) fn gvk(&self) -> Gvk {
        Gvk {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
        }
    }

    pub(super) fn selects(&self, gvk: &Gvk) -> bool {
        gvk.is_selected_by(&self.gvk())
    }

    /// The path split at `/`, where `\/` is a literal slash; a trailing `[]` (list marker) is
    /// dropped since lists are traversed wherever they are met.
    pub(super) fn segments(&self) -> Vec<String> {
        split_path(&self.path)
    }
}

pub(super) fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = path.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'/') => {
                cur.push('/');
                chars.next();
            }
            '/' => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.strip_suffix("[]").map(str::to_owned).unwrap_or(s))
        .filter(|s| !s.is_empty())
        .collect()
}

/// `nameReference` entry: objects of kind `gvk` are referred to by name at `field_specs`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(super) struct NameBackRef {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub field_specs: Vec<FieldSpec>,
}

impl NameBackRef {
    pub(super) fn gvk(&self) -> Gvk {
        Gvk {
            group: self.group.clone(),
            version: self.version.clone(),
            kind: self.kind.clone(),
        }
    }
}

/// The field specs of every built-in transformer.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub(super) struct TransformerConfig {
    #[serde(default)]
    pub name_prefix: Vec<FieldSpec>,
    #[serde(default)]
    pub name_suffix: Vec<FieldSpec>,
    #[serde(default)]
    pub namespace: Vec<FieldSpec>,
    #[serde(default)]
    pub common_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub template_labels: Vec<FieldSpec>,
    #[serde(default)]
    pub labels: Vec<FieldSpec>,
    #[serde(default)]
    pub common_annotations: Vec<FieldSpec>,
    #[serde(default)]
    pub var_reference: Vec<FieldSpec>,
    #[serde(default)]
    pub name_reference: Vec<NameBackRef>,
    #[serde(default)]
    pub images: Vec<FieldSpec>,
    #[serde(default)]
    pub replicas: Vec<FieldSpec>,
}

const DEFAULT_CONFIG: &str = include_str!("data/default_config.yaml");

impl TransformerConfig {
    /// kustomize's built-in configuration.
    ///
    /// Every kustomization of a build starts from them, and most keep them as they are: they are
    /// parsed once per process and shared, so that a chain of thousands of overlays does not hold
    /// thousands of copies.
    pub(super) fn defaults() -> Arc<Self> {
        static DEFAULTS: OnceLock<Arc<TransformerConfig>> = OnceLock::new();
        DEFAULTS
            .get_or_init(|| {
                Arc::new(
                    gitops_core::yaml::parse_value(
                        DEFAULT_CONFIG,
                        gitops_core::yaml::Schema::Yaml12,
                    )
                    .ok()
                    .and_then(|v| serde_json::from_value(v).ok())
                    .unwrap_or_default(),
                )
            })
            .clone()
    }

    /// Parses a `configurations:` file.
    pub(super) fn from_value(value: Value) -> Result<Self, String> {
        if value.is_null() {
            return Ok(Self::default());
        }
        serde_json::from_value(value).map_err(|e| e.to_string())
    }

    /// Adds `other`'s specs that are not there yet (`config` is copied only if some are not).
    pub(super) fn merge_into(config: &mut Arc<Self>, other: &Self) {
        if !config.starts_with(other) {
            Arc::make_mut(config).merge(other);
        }
    }

    /// Whether each list of `self` starts with the same list of `other` (then merging `other`
    /// adds nothing). Both nearly always start with the defaults, in the same order: this
    /// linear check spares the quadratic merge at every level of a deep overlay chain.
    fn starts_with(&self, other: &Self) -> bool {
        self.name_prefix.starts_with(&other.name_prefix)
            && self.name_suffix.starts_with(&other.name_suffix)
            && self.namespace.starts_with(&other.namespace)
            && self.common_labels.starts_with(&other.common_labels)
            && self.template_labels.starts_with(&other.template_labels)
            && self.labels.starts_with(&other.labels)
            && self
                .common_annotations
                .starts_with(&other.common_annotations)
            && self.var_reference.starts_with(&other.var_reference)
            && self.images.starts_with(&other.images)
            && self.replicas.starts_with(&other.replicas)
            && self.name_reference.starts_with(&other.name_reference)
    }

    /// Adds `other`'s specs that are not there yet.
    fn merge(&mut self, other: &Self) {
        fn add(into: &mut Vec<FieldSpec>, from: &[FieldSpec]) {
            for fs in from {
                if !into.contains(fs) {
                    into.push(fs.clone());
                }
            }
        }
        add(&mut self.name_prefix, &other.name_prefix);
        add(&mut self.name_suffix, &other.name_suffix);
        add(&mut self.namespace, &other.namespace);
        add(&mut self.common_labels, &other.common_labels);
        add(&mut self.template_labels, &other.template_labels);
        add(&mut self.labels, &other.labels);
        add(&mut self.common_annotations, &other.common_annotations);
        add(&mut self.var_reference, &other.var_reference);
        add(&mut self.images, &other.images);
        add(&mut self.replicas, &other.replicas);
        for br in &other.name_reference {
            match self.name_reference.iter_mut().find(|b| b.gvk() == br.gvk()) {
                Some(existing) => add(&mut existing.field_specs, &br.field_specs),
                None => self.name_reference.push(br.clone()),
            }
        }
    }
}

/// Calls `f` on every node at `segments` below `value`, descending into every element of the
/// lists met on the way. With `create`, missing maps on the way and the final field (made by
/// `leaf`) are created.
pub(super) fn visit_path(
    value: &mut Value,
    segments: &[String],
    create: Option<&dyn Fn() -> Value>,
    f: &mut dyn FnMut(&mut Value) -> Result<(), String>,
) -> Result<(), String> {
    let Some((first, rest)) = segments.split_first() else {
        return f(value);
    };
    match value {
        Value::Array(items) => {
            for item in items {
                visit_path(item, segments, create, f)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let present = map.get(first).is_some_and(|v| !v.is_null());
            if !present {
                let Some(make_leaf) = create else {
                    return Ok(());
                };
                let new = if rest.is_empty() {
                    make_leaf()
                } else {
                    Value::Object(Map::new())
                };
                map.insert(first.clone(), new);
            }
            let Some(child) = map.get_mut(first) else {
                return Ok(());
            };
            visit_path(child, rest, create, f)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn paths_split_with_escaped_slashes_and_list_markers() {
        assert_eq!(
            split_path("metadata/annotations/nginx.ingress.kubernetes.io\\/auth-secret"),
            [
                "metadata",
                "annotations",
                "nginx.ingress.kubernetes.io/auth-secret"
            ]
        );
        assert_eq!(
            split_path("spec/containers[]/image"),
            ["spec", "containers", "image"]
        );
    }

    #[test]
    fn defaults_load() {
        let c = TransformerConfig::defaults();
        assert!(c.common_labels.len() > 10);
        assert!(c.name_reference.iter().any(|b| b.kind == "ConfigMap"));
        assert_eq!(c.name_prefix.len(), 1);
    }

    #[test]
    fn visit_path_descends_lists_and_creates() {
        let mut v = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}]}});
        let mut seen = Vec::new();
        visit_path(
            &mut v,
            &split_path("spec/containers/image"),
            None,
            &mut |n| {
                seen.push(n.clone());
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(seen, [json!("a"), json!("b")]);
        let leaf = || json!({});
        visit_path(
            &mut v,
            &split_path("metadata/labels"),
            Some(&leaf),
            &mut |n| {
                n.as_object_mut().unwrap().insert("x".into(), json!("y"));
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(v["metadata"]["labels"]["x"], "y");
    }
}
