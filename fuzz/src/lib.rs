//! Shared by the fuzz targets: a scratch chart directory the Helm targets render, so that each
//! target only says which file the input becomes.

use std::path::Path;

use gitops_render::helm::{HelmOptions, render_chart};

/// A chart `fuzz` with `files` (path, content) on top of a minimal Chart.yaml, values and
/// template, rendered with `options`; the result is dropped: only a crash or a hang counts.
pub fn render_chart_with(files: &[(&str, &[u8])], options: &HelmOptions) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let base: [(&str, &[u8]); 3] = [
        ("Chart.yaml", b"apiVersion: v2\nname: fuzz\nversion: 0.1.0\n"),
        ("values.yaml", b"name: fuzz\nlist: [1, 2]\nmap: {a: b}\n"),
        (
            "templates/cm.yaml",
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\n",
        ),
    ];
    for (path, content) in base.iter().chain(files) {
        let file = dir.path().join(path);
        if let Some(parent) = file.parent()
            && std::fs::create_dir_all(parent).is_err()
        {
            return;
        }
        if std::fs::write(&file, content).is_err() {
            return;
        }
    }
    let _ = render_chart(dir.path(), options);
}

/// A scratch directory with `files`, for the targets that render directories.
pub fn dir_with(files: &[(&str, &[u8])]) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().ok()?;
    for (path, content) in files {
        std::fs::write(dir.path().join(path), content).ok()?;
    }
    Some(dir)
}

/// Whether `path` exists (keeps `Path` in use for targets that only need the helpers).
pub fn exists(path: &Path) -> bool {
    path.exists()
}
