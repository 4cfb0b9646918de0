//! Values a template works on, modelled on the Go types Helm hands to `text/template`:
//! `interface{}` holding nil, bool, int64, float64, string, `[]interface{}`,
//! `map[string]interface{}` (shared and mutable, as Go maps are), or a host object with fields
//! and methods (`.Capabilities`, `.Files`).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;

/// A Go map: shared by reference, so that `set $d "k" v` is seen by every holder of `$d`.
pub type MapRef = Rc<RefCell<BTreeMap<String, Value>>>;

/// A host object with fields and methods, such as Helm's `.Files` or `.Capabilities`.
#[allow(clippy::len_without_is_empty)]
pub trait Object: fmt::Debug {
    /// The Go type name used in error messages (`*chartutil.Capabilities`).
    fn type_name(&self) -> &str;
    /// A field or a method without arguments.
    fn field(&self, name: &str) -> Option<Value>;
    /// Calls method `name`; `None` when there is no such method.
    fn call(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let _ = (name, args);
        None
    }
    /// Its length for `len`, when it has one (Go maps and slices).
    fn len(&self) -> Option<usize> {
        None
    }
    /// The object as data, for `toYaml`/`toJson` and printing.
    fn to_value(&self) -> Value;
    /// What `fmt.Sprint` prints for it.
    fn display(&self) -> String {
        self.to_value().to_string()
    }
}

/// A template value.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Go's nil interface (a missing map key, a YAML null).
    #[default]
    Nil,
    /// `bool`.
    Bool(bool),
    /// Any Go integer type (`int`, `int64`).
    Int(i64),
    /// `float64` (every number Helm reads from YAML values is one).
    Float(f64),
    /// `string`.
    Str(Rc<str>),
    /// `[]interface{}`.
    List(Rc<Vec<Value>>),
    /// `map[string]interface{}`.
    Map(MapRef),
    /// A host object.
    Object(Rc<dyn Object>),
}

impl Value {
    /// A string value.
    pub fn str(s: impl Into<Rc<str>>) -> Self {
        Value::Str(s.into())
    }

    /// A list value.
    #[must_use]
    pub fn list(items: Vec<Value>) -> Self {
        Value::List(Rc::new(items))
    }

    /// A new map value.
    #[must_use]
    pub fn map(entries: BTreeMap<String, Value>) -> Self {
        Value::Map(Rc::new(RefCell::new(entries)))
    }

    /// An empty map.
    #[must_use]
    pub fn empty_map() -> Self {
        Self::map(BTreeMap::new())
    }

    /// Go truthiness: false, 0, nil, and empty strings, slices and maps are false.
    #[must_use]
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(_) => true,
        }
    }

    /// The Go type name, as `printf "%T"` and error messages show it.
    #[must_use]
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".to_owned(),
            Value::Bool(_) => "bool".to_owned(),
            Value::Int(_) => "int".to_owned(),
            Value::Float(_) => "float64".to_owned(),
            Value::Str(_) => "string".to_owned(),
            Value::List(_) => "[]interface {}".to_owned(),
            Value::Map(_) => "map[string]interface {}".to_owned(),
            Value::Object(o) => o.type_name().to_owned(),
        }
    }

    /// The Go kind (`reflect.Kind`) name, as Sprig's `kindOf` reports it.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(_) => "ptr",
        }
    }

    /// The string inside, if this is a string.
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Whether this is Go's nil.
    #[must_use]
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Converts a JSON value; numbers become `float64` as when Go decodes JSON into
    /// `interface{}`, unless `keep_ints` (as Helm's `--set` parser keeps `int64`).
    #[must_use]
    pub fn from_json(v: &serde_json::Value, keep_ints: bool) -> Self {
        match v {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) if keep_ints => Value::Int(i),
                _ => Value::Float(n.as_f64().unwrap_or(0.0)),
            },
            serde_json::Value::String(s) => Value::str(s.as_str()),
            serde_json::Value::Array(a) => {
                Value::list(a.iter().map(|v| Value::from_json(v, keep_ints)).collect())
            }
            serde_json::Value::Object(m) => Value::map(
                m.iter()
                    .map(|(k, v)| (k.clone(), Value::from_json(v, keep_ints)))
                    .collect(),
            ),
        }
    }

    /// [`Value::from_json`] of a value that is not needed afterwards: map keys move instead of
    /// being copied (a chart's values have thousands).
    #[must_use]
    pub fn from_json_owned(v: serde_json::Value, keep_ints: bool) -> Self {
        match v {
            serde_json::Value::Array(a) => Value::list(
                a.into_iter()
                    .map(|v| Value::from_json_owned(v, keep_ints))
                    .collect(),
            ),
            serde_json::Value::Object(m) => Value::map(
                m.into_iter()
                    .map(|(k, v)| (k, Value::from_json_owned(v, keep_ints)))
                    .collect(),
            ),
            other => Value::from_json(&other, keep_ints),
        }
    }

    /// Converts to JSON as Go's `encoding/json` would marshal it (maps with sorted keys).
    #[must_use]
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(f) => float_to_json(*f),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(l) => serde_json::Value::Array(l.iter().map(Value::to_json).collect()),
            Value::Map(m) => serde_json::Value::Object(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Object(o) => o.to_value().to_json(),
        }
    }

    /// A deep copy: maps are copied, not shared.
    #[must_use]
    pub fn deep_copy(&self) -> Self {
        match self {
            Value::List(l) => Value::list(l.iter().map(Value::deep_copy).collect()),
            Value::Map(m) => Value::map(
                m.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect(),
            ),
            other => other.clone(),
        }
    }
}

/// A float as JSON: integral values within ±2^53 become integers, as `json.Marshal` writes
/// them without a fraction.
fn float_to_json(f: f64) -> serde_json::Value {
    if f.fract() == 0.0 && f.abs() < 9_007_199_254_740_992.0 {
        #[allow(clippy::cast_possible_truncation)]
        return serde_json::Value::from(f as i64);
    }
    serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::str(s)
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Map(a), Value::Map(b)) => Rc::ptr_eq(a, b) || *a.borrow() == *b.borrow(),
            (Value::Object(a), Value::Object(b)) => Rc::ptr_eq(a, b),
            _ => false,
        }
    }
}

/// `fmt.Sprint` of the value (`%v`).
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("<nil>"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => f.write_str(&super::fmt::format_float_g(*x, None)),
            Value::Str(s) => f.write_str(s),
            Value::List(l) => {
                f.write_str("[")?;
                for (i, v) in l.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("]")
            }
            Value::Map(m) => {
                f.write_str("map[")?;
                for (i, (k, v)) in m.borrow().iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{k}:{v}")?;
                }
                f.write_str("]")
            }
            Value::Object(o) => f.write_str(&o.display()),
        }
    }
}
