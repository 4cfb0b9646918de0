//! `values.schema.json` validation: a JSON Schema subset covering what charts use (types,
//! `required`, `properties`, `additionalProperties`, `items`, `enum`, `const`, numeric and
//! length bounds, `pattern`, `allOf`/`anyOf`/`oneOf`/`not`, local `$ref`s), with messages in
//! the words Helm v4 prints (`- at '/age': minimum: got -5, want 0`).

use std::fmt;

use serde_json::Value as Json;

use super::funcs::compile_regex;

/// Validates `value` against `schema`; returns one line per violation.
pub(crate) fn validate(schema: &Json, value: &Json) -> Vec<String> {
    let mut errs = Vec::new();
    check(schema, schema, value, &At::Root, &mut errs);
    errs
}

/// Where a value sits, as a JSON pointer (`/a/0/b`). Kept as a chain of references and written
/// out only for an error message: most values are valid, and formatting every path was a
/// measurable part of validating a large chart's values.
#[derive(Clone, Copy)]
enum At<'a> {
    Root,
    Key(&'a At<'a>, &'a str),
    Index(&'a At<'a>, usize),
}

impl fmt::Display for At<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            At::Root => Ok(()),
            At::Key(parent, k) => write!(f, "{parent}/{}", k.replace('~', "~0").replace('/', "~1")),
            At::Index(parent, i) => write!(f, "{parent}/{i}"),
        }
    }
}

fn type_name(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(n) => {
            if n.as_f64().is_some_and(|f| f.fract() == 0.0) {
                "integer"
            } else {
                "number"
            }
        }
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn type_ok(t: &str, v: &Json) -> bool {
    let actual = type_name(v);
    t == actual || (t == "number" && actual == "integer")
}

fn num(v: &Json) -> Option<f64> {
    v.as_f64()
}

fn fmt_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn resolve<'a>(root: &'a Json, r: &str) -> Option<&'a Json> {
    let ptr = r.strip_prefix('#')?;
    root.pointer(ptr)
}

fn check(root: &Json, schema: &Json, v: &Json, at: &At<'_>, errs: &mut Vec<String>) {
    let Json::Object(s) = schema else {
        if schema == &Json::Bool(false) {
            errs.push(format!("- at '{at}': false schema"));
        }
        return;
    };
    if let Some(Json::String(r)) = s.get("$ref")
        && let Some(target) = resolve(root, r)
    {
        check(root, target, v, at, errs);
    }
    match s.get("type") {
        Some(Json::String(t)) if !type_ok(t, v) => {
            errs.push(format!("- at '{at}': got {}, want {t}", type_name(v)));
            return;
        }
        Some(Json::Array(ts)) if !ts.iter().any(|t| t.as_str().is_some_and(|t| type_ok(t, v))) => {
            let want: Vec<&str> = ts.iter().filter_map(Json::as_str).collect();
            errs.push(format!(
                "- at '{at}': got {}, want {}",
                type_name(v),
                want.join(" or ")
            ));
            return;
        }
        _ => {}
    }
    if let Some(Json::Array(e)) = s.get("enum")
        && !e.contains(v)
    {
        let opts: Vec<String> = e
            .iter()
            .map(|x| match x {
                Json::String(s) => format!("'{s}'"),
                other => other.to_string(),
            })
            .collect();
        errs.push(format!(
            "- at '{at}': value must be one of {}",
            opts.join(", ")
        ));
    }
    if let Some(c) = s.get("const")
        && c != v
    {
        errs.push(format!("- at '{at}': value must be {c}"));
    }
    if let Some(x) = num(v) {
        let bound = |k: &str| s.get(k).and_then(num);
        if let Some(m) = bound("minimum").filter(|m| x < *m) {
            errs.push(format!(
                "- at '{at}': minimum: got {}, want {}",
                fmt_num(x),
                fmt_num(m)
            ));
        }
        if let Some(m) = bound("maximum").filter(|m| x > *m) {
            errs.push(format!(
                "- at '{at}': maximum: got {}, want {}",
                fmt_num(x),
                fmt_num(m)
            ));
        }
        if let Some(m) = bound("exclusiveMinimum").filter(|m| x <= *m) {
            errs.push(format!(
                "- at '{at}': exclusiveMinimum: got {}, want {}",
                fmt_num(x),
                fmt_num(m)
            ));
        }
        if let Some(m) = bound("exclusiveMaximum").filter(|m| x >= *m) {
            errs.push(format!(
                "- at '{at}': exclusiveMaximum: got {}, want {}",
                fmt_num(x),
                fmt_num(m)
            ));
        }
    }
    if let Json::String(text) = v {
        let len = text.chars().count() as f64;
        if let Some(m) = s.get("minLength").and_then(num).filter(|m| len < *m) {
            errs.push(format!(
                "- at '{at}': minLength: got {}, want {}",
                fmt_num(len),
                fmt_num(m)
            ));
        }
        if let Some(m) = s.get("maxLength").and_then(num).filter(|m| len > *m) {
            errs.push(format!(
                "- at '{at}': maxLength: got {}, want {}",
                fmt_num(len),
                fmt_num(m)
            ));
        }
        if let Some(Json::String(p)) = s.get("pattern")
            && let Ok(re) = compile_regex(p)
            && !re.is_match(text)
        {
            errs.push(format!(
                "- at '{at}': '{text}' does not match pattern '{p}'"
            ));
        }
    }
    if let Json::Object(m) = v {
        if let Some(Json::Array(req)) = s.get("required") {
            let missing: Vec<String> = req
                .iter()
                .filter_map(Json::as_str)
                .filter(|k| !m.contains_key(*k))
                .map(|k| format!("'{k}'"))
                .collect();
            match missing.len() {
                0 => {}
                1 => errs.push(format!("- at '{at}': missing property {}", missing[0])),
                _ => errs.push(format!(
                    "- at '{at}': missing properties {}",
                    missing.join(", ")
                )),
            }
        }
        let props = s.get("properties").and_then(Json::as_object);
        let mut extra = Vec::new();
        for (k, x) in m {
            let child_at = At::Key(at, k);
            if let Some(ps) = props.and_then(|p| p.get(k)) {
                check(root, ps, x, &child_at, errs);
            } else if let Some(ap) = s.get("additionalProperties") {
                if ap == &Json::Bool(false) {
                    extra.push(format!("'{k}'"));
                } else {
                    check(root, ap, x, &child_at, errs);
                }
            }
        }
        if !extra.is_empty() {
            errs.push(format!(
                "- at '{at}': additional properties {} not allowed",
                extra.join(", ")
            ));
        }
    }
    if let Json::Array(items) = v {
        if let Some(is) = s.get("items") {
            for (i, x) in items.iter().enumerate() {
                check(root, is, x, &At::Index(at, i), errs);
            }
        }
        let n = items.len() as f64;
        if let Some(m) = s.get("minItems").and_then(num).filter(|m| n < *m) {
            errs.push(format!(
                "- at '{at}': minItems: got {}, want {}",
                fmt_num(n),
                fmt_num(m)
            ));
        }
        if let Some(m) = s.get("maxItems").and_then(num).filter(|m| n > *m) {
            errs.push(format!(
                "- at '{at}': maxItems: got {}, want {}",
                fmt_num(n),
                fmt_num(m)
            ));
        }
    }
    if let Some(Json::Array(all)) = s.get("allOf") {
        for sub in all {
            check(root, sub, v, at, errs);
        }
    }
    let passes = |sub: &Json| {
        let mut e = Vec::new();
        check(root, sub, v, at, &mut e);
        e.is_empty()
    };
    if let Some(Json::Array(any)) = s.get("anyOf")
        && !any.iter().any(passes)
    {
        errs.push(format!("- at '{at}': anyOf failed"));
    }
    if let Some(Json::Array(one)) = s.get("oneOf") {
        let n = one.iter().filter(|x| passes(x)).count();
        if n != 1 {
            errs.push(format!("- at '{at}': oneOf failed, {n} subschemas matched"));
        }
    }
    if let Some(not) = s.get("not")
        && passes(not)
    {
        errs.push(format!("- at '{at}': not failed"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_json_pointer_of_the_value() {
        let schema: Json = serde_json::json!({
            "properties": {
                "a/b": {"properties": {"x~y": {"type": "string"}}},
                "list": {"items": {"type": "integer", "minimum": 0}},
                "name": {"type": "string", "pattern": "^[a-z]+$"}
            },
            "additionalProperties": {"type": "boolean"}
        });
        let value: Json = serde_json::json!({
            "a/b": {"x~y": 1},
            "list": [1, -2],
            "name": "Bad",
            "other": "no"
        });
        assert_eq!(
            validate(&schema, &value),
            [
                "- at '/a~1b/x~0y': got integer, want string",
                "- at '/list/1': minimum: got -2, want 0",
                "- at '/name': 'Bad' does not match pattern '^[a-z]+$'",
                "- at '/other': got string, want boolean",
            ]
        );
    }
}
