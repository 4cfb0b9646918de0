//! Base64/base32 and JSON functions (Sprig's `b64enc`, `toJson`... with Helm's forgiving
//! `toJson`/`fromJson` that return empty text or an `Error` key instead of failing).

use std::collections::BTreeMap;

use super::conv::{to_json_text, to_pretty_json_text};
use crate::gotemplate::{FuncMap, Value, arity, want_str};

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Standard base64 with padding.
pub(crate) fn b64encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b64decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut acc = 0u32;
    let mut bits = 0;
    for (i, c) in s.bytes().enumerate() {
        if c == b'=' {
            break;
        }
        let Some(v) = B64.iter().position(|&x| x == c) else {
            return Err(format!("illegal base64 data at input byte {i}"));
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

fn b32encode(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |a, &b| (a << 8) | u64::from(b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(B32[((n >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32decode(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let mut acc = 0u64;
    let mut bits = 0;
    for (i, c) in s.bytes().enumerate() {
        if c == b'=' {
            break;
        }
        let Some(v) = B32.iter().position(|&x| x == c) else {
            return Err(format!("illegal base32 data at input byte {i}"));
        };
        acc = (acc << 5) | v as u64;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Ok(out)
}

fn parse_json(s: &str) -> Result<Value, String> {
    serde_json::from_str::<serde_json::Value>(s)
        .map(|j| Value::from_json(&j, false))
        .map_err(|e| e.to_string())
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("b64enc", |_, a| {
        arity("b64enc", a, 1)?;
        Ok(Value::str(b64encode(want_str(&a[0])?.as_bytes())))
    });
    m.insert("b64dec", |_, a| {
        arity("b64dec", a, 1)?;
        Ok(Value::str(match b64decode(want_str(&a[0])?) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        }))
    });
    m.insert("b32enc", |_, a| {
        arity("b32enc", a, 1)?;
        Ok(Value::str(b32encode(want_str(&a[0])?.as_bytes())))
    });
    m.insert("b32dec", |_, a| {
        arity("b32dec", a, 1)?;
        Ok(Value::str(match b32decode(want_str(&a[0])?) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        }))
    });
    for name in ["toJson", "mustToJson"] {
        m.insert(name, |_, a| {
            arity("toJson", a, 1)?;
            Ok(Value::str(to_json_text(&a[0], true)))
        });
    }
    for name in ["toPrettyJson", "mustToPrettyJson"] {
        m.insert(name, |_, a| {
            arity("toPrettyJson", a, 1)?;
            Ok(Value::str(to_pretty_json_text(&a[0])))
        });
    }
    for name in ["toRawJson", "mustToRawJson"] {
        m.insert(name, |_, a| {
            arity("toRawJson", a, 1)?;
            Ok(Value::str(to_json_text(&a[0], false)))
        });
    }
    m.insert("fromJson", |_, a| {
        arity("fromJson", a, 1)?;
        match parse_json(want_str(&a[0])?) {
            Ok(v @ Value::Map(_)) => Ok(v),
            Ok(Value::Nil) => Ok(Value::empty_map()),
            Ok(other) => Ok(error_map(format!(
                "json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            ))),
            Err(e) => Ok(error_map(e)),
        }
    });
    m.insert("mustFromJson", |_, a| {
        arity("mustFromJson", a, 1)?;
        parse_json(want_str(&a[0])?)
    });
    m.insert("fromJsonArray", |_, a| {
        arity("fromJsonArray", a, 1)?;
        match parse_json(want_str(&a[0])?) {
            Ok(v @ Value::List(_)) => Ok(v),
            Ok(Value::Nil) => Ok(Value::list(Vec::new())),
            Ok(other) => Ok(Value::list(vec![Value::str(format!(
                "json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&other)
            ))])),
            Err(e) => Ok(Value::list(vec![Value::str(e)])),
        }
    });
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Map(_) => "object",
        Value::List(_) => "array",
        Value::Str(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    }
}

/// Helm's way of reporting a parse failure inside a template: a map with an `Error` key.
pub(crate) fn error_map(msg: String) -> Value {
    let mut m = BTreeMap::new();
    m.insert("Error".to_owned(), Value::str(msg));
    Value::map(m)
}
