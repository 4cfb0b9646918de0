//! The operator's flags as `--help` prints them, and a bad flag's error.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn run(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_gitops-operator"))
        .args(args)
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn help_lists_every_flag_with_its_default() {
    insta::assert_snapshot!(run(&["--help"]));
}

#[test]
fn a_malformed_duration_is_refused_before_connecting() {
    insta::assert_snapshot!(run(&["--lease-duration", "soon"]));
}
