//! Desired vs live through a server-side-apply dry run, so that defaults, admission and other
//! managers' fields are in the desired side exactly as an apply would leave them.

use futures::StreamExt as _;
use kube::api::{Patch, PatchParams};

use super::apply::{ApplyOptions, to_value};
use super::discovery::{Discovery, defined_by_crd_in};
use super::error::Error;
use crate::diff::{self, ObjectDiff};
use crate::inventory::Inventory;
use crate::{Object, ObjectRef};

/// Compares every desired object with the cluster, and reports objects of `inventory` that are
/// no longer desired but still exist as extra. Objects that could not be compared are errors;
/// the others are returned.
pub async fn diff(
    discovery: &Discovery,
    objects: &[Object],
    inventory: Option<&Inventory>,
    options: &ApplyOptions,
) -> (Vec<ObjectDiff>, Vec<Error>) {
    let results: Vec<Result<ObjectDiff, Error>> = futures::stream::iter(objects)
        .map(|o| diff_one(discovery, o, objects, options))
        .buffered(options.concurrency.max(1))
        .collect()
        .await;
    let mut diffs = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(d) => diffs.push(d),
            Err(e) => errors.push(e),
        }
    }
    if let Some(inventory) = inventory {
        let desired: Vec<ObjectRef> = diffs.iter().map(|d| d.object.clone()).collect();
        let (refs, bad) = inventory.refs();
        errors.extend(bad.into_iter().map(|e| Error::Refused {
            what: "read the inventory",
            reason: e.to_string(),
        }));
        for id in refs.into_iter().filter(|r| !desired.contains(r)) {
            match live(discovery, &id).await {
                Ok(Some(value)) => diffs.push(diff::compare(id, Some(&value), None)),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
    }
    (diffs, errors)
}

async fn live(discovery: &Discovery, id: &ObjectRef) -> Result<Option<serde_json::Value>, Error> {
    let Some(resource) = discovery.resolve(id).await? else {
        return Ok(None);
    };
    let api = resource.api(discovery.client(), id.namespace.as_deref());
    match api.get_opt(&id.name).await {
        Ok(Some(o)) => Ok(Some(to_value(id, &o)?)),
        Ok(None) => Ok(None),
        Err(e) => Err(Error::from_kube(id, "get", e)),
    }
}

async fn diff_one(
    discovery: &Discovery,
    object: &Object,
    all: &[Object],
    options: &ApplyOptions,
) -> Result<ObjectDiff, Error> {
    let mut object = object.clone();
    let id = object.object_ref();
    let Some(resource) = discovery.resolve(&id).await? else {
        if defined_by_crd_in(&id, all) {
            // Its CRD is not installed yet: the object cannot exist, nor be dry-run.
            let value = object.to_value();
            return Ok(diff::compare(id, None, Some(&value)));
        }
        return Err(discovery
            .require(&id)
            .await
            .err()
            .unwrap_or(Error::UnknownKind {
                kind: id.kind.clone(),
                api_version: id.api_version(),
                object: id,
            }));
    };
    if resource.namespaced && object.namespace().is_none() {
        object.set_namespace(Some(&options.default_namespace));
    } else if !resource.namespaced {
        object.set_namespace(None);
    }
    let id = object.object_ref();
    let api = resource.api(discovery.client(), id.namespace.as_deref());
    let params = PatchParams::apply(&options.field_manager).force().dry_run();
    // Controllers write to objects all the time (a Deployment's revision annotation): compare
    // a live object and a dry run made from the same resourceVersion, retrying when they differ.
    let mut attempts = 0;
    let (live, desired) = loop {
        attempts += 1;
        let live = match api.get_opt(&id.name).await {
            Ok(o) => o.map(|o| to_value(&id, &o)).transpose()?,
            Err(e) => return Err(Error::from_kube(&id, "get", e)),
        };
        let answer = api
            .patch(&id.name, &params, &Patch::Apply(object.to_value()))
            .await
            .map_err(|e| Error::from_kube(&id, "dry-run apply", e))?;
        let desired = to_value(&id, &answer)?;
        let version = |v: &serde_json::Value| v["metadata"]["resourceVersion"].clone();
        let same_base = live
            .as_ref()
            .is_none_or(|l| version(l) == version(&desired));
        if same_base || attempts >= 3 {
            break (live, desired);
        }
    };
    Ok(diff::compare(id, live.as_ref(), Some(&desired)))
}
