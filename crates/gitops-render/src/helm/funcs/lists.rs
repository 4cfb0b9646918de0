//! Sprig's list functions (`list`, `append`, `first`, `uniq`, `has`, `concat`, `until`...).
//! The `must*` variants return the error where the plain ones would fail the template too,
//! since Sprig's plain variants panic on bad input, which Go's template engine reports.

use super::conv::{to_i64, want_list};
use crate::gotemplate::{FuncMap, Value, arity, at_least, go_eq, want_int};

/// The most items `until` and `untilStep` build. Sprig sets no bound (Go allocates what it is
/// asked for); a million is far beyond what a chart loops over, and keeps a hostile
/// `until 100000000` from taking gigabytes.
const MAX_GENERATED_ITEMS: u64 = 1_000_000;

/// Refuses a list of `count` items beyond [`MAX_GENERATED_ITEMS`].
fn within_generated_items(count: u64) -> Result<(), String> {
    if count > MAX_GENERATED_ITEMS {
        return Err(format!(
            "{count} items are more than the {MAX_GENERATED_ITEMS} a list may be built with"
        ));
    }
    Ok(())
}

fn list(v: Vec<Value>) -> Result<Value, String> {
    Ok(Value::list(v))
}

fn one_list<'a>(name: &str, a: &'a [Value]) -> Result<&'a [Value], String> {
    arity(name, a, 1)?;
    if a[0].is_nil() {
        return Ok(&[]);
    }
    want_list(name.trim_start_matches("must"), &a[0])
}

fn contains(l: &[Value], v: &Value) -> bool {
    l.iter().any(|x| x == v || go_eq(x, v).unwrap_or(false))
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("list", |_, a| list(a.to_vec()));
    m.insert("tuple", |_, a| list(a.to_vec()));
    for name in ["append", "push", "mustAppend", "mustPush"] {
        m.insert(name, |_, a| {
            arity("append", a, 2)?;
            let mut l = if a[0].is_nil() {
                Vec::new()
            } else {
                want_list("push", &a[0])?.to_vec()
            };
            l.push(a[1].clone());
            list(l)
        });
    }
    for name in ["prepend", "mustPrepend"] {
        m.insert(name, |_, a| {
            arity("prepend", a, 2)?;
            let mut l = vec![a[1].clone()];
            if !a[0].is_nil() {
                l.extend(want_list("prepend", &a[0])?.iter().cloned());
            }
            list(l)
        });
    }
    for name in ["first", "mustFirst"] {
        m.insert(name, |_, a| {
            Ok(one_list("first", a)?.first().cloned().unwrap_or_default())
        });
    }
    for name in ["last", "mustLast"] {
        m.insert(name, |_, a| {
            Ok(one_list("last", a)?.last().cloned().unwrap_or_default())
        });
    }
    for name in ["rest", "mustRest"] {
        m.insert(name, |_, a| {
            let l = one_list("rest", a)?;
            if l.is_empty() {
                Ok(Value::Nil)
            } else {
                list(l[1..].to_vec())
            }
        });
    }
    for name in ["initial", "mustInitial"] {
        m.insert(name, |_, a| {
            let l = one_list("initial", a)?;
            if l.is_empty() {
                Ok(Value::Nil)
            } else {
                list(l[..l.len() - 1].to_vec())
            }
        });
    }
    for name in ["reverse", "mustReverse"] {
        m.insert(name, |_, a| {
            list(one_list("reverse", a)?.iter().rev().cloned().collect())
        });
    }
    for name in ["uniq", "mustUniq"] {
        m.insert(name, |_, a| {
            let mut out: Vec<Value> = Vec::new();
            for v in one_list("uniq", a)? {
                if !contains(&out, v) {
                    out.push(v.clone());
                }
            }
            list(out)
        });
    }
    for name in ["compact", "mustCompact"] {
        m.insert(name, |_, a| {
            list(
                one_list("compact", a)?
                    .iter()
                    .filter(|v| v.truthy())
                    .cloned()
                    .collect(),
            )
        });
    }
    for name in ["without", "mustWithout"] {
        m.insert(name, |_, a| {
            at_least("without", a, 1)?;
            let l = if a[0].is_nil() {
                &[][..]
            } else {
                want_list("without", &a[0])?
            };
            list(
                l.iter()
                    .filter(|v| !contains(&a[1..], v))
                    .cloned()
                    .collect(),
            )
        });
    }
    for name in ["has", "mustHas"] {
        m.insert(name, |_, a| {
            arity("has", a, 2)?;
            match &a[1] {
                Value::List(l) => Ok(Value::Bool(contains(l, &a[0]))),
                Value::Nil => Ok(Value::Bool(false)),
                other => Err(format!("Cannot find has on type {}", other.type_name())),
            }
        });
    }
    for name in ["slice", "mustSlice"] {
        m.insert(name, |_, a| {
            at_least("slice", a, 1)?;
            let l = want_list("slice", &a[0])?;
            let len = l.len() as i64;
            let i = a.get(1).map_or(0, to_i64).clamp(0, len) as usize;
            let j = a.get(2).map_or(len, to_i64).clamp(0, len) as usize;
            if i > j {
                return Err(format!("slice bounds out of range [{i}:{j}]"));
            }
            list(l[i..j].to_vec())
        });
    }
    m.insert("concat", |_, a| {
        let mut out = Vec::new();
        for l in a {
            match l {
                Value::List(l) => out.extend(l.iter().cloned()),
                Value::Nil => {}
                other => return Err(format!("Cannot concat type {} as list", other.type_name())),
            }
        }
        list(out)
    });
    for name in ["chunk", "mustChunk"] {
        m.insert(name, |_, a| {
            arity("chunk", a, 2)?;
            let size = want_int(&a[0])?.max(1) as usize;
            let l = want_list("chunk", &a[1])?;
            list(l.chunks(size).map(|c| Value::list(c.to_vec())).collect())
        });
    }
    m.insert("until", |_, a| {
        arity("until", a, 1)?;
        let n = want_int(&a[0])?;
        within_generated_items(n.unsigned_abs())?;
        let v: Vec<Value> = if n >= 0 {
            (0..n).map(Value::Int).collect()
        } else {
            (n + 1..=0).rev().map(Value::Int).collect()
        };
        list(v)
    });
    m.insert("untilStep", |_, a| {
        arity("untilStep", a, 3)?;
        let (start, stop, step) = (want_int(&a[0])?, want_int(&a[1])?, want_int(&a[2])?);
        let span = i128::from(stop) - i128::from(start);
        let count = if step != 0 && span != 0 && (span > 0) == (step > 0) {
            let step = i128::from(step).abs();
            (span.abs() + step - 1) / step
        } else {
            0
        };
        within_generated_items(u64::try_from(count).unwrap_or(u64::MAX))?;
        // `count` items from `start`, none of them past `stop`: no step overflows.
        let v = (0..count)
            .map(|k| Value::Int((i128::from(start) + k * i128::from(step)) as i64))
            .collect();
        list(v)
    });
}
