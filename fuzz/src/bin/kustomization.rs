//! Kustomization files and their patches: the input is the kustomization of a directory that
//! also holds a Deployment and a patch file.
const BASE: &[u8] = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n";
const PATCH: &[u8] = b"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n";

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some(dir) = gitops_fuzz::dir_with(&[
            ("kustomization.yaml", data),
            ("deploy.yaml", BASE),
            ("patch.yaml", PATCH),
        ]) else {
            return;
        };
        let _ = gitops_render::kustomize::build(dir.path(), &Default::default());
    });
}
