//! Values: the first line is a `--set`, the second a `--set-string`, the rest values.yaml.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else { return };
        let mut lines = text.splitn(3, '\n');
        let mut options = gitops_render::helm::HelmOptions::default();
        options.set = lines.next().map(str::to_owned).into_iter().collect();
        options.set_string = lines.next().map(str::to_owned).into_iter().collect();
        let values = lines.next().unwrap_or_default();
        gitops_fuzz::render_chart_with(&[("values.yaml", values.as_bytes())], &options);
    });
}
