//! Type inspection and the "defaults" family: `typeOf`, `kindIs`, `deepEqual`, `default`,
//! `empty`, `coalesce`, `all`, `any`, `ternary`.

use super::conv::is_empty;
use crate::gotemplate::{FuncMap, Value, arity, at_least, want_bool, want_str};

pub(super) fn register(m: &mut FuncMap) {
    m.insert("typeOf", |_, a| {
        arity("typeOf", a, 1)?;
        Ok(Value::str(a[0].type_name()))
    });
    m.insert("typeIs", |_, a| {
        arity("typeIs", a, 2)?;
        Ok(Value::Bool(want_str(&a[0])? == a[1].type_name()))
    });
    m.insert("typeIsLike", |_, a| {
        arity("typeIsLike", a, 2)?;
        let t = a[1].type_name();
        let want = want_str(&a[0])?;
        Ok(Value::Bool(want == t || want == format!("*{t}")))
    });
    m.insert("kindOf", |_, a| {
        arity("kindOf", a, 1)?;
        Ok(Value::str(a[0].kind_name()))
    });
    m.insert("kindIs", |_, a| {
        arity("kindIs", a, 2)?;
        Ok(Value::Bool(want_str(&a[0])? == a[1].kind_name()))
    });
    m.insert("deepEqual", |_, a| {
        arity("deepEqual", a, 2)?;
        Ok(Value::Bool(a[0] == a[1]))
    });
    m.insert("default", |_, a| {
        at_least("default", a, 1)?;
        match a.get(1) {
            Some(g) if !is_empty(g) => Ok(g.clone()),
            _ => Ok(a[0].clone()),
        }
    });
    m.insert("empty", |_, a| {
        arity("empty", a, 1)?;
        Ok(Value::Bool(is_empty(&a[0])))
    });
    m.insert("coalesce", |_, a| {
        Ok(a.iter().find(|v| !is_empty(v)).cloned().unwrap_or_default())
    });
    m.insert("all", |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !is_empty(v))))
    });
    m.insert("any", |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !is_empty(v))))
    });
    m.insert("ternary", |_, a| {
        arity("ternary", a, 3)?;
        Ok(if want_bool(&a[2])? {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
}
