//! Leader election on a `coordination.k8s.io` Lease (kube-lease-manager): only the holder runs
//! the controllers; a standby takes over when the holder stops renewing; losing the Lease stops
//! the controllers at once (their in-flight reconciliations are dropped), so two replicas never
//! apply at the same time. On shutdown the Lease is released for the standby.

use std::time::Duration;

use anyhow::Context as _;
use kube_lease_manager::LeaseManagerBuilder;
use tokio::sync::watch;

use crate::controller::{self, Shared};
use crate::serve::Probes;

/// Where the Lease is and how long it lasts.
#[derive(Debug, Clone)]
pub(crate) struct LeaseSettings {
    pub(crate) name: String,
    pub(crate) namespace: String,
    pub(crate) duration: Duration,
}

/// This replica's identity: `POD_NAME` when set (in a Deployment), else `<hostname>-<pid>`.
pub(crate) fn identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "gitops-operator".to_owned());
    format!("{host}-{}", std::process::id())
}

/// Renewal margin: a third of the Lease, at least one second.
fn grace(duration: Duration) -> u64 {
    (duration.as_secs() / 3).max(1)
}

/// Waits for leadership, runs the controllers while leading, and stops them when the Lease is
/// lost or `stop` turns true; then releases the Lease.
pub(crate) async fn run_as_leader(
    client: kube::Client,
    lease: LeaseSettings,
    identity: &str,
    probes: Probes,
    mut stop: watch::Receiver<bool>,
    shared: Shared,
) -> anyhow::Result<()> {
    let duration = lease.duration.as_secs().max(2);
    let manager = LeaseManagerBuilder::new(client, &lease.name)
        .with_namespace(&lease.namespace)
        .with_identity(identity)
        .with_duration(duration)
        .with_grace(grace(lease.duration).min(duration - 1))
        .build()
        .await
        .with_context(|| {
            format!(
                "cannot set up leader election on Lease {}/{}",
                lease.namespace, lease.name
            )
        })?;
    let (mut leading, task) = manager.watch().await;
    probes.set_ready(true);
    tracing::info!(lease = %format!("{}/{}", lease.namespace, lease.name), %identity, "waiting for leadership");
    loop {
        tokio::select! {
            _ = stop.wait_for(|s| *s) => break,
            changed = leading.wait_for(|l| *l) => {
                if changed.is_err() {
                    anyhow::bail!("leader election stopped unexpectedly");
                }
            }
        }
        tracing::info!(%identity, "became leader, starting controllers");
        let (run_stop_tx, run_stop_rx) = watch::channel(false);
        let mut controllers =
            tokio::spawn(controller::run(shared.clone(), crate::stopped(run_stop_rx)));
        tokio::select! {
            _ = stop.wait_for(|s| *s) => {
                let _ = run_stop_tx.send(true);
                // In-flight reconciliations finish (bounded), then the Lease is released.
                if tokio::time::timeout(Duration::from_secs(20), &mut controllers).await.is_err() {
                    controllers.abort();
                }
                break;
            }
            lost = leading.wait_for(|l| !*l) => {
                controllers.abort();
                let _ = controllers.await;
                if lost.is_err() {
                    anyhow::bail!("leader election stopped unexpectedly");
                }
                tracing::warn!(%identity, "lost the leader Lease, controllers stopped");
            }
            result = &mut controllers => {
                anyhow::bail!("controllers stopped unexpectedly: {result:?}");
            }
        }
    }
    // Closing the channel makes the manager release the Lease and finish.
    drop(leading);
    match tokio::time::timeout(Duration::from_secs(10), task).await {
        Ok(Ok(Ok(_))) => tracing::info!("released the leader Lease"),
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "cannot release the leader Lease"),
        Ok(Err(e)) => tracing::warn!(error = %e, "leader election task failed"),
        Err(_) => tracing::warn!("timed out releasing the leader Lease"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renewal_margin_is_a_third_of_the_lease() {
        assert_eq!(grace(Duration::from_secs(15)), 5);
        assert_eq!(grace(Duration::from_secs(2)), 1);
    }
}
