//! Staged server-side apply.
//!
//! Stage 1 applies CRDs, Namespaces and ClusterRoles and waits until CRDs are Established and
//! Namespaces Active; stage 2 the `*Class` kinds; stage 3 everything else. Inside a stage, kinds
//! go in [`crate::order`] order, and objects of one kind are applied concurrently (bounded). A
//! stage with errors stops the apply: later stages are not attempted.
//!
//! Each object is applied with force (Flux's rule: fields we set and someone else edited are
//! taken back; fields we never set are left to their managers). An object whose resourceVersion
//! did not move was `unchanged`; in a dry run, the server's answer is compared with the live
//! object instead. An object whose live state already is what the apply would write (see
//! [`crate::ssa_noop`]) is not sent at all, and is `unchanged`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::Value;

use super::discovery::{Discovery, Resource, defined_by_crd_in};
use super::error::{Error, is_not_found};
use crate::changeset::{Action, Change, ChangeSet};
use crate::order::{self, Stage};
use crate::{Object, ObjectRef, diff, health, ssa_noop};

/// Annotation that allows recreating an object whose immutable fields changed (`enabled`).
pub const FORCE_ANNOTATION: &str = "gitops.rs/force";
/// Flux's annotation with the same meaning.
pub const FLUX_FORCE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/force";

/// Called with each change as it happens (for progress display).
pub type OnChange = Arc<dyn Fn(&Change) + Send + Sync>;

/// How to apply.
#[derive(Clone)]
pub struct ApplyOptions {
    /// Server-side apply field manager.
    pub field_manager: String,
    /// Recreate objects whose immutable fields changed.
    pub force: bool,
    /// Ask the server what would happen, change nothing.
    pub dry_run: bool,
    /// Requests in flight at once inside a stage.
    pub concurrency: usize,
    /// Namespace of namespaced objects that name none.
    pub default_namespace: String,
    /// How long to wait for CRDs, Namespaces and deletions of recreated objects.
    pub timeout: Duration,
    /// Progress callback.
    pub on_change: Option<OnChange>,
}

impl std::fmt::Debug for ApplyOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApplyOptions")
            .field("field_manager", &self.field_manager)
            .field("force", &self.force)
            .field("dry_run", &self.dry_run)
            .field("concurrency", &self.concurrency)
            .field("default_namespace", &self.default_namespace)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for ApplyOptions {
    fn default() -> Self {
        Self {
            field_manager: "gitops".to_owned(),
            force: false,
            dry_run: false,
            concurrency: 16,
            default_namespace: "default".to_owned(),
            timeout: Duration::from_secs(60),
            on_change: None,
        }
    }
}

/// What an apply did: the changes that succeeded, the errors, and the objects as the server
/// returned them (with their effective namespace), for waiting and inventories.
#[derive(Debug, Default)]
pub struct ApplyReport {
    /// Per-object outcomes, in the order they happened.
    pub changes: ChangeSet,
    /// Objects that failed, with why.
    pub errors: Vec<Error>,
    /// The identities of all objects of the set in apply order, namespaces defaulted (also
    /// those not applied because of errors).
    pub objects: Vec<ObjectRef>,
}

impl ApplyReport {
    /// Whether every object was applied.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.errors.is_empty()
    }
}

/// An object ready to apply: its resource and effective identity.
struct Prepared {
    object: Object,
    id: ObjectRef,
    resource: Option<Resource>,
}

/// Applies `objects` in stages. Never fails as a whole: what worked is in the report next to
/// what did not.
pub async fn apply(
    discovery: &Discovery,
    objects: Vec<Object>,
    options: &ApplyOptions,
) -> ApplyReport {
    let mut report = ApplyReport::default();
    let all = objects.clone();
    let mut prepared = Vec::with_capacity(objects.len());
    for object in objects {
        match prepare(discovery, object, &all, options).await {
            Ok(p) => prepared.push(p),
            Err(e) => report.errors.push(e),
        }
    }
    prepared.sort_by(|a, b| order::compare_for_apply(&a.object, &b.object));
    report.objects = prepared.iter().map(|p| p.id.clone()).collect();
    if !report.errors.is_empty() {
        // An unknown kind or a failed discovery: apply nothing rather than half a set.
        return report;
    }
    for stage in [Stage::Definitions, Stage::Classes, Stage::Resources] {
        let batch: Vec<Prepared> = prepared
            .iter()
            .filter(|p| order::stage_of(&p.object) == stage)
            .map(|p| Prepared {
                object: p.object.clone(),
                id: p.id.clone(),
                resource: p.resource.clone(),
            })
            .collect();
        if batch.is_empty() {
            continue;
        }
        apply_stage(discovery, batch, options, &mut report).await;
        if !report.errors.is_empty() {
            return report;
        }
        if stage == Stage::Definitions && !options.dry_run {
            wait_definitions(discovery, &prepared, options, &mut report).await;
            if !report.errors.is_empty() {
                return report;
            }
            discovery.invalidate();
        }
    }
    report
}

/// Resolves the object's resource and sets or clears its namespace.
async fn prepare(
    discovery: &Discovery,
    mut object: Object,
    all: &[Object],
    options: &ApplyOptions,
) -> Result<Prepared, Error> {
    let id = object.object_ref();
    let resource = match discovery.resolve(&id).await? {
        Some(r) => Some(r),
        None if defined_by_crd_in(&id, all) => None,
        None => {
            return Err(Error::UnknownKind {
                kind: id.kind.clone(),
                api_version: id.api_version(),
                object: id,
            });
        }
    };
    match &resource {
        Some(r) if r.namespaced => {
            if object.namespace().is_none() {
                object.set_namespace(Some(&options.default_namespace));
            }
        }
        Some(_) => object.set_namespace(None),
        None => {
            // A custom resource whose CRD comes in the same set: read its scope from the CRD.
            let namespaced = all.iter().any(|o| {
                order::is_crd(o)
                    && o.as_map()["spec"]["names"]["kind"] == id.kind.as_str()
                    && o.as_map()["spec"]["scope"] == "Namespaced"
            });
            if namespaced && object.namespace().is_none() {
                object.set_namespace(Some(&options.default_namespace));
            } else if !namespaced {
                object.set_namespace(None);
            }
        }
    }
    let id = object.object_ref();
    Ok(Prepared {
        object,
        id,
        resource,
    })
}

/// Applies one stage: kinds in order, objects of a kind concurrently.
async fn apply_stage(
    discovery: &Discovery,
    batch: Vec<Prepared>,
    options: &ApplyOptions,
    report: &mut ApplyReport,
) {
    let mut groups: Vec<Vec<Prepared>> = Vec::new();
    for p in batch {
        match groups.last_mut() {
            Some(g) if same_kind(&g[0].object, &p.object) => g.push(p),
            _ => groups.push(vec![p]),
        }
    }
    for group in groups {
        let existing = existing_objects(discovery, &group).await;
        let results: Vec<Result<Change, Error>> = futures::stream::iter(group)
            .map(|p| {
                let existing = &existing;
                async move {
                    let before = existing
                        .as_ref()
                        .map(|m| m.get(&(p.id.namespace.clone(), p.id.name.clone())).cloned());
                    apply_one(discovery, &p, before, options).await
                }
            })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        for result in results {
            match result {
                Ok(change) => {
                    if let Some(cb) = &options.on_change {
                        cb(&change);
                    }
                    report.changes.changes.push(change);
                }
                Err(e) => report.errors.push(e),
            }
        }
    }
}

fn same_kind(a: &Object, b: &Object) -> bool {
    a.kind() == b.kind() && a.group() == b.group()
}

/// The live objects of one kind, by (namespace, name), from one list per namespace; `None` for
/// small groups or when listing is not possible (then each object is read on its own).
async fn existing_objects(
    discovery: &Discovery,
    group: &[Prepared],
) -> Option<HashMap<(Option<String>, String), Value>> {
    let resource = group.first()?.resource.clone()?;
    let namespaces: HashSet<Option<String>> =
        group.iter().map(|p| p.id.namespace.clone()).collect();
    if group.len() < 4 {
        return None;
    }
    let mut found = HashMap::new();
    for ns in namespaces {
        let api = resource.api(discovery.client(), ns.as_deref());
        let list = api.list(&ListParams::default()).await.ok()?;
        for item in list.items {
            if let Some(name) = item.metadata.name.clone() {
                let value = serde_json::to_value(&item).ok()?;
                found.insert((ns.clone(), name), value);
            }
        }
    }
    Some(found)
}

fn force_allowed(object: &Object, options: &ApplyOptions) -> bool {
    options.force
        || [FORCE_ANNOTATION, FLUX_FORCE_ANNOTATION]
            .iter()
            .any(|k| object.annotation(k) == Some("enabled"))
}

/// Applies one object. `before` is the live object when the kind was listed: `Some(None)`
/// means absent.
async fn apply_one(
    discovery: &Discovery,
    p: &Prepared,
    before: Option<Option<Value>>,
    options: &ApplyOptions,
) -> Result<Change, Error> {
    let resource = match &p.resource {
        Some(r) => r.clone(),
        None => resolve_new_kind(discovery, &p.id, options.timeout).await?,
    };
    let api = resource.api(discovery.client(), p.id.namespace.as_deref());
    let mut params = PatchParams::apply(&options.field_manager).force();
    params.dry_run = options.dry_run;
    let body = p.object.to_value();

    if options.dry_run {
        let live = api
            .get_opt(&p.id.name)
            .await
            .map_err(|e| Error::from_kube(&p.id, "get", e))?;
        let result = patch(&api, &p.id, &params, &body, "dry-run apply").await;
        let answer = match result {
            Err(e) if e.is_immutable() && force_allowed(&p.object, options) => {
                return Ok(Change::because(
                    p.id.clone(),
                    Action::Configured,
                    "would be recreated: immutable field changed",
                ));
            }
            other => other.map_err(|e| immutable_hint(e, options))?,
        };
        let action = match live {
            None => Action::Created,
            Some(live) => {
                let live = to_value(&p.id, &live)?;
                if diff::normalize(&live) == diff::normalize(&answer) {
                    Action::Unchanged
                } else {
                    Action::Configured
                }
            }
        };
        return Ok(Change::new(p.id.clone(), action));
    }

    let before = match before {
        Some(b) => b,
        None => api
            .get_opt(&p.id.name)
            .await
            .map_err(|e| Error::from_kube(&p.id, "get", e))?
            .map(|o| to_value(&p.id, &o))
            .transpose()?,
    };
    // Nothing to write: the live object already is what the apply would make of it (our
    // fields, our values, nothing of ours to remove). Saves the server a full apply per object
    // on a no-op re-apply.
    if let Some(live) = &before
        && ssa_noop::apply_is_noop(&body, live, &options.field_manager)
    {
        return Ok(Change::new(p.id.clone(), Action::Unchanged));
    }
    match patch(&api, &p.id, &params, &body, "apply").await {
        Ok(answer) => {
            let version = |v: &Value| v["metadata"]["resourceVersion"].clone();
            // Unchanged when the write was a no-op, or changed only what is not intent
            // (a controller's status update racing with the apply).
            let action = match before {
                None => Action::Created,
                Some(b) if version(&b) == version(&answer) => Action::Unchanged,
                Some(b) if diff::normalize(&b) == diff::normalize(&answer) => Action::Unchanged,
                Some(_) => Action::Configured,
            };
            Ok(Change::new(p.id.clone(), action))
        }
        Err(e) if e.is_immutable() && force_allowed(&p.object, options) => {
            recreate(&api, p, &params, &body, options).await
        }
        Err(e) => Err(immutable_hint(e, options)),
    }
}

/// Resolves a kind whose CRD was applied in this run: discovery can lag a moment behind the
/// CRD's Established condition.
async fn resolve_new_kind(
    discovery: &Discovery,
    id: &ObjectRef,
    timeout: Duration,
) -> Result<Resource, Error> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(r) = discovery.resolve(id).await? {
            return Ok(r);
        }
        if Instant::now() >= deadline {
            return discovery.require(id).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn immutable_hint(e: Error, options: &ApplyOptions) -> Error {
    if e.is_immutable() && !options.force {
        e.with_hint(
            "pass --force or annotate the object `gitops.rs/force: enabled` to delete and recreate it",
        )
    } else {
        e
    }
}

async fn patch(
    api: &kube::Api<DynamicObject>,
    id: &ObjectRef,
    params: &PatchParams,
    body: &Value,
    verb: &'static str,
) -> Result<Value, Error> {
    let answer = api
        .patch(&id.name, params, &Patch::Apply(body))
        .await
        .map_err(|e| Error::from_kube(id, verb, e))?;
    to_value(id, &answer)
}

pub(crate) fn to_value(id: &ObjectRef, object: &DynamicObject) -> Result<Value, Error> {
    serde_json::to_value(object).map_err(|e| Error::Invalid {
        object: id.clone(),
        message: format!("cannot serialise the server's answer: {e}"),
    })
}

/// Deletes the object, waits until it is gone, and applies it again.
async fn recreate(
    api: &kube::Api<DynamicObject>,
    p: &Prepared,
    params: &PatchParams,
    body: &Value,
    options: &ApplyOptions,
) -> Result<Change, Error> {
    match api.delete(&p.id.name, &DeleteParams::background()).await {
        Ok(_) => {}
        Err(e) if is_not_found(&e) => {}
        Err(e) => return Err(Error::from_kube(&p.id, "delete", e)),
    }
    let deadline = Instant::now() + options.timeout;
    loop {
        match api.get_metadata_opt(&p.id.name).await {
            Ok(None) => break,
            Ok(Some(_)) => {}
            Err(e) => return Err(Error::from_kube(&p.id, "get", e)),
        }
        if Instant::now() >= deadline {
            return Err(Error::Timeout {
                object: p.id.clone(),
                what: "it is deleted, to recreate it",
                timeout: options.timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    patch(api, &p.id, params, body, "apply").await?;
    Ok(Change::because(
        p.id.clone(),
        Action::Created,
        "recreated: immutable field changed",
    ))
}

/// Waits until the stage's CRDs are Established and Namespaces Active.
async fn wait_definitions(
    discovery: &Discovery,
    prepared: &[Prepared],
    options: &ApplyOptions,
    report: &mut ApplyReport,
) {
    let pending: Vec<&Prepared> = prepared
        .iter()
        .filter(|p| order::is_crd(&p.object) || order::is_namespace(&p.object))
        .collect();
    let deadline = Instant::now() + options.timeout;
    for p in pending {
        let Some(resource) = &p.resource else {
            continue;
        };
        let api = resource.api(discovery.client(), None);
        loop {
            let ready = match api.get_opt(&p.id.name).await {
                Ok(Some(live)) => to_value(&p.id, &live)
                    .ok()
                    .and_then(|v| Object::from_value(v).ok())
                    .is_some_and(|o| health::health(&o).status == health::Status::Current),
                Ok(None) => false,
                Err(e) => {
                    report.errors.push(Error::from_kube(&p.id, "get", e));
                    return;
                }
            };
            if ready {
                break;
            }
            if Instant::now() >= deadline {
                report.errors.push(Error::Timeout {
                    object: p.id.clone(),
                    what: if order::is_crd(&p.object) {
                        "the CRD is Established"
                    } else {
                        "the Namespace is Active"
                    },
                    timeout: options.timeout,
                });
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
