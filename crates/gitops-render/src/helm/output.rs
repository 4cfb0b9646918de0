//! What `helm template` does with rendered templates: split each file into documents, read
//! their kind and hook annotation, order them by Helm's install order (files sorted by path,
//! documents in file order, kinds by `InstallOrder`, unknown kinds last by name), hooks after
//! the rest, and print each with a `# Source:` comment.

use std::collections::BTreeMap;

use super::HelmError;

/// Helm's `InstallOrder`.
const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

/// One document of the output.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Template path (`chart/templates/x.yaml`).
    pub path: String,
    /// The document text as rendered (leading blank lines removed).
    pub content: String,
    /// Its kind (empty when it has none).
    pub kind: String,
    /// The value of its `helm.sh/hook` annotation, when it is a hook.
    pub hook: Option<String>,
}

/// Splits a rendered file at `---` lines. A document keeps its trailing line ends (Helm prints
/// them), loses its leading blank lines; documents of only whitespace are dropped.
fn split_documents(text: &str) -> Vec<String> {
    let mut docs = Vec::new();
    let mut current = String::new();
    for line in text.split_inclusive('\n') {
        // Helm splits at every `---` that starts a line (`(?:^|\s*\n)---\s*`), even when text
        // follows on the line (`---# comment`): that text begins the next document.
        if let Some(rest) = line.strip_prefix("---") {
            docs.push(std::mem::take(&mut current));
            let rest = rest.trim_start_matches([' ', '\t']);
            if !rest.trim().is_empty() {
                current.push_str(rest);
            }
        } else {
            current.push_str(line);
        }
    }
    docs.push(current);
    docs.into_iter()
        .filter(|d| !d.trim().is_empty())
        .map(|d| d.trim_start().to_owned())
        .collect()
}

fn head(path: &str, doc: &str) -> Result<(String, Option<String>), HelmError> {
    let v =
        gitops_core::yaml::parse_value(doc, gitops_core::yaml::Schema::Yaml11).map_err(|e| {
            HelmError::Yaml {
                message: format!(
                    "YAML parse error on {path}: error converting YAML to JSON: yaml: line {}: {}",
                    e.position.line, e.message
                ),
            }
        })?;
    let kind = v
        .get("kind")
        .and_then(|k| k.as_str())
        .unwrap_or_default()
        .to_owned();
    let hook = v
        .pointer("/metadata/annotations/helm.sh~1hook")
        .and_then(|h| h.as_str())
        .map(str::to_owned);
    Ok((kind, hook))
}

fn rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

fn sort_by_kind(list: &mut [Manifest]) {
    list.sort_by(|a, b| match (rank(&a.kind), rank(&b.kind)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.kind.cmp(&b.kind),
    });
}

/// Splits and orders rendered templates: (regular manifests, hooks). `NOTES.txt` files and
/// partials are left out.
///
/// # Errors
/// A document that is not valid YAML, naming its template.
pub fn sort_manifests(
    files: &BTreeMap<String, String>,
) -> Result<(Vec<Manifest>, Vec<Manifest>), HelmError> {
    let mut generic = Vec::new();
    let mut hooks = Vec::new();
    for (path, text) in files {
        let base = path.rsplit('/').next().unwrap_or(path);
        if base.starts_with('_') || path.ends_with("NOTES.txt") || text.trim().is_empty() {
            continue;
        }
        for doc in split_documents(text) {
            let (kind, hook) = head(path, &doc)?;
            let m = Manifest {
                path: path.clone(),
                content: doc,
                kind,
                hook,
            };
            if m.hook.is_some() {
                hooks.push(m);
            } else {
                generic.push(m);
            }
        }
    }
    sort_by_kind(&mut generic);
    sort_by_kind(&mut hooks);
    Ok((generic, hooks))
}

/// The text `helm template` prints for these manifests: CRDs and manifests as one trimmed
/// block, then each hook after a blank-line-free `---`, and a final newline.
#[must_use]
pub fn template_text(
    crds: &[(String, String)],
    manifests: &[Manifest],
    hooks: &[Manifest],
) -> String {
    let mut block = String::new();
    for (path, text) in crds {
        block.push_str(&format!("---\n# Source: {path}\n{text}\n"));
    }
    for m in manifests {
        block.push_str(&format!("---\n# Source: {}\n{}\n", m.path, m.content));
    }
    let mut out = block.trim().to_owned();
    for h in hooks {
        out.push_str(&format!("\n---\n# Source: {}\n{}", h.path, h.content));
    }
    out.push('\n');
    out
}

/// Whether a hook runs on `helm test` (Helm's `isTestHook`; `test-success` is the old name).
#[must_use]
pub fn is_test_hook(m: &Manifest) -> bool {
    m.hook.as_deref().is_some_and(|h| {
        h.split(',')
            .map(|e| e.trim().to_ascii_lowercase())
            .any(|e| e == "test" || e == "test-success")
    })
}

/// `helm template --show-only`: the documents of `text` whose `# Source:` path, below the
/// chart's directory, matches a pattern (Go's `filepath.Match`), pattern by pattern, each
/// document printed as `---\n<document>\n` (so a document's trailing newline gives a blank
/// line, as in Helm's output).
///
/// # Errors
/// [`HelmError::ShowOnly`] for a pattern that matches no document.
pub fn show_only(text: &str, patterns: &[String]) -> Result<String, HelmError> {
    let docs = split_output(text);
    let mut out = String::new();
    for pattern in patterns {
        let pattern = pattern.replace('\\', "/");
        let mut found = false;
        for doc in &docs {
            let Some(path) = source_path(doc) else {
                continue;
            };
            if super::ignore::glob_match(&pattern, path) {
                out.push_str("---\n");
                out.push_str(doc);
                out.push('\n');
                found = true;
            }
        }
        if !found {
            return Err(HelmError::ShowOnly { pattern });
        }
    }
    Ok(out)
}

/// The documents of printed output as Helm v4's `--show-only` sees them: the text after each
/// `---` line up to the next one, kept as it is (trailing blank lines included); blank
/// documents dropped.
fn split_output(text: &str) -> Vec<&str> {
    let mut docs = Vec::new();
    let mut start: Option<usize> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        if body.starts_with("---") && body[3..].chars().all(|c| c.is_ascii_whitespace()) {
            if let Some(s) = start {
                docs.push(&text[s..offset]);
            }
            start = Some(offset + line.len());
        }
        offset += line.len();
    }
    if let Some(s) = start {
        docs.push(&text[s..]);
    }
    docs.retain(|d| !d.trim().is_empty());
    docs
}

/// The path after the chart name in a document's `# Source: chart/path` line.
fn source_path(doc: &str) -> Option<&str> {
    let i = doc.find("# Source: ")?;
    let rest = &doc[i + 10..];
    let line = rest.lines().next()?;
    let (chart, path) = line.split_once('/')?;
    (!chart.is_empty() && !path.is_empty()).then_some(path)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_like_helm() {
        assert_eq!(
            split_documents("---\na: 1\n---\n\nb: 2\n\n---   \n"),
            vec!["a: 1\n", "b: 2\n\n"]
        );
        assert_eq!(split_documents("# c\na: 1"), vec!["# c\na: 1"]);
        assert_eq!(
            split_documents("a: 1\n\n---# next\nb: 2\n"),
            vec!["a: 1\n\n", "# next\nb: 2\n"]
        );
    }

    #[test]
    fn show_only_selects_by_path_glob_in_pattern_order() {
        let text = "---\n# Source: c/templates/a.yaml\nkind: A\n---\n# Source: c/templates/sub/b.yaml\nkind: B\n---\n# Source: c/charts/s/templates/a.yaml\nkind: C\n";
        let pick =
            |p: &[&str]| show_only(text, &p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>());
        assert_eq!(
            pick(&["templates/sub/*", "templates/a.yaml"]).unwrap(),
            "---\n# Source: c/templates/sub/b.yaml\nkind: B\n\n---\n# Source: c/templates/a.yaml\nkind: A\n\n"
        );
        assert_eq!(
            pick(&["templates/*"]).unwrap(),
            "---\n# Source: c/templates/a.yaml\nkind: A\n\n",
            "* does not cross /"
        );
        let e = pick(&["templates/none.yaml"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "could not find template templates/none.yaml in chart"
        );
    }

    #[test]
    fn test_hooks() {
        let m = |hook: Option<&str>| Manifest {
            path: String::new(),
            content: String::new(),
            kind: String::new(),
            hook: hook.map(str::to_owned),
        };
        assert!(is_test_hook(&m(Some("test"))));
        assert!(is_test_hook(&m(Some("pre-install, Test-Success"))));
        assert!(!is_test_hook(&m(Some("pre-install"))));
        assert!(!is_test_hook(&m(None)));
    }

    #[test]
    fn orders_by_kind_then_file() {
        let mut files = BTreeMap::new();
        files.insert(
            "c/templates/a.yaml".to_owned(),
            "kind: Deployment\n---\nkind: Service\n".to_owned(),
        );
        files.insert(
            "c/templates/b.yaml".to_owned(),
            "kind: Foo\n---\nkind: Namespace\n".to_owned(),
        );
        let (m, _) = sort_manifests(&files).unwrap();
        let kinds: Vec<&str> = m.iter().map(|m| m.kind.as_str()).collect();
        assert_eq!(kinds, vec!["Namespace", "Service", "Deployment", "Foo"]);
    }
}
