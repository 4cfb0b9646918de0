//! `configMapGenerator` and `secretGenerator`, and the name-suffix hash kustomize appends to
//! generated names: the first 10 hex digits of the SHA-256 of Go's JSON encoding of
//! `{data, kind, name[, binaryData]}` (ConfigMap) or `{data, kind, name, type[, stringData]}`
//! (Secret), with `0 1 3 a e` mapped to `g h k m t`.

use std::fmt::Write as _;

use base64::Engine as _;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::kustfile::{GeneratorArgs, GeneratorOptions};
use super::resource::{Behavior, Resource};

/// What a generator needs from the build: reading files relative to the kustomization, under
/// its load restrictions.
pub(super) trait FileSource {
    /// Reads `path` (relative to the kustomization) for field `field`.
    fn read(&self, field: &str, path: &str) -> Result<Vec<u8>, super::Error>;
    /// Reports a problem with field `field` holding `value`.
    fn error(&self, field: &str, value: &str, message: String) -> super::Error;
}

/// Builds the ConfigMap or Secret of one generator entry.
pub(super) fn generate(
    kind: &str,
    args: &GeneratorArgs,
    global: Option<&GeneratorOptions>,
    field: &str,
    files: &dyn FileSource,
) -> Result<Resource, super::Error> {
    if args.name.is_empty() {
        return Err(files.error(field, "", format!("a {kind} generator must have a name")));
    }
    let behavior = match args.behavior.as_str() {
        "" | "create" => Behavior::Create,
        "merge" => Behavior::Merge,
        "replace" => Behavior::Replace,
        other => {
            return Err(files.error(
                &format!("{field}.behavior"),
                other,
                "expected create, merge or replace".into(),
            ));
        }
    };
    let pairs = load_pairs(args, field, files)?;
    let options = GeneratorOptions::merged_with_global(args.options.as_ref(), global);

    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(args.name));
    if !args.namespace.is_empty() {
        metadata.insert("namespace".into(), json!(args.namespace));
    }
    if !options.labels.is_empty() {
        metadata.insert("labels".into(), json!(options.labels));
    }
    if !options.annotations.is_empty() {
        metadata.insert("annotations".into(), json!(options.annotations));
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), json!("v1"));
    obj.insert("kind".into(), json!(kind));
    obj.insert("metadata".into(), Value::Object(metadata));
    if kind == "Secret" {
        obj.insert(
            "type".into(),
            json!(args.type_.as_deref().unwrap_or("Opaque")),
        );
        if !pairs.is_empty() {
            let data: Map<String, Value> = pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(encode_base64(&v))))
                .collect();
            obj.insert("data".into(), Value::Object(data));
        }
    } else {
        let mut data = Map::new();
        let mut binary = Map::new();
        for (k, v) in pairs {
            match String::from_utf8(v) {
                Ok(s) => data.insert(k, Value::String(s)),
                Err(e) => binary.insert(k, Value::String(encode_base64(&e.into_bytes()))),
            };
        }
        if !data.is_empty() {
            obj.insert("data".into(), Value::Object(data));
        }
        if !binary.is_empty() {
            obj.insert("binaryData".into(), Value::Object(binary));
        }
    }
    if options.immutable == Some(true) {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut res = Resource::new(obj, gitops_core::Origin::default());
    res.behavior = behavior;
    res.needs_hash = options.disable_name_suffix_hash != Some(true);
    Ok(res)
}

fn load_pairs(
    args: &GeneratorArgs,
    field: &str,
    files: &dyn FileSource,
) -> Result<Vec<(String, Vec<u8>)>, super::Error> {
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, env) in args.envs.iter().enumerate() {
        let content = files.read(&format!("{field}.envs[{i}]"), env)?;
        let text = String::from_utf8(content).map_err(|_| {
            files.error(
                &format!("{field}.envs[{i}]"),
                env,
                "the env file is not valid UTF-8".into(),
            )
        })?;
        for (n, line) in text.lines().enumerate() {
            let line = if n == 0 {
                line.trim_start_matches('\u{feff}')
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line.split_once('=').unwrap_or((line, ""));
            if !is_env_var_name(key) {
                return Err(files.error(
                    &format!("{field}.envs[{i}]"),
                    env,
                    format!(
                        "line {}: `{key}` is not a valid environment variable name",
                        n + 1
                    ),
                ));
            }
            pairs.push((key.to_owned(), value.as_bytes().to_vec()));
        }
    }
    for (i, literal) in args.literals.iter().enumerate() {
        let Some((key, value)) = literal.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(files.error(
                &format!("{field}.literals[{i}]"),
                literal,
                "expected key=value".into(),
            ));
        };
        pairs.push((key.to_owned(), remove_quotes(value).as_bytes().to_vec()));
    }
    for (i, source) in args.files.iter().enumerate() {
        let f = format!("{field}.files[{i}]");
        let (key, path) = match source.matches('=').count() {
            0 => (
                source.rsplit('/').next().unwrap_or(source).to_owned(),
                source.as_str(),
            ),
            1 => {
                let (k, p) = source.split_once('=').unwrap_or_default();
                if k.is_empty() || p.is_empty() {
                    return Err(files.error(&f, source, "expected [key=]path".into()));
                }
                (k.to_owned(), p)
            }
            _ => {
                return Err(files.error(&f, source, "key name or file path contains '='".into()));
            }
        };
        let content = files.read(&f, path)?;
        pairs.push((key, content));
    }
    let mut seen = std::collections::HashSet::new();
    for (key, _) in &pairs {
        if !is_config_key(key) {
            return Err(files.error(
                field,
                &args.name,
                format!("`{key}` is not a valid key: use letters, digits, '-', '_' and '.'"),
            ));
        }
        if !seen.insert(key.clone()) {
            return Err(files.error(field, &args.name, format!("the key `{key}` is repeated")));
        }
    }
    Ok(pairs)
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

fn is_env_var_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '-' || c == '.')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

fn is_config_key(key: &str) -> bool {
    !key.is_empty()
        && key != "."
        && key != ".."
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// Base64 as kustomize writes Secret data: lines of 70 characters, each ending in a newline,
/// when the encoding is 70 characters or longer.
fn encode_base64(data: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    if encoded.len() < 70 {
        return encoded;
    }
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 70 + 1);
    for chunk in encoded.as_bytes().chunks(70) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// kustomize's hash of a ConfigMap or Secret (other kinds: of the whole object).
pub(super) fn hash(obj: &Map<String, Value>) -> String {
    let get = |k: &str| obj.get(k).cloned().unwrap_or_else(|| json!(""));
    // kustomize v5.6 looks the name up with a path its lookup takes as one field name, so the
    // name is always hashed as "" (checked against `kubectl kustomize`).
    let name = json!("");
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
    let mut m = Map::new();
    match kind {
        "ConfigMap" => {
            m.insert("kind".into(), json!("ConfigMap"));
            m.insert("name".into(), name);
            m.insert("data".into(), get("data"));
            if obj.get("binaryData").is_some_and(Value::is_object) {
                m.insert("binaryData".into(), get("binaryData"));
            }
        }
        "Secret" => {
            m.insert("kind".into(), json!("Secret"));
            m.insert("type".into(), get("type"));
            m.insert("name".into(), name);
            m.insert("data".into(), get("data"));
            if obj.get("stringData").is_some_and(Value::is_object) {
                m.insert("stringData".into(), get("stringData"));
            }
        }
        _ => {
            m = obj.clone();
        }
    }
    let mut encoded = String::new();
    go_json(&Value::Object(m), &mut encoded);
    let digest = Sha256::digest(encoded.as_bytes());
    let hex: String = digest.iter().take(5).fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    });
    hex.chars()
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

/// Go's `encoding/json` encoding: keys sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped.
pub(super) fn go_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(&map[k], out);
            }
            out.push('}');
        }
    }
}

fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_json_sorts_and_escapes_like_go() {
        let mut s = String::new();
        go_json(&json!({"b": "x<y>&\n", "a": ""}), &mut s);
        assert_eq!(s, r#"{"a":"","b":"x\u003cy\u003e\u0026\n"}"#);
    }

    #[test]
    fn long_secret_values_wrap_at_70() {
        let s = encode_base64(&[7u8; 60]);
        assert!(s.ends_with('\n'));
        assert_eq!(s.lines().next().unwrap().len(), 70);
        assert_eq!(encode_base64(b"ab"), "YWI=");
    }

    #[test]
    fn hash_matches_kustomize() {
        // `kubectl kustomize` names this ConfigMap `staging-env-config-42m8gk5kg2`
        // (kustomize/examples/ldap/overlays/staging).
        let obj = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "staging-env-config"},
            "data": {"config.env": "DB_USERNAME=admin\nDB_PASSWORD=somepw\n"}
        });
        assert_eq!(hash(obj.as_object().unwrap()), "42m8gk5kg2");
    }
}
