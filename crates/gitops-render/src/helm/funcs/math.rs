//! Sprig's integer and float arithmetic and number conversions (`add`, `div`, `max`, `floor`,
//! `int`, `float64`...), with Sprig's `cast` conversions of their arguments.

use super::conv::{parse_go_int, to_f64, to_i64};
use crate::gotemplate::{FuncMap, Value, arity, at_least, want_int};

fn int(i: i64) -> Result<Value, String> {
    Ok(Value::Int(i))
}

fn float(f: f64) -> Result<Value, String> {
    Ok(Value::Float(f))
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("add", |_, a| {
        int(a.iter().map(to_i64).fold(0i64, i64::wrapping_add))
    });
    m.insert("add1", |_, a| {
        arity("add1", a, 1)?;
        int(to_i64(&a[0]).wrapping_add(1))
    });
    m.insert("sub", |_, a| {
        arity("sub", a, 2)?;
        int(to_i64(&a[0]).wrapping_sub(to_i64(&a[1])))
    });
    m.insert("mul", |_, a| {
        at_least("mul", a, 1)?;
        int(a.iter().map(to_i64).fold(1i64, i64::wrapping_mul))
    });
    m.insert("div", |_, a| {
        arity("div", a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".to_owned());
        }
        int(to_i64(&a[0]).wrapping_div(d))
    });
    m.insert("mod", |_, a| {
        arity("mod", a, 2)?;
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".to_owned());
        }
        int(to_i64(&a[0]).wrapping_rem(d))
    });
    for name in ["max", "biggest"] {
        m.insert(name, |_, a| {
            at_least("max", a, 1)?;
            int(a.iter().map(to_i64).max().unwrap_or(0))
        });
    }
    m.insert("min", |_, a| {
        at_least("min", a, 1)?;
        int(a.iter().map(to_i64).min().unwrap_or(0))
    });
    m.insert("maxf", |_, a| {
        at_least("maxf", a, 1)?;
        float(a.iter().map(to_f64).fold(f64::NEG_INFINITY, f64::max))
    });
    m.insert("minf", |_, a| {
        at_least("minf", a, 1)?;
        float(a.iter().map(to_f64).fold(f64::INFINITY, f64::min))
    });
    m.insert("addf", |_, a| float(a.iter().map(to_f64).sum()));
    m.insert("add1f", |_, a| {
        arity("add1f", a, 1)?;
        float(to_f64(&a[0]) + 1.0)
    });
    m.insert("subf", |_, a| {
        at_least("subf", a, 1)?;
        float(a[1..].iter().map(to_f64).fold(to_f64(&a[0]), |x, y| x - y))
    });
    m.insert("mulf", |_, a| {
        at_least("mulf", a, 1)?;
        float(a.iter().map(to_f64).product())
    });
    m.insert("divf", |_, a| {
        at_least("divf", a, 1)?;
        let mut r = to_f64(&a[0]);
        for d in &a[1..] {
            let d = to_f64(d);
            if d == 0.0 {
                return Err("decimal division by 0".to_owned());
            }
            r /= d;
        }
        float(r)
    });
    m.insert("floor", |_, a| {
        arity("floor", a, 1)?;
        float(to_f64(&a[0]).floor())
    });
    m.insert("ceil", |_, a| {
        arity("ceil", a, 1)?;
        float(to_f64(&a[0]).ceil())
    });
    m.insert("round", |_, a| {
        at_least("round", a, 2)?;
        let x = to_f64(&a[0]);
        let p = want_int(&a[1])?;
        let half = a.get(2).map_or(0.5, to_f64);
        let pow = 10f64.powi(i32::try_from(p).unwrap_or(0));
        let digit = pow * x;
        let (int_part, frac) = (digit.trunc(), digit.fract());
        let r = if frac >= half {
            int_part + 1.0
        } else {
            int_part
        };
        float(r / pow)
    });
    m.insert("randInt", |_, a| {
        arity("randInt", a, 2)?;
        let (lo, hi) = (want_int(&a[0])?, want_int(&a[1])?);
        if hi <= lo {
            return Err("invalid argument to Intn".to_owned());
        }
        int(lo + (super::crypto::random_u64() % (hi - lo) as u64) as i64)
    });
    m.insert("int", |_, a| {
        arity("int", a, 1)?;
        int(to_i64(&a[0]))
    });
    m.insert("int64", |_, a| {
        arity("int64", a, 1)?;
        int(to_i64(&a[0]))
    });
    m.insert("float64", |_, a| {
        arity("float64", a, 1)?;
        float(to_f64(&a[0]))
    });
    m.insert("toDecimal", |_, a| {
        arity("toDecimal", a, 1)?;
        let s = super::conv::strval(&a[0]);
        int(i64::from_str_radix(&s, 8).unwrap_or(0))
    });
    let _ = parse_go_int;
}
