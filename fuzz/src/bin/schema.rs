//! JSON schema: the input is a chart's values.schema.json.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        gitops_fuzz::render_chart_with(&[("values.schema.json", data)], &Default::default());
    });
}
