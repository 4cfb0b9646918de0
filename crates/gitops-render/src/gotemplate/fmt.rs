//! Go's `fmt` as templates use it: `Sprint`, `Sprintln`, `Sprintf` with the common verbs, flags,
//! widths and precisions, and Go's text for floats (`1e+06`) and bad verbs (`%!d(string=x)`).

use std::fmt::Write as _;

use super::value::Value;

/// Formats a float like `strconv.FormatFloat(f, 'g', prec, 64)`; `None` is the shortest form
/// (`%v`), which switches to an exponent from 1e+21 up... as Go does for `%v`: from 1e+06.
#[must_use]
pub fn format_float_g(f: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let (neg, digits, exp) = decompose(f, prec.map(|p| p.max(1)));
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            let nd = digits.len() as i32;
            if p > nd && nd > exp { nd } else { p }
        }
    };
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        push_exp(&mut out, exp);
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&digits);
    } else {
        let int_len = (exp + 1) as usize;
        if digits.len() <= int_len {
            out.push_str(&digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
    out
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".to_owned())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.to_owned())
    } else {
        None
    }
}

fn push_exp(out: &mut String, exp: i32) {
    out.push('e');
    out.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", exp.abs());
}

/// Sign, significant digits (no trailing zeros) and decimal exponent of `f`, rounded to
/// `sig` significant digits (shortest round-trip form when `None`).
fn decompose(f: f64, sig: Option<usize>) -> (bool, String, i32) {
    let s = match sig {
        None => format!("{:e}", f.abs()),
        Some(p) => format!("{:.*e}", p - 1, f.abs()),
    };
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut digits: String = mant.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (
        f.is_sign_negative() && f != 0.0 || (f == 0.0 && f.is_sign_negative()),
        digits,
        exp.parse().unwrap_or(0),
    )
}

/// `%e` with precision `prec`.
fn format_float_e(f: f64, prec: usize, upper: bool) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let s = format!("{:.*e}", prec, f.abs());
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let mut out = String::new();
    if f.is_sign_negative() {
        out.push('-');
    }
    out.push_str(mant);
    push_exp(&mut out, exp.parse().unwrap_or(0));
    if upper { out.to_uppercase() } else { out }
}

/// Go's `strconv.Quote`.
#[must_use]
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `fmt.Sprint(args...)`: spaces between operands when neither side is a string.
#[must_use]
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        let _ = write!(out, "{a}");
    }
    out
}

/// `fmt.Sprintln(args...)`: spaces between all operands and a newline.
#[must_use]
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{a}");
    }
    out.push('\n');
    out
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf(format, args...)`.
#[must_use]
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut argi = 0;
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = read_num(&mut chars, args, &mut argi);
        if chars.peek() == Some(&'.') {
            chars.next();
            spec.prec = Some(read_num(&mut chars, args, &mut argi).unwrap_or(0));
        }
        let Some(verb) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        argi += 1;
        let body = format_arg(arg, verb, spec);
        pad(
            &mut out,
            &body,
            spec,
            matches!(arg, Value::Int(_) | Value::Float(_)),
        );
    }
    if argi < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[argi..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            let _ = write!(out, "{}={a}", a.type_name());
        }
        out.push(')');
    }
    out
}

fn read_num(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    args: &[Value],
    argi: &mut usize,
) -> Option<usize> {
    if chars.peek() == Some(&'*') {
        chars.next();
        let v = args.get(*argi);
        *argi += 1;
        return match v {
            Some(Value::Int(i)) => usize::try_from(*i).ok(),
            _ => None,
        };
    }
    let mut n: Option<usize> = None;
    while let Some(d) = chars.peek().and_then(|c| c.to_digit(10)) {
        n = Some(n.unwrap_or(0) * 10 + d as usize);
        chars.next();
    }
    n
}

fn pad(out: &mut String, body: &str, spec: Spec, numeric: bool) {
    let len = body.chars().count();
    let w = spec.width.unwrap_or(0);
    if len >= w {
        out.push_str(body);
        return;
    }
    let fill = w - len;
    if spec.minus {
        out.push_str(body);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && numeric {
        let (sign, rest) = match body.strip_prefix('-') {
            Some(r) => ("-", r),
            None => match body.strip_prefix('+') {
                Some(r) => ("+", r),
                None => ("", body),
            },
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(body);
    }
}

fn bad(verb: char, arg: &Value) -> String {
    match arg {
        Value::Nil => format!("%!{verb}(<nil>)"),
        a => format!("%!{verb}({}={a})", a.type_name()),
    }
}

fn format_arg(arg: &Value, verb: char, spec: Spec) -> String {
    // Slices and maps apply the verb to their elements.
    match arg {
        Value::List(l) if verb != 'T' => {
            let parts: Vec<String> = l.iter().map(|v| format_arg(v, verb, spec)).collect();
            return format!("[{}]", parts.join(" "));
        }
        Value::Map(m) if verb != 'T' => {
            let parts: Vec<String> = m
                .borrow()
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        format_arg(&Value::str(k.as_str()), verb, spec),
                        format_arg(v, verb, spec)
                    )
                })
                .collect();
            return format!("map[{}]", parts.join(" "));
        }
        _ => {}
    }
    match verb {
        'v' => match arg {
            Value::Str(s) if spec.sharp => quote(s),
            Value::Float(f) => sign(format_float_g(*f, spec.prec), spec),
            Value::Int(i) => sign(i.to_string(), spec),
            a => a.to_string(),
        },
        'T' => arg.type_name(),
        's' => match arg {
            Value::Str(s) => truncate(s, spec.prec),
            Value::Object(o) => truncate(&o.display(), spec.prec),
            a => bad('s', a),
        },
        'q' => match arg {
            Value::Str(s) => {
                if spec.sharp && !s.contains('`') {
                    format!("`{s}`")
                } else {
                    quote(s)
                }
            }
            Value::Int(i) => char::from_u32(u32::try_from(*i).unwrap_or(0xFFFD))
                .map(|c| format!("{c:?}"))
                .unwrap_or_default(),
            a => bad('q', a),
        },
        'd' => match arg {
            Value::Int(i) => sign(i.to_string(), spec),
            a => bad('d', a),
        },
        'b' | 'o' | 'O' | 'x' | 'X' => match arg {
            Value::Int(i) => {
                let (neg, m) = (*i < 0, i.unsigned_abs());
                let body = match verb {
                    'b' => format!("{m:b}"),
                    'o' => format!("{}{m:o}", if spec.sharp { "0" } else { "" }),
                    'O' => format!("0o{m:o}"),
                    'x' => format!("{}{m:x}", if spec.sharp { "0x" } else { "" }),
                    _ => format!("{}{m:X}", if spec.sharp { "0X" } else { "" }),
                };
                if neg {
                    format!("-{body}")
                } else {
                    sign(body, spec)
                }
            }
            Value::Str(s) if verb == 'x' || verb == 'X' => {
                let mut o = String::new();
                for b in s.bytes() {
                    if verb == 'x' {
                        let _ = write!(o, "{b:02x}");
                    } else {
                        let _ = write!(o, "{b:02X}");
                    }
                }
                o
            }
            a => bad(verb, a),
        },
        'c' => match arg {
            Value::Int(i) => char::from_u32(u32::try_from(*i).unwrap_or(0xFFFD))
                .map(String::from)
                .unwrap_or_default(),
            a => bad('c', a),
        },
        'U' => match arg {
            Value::Int(i) => format!("U+{i:04X}"),
            a => bad('U', a),
        },
        't' => match arg {
            Value::Bool(b) => b.to_string(),
            a => bad('t', a),
        },
        'f' | 'F' => match arg {
            Value::Float(f) => special(*f)
                .unwrap_or_else(|| sign(format!("{:.*}", spec.prec.unwrap_or(6), f), spec)),
            a => bad(verb, a),
        },
        'e' | 'E' => match arg {
            Value::Float(f) => sign(
                format_float_e(*f, spec.prec.unwrap_or(6), verb == 'E'),
                spec,
            ),
            a => bad(verb, a),
        },
        'g' | 'G' => match arg {
            Value::Float(f) => {
                let s = sign(format_float_g(*f, spec.prec), spec);
                if verb == 'G' { s.to_uppercase() } else { s }
            }
            a => bad(verb, a),
        },
        other => bad(other, arg),
    }
}

fn sign(s: String, spec: Spec) -> String {
    if spec.plus && !s.starts_with('-') {
        format!("+{s}")
    } else if spec.space && !s.starts_with('-') {
        format!(" {s}")
    } else {
        s
    }
}

fn truncate(s: &str, prec: Option<usize>) -> String {
    match prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_owned(),
    }
}
