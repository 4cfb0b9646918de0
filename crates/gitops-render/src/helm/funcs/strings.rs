//! Sprig's string functions: case, trimming, padding, quoting, splitting and joining, wrapping,
//! and the random string generators (non-deterministic, as in Sprig).

use std::collections::BTreeMap;

use super::conv::{strslice, strval, to_i64};
use crate::gotemplate::{FuncMap, Value, arity, at_least, want_int, want_str};

/// The longest string `repeat`, `indent`, `nindent` and the `rand*` functions build. Sprig sets
/// no bound; Helm stores a release, manifests included, in one Secret or ConfigMap of at most
/// 1 MiB, so 16 MiB of one string is far beyond any chart, and keeps a hostile
/// `repeat 100000000` from taking gigabytes.
const MAX_BUILT_TEXT: usize = 16 << 20;

/// Refuses to build a string of `len` bytes (`None`: more than `usize` holds) beyond
/// [`MAX_BUILT_TEXT`].
fn within_built_text(len: Option<usize>) -> Result<(), String> {
    match len {
        Some(len) if len <= MAX_BUILT_TEXT => Ok(()),
        Some(len) => Err(format!(
            "a string of {len} bytes is more than the {MAX_BUILT_TEXT} a string may be built with"
        )),
        None => Err(format!(
            "a string of more than {} bytes is more than the {MAX_BUILT_TEXT} a string may be \
             built with",
            usize::MAX
        )),
    }
}

fn s(v: impl Into<String>) -> Result<Value, String> {
    Ok(Value::str(v.into()))
}

/// One `string` argument.
fn one<'a>(name: &str, a: &'a [Value]) -> Result<&'a str, String> {
    arity(name, a, 1)?;
    want_str(&a[0])
}

/// Two `string` arguments.
fn two<'a>(name: &str, a: &'a [Value]) -> Result<(&'a str, &'a str), String> {
    arity(name, a, 2)?;
    Ok((want_str(&a[0])?, want_str(&a[1])?))
}

pub(super) fn register(m: &mut FuncMap) {
    m.insert("upper", |_, a| s(one("upper", a)?.to_uppercase()));
    m.insert("lower", |_, a| s(one("lower", a)?.to_lowercase()));
    m.insert("title", |_, a| s(title(one("title", a)?)));
    m.insert("untitle", |_, a| s(untitle(one("untitle", a)?)));
    m.insert("swapcase", |_, a| {
        s(one("swapcase", a)?
            .chars()
            .map(|c| {
                if c.is_uppercase() {
                    c.to_lowercase().collect::<String>()
                } else {
                    c.to_uppercase().collect()
                }
            })
            .collect::<String>())
    });
    m.insert("trim", |_, a| s(one("trim", a)?.trim_matches(is_go_space)));
    m.insert("nospace", |_, a| {
        s(one("nospace", a)?
            .chars()
            .filter(|c| !is_go_space(*c))
            .collect::<String>())
    });
    m.insert("trimAll", |_, a| {
        let (cut, v) = two("trimAll", a)?;
        s(v.trim_matches(|c| cut.contains(c)))
    });
    m.insert("trimall", |_, a| {
        let (cut, v) = two("trimall", a)?;
        s(v.trim_matches(|c| cut.contains(c)))
    });
    m.insert("trimSuffix", |_, a| {
        let (suf, v) = two("trimSuffix", a)?;
        s(v.strip_suffix(suf).unwrap_or(v))
    });
    m.insert("trimPrefix", |_, a| {
        let (pre, v) = two("trimPrefix", a)?;
        s(v.strip_prefix(pre).unwrap_or(v))
    });
    m.insert("contains", |_, a| {
        let (sub, v) = two("contains", a)?;
        Ok(Value::Bool(v.contains(sub)))
    });
    m.insert("hasPrefix", |_, a| {
        let (p, v) = two("hasPrefix", a)?;
        Ok(Value::Bool(v.starts_with(p)))
    });
    m.insert("hasSuffix", |_, a| {
        let (p, v) = two("hasSuffix", a)?;
        Ok(Value::Bool(v.ends_with(p)))
    });
    m.insert("replace", |_, a| {
        arity("replace", a, 3)?;
        let (old, new, src) = (want_str(&a[0])?, want_str(&a[1])?, want_str(&a[2])?);
        s(go_replace(src, old, new))
    });
    m.insert("repeat", |_, a| {
        arity("repeat", a, 2)?;
        let n = want_int(&a[0])?;
        let v = want_str(&a[1])?;
        if n < 0 {
            return Err("strings: negative Repeat count".to_owned());
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        within_built_text(v.len().checked_mul(n))?;
        s(v.repeat(n))
    });
    m.insert("trunc", |_, a| {
        arity("trunc", a, 2)?;
        let c = want_int(&a[0])?;
        let v = want_str(&a[1])?;
        let len = v.len() as i64;
        s(if c < 0 && len + c > 0 {
            byte_slice(v, (len + c) as usize, v.len())
        } else if c >= 0 && len > c {
            byte_slice(v, 0, c as usize)
        } else {
            v.to_owned()
        })
    });
    m.insert("substr", |_, a| {
        arity("substr", a, 3)?;
        let (start, end) = (want_int(&a[0])?, want_int(&a[1])?);
        let v = want_str(&a[2])?;
        let len = v.len() as i64;
        s(if start < 0 {
            byte_slice(v, 0, end.clamp(0, len) as usize)
        } else if end < 0 || end > len {
            byte_slice(v, start.min(len) as usize, v.len())
        } else {
            byte_slice(v, start.min(end) as usize, end as usize)
        })
    });
    m.insert("abbrev", |_, a| {
        arity("abbrev", a, 2)?;
        let w = want_int(&a[0])?;
        let v = want_str(&a[1])?;
        if w < 4 || v.chars().count() as i64 <= w {
            return s(v);
        }
        let keep: String = v.chars().take((w - 3) as usize).collect();
        s(format!("{keep}..."))
    });
    m.insert("abbrevboth", |_, a| {
        arity("abbrevboth", a, 3)?;
        let (l, r) = (want_int(&a[0])?, want_int(&a[1])?);
        let v = want_str(&a[2])?;
        let chars: Vec<char> = v.chars().collect();
        let n = chars.len() as i64;
        if r < 4 || (l > 0 && r < 7) || n <= r {
            return s(v);
        }
        let l = l.clamp(0, n);
        if l <= 4 {
            let keep: String = chars.iter().take((r - 3) as usize).collect();
            return s(format!("{keep}..."));
        }
        let l = if n - l < r - 3 { n - (r - 3) } else { l };
        let rest: String = chars[l as usize..].iter().collect();
        if l + r - 3 < n {
            let keep: String = rest.chars().take((r - 6) as usize).collect();
            return s(format!("...{keep}..."));
        }
        let keep: String = chars[(n - (r - 3)) as usize..].iter().collect();
        s(format!("...{keep}"))
    });
    m.insert("initials", |_, a| {
        s(one("initials", a)?
            .split_whitespace()
            .filter_map(|w| w.chars().next())
            .collect::<String>())
    });
    m.insert("quote", |_, a| {
        s(a.iter()
            .filter(|v| !v.is_nil())
            .map(|v| crate::gotemplate::fmt::quote(&strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    m.insert("squote", |_, a| {
        s(a.iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", strval(v)))
            .collect::<Vec<_>>()
            .join(" "))
    });
    m.insert("cat", |_, a| {
        s(a.iter()
            .filter(|v| !v.is_nil())
            .map(strval)
            .collect::<Vec<_>>()
            .join(" "))
    });
    m.insert("indent", |_, a| {
        arity("indent", a, 2)?;
        let n = want_int(&a[0])?;
        s(indent(n, want_str(&a[1])?)?)
    });
    m.insert("nindent", |_, a| {
        arity("nindent", a, 2)?;
        let n = want_int(&a[0])?;
        s(format!("\n{}", indent(n, want_str(&a[1])?)?))
    });
    m.insert("plural", |_, a| {
        arity("plural", a, 3)?;
        let (one_, many) = (want_str(&a[0])?, want_str(&a[1])?);
        s(if want_int(&a[2])? == 1 { one_ } else { many })
    });
    m.insert("wrap", |_, a| {
        arity("wrap", a, 2)?;
        let n = want_int(&a[0])?;
        s(wrap(want_str(&a[1])?, n, "\n"))
    });
    m.insert("wrapWith", |_, a| {
        arity("wrapWith", a, 3)?;
        let n = want_int(&a[0])?;
        s(wrap(want_str(&a[2])?, n, want_str(&a[1])?))
    });
    m.insert("toString", |_, a| {
        arity("toString", a, 1)?;
        s(strval(&a[0]))
    });
    m.insert("toStrings", |_, a| {
        arity("toStrings", a, 1)?;
        Ok(Value::list(
            strslice(&a[0]).into_iter().map(Value::from).collect(),
        ))
    });
    m.insert("join", |_, a| {
        arity("join", a, 2)?;
        let sep = want_str(&a[0])?;
        s(strslice(&a[1]).join(sep))
    });
    m.insert("split", |_, a| {
        let (sep, v) = two("split", a)?;
        let parts = go_split(v, sep);
        let mut out = BTreeMap::new();
        for (i, p) in parts.into_iter().enumerate() {
            out.insert(format!("_{i}"), Value::from(p));
        }
        Ok(Value::map(out))
    });
    m.insert("splitList", |_, a| {
        let (sep, v) = two("splitList", a)?;
        Ok(Value::list(
            go_split(v, sep).into_iter().map(Value::from).collect(),
        ))
    });
    m.insert("splitn", |_, a| {
        arity("splitn", a, 3)?;
        let sep = want_str(&a[0])?;
        let n = want_int(&a[1])?;
        let v = want_str(&a[2])?;
        let parts: Vec<&str> = if n < 0 {
            go_split(v, sep)
        } else {
            v.splitn(n as usize, sep).collect()
        };
        let mut out = BTreeMap::new();
        for (i, p) in parts.into_iter().enumerate() {
            out.insert(format!("_{i}"), Value::from(p));
        }
        Ok(Value::map(out))
    });
    m.insert("sortAlpha", |_, a| {
        arity("sortAlpha", a, 1)?;
        let mut v = strslice(&a[0]);
        v.sort();
        Ok(Value::list(v.into_iter().map(Value::from).collect()))
    });
    m.insert("snakecase", |_, a| s(snake(one("snakecase", a)?, '_')));
    m.insert("kebabcase", |_, a| s(snake(one("kebabcase", a)?, '-')));
    m.insert("camelcase", |_, a| {
        s(one("camelcase", a)?
            .split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_uppercase().chain(c).collect::<String>())
                    .unwrap_or_default()
            })
            .collect::<String>())
    });
    m.insert("shuffle", |_, a| {
        let mut chars: Vec<char> = one("shuffle", a)?.chars().collect();
        for i in (1..chars.len()).rev() {
            let j = (super::crypto::random_u64() % (i as u64 + 1)) as usize;
            chars.swap(i, j);
        }
        s(chars.into_iter().collect::<String>())
    });
    m.insert("randAlphaNum", |_, a| {
        rand_from(
            a,
            "randAlphaNum",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        )
    });
    m.insert("randAlpha", |_, a| {
        rand_from(
            a,
            "randAlpha",
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        )
    });
    m.insert("randNumeric", |_, a| {
        rand_from(a, "randNumeric", b"0123456789")
    });
    m.insert("randAscii", |_, a| {
        let chars: Vec<u8> = (32u8..=126).collect();
        rand_from(a, "randAscii", &chars)
    });
    m.insert("atoi", |_, a| {
        Ok(Value::Int(one("atoi", a)?.parse().unwrap_or(0)))
    });
    m.insert("hello", |_, _| s("Hello!"));
    m.insert("base", |_, a| s(path_base(one("base", a)?)));
    m.insert("dir", |_, a| s(path_dir(one("dir", a)?)));
    m.insert("ext", |_, a| {
        let b = path_base(one("ext", a)?);
        s(b.rfind('.').map(|i| b[i..].to_owned()).unwrap_or_default())
    });
    m.insert("clean", |_, a| s(path_clean(one("clean", a)?)));
    m.insert("isAbs", |_, a| {
        Ok(Value::Bool(one("isAbs", a)?.starts_with('/')))
    });
    // `filepath` twins of the `path` functions: the same on Linux, where Helm runs here.
    for (os, plain) in [
        ("osBase", "base"),
        ("osDir", "dir"),
        ("osExt", "ext"),
        ("osClean", "clean"),
        ("osIsAbs", "isAbs"),
    ] {
        if let Some(f) = m.get(plain).copied() {
            m.insert(os, f);
        }
    }
    m.insert("seq", |_, a| {
        let n: Vec<i64> = a.iter().map(to_i64).collect();
        let (start, step, end) = match n.as_slice() {
            [] => return s(""),
            [e] => (1, 1, *e),
            [st, e] => (*st, if st <= e { 1 } else { -1 }, *e),
            [st, sp, e, ..] => (*st, *sp, *e),
        };
        let mut out = Vec::new();
        let mut i = start;
        if step == 0 {
            return s("");
        }
        while (step > 0 && i <= end) || (step < 0 && i >= end) {
            out.push(i.to_string());
            i += step;
        }
        s(out.join(" "))
    });
    let _ = at_least;
}

fn rand_from(a: &[Value], name: &str, alphabet: &[u8]) -> Result<Value, String> {
    arity(name, a, 1)?;
    let n = want_int(&a[0])?;
    within_built_text(Some(usize::try_from(n).unwrap_or(0)))?;
    let out: String = (0..n.max(0))
        .map(|_| alphabet[(super::crypto::random_u64() % alphabet.len() as u64) as usize] as char)
        .collect();
    s(out)
}

fn is_go_space(c: char) -> bool {
    c.is_whitespace()
}

fn byte_slice(v: &str, i: usize, j: usize) -> String {
    String::from_utf8_lossy(&v.as_bytes()[i.min(v.len())..j.min(v.len())]).into_owned()
}

/// `strings.Split`: an empty separator splits into characters.
pub(super) fn go_split<'a>(v: &'a str, sep: &str) -> Vec<&'a str> {
    if sep.is_empty() {
        return v
            .char_indices()
            .map(|(i, c)| &v[i..i + c.len_utf8()])
            .collect();
    }
    v.split(sep).collect()
}

fn go_replace(src: &str, old: &str, new: &str) -> String {
    if old.is_empty() {
        // Go inserts `new` before every character and at the end.
        let mut out = String::new();
        for c in src.chars() {
            out.push_str(new);
            out.push(c);
        }
        out.push_str(new);
        return out;
    }
    src.replace(old, new)
}

fn indent(n: i64, v: &str) -> Result<String, String> {
    let n = usize::try_from(n).unwrap_or(0);
    let lines = v.bytes().filter(|b| *b == b'\n').count() + 1;
    within_built_text(
        n.checked_mul(lines)
            .and_then(|pads| pads.checked_add(v.len())),
    )?;
    let pad = " ".repeat(n);
    Ok(format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))))
}

fn title(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut prev_letter = false;
    for c in v.chars() {
        if !prev_letter && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

fn untitle(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut at_start = true;
    for c in v.chars() {
        if at_start && c.is_alphabetic() {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        at_start = c.is_whitespace();
    }
    out
}

fn snake(v: &str, sep: char) -> String {
    let chars: Vec<char> = v.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            if i > 0
                && prev.is_some_and(|p| p != sep && p != '_' && p != '-' && p != ' ')
                && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                    || next.is_some_and(char::is_lowercase))
            {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        } else if c == ' ' || c == '_' || c == '-' {
            out.push(sep);
        } else {
            out.push(c);
        }
    }
    out
}

fn wrap(v: &str, n: i64, sep: &str) -> String {
    let n = usize::try_from(n.max(1)).unwrap_or(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in v.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > n {
            lines.push(std::mem::take(&mut line));
        } else if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    lines.push(line);
    lines.join(sep)
}

fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".to_owned();
    }
    t.rsplit('/').next().unwrap_or(t).to_owned()
}

fn path_dir(p: &str) -> String {
    let dir = match p.rfind('/') {
        Some(i) => &p[..=i],
        None => "",
    };
    path_clean(dir)
}

/// Go's `path.Clean`.
pub(crate) fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}
