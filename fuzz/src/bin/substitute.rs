//! Flux's post-build substitution: the input is a ConfigMap value with `${...}` expressions.
fn main() {
    afl::fuzz!(|data: &[u8]| {
        let Ok(text) = std::str::from_utf8(data) else { return };
        let object = serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fuzz"},
            "data": {"value": text},
        });
        let Ok(object) = gitops_core::Object::from_value(object) else { return };
        let vars = [("region".to_owned(), "eu".to_owned()), ("a".to_owned(), "${b}".to_owned())]
            .into_iter()
            .collect();
        let origin = gitops_core::Origin::default();
        let _ = gitops_render::substitute::substitute_object(&object, &origin, &vars, false);
        let _ = gitops_render::substitute::substitute_object(&object, &origin, &vars, true);
    });
}
