//! Waiting until applied objects are healthy: polls the live objects and judges them with the
//! pure [`crate::health`] rules. Stops as soon as one object is Failed.

use std::time::{Duration, Instant};

use futures::StreamExt as _;

use super::discovery::Discovery;
use super::error::Error;
use crate::ObjectRef;
use crate::health::{self, Health, Status};

/// The health of one object at the end of a wait.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ObjectHealth {
    /// The object.
    pub object: ObjectRef,
    /// Its last observed health.
    pub health: Health,
}

/// How a wait ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum WaitOutcome {
    /// Every object is Current.
    Ready,
    /// An object is Failed (the wait stopped early).
    Failed,
    /// The timeout passed with objects still in progress.
    TimedOut,
}

/// The result of [`wait`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct WaitReport {
    /// How the wait ended.
    pub outcome: WaitOutcome,
    /// The last health of every object, in the order given.
    pub objects: Vec<ObjectHealth>,
    /// How long it took.
    pub elapsed: Duration,
}

impl WaitReport {
    /// The objects that are not Current.
    pub fn not_ready(&self) -> impl Iterator<Item = &ObjectHealth> {
        self.objects
            .iter()
            .filter(|o| o.health.status != Status::Current)
    }
}

/// How to poll.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Time between polls.
    pub interval: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            interval: Duration::from_millis(500),
            concurrency: 16,
        }
    }
}

/// Polls `objects` until all are Current, one is Failed, or the timeout passes. An object that
/// does not exist is InProgress (`not found`).
///
/// # Errors
/// When discovery fails or the server refuses a read (other than not found).
pub async fn wait(
    discovery: &Discovery,
    objects: &[ObjectRef],
    options: &WaitOptions,
) -> Result<WaitReport, Error> {
    let start = Instant::now();
    let mut last: Vec<Option<Health>> = vec![None; objects.len()];
    loop {
        let pending: Vec<usize> = (0..objects.len())
            .filter(|i| {
                last[*i]
                    .as_ref()
                    .is_none_or(|h| h.status != Status::Current)
            })
            .collect();
        let checks: Vec<(usize, Result<Health, Error>)> = futures::stream::iter(pending)
            .map(|i| async move { (i, check(discovery, &objects[i]).await) })
            .buffer_unordered(options.concurrency.max(1))
            .collect()
            .await;
        for (i, result) in checks {
            last[i] = Some(result?);
        }
        let failed = last.iter().flatten().any(|h| h.status == Status::Failed);
        let ready = last
            .iter()
            .all(|h| h.as_ref().is_some_and(|h| h.status == Status::Current));
        let outcome = if failed {
            Some(WaitOutcome::Failed)
        } else if ready {
            Some(WaitOutcome::Ready)
        } else if start.elapsed() >= options.timeout {
            Some(WaitOutcome::TimedOut)
        } else {
            None
        };
        if let Some(outcome) = outcome {
            let objects = objects
                .iter()
                .zip(last)
                .map(|(object, health)| ObjectHealth {
                    object: object.clone(),
                    health: health.unwrap_or(Health {
                        status: Status::InProgress,
                        message: "not checked".to_owned(),
                    }),
                })
                .collect();
            return Ok(WaitReport {
                outcome,
                objects,
                elapsed: start.elapsed(),
            });
        }
        tokio::time::sleep(options.interval).await;
    }
}

async fn check(discovery: &Discovery, id: &ObjectRef) -> Result<Health, Error> {
    let resource = discovery.require(id).await?;
    Ok(match resource.get(discovery.client(), id).await? {
        Some(live) => health::health(&live),
        None => Health {
            status: Status::InProgress,
            message: "not found".to_owned(),
        },
    })
}
