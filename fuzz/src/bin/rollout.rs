//! Rollout specs (ours, Flagger's Canary, Argo's Rollout) and the plan built from them.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else { return };
        if let Ok(all) = gitops_rollout::load::load_all(text, None) {
            for loaded in all {
                let _ = gitops_rollout::plan::Plan::build(&loaded.rollout);
            }
        }
    });
}
