//! Faults, end to end (issue 19): parts of the control plane and the operator die in the middle
//! of the work, and afterwards nothing that Git declares is missing, nothing that should stay is
//! pruned, and every unit is Ready again without a person acting. This binary owns its control
//! plane (it stops components of it), and its tests take turns.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    dead_code,
    // The shared harness imports what the other e2e binary's tests use.
    unused_imports
)]

include!("e2e_operator/world.rs");

/// One fault at a time: the tests share this binary's control plane.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a unit may take to recover after a fault: the operator's retries back off.
const RECOVERY: Duration = Duration::from_secs(240);

/// `count` ConfigMaps `cm-N` in one file, each with `value`.
fn configmaps(count: usize, value: &str) -> String {
    (0..count)
        .map(|i| {
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\n  labels:\n    \
                 fault: test\ndata:\n  key: {value}\n"
            )
        })
        .collect::<Vec<_>>()
        .join("---\n")
}

/// The `key` values of the ConfigMaps labelled by [`configmaps`], by name.
async fn values(world: &World) -> HashMap<String, String> {
    let list = world
        .configmaps()
        .list(&kube::api::ListParams::default().labels("fault=test"))
        .await
        .unwrap();
    list.items
        .into_iter()
        .map(|cm| {
            let name = cm.metadata.name.unwrap_or_default();
            let value = cm
                .data
                .and_then(|d| d.get("key").cloned())
                .unwrap_or_default();
            (name, value)
        })
        .collect()
}

/// Waits until the apply of unit `app` is under way: at least `min` of its ConfigMaps exist.
async fn wait_for_partial_apply(world: &World, min: usize) {
    let api = world.configmaps();
    eventually(&format!("{min} ConfigMaps applied"), LONG, || async {
        let list = api
            .list_metadata(&kube::api::ListParams::default().labels("fault=test"))
            .await?;
        Ok((list.items.len() >= min).then_some(()))
    })
    .await
    .unwrap();
}

/// Waits, through a fault's aftermath, until unit `name` is Ready at `revision`.
async fn recovered(world: &World, name: &str, revision: &str) {
    let units = world.units();
    eventually(
        &format!("unit {name} Ready at {revision} after the fault"),
        RECOVERY,
        || async {
            // The apiserver may still be coming back: a failed read is a retry, not a failure.
            let Ok(unit) = units.get(name).await else {
                return Ok(None);
            };
            let status = unit.status.unwrap_or_default();
            let ok = ready(&status.conditions).is_some_and(|c| c.status.as_str() == "True")
                && status.last_applied_revision.as_deref() == Some(revision);
            Ok(ok.then_some(()))
        },
    )
    .await
    .unwrap();
}

/// A world whose unit `app` (prune on) holds `count` ConfigMaps with value "one", its operator
/// running and its source polled every second.
async fn unit_world(prefix: &str, count: usize) -> World {
    let files = configmaps(count, "one");
    let mut world = World::new(prefix, &[("app/cms.yaml", &files)]).await;
    world.start_operator();
    world.create_source("1s").await;
    world
        .create_unit(
            "app",
            json!({"path": "./app", "interval": "20s", "prune": true}),
        )
        .await;
    world
}

#[tokio::test]
async fn apiserver_killed_and_restarted_mid_apply_of_1000_objects() {
    let _turn = TURN.lock().await;
    let mut world = unit_world("fault-api", 1000).await;
    wait_for_partial_apply(&world, 20).await;
    let cluster = Cluster::shared().unwrap();
    cluster.stop_component("kube-apiserver").unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    cluster.start_component("kube-apiserver").unwrap();
    let head = world.head();
    recovered(&world, "app", &head).await;
    let values = values(&world).await;
    assert_eq!(values.len(), 1000, "every object Git declares is there");
    assert!(values.values().all(|v| v == "one"));
    drop(world.operator.take());
}

#[tokio::test]
async fn etcd_stopped_for_30_seconds_during_a_change() {
    let _turn = TURN.lock().await;
    let mut world = unit_world("fault-etcd", 50).await;
    world.ready_at("app", &world.head()).await;
    let cluster = Cluster::shared().unwrap();
    cluster.stop_component("etcd").unwrap();
    // The change lands while the cluster's store is gone.
    let second = world.commit(&[("app/cms.yaml", Some(&configmaps(50, "two")))]);
    tokio::time::sleep(Duration::from_secs(30)).await;
    cluster.start_component("etcd").unwrap();
    recovered(&world, "app", &second).await;
    let values = values(&world).await;
    assert_eq!(
        values.len(),
        50,
        "nothing was pruned that Git still declares"
    );
    assert!(values.values().all(|v| v == "two"), "{values:?}");
    drop(world.operator.take());
}

#[tokio::test]
async fn operator_sigkilled_mid_reconcile_and_restarted() {
    let _turn = TURN.lock().await;
    let mut world = unit_world("fault-kill", 1000).await;
    wait_for_partial_apply(&world, 20).await;
    // SIGKILL: no shutdown, no lease release, the apply cut off wherever it was.
    world.operator.as_mut().unwrap().kill();
    world.start_operator();
    let head = world.head();
    recovered(&world, "app", &head).await;
    let values = values(&world).await;
    assert_eq!(values.len(), 1000, "every object Git declares is there");
    drop(world.operator.take());
}

#[tokio::test]
async fn git_server_gone_during_a_change() {
    let _turn = TURN.lock().await;
    let mut world = unit_world("fault-git", 20).await;
    let first = world.head();
    world.ready_at("app", &first).await;
    world.daemon.stop();
    let second = world.commit(&[("app/cms.yaml", Some(&configmaps(20, "two")))]);
    // The source reports the failed fetch; the unit keeps what it applied.
    let sources = world.ns.api::<GitRepository>();
    eventually(
        "GitRepository Ready=False while Git is gone",
        LONG,
        || async {
            let repo = sources.get("repo").await?;
            let status = repo.status.unwrap_or_default();
            Ok(ready(&status.conditions)
                .is_some_and(|c| c.status.as_str() == "False")
                .then_some(()))
        },
    )
    .await
    .unwrap();
    let during = values(&world).await;
    assert_eq!(during.len(), 20, "nothing is pruned while Git is gone");
    assert!(during.values().all(|v| v == "one"));
    world.daemon.restart(&world.repos).unwrap();
    recovered(&world, "app", &second).await;
    let after = values(&world).await;
    assert_eq!(after.len(), 20);
    assert!(after.values().all(|v| v == "two"), "{after:?}");
    drop(world.operator.take());
}
