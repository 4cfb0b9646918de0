//! Deleting objects that left a unit, in reverse apply order, with background propagation.
//!
//! The safety rules that depend on the whole sync (never after a failed render or apply, never
//! with an empty new set unless allowed, never a namespace we did not create) are applied by
//! [`super::sync`] and [`crate::inventory::prune_set`]; here each object is read first and kept
//! when it carries a prune-disabled annotation or is already being deleted.

use futures::StreamExt as _;
use kube::api::DeleteParams;

use super::apply::OnChange;
use super::discovery::Discovery;
use super::error::{Error, is_not_found};
use crate::changeset::{Action, Change, ChangeSet};
use crate::{ObjectRef, inventory};

/// Deletes `objects` (already in reverse apply order, as [`inventory::prune_set`] returns them).
/// Objects of one kind are deleted concurrently, kinds one after the other. Returns what was
/// done and what failed.
pub async fn prune(
    discovery: &Discovery,
    objects: &[ObjectRef],
    dry_run: bool,
    concurrency: usize,
    on_change: Option<&OnChange>,
) -> (ChangeSet, Vec<Error>) {
    let mut changes = ChangeSet::default();
    let mut errors = Vec::new();
    let mut start = 0;
    while start < objects.len() {
        let first = &objects[start];
        let end = objects[start..]
            .iter()
            .position(|o| o.kind != first.kind || o.group != first.group)
            .map_or(objects.len(), |n| start + n);
        let results: Vec<Result<Change, Error>> = futures::stream::iter(&objects[start..end])
            .map(|id| delete_one(discovery, id, dry_run))
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        for result in results {
            match result {
                Ok(change) => {
                    if let Some(cb) = on_change {
                        cb(&change);
                    }
                    changes.changes.push(change);
                }
                Err(e) => errors.push(e),
            }
        }
        start = end;
    }
    (changes, errors)
}

async fn delete_one(discovery: &Discovery, id: &ObjectRef, dry_run: bool) -> Result<Change, Error> {
    let Some(resource) = discovery.resolve(id).await? else {
        return Ok(Change::because(
            id.clone(),
            Action::Skipped,
            "its kind is no longer served",
        ));
    };
    let Some(live) = resource.get(discovery.client(), id).await? else {
        return Ok(Change::because(id.clone(), Action::Skipped, "already gone"));
    };
    if inventory::prune_disabled(&live) {
        return Ok(Change::because(
            id.clone(),
            Action::Skipped,
            "prune disabled by annotation",
        ));
    }
    if live
        .metadata()
        .is_some_and(|m| m.get("deletionTimestamp").is_some_and(|t| !t.is_null()))
    {
        return Ok(Change::because(
            id.clone(),
            Action::Skipped,
            "already being deleted",
        ));
    }
    let api = resource.api(discovery.client(), id.namespace.as_deref());
    let mut params = DeleteParams::background();
    params.dry_run = dry_run;
    match api.delete(&id.name, &params).await {
        Ok(_) => Ok(Change::new(id.clone(), Action::Deleted)),
        Err(e) if is_not_found(&e) => {
            Ok(Change::because(id.clone(), Action::Skipped, "already gone"))
        }
        Err(e) => Err(Error::from_kube(id, "delete", e)),
    }
}
