//! Applying one unit with its inventory kept in the Kustomization's status (the CLI keeps it in
//! a ConfigMap): the engine's staged apply, then prune and health checks with the engine's
//! safety rules — prune only after a fully successful apply, never a Namespace the unit did not
//! create, never an object marked `prune: disabled`, and never everything at once because the
//! source rendered nothing.

use std::time::Duration;

use gitops_core::changeset::{Action, ChangeSet};
use gitops_core::cluster::{self, ApplyOptions, Discovery, WaitOptions, WaitReport};
use gitops_core::inventory::{self, Inventory};
use gitops_core::{Object, ObjectRef};

/// Which objects gate readiness.
#[derive(Debug, Clone)]
pub(crate) enum HealthChecks {
    /// None.
    None,
    /// Every applied object (`wait: true`).
    All,
    /// The listed objects (`healthChecks`).
    Listed(Vec<ObjectRef>),
}

/// How to sync a unit.
#[derive(Debug, Clone)]
pub(crate) struct UnitSync {
    pub(crate) apply: ApplyOptions,
    pub(crate) prune: bool,
    pub(crate) health: HealthChecks,
    pub(crate) timeout: Duration,
}

/// What a sync did.
#[derive(Debug, Default)]
pub(crate) struct Synced {
    /// Applied and pruned objects.
    pub(crate) changes: ChangeSet,
    /// Apply and prune errors, as messages naming the object.
    pub(crate) errors: Vec<String>,
    /// The inventory to record: the applied set, plus what could not be pruned (or, after a
    /// failed apply, everything that may exist now).
    pub(crate) inventory: Inventory,
    /// Health of the checked objects, when the apply and prune succeeded.
    pub(crate) health: Option<WaitReport>,
}

impl Synced {
    /// Objects created or changed.
    pub(crate) fn applied(&self) -> u64 {
        (self.changes.count(Action::Created) + self.changes.count(Action::Configured)) as u64
    }

    /// Objects deleted.
    pub(crate) fn pruned(&self) -> u64 {
        self.changes.count(Action::Deleted) as u64
    }
}

/// Runs an engine future on a blocking thread of the runtime and waits for it. The engine's
/// futures borrow across `await` points in ways the compiler cannot prove `Send` for (a
/// higher-ranked lifetime limitation), so they cannot be spawned; on their own thread they need
/// not be. Dropping the returned future (the controller stopping because the Lease was lost)
/// drops the engine future at its next `await`: no request is sent after that.
pub(crate) async fn detached<T, Fut>(make: impl FnOnce() -> Fut + Send + 'static) -> Option<T>
where
    T: Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    let handle = tokio::runtime::Handle::current();
    let (_guard, cancelled) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::task::spawn_blocking(move || {
        handle.block_on(async move {
            tokio::select! {
                value = make() => Some(value),
                _ = cancelled => None,
            }
        })
    });
    task.await.ok().flatten()
}

/// Applies `objects` over the unit's previous inventory `old`.
pub(crate) async fn sync_unit(
    discovery: Discovery,
    objects: Vec<Object>,
    old: Inventory,
    options: UnitSync,
) -> Synced {
    detached(move || async move { sync_here(&discovery, objects, &old, &options).await })
        .await
        .unwrap_or_else(|| Synced {
            errors: vec!["the apply task stopped".to_owned()],
            ..Synced::default()
        })
}

async fn sync_here(
    discovery: &Discovery,
    objects: Vec<Object>,
    old: &Inventory,
    options: &UnitSync,
) -> Synced {
    let mut synced = Synced {
        inventory: old.clone(),
        ..Synced::default()
    };
    if objects.is_empty() && options.prune && !old.is_empty() {
        synced.errors.push(format!(
            "the source rendered no objects; refusing to prune all {} objects of the inventory \
             (delete the Kustomization to remove them, or fix the path)",
            old.len()
        ));
        return synced;
    }
    let report = cluster::apply(discovery, objects, &options.apply).await;
    synced.changes = report.changes;
    let created = |r: &ObjectRef| {
        synced.changes.action_of(r) == Some(Action::Created) || old.created_namespace(r)
    };
    let new = Inventory::from_refs(&report.objects, created);
    if !report.errors.is_empty() {
        synced.errors = report.errors.iter().map(ToString::to_string).collect();
        synced.inventory = union(old, &new);
        return synced;
    }
    let mut stored = new.clone();
    if options.prune {
        let gone = inventory::prune_set(old, &new);
        let (deleted, failed) =
            cluster::prune(discovery, &gone, false, options.apply.concurrency, None).await;
        for e in &failed {
            if let cluster::Error::Api { object, .. } | cluster::Error::Request { object, .. } = e {
                let created = old.created_namespace(object);
                stored.entries.push(inventory::Entry::new(object, created));
            }
        }
        synced.changes.extend(deleted);
        synced.errors.extend(failed.iter().map(ToString::to_string));
    } else {
        // Without pruning, objects that left the set are still the unit's.
        stored = union(old, &new);
    }
    stored.entries.sort_by(|a, b| a.id.cmp(&b.id));
    stored.entries.dedup_by(|a, b| a.id == b.id);
    synced.inventory = stored;
    if !synced.errors.is_empty() {
        return synced;
    }
    let checked: Vec<ObjectRef> = match &options.health {
        HealthChecks::None => return synced,
        HealthChecks::All => report.objects,
        HealthChecks::Listed(refs) => refs.clone(),
    };
    let wait_options = WaitOptions {
        timeout: options.timeout,
        concurrency: options.apply.concurrency,
        ..WaitOptions::default()
    };
    match cluster::wait(discovery, &checked, &wait_options).await {
        Ok(w) => synced.health = Some(w),
        Err(e) => synced.errors.push(format!("health check: {e}")),
    }
    synced
}

/// Deletes every object of `inventory` (on deletion of the unit), with the same rules.
pub(crate) async fn prune_all(
    discovery: Discovery,
    inventory: &Inventory,
    concurrency: usize,
) -> (ChangeSet, Vec<String>) {
    let gone = inventory::prune_set(inventory, &Inventory::default());
    detached(move || async move {
        let (deleted, failed) = cluster::prune(&discovery, &gone, false, concurrency, None).await;
        (deleted, failed.iter().map(ToString::to_string).collect())
    })
    .await
    .unwrap_or_else(|| {
        (
            ChangeSet::default(),
            vec!["the prune task stopped".to_owned()],
        )
    })
}

/// The objects that differ from the cluster (`<object> <changed|missing|extra>`), and the
/// objects that could not be compared.
pub(crate) async fn drifted(
    discovery: Discovery,
    objects: Vec<Object>,
    inventory: Option<Inventory>,
    options: ApplyOptions,
) -> (Vec<String>, Vec<String>) {
    detached(move || async move {
        let (diffs, errors) =
            cluster::diff(&discovery, &objects, inventory.as_ref(), &options).await;
        let drifted = diffs
            .iter()
            .filter(|d| d.drift != gitops_core::diff::Drift::InSync)
            .map(|d| format!("{} {}", d.object, d.drift))
            .collect();
        (drifted, errors.iter().map(ToString::to_string).collect())
    })
    .await
    .unwrap_or_else(|| (Vec::new(), vec!["the diff task stopped".to_owned()]))
}

fn union(a: &Inventory, b: &Inventory) -> Inventory {
    let mut entries = a.entries.clone();
    entries.extend(b.entries.iter().cloned());
    entries.sort_by(|x, y| x.id.cmp(&y.id));
    entries.dedup_by(|x, y| x.id == y.id);
    Inventory { entries }
}

/// A sentence about the objects that failed their health check: `apps/Deployment/ns/web:
/// Available: 0/1`, joined with `; `.
pub(crate) fn describe_unhealthy(report: &WaitReport) -> String {
    report
        .not_ready()
        .map(|o| format!("{} ({}: {})", o.object, o.health.status, o.health.message))
        .collect::<Vec<_>>()
        .join("; ")
}
