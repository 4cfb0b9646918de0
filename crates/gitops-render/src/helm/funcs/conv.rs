//! Conversions Sprig applies to its arguments (`strval`, `cast.ToInt64`, `cast.ToFloat64`) and
//! the JSON/YAML writers shared by several families.

use std::fmt::Write as _;

use crate::gotemplate::Value;
use crate::gotemplate::fmt::format_float_g;

/// Sprig's `strval`: strings as they are, everything else as `fmt.Sprint` prints it.
pub(crate) fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => other.to_string(),
    }
}

/// `cast.ToInt64`: numbers truncated, strings parsed (with base prefixes), bools 0/1, else 0.
pub(crate) fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i) => *i,
        #[allow(clippy::cast_possible_truncation)]
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_go_int(s).unwrap_or(0),
        _ => 0,
    }
}

/// `strconv.ParseInt(s, 0, 64)` after cast's trimming of a zero decimal part (`"3.0"`).
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let s = s.strip_suffix(".0").unwrap_or(s);
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let body = body.replace('_', "");
    let lower = body.to_ascii_lowercase();
    let v = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()?
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()?
    } else {
        lower.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// `cast.ToFloat64`.
pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        #[allow(clippy::cast_precision_loss)]
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => s.parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Sprig's `empty`: nil, zero numbers, false, and empty strings, lists and maps.
pub(crate) fn is_empty(v: &Value) -> bool {
    !v.truthy()
}

/// Sprig's `strslice`: a list as strings (nil items dropped), anything else as one string.
pub(crate) fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// A list argument (`[]interface{}`), or Go's conversion error.
pub(crate) fn want_list<'a>(name: &str, v: &'a Value) -> Result<&'a [Value], String> {
    match v {
        Value::List(l) => Ok(l),
        other => Err(format!("Cannot {name} on type {}", other.type_name())),
    }
}

/// `json.Marshal` of a value: sorted map keys, `<>&` escaped, Go's float text.
pub(crate) fn to_json_text(v: &Value, escape_html: bool) -> String {
    let mut out = String::new();
    write_json(&mut out, v, escape_html, None, 0);
    out
}

/// `json.MarshalIndent(v, "", "  ")`.
pub(crate) fn to_pretty_json_text(v: &Value) -> String {
    let mut out = String::new();
    write_json(&mut out, v, true, Some("  "), 0);
    out
}

fn newline(out: &mut String, indent: Option<&str>, level: usize) {
    if let Some(ind) = indent {
        out.push('\n');
        for _ in 0..level {
            out.push_str(ind);
        }
    }
}

fn write_json(out: &mut String, v: &Value, esc: bool, indent: Option<&str>, level: usize) {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&json_float(*f)),
        Value::Str(s) => json_string(out, s, esc),
        Value::List(l) => {
            if l.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, x) in l.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_json(out, x, esc, indent, level + 1);
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.is_empty() {
                out.push_str("{}");
                return;
            }
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                json_string(out, k, esc);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                write_json(out, x, esc, indent, level + 1);
            }
            newline(out, indent, level);
            out.push('}');
        }
        Value::Object(o) => write_json(out, &o.to_value(), esc, indent, level),
    }
}

/// Go's `encoding/json` float text.
pub(crate) fn json_float(f: f64) -> String {
    if f.is_nan() || f.is_infinite() {
        return "null".to_owned();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // %e form with Go's cleanup: `1e-07`, `1e+21`.
        let s = format_float_g(f, None);
        let s = if s.contains('e') { s } else { format!("{f:e}") };
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let (sign, digits) = match e.strip_prefix('-') {
            Some(d) => ("-", d),
            None => ("+", e.trim_start_matches('+')),
        };
        let digits = digits.trim_start_matches('0');
        let digits = if digits.len() < 2 {
            format!("{digits:0>2}")
        } else {
            digits.to_owned()
        };
        let digits = if sign == "-" && digits.starts_with('0') && digits.len() == 2 {
            digits[1..].to_owned()
        } else {
            digits
        };
        return format!("{m}e{sign}{digits}");
    }
    let s = format!("{f}");
    s
}

fn json_string(out: &mut String, s: &str, esc: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' if esc => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Helm's `toYaml`: `sigs.k8s.io/yaml` (JSON first, then go-yaml v2 with sorted keys), without
/// the final newline.
pub(crate) fn to_yaml_text(v: &Value) -> String {
    let j = yaml_json(v);
    let mut s = gitops_core::yaml::to_string(&j);
    if s.contains(FLOAT_MARK_ESCAPED) {
        s = unmark_floats(&s);
    }
    if s.ends_with('\n') {
        s.pop();
    }
    s
}

/// The value as JSON in go-yaml v2's key order, numbers as they read back from Go's JSON.
fn yaml_json(v: &Value) -> serde_json::Value {
    match v {
        Value::Map(m) => {
            let m = m.borrow();
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| yaml_v2_key_cmp(a, b));
            serde_json::Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), yaml_json(&m[k])))
                    .collect(),
            )
        }
        Value::List(l) => serde_json::Value::Array(l.iter().map(yaml_json).collect()),
        Value::Float(f) => {
            let text = json_float(*f);
            if let Ok(i) = text.parse::<i64>() {
                serde_json::Value::from(i)
            } else if f.is_finite() {
                // go-yaml v2 writes floats with `strconv.FormatFloat(f, 'g', -1, 64)`; the shared
                // emitter writes Rust's text, so the float travels as a marked string that
                // `unmark_floats` turns back into Go's text.
                serde_json::Value::String(format!("{FLOAT_MARK}{}", format_float_g(*f, None)))
            } else {
                serde_json::Value::Null
            }
        }
        Value::Object(o) => yaml_json(&o.to_value()),
        other => other.to_json(),
    }
}

/// Prefix of a float carried as a string through the YAML emitter (a NUL cannot occur in
/// values read from YAML or JSON text).
const FLOAT_MARK: &str = "\u{0}gofloat:";
/// How the emitter writes the marker inside double quotes.
const FLOAT_MARK_ESCAPED: &str = "\"\\0gofloat:";

/// Replaces `"\0gofloat:TEXT"` by `TEXT`.
fn unmark_floats(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find(FLOAT_MARK_ESCAPED) {
        out.push_str(&rest[..i]);
        let after = &rest[i + FLOAT_MARK_ESCAPED.len()..];
        let end = after.find('"').unwrap_or(after.len());
        out.push_str(&after[..end]);
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    out
}

/// go-yaml v2's map key order (`keyList.Less`): runs of digits compare numerically,
/// non-letters sort before letters.
pub(crate) fn yaml_v2_key_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    if a == b {
        return Ordering::Equal;
    }
    if yaml_v2_less(a, b) {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

fn yaml_v2_less(a: &str, b: &str) -> bool {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let digit = |c: char| c.to_digit(10).map_or(0, i64::from);
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return bl;
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an.saturating_mul(10).saturating_add(digit(ar[ai]));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn.saturating_mul(10).saturating_add(digit(br[bi]));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// Parses YAML text as Helm reads values (YAML 1.1, numbers as float64).
/// Parses YAML as Helm's `fromYaml` does (sigs.k8s.io/yaml over go-yaml v2): only the first
/// document of a stream counts, so `a: 1\n---\nb: 2` gives `{a: 1}` and a trailing `---` is
/// harmless. Later documents are not even read by go-yaml, so a syntax error in them is ignored.
pub(crate) fn from_yaml(text: &str) -> Result<Value, String> {
    let schema = gitops_core::yaml::Schema::Yaml11;
    let err = |e: gitops_core::yaml::ParseError| {
        format!(
            "error converting YAML to JSON: yaml: line {}: {}",
            e.position.line, e.message
        )
    };
    match gitops_core::yaml::parse_documents(text, schema) {
        Ok(docs) => Ok(docs
            .into_iter()
            .next()
            .map_or(Value::Nil, |d| Value::from_json(&d.value, false))),
        Err(e) => match first_document(text) {
            Some(first) if e.position.line > first.lines().count() => {
                gitops_core::yaml::parse_documents(first, schema)
                    .map(|docs| {
                        docs.into_iter()
                            .next()
                            .map_or(Value::Nil, |d| Value::from_json(&d.value, false))
                    })
                    .map_err(err)
            }
            _ => Err(err(e)),
        },
    }
}

/// The text before the `---` line that ends the first document with content, if any.
fn first_document(text: &str) -> Option<&str> {
    let mut offset = 0;
    let mut content = false;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end();
        if (bare == "---" || bare.starts_with("--- ")) && content {
            return Some(&text[..offset]);
        }
        let t = bare.trim_start();
        content |= !(t.is_empty()
            || t.starts_with('#')
            || bare.starts_with("---")
            || bare.starts_with('%'));
        offset += line.len();
    }
    None
}
