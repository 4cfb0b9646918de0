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

/// The keywords the validator reads, taken from a schema object in one pass over its entries
/// (instead of a hashed lookup for each of them at every value checked).
struct Keywords<'a>([Option<&'a Json>; 21]);

impl<'a> Keywords<'a> {
    fn index(name: &str) -> Option<usize> {
        Some(match name {
            "$ref" => 0,
            "type" => 1,
            "enum" => 2,
            "const" => 3,
            "minimum" => 4,
            "maximum" => 5,
            "exclusiveMinimum" => 6,
            "exclusiveMaximum" => 7,
            "minLength" => 8,
            "maxLength" => 9,
            "pattern" => 10,
            "required" => 11,
            "properties" => 12,
            "additionalProperties" => 13,
            "items" => 14,
            "minItems" => 15,
            "maxItems" => 16,
            "allOf" => 17,
            "anyOf" => 18,
            "oneOf" => 19,
            "not" => 20,
            _ => return None,
        })
    }

    fn of(schema: &'a serde_json::Map<String, Json>) -> Self {
        let mut kw = [None; 21];
        for (name, v) in schema {
            if let Some(i) = Self::index(name) {
                kw[i] = Some(v);
            }
        }
        Keywords(kw)
    }

    /// The keyword's value; `name` must be one of those [`Keywords::index`] knows.
    #[inline]
    fn get(&self, name: &str) -> Option<&'a Json> {
        Self::index(name).and_then(|i| self.0[i])
    }
}

fn check(root: &Json, schema: &Json, v: &Json, at: &At<'_>, errs: &mut Vec<String>) {
    let Json::Object(s) = schema else {
        if schema == &Json::Bool(false) {
            errs.push(format!("- at '{at}': false schema"));
        }
        return;
    };
    let kw = Keywords::of(s);
    if let Some(Json::String(r)) = kw.get("$ref")
        && let Some(target) = resolve(root, r)
    {
        check(root, target, v, at, errs);
    }
    match kw.get("type") {
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
    if let Some(Json::Array(e)) = kw.get("enum")
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
    if let Some(c) = kw.get("const")
        && c != v
    {
        errs.push(format!("- at '{at}': value must be {c}"));
    }
    if let Some(x) = num(v) {
        let bound = |k: &str| kw.get(k).and_then(num);
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
        if let Some(m) = kw.get("minLength").and_then(num).filter(|m| len < *m) {
            errs.push(format!(
                "- at '{at}': minLength: got {}, want {}",
                fmt_num(len),
                fmt_num(m)
            ));
        }
        if let Some(m) = kw.get("maxLength").and_then(num).filter(|m| len > *m) {
            errs.push(format!(
                "- at '{at}': maxLength: got {}, want {}",
                fmt_num(len),
                fmt_num(m)
            ));
        }
        if let Some(Json::String(p)) = kw.get("pattern")
            && let Ok(re) = compile_regex(p)
            && !re.is_match(text)
        {
            errs.push(format!(
                "- at '{at}': '{text}' does not match pattern '{p}'"
            ));
        }
    }
    if let Json::Object(m) = v {
        if let Some(Json::Array(req)) = kw.get("required") {
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
        let props = kw.get("properties").and_then(Json::as_object);
        let mut extra = Vec::new();
        for (k, x) in m {
            let child_at = At::Key(at, k);
            if let Some(ps) = props.and_then(|p| p.get(k)) {
                check(root, ps, x, &child_at, errs);
            } else if let Some(ap) = kw.get("additionalProperties") {
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
        if let Some(is) = kw.get("items") {
            for (i, x) in items.iter().enumerate() {
                check(root, is, x, &At::Index(at, i), errs);
            }
        }
        let n = items.len() as f64;
        if let Some(m) = kw.get("minItems").and_then(num).filter(|m| n < *m) {
            errs.push(format!(
                "- at '{at}': minItems: got {}, want {}",
                fmt_num(n),
                fmt_num(m)
            ));
        }
        if let Some(m) = kw.get("maxItems").and_then(num).filter(|m| n > *m) {
            errs.push(format!(
                "- at '{at}': maxItems: got {}, want {}",
                fmt_num(n),
                fmt_num(m)
            ));
        }
    }
    if let Some(Json::Array(all)) = kw.get("allOf") {
        for sub in all {
            check(root, sub, v, at, errs);
        }
    }
    let passes = |sub: &Json| {
        let mut e = Vec::new();
        check(root, sub, v, at, &mut e);
        e.is_empty()
    };
    if let Some(Json::Array(any)) = kw.get("anyOf")
        && !any.iter().any(passes)
    {
        errs.push(format!("- at '{at}': anyOf failed"));
    }
    if let Some(Json::Array(one)) = kw.get("oneOf") {
        let n = one.iter().filter(|x| passes(x)).count();
        if n != 1 {
            errs.push(format!("- at '{at}': oneOf failed, {n} subschemas matched"));
        }
    }
    if let Some(not) = kw.get("not")
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

#[cfg(test)]
mod keyword_tests {
    use super::*;

    #[test]
    fn every_keyword_is_read() {
        let schema: Json = serde_json::json!({
            "definitions": {"port": {"type": "integer", "maximum": 10}},
            "required": ["needed"],
            "properties": {
                "e": {"enum": ["a", 1]},
                "c": {"const": 3},
                "r": {"$ref": "#/definitions/port"},
                "s": {"maxLength": 2, "minLength": 1},
                "x": {"exclusiveMinimum": 0, "exclusiveMaximum": 5},
                "l": {"minItems": 1, "maxItems": 1},
                "any": {"anyOf": [{"type": "string"}, {"type": "boolean"}]},
                "one": {"oneOf": [{"type": "number"}, {"type": "integer"}]},
                "all": {"allOf": [{"minimum": 2}]},
                "no": {"not": {"type": "string"}}
            },
            "additionalProperties": false
        });
        let value: Json = serde_json::json!({
            "e": "b", "c": 4, "r": 11, "s": "abc", "x": 5, "l": [],
            "any": 1, "one": 1, "all": 1, "no": "s", "extra": true
        });
        assert_eq!(
            validate(&schema, &value),
            [
                "- at '': missing property 'needed'",
                "- at '/e': value must be one of 'a', 1",
                "- at '/c': value must be 3",
                "- at '/r': maximum: got 11, want 10",
                "- at '/s': maxLength: got 3, want 2",
                "- at '/x': exclusiveMaximum: got 5, want 5",
                "- at '/l': minItems: got 0, want 1",
                "- at '/any': anyOf failed",
                "- at '/one': oneOf failed, 2 subschemas matched",
                "- at '/all': minimum: got 1, want 2",
                "- at '/no': not failed",
                "- at '': additional properties 'extra' not allowed",
            ]
        );
    }
}
