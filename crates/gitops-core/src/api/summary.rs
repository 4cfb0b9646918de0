//! What `gitops get` and `gitops reconcile` show of our objects: one row per object (revision,
//! suspended, Ready and its message), the table `flux get` prints, and whether a requested
//! reconciliation has been handled. Pure functions of the objects as JSON, so they work on
//! any of our kinds and are snapshot-tested without a cluster.

use serde::Serialize;
use serde_json::Value;

use super::status::{READY, RECONCILING};

/// One object as `gitops get` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Namespace.
    pub namespace: String,
    /// Kind (`Kustomization`, `HelmRelease`, `GitRepository`).
    pub kind: String,
    /// Name.
    pub name: String,
    /// The last applied revision of a unit, the artifact revision of a source; empty before
    /// the first success.
    pub revision: String,
    /// `spec.suspend`.
    pub suspended: bool,
    /// The Ready condition's status: `True`, `False` or `Unknown` (also when there is none).
    pub ready: String,
    /// The Ready condition's message, or the Reconciling one while Ready is not known.
    pub message: String,
}

fn text(value: &Value, pointer: &str) -> String {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn condition<'a>(object: &'a Value, type_: &str) -> Option<&'a Value> {
    object
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
}

/// The row of one of our objects (as JSON, the API server's form).
#[must_use]
pub fn row(object: &Value) -> Row {
    let kind = text(object, "/kind");
    let revision = if kind == "GitRepository" || kind == "HelmRepository" {
        text(object, "/status/artifact/revision")
    } else {
        text(object, "/status/lastAppliedRevision")
    };
    let ready = condition(object, READY);
    let status = ready
        .and_then(|c| c["status"].as_str())
        .unwrap_or("Unknown")
        .to_owned();
    let mut message = ready
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_owned();
    if status == "Unknown" {
        if let Some(reconciling) = condition(object, RECONCILING)
            .and_then(|c| c["message"].as_str())
            .filter(|m| !m.is_empty())
        {
            reconciling.clone_into(&mut message);
        } else if message.is_empty() {
            "waiting to be reconciled".clone_into(&mut message);
        }
    }
    Row {
        namespace: text(object, "/metadata/namespace"),
        kind,
        name: text(object, "/metadata/name"),
        revision,
        suspended: object
            .pointer("/spec/suspend")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        ready: status,
        message,
    }
}

/// The rows as an aligned table: `NAMESPACE` (with `all_namespaces`), `NAME` (as
/// `kind/name`, lowercase kind as `flux get all` prints it), `REVISION`, `SUSPENDED`, `READY`,
/// `MESSAGE`. Rows are sorted by namespace, kind and name. Empty text for no rows.
#[must_use]
pub fn table(rows: &[Row], all_namespaces: bool) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let mut rows: Vec<&Row> = rows.iter().collect();
    rows.sort_by(|a, b| (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name)));
    let mut lines: Vec<Vec<String>> = Vec::with_capacity(rows.len() + 1);
    let mut header = vec!["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"];
    if all_namespaces {
        header.insert(0, "NAMESPACE");
    }
    lines.push(header.into_iter().map(str::to_owned).collect());
    for row in rows {
        let mut cells = vec![
            format!("{}/{}", row.kind.to_lowercase(), row.name),
            row.revision.clone(),
            if row.suspended { "True" } else { "False" }.to_owned(),
            row.ready.clone(),
            // One line per row: a multi-line message is joined.
            row.message.lines().collect::<Vec<_>>().join(" "),
        ];
        if all_namespaces {
            cells.insert(0, row.namespace.clone());
        }
        lines.push(cells);
    }
    align_columns(&lines)
}

/// `lines` (a header row and data rows of the same length) as kubectl prints tables: each
/// column padded to its widest cell plus three spaces, trailing space trimmed.
#[must_use]
pub fn align_columns(lines: &[Vec<String>]) -> String {
    let columns = lines.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            lines
                .iter()
                .map(|l| l.get(i).map_or(0, |c| c.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in lines {
        let mut text = String::new();
        for (i, cell) in line.iter().enumerate() {
            text.push_str(cell);
            if i + 1 < columns {
                let pad = widths.get(i).copied().unwrap_or(0) - cell.chars().count() + 3;
                text.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// Where a requested reconciliation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reconciled {
    /// The operator has not handled the request yet, or is still working on it.
    Pending,
    /// Handled, and the object is Ready at this revision.
    Ready {
        /// The revision (empty if the object reports none).
        revision: String,
    },
    /// Handled, and the object is not Ready: the Ready message says why.
    Failed {
        /// The Ready condition's message.
        message: String,
    },
}

/// Whether the reconciliation requested with `requested_at` (the value written to
/// `reconcile.gitops.rs/requestedAt`) has been handled (`status.lastHandledReconcileAt` equals
/// it) and with what outcome.
#[must_use]
pub fn reconciled(object: &Value, requested_at: &str) -> Reconciled {
    let handled = object
        .pointer("/status/lastHandledReconcileAt")
        .and_then(Value::as_str);
    if handled != Some(requested_at) {
        return Reconciled::Pending;
    }
    let row = row(object);
    match row.ready.as_str() {
        "True" => Reconciled::Ready {
            revision: row.revision,
        },
        "False" => Reconciled::Failed {
            message: row.message,
        },
        _ => Reconciled::Pending,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn unit(kind: &str, ns: &str, name: &str, status: Value, suspend: bool) -> Value {
        json!({
            "apiVersion": "gitops.rs/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, "namespace": ns},
            "spec": {"suspend": suspend},
            "status": status,
        })
    }

    fn ready(status: &str, message: &str) -> Value {
        json!({"type": "Ready", "status": status, "reason": "R", "message": message,
               "lastTransitionTime": "2026-01-01T00:00:00Z"})
    }

    fn fixtures() -> Vec<Row> {
        [
            unit(
                "Kustomization",
                "apps",
                "web",
                json!({"conditions": [ready("True", "Applied revision: main@sha1:4f2a")],
                       "lastAppliedRevision": "main@sha1:4f2a"}),
                false,
            ),
            unit(
                "HelmRelease",
                "apps",
                "db",
                json!({"conditions": [ready("False", "install failed: timed out\nwaiting for StatefulSet/apps/db")]}),
                true,
            ),
            unit("Kustomization", "infra", "crds", json!({}), false),
            unit(
                "Kustomization",
                "apps",
                "api",
                json!({"conditions": [
                    ready("Unknown", ""),
                    {"type": "Reconciling", "status": "True", "reason": "Progressing",
                     "message": "building main@sha1:9c1e", "lastTransitionTime": "t"}]}),
                false,
            ),
        ]
        .iter()
        .map(row)
        .collect()
    }

    #[test]
    fn units_table_in_one_namespace() {
        let rows: Vec<Row> = fixtures()
            .into_iter()
            .filter(|r| r.namespace == "apps")
            .collect();
        insta::assert_snapshot!(table(&rows, false));
    }

    #[test]
    fn units_table_in_all_namespaces() {
        insta::assert_snapshot!(table(&fixtures(), true));
    }

    #[test]
    fn sources_show_the_artifact_revision() {
        let repo = json!({
            "kind": "GitRepository",
            "metadata": {"name": "fleet", "namespace": "gitops-system"},
            "spec": {"url": "https://example.invalid/fleet.git"},
            "status": {"conditions": [ready("True", "stored artifact for revision 'main@sha1:abc'")],
                       "artifact": {"revision": "main@sha1:abc", "digest": "sha256:0", "lastUpdateTime": "t"}},
        });
        insta::assert_snapshot!(table(&[row(&repo)], false));
        assert_eq!(table(&[], true), "");
    }

    #[test]
    fn a_request_is_handled_once_last_handled_equals_it() {
        let mut object = unit(
            "Kustomization",
            "apps",
            "web",
            json!({"conditions": [ready("True", "ok")], "lastAppliedRevision": "main@sha1:1",
                   "lastHandledReconcileAt": "2026-01-01T00:00:00Z"}),
            false,
        );
        assert_eq!(
            reconciled(&object, "2026-01-01T00:00:05Z"),
            Reconciled::Pending
        );
        assert_eq!(
            reconciled(&object, "2026-01-01T00:00:00Z"),
            Reconciled::Ready {
                revision: "main@sha1:1".into()
            }
        );
        object["status"]["conditions"] =
            json!([ready("False", "health check failed: Deployment/apps/web")]);
        assert_eq!(
            reconciled(&object, "2026-01-01T00:00:00Z"),
            Reconciled::Failed {
                message: "health check failed: Deployment/apps/web".into()
            }
        );
        object["status"]["conditions"] = json!([ready("Unknown", "")]);
        assert_eq!(
            reconciled(&object, "2026-01-01T00:00:00Z"),
            Reconciled::Pending
        );
    }
}
