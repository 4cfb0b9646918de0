//! The kustomization file: its fields, validation, deprecation warnings and kustomize's fix-ups
//! of old fields (`bases` into `resources`, `env` into `envs`, `imageTags` into `images`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::Error;
use super::fieldspec::FieldSpec;

/// A kustomization file (`kind: Kustomization` or `kind: Component`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Kustomization {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[allow(dead_code)]
    pub metadata: Option<Value>,
    #[serde(rename = "openapi")]
    pub openapi: Option<BTreeMap<String, String>>,
    pub name_prefix: Option<String>,
    pub name_suffix: Option<String>,
    pub namespace: Option<String>,
    pub common_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub labels: Vec<Label>,
    pub common_annotations: Option<BTreeMap<String, String>>,
    pub patches_strategic_merge: Option<Vec<String>>,
    pub patches_json6902: Option<Vec<Patch>>,
    #[serde(default)]
    pub patches: Vec<Patch>,
    #[serde(default)]
    pub images: Vec<Image>,
    pub image_tags: Option<Vec<Image>>,
    #[serde(default)]
    pub replacements: Vec<Value>,
    #[serde(default)]
    pub replicas: Vec<Replica>,
    pub vars: Option<Vec<Var>>,
    pub sort_options: Option<SortOptions>,
    #[serde(default)]
    pub resources: Vec<String>,
    #[serde(default)]
    pub components: Vec<String>,
    #[serde(default)]
    pub crds: Vec<String>,
    pub bases: Option<Vec<String>>,
    #[serde(default)]
    pub config_map_generator: Vec<GeneratorArgs>,
    #[serde(default)]
    pub secret_generator: Vec<GeneratorArgs>,
    #[allow(dead_code)]
    pub helm_globals: Option<Value>,
    pub helm_charts: Option<Value>,
    pub helm_chart_inflation_generator: Option<Value>,
    pub generator_options: Option<GeneratorOptions>,
    #[serde(default)]
    pub configurations: Vec<String>,
    #[serde(default)]
    pub generators: Vec<String>,
    #[serde(default)]
    pub transformers: Vec<String>,
    #[serde(default)]
    #[allow(dead_code)]
    pub validators: Vec<String>,
    #[serde(default)]
    pub build_metadata: Vec<String>,
}

/// An entry of `labels`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Label {
    #[serde(default)]
    pub pairs: BTreeMap<String, String>,
    #[serde(default)]
    pub include_selectors: bool,
    #[serde(default)]
    pub include_templates: bool,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
}

/// An entry of `patches` or `patchesJson6902`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Patch {
    pub path: Option<String>,
    pub patch: Option<String>,
    pub target: Option<Selector>,
    pub options: Option<PatchOptions>,
}

/// Options of a patch.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct PatchOptions {
    #[serde(default)]
    pub allow_name_change: bool,
    #[serde(default)]
    pub allow_kind_change: bool,
}

/// Which objects a patch or replacement applies to.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Selector {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub label_selector: String,
    #[serde(default)]
    pub annotation_selector: String,
}

/// An entry of `images`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct Image {
    pub name: String,
    #[serde(default)]
    pub new_name: String,
    #[serde(default)]
    pub new_tag: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub tag_suffix: String,
}

/// An entry of `replicas`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Replica {
    pub name: String,
    pub count: i64,
}

/// A `vars` entry.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(super) struct Var {
    pub name: String,
    pub objref: VarTarget,
    #[serde(default)]
    pub fieldref: FieldRef,
}

/// The object a var reads.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct VarTarget {
    #[serde(default)]
    pub api_version: String,
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
}

/// The field a var reads.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(super) struct FieldRef {
    #[serde(default = "default_fieldpath")]
    pub fieldpath: String,
}

impl Default for FieldRef {
    fn default() -> Self {
        Self {
            fieldpath: default_fieldpath(),
        }
    }
}

fn default_fieldpath() -> String {
    "metadata.name".to_owned()
}

/// `sortOptions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct SortOptions {
    pub order: Option<String>,
    pub legacy_sort_options: Option<LegacySortOptions>,
}

/// `sortOptions.legacySortOptions`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct LegacySortOptions {
    #[serde(default)]
    pub order_first: Vec<String>,
    #[serde(default)]
    pub order_last: Vec<String>,
}

/// A `configMapGenerator` or `secretGenerator` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct GeneratorArgs {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub behavior: String,
    #[serde(default)]
    pub literals: Vec<String>,
    #[serde(default)]
    pub files: Vec<String>,
    #[serde(default)]
    pub envs: Vec<String>,
    pub env: Option<String>,
    #[serde(rename = "type")]
    pub type_: Option<String>,
    pub options: Option<GeneratorOptions>,
}

/// `generatorOptions`, or the `options` of one generator.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct GeneratorOptions {
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub disable_name_suffix_hash: Option<bool>,
    pub immutable: Option<bool>,
}

impl GeneratorOptions {
    /// kustomize's `MergeGlobalOptionsIntoLocal`: local values win, maps are merged.
    pub(super) fn merged_with_global(local: Option<&Self>, global: Option<&Self>) -> Self {
        let mut out = global.cloned().unwrap_or_default();
        if let Some(local) = local {
            out.labels
                .extend(local.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
            out.annotations.extend(
                local
                    .annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            if local.disable_name_suffix_hash.is_some() {
                out.disable_name_suffix_hash = local.disable_name_suffix_hash;
            }
            if local.immutable.is_some() {
                out.immutable = local.immutable;
            }
        }
        out
    }
}

const EDIT_FIX: &str = "Run 'kustomize edit fix' to update your Kustomization automatically.";

impl Kustomization {
    /// Parses and validates a kustomization document read from `file`, returning it with
    /// kustomize's deprecation warnings.
    pub(super) fn from_value(value: &Value, file: &Path) -> Result<(Self, Vec<String>), Error> {
        let invalid = |message: String| Error::Invalid {
            file: file.to_owned(),
            message,
        };
        let mut map = match value {
            Value::Object(map) => map.clone(),
            Value::Null => return Err(invalid("kustomization.yaml is empty".into())),
            other => {
                return Err(invalid(format!(
                    "expected a mapping of kustomization fields, found {}",
                    gitops_core::type_name(other)
                )));
            }
        };
        // kustomize reads `field:` with no value as an absent field.
        map.retain(|_, v| !v.is_null());
        if map.keys().all(|k| k == "apiVersion" || k == "kind") {
            return Err(invalid("kustomization.yaml is empty".into()));
        }
        let mut k: Kustomization = serde_json::from_value(Value::Object(map))
            .map_err(|e| invalid(format!("invalid kustomization: {e}")))?;
        let warnings = k.deprecation_warnings();
        k.enforce_kind_and_version().map_err(invalid)?;
        k.fix();
        Ok((k, warnings))
    }

    fn deprecation_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut warn = |set: bool, old: &str, new: &str, fix: &str| {
            if set {
                out.push(format!(
                    "# Warning: '{old}' is deprecated. Please use '{new}' instead. {fix}"
                ));
            }
        };
        warn(self.bases.is_some(), "bases", "resources", EDIT_FIX);
        warn(
            self.common_labels.is_some(),
            "commonLabels",
            "labels",
            EDIT_FIX,
        );
        warn(self.image_tags.is_some(), "imageTags", "images", EDIT_FIX);
        warn(
            self.patches_json6902.is_some(),
            "patchesJson6902",
            "patches",
            EDIT_FIX,
        );
        warn(
            self.patches_strategic_merge.is_some(),
            "patchesStrategicMerge",
            "patches",
            EDIT_FIX,
        );
        warn(
            self.vars.is_some(),
            "vars",
            "replacements",
            &format!("[EXPERIMENTAL] {EDIT_FIX}"),
        );
        warn(
            self.helm_chart_inflation_generator.is_some(),
            "helmChartInflationGenerator",
            "helmCharts",
            EDIT_FIX,
        );
        out
    }

    fn enforce_kind_and_version(&self) -> Result<(), String> {
        let kind = self.kind.as_deref().unwrap_or("Kustomization");
        if kind != "Kustomization" && kind != "Component" {
            return Err(format!(
                "kind: expected Kustomization or Component, found `{kind}`"
            ));
        }
        let required = if kind == "Component" {
            "kustomize.config.k8s.io/v1alpha1"
        } else {
            "kustomize.config.k8s.io/v1beta1"
        };
        match self.api_version.as_deref() {
            Some(v) if v != required => Err(format!(
                "apiVersion: expected `{required}` for {kind}, found `{v}`"
            )),
            _ => Ok(()),
        }
    }

    fn fix(&mut self) {
        if let Some(bases) = self.bases.take() {
            self.resources.extend(bases);
        }
        if let Some(tags) = self.image_tags.take() {
            self.images.extend(tags);
        }
        for g in self
            .config_map_generator
            .iter_mut()
            .chain(self.secret_generator.iter_mut())
        {
            if let Some(env) = g.env.take() {
                g.envs.push(env);
            }
        }
    }

    pub(super) fn is_component(&self) -> bool {
        self.kind.as_deref() == Some("Component")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(Kustomization, Vec<String>), Error> {
        let value =
            gitops_core::yaml::parse_value(text, gitops_core::yaml::Schema::Yaml12).unwrap();
        Kustomization::from_value(&value, Path::new("k/kustomization.yaml"))
    }

    #[test]
    fn unknown_fields_are_named() {
        let err = parse("resources: [a.yaml]\nresourcez: [b]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("k/kustomization.yaml"), "{err}");
        assert!(err.contains("resourcez"), "{err}");
    }

    #[test]
    fn bases_become_resources_with_a_warning() {
        let (k, warnings) = parse("resources: [a]\nbases: [b]\n").unwrap();
        assert_eq!(k.resources, ["a", "b"]);
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("'bases' is deprecated"));
    }

    #[test]
    fn empty_and_wrong_kind_are_refused() {
        assert!(
            parse("kind: Kustomization\n")
                .unwrap_err()
                .to_string()
                .contains("empty")
        );
        let err = parse("kind: Deployment\nresources: [a]\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("kind"), "{err}");
    }
}
