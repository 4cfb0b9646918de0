//! Fixtures shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use gitops_rollout::Rollout;
use gitops_rollout::simulate::Script;

/// The workspace's `fixtures/rollout` directory.
pub(crate) fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/rollout")
}

/// Reads a rollout fixture.
pub(crate) fn rollout(name: &str) -> Rollout {
    let path = fixtures().join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    gitops_rollout::load::from_yaml(&text, Some(&path))
        .unwrap()
        .rollout
}

/// Reads a rollout from YAML text.
pub(crate) fn parse(text: &str) -> Rollout {
    gitops_rollout::load::from_yaml(text, None).unwrap().rollout
}

/// Reads an observation script fixture.
pub(crate) fn script(name: &str) -> Script {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    let value = gitops_core::yaml::parse_value(&text, gitops_core::yaml::Schema::Yaml12).unwrap();
    serde_json::from_value(value).unwrap()
}
