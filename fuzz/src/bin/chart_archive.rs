//! Chart archives: the input is a `.tgz` (gzip, tar, paths, sizes all attacker-chosen).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Some(dir) = gitops_fuzz::dir_with(&[("chart.tgz", data)]) else { return };
        let path = dir.path().join("chart.tgz");
        if gitops_fuzz::exists(&path) {
            let _ = gitops_render::helm::render_chart(&path, &Default::default());
        }
    });
}
