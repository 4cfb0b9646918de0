//! What a reconciliation should do now, and when to come back: the requeue decisions of both
//! controllers, and the retry backoff. Pure: times are passed in as durations since events.
//!
//! A controller is woken by many things that are not news (its own status writes, a change of
//! an unrelated dependency); these functions tell a wake-up that needs work from one that only
//! needs to go back to sleep until the next interval or retry.

use std::time::Duration;

/// The longest wait between retries, whatever the backoff says.
pub const MAX_RETRY: Duration = Duration::from_secs(600);

/// The wait before retry number `failures` (1 for the first retry): `retry_interval` doubled
/// for each failure before it, capped at [`MAX_RETRY`] (or `retry_interval` if that is longer).
#[must_use]
pub fn retry_delay(retry_interval: Duration, failures: u32) -> Duration {
    let cap = MAX_RETRY.max(retry_interval);
    let doublings = failures.saturating_sub(1).min(20);
    retry_interval
        .checked_mul(1u32 << doublings)
        .unwrap_or(cap)
        .min(cap)
}

/// What a wake-up knows about a unit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitFacts {
    /// The source offers a revision (or, at the same revision, content: see [`new_content`])
    /// that was never attempted.
    pub new_revision: bool,
    /// `metadata.generation` differs from `status.observedGeneration`.
    pub spec_changed: bool,
    /// The `requestedAt` annotation differs from `status.lastHandledReconcileAt`.
    pub requested: bool,
    /// The last attempt did not end Ready.
    pub failed: bool,
    /// The last attempt stopped because a dependency was not ready (now they all are).
    pub was_waiting_for_dependencies: bool,
    /// Time since this operator last ran the unit fully (apply or drift check); `None` when it
    /// never did (first sight after a start or a leader change).
    pub since_last_run: Option<Duration>,
    /// Time since the last failure, when `failed`.
    pub since_failure: Option<Duration>,
    /// Consecutive failures so far.
    pub failures: u32,
}

/// What to do on a wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Render and apply (and prune and health-check).
    Apply,
    /// Render and compare with the cluster; heal or report drift.
    DriftCheck,
    /// Nothing is due: sleep this long, then look again.
    Wait(Duration),
}

/// Decides a unit's wake-up: something new (revision, spec, request, dependencies now ready)
/// applies at once; a failed unit retries when its backoff has passed; a healthy one checks for
/// drift every `interval`.
#[must_use]
pub fn plan_unit(facts: &UnitFacts, interval: Duration, retry_interval: Duration) -> Plan {
    if facts.new_revision
        || facts.spec_changed
        || facts.requested
        || facts.was_waiting_for_dependencies
    {
        return Plan::Apply;
    }
    if facts.failed {
        let delay = retry_delay(retry_interval, facts.failures.max(1));
        return match facts.since_failure {
            Some(since) if since < delay => Plan::Wait(delay - since),
            _ => Plan::Apply,
        };
    }
    match facts.since_last_run {
        Some(since) if since < interval => Plan::Wait(interval - since),
        _ => Plan::DriftCheck,
    }
}

/// What a wake-up knows about a source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceFacts {
    /// It has no artifact yet.
    pub no_artifact: bool,
    /// `metadata.generation` differs from `status.observedGeneration`.
    pub spec_changed: bool,
    /// An included repository's artifact is newer than this one's.
    pub includes_changed: bool,
    /// The `requestedAt` annotation differs from `status.lastHandledReconcileAt`.
    pub requested: bool,
    /// The last fetch failed.
    pub failed: bool,
    /// Time since this operator last fetched it.
    pub since_last_fetch: Option<Duration>,
    /// Consecutive failures so far.
    pub failures: u32,
}

/// Decides whether to fetch a source now: when new, changed, requested, due by interval, or due
/// for a retry (with backoff) after a failure.
#[must_use]
pub fn plan_source(facts: &SourceFacts, interval: Duration) -> Option<Duration> {
    if facts.no_artifact && !facts.failed
        || facts.spec_changed
        || facts.requested
        || facts.includes_changed
    {
        return None;
    }
    let period = if facts.failed {
        retry_delay(interval.min(Duration::from_secs(60)), facts.failures.max(1))
    } else {
        interval
    };
    match facts.since_last_fetch {
        Some(since) if since < period => Some(period - since),
        _ => None,
    }
}

/// Whether the source offers content the unit never attempted: a revision other than the last
/// attempted one, or the same revision with another digest (an included repository changed).
/// The digest is kept in the unit's status (`lastAttemptedSourceDigest`), so a change made
/// while the operator was down is seen after a restart.
#[must_use]
pub fn new_content(
    attempted_revision: Option<&str>,
    attempted_digest: Option<&str>,
    revision: &str,
    digest: &str,
) -> bool {
    attempted_revision != Some(revision) || attempted_digest.is_some_and(|d| d != digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn retries_back_off_exponentially_up_to_a_cap() {
        assert_eq!(retry_delay(S(5), 1), S(5));
        assert_eq!(retry_delay(S(5), 2), S(10));
        assert_eq!(retry_delay(S(5), 4), S(40));
        assert_eq!(retry_delay(S(5), 30), MAX_RETRY);
        assert_eq!(retry_delay(S(3600), 3), S(3600));
        assert_eq!(retry_delay(S(5), 0), S(5));
    }

    #[test]
    fn news_applies_at_once() {
        for facts in [
            UnitFacts {
                new_revision: true,
                ..UnitFacts::default()
            },
            UnitFacts {
                spec_changed: true,
                ..UnitFacts::default()
            },
            UnitFacts {
                requested: true,
                ..UnitFacts::default()
            },
            UnitFacts {
                was_waiting_for_dependencies: true,
                failed: true,
                since_failure: Some(S(0)),
                failures: 3,
                ..UnitFacts::default()
            },
        ] {
            assert_eq!(plan_unit(&facts, S(60), S(10)), Plan::Apply, "{facts:?}");
        }
    }

    #[test]
    fn a_failed_unit_waits_for_its_backoff() {
        let facts = UnitFacts {
            failed: true,
            since_failure: Some(S(4)),
            failures: 2,
            since_last_run: Some(S(4)),
            ..UnitFacts::default()
        };
        assert_eq!(plan_unit(&facts, S(60), S(5)), Plan::Wait(S(6)));
        let due = UnitFacts {
            since_failure: Some(S(10)),
            ..facts
        };
        assert_eq!(plan_unit(&due, S(60), S(5)), Plan::Apply);
        // After a restart nothing is remembered: retry now.
        let unknown = UnitFacts {
            since_failure: None,
            ..facts
        };
        assert_eq!(plan_unit(&unknown, S(60), S(5)), Plan::Apply);
    }

    #[test]
    fn a_healthy_unit_checks_drift_each_interval() {
        let early = UnitFacts {
            since_last_run: Some(S(20)),
            ..UnitFacts::default()
        };
        assert_eq!(plan_unit(&early, S(60), S(5)), Plan::Wait(S(40)));
        let due = UnitFacts {
            since_last_run: Some(S(60)),
            ..UnitFacts::default()
        };
        assert_eq!(plan_unit(&due, S(60), S(5)), Plan::DriftCheck);
        let never = UnitFacts::default();
        assert_eq!(plan_unit(&never, S(60), S(5)), Plan::DriftCheck);
    }

    #[test]
    fn sources_fetch_when_new_changed_requested_or_due() {
        let fresh = SourceFacts {
            no_artifact: true,
            ..SourceFacts::default()
        };
        assert_eq!(plan_source(&fresh, S(60)), None);
        let recent = SourceFacts {
            since_last_fetch: Some(S(10)),
            ..SourceFacts::default()
        };
        assert_eq!(plan_source(&recent, S(60)), Some(S(50)));
        let requested = SourceFacts {
            requested: true,
            ..recent
        };
        assert_eq!(plan_source(&requested, S(60)), None);
        let changed = SourceFacts {
            spec_changed: true,
            ..recent
        };
        assert_eq!(plan_source(&changed, S(60)), None);
        let due = SourceFacts {
            since_last_fetch: Some(S(60)),
            ..SourceFacts::default()
        };
        assert_eq!(plan_source(&due, S(60)), None);
        let failing = SourceFacts {
            no_artifact: true,
            failed: true,
            failures: 2,
            since_last_fetch: Some(S(1)),
            ..SourceFacts::default()
        };
        // Retry of a failed fetch: min(interval, 60s) doubled once, minus the time passed.
        assert_eq!(plan_source(&failing, S(5)), Some(S(9)));
    }

    #[test]
    fn the_same_revision_with_another_digest_is_new_content() {
        let (revision, digest) = ("main@sha1:aaa", "sha256:two");
        // An included repository changed: same revision, new digest.
        assert!(new_content(
            Some(revision),
            Some("sha256:one"),
            revision,
            digest
        ));
        assert!(!new_content(Some(revision), Some(digest), revision, digest));
        // A new revision, whatever the digest.
        assert!(new_content(
            Some("main@sha1:bbb"),
            Some(digest),
            revision,
            digest
        ));
        // No digest recorded (a unit last tried by an older operator): the revision decides.
        assert!(!new_content(Some(revision), None, revision, digest));
        assert!(new_content(None, None, revision, digest));
    }
}
