//! A repository is untrusted input: nothing it renders may read a file outside it, whatever
//! the path, `..`, absolute name or chain of links it uses (issue 19, "Reads outside the
//! root"). Each test is named after the attack.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use gitops_render::unit::{self, UnitSpec};
use gitops_render::{RenderOptions, render};

/// A repository `repo/` next to a host file `secret` that must never be read.
struct Setup {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    secret: PathBuf,
}

const SECRET: &str =
    "apiVersion: v1\nkind: Secret\nmetadata: {name: leaked}\nstringData: {token: hunter2}\n";

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    Setup {
        _dir: dir,
        repo,
        secret,
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn spec(dir: &str) -> UnitSpec {
    let mut spec = UnitSpec::default();
    spec.path = PathBuf::from(dir);
    spec
}

/// Renders `dir` as the operator renders a unit of the repository at `root`, and returns the
/// error, which must say the file was outside.
fn unit_error(root: &Path, dir: &str) -> String {
    let spec = spec(dir);
    let Err(err) = unit::render(root, &spec, &RenderOptions::default()) else {
        panic!("the render of `{dir}` must fail");
    };
    let message = gitops_core::error_chain(&err);
    assert!(!message.contains("hunter2"), "{message}");
    message
}

#[test]
fn symlink_chain_climbing_out_link_by_link_is_refused() {
    let s = setup();
    // `.l0 → .`, `.l1 → .l0/..`, …: each link looks inside on its own.
    symlink(".", s.repo.join(".l0")).unwrap();
    for i in 1..=20 {
        symlink(format!(".l{}/..", i - 1), s.repo.join(format!(".l{i}"))).unwrap();
    }
    let target = format!(
        ".l20/{}",
        s.secret.to_string_lossy().trim_start_matches('/')
    );
    std::fs::create_dir(s.repo.join("app")).unwrap();
    symlink(format!("../{target}"), s.repo.join("app/leak.yaml")).unwrap();
    let message = unit_error(&s.repo, "app");
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn plain_directory_link_to_a_host_file_is_refused() {
    let s = setup();
    symlink(&s.secret, s.repo.join("x.yaml")).unwrap();
    let message = unit_error(&s.repo, ".");
    assert!(
        message.contains("x.yaml") && message.contains("outside"),
        "{message}"
    );
}

#[test]
fn unit_path_that_is_a_link_out_of_the_repository_is_refused() {
    let s = setup();
    symlink(s.secret.parent().unwrap(), s.repo.join("apps")).unwrap();
    let message = unit_error(&s.repo, "apps");
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn flux_overlay_patch_path_outside_the_repository_is_refused() {
    // Flux builds with kustomize's load restrictor off; the source's root still holds.
    let s = setup();
    write(
        &s.repo.join("app/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    );
    write(
        &s.repo.join("app/kustomization.yaml"),
        &format!(
            "resources: [cm.yaml]\npatches:\n- path: {}\n",
            s.secret.display()
        ),
    );
    let mut spec = spec("app");
    spec.name_prefix = Some("p-".to_owned());
    let err = unit::render(&s.repo, &spec, &RenderOptions::default()).unwrap_err();
    let message = gitops_core::error_chain(&err);
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn kustomize_resource_through_a_link_out_of_the_repository_is_refused() {
    let s = setup();
    write(
        &s.repo.join("app/kustomization.yaml"),
        "resources: [leak.yaml]\n",
    );
    symlink(&s.secret, s.repo.join("app/leak.yaml")).unwrap();
    let message = unit_error(&s.repo, "app");
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn jsonnet_import_of_an_absolute_path_is_refused() {
    let s = setup();
    write(
        &s.repo.join("app/main.jsonnet"),
        &format!("{{ leaked: importstr '{}' }}", s.secret.display()),
    );
    let message = unit_error(&s.repo, "app");
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn jsonnet_import_climbing_out_with_dotdot_is_refused() {
    let s = setup();
    write(
        &s.repo.join("app/main.jsonnet"),
        "{ leaked: importstr '../../secret' }",
    );
    let message = unit_error(&s.repo, "app");
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn jsonnet_importstr_of_proc_self_environ_is_refused() {
    let s = setup();
    write(
        &s.repo.join("app/main.jsonnet"),
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'env' }, \
         data: { env: importstr '/proc/self/environ' } }",
    );
    let message = unit_error(&s.repo, "app");
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn jsonnet_import_through_a_link_out_of_the_repository_is_refused() {
    let s = setup();
    write(
        &s.repo.join("app/main.jsonnet"),
        "{ leaked: importstr 'lib.txt' }",
    );
    symlink(&s.secret, s.repo.join("app/lib.txt")).unwrap();
    let message = unit_error(&s.repo, "app");
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn jsonnet_imports_inside_the_repository_still_work() {
    let s = setup();
    write(&s.repo.join("lib/names.libsonnet"), "{ name: 'from-lib' }");
    write(
        &s.repo.join("app/main.jsonnet"),
        "local lib = import '../lib/names.libsonnet';\n\
         { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: lib.name } }",
    );
    let spec = spec("app");
    let rendered = unit::render(&s.repo, &spec, &RenderOptions::default()).unwrap();
    assert_eq!(rendered.objects[0].object.name(), "from-lib");
}

#[test]
fn jsonnet_load_restrictor_none_lifts_the_confinement() {
    let s = setup();
    write(
        &s.repo.join("app/main.jsonnet"),
        "{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: std.strReplace(importstr '../../secret', '\\n', '')[0:4] } }",
    );
    let mut options = RenderOptions::default();
    options.kustomize = options
        .kustomize
        .with_load_restrictor(gitops_render::kustomize::LoadRestrictor::None);
    let rendered = render(&s.repo.join("app/main.jsonnet"), &options).unwrap();
    assert_eq!(rendered.objects[0].object.name(), "apiV");
}

#[test]
fn helm_chart_files_get_through_a_link_out_of_the_chart_is_refused() {
    let s = setup();
    let chart = s.repo.join("chart");
    write(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: leak\nversion: 0.1.0\n",
    );
    write(
        &chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: leak}\ndata:\n  x: {{ .Files.Get \"files/x\" | quote }}\n",
    );
    std::fs::create_dir_all(chart.join("files")).unwrap();
    symlink(&s.secret, chart.join("files/x")).unwrap();
    let message = unit_error(&s.repo, "chart");
    assert!(message.contains("outside"), "{message}");
}

#[test]
fn helm_chart_links_that_loop_are_read_once() {
    let s = setup();
    let chart = s.repo.join("chart");
    write(
        &chart.join("Chart.yaml"),
        "apiVersion: v2\nname: loops\nversion: 0.1.0\n",
    );
    write(
        &chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: loops}\n",
    );
    symlink(".", chart.join("files")).unwrap();
    symlink("..", chart.join("templates/up")).unwrap();
    let spec = spec("chart");
    let rendered = unit::render(&s.repo, &spec, &RenderOptions::default()).unwrap();
    assert_eq!(rendered.objects.len(), 1);
}
