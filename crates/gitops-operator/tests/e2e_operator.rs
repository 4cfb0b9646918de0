//! The operator as a process against the real control plane of `scripts/testenv`, with Git
//! served by `git daemon` on loopback. Each test has its own namespace (watched by its own
//! operator, which also holds its Lease there). Built only with the `e2e` feature.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

include!("e2e_operator/world.rs");

#[path = "e2e_operator/fixtures.rs"]
mod fixtures;
#[path = "e2e_operator/isolation.rs"]
mod isolation;
#[path = "e2e_operator/operations.rs"]
mod operations;
#[path = "e2e_operator/releases.rs"]
mod releases;
#[path = "e2e_operator/remote.rs"]
mod remote;
#[path = "e2e_operator/repositories.rs"]
mod repositories;
#[path = "e2e_operator/rollout_routers.rs"]
mod rollout_routers;
#[path = "e2e_operator/rollouts.rs"]
mod rollouts;
#[path = "e2e_operator/units.rs"]
mod units;
