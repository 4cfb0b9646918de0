//! Jsonnet programs (evaluated with imports confined to a scratch directory).
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(code) = std::str::from_utf8(data) else { return };
        let Some(dir) = gitops_fuzz::dir_with(&[("lib.libsonnet", b"{ a: 1 }")]) else { return };
        let mut options = gitops_render::jsonnet::JsonnetOptions::default();
        options.boundary = gitops_core::confine::Boundary::new(dir.path()).ok();
        let _ = gitops_render::jsonnet::evaluate_snippet("fuzz", code, dir.path(), &options);
    });
}
