//! The Flagger model of a `targetRef` Deployment, as pure functions: the target stays what Git
//! makes it (its pod template is the new revision; scaled up it is the canary, scaled to zero
//! otherwise), and a `<target>-primary` Deployment, owned by the rollout, runs the stable
//! revision. The operator applies what these functions build; they do no I/O.
//!
//! Pods carry [`ROLE_LABEL`] (`stable` on the primary's, `canary` on the target's) so that the
//! providers' services and subsets tell them apart; a revision is a digest of the pod template
//! without that label, so relabelling never looks like a new revision.

use serde_json::{Map, Value, json};
use sha2::{Digest as _, Sha256};

use crate::providers::{ROLE_LABEL, ROLLOUT_LABEL};
use crate::spec::Rollout;

/// The primary's annotation naming the revision its pod template came from.
pub const REVISION_ANNOTATION: &str = "gitops.rs/rollout-revision";

/// The name of the primary Deployment of `target`.
#[must_use]
pub fn primary_name(target: &str) -> String {
    format!("{target}-primary")
}

/// The revision of a pod template: the first 10 hex digits of the SHA-256 of its canonical JSON
/// (keys sorted), without [`ROLE_LABEL`].
#[must_use]
pub fn revision(template: &Value) -> String {
    let mut template = template.clone();
    if let Some(labels) = template
        .pointer_mut("/metadata/labels")
        .and_then(Value::as_object_mut)
    {
        labels.remove(ROLE_LABEL);
    }
    let mut text = String::new();
    canonical(&template, &mut text);
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(5).map(|b| format!("{b:02x}")).collect()
}

fn canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// `template` with `labels.<ROLE_LABEL>` set to `role`.
fn with_role(template: &Value, role: &str) -> Value {
    let mut template = template.clone();
    if !template["metadata"].is_object() {
        template["metadata"] = json!({});
    }
    if !template["metadata"]["labels"].is_object() {
        template["metadata"]["labels"] = json!({});
    }
    template["metadata"]["labels"][ROLE_LABEL] = json!(role);
    template
}

/// The primary Deployment for the live `target` Deployment: the target's pod template (with
/// the `stable` role), selector (plus the role) and rollout settings, `replicas`, the
/// [`REVISION_ANNOTATION`], and `owner` as its controlling owner reference.
#[must_use]
pub fn primary(rollout: &Rollout, target: &Value, replicas: u32, owner: &Value) -> Value {
    let template = &target["spec"]["template"];
    let mut selector = match target["spec"]["selector"].as_object() {
        Some(s) => Value::Object(s.clone()),
        None => json!({}),
    };
    if !selector["matchLabels"].is_object() {
        selector["matchLabels"] = json!({});
    }
    selector["matchLabels"][ROLE_LABEL] = json!("stable");
    let mut labels = target["metadata"]["labels"]
        .as_object()
        .cloned()
        .unwrap_or_else(Map::new);
    labels.insert(ROLLOUT_LABEL.to_owned(), json!(rollout.metadata.name));
    let mut spec = json!({
        "replicas": replicas,
        "selector": selector,
        "template": with_role(template, "stable"),
    });
    for field in [
        "strategy",
        "minReadySeconds",
        "revisionHistoryLimit",
        "progressDeadlineSeconds",
    ] {
        if let Some(v) = target["spec"].get(field) {
            spec[field] = v.clone();
        }
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": primary_name(&rollout.spec.target_ref.name),
            "namespace": rollout.namespace(),
            "labels": labels,
            "annotations": {REVISION_ANNOTATION: revision(template)},
            "ownerReferences": [owner],
        },
        "spec": spec,
    })
}

/// What the rollout owns of the target Deployment: its replica count and the `canary` role
/// label of its pods (a server-side apply patch; everything else stays Git's).
#[must_use]
pub fn target_patch(rollout: &Rollout, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": rollout.spec.target_ref.name, "namespace": rollout.namespace()},
        "spec": {
            "replicas": replicas,
            "template": {"metadata": {"labels": {ROLE_LABEL: "canary"}}},
        },
    })
}

/// What the rollout owns of the primary when it only scales it (replica-ratio canaries).
#[must_use]
pub fn primary_scale_patch(rollout: &Rollout, replicas: u32) -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": primary_name(&rollout.spec.target_ref.name),
            "namespace": rollout.namespace(),
        },
        "spec": {"replicas": replicas},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rollout() -> Rollout {
        crate::load::from_yaml(
            "apiVersion: gitops.rs/v1alpha1\nkind: Rollout\nmetadata: {name: web, namespace: shop}\n\
             spec:\n  targetRef: {name: web}\n  strategy:\n    canary:\n      steps: [{setWeight: 50}]\n",
            None,
        )
        .unwrap()
        .rollout
    }

    fn target(image: &str) -> Value {
        json!({
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": image}]},
                },
                "minReadySeconds": 5,
            },
        })
    }

    #[test]
    fn the_revision_ignores_the_role_label_and_key_order() {
        let a = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"x": 1, "y": 2}});
        let b = json!({"spec": {"y": 2, "x": 1}, "metadata": {"labels": {"app": "web", ROLE_LABEL: "canary"}}});
        assert_eq!(revision(&a), revision(&b));
        assert_eq!(revision(&a).len(), 10);
        let c = json!({"metadata": {"labels": {"app": "web"}}, "spec": {"x": 1, "y": 3}});
        assert_ne!(revision(&a), revision(&c));
    }

    #[test]
    fn the_primary_runs_the_target_template_as_stable() {
        let owner = json!({"apiVersion": "gitops.rs/v1alpha1", "kind": "Rollout", "name": "web", "uid": "u", "controller": true});
        let target = target("web:1");
        let primary = primary(&rollout(), &target, 3, &owner);
        assert_eq!(primary["metadata"]["name"], "web-primary");
        assert_eq!(primary["metadata"]["namespace"], "shop");
        assert_eq!(
            primary["spec"]["selector"]["matchLabels"],
            json!({"app": "web", ROLE_LABEL: "stable"})
        );
        assert_eq!(
            primary["spec"]["template"]["metadata"]["labels"][ROLE_LABEL],
            "stable"
        );
        assert_eq!(primary["spec"]["minReadySeconds"], 5);
        assert_eq!(
            primary["metadata"]["annotations"][REVISION_ANNOTATION],
            json!(revision(&target["spec"]["template"]))
        );
        assert_eq!(primary["metadata"]["ownerReferences"][0], owner);
        assert_eq!(
            target_patch(&rollout(), 0)["spec"],
            json!({"replicas": 0, "template": {"metadata": {"labels": {ROLE_LABEL: "canary"}}}})
        );
    }
}
