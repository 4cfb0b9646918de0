//! Leader election on a `coordination.k8s.io` Lease (kube-lease-manager): only the holder runs
//! the controllers; a standby takes over when the holder stops renewing; losing the Lease stops
//! the controllers at once (their in-flight reconciliations are dropped), so two replicas never
//! apply at the same time. On shutdown the Lease is released for the standby.

use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures::StreamExt as _;
use k8s_openapi::api::coordination::v1::Lease;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube_lease_manager::{LeaseCreateMode, LeaseManager, LeaseManagerError, LeaseParams};
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
    let margin = grace(lease.duration).min(duration - 1);
    let params = LeaseParams::new(identity, duration, margin);
    let election = Election {
        client,
        name: lease.name.clone(),
        namespace: lease.namespace.clone(),
        params,
        identity: identity.to_owned(),
        duration,
    };
    let manager = election.manager().await.with_context(|| {
        format!(
            "cannot set up leader election on Lease {}/{}",
            lease.namespace, lease.name
        )
    })?;
    let (sender, mut leading) = watch::channel(false);
    let task = tokio::spawn(election.run(manager, sender));
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
    // Closing the channel makes the election task release the Lease and finish.
    drop(leading);
    match tokio::time::timeout(Duration::from_secs(10), task).await {
        Ok(Ok(Ok(()))) => tracing::info!("released the leader Lease"),
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "cannot release the leader Lease"),
        Ok(Err(e)) => tracing::warn!(error = %e, "leader election task failed"),
        Err(_) => tracing::warn!("timed out releasing the leader Lease"),
    }
    Ok(())
}

/// What leader election needs to (re)create its Lease manager.
struct Election {
    client: kube::Client,
    name: String,
    namespace: String,
    params: LeaseParams,
    identity: String,
    duration: u64,
}

impl Election {
    async fn manager(&self) -> Result<LeaseManager, LeaseManagerError> {
        LeaseManager::new(
            self.client.clone(),
            &self.name,
            &self.namespace,
            self.params.clone(),
            LeaseCreateMode::AutoCreate,
        )
        .await
    }

    /// Keeps trying to acquire (and then renew) the Lease, publishing whether this replica
    /// leads. Besides kube-lease-manager's own loop, a watch on the Lease:
    /// - replaces a standby's manager (whose fresh state re-reads the Lease) as soon as the
    ///   holder releases it on a graceful shutdown, so the standby takes over at once instead of
    ///   after the full Lease duration (the manager sleeps until a held Lease expires);
    /// - steps down at once when the Lease names another holder, or when this replica's own
    ///   renewal has not been seen before the Lease would expire (renewals failing), so that it
    ///   never applies while another replica may lead.
    ///
    /// Releases the Lease when `leading` is closed.
    async fn run(
        self,
        mut manager: LeaseManager,
        leading: watch::Sender<bool>,
    ) -> Result<(), LeaseManagerError> {
        let leases: kube::Api<Lease> = kube::Api::namespaced(self.client.clone(), &self.namespace);
        let config = watcher::Config::default().fields(&format!("metadata.name={}", self.name));
        let identity = self.identity.clone();
        let mut observed = watcher::watcher(leases, config)
            .applied_objects()
            .filter_map(move |lease| {
                let identity = identity.clone();
                async move {
                    let spec = lease.ok()?.spec.unwrap_or_default();
                    Some(holder_of(spec.holder_identity.as_deref(), &identity))
                }
            })
            .boxed();
        // Until when this replica's leadership is known to be valid, on the local clock (so
        // clock skew with the API server does not matter): a Lease seen renewed is valid for its
        // duration. The manager renews `grace` before that, which leaves room for the watch's
        // latency; a standby acquires only after the duration and needs requests of its own
        // before it applies anything.
        let term = Duration::from_secs(self.duration);
        let mut valid_until = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            let lead = *leading.borrow();
            tokio::select! {
                biased;
                () = leading.closed() => return manager.release().await,
                changed = manager.changed() => match changed {
                    Ok(state) => {
                        if state {
                            valid_until = Instant::now() + term;
                        }
                        if leading.send(state).is_err() {
                            return manager.release().await;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "leader election");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                },
                Some(holder) = observed.next() => match holder {
                    Holder::Nobody if !lead => manager = self.fresh(manager).await,
                    Holder::Me => valid_until = Instant::now() + term,
                    Holder::Other if lead => {
                        tracing::warn!("another replica holds the leader Lease: stepping down");
                        let _ = leading.send(false);
                        manager = self.fresh(manager).await;
                    }
                    _ => {}
                },
                _ = tick.tick(), if lead && Instant::now() > valid_until => {
                    tracing::warn!("the leader Lease was not renewed in time: stepping down");
                    let _ = leading.send(false);
                    manager = self.fresh(manager).await;
                }
            }
        }
    }

    /// A new manager (re-reading the Lease), or the old one when that fails.
    async fn fresh(&self, old: LeaseManager) -> LeaseManager {
        match self.manager().await {
            Ok(fresh) => fresh,
            Err(e) => {
                tracing::warn!(error = %e, "leader election");
                old
            }
        }
    }
}

/// Who holds the Lease, from this replica's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Holder {
    Nobody,
    Me,
    Other,
}

fn holder_of(holder: Option<&str>, me: &str) -> Holder {
    match holder {
        None | Some("") => Holder::Nobody,
        Some(h) if h == me => Holder::Me,
        Some(_) => Holder::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_holder_is_nobody_me_or_another_replica() {
        assert_eq!(holder_of(None, "a"), Holder::Nobody);
        assert_eq!(holder_of(Some(""), "a"), Holder::Nobody);
        assert_eq!(holder_of(Some("a"), "a"), Holder::Me);
        assert_eq!(holder_of(Some("b"), "a"), Holder::Other);
    }

    #[test]
    fn renewal_margin_is_a_third_of_the_lease() {
        assert_eq!(grace(Duration::from_secs(15)), 5);
        assert_eq!(grace(Duration::from_secs(2)), 1);
    }
}
