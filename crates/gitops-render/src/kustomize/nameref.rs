//! Name references: after prefixes, suffixes and hashes changed names, every field that names
//! another object (the `nameReference` field specs) is rewritten to that object's new name,
//! choosing among candidates as kustomize does (previous names, kind, namespace, and the
//! prefixes and suffixes the referrer and the candidate share).

use std::collections::HashMap;

use serde_json::Value;

use super::fieldspec::{NameBackRef, visit_path};
use super::resource::{Gvk, ResId, Resource};

/// Rewrites the name references of `resources`.
pub(super) fn fix(resources: &mut [Resource], backrefs: &[NameBackRef]) -> Result<(), String> {
    // Index: previous name -> resources that once had it.
    let mut by_prev_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, r) in resources.iter().enumerate() {
        let mut names: Vec<&str> = r.prev_ids.iter().map(|id| id.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for n in names {
            by_prev_name.entry(n.to_owned()).or_default().push(i);
        }
    }
    if by_prev_name.is_empty() {
        return Ok(());
    }
    let org_gvks: Vec<Gvk> = resources.iter().map(|r| r.org_id().gvk).collect();
    for backref in backrefs {
        let target = backref.gvk();
        for spec in &backref.field_specs {
            let spec_gvk = spec.gvk();
            let segments = spec.segments();
            for i in 0..resources.len() {
                if !org_gvks[i].is_selected_by(&spec_gvk) {
                    continue;
                }
                let mut obj = Value::Object(std::mem::take(&mut resources[i].obj));
                let referrer = Referrer {
                    index: i,
                    obj: &obj,
                };
                let referrer_info = referrer.info(resources);
                let ctx = Ctx {
                    resources,
                    by_prev_name: &by_prev_name,
                    target: &target,
                    referrer: &referrer_info,
                    role_ref: spec.path.ends_with("roleRef/name"),
                };
                let res = visit_path(&mut obj, &segments, None, &mut |node| ctx.set(node));
                if let Value::Object(m) = obj {
                    resources[i].obj = m;
                }
                res?;
            }
        }
    }
    Ok(())
}

struct Referrer<'a> {
    index: usize,
    obj: &'a Value,
}

/// What the sieves need to know about the referrer (whose object is taken out while its
/// fields are rewritten).
struct ReferrerInfo {
    cur: ResId,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    role_ref_gvk: Option<Gvk>,
    subject_namespaces: Vec<String>,
}

impl Referrer<'_> {
    fn info(&self, resources: &[Resource]) -> ReferrerInfo {
        let s = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let meta = self.obj.get("metadata").cloned().unwrap_or(Value::Null);
        let cur = ResId {
            gvk: Gvk::from_api_version(&s(self.obj, "apiVersion"), &s(self.obj, "kind")),
            name: s(&meta, "name"),
            namespace: s(&meta, "namespace"),
        };
        let role_ref_gvk = self.obj.get("roleRef").map(|rr| Gvk {
            group: s(rr, "apiGroup"),
            version: String::new(),
            kind: s(rr, "kind"),
        });
        let mut subject_namespaces = Vec::new();
        if (cur.gvk.kind == "RoleBinding" || cur.gvk.kind == "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = self.obj.get("subjects")
        {
            for sub in subjects {
                if s(sub, "kind") == "ServiceAccount" {
                    subject_namespaces.push(s(sub, "namespace"));
                }
            }
        }
        let r = &resources[self.index];
        ReferrerInfo {
            cur,
            prefixes: r.prefixes.clone(),
            suffixes: r.suffixes.clone(),
            role_ref_gvk,
            subject_namespaces,
        }
    }
}

struct Ctx<'a> {
    resources: &'a [Resource],
    by_prev_name: &'a HashMap<String, Vec<usize>>,
    target: &'a Gvk,
    referrer: &'a ReferrerInfo,
    role_ref: bool,
}

impl Ctx<'_> {
    fn set(&self, node: &mut Value) -> Result<(), String> {
        match node {
            Value::String(_) => self.set_scalar(node),
            Value::Object(_) => self.set_mapping(node),
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::String(_) => self.set_scalar(item)?,
                        Value::Object(_) => self.set_mapping(item)?,
                        _ => {}
                    }
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn set_scalar(&self, node: &mut Value) -> Result<(), String> {
        let Some(old) = node.as_str() else {
            return Ok(());
        };
        let candidates = self.candidates(old, None);
        if let Some(i) = self.select(candidates, false)? {
            *node = Value::String(self.resources[i].name().to_owned());
        }
        Ok(())
    }

    fn set_mapping(&self, node: &mut Value) -> Result<(), String> {
        let Some(old) = node.get("name").and_then(Value::as_str) else {
            return Ok(());
        };
        let ns = node
            .get("namespace")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let candidates = self.candidates(old, ns.as_deref());
        let Some(i) = self.select(candidates, true)? else {
            return Ok(());
        };
        let referral = &self.resources[i];
        let (name, namespace) = (referral.name().to_owned(), referral.namespace().to_owned());
        if let Some(m) = node.as_object_mut() {
            m.insert("name".into(), Value::String(name));
            if !namespace.is_empty() {
                m.insert("namespace".into(), Value::String(namespace));
            }
        }
        Ok(())
    }

    /// Candidates that once had the name `old`, could be referred to from the referrer's
    /// namespace, and are of the target kind.
    fn candidates(&self, old: &str, map_namespace: Option<&str>) -> Vec<usize> {
        let Some(list) = self.by_prev_name.get(old) else {
            return Vec::new();
        };
        let referrer = &self.referrer.cur;
        let mut out: Vec<usize> = list
            .iter()
            .copied()
            .filter(|&i| {
                let r = &self.resources[i];
                let id = r.cur_id();
                // SubsetThatCouldBeReferencedByResource
                referrer.gvk.is_cluster_scoped()
                    || id.gvk.is_cluster_scoped()
                    || id.ns_equals(referrer)
                    || self
                        .referrer
                        .subject_namespaces
                        .iter()
                        .any(|n| n == r.namespace())
            })
            .collect();
        if let Some(ns) = map_namespace {
            let by_org: Vec<usize> = out
                .iter()
                .copied()
                .filter(|&i| self.resources[i].org_id().namespace == ns)
                .collect();
            out = if by_org.is_empty() {
                out.into_iter()
                    .filter(|&i| self.resources[i].namespace() == ns)
                    .collect()
            } else {
                by_org
            };
        }
        out.retain(|&i| {
            let r = &self.resources[i];
            r.prev_ids.iter().any(|id| id.name == old)
                && r.prev_ids
                    .iter()
                    .any(|id| id.gvk.is_selected_by(self.target))
                && (!self.role_ref
                    || self
                        .referrer
                        .role_ref_gvk
                        .as_ref()
                        .is_none_or(|g| r.prev_ids.iter().any(|id| id.gvk.is_selected_by(g))))
                && (referrer.gvk.is_cluster_scoped()
                    || r.cur_id().gvk.is_cluster_scoped()
                    || r.kind() == "ServiceAccount"
                    || r.cur_id().ns_equals(referrer))
        });
        out
    }

    fn select(&self, mut c: Vec<usize>, with_namespace: bool) -> Result<Option<usize>, String> {
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        let affixes = |i: usize, allow_empty: bool| {
            let r = &self.resources[i];
            let me = Resource {
                prefixes: self.referrer.prefixes.clone(),
                suffixes: self.referrer.suffixes.clone(),
                ..Resource::new(serde_json::Map::new(), gitops_core::Origin::default())
            };
            r.prefixes_suffixes_equal(&me, allow_empty)
        };
        c.retain(|&i| affixes(i, true));
        if c.len() > 1 {
            c.retain(|&i| affixes(i, false));
        }
        match c.len() {
            0 => Ok(None),
            1 => Ok(Some(c[0])),
            _ => {
                let first = &self.resources[c[0]];
                let same = c.iter().all(|&i| {
                    let r = &self.resources[i];
                    r.name() == first.name()
                        && (!with_namespace || r.namespace() == first.namespace())
                });
                if same {
                    Ok(Some(c[0]))
                } else {
                    let ids: Vec<String> = c
                        .iter()
                        .map(|&i| self.resources[i].cur_id().to_string())
                        .collect();
                    Err(format!(
                        "{} refers to a name that several objects had: {}",
                        self.referrer.cur,
                        ids.join(", ")
                    ))
                }
            }
        }
    }
}
