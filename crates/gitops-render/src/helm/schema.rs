//! `values.schema.json` validation: a JSON Schema subset covering what charts use (types,
//! `required`, `properties`, `additionalProperties`, `items`, `enum`, `const`, numeric and
//! length bounds, `pattern`, `allOf`/`anyOf`/`oneOf`/`not`, local `$ref`s), with messages in
//! the words Helm v4 prints (`- at '/age': minimum: got -5, want 0`).

use std::cell::{Cell, RefCell};
use std::fmt;

use serde_json::Value as Json;

use super::funcs::compile_regex;

/// Parses a `values.schema.json`, leaving out the annotations validation never reads
/// (`description`, `default`, `title`, `examples`, `$comment` of schema objects): they are
/// most of a large chart's schema (bitnami/redis: 533 descriptions and 533 defaults), and
/// building them was a large part of loading the chart. Property names, enum and const data
/// and unknown keywords are kept whole. A schema with a `$ref` that does not lead anywhere in
/// the pruned document (it may point into an annotation) is parsed whole.
///
/// # Errors
/// The JSON syntax error, as `serde_json` reports it.
pub(crate) fn parse(data: &[u8]) -> Result<Json, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(data);
    let pruned = serde::de::DeserializeSeed::deserialize(Part(Mode::Schema), &mut de)?;
    de.end()?;
    if !refs_resolve(&pruned, &pruned) {
        return serde_json::from_slice(data);
    }
    Ok(pruned)
}

/// Whether every local `$ref` under `v` leads to a value of `root`. Pruning only removes keys,
/// so a pointer that resolves in the pruned document leads to the same schema as in the whole
/// one (less its annotations).
fn refs_resolve(root: &Json, v: &Json) -> bool {
    match v {
        Json::Object(m) => m.iter().all(|(k, x)| {
            let leads = match (k.as_str(), x) {
                ("$ref", Json::String(r)) => r
                    .strip_prefix('#')
                    .is_none_or(|p| root.pointer(p).is_some()),
                _ => true,
            };
            leads && refs_resolve(root, x)
        }),
        Json::Array(a) => a.iter().all(|x| refs_resolve(root, x)),
        _ => true,
    }
}

/// What a part of the schema document is: a schema object, a map from names to schemas
/// (`properties`, `definitions`), or data (kept whole).
#[derive(Clone, Copy)]
enum Mode {
    Schema,
    Names,
    Data,
}

/// What the value of schema keyword `keyword` is: a map of names to schemas, a schema (or a
/// list of them), or plain data.
fn keyword_mode(keyword: &str) -> Mode {
    match keyword {
        "properties" | "patternProperties" | "definitions" | "$defs" | "dependentSchemas" => {
            Mode::Names
        }
        "items"
        | "additionalItems"
        | "additionalProperties"
        | "not"
        | "allOf"
        | "anyOf"
        | "oneOf"
        | "if"
        | "then"
        | "else"
        | "contains"
        | "propertyNames" => Mode::Schema,
        _ => Mode::Data,
    }
}

/// Deserializes a part of the schema document in its mode (as `serde_json::Value` does,
/// annotations of schema objects skipped).
struct Part(Mode);

impl<'de> serde::de::DeserializeSeed<'de> for Part {
    type Value = Json;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Part {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        // Lists in a schema hold schemas (`allOf`, `items`); anywhere else, data.
        let mode = match self.0 {
            Mode::Schema => Mode::Schema,
            Mode::Names | Mode::Data => Mode::Data,
        };
        let mut out = Vec::new();
        while let Some(x) = seq.next_element_seed(Part(mode))? {
            out.push(x);
        }
        Ok(Json::Array(out))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let mode = match self.0 {
                Mode::Data => Mode::Data,
                Mode::Names => Mode::Schema,
                Mode::Schema => match key.as_str() {
                    "description" | "default" | "title" | "examples" | "$comment" => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        continue;
                    }
                    keyword => keyword_mode(keyword),
                },
            };
            let v = map.next_value_seed(Part(mode))?;
            out.insert(key, v);
        }
        Ok(Json::Object(out))
    }
}

/// Validates `value` against `schema`; returns one line per violation.
pub(crate) fn validate(schema: &Json, value: &Json) -> Vec<String> {
    let mut errs = Vec::new();
    let cx = Cx {
        root: schema,
        entered: RefCell::new(Vec::new()),
        steps: Cell::new(0),
    };
    check(&cx, schema, value, &At::Root, &mut errs);
    if cx.steps.get() > MAX_STEPS {
        return vec![format!(
            "- at '': validation stopped after {MAX_STEPS} steps (the schema's `anyOf`, `oneOf` \
             and `$ref`s multiply)"
        )];
    }
    errs
}

/// The most (subschema, value) pairs one validation checks. jsonschema sets no bound, and
/// `anyOf`s of `$ref`s nested forty deep ask for 2^40; the values and schema of a large chart
/// take tens of thousands.
const MAX_STEPS: usize = 1_000_000;

/// What a validation carries along: the whole schema, for `$ref`s, and the targets of the
/// `$ref`s followed at the value being checked, so that a reference cycle (`{"$ref": "#"}`)
/// is reported, as jsonschema's "reference cycle" error, instead of recursing forever.
struct Cx<'a> {
    root: &'a Json,
    entered: RefCell<Vec<*const Json>>,
    /// Checks made so far (bounded by [`MAX_STEPS`]).
    steps: Cell<usize>,
}

/// Checks a value inside the one being checked: `$ref`s followed at the parent do not count.
fn check_child(cx: &Cx<'_>, schema: &Json, v: &Json, at: &At<'_>, errs: &mut Vec<String>) {
    let outer = cx.entered.take();
    check(cx, schema, v, at, errs);
    *cx.entered.borrow_mut() = outer;
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

fn check(cx: &Cx<'_>, schema: &Json, v: &Json, at: &At<'_>, errs: &mut Vec<String>) {
    cx.steps.set(cx.steps.get() + 1);
    if cx.steps.get() > MAX_STEPS {
        return;
    }
    let Json::Object(s) = schema else {
        if schema == &Json::Bool(false) {
            errs.push(format!("- at '{at}': false schema"));
        }
        return;
    };
    let kw = Keywords::of(s);
    if let Some(Json::String(r)) = kw.get("$ref")
        && let Some(target) = resolve(cx.root, r)
    {
        let id = std::ptr::from_ref(target);
        if cx.entered.borrow().contains(&id) {
            errs.push(format!(
                "- at '{at}': `$ref` `{r}` leads to a schema already applied to this value \
                 (reference cycle)"
            ));
        } else {
            cx.entered.borrow_mut().push(id);
            check(cx, target, v, at, errs);
            cx.entered.borrow_mut().pop();
        }
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
                check_child(cx, ps, x, &child_at, errs);
            } else if let Some(ap) = kw.get("additionalProperties") {
                if ap == &Json::Bool(false) {
                    extra.push(format!("'{k}'"));
                } else {
                    check_child(cx, ap, x, &child_at, errs);
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
                check_child(cx, is, x, &At::Index(at, i), errs);
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
            check(cx, sub, v, at, errs);
        }
    }
    let passes = |sub: &Json| {
        let mut e = Vec::new();
        check(cx, sub, v, at, &mut e);
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
    fn any_of_branches_multiplying_forty_levels_deep_stop_after_the_step_bound() {
        let mut definitions = serde_json::Map::new();
        for i in 0..40 {
            let next = serde_json::json!({"$ref": format!("#/definitions/d{}", i + 1)});
            definitions.insert(format!("d{i}"), serde_json::json!({"anyOf": [next, next]}));
        }
        definitions.insert("d40".to_owned(), serde_json::json!({"type": "string"}));
        let schema = serde_json::json!({"definitions": definitions, "$ref": "#/definitions/d0"});
        let schema = parse(schema.to_string().as_bytes()).unwrap();
        assert_eq!(
            validate(&schema, &serde_json::json!(1)),
            [
                "- at '': validation stopped after 1000000 steps (the schema's `anyOf`, `oneOf` and \
              `$ref`s multiply)"
            ]
        );
    }

    #[test]
    fn a_schema_referring_to_itself_is_a_reference_cycle_not_a_stack_overflow() {
        let schema = parse(br##"{"$ref": "#"}"##).unwrap();
        assert_eq!(
            validate(&schema, &serde_json::json!({"a": 1})),
            [
                "- at '': `$ref` `#` leads to a schema already applied to this value (reference cycle)"
            ]
        );
        let through_any_of = parse(
            br##"{"definitions": {"a": {"anyOf": [{"$ref": "#/definitions/b"}]},
                 "b": {"allOf": [{"$ref": "#/definitions/a"}]}}, "$ref": "#/definitions/a"}"##,
        )
        .unwrap();
        assert_eq!(
            validate(&through_any_of, &serde_json::json!(1)),
            ["- at '': anyOf failed"]
        );
        // Recursion that follows the value down is no cycle.
        let tree = parse(
            br##"{"type": "object", "properties": {"child": {"$ref": "#"}, "n": {"type": "integer"}}}"##,
        )
        .unwrap();
        assert_eq!(
            validate(&tree, &serde_json::json!({"child": {"child": {"n": "x"}}})),
            ["- at '/child/child/n': got string, want integer"]
        );
    }

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

#[cfg(test)]
mod parse_tests {
    use super::*;

    /// What `parse` must give: the whole document with the annotations of schema objects
    /// removed, written independently of the deserializer.
    fn pruned(v: &Json, mode: Mode) -> Json {
        match (v, mode) {
            (Json::Object(m), Mode::Schema) => Json::Object(
                m.iter()
                    .filter(|(k, _)| {
                        !matches!(
                            k.as_str(),
                            "description" | "default" | "title" | "examples" | "$comment"
                        )
                    })
                    .map(|(k, x)| {
                        let mode = keyword_mode(k);
                        (k.clone(), pruned(x, mode))
                    })
                    .collect(),
            ),
            (Json::Object(m), Mode::Names) => Json::Object(
                m.iter()
                    .map(|(k, x)| (k.clone(), pruned(x, Mode::Schema)))
                    .collect(),
            ),
            (Json::Array(a), Mode::Schema) => {
                Json::Array(a.iter().map(|x| pruned(x, Mode::Schema)).collect())
            }
            (other, _) => other.clone(),
        }
    }

    fn check_parse(text: &str) {
        let full: Json = serde_json::from_str(text).unwrap();
        let p = pruned(&full, Mode::Schema);
        let want = if refs_resolve(&p, &p) { p } else { full };
        assert_eq!(parse(text.as_bytes()).unwrap(), want);
    }

    #[test]
    fn annotations_of_schema_objects_are_left_out_and_nothing_else() {
        check_parse(
            r#"{
              "title": "t", "description": "d", "$comment": "c", "examples": [{"a": 1}],
              "type": "object", "required": ["default"],
              "properties": {
                "description": {"type": "string", "default": "x", "maxLength": 3},
                "default": {"enum": [{"description": "kept"}, 1.5, -2, 18446744073709551615, null, true]},
                "list": {"items": [{"description": "gone", "type": "integer"}], "minItems": 1}
              },
              "allOf": [{"description": "gone", "not": {"title": "gone", "const": {"title": "kept"}}}],
              "x-custom": {"description": "kept"}
            }"#,
        );
        // A `$ref` into an annotation keeps everything; one into definitions does not.
        let whole = r##"{"description": "kept", "properties": {"a": {"$ref": "#/description"}}}"##;
        check_parse(whole);
        assert_eq!(
            parse(whole.as_bytes()).unwrap(),
            serde_json::from_str::<Json>(whole).unwrap()
        );
        let defs = r##"{"$defs": {"p": {"type": "integer", "description": "gone"}}, "$ref": "#/$defs/p"}"##;
        check_parse(defs);
        assert_eq!(
            parse(defs.as_bytes()).unwrap(),
            serde_json::json!({"$defs": {"p": {"type": "integer"}}, "$ref": "#/$defs/p"})
        );
        // Syntax errors are serde_json's.
        let e = parse(br#"{"description": [1,}"#).unwrap_err().to_string();
        assert_eq!(
            e,
            serde_json::from_slice::<Json>(br#"{"description": [1,}"#)
                .unwrap_err()
                .to_string()
        );
        assert!(parse(b"{} x").is_err());
    }

    #[test]
    fn corpus_schemas_parse_to_their_pruned_documents() {
        let Some(corpus) = gitops_testenv::corpus::root() else {
            return;
        };
        let mut stack = vec![corpus];
        while let Some(dir) = stack.pop() {
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.file_name().is_some_and(|n| n == "values.schema.json") {
                    let text = std::fs::read_to_string(&p).unwrap();
                    check_parse(&text);
                }
            }
        }
    }
}
