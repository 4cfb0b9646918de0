//! Helm's own template functions: `include`, `tpl`, `required`, `fail`, `lookup` and the YAML,
//! JSON and TOML converters Helm registers on top of Sprig.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use super::conv::{from_yaml, to_yaml_text};
use super::encoding::error_map;
use crate::gotemplate::{Exec, FuncMap, NameHash, NameHasher, Value, arity, parse_text, want_str};

/// Marks the message of `required`/`fail` so that the engine reports it alone, as Helm does.
pub(crate) const ERR_START: &str = "HELM_ERR_START";
/// End marker of a `required`/`fail` message.
pub(crate) const ERR_END: &str = "HELM_ERR_END";

/// Nested `include` calls of one template allowed before Helm reports a recursion.
const MAX_INCLUDE: usize = 1000;
/// Nested `tpl` calls allowed (guards against templates that render themselves).
const MAX_TPL_DEPTH: usize = 100;
/// Largest text `tpl` accepts.
const MAX_TPL_SIZE: usize = 10 << 20;

/// State shared by the executions of one render, reached through [`Exec::host`].
#[derive(Debug, Default)]
pub(crate) struct RenderMemo {
    /// Results of parsing YAML for `fromYaml`/`fromYamlArray`, by text. Charts parse the same
    /// text many times per render (bitnami's checksum annotations and value merges: 80 calls,
    /// 7 distinct texts for redis); the result is a pure function of the text. Kept pristine:
    /// callers get deep copies, as maps are mutable.
    yaml: RefCell<HashMap<String, Result<Value, String>, NameHash>>,
    /// `toYaml` texts (134 calls, 15 distinct values for redis), by a hash of the value; each
    /// entry keeps a copy of its value, compared with `==` on a hit (equal values have the
    /// same YAML).
    to_yaml: RefCell<HashMap<u64, Vec<YamlText>, NameHash>>,
}

/// A value given to `toYaml` (a copy) and its YAML text.
type YamlText = (Value, Rc<str>);

/// Hashes a value's content (what `==` compares).
fn hash_value(v: &Value, h: &mut NameHasher) {
    use std::hash::Hasher as _;
    match v {
        Value::Nil => h.write_u8(0),
        Value::Bool(b) => {
            h.write_u8(1);
            h.write_u8(u8::from(*b));
        }
        Value::Int(i) => {
            h.write_u8(2);
            h.write_i64(*i);
        }
        Value::Float(f) => {
            h.write_u8(3);
            h.write_u64(f.to_bits());
        }
        Value::Str(s) => {
            h.write_u8(4);
            h.write(s.as_bytes());
            h.write_u8(0xff);
        }
        Value::List(l) => {
            h.write_u8(5);
            h.write_usize(l.len());
            for x in l.iter() {
                hash_value(x, h);
            }
        }
        Value::Map(m) => {
            h.write_u8(6);
            let m = m.borrow();
            h.write_usize(m.len());
            for (k, x) in m.iter() {
                h.write(k.as_bytes());
                h.write_u8(0xff);
                hash_value(x, h);
            }
        }
        // Objects compare by identity.
        Value::Object(o) => {
            h.write_u8(7);
            h.write_usize(Rc::as_ptr(o).cast::<()>() as usize);
        }
    }
}

/// [`to_yaml_text`], through the render's memo when the executor has one.
fn to_yaml_memo(exec: &Exec<'_>, v: &Value) -> Value {
    let Some(memo) = exec
        .host
        .as_ref()
        .and_then(|h| h.downcast_ref::<RenderMemo>())
    else {
        return Value::str(to_yaml_text(v));
    };
    let mut h = NameHasher::default();
    hash_value(v, &mut h);
    let key = std::hash::Hasher::finish(&h);
    if let Some(entries) = memo.to_yaml.borrow().get(&key)
        && let Some((_, text)) = entries.iter().find(|(kept, _)| kept == v)
    {
        return Value::Str(text.clone());
    }
    let text: Rc<str> = Rc::from(to_yaml_text(v));
    memo.to_yaml
        .borrow_mut()
        .entry(key)
        .or_default()
        .push((v.deep_copy(), text.clone()));
    Value::Str(text)
}

/// [`from_yaml`], through the render's memo when the executor has one.
fn from_yaml_memo(exec: &Exec<'_>, text: &str) -> Result<Value, String> {
    let Some(memo) = exec
        .host
        .as_ref()
        .and_then(|h| h.downcast_ref::<RenderMemo>())
    else {
        return from_yaml(text);
    };
    if let Some(r) = memo.yaml.borrow().get(text) {
        return r.as_ref().map(Value::deep_copy).map_err(Clone::clone);
    }
    let r = from_yaml(text);
    let kept = r.as_ref().map(Value::deep_copy).map_err(Clone::clone);
    memo.yaml.borrow_mut().insert(text.to_owned(), kept);
    r
}

fn include(exec: &mut Exec<'_>, a: &[Value]) -> Result<Value, String> {
    arity("include", a, 2)?;
    let name = want_str(&a[0])?;
    // The count's key is allocated once per template name, not once per call.
    let count = match exec.include_counts.get_mut(name) {
        Some(c) => c,
        None => exec.include_counts.entry(name.to_owned()).or_insert(0),
    };
    if *count > MAX_INCLUDE {
        return Err(format!(
            "rendering template has a nested reference name: {name}: unable to execute template"
        ));
    }
    *count += 1;
    let r = exec.execute(name, &a[1]);
    if let Some(c) = exec.include_counts.get_mut(name) {
        *c -= 1;
    }
    r.map(Value::str).map_err(|e| e.to_string())
}

fn tpl(exec: &mut Exec<'_>, a: &[Value]) -> Result<Value, String> {
    arity("tpl", a, 2)?;
    let text = want_str(&a[0])?;
    if text.len() > MAX_TPL_SIZE {
        return Err(format!(
            "template text of {} bytes exceeds the limit of {MAX_TPL_SIZE}",
            text.len()
        ));
    }
    if exec.tpl_depth >= MAX_TPL_DEPTH {
        return Err(format!("tpl nested deeper than {MAX_TPL_DEPTH} levels"));
    }
    let name = match &a[1] {
        Value::Map(m) => match m.borrow().get("Template") {
            Some(Value::Map(t)) => t
                .borrow()
                .get("Name")
                .and_then(|n| n.as_str().map(str::to_owned)),
            _ => None,
        },
        _ => None,
    };
    let Some(name) = name else {
        return Err(format!(
            "cannot retrieve Template.Name from values inside tpl function: {text}"
        ));
    };
    let trees = parse_text(&name, text).map_err(|e| {
        format!(
            "cannot parse template {text:?}: {}",
            e.describe(&name, text)
        )
    })?;
    exec.tpl_depth += 1;
    let r = exec.execute_with_layer(Rc::new(trees), &name, &a[1]);
    exec.tpl_depth -= 1;
    r.map(|s| Value::str(super::super::engine::strip_no_value(s)))
        .map_err(|e| format!("error during tpl function execution for {text:?}: {e}"))
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("include", include);
    m.insert("tpl", tpl);
    m.insert("required", |_, a| {
        arity("required", a, 2)?;
        let warn = want_str(&a[0])?;
        match &a[1] {
            Value::Nil => Err(format!("{ERR_START}{warn}{ERR_END}")),
            Value::Str(s) if s.is_empty() => Err(format!("{ERR_START}{warn}{ERR_END}")),
            v => Ok(v.clone()),
        }
    });
    m.insert("fail", |_, a| {
        arity("fail", a, 1)?;
        Err(format!("{ERR_START}{}{ERR_END}", want_str(&a[0])?))
    });
    // Helm resolves host names only with `--enable-dns`; `helm template` without it (and so
    // `gitops build`) gets an empty string, keeping renders hermetic.
    m.insert("getHostByName", |_, a| {
        arity("getHostByName", a, 1)?;
        want_str(&a[0])?;
        Ok(Value::str(""))
    });
    m.insert("lookup", |_, a| {
        arity("lookup", a, 4)?;
        Ok(Value::empty_map())
    });
    for name in ["toYaml", "mustToYaml"] {
        m.insert(name, |exec, a| {
            arity("toYaml", a, 1)?;
            Ok(to_yaml_memo(exec, &a[0]))
        });
    }
    m.insert("toYamlPretty", |exec, a| {
        arity("toYamlPretty", a, 1)?;
        Ok(to_yaml_memo(exec, &a[0]))
    });
    m.insert("fromYaml", |exec, a| {
        arity("fromYaml", a, 1)?;
        match from_yaml_memo(exec, want_str(&a[0])?) {
            Ok(v @ Value::Map(_)) => Ok(v),
            Ok(Value::Nil) => Ok(Value::empty_map()),
            Ok(Value::List(_)) => Ok(error_map(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal array into Go value of type map[string]interface {}".to_owned(),
            )),
            Ok(other) => Ok(error_map(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                if matches!(other, Value::Str(_)) { "string" } else { "number" }
            ))),
            Err(e) => Ok(error_map(e)),
        }
    });
    m.insert("fromYamlArray", |exec, a| {
        arity("fromYamlArray", a, 1)?;
        match from_yaml_memo(exec, want_str(&a[0])?) {
            Ok(v @ Value::List(_)) => Ok(v),
            Ok(Value::Nil) => Ok(Value::list(Vec::new())),
            Ok(_) => Ok(Value::list(vec![Value::from(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal object into Go value of type []interface {}",
            )])),
            Err(e) => Ok(Value::list(vec![Value::str(e)])),
        }
    });
    m.insert("toToml", |_, a| {
        arity("toToml", a, 1)?;
        Ok(Value::str(to_toml(&a[0])))
    });
    m.insert("mustToToml", |_, a| {
        arity("mustToToml", a, 1)?;
        Ok(Value::str(to_toml(&a[0])))
    });
    m.insert("fromToml", |_, a| {
        arity("fromToml", a, 1)?;
        Ok(from_toml(want_str(&a[0])?))
    });
}

/// TOML text of a value as BurntSushi/toml encodes it: a document for a map, the bare TOML
/// value otherwise (`[1, 2]` for a list).
fn to_toml(v: &Value) -> String {
    match v {
        Value::Map(m) => {
            let mut out = String::new();
            write_toml(&mut out, &m.borrow(), "");
            out
        }
        Value::Object(o) => to_toml(&o.to_value()),
        other => toml_value(other),
    }
}

/// Helm's `fromToml`: a map, or a map holding only `Error` when the text is not TOML.
/// Integers stay integers (Go's `int64`); date-times become their text.
fn from_toml(text: &str) -> Value {
    fn convert(v: toml::Value) -> Value {
        match v {
            toml::Value::String(s) => Value::str(s),
            toml::Value::Integer(i) => Value::Int(i),
            toml::Value::Float(f) => Value::Float(f),
            toml::Value::Boolean(b) => Value::Bool(b),
            toml::Value::Datetime(d) => Value::str(d.to_string()),
            toml::Value::Array(items) => Value::list(items.into_iter().map(convert).collect()),
            toml::Value::Table(t) => table(t),
        }
    }
    fn table(t: toml::Table) -> Value {
        Value::map(t.into_iter().map(|(k, v)| (k, convert(v))).collect())
    }
    match toml::from_str::<toml::Table>(text) {
        Ok(t) => table(t),
        Err(e) => {
            let message = e.to_string();
            error_map(format!(
                "toml: {}",
                message.lines().next().unwrap_or_default().trim()
            ))
        }
    }
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::Str(s) => crate::gotemplate::fmt::quote(s),
        Value::List(l) => format!(
            "[{}]",
            l.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        other => other.to_string(),
    }
}

/// A TOML document in the layout of BurntSushi/toml: scalars first, then sub-tables, indented
/// by depth.
fn write_toml(out: &mut String, m: &BTreeMap<String, Value>, prefix: &str) {
    let indent = "  ".repeat(prefix.matches('.').count() + usize::from(!prefix.is_empty()));
    for (k, v) in m {
        if !matches!(v, Value::Map(_)) && !v.is_nil() {
            out.push_str(&format!("{indent}{k} = {}\n", toml_value(v)));
        }
    }
    for (k, v) in m {
        if let Value::Map(sub) = v {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            // BurntSushi/toml separates top-level tables by a blank line (none at the start).
            if prefix.is_empty() && !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&format!("{indent}[{name}]\n"));
            write_toml(out, &sub.borrow(), &name);
        }
    }
}
