//! Scalar resolution: what a plain (unquoted) YAML scalar means under each schema.
//!
//! Kubernetes tools disagree here, and the disagreement matters: kustomize reads with YAML 1.2's
//! core schema (`on` is a string), Helm's output is read with YAML 1.1 rules (`on` is `true`).
//! Writing must therefore quote every string that *either* reader would take as something else.

use serde_json::{Number, Value};

use super::Schema;

/// Resolves an untagged plain scalar to a JSON value under `schema`.
pub(crate) fn resolve_plain(text: &str, schema: Schema) -> Value {
    if is_null(text) {
        return Value::Null;
    }
    if let Some(b) = parse_bool(text, schema) {
        return Value::Bool(b);
    }
    if let Some(n) = parse_int(text, schema) {
        return Value::Number(n);
    }
    if let Some(f) = parse_float(text, schema) {
        return float_value(f, text);
    }
    Value::String(text.to_owned())
}

/// `~`, `null`, `Null`, `NULL` and the empty scalar are null in both schemas.
pub(crate) fn is_null(text: &str) -> bool {
    matches!(text, "" | "~" | "null" | "Null" | "NULL")
}

pub(crate) fn parse_bool(text: &str, schema: Schema) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ if schema == Schema::Yaml11 => match text {
            "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
            "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Integers as Go's YAML libraries read them: optional sign, `_` separators, and the `0x`, `0o`,
/// `0b` and legacy leading-zero octal prefixes (both yaml.v2 and yaml.v3 accept all of these).
pub(crate) fn parse_int(text: &str, _schema: Schema) -> Option<Number> {
    let first = text.as_bytes().first()?;
    if !(first.is_ascii_digit() || *first == b'-' || *first == b'+') {
        return None;
    }
    let cleaned: String;
    let plain = if text.contains('_') {
        cleaned = text.replace('_', "");
        cleaned.as_str()
    } else {
        text
    };
    let (negative, digits) = match plain.as_bytes().first() {
        Some(b'-') => (true, &plain[1..]),
        Some(b'+') => (false, &plain[1..]),
        _ => (false, plain),
    };
    if digits.is_empty() {
        return None;
    }
    let (radix, body) = if let Some(rest) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, rest)
    } else if let Some(rest) = digits
        .strip_prefix("0o")
        .or_else(|| digits.strip_prefix("0O"))
    {
        (8, rest)
    } else if let Some(rest) = digits
        .strip_prefix("0b")
        .or_else(|| digits.strip_prefix("0B"))
    {
        (2, rest)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(body, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            // Two's complement: -(2^63) fits although 2^63 does not.
            Some(Number::from((magnitude as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else {
        Some(Number::from(magnitude))
    }
}

/// Floats: decimal forms with optional exponent, plus `.inf`, `-.inf` and `.nan`.
pub(crate) fn parse_float(text: &str, _schema: Schema) -> Option<f64> {
    let plain = text.replace('_', "");
    let unsigned = plain.trim_start_matches(['-', '+']);
    if plain.len() - unsigned.len() > 1 {
        return None;
    }
    match unsigned {
        ".inf" | ".Inf" | ".INF" => {
            return Some(if plain.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        ".nan" | ".NaN" | ".NAN" if plain.len() == unsigned.len() => return Some(f64::NAN),
        _ => {}
    }
    if !looks_like_decimal_float(unsigned) {
        return None;
    }
    plain.parse::<f64>().ok()
}

/// `( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?`
fn looks_like_decimal_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let int_digits = count_digits(&b[i..]);
    i += int_digits;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac_digits = count_digits(&b[i..]);
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let exp = count_digits(&b[i..]);
        if exp == 0 {
            return false;
        }
        i += exp;
    }
    i == b.len()
}

fn count_digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// JSON cannot hold infinities or NaN; those stay as their YAML text so nothing is lost.
fn float_value(f: f64, text: &str) -> Value {
    match Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None => Value::String(text.to_owned()),
    }
}

/// Whether a string written plain would be read back as something other than that string by a
/// YAML 1.1 *or* 1.2 reader (booleans, nulls, numbers, timestamps, merge keys).
pub(crate) fn plain_is_ambiguous(s: &str) -> bool {
    if is_null(s) || s == "<<" || s == "=" {
        return true;
    }
    if parse_bool(s, Schema::Yaml11).is_some() {
        return true;
    }
    if parse_int(s, Schema::Yaml11).is_some() || parse_float(s, Schema::Yaml11).is_some() {
        return true;
    }
    let first = s.as_bytes()[0];
    if first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.' {
        // Base-60 numbers (`1:20`) of YAML 1.1 and timestamps (`2001-12-14`) read as non-strings
        // by some readers.
        if is_sexagesimal(s) || is_timestamp(s) {
            return true;
        }
    }
    false
}

fn is_sexagesimal(s: &str) -> bool {
    let body = s.trim_start_matches(['-', '+']);
    if !body.contains(':') {
        return false;
    }
    let mut parts = body.split(':');
    let Some(head) = parts.next() else {
        return false;
    };
    if head.is_empty() || !head.bytes().all(|c| c.is_ascii_digit() || c == b'_') {
        return false;
    }
    parts.all(|p| {
        let (whole, frac) = p.split_once('.').unwrap_or((p, ""));
        !whole.is_empty()
            && whole.len() <= 2
            && whole.bytes().all(|c| c.is_ascii_digit())
            && frac.bytes().all(|c| c.is_ascii_digit())
    })
}

fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_2_keeps_1_1_booleans_as_strings() {
        for s in ["on", "yes", "NO", "y", "Off"] {
            assert_eq!(resolve_plain(s, Schema::Yaml12), json!(s), "{s}");
            assert!(resolve_plain(s, Schema::Yaml11).is_boolean(), "{s}");
        }
    }

    #[test]
    fn numbers_resolve_like_go_yaml() {
        assert_eq!(resolve_plain("0x10", Schema::Yaml12), json!(16));
        assert_eq!(resolve_plain("0o17", Schema::Yaml12), json!(15));
        assert_eq!(resolve_plain("017", Schema::Yaml12), json!(15));
        assert_eq!(resolve_plain("1_000", Schema::Yaml12), json!(1000));
        assert_eq!(
            resolve_plain("-9223372036854775808", Schema::Yaml12),
            json!(i64::MIN)
        );
        assert_eq!(
            resolve_plain("18446744073709551615", Schema::Yaml12),
            json!(u64::MAX)
        );
        assert_eq!(resolve_plain("1e3", Schema::Yaml12), json!(1000.0));
        assert_eq!(resolve_plain(".5", Schema::Yaml12), json!(0.5));
        assert_eq!(resolve_plain(".inf", Schema::Yaml12), json!(".inf"));
        assert_eq!(resolve_plain("1.2.3", Schema::Yaml12), json!("1.2.3"));
        assert_eq!(resolve_plain("0x", Schema::Yaml12), json!("0x"));
        assert_eq!(resolve_plain("-", Schema::Yaml12), json!("-"));
    }

    #[test]
    fn ambiguous_strings_are_detected() {
        for s in [
            "on",
            "yes",
            "NO",
            "~",
            "null",
            "0x10",
            "1e3",
            "012",
            "1:20",
            "2001-12-14",
            "<<",
            ".inf",
            "+1",
        ] {
            assert!(plain_is_ambiguous(s), "{s}");
        }
        for s in ["nginx", "v1.2.3", "1.2.3", "a:b", "onion", "-x"] {
            assert!(!plain_is_ambiguous(s), "{s}");
        }
    }
}
