//! Desired vs live: normalising objects for comparison, masking Secret values, and unified YAML
//! diffs.
//!
//! The desired side is what a server-side-apply dry run returns (so API defaults and fields of
//! other managers are already in it); both sides drop what changes on every write and says
//! nothing about intent: `metadata.managedFields`, `resourceVersion`, `uid`, `generation`,
//! timestamps, and `status`.

use serde_json::{Map, Value};

use crate::{ObjectRef, yaml};

/// Metadata fields the API server maintains, dropped before comparing.
const SERVER_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// What is shown instead of a Secret's value.
pub const MASK: &str = "***";

/// The object without server-maintained fields and `status`, for comparison and display, with
/// mapping keys sorted (as kubectl prints objects), so diffs do not depend on field order.
#[must_use]
pub fn normalize(value: &Value) -> Value {
    let mut value = sorted(value);
    if let Some(map) = value.as_object_mut() {
        map.remove("status");
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            for key in SERVER_METADATA {
                meta.remove(*key);
            }
            for key in ["annotations", "labels"] {
                if meta
                    .get(key)
                    .and_then(Value::as_object)
                    .is_some_and(Map::is_empty)
                {
                    meta.remove(key);
                }
            }
        }
    }
    value
}

fn sorted(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

fn is_secret(value: &Value) -> bool {
    value["kind"] == "Secret" && value["apiVersion"] == "v1"
}

/// Replaces the values of a Secret pair's `data` and `stringData` by [`MASK`], so that a diff
/// shows which keys changed (`*** (before)` / `*** (after)`) and never what they hold. Other
/// kinds are returned unchanged.
#[must_use]
pub fn mask_secrets(
    live: Option<&Value>,
    desired: Option<&Value>,
) -> (Option<Value>, Option<Value>) {
    let (mut live, mut desired) = (live.cloned(), desired.cloned());
    let secret = live.as_ref().is_some_and(is_secret) || desired.as_ref().is_some_and(is_secret);
    if !secret {
        return (live, desired);
    }
    for field in ["data", "stringData"] {
        let before = live.as_ref().and_then(|v| v.get(field)).cloned();
        let after = desired.as_ref().and_then(|v| v.get(field)).cloned();
        let mask = |side: &mut Option<Value>, other: &Option<Value>, label: &str| {
            let Some(Value::Object(map)) = side.as_mut().and_then(|v| v.get_mut(field)) else {
                return;
            };
            for (key, value) in map.iter_mut() {
                let same = other.as_ref().and_then(|o| o.get(key)) == Some(value);
                *value = Value::String(if same {
                    MASK.to_owned()
                } else {
                    format!("{MASK} ({label})")
                });
            }
        };
        mask(&mut live, &after, "before");
        mask(&mut desired, &before, "after");
    }
    (live, desired)
}

/// How one object compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Drift {
    /// Live equals desired.
    InSync,
    /// Desired but not in the cluster.
    Missing,
    /// In the cluster but different.
    Changed,
    /// In the cluster and the inventory, but no longer desired (would be pruned).
    Extra,
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::InSync => "in sync",
            Self::Missing => "missing",
            Self::Changed => "changed",
            Self::Extra => "extra",
        })
    }
}

/// The comparison of one object: the normalised, masked sides and their unified diff.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ObjectDiff {
    /// The object.
    pub object: ObjectRef,
    /// How it compares.
    pub drift: Drift,
    /// The live object, normalised and masked; `None` when missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<Value>,
    /// The desired object (as the dry run returned it), normalised and masked; `None` for extra
    /// objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired: Option<Value>,
    /// Unified diff of the YAML forms, empty when in sync.
    pub diff: String,
}

/// Compares a live object with the desired one (both as the API returns them).
#[must_use]
pub fn compare(object: ObjectRef, live: Option<&Value>, desired: Option<&Value>) -> ObjectDiff {
    let live = live.map(normalize);
    let desired = desired.map(normalize);
    let drift = match (&live, &desired) {
        (None, Some(_)) => Drift::Missing,
        (Some(_), None) => Drift::Extra,
        (Some(l), Some(d)) if l == d => Drift::InSync,
        (None, None) => Drift::InSync,
        _ => Drift::Changed,
    };
    let (live, desired) = mask_secrets(live.as_ref(), desired.as_ref());
    let diff = if drift == Drift::InSync {
        String::new()
    } else {
        unified(&object, live.as_ref(), desired.as_ref())
    };
    ObjectDiff {
        object,
        drift,
        live,
        desired,
        diff,
    }
}

/// Unified diff of two YAML renderings, with `live/<object>` and `desired/<object>` headers.
#[must_use]
pub fn unified(object: &ObjectRef, live: Option<&Value>, desired: Option<&Value>) -> String {
    let text = |v: Option<&Value>| v.map(yaml::to_string).unwrap_or_default();
    let (before, after) = (text(live), text(desired));
    similar::TextDiff::from_lines(&before, &after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("live/{object}"), &format!("desired/{object}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm_ref() -> ObjectRef {
        ObjectRef {
            group: String::new(),
            version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("n".into()),
            name: "c".into(),
        }
    }

    #[test]
    fn server_fields_do_not_count() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "uid": "1", "resourceVersion": "9",
                "creationTimestamp": "2024-01-01T00:00:00Z", "managedFields": [{}],
                "annotations": {}},
            "data": {"k": "v"}});
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n", "uid": "1", "resourceVersion": "10"},
            "data": {"k": "v"}, "status": {"x": 1}});
        let d = compare(cm_ref(), Some(&live), Some(&desired));
        assert_eq!(d.drift, Drift::InSync);
        assert!(d.diff.is_empty());
    }

    #[test]
    fn changed_objects_have_a_unified_diff() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n"}, "data": {"k": "old"}});
        let desired = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "n"}, "data": {"k": "new"}});
        let d = compare(cm_ref(), Some(&live), Some(&desired));
        assert_eq!(d.drift, Drift::Changed);
        insta::assert_snapshot!(d.diff, @r"
        --- live/ConfigMap/n/c
        +++ desired/ConfigMap/n/c
        @@ -1,6 +1,6 @@
         apiVersion: v1
         data:
        -  k: old
        +  k: new
         kind: ConfigMap
         metadata:
           name: c
        ");
        assert_eq!(
            compare(cm_ref(), None, Some(&desired)).drift,
            Drift::Missing
        );
        assert_eq!(compare(cm_ref(), Some(&live), None).drift, Drift::Extra);
    }

    #[test]
    fn secret_values_are_masked() {
        let secret = |data: Value| {
            json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "s"}, "data": data})
        };
        let live = secret(json!({"same": "c2FtZQ==", "pw": "b2xk"}));
        let desired = secret(json!({"same": "c2FtZQ==", "pw": "bmV3", "added": "eA=="}));
        let mut r = cm_ref();
        r.kind = "Secret".into();
        let d = compare(r, Some(&live), Some(&desired));
        assert_eq!(d.drift, Drift::Changed);
        assert!(
            !d.diff.contains("b2xk") && !d.diff.contains("bmV3"),
            "{}",
            d.diff
        );
        assert_eq!(d.live.as_ref().unwrap()["data"]["same"], "***");
        assert_eq!(d.live.as_ref().unwrap()["data"]["pw"], "*** (before)");
        assert_eq!(d.desired.as_ref().unwrap()["data"]["pw"], "*** (after)");
        assert_eq!(d.desired.as_ref().unwrap()["data"]["added"], "*** (after)");
    }
}
