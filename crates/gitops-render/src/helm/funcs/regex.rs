//! Sprig's regular expression functions on Rust's `regex` (RE2 syntax, as Go's `regexp`).
//! Compiled expressions are cached per thread and shared, not cloned: a cloned `Regex` starts
//! with an empty pool of matching caches, whose set-up cost more than the match itself.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::gotemplate::{FuncMap, Value, arity, want_int, want_str};

thread_local! {
    static CACHE: RefCell<HashMap<String, Rc<regex::Regex>>> = RefCell::new(HashMap::new());
}

/// Compiles `pattern` (RE2 syntax), or takes it from this thread's cache.
///
/// # Errors
/// Go's message for a pattern that does not compile.
pub(crate) fn compile(pattern: &str) -> Result<Rc<regex::Regex>, String> {
    CACHE.with(|c| {
        if let Some(r) = c.borrow().get(pattern) {
            return Ok(r.clone());
        }
        let r =
            Rc::new(regex::Regex::new(pattern).map_err(|e| format!("error parsing regexp: {e}"))?);
        c.borrow_mut().insert(pattern.to_owned(), r.clone());
        Ok(r)
    })
}

fn n_limit(n: i64) -> usize {
    if n < 0 { usize::MAX } else { n as usize }
}

pub(super) fn register(m: &mut FuncMap) {
    for name in ["regexMatch", "mustRegexMatch"] {
        m.insert(name, |_, a| {
            arity("regexMatch", a, 2)?;
            Ok(Value::Bool(
                compile(want_str(&a[0])?)?.is_match(want_str(&a[1])?),
            ))
        });
    }
    for name in ["regexFind", "mustRegexFind"] {
        m.insert(name, |_, a| {
            arity("regexFind", a, 2)?;
            let r = compile(want_str(&a[0])?)?;
            Ok(Value::str(
                r.find(want_str(&a[1])?).map_or("", |m| m.as_str()),
            ))
        });
    }
    for name in ["regexFindAll", "mustRegexFindAll"] {
        m.insert(name, |_, a| {
            arity("regexFindAll", a, 3)?;
            let r = compile(want_str(&a[0])?)?;
            let n = n_limit(want_int(&a[2])?);
            Ok(Value::list(
                r.find_iter(want_str(&a[1])?)
                    .take(n)
                    .map(|m| Value::from(m.as_str()))
                    .collect(),
            ))
        });
    }
    for name in ["regexReplaceAll", "mustRegexReplaceAll"] {
        m.insert(name, |_, a| {
            arity("regexReplaceAll", a, 3)?;
            let r = compile(want_str(&a[0])?)?;
            Ok(Value::str(
                r.replace_all(want_str(&a[1])?, want_str(&a[2])?)
                    .into_owned(),
            ))
        });
    }
    for name in ["regexReplaceAllLiteral", "mustRegexReplaceAllLiteral"] {
        m.insert(name, |_, a| {
            arity("regexReplaceAllLiteral", a, 3)?;
            let r = compile(want_str(&a[0])?)?;
            Ok(Value::str(
                r.replace_all(want_str(&a[1])?, regex::NoExpand(want_str(&a[2])?))
                    .into_owned(),
            ))
        });
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        m.insert(name, |_, a| {
            arity("regexSplit", a, 3)?;
            let r = compile(want_str(&a[0])?)?;
            let n = want_int(&a[2])?;
            if n == 0 {
                return Ok(Value::Nil);
            }
            let s = want_str(&a[1])?;
            let parts: Vec<Value> = if n < 0 {
                r.split(s).map(Value::from).collect()
            } else {
                r.splitn(s, n as usize).map(Value::from).collect()
            };
            Ok(Value::list(parts))
        });
    }
    m.insert("regexQuoteMeta", |_, a| {
        arity("regexQuoteMeta", a, 1)?;
        Ok(Value::str(regex::escape(want_str(&a[0])?)))
    });
}
