//! Running the binary and turning its output into a stable snapshot.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root, where `fixtures/` lives.
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// Runs `gitops` with `args` in the workspace root.
pub(crate) fn gitops(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_gitops"));
    cmd.args(args)
        .current_dir(workspace_root())
        .env_remove("RUST_LOG");
    cmd
}

/// Runs the command and formats exit code, stdout and stderr for a snapshot; `replace` pairs turn
/// machine-specific paths into placeholders.
pub(crate) fn run(cmd: &mut Command, replace: &[(&str, &str)]) -> String {
    let output = cmd.output().unwrap();
    let mut text = format!(
        "exit code: {}\n----- stdout -----\n{}\n----- stderr -----\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    for (from, to) in replace {
        text = text.replace(from, to);
    }
    text
}
