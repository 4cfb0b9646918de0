//! Patches: target selection (regex names, gvk, label and annotation selectors), strategic
//! merge patches (by target or by the patch's own id) and JSON 6902 patches.

use regex::Regex;
use serde_json::Value;

use super::kustfile::{PatchOptions, Selector};
use super::resource::{Gvk, Resource};
use super::smp::{self, Schema};

type Result<T> = std::result::Result<T, String>;

/// A compiled target selector.
pub(super) struct Matcher {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

fn anchored(pattern: &str) -> Result<Option<Regex>> {
    if pattern.is_empty() {
        return Ok(None);
    }
    Regex::new(&format!("^(?:{pattern})$"))
        .map(Some)
        .map_err(|e| format!("`{pattern}` is not a valid regular expression: {e}"))
}

impl Matcher {
    pub(super) fn new(s: &Selector) -> Result<Self> {
        Ok(Self {
            group: anchored(&s.group)?,
            version: anchored(&s.version)?,
            kind: anchored(&s.kind)?,
            name: anchored(&s.name)?,
            namespace: anchored(&s.namespace)?,
            labels: parse_selector(&s.label_selector)?,
            annotations: parse_selector(&s.annotation_selector)?,
        })
    }

    /// kustomize's `ResMap.Select`: names and namespaces match the original or the current
    /// value, the gvk the current one.
    pub(super) fn matches(&self, r: &Resource) -> bool {
        let is = |re: &Option<Regex>, s: &str| re.as_ref().is_none_or(|re| re.is_match(s));
        let org = r.org_id();
        let cur = r.cur_id();
        if !(is(&self.namespace, org.effective_namespace())
            || is(&self.namespace, cur.effective_namespace()))
        {
            return false;
        }
        if !(is(&self.name, &org.name) || is(&self.name, &cur.name)) {
            return false;
        }
        let Gvk {
            group,
            version,
            kind,
        } = &cur.gvk;
        if !(is(&self.group, group) && is(&self.version, version) && is(&self.kind, kind)) {
            return false;
        }
        let labels = r.string_map("labels");
        let annotations = r.string_map("annotations");
        self.labels.iter().all(|q| q.matches(&labels))
            && self.annotations.iter().all(|q| q.matches(&annotations))
    }
}

/// One requirement of a Kubernetes label selector.
enum Requirement {
    Exists(String),
    NotExists(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

impl Requirement {
    fn matches(&self, map: &serde_json::Map<String, Value>) -> bool {
        let get = |k: &str| map.get(k).and_then(Value::as_str);
        match self {
            Self::Exists(k) => map.contains_key(k),
            Self::NotExists(k) => !map.contains_key(k),
            Self::In(k, vs) => get(k).is_some_and(|v| vs.iter().any(|x| x == v)),
            Self::NotIn(k, vs) => get(k).is_none_or(|v| !vs.iter().any(|x| x == v)),
        }
    }
}

fn parse_selector(text: &str) -> Result<Vec<Requirement>> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in text.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    parts.push(cur);
    let mut out = Vec::new();
    for part in parts {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        let set = |s: &str| -> Vec<String> {
            s.trim()
                .trim_start_matches('(')
                .trim_end_matches(')')
                .split(',')
                .map(|v| v.trim().to_owned())
                .collect()
        };
        let req = if let Some(k) = p.strip_prefix('!') {
            Requirement::NotExists(k.trim().to_owned())
        } else if let Some((k, v)) = p.split_once("!=") {
            Requirement::NotIn(k.trim().to_owned(), vec![v.trim().to_owned()])
        } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
            Requirement::In(k.trim().to_owned(), vec![v.trim().to_owned()])
        } else if let Some((k, v)) = p.split_once(" notin ") {
            Requirement::NotIn(k.trim().to_owned(), set(v))
        } else if let Some((k, v)) = p.split_once(" in ") {
            Requirement::In(k.trim().to_owned(), set(v))
        } else if p.chars().all(|c| c.is_alphanumeric() || "-_./".contains(c)) {
            Requirement::Exists(p.to_owned())
        } else {
            return Err(format!("`{text}` is not a valid label selector"));
        };
        out.push(req);
    }
    Ok(out)
}

/// A parsed patch.
pub(super) enum Parsed {
    /// Strategic merge patches (one per YAML document).
    Strategic(Vec<Value>),
    /// A JSON 6902 patch.
    Json(json_patch::Patch),
}

/// Tells JSON 6902 patches (a list of operations) from strategic merge patches, as kustomize
/// does.
pub(super) fn parse(text: &str) -> Result<Parsed> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("the patch is empty".into());
    }
    let docs = gitops_core::yaml::parse_documents(trimmed, gitops_core::yaml::Schema::Yaml12)
        .map_err(|e| format!("the patch is not valid YAML or JSON: {e}"))?;
    let values: Vec<Value> = docs
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect();
    if let [list @ Value::Array(_)] = values.as_slice() {
        let patch: json_patch::Patch = serde_json::from_value(list.clone())
            .map_err(|e| format!("invalid JSON 6902 patch: {e}"))?;
        return Ok(Parsed::Json(patch));
    }
    for v in &values {
        if !v.is_object() {
            return Err(format!(
                "a strategic merge patch must be a mapping, found {}",
                gitops_core::type_name(v)
            ));
        }
    }
    Ok(Parsed::Strategic(values))
}

/// Applies a strategic merge patch to `r`, keeping its name, namespace and kind unless the
/// options allow changing them. Returns false when the patch deleted the object.
pub(super) fn apply_strategic(
    r: &mut Resource,
    patch: &Value,
    options: PatchOptions,
    openapi: Option<&Value>,
) -> bool {
    let (name, ns, kind) = (
        r.name().to_owned(),
        r.namespace().to_owned(),
        r.kind().to_owned(),
    );
    if options.allow_name_change || options.allow_kind_change {
        r.store_previous_id();
    }
    let mut patch = patch.clone();
    if let Some(p) = patch.as_object_mut() {
        // The target's gvk stands; the patch's apiVersion is not applied.
        if let Some(av) = r.obj.get("apiVersion") {
            p.insert("apiVersion".into(), av.clone());
        }
    }
    let schema = Schema::for_kind(&r.gvk(), openapi);
    let target = Value::Object(std::mem::take(&mut r.obj));
    match smp::apply(target, &patch, schema) {
        Some(Value::Object(m)) if !m.is_empty() => r.obj = m,
        _ => return false,
    }
    if !options.allow_kind_change {
        r.set_kind(&kind);
    }
    if !options.allow_name_change {
        r.set_name(&name);
    }
    if ns.is_empty() {
        if let Some(Value::Object(meta)) = r.obj.get_mut("metadata") {
            meta.remove("namespace");
        }
    } else {
        r.set_namespace(&ns);
    }
    true
}

/// Applies a JSON 6902 patch to `r`.
pub(super) fn apply_json(r: &mut Resource, patch: &json_patch::Patch) -> Result<()> {
    r.store_previous_id();
    let mut doc = Value::Object(std::mem::take(&mut r.obj));
    let res = json_patch::patch(&mut doc, patch);
    if let Value::Object(m) = doc {
        r.obj = m;
    }
    res.map_err(|e| format!("JSON patch failed on {}: {e}", r.cur_id()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn res(v: Value) -> Resource {
        Resource::new(
            v.as_object().unwrap().clone(),
            gitops_core::Origin::default(),
        )
    }

    #[test]
    fn selectors_match_regex_names_and_labels() {
        let r = res(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "helm-controller", "labels": {"tier": "web"}}}));
        let m = |s: Selector| Matcher::new(&s).unwrap().matches(&r);
        assert!(m(Selector {
            kind: "Deployment".into(),
            name: "(kustomize-controller|helm-controller)".into(),
            ..Selector::default()
        }));
        assert!(!m(Selector {
            name: "helm".into(),
            ..Selector::default()
        }));
        assert!(m(Selector {
            label_selector: "tier in (web,api),!missing".into(),
            ..Selector::default()
        }));
        assert!(!m(Selector {
            label_selector: "tier!=web".into(),
            ..Selector::default()
        }));
        assert!(m(Selector {
            group: "apps".into(),
            version: "v1".into(),
            ..Selector::default()
        }));
    }

    #[test]
    fn json_and_strategic_patches_are_told_apart() {
        assert!(matches!(
            parse("- op: add\n  path: /a\n  value: 1\n").unwrap(),
            Parsed::Json(_)
        ));
        assert!(
            matches!(parse("kind: A\nmetadata: {name: x}\n").unwrap(), Parsed::Strategic(v) if v.len() == 1)
        );
        assert!(parse("- op: bogus\n").is_err());
    }
}
