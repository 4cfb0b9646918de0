//! Sprig's dictionary functions. Dictionaries are Go maps: `set`, `unset` and `merge` change
//! the map they are given, and every holder of it sees the change.

use std::collections::BTreeMap;

use super::conv::strval;
use crate::gotemplate::{FuncMap, MapRef, Value, arity, at_least, want_str};

fn want_map<'a>(_name: &str, v: &'a Value) -> Result<&'a MapRef, String> {
    match v {
        Value::Map(m) => Ok(m),
        Value::Nil => Err(format!(
            "{}invalid value; expected map[string]interface {{}}",
            crate::gotemplate::NO_WRAP
        )),
        other => Err(format!(
            "{}wrong type for value; expected map[string]interface {{}}; got {}",
            crate::gotemplate::NO_WRAP,
            other.type_name()
        )),
    }
}

/// Merges `src` into `dst` as mergo does (`overwrite` for `mergeOverwrite`).
pub(crate) fn merge_into(dst: &MapRef, src: &MapRef, overwrite: bool) {
    if std::rc::Rc::ptr_eq(dst, src) {
        return;
    }
    let src = src.borrow().clone();
    for (k, sv) in src {
        let dv = dst.borrow().get(&k).cloned();
        if sv.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(k, sv);
            }
            continue;
        }
        if let (Value::Map(sm), Some(Value::Map(dm))) = (&sv, &dv) {
            merge_into(dm, sm, overwrite);
            continue;
        }
        let dst_empty = dv.as_ref().is_none_or(|d| !d.truthy());
        if overwrite || dst_empty {
            dst.borrow_mut().insert(k, sv);
        }
    }
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("dict", |_, a| {
        let mut out = BTreeMap::new();
        for pair in a.chunks(2) {
            let v = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
            out.insert(strval(&pair[0]), v);
        }
        Ok(Value::map(out))
    });
    m.insert("get", |_, a| {
        arity("get", a, 2)?;
        let d = want_map("get", &a[0])?;
        let k = want_str(&a[1])?;
        Ok(d.borrow()
            .get(k)
            .cloned()
            .unwrap_or_else(|| Value::from("")))
    });
    m.insert("set", |_, a| {
        arity("set", a, 3)?;
        let d = want_map("set", &a[0])?;
        let k = want_str(&a[1])?;
        d.borrow_mut().insert(k.to_owned(), a[2].clone());
        Ok(a[0].clone())
    });
    m.insert("unset", |_, a| {
        arity("unset", a, 2)?;
        let d = want_map("unset", &a[0])?;
        d.borrow_mut().remove(want_str(&a[1])?);
        Ok(a[0].clone())
    });
    m.insert("hasKey", |_, a| {
        arity("hasKey", a, 2)?;
        let d = want_map("hasKey", &a[0])?;
        Ok(Value::Bool(d.borrow().contains_key(want_str(&a[1])?)))
    });
    m.insert("pluck", |_, a| {
        at_least("pluck", a, 1)?;
        let k = want_str(&a[0])?;
        let mut out = Vec::new();
        for d in &a[1..] {
            if let Some(v) = want_map("pluck", d)?.borrow().get(k) {
                out.push(v.clone());
            }
        }
        Ok(Value::list(out))
    });
    m.insert("keys", |_, a| {
        let mut out = Vec::new();
        for d in a {
            out.extend(
                want_map("keys", d)?
                    .borrow()
                    .keys()
                    .map(|k| Value::str(k.as_str())),
            );
        }
        Ok(Value::list(out))
    });
    m.insert("values", |_, a| {
        arity("values", a, 1)?;
        Ok(Value::list(
            want_map("values", &a[0])?
                .borrow()
                .values()
                .cloned()
                .collect(),
        ))
    });
    m.insert("pick", |_, a| {
        at_least("pick", a, 1)?;
        let d = want_map("pick", &a[0])?.borrow();
        let mut out = BTreeMap::new();
        for k in &a[1..] {
            let k = want_str(k)?;
            if let Some(v) = d.get(k) {
                out.insert(k.to_owned(), v.clone());
            }
        }
        Ok(Value::map(out))
    });
    m.insert("omit", |_, a| {
        at_least("omit", a, 1)?;
        let d = want_map("omit", &a[0])?.borrow();
        let drop: Vec<String> = a[1..].iter().map(strval).collect();
        Ok(Value::map(
            d.iter()
                .filter(|(k, _)| !drop.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ))
    });
    for name in ["merge", "mustMerge"] {
        m.insert(name, |_, a| {
            at_least("merge", a, 1)?;
            let dst = want_map("merge", &a[0])?;
            for s in &a[1..] {
                merge_into(dst, want_map("merge", s)?, false);
            }
            Ok(a[0].clone())
        });
    }
    for name in ["mergeOverwrite", "mustMergeOverwrite"] {
        m.insert(name, |_, a| {
            at_least("mergeOverwrite", a, 1)?;
            let dst = want_map("mergeOverwrite", &a[0])?;
            for s in &a[1..] {
                merge_into(dst, want_map("mergeOverwrite", s)?, true);
            }
            Ok(a[0].clone())
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        m.insert(name, |_, a| {
            arity("deepCopy", a, 1)?;
            Ok(a[0].deep_copy())
        });
    }
    m.insert("dig", |_, a| {
        at_least("dig", a, 3)?;
        let n = a.len();
        let mut cur = a[n - 1].clone();
        let default = a[n - 2].clone();
        for k in &a[..n - 2] {
            let k = want_str(k)?;
            let next = match &cur {
                Value::Map(m) => m.borrow().get(k).cloned(),
                _ => None,
            };
            match next {
                Some(v) => cur = v,
                None => return Ok(default),
            }
        }
        Ok(cur)
    });
}
