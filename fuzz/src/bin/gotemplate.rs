//! Go templates with Sprig and Helm's functions: the input is a chart template.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        gitops_fuzz::render_chart_with(&[("templates/fuzz.yaml", data)], &Default::default());
    });
}
