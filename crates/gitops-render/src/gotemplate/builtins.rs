//! The functions every Go template has (`not`, `len`, `index`, `slice`, comparisons, `print*`,
//! `html`, `js`, `urlquery`), and the argument checks shared with the Helm function library,
//! which produce Go's messages for wrong argument counts and types.

use std::fmt::Write as _;

use super::exec::{FuncMap, NO_WRAP};
use super::fmt::{sprint, sprintf, sprintln};
use super::value::Value;

/// Checks the argument count as Go does for a function of fixed arity.
///
/// # Errors
/// "wrong number of args for NAME: want N got M".
pub fn arity(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() == n {
        Ok(())
    } else {
        Err(format!(
            "{NO_WRAP}wrong number of args for {name}: want {n} got {}",
            args.len()
        ))
    }
}

/// Checks that there are at least `n` arguments (variadic functions).
///
/// # Errors
/// "wrong number of args for NAME: want at least N got M".
pub fn at_least(name: &str, args: &[Value], n: usize) -> Result<(), String> {
    if args.len() >= n {
        Ok(())
    } else {
        Err(format!(
            "{NO_WRAP}wrong number of args for {name}: want at least {n} got {}",
            args.len()
        ))
    }
}

/// A `string` parameter: Go refuses nil and other types before the call.
///
/// # Errors
/// Go's conversion error.
pub fn want_str(v: &Value) -> Result<&str, String> {
    match v {
        Value::Str(s) => Ok(s),
        Value::Nil => Err(format!("{NO_WRAP}invalid value; expected string")),
        other => Err(format!(
            "{NO_WRAP}wrong type for value; expected string; got {}",
            other.type_name()
        )),
    }
}

/// An `int` parameter.
///
/// # Errors
/// Go's conversion error.
pub fn want_int(v: &Value) -> Result<i64, String> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Nil => Err(format!("{NO_WRAP}invalid value; expected int")),
        other => Err(format!(
            "{NO_WRAP}wrong type for value; expected int; got {}",
            other.type_name()
        )),
    }
}

/// A `bool` parameter.
///
/// # Errors
/// Go's conversion error.
pub fn want_bool(v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Nil => Err(format!("{NO_WRAP}invalid value; expected bool")),
        other => Err(format!(
            "{NO_WRAP}wrong type for value; expected bool; got {}",
            other.type_name()
        )),
    }
}

/// Registers the builtins into `m`.
pub(super) fn register(m: &mut FuncMap) {
    m.insert("not", |_, a| {
        arity("not", a, 1)?;
        Ok(Value::Bool(!a[0].truthy()))
    });
    m.insert("len", |_, a| {
        arity("len", a, 1)?;
        Ok(Value::Int(match &a[0] {
            Value::Str(s) => s.len() as i64,
            Value::List(l) => l.len() as i64,
            Value::Map(m) => m.borrow().len() as i64,
            Value::Object(o) if o.len().is_some() => o.len().unwrap_or(0) as i64,
            Value::Nil => return Err("len of nil pointer".to_owned()),
            other => return Err(format!("len of type {}", other.type_name())),
        }))
    });
    m.insert("index", |_, a| {
        at_least("index", a, 1)?;
        let mut item = a[0].clone();
        for ix in &a[1..] {
            item = index_one(&item, ix)?;
        }
        Ok(item)
    });
    m.insert("slice", |_, a| {
        at_least("slice", a, 1)?;
        let idx: Vec<i64> = a[1..]
            .iter()
            .map(|v| match v {
                Value::Int(i) => Ok(*i),
                other => Err(format!(
                    "cannot index slice/array with type {}",
                    other.type_name()
                )),
            })
            .collect::<Result<_, _>>()?;
        match &a[0] {
            Value::Str(s) => {
                if idx.len() > 2 {
                    return Err("cannot 3-index slice a string".to_owned());
                }
                let (i, j) = bounds(&idx, s.len())?;
                s.get(i..j)
                    .map(Value::str)
                    .ok_or_else(|| "slice index out of range".to_owned())
            }
            Value::List(l) => {
                let (i, j) = bounds(&idx, l.len())?;
                Ok(Value::list(l[i..j].to_vec()))
            }
            Value::Nil => Err("slice of untyped nil".to_owned()),
            other => Err(format!("can't slice item of type {}", other.type_name())),
        }
    });
    m.insert("eq", |_, a| {
        at_least("eq", a, 1)?;
        if a.len() < 2 {
            return Err("missing argument for comparison".to_owned());
        }
        for b in &a[1..] {
            if go_eq(&a[0], b)? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    });
    m.insert("ne", |_, a| {
        arity("ne", a, 2)?;
        Ok(Value::Bool(!go_eq(&a[0], &a[1])?))
    });
    m.insert("lt", |_, a| {
        arity("lt", a, 2)?;
        Ok(Value::Bool(go_lt(&a[0], &a[1])?))
    });
    m.insert("le", |_, a| {
        arity("le", a, 2)?;
        Ok(Value::Bool(go_lt(&a[0], &a[1])? || go_eq(&a[0], &a[1])?))
    });
    m.insert("gt", |_, a| {
        arity("gt", a, 2)?;
        Ok(Value::Bool(!(go_lt(&a[0], &a[1])? || go_eq(&a[0], &a[1])?)))
    });
    m.insert("ge", |_, a| {
        arity("ge", a, 2)?;
        Ok(Value::Bool(!go_lt(&a[0], &a[1])?))
    });
    m.insert("print", |_, a| Ok(Value::str(sprint(a))));
    m.insert("println", |_, a| Ok(Value::str(sprintln(a))));
    m.insert("printf", |_, a| {
        at_least("printf", a, 1)?;
        Ok(Value::str(sprintf(want_str(&a[0])?, &a[1..])))
    });
    m.insert("html", |_, a| Ok(Value::str(html_escape(&eval_args(a)))));
    m.insert("js", |_, a| Ok(Value::str(js_escape(&eval_args(a)))));
    m.insert("urlquery", |_, a| {
        Ok(Value::str(query_escape(&eval_args(a))))
    });
}

fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        s.to_string()
    } else {
        sprint(a)
    }
}

fn bounds(idx: &[i64], len: usize) -> Result<(usize, usize), String> {
    let to = |i: i64| usize::try_from(i).map_err(|_| format!("index out of range: {i}"));
    let i = idx.first().copied().map_or(Ok(0), to)?;
    let j = idx.get(1).copied().map_or(Ok(len), to)?;
    if i > j || j > len {
        return Err(format!("index out of range: {j}"));
    }
    Ok((i, j))
}

fn index_one(item: &Value, ix: &Value) -> Result<Value, String> {
    match item {
        Value::Map(m) => match ix {
            Value::Str(k) => Ok(m.borrow().get(&**k).cloned().unwrap_or_default()),
            Value::Nil => Ok(Value::Nil),
            other => Err(format!(
                "value has type {}; should be string",
                other.type_name()
            )),
        },
        Value::List(l) => match ix {
            Value::Int(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| l.get(i).cloned())
                .ok_or_else(|| format!("index out of range: {i}")),
            other => Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )),
        },
        Value::Str(s) => match ix {
            Value::Int(i) => usize::try_from(*i)
                .ok()
                .and_then(|i| s.as_bytes().get(i).copied())
                .map(|b| Value::Int(i64::from(b)))
                .ok_or_else(|| format!("index out of range: {i}")),
            other => Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )),
        },
        Value::Nil => Err("index of untyped nil".to_owned()),
        other => Err(format!("can't index item of type {}", other.type_name())),
    }
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

/// Go's `eq` on two values.
///
/// # Errors
/// "incompatible types for comparison" and non-comparable types.
pub fn go_eq(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka != kb {
        if a.is_nil() || b.is_nil() {
            return Ok(false);
        }
        return Err("incompatible types for comparison".to_owned());
    }
    Ok(match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Nil, Value::Nil) => true,
        (Value::Nil, _) | (_, Value::Nil) => false,
        (Value::List(_), _) | (Value::Map(_), _) => {
            return Err(format!("non-comparable type {a}: {}", a.type_name()));
        }
        _ => a == b,
    })
}

fn go_lt(a: &Value, b: &Value) -> Result<bool, String> {
    let (ka, kb) = (kind(a), kind(b));
    if ka == Kind::Other || kb == Kind::Other {
        return Err("invalid type for comparison".to_owned());
    }
    if ka != kb {
        return Err("incompatible types for comparison".to_owned());
    }
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Ok(x < y),
        (Value::Float(x), Value::Float(y)) => Ok(x < y),
        (Value::Str(x), Value::Str(y)) => Ok(x < y),
        _ => Err("invalid type for comparison".to_owned()),
    }
}

/// Go's `template.HTMLEscapeString`.
#[must_use]
pub fn html_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\'' => o.push_str("&#39;"),
            '"' => o.push_str("&#34;"),
            '\0' => o.push('\u{FFFD}'),
            c => o.push(c),
        }
    }
    o
}

/// Go's `template.JSEscapeString`.
#[must_use]
pub fn js_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\'' => o.push_str("\\'"),
            '"' => o.push_str("\\\""),
            '<' => o.push_str("\\u003C"),
            '>' => o.push_str("\\u003E"),
            '&' => o.push_str("\\u0026"),
            '=' => o.push_str("\\u003D"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04X}", c as u32);
            }
            c => o.push(c),
        }
    }
    o
}

/// Go's `url.QueryEscape`.
#[must_use]
pub fn query_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                o.push(b as char);
            }
            b' ' => o.push('+'),
            b => {
                let _ = write!(o, "%{b:02X}");
            }
        }
    }
    o
}
