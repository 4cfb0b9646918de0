//! Integration tests of the `gitops` binary: exit code, stdout and stderr, snapshot-tested.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod apply;
mod build;
mod common;
mod git;
mod helm_template;
mod help;
mod install;
mod jsonnet;
mod repo;
mod rollout;
mod unit;
