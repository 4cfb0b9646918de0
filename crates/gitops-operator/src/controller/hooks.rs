//! Helm hooks of a release, in Helm's order: the pre-install/pre-upgrade hooks run (applied and
//! waited for, one after the other by weight) before the release's objects, the
//! post-install/post-upgrade hooks after them. A hook is deleted before it is created again
//! (`before-hook-creation`, Helm's default) and after it succeeded or failed when its
//! `helm.sh/hook-delete-policy` says so. Hooks are not part of the release's inventory.

use std::time::{Duration, Instant};

use gitops_core::cluster::{self, ApplyOptions, Discovery, WaitOptions, WaitOutcome};
use gitops_core::{Object, ObjectRef};
use kube::api::DeleteParams;

use super::sync::detached;

/// The annotation with a hook's delete policies.
const DELETE_POLICY: &str = "helm.sh/hook-delete-policy";
/// The annotation with a hook's weight.
const WEIGHT: &str = "helm.sh/hook-weight";

/// One hook object and the events it runs on.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    pub(crate) object: Object,
    pub(crate) events: Vec<String>,
}

impl Hook {
    /// A hook from its object and the `helm.sh/hook` annotation's value.
    pub(crate) fn new(object: Object, events: &str) -> Self {
        Self {
            object,
            events: events.split(',').map(|e| e.trim().to_owned()).collect(),
        }
    }

    fn weight(&self) -> i64 {
        self.object
            .annotation(WEIGHT)
            .and_then(|w| w.trim().parse().ok())
            .unwrap_or(0)
    }

    fn policies(&self) -> Vec<String> {
        match self.object.annotation(DELETE_POLICY) {
            Some(p) => p.split(',').map(|e| e.trim().to_owned()).collect(),
            None => vec!["before-hook-creation".to_owned()],
        }
    }
}

/// The hooks of `event` (`pre-install`, `post-upgrade`, ...) in the order Helm runs them: by
/// weight, then kind, then name.
pub(crate) fn for_event<'a>(hooks: &'a [Hook], event: &str) -> Vec<&'a Hook> {
    let mut selected: Vec<&Hook> = hooks
        .iter()
        .filter(|h| h.events.iter().any(|e| e == event))
        .collect();
    selected.sort_by(|a, b| {
        (a.weight(), a.object.kind(), a.object.name()).cmp(&(
            b.weight(),
            b.object.kind(),
            b.object.name(),
        ))
    });
    selected
}

/// Runs `hooks` in order; stops at the first that fails, naming it.
pub(crate) async fn run(
    discovery: Discovery,
    hooks: Vec<Hook>,
    apply: ApplyOptions,
    timeout: Duration,
) -> Result<usize, String> {
    detached(move || async move {
        let mut ran = 0;
        for hook in hooks {
            run_one(&discovery, &hook, &apply, timeout).await?;
            ran += 1;
        }
        Ok(ran)
    })
    .await
    .unwrap_or_else(|| Err("the hook task stopped".to_owned()))
}

async fn run_one(
    discovery: &Discovery,
    hook: &Hook,
    apply: &ApplyOptions,
    timeout: Duration,
) -> Result<(), String> {
    let mut object = hook.object.clone();
    if object.namespace().is_none() {
        let namespaced = discovery
            .resolve(&object.object_ref())
            .await
            .ok()
            .flatten()
            .is_none_or(|r| r.namespaced);
        if namespaced {
            object.set_namespace(Some(&apply.default_namespace));
        }
    }
    let id = object.object_ref();
    let policies = hook.policies();
    if policies.iter().any(|p| p == "before-hook-creation") {
        delete(discovery, &id, timeout).await?;
    }
    let report = cluster::apply(discovery, vec![object], apply).await;
    if let Some(e) = report.errors.first() {
        return Err(format!("hook {id}: {e}"));
    }
    let options = WaitOptions {
        timeout,
        ..WaitOptions::default()
    };
    let waited = cluster::wait(discovery, std::slice::from_ref(&id), &options)
        .await
        .map_err(|e| format!("hook {id}: {e}"))?;
    if waited.outcome == WaitOutcome::Ready {
        if policies.iter().any(|p| p == "hook-succeeded") {
            delete(discovery, &id, timeout).await?;
        }
        Ok(())
    } else {
        if policies.iter().any(|p| p == "hook-failed") {
            delete(discovery, &id, timeout).await?;
        }
        let why = waited
            .objects
            .first()
            .map(|o| format!("{}: {}", o.health.status, o.health.message))
            .unwrap_or_default();
        Err(format!("hook {id} did not succeed: {why}"))
    }
}

/// Deletes `id` (foreground) and waits until it is gone.
async fn delete(discovery: &Discovery, id: &ObjectRef, timeout: Duration) -> Result<(), String> {
    let Some(resource) = discovery.resolve(id).await.map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let api = resource.api(discovery.client(), id.namespace.as_deref());
    match api.delete(&id.name, &DeleteParams::foreground()).await {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 404 => return Ok(()),
        Err(e) => return Err(format!("hook {id}: delete failed: {e}")),
    }
    let start = Instant::now();
    loop {
        match api.get_opt(&id.name).await {
            Ok(None) => return Ok(()),
            Ok(Some(_)) if start.elapsed() < timeout => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Ok(Some(_)) => {
                return Err(format!(
                    "hook {id}: still there {timeout:?} after its deletion"
                ));
            }
            Err(e) => return Err(format!("hook {id}: get failed: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hook(name: &str, events: &str, weight: Option<&str>) -> Hook {
        let mut annotations = serde_json::Map::new();
        if let Some(w) = weight {
            annotations.insert(WEIGHT.into(), json!(w));
        }
        let object = Object::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "annotations": annotations}}))
        .unwrap();
        Hook::new(object, events)
    }

    #[test]
    fn hooks_of_an_event_run_by_weight_then_name() {
        let hooks = [
            hook("c", "pre-install,pre-upgrade", Some("5")),
            hook("b", "pre-install", None),
            hook("a", "post-install", Some("-1")),
            hook("d", " pre-install ", Some("-3")),
        ];
        let names = |event| -> Vec<&str> {
            for_event(&hooks, event)
                .iter()
                .map(|h| h.object.name())
                .collect()
        };
        assert_eq!(names("pre-install"), ["d", "b", "c"]);
        assert_eq!(names("pre-upgrade"), ["c"]);
        assert_eq!(names("post-install"), ["a"]);
        assert!(names("pre-delete").is_empty());
    }

    #[test]
    fn the_default_delete_policy_is_before_hook_creation() {
        assert_eq!(
            hook("a", "pre-install", None).policies(),
            ["before-hook-creation"]
        );
    }
}
