//! A whole sync of one unit: apply, record the inventory, prune what left, wait; and applying
//! several units level by level.

use std::time::Duration;

use super::apply::{ApplyOptions, ApplyReport, apply};
use super::discovery::Discovery;
use super::error::Error;
use super::inventory_store::InventoryLocation;
use super::prune::prune;
use super::wait::{WaitOptions, WaitOutcome, WaitReport, wait};
use crate::changeset::{Action, ChangeSet};
use crate::inventory::{self, Inventory};
use crate::{Object, ObjectRef};

/// How to sync a unit.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// How to apply.
    pub apply: ApplyOptions,
    /// Delete objects that left the unit.
    pub prune: bool,
    /// Allow an empty set (which, with `prune`, deletes everything the unit had).
    pub allow_empty: bool,
    /// Where the unit's inventory lives; `None` keeps none (and so cannot prune).
    pub inventory: Option<InventoryLocation>,
    /// Wait until every applied object is Current, up to this long.
    pub wait: Option<Duration>,
}

/// What a sync did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Applied and deleted objects.
    pub changes: ChangeSet,
    /// Everything that went wrong; the sync went as far as it safely could.
    pub errors: Vec<Error>,
    /// The health of the applied objects, when waiting was asked for and the apply succeeded.
    pub wait: Option<WaitReport>,
    /// The identities of the desired objects (namespaces defaulted).
    pub objects: Vec<ObjectRef>,
}

impl SyncReport {
    /// Whether the sync succeeded: no error, and (when waited) every object Current.
    #[must_use]
    pub fn succeeded(&self) -> bool {
        self.errors.is_empty()
            && self
                .wait
                .as_ref()
                .is_none_or(|w| w.outcome == WaitOutcome::Ready)
    }
}

/// Applies `objects` as one unit. With an inventory location, records the applied set there and
/// (with `prune`) deletes what the previous inventory had and this set does not — but only when
/// the whole apply succeeded, and never for an empty set unless `allow_empty`.
pub async fn sync(
    discovery: &Discovery,
    objects: Vec<Object>,
    options: &SyncOptions,
) -> SyncReport {
    let mut report = SyncReport::default();
    if objects.is_empty() && !options.allow_empty {
        report.errors.push(Error::Refused {
            what: "apply",
            reason: "the source rendered no objects; pass --allow-empty to apply an empty set \
                     (with --prune this deletes everything the unit applied before)"
                .to_owned(),
        });
        return report;
    }
    let old = match &options.inventory {
        Some(location) => match location.load(discovery).await {
            Ok(old) => old,
            Err(e) => {
                report.errors.push(e);
                return report;
            }
        },
        None => None,
    };
    let ApplyReport {
        changes,
        errors,
        objects: applied,
    } = apply(discovery, objects, &options.apply).await;
    report.changes = changes;
    report.objects = applied;
    let old = old.unwrap_or_default();
    let created = |r: &ObjectRef| {
        report.changes.action_of(r) == Some(Action::Created) || old.created_namespace(r)
    };
    let new = Inventory::from_refs(&report.objects, created);
    let dry_run = options.apply.dry_run;
    if !errors.is_empty() {
        report.errors = errors;
        // Keep track of everything that may exist now, so a later successful sync can prune it.
        if let Some(location) = options.inventory.as_ref().filter(|_| !dry_run) {
            let mut union = old.clone();
            union.entries.extend(new.entries);
            union.entries.sort_by(|a, b| a.id.cmp(&b.id));
            union.entries.dedup_by(|a, b| a.id == b.id);
            if let Err(e) = location
                .store(discovery, &union, &options.apply.field_manager)
                .await
            {
                report.errors.push(e);
            }
        }
        return report;
    }
    let mut stored = new.clone();
    if options.prune && options.inventory.is_some() {
        let gone = inventory::prune_set(&old, &new);
        let (deleted, failed) = prune(
            discovery,
            &gone,
            dry_run,
            options.apply.concurrency,
            options.apply.on_change.as_ref(),
        )
        .await;
        // Objects whose deletion failed stay in the inventory, to be pruned next time.
        for e in &failed {
            if let Error::Api { object, .. } | Error::Request { object, .. } = e {
                let created = old.created_namespace(object);
                stored.entries.push(inventory::Entry::new(object, created));
            }
        }
        report.changes.extend(deleted);
        report.errors.extend(failed);
    } else if !options.prune {
        // Without pruning, objects that left the set are still ours: keep them recorded.
        let keep: Vec<_> = old
            .entries
            .iter()
            .filter(|e| !stored.entries.iter().any(|n| n.id == e.id))
            .cloned()
            .collect();
        stored.entries.extend(keep);
    }
    stored.entries.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(location) = options.inventory.as_ref().filter(|_| !dry_run)
        && let Err(e) = location
            .store(discovery, &stored, &options.apply.field_manager)
            .await
    {
        report.errors.push(e);
    }
    if let Some(timeout) = options.wait
        && report.errors.is_empty()
        && !dry_run
    {
        let wait_options = WaitOptions {
            timeout,
            concurrency: options.apply.concurrency,
            ..WaitOptions::default()
        };
        match wait(discovery, &report.objects, &wait_options).await {
            Ok(w) => report.wait = Some(w),
            Err(e) => report.errors.push(e),
        }
    }
    report
}

/// Applies units level by level: every unit of a level is synced and waited for (each with
/// `options.wait`, or five minutes when unset) before the next level starts. Stops after the
/// first level with an error or an object that is not Current, so dependents never start before
/// their dependencies are ready. Returns one report per level attempted.
pub async fn sync_levels(
    discovery: &Discovery,
    levels: Vec<Vec<(Vec<Object>, SyncOptions)>>,
) -> Vec<Vec<SyncReport>> {
    let mut reports = Vec::new();
    for level in levels {
        let mut level_reports = Vec::new();
        for (objects, mut options) in level {
            options.wait.get_or_insert(Duration::from_secs(300));
            level_reports.push(sync(discovery, objects, &options).await);
        }
        let ok = level_reports.iter().all(SyncReport::succeeded);
        reports.push(level_reports);
        if !ok {
            break;
        }
    }
    reports
}
