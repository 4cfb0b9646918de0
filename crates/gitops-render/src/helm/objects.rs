//! The objects templates see besides values: `.Files` (with `Get`, `GetBytes`, `Glob`, `Lines`,
//! `AsConfig`, `AsSecrets`), `.Capabilities` (`KubeVersion`, `APIVersions.Has`,
//! `HelmVersion`) and `.Chart` (Helm's metadata fields).

use std::collections::BTreeMap;
use std::rc::Rc;

use super::chart::Chart;
use super::funcs::{b64encode, to_yaml_text};
use super::ignore::glob_match;
use crate::gotemplate::{Object, Value, want_str};

/// `.Files`: the chart's non-template files.
#[derive(Debug)]
pub(crate) struct Files {
    pub(crate) files: Rc<Vec<(String, Vec<u8>)>>,
}

impl Files {
    fn get(&self, name: &str) -> Option<&Vec<u8>> {
        self.files.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }
}

fn text(d: &[u8]) -> String {
    String::from_utf8_lossy(d).into_owned()
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "files.Files"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" | "AsSecrets" => self.call(name, &[]).and_then(Result::ok),
            _ => None,
        }
    }

    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let one = || -> Result<&str, String> {
            if args.len() != 1 {
                return Err(format!(
                    "wrong number of args for {name}: want 1 got {}",
                    args.len()
                ));
            }
            want_str(&args[0])
        };
        Some(match name {
            "Get" => one().map(|n| Value::str(self.get(n).map(|d| text(d)).unwrap_or_default())),
            "GetBytes" => {
                one().map(|n| Value::str(self.get(n).map(|d| text(d)).unwrap_or_default()))
            }
            "Lines" => one().map(|n| {
                let t = self.get(n).map(|d| text(d)).unwrap_or_default();
                if t.is_empty() {
                    return Value::list(Vec::new());
                }
                let t = t.strip_suffix('\n').unwrap_or(&t);
                Value::list(t.split('\n').map(Value::from).collect())
            }),
            "Glob" => one().map(|pattern| {
                let files: Vec<_> = self
                    .files
                    .iter()
                    .filter(|(n, _)| glob_double_star(pattern, n))
                    .cloned()
                    .collect();
                Value::Object(Rc::new(Files {
                    files: Rc::new(files),
                }))
            }),
            "AsConfig" | "AsSecrets" => {
                let mut m = BTreeMap::new();
                for (n, d) in self.files.iter() {
                    let base = n.rsplit('/').next().unwrap_or(n).to_owned();
                    let v = if name == "AsConfig" {
                        text(d)
                    } else {
                        b64encode(d)
                    };
                    m.insert(base, Value::str(v));
                }
                if m.is_empty() {
                    return Some(Ok(Value::str("")));
                }
                Ok(Value::str(to_yaml_text(&Value::map(m))))
            }
            _ => return None,
        })
    }

    fn len(&self) -> Option<usize> {
        Some(self.files.len())
    }

    fn to_value(&self) -> Value {
        Value::map(
            self.files
                .iter()
                .map(|(n, d)| (n.clone(), Value::str(b64encode(d))))
                .collect(),
        )
    }
}

/// gobwas/glob with `/` as separator: `*` stays within a segment, `**` crosses them.
fn glob_double_star(pattern: &str, name: &str) -> bool {
    if !pattern.contains("**") {
        return glob_match(pattern, name);
    }
    let (head, tail) = pattern.split_once("**").unwrap_or((pattern, ""));
    if !name.starts_with(head) {
        return false;
    }
    let rest = &name[head.len()..];
    (0..=rest.len())
        .filter(|&i| rest.is_char_boundary(i))
        .any(|i| glob_double_star(tail, &rest[i..]))
}

/// `.Capabilities`.
#[derive(Debug)]
pub(crate) struct Capabilities {
    pub(crate) kube_version: String,
    pub(crate) api_versions: Vec<String>,
}

#[derive(Debug)]
struct KubeVersion(String);

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }
    fn field(&self, name: &str) -> Option<Value> {
        let v = self.0.trim_start_matches('v');
        let mut parts = v.split('.');
        let major = parts.next().unwrap_or("").to_owned();
        let minor = parts.next().unwrap_or("").to_owned();
        match name {
            "Version" | "GitVersion" | "String" => Some(Value::str(self.0.as_str())),
            "Major" => Some(Value::str(major)),
            "Minor" => Some(Value::str(minor)),
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        let mut m = BTreeMap::new();
        for k in ["Version", "Major", "Minor"] {
            if let Some(v) = self.field(k) {
                m.insert(k.to_owned(), v);
            }
        }
        Value::map(m)
    }
    fn display(&self) -> String {
        self.0.clone()
    }
}

#[derive(Debug)]
struct VersionSet(Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "common.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        (name == "Has").then(|| {
            if args.len() != 1 {
                return Err(format!(
                    "wrong number of args for Has: want 1 got {}",
                    args.len()
                ));
            }
            let v = want_str(&args[0])?;
            Ok(Value::Bool(self.0.iter().any(|x| x == v)))
        })
    }
    fn to_value(&self) -> Value {
        Value::list(self.0.iter().map(|s| Value::str(s.as_str())).collect())
    }
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Rc::new(KubeVersion(
                self.kube_version.clone(),
            )))),
            "APIVersions" => Some(Value::Object(Rc::new(VersionSet(
                self.api_versions.clone(),
            )))),
            "HelmVersion" => {
                let mut m = BTreeMap::new();
                m.insert("Version".to_owned(), Value::from("v4.2"));
                m.insert("GitCommit".to_owned(), Value::from(""));
                m.insert("GitTreeState".to_owned(), Value::from(""));
                m.insert("GoVersion".to_owned(), Value::from("go1.26.6"));
                Some(Value::map(m))
            }
            _ => None,
        }
    }
    fn to_value(&self) -> Value {
        let mut m = BTreeMap::new();
        for k in ["KubeVersion", "APIVersions", "HelmVersion"] {
            if let Some(v) = self.field(k) {
                m.insert(k.to_owned(), v);
            }
        }
        Value::map(m)
    }
}

/// The API versions Helm v4.2 reports without a cluster.
pub(crate) const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha2",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

/// The Kubernetes version Helm v4.2 reports without a cluster.
pub(crate) const DEFAULT_KUBE_VERSION: &str = "v1.36.0";

/// `.Chart`: the metadata with Helm's field names, and `IsRoot`.
pub(crate) fn chart_value(chart: &Chart, is_root: bool) -> Value {
    let md = &chart.metadata;
    let s = |k: &str| {
        Value::str(
            md.get(k)
                .and_then(|v| {
                    v.as_str()
                        .map(str::to_owned)
                        .or_else(|| (!v.is_null()).then(|| v.to_string()))
                })
                .unwrap_or_default(),
        )
    };
    let list = |k: &str| match md.get(k) {
        Some(v @ serde_json::Value::Array(_)) => Value::from_json(v, false),
        _ => Value::list(Vec::new()),
    };
    let mut m = BTreeMap::new();
    m.insert("APIVersion".to_owned(), s("apiVersion"));
    m.insert(
        "Annotations".to_owned(),
        md.get("annotations")
            .map_or(Value::Nil, |v| Value::from_json(v, false)),
    );
    m.insert("AppVersion".to_owned(), s("appVersion"));
    m.insert("Condition".to_owned(), s("condition"));
    m.insert(
        "Dependencies".to_owned(),
        Value::list(
            chart
                .dependencies
                .iter()
                .map(|d| Value::from_json(&d.raw, false))
                .collect(),
        ),
    );
    m.insert(
        "Deprecated".to_owned(),
        Value::Bool(
            md.get("deprecated")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        ),
    );
    m.insert("Description".to_owned(), s("description"));
    m.insert("Home".to_owned(), s("home"));
    m.insert("Icon".to_owned(), s("icon"));
    m.insert("IsRoot".to_owned(), Value::Bool(is_root));
    m.insert("Keywords".to_owned(), list("keywords"));
    m.insert("KubeVersion".to_owned(), s("kubeVersion"));
    m.insert("Maintainers".to_owned(), list("maintainers"));
    m.insert("Name".to_owned(), Value::str(chart.name.as_str()));
    m.insert("Sources".to_owned(), list("sources"));
    m.insert("Tags".to_owned(), s("tags"));
    m.insert("Type".to_owned(), s("type"));
    m.insert("Version".to_owned(), s("version"));
    Value::map(m)
}
