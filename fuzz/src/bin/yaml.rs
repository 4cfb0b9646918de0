//! The YAML loader: manifests of any number of documents, with positions.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        if let Ok(text) = std::str::from_utf8(data) {
            let _ = gitops_core::manifest::parse_yaml(text, None, gitops_core::yaml::Schema::Yaml12);
            let _ = gitops_core::yaml::parse_value(text, gitops_core::yaml::Schema::Yaml11);
        }
    });
}
