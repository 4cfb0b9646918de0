//! The built-in field transformers: namespace, name prefix and suffix, labels, annotations,
//! images and replicas, each writing where its field specs say.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::{Map, Value};

use super::fieldspec::{FieldSpec, visit_path};
use super::kustfile::{Image, Replica};
use super::resource::{Gvk, Resource};

type Result<T> = std::result::Result<T, String>;

/// Sets `namespace` on every namespaced object and where the namespace field specs point
/// (kustomize's NamespaceTransformer with `setRoleBindingSubjects: defaultOnly`).
pub(super) fn namespace(resources: &mut [Resource], ns: &str, specs: &[FieldSpec]) -> Result<()> {
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        let api_version = r
            .obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        r.store_previous_id();
        if !gvk.is_cluster_scoped() {
            r.set_namespace(ns);
        }
        if (gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
            && let Some(Value::Array(subjects)) = r.obj.get_mut("subjects")
        {
            for s in subjects.iter_mut() {
                if s.get("name").and_then(Value::as_str) == Some("default")
                    && let Some(m) = s.as_object_mut()
                {
                    m.insert("namespace".into(), Value::String(ns.to_owned()));
                }
            }
        }
        for fs in specs {
            if fs.path == "metadata/namespace"
                || (fs.path == "metadata/name" && api_version != "v1")
                || ((gvk.kind == "RoleBinding" || gvk.kind == "ClusterRoleBinding")
                    && fs.path == "subjects/namespace")
                || !fs.selects(&gvk)
            {
                continue;
            }
            set_scalar(r, fs, ns)?;
        }
    }
    let mut seen = std::collections::HashSet::new();
    for r in resources.iter() {
        let id = r.cur_id();
        if !seen.insert((
            id.gvk.clone(),
            id.name.clone(),
            id.effective_namespace().to_owned(),
        )) {
            return Err(format!(
                "namespace transformation produces an id conflict: two objects are now {id}"
            ));
        }
    }
    Ok(())
}

fn set_scalar(r: &mut Resource, fs: &FieldSpec, value: &str) -> Result<()> {
    let leaf = || Value::String(String::new());
    let create: Option<&dyn Fn() -> Value> = if fs.create { Some(&leaf) } else { None };
    let mut root = Value::Object(std::mem::take(&mut r.obj));
    let res = visit_path(&mut root, &fs.segments(), create, &mut |node| {
        match node {
            Value::Array(_) | Value::Object(_) => {
                return Err(format!("field spec `{}` must point at a scalar", fs.path));
            }
            _ => *node = Value::String(value.to_owned()),
        }
        Ok(())
    });
    if let Value::Object(m) = root {
        r.obj = m;
    }
    res
}

/// Kinds whose names never get a prefix or suffix.
fn skip_prefix(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || gvk.kind == "Namespace"
        || (gvk.kind == "APIService" && gvk.group == "apiregistration.k8s.io")
}

/// Adds a name prefix (`suffix == false`) or suffix.
pub(super) fn affix(
    resources: &mut [Resource],
    affix: &str,
    suffix: bool,
    specs: &[FieldSpec],
) -> Result<()> {
    for r in resources.iter_mut() {
        let org = r.org_id();
        if skip_prefix(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !fs.selects(&org.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                if suffix {
                    r.suffixes.push(affix.to_owned());
                } else {
                    r.prefixes.push(affix.to_owned());
                }
                r.store_previous_id();
            }
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let res = visit_path(&mut root, &fs.segments(), None, &mut |node| {
                if let Value::String(s) = node {
                    *s = if suffix {
                        format!("{s}{affix}")
                    } else {
                        format!("{affix}{s}")
                    };
                }
                Ok(())
            });
            if let Value::Object(m) = root {
                r.obj = m;
            }
            res?;
        }
    }
    Ok(())
}

/// Adds `pairs` to the maps at `specs` (labels or annotations).
pub(super) fn add_map_entries(
    resources: &mut [Resource],
    pairs: &BTreeMap<String, String>,
    specs: &[FieldSpec],
) -> Result<()> {
    if pairs.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        for fs in specs {
            if !fs.selects(&gvk) {
                continue;
            }
            let leaf = || Value::Object(Map::new());
            let create: Option<&dyn Fn() -> Value> = if fs.create { Some(&leaf) } else { None };
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let res = visit_path(&mut root, &fs.segments(), create, &mut |node| {
                let Value::Object(map) = node else {
                    return Err(format!(
                        "field spec `{}` of {} must point at a map",
                        fs.path, gvk.kind
                    ));
                };
                for (k, v) in pairs {
                    map.insert(k.clone(), Value::String(v.clone()));
                }
                Ok(())
            });
            if let Value::Object(m) = root {
                r.obj = m;
            }
            res?;
        }
    }
    Ok(())
}

/// The images transformer: every `containers`/`initContainers` list anywhere (except in CRDs),
/// plus the image field specs.
pub(super) fn images(resources: &mut [Resource], image: &Image, specs: &[FieldSpec]) -> Result<()> {
    let pattern = Regex::new(&format!(
        "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
        image.name
    ))
    .ok();
    let Some(pattern) = pattern else {
        return Ok(());
    };
    let update = |s: &mut String| {
        if pattern.is_match(s) {
            *s = new_image(s, image);
        }
    };
    for r in resources.iter_mut() {
        let gvk = r.gvk();
        if gvk.kind != "CustomResourceDefinition" {
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            walk_containers(&mut root, &update);
            if let Value::Object(m) = root {
                r.obj = m;
            }
        }
        for fs in specs {
            if !fs.selects(&gvk) {
                continue;
            }
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let _ = visit_path(&mut root, &fs.segments(), None, &mut |node| {
                if let Value::String(s) = node {
                    update(s);
                }
                Ok(())
            });
            if let Value::Object(m) = root {
                r.obj = m;
            }
        }
    }
    Ok(())
}

fn walk_containers(value: &mut Value, update: &dyn Fn(&mut String)) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                walk_containers(v, update);
                if (k == "containers" || k == "initContainers")
                    && let Value::Array(items) = v
                {
                    for item in items {
                        if let Some(Value::String(s)) = item.get_mut("image") {
                            update(s);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk_containers(item, update);
            }
        }
        _ => {}
    }
}

/// Splits an image reference into name, tag and digest, as kustomize does.
fn split_image(image: &str) -> (&str, &str, &str) {
    let slash = image.find('/').filter(|&i| i > 0).unwrap_or(0);
    let search = &image[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    match (at, colon) {
        (None, None) => (image, "", ""),
        (Some(a), c) if c.is_none_or(|c| a < c) => {
            let a = a + slash;
            (&image[..a], "", &image[a + 1..])
        }
        (Some(a), Some(c)) => {
            let (a, c) = (a + slash, c + slash);
            (&image[..c], &image[c + 1..a], &image[a + 1..])
        }
        (None, Some(c)) => {
            let c = c + slash;
            (&image[..c], &image[c + 1..], "")
        }
        (Some(_), None) => (image, "", ""),
    }
}

fn new_image(current: &str, image: &Image) -> String {
    let (name, tag, digest) = split_image(current);
    let mut name = name.to_owned();
    let (mut tag, mut digest) = (tag.to_owned(), digest.to_owned());
    if !image.new_name.is_empty() {
        name.clone_from(&image.new_name);
    }
    if !image.new_tag.is_empty() && !image.digest.is_empty() {
        tag.clone_from(&image.new_tag);
        digest.clone_from(&image.digest);
    } else if !image.new_tag.is_empty() {
        tag.clone_from(&image.new_tag);
        digest.clear();
    } else if !image.digest.is_empty() {
        tag.clear();
        digest.clone_from(&image.digest);
    } else if !image.tag_suffix.is_empty() {
        tag.push_str(&image.tag_suffix);
        digest.clear();
    }
    if !tag.is_empty() {
        name = format!("{name}:{tag}");
    }
    if !digest.is_empty() {
        name = format!("{name}@{digest}");
    }
    name
}

/// Sets the replica count of the objects named `replica.name`.
pub(super) fn replicas(
    resources: &mut [Resource],
    replica: &Replica,
    specs: &[FieldSpec],
) -> Result<()> {
    for r in resources.iter_mut() {
        if !r.any_id(|id| id.name == replica.name) {
            continue;
        }
        let gvk = r.gvk();
        for fs in specs {
            if !fs.selects(&gvk) {
                continue;
            }
            let leaf = || Value::Null;
            let create: Option<&dyn Fn() -> Value> = if fs.create { Some(&leaf) } else { None };
            let mut root = Value::Object(std::mem::take(&mut r.obj));
            let res = visit_path(&mut root, &fs.segments(), create, &mut |node| {
                *node = Value::from(replica.count);
                Ok(())
            });
            if let Value::Object(m) = root {
                r.obj = m;
            }
            res?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_like_kustomize() {
        assert_eq!(split_image("nginx"), ("nginx", "", ""));
        assert_eq!(split_image("nginx:1.2"), ("nginx", "1.2", ""));
        assert_eq!(split_image("reg:5000/app:v1"), ("reg:5000/app", "v1", ""));
        assert_eq!(split_image("app@sha256:ab"), ("app", "", "sha256:ab"));
        assert_eq!(split_image("app:v1@sha256:ab"), ("app", "v1", "sha256:ab"));
    }

    #[test]
    fn new_image_replaces_parts() {
        let image = Image {
            name: "nginx".into(),
            new_name: "my/nginx".into(),
            new_tag: "2".into(),
            ..Image::default()
        };
        assert_eq!(new_image("nginx:1@sha256:x", &image), "my/nginx:2");
        let digest = Image {
            name: "nginx".into(),
            digest: "sha256:y".into(),
            ..Image::default()
        };
        assert_eq!(new_image("nginx:1", &digest), "nginx@sha256:y");
    }
}
